"""Pallas kernels for the fused linear + softmax cross-entropy, for GPU (Triton) and TPU (Mosaic).

Two kernels per platform, both built around one tile of logits
`h[tokens_block] @ w[:, vocab_block] + b[vocab_block]`, accumulated in float32
over blocks of the hidden axis and never written to memory:

- `forward` keeps, for every token, a running maximum `m`, a running
  `sum(exp(logit - m))` and the label's logit while it walks over the
  vocabulary blocks (the online logsumexp), and returns `lse` and the label
  logit. On GPU the vocabulary is also split into `splits` ranges that run in
  parallel and are merged afterwards, so that few tokens still fill the chip.
- `dlogits` recomputes the logits of one vocabulary chunk and returns
  `(softmax - one_hot(label)) * g`, the gradient of the chunk's logits.
  `cross_entropy.py` loops over chunks and turns each into dh, dw and db with
  two matmuls, so at most `[tokens, chunk]` gradients exist at a time.

GPU blocks are powers of two (Triton's rule) and every load is masked, so any
shape works. TPU blocks are multiples of (8, 128) or whole axes; a partial
block at the end of an axis reads unspecified values, which the kernel masks
(vocabulary columns to -inf, hidden columns to 0) and whose extra rows Pallas
drops on writing. Labels outside the vocabulary must arrive as -1: they then
match no column.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.experimental import pallas as pl
from jax.experimental.pallas import tpu as pltpu
from jax.experimental.pallas import triton as plgpu

DTYPES = (jnp.float32, jnp.bfloat16, jnp.float16)


class Blocks(NamedTuple):
    tokens: int
    vocab: int
    hidden: int


class KernelConfig(NamedTuple):
    """How to run the kernels; hashable, so it can be a static argument."""

    variant: str = "gpu"  # "gpu" (Triton) or "tpu" (Mosaic)
    interpret: bool = False
    blocks: Blocks | None = None  # None: pick for the shapes
    splits: int | None = None  # GPU forward: vocabulary ranges run in parallel; None: pick


def supports(h, w, labels, b=None, **_) -> str | None:
    """None when the kernels can take these arrays, else why not."""
    if h.dtype != w.dtype:
        return f"h ({h.dtype}) and w ({w.dtype}) have different dtypes"
    if h.dtype not in DTYPES:
        return f"dtype {h.dtype} is not float32, bfloat16 or float16"
    if h.size == 0 or w.size == 0:
        return "empty input"
    return None


def default_blocks(variant: str, tokens: int, vocab: int, hidden: int) -> Blocks:
    if variant == "tpu":  # whole axes when small, else multiples of (8, 128)
        return Blocks(min(tokens, 256), min(vocab, 512), min(hidden, 512))
    # Triton: powers of two and at least 16 (the smallest tensor-core tile), capped for registers.
    fit = lambda n, cap: min(cap, max(16, pl.next_power_of_2(n)))
    return Blocks(fit(tokens, 64), fit(vocab, 128), fit(hidden, 64))


def _blocks(config: KernelConfig, h, w) -> Blocks:
    (tokens, hidden), vocab = h.shape, w.shape[1]
    return config.blocks or default_blocks(config.variant, tokens, vocab, hidden)


def forward(h, w, b, labels, config: KernelConfig):
    """Per-token `logsumexp(h @ w + b)` and label logit (0 for a label of -1), both float32."""
    if config.variant == "tpu":
        return _tpu_forward(h, w, b, labels, config)
    return _gpu_forward(h, w, b, labels, config)


def dlogits(h, w, b, labels, lse, g, config: KernelConfig):
    """`(softmax(h @ w + b) - one_hot(labels)) * g[:, None]` in h's dtype, with `lse` from `forward`.

    `w` and `b` are one chunk of the vocabulary and `labels` are relative to it
    (outside `[0, chunk)`: no one-hot entry).
    """
    if config.variant == "tpu":
        return _tpu_dlogits(h, w, b, labels, lse, g, config)
    return _gpu_dlogits(h, w, b, labels, lse, g, config)


# ---------------------------------------------------------------------------------------- GPU (Triton)


def _gpu_params(blocks: Blocks):
    warps = 8 if blocks.tokens * blocks.vocab >= 128 * 128 else 4
    return plgpu.CompilerParams(num_warps=warps, num_stages=3)


def _gpu_logits_tile(h_ref, w_ref, b_ref, row_ok, col_start, col_ok, *, hidden: int, block_h: int):
    """float32 logits of this program's tokens and the vocabulary columns `col_start + arange(block_v)`."""
    block_t, block_v = row_ok.shape[0], col_ok.shape[0]

    def hidden_block(k, acc):
        k_ok = k * block_h + jnp.arange(block_h) < hidden
        h = plgpu.load(
            h_ref.at[:, pl.ds(k * block_h, block_h)], mask=row_ok[:, None] & k_ok[None, :], other=0.0
        )
        w = plgpu.load(
            w_ref.at[pl.ds(k * block_h, block_h), pl.ds(col_start, block_v)],
            mask=k_ok[:, None] & col_ok[None, :],
            other=0.0,
        )
        return acc + jnp.dot(h, w, preferred_element_type=jnp.float32)

    logits = lax.fori_loop(
        0, pl.cdiv(hidden, block_h), hidden_block, jnp.zeros((block_t, block_v), jnp.float32)
    )
    if b_ref is not None:
        bias = plgpu.load(b_ref.at[pl.ds(col_start, block_v)], mask=col_ok, other=0.0)
        logits = logits + bias.astype(jnp.float32)[None, :]
    return jnp.where(col_ok[None, :], logits, -jnp.inf)


def _gpu_forward_kernel(
    h_ref, w_ref, *refs, tokens, vocab, hidden, blocks: Blocks, blocks_per_split, has_bias
):
    b_ref = refs[0] if has_bias else None
    labels_ref, max_ref, sum_ref, label_logit_ref = refs[1:] if has_bias else refs
    bt, bv = blocks.tokens, blocks.vocab
    row_ok = pl.program_id(0) * bt + jnp.arange(bt) < tokens
    first_block = pl.program_id(1) * blocks_per_split  # read here: interpret mode has no program_id in loops
    labels = plgpu.load(labels_ref, mask=row_ok, other=-1)

    def vocab_block(j, carry):
        m, s, label_logit = carry
        col_start = (first_block + j) * bv
        cols = col_start + jnp.arange(bv)
        logits = _gpu_logits_tile(
            h_ref, w_ref, b_ref, row_ok, col_start, cols < vocab, hidden=hidden, block_h=blocks.hidden
        )
        m_new = jnp.maximum(m, jnp.max(logits, axis=1))
        s = s * jnp.exp(m - m_new) + jnp.sum(jnp.exp(logits - m_new[:, None]), axis=1)
        label_logit += jnp.sum(jnp.where(cols[None, :] == labels[:, None], logits, 0.0), axis=1)
        return m_new, s, label_logit

    init = (
        jnp.full((bt,), -jnp.inf, jnp.float32),
        jnp.zeros((bt,), jnp.float32),
        jnp.zeros((bt,), jnp.float32),
    )
    m, s, label_logit = lax.fori_loop(0, blocks_per_split, vocab_block, init)
    plgpu.store(max_ref, m, mask=row_ok)
    plgpu.store(sum_ref, s, mask=row_ok)
    plgpu.store(label_logit_ref, label_logit, mask=row_ok)


def _gpu_forward(h, w, b, labels, config: KernelConfig):
    (tokens, hidden), vocab = h.shape, w.shape[1]
    blocks = _blocks(config, h, w)
    token_blocks, vocab_blocks = pl.cdiv(tokens, blocks.tokens), pl.cdiv(vocab, blocks.vocab)
    # Enough programs to fill a GPU (~132 SMs) when there are few tokens; each split starts inside the vocabulary.
    splits = config.splits or max(1, min(vocab_blocks, 256 // token_blocks))
    per_split = pl.cdiv(vocab_blocks, splits)
    splits = pl.cdiv(vocab_blocks, per_split)
    hidden_padded = pl.cdiv(hidden, blocks.hidden) * blocks.hidden
    vocab_padded = splits * per_split * blocks.vocab
    kernel = functools.partial(
        _gpu_forward_kernel,
        tokens=tokens,
        vocab=vocab,
        hidden=hidden,
        blocks=blocks,
        blocks_per_split=per_split,
        has_bias=b is not None,
    )
    in_specs = [
        pl.BlockSpec((blocks.tokens, hidden_padded), lambda i, s: (i, 0)),
        pl.BlockSpec((hidden_padded, vocab_padded), lambda i, s: (0, 0)),
        *([pl.BlockSpec((vocab_padded,), lambda i, s: (0,))] if b is not None else []),
        pl.BlockSpec((blocks.tokens,), lambda i, s: (i,)),
    ]
    partial = jax.ShapeDtypeStruct((splits, tokens), jnp.float32)
    per_token = pl.BlockSpec((None, blocks.tokens), lambda i, s: (s, i))
    m, s, label_logit = pl.pallas_call(
        kernel,
        out_shape=[partial] * 3,
        grid=(token_blocks, splits),
        in_specs=in_specs,
        out_specs=[per_token] * 3,
        compiler_params=_gpu_params(blocks),
        interpret=config.interpret,
        name="linear_cross_entropy_forward",
    )(h, w, *([b] if b is not None else []), labels)
    top = jnp.max(m, axis=0)
    lse = top + jnp.log(jnp.sum(s * jnp.exp(m - top), axis=0))
    return lse, jnp.sum(label_logit, axis=0)


def _gpu_dlogits_kernel(h_ref, w_ref, *refs, tokens, vocab, hidden, blocks: Blocks, has_bias):
    b_ref = refs[0] if has_bias else None
    labels_ref, lse_ref, g_ref, out_ref = refs[1:] if has_bias else refs
    bt, bv = blocks.tokens, blocks.vocab
    row_ok = pl.program_id(0) * bt + jnp.arange(bt) < tokens
    col_start = pl.program_id(1) * bv
    cols = col_start + jnp.arange(bv)
    col_ok = cols < vocab
    logits = _gpu_logits_tile(
        h_ref, w_ref, b_ref, row_ok, col_start, col_ok, hidden=hidden, block_h=blocks.hidden
    )
    labels = plgpu.load(labels_ref, mask=row_ok, other=-1)
    lse = plgpu.load(lse_ref, mask=row_ok, other=0.0)
    g = plgpu.load(g_ref, mask=row_ok, other=0.0)
    probs = jnp.exp(logits - lse[:, None])
    d = (probs - jnp.where(cols[None, :] == labels[:, None], 1.0, 0.0)) * g[:, None]
    plgpu.store(out_ref, d.astype(out_ref.dtype), mask=row_ok[:, None] & col_ok[None, :])


def _gpu_dlogits(h, w, b, labels, lse, g, config: KernelConfig):
    (tokens, hidden), vocab = h.shape, w.shape[1]
    blocks = _blocks(config, h, w)
    grid = (pl.cdiv(tokens, blocks.tokens), pl.cdiv(vocab, blocks.vocab))
    hidden_padded = pl.cdiv(hidden, blocks.hidden) * blocks.hidden
    kernel = functools.partial(
        _gpu_dlogits_kernel, tokens=tokens, vocab=vocab, hidden=hidden, blocks=blocks, has_bias=b is not None
    )
    per_token = pl.BlockSpec((blocks.tokens,), lambda i, j: (i,))
    in_specs = [
        pl.BlockSpec((blocks.tokens, hidden_padded), lambda i, j: (i, 0)),
        pl.BlockSpec((hidden_padded, grid[1] * blocks.vocab), lambda i, j: (0, 0)),
        *([pl.BlockSpec((grid[1] * blocks.vocab,), lambda i, j: (0,))] if b is not None else []),
        per_token,
        per_token,
        per_token,
    ]
    return pl.pallas_call(
        kernel,
        out_shape=jax.ShapeDtypeStruct((tokens, vocab), h.dtype),
        grid=grid,
        in_specs=in_specs,
        out_specs=pl.BlockSpec((blocks.tokens, blocks.vocab), lambda i, j: (i, j)),
        compiler_params=_gpu_params(blocks),
        interpret=config.interpret,
        name="linear_cross_entropy_dlogits",
    )(h, w, *([b] if b is not None else []), labels, lse.astype(jnp.float32), g.astype(jnp.float32))


# ----------------------------------------------------------------------------------------- TPU (Mosaic)
#
# Grid (token blocks, vocabulary blocks, hidden blocks); the hidden axis is innermost, so each logits
# tile is summed in a VMEM scratch and used once the last hidden block has been added.


def _tpu_accumulate_logits(h_ref, w_ref, acc_ref, k, *, hidden: int):
    h, w = h_ref[...], w_ref[...]
    block_h = h.shape[1]
    if hidden % block_h:  # the last hidden block reads past the end: zero those columns and rows
        h = jnp.where(k * block_h + lax.broadcasted_iota(jnp.int32, h.shape, 1) < hidden, h, 0)
        w = jnp.where(k * block_h + lax.broadcasted_iota(jnp.int32, w.shape, 0) < hidden, w, 0)

    @pl.when(k == 0)
    def _():
        acc_ref[...] = jnp.zeros_like(acc_ref)

    acc_ref[...] += jnp.dot(h, w, preferred_element_type=jnp.float32)


def _tpu_finished_logits(acc_ref, b_ref, j, *, vocab: int):
    logits = acc_ref[...]
    if b_ref is not None:
        logits = logits + b_ref[...].astype(jnp.float32)
    cols = j * logits.shape[1] + lax.broadcasted_iota(jnp.int32, logits.shape, 1)
    return jnp.where(cols < vocab, logits, -jnp.inf), cols


def _tpu_forward_kernel(h_ref, w_ref, *refs, vocab, hidden, has_bias):
    b_ref = refs[0] if has_bias else None
    labels_ref, lse_ref, label_logit_ref, acc_ref, m_ref, s_ref, ll_ref = refs[1:] if has_bias else refs
    j, k = pl.program_id(1), pl.program_id(2)
    last_j, last_k = pl.num_programs(1) - 1, pl.num_programs(2) - 1

    @pl.when((j == 0) & (k == 0))
    def _():
        m_ref[...] = jnp.full_like(m_ref, -jnp.inf)
        s_ref[...] = jnp.zeros_like(s_ref)
        ll_ref[...] = jnp.zeros_like(ll_ref)

    _tpu_accumulate_logits(h_ref, w_ref, acc_ref, k, hidden=hidden)

    @pl.when(k == last_k)
    def _():
        logits, cols = _tpu_finished_logits(acc_ref, b_ref, j, vocab=vocab)
        m = m_ref[...]
        m_new = jnp.maximum(m, jnp.max(logits, axis=1, keepdims=True))
        s_ref[...] = s_ref[...] * jnp.exp(m - m_new) + jnp.sum(jnp.exp(logits - m_new), axis=1, keepdims=True)
        m_ref[...] = m_new
        ll_ref[...] += jnp.sum(jnp.where(cols == labels_ref[...], logits, 0.0), axis=1, keepdims=True)

        @pl.when(j == last_j)
        def _():
            lse_ref[...] = m_ref[...] + jnp.log(s_ref[...])
            label_logit_ref[...] = ll_ref[...]


def _tpu_specs(blocks: Blocks, has_bias: bool):
    bt, bv, bh = blocks
    return [
        pl.BlockSpec((bt, bh), lambda i, j, k: (i, k)),
        pl.BlockSpec((bh, bv), lambda i, j, k: (k, j)),
        *([pl.BlockSpec((1, bv), lambda i, j, k: (0, j))] if has_bias else []),
    ]


def _tpu_grid(blocks: Blocks, tokens, vocab, hidden):
    return (pl.cdiv(tokens, blocks.tokens), pl.cdiv(vocab, blocks.vocab), pl.cdiv(hidden, blocks.hidden))


def _tpu_forward(h, w, b, labels, config: KernelConfig):
    (tokens, hidden), vocab = h.shape, w.shape[1]
    blocks = _blocks(config, h, w)
    column = pl.BlockSpec((blocks.tokens, 1), lambda i, j, k: (i, 0))
    per_token = jax.ShapeDtypeStruct((tokens, 1), jnp.float32)
    kernel = functools.partial(_tpu_forward_kernel, vocab=vocab, hidden=hidden, has_bias=b is not None)
    lse, label_logit = pl.pallas_call(
        kernel,
        out_shape=[per_token, per_token],
        grid=_tpu_grid(blocks, tokens, vocab, hidden),
        in_specs=[*_tpu_specs(blocks, b is not None), column],
        out_specs=[column, column],
        scratch_shapes=[pltpu.VMEM((blocks.tokens, blocks.vocab), jnp.float32)]
        + [pltpu.VMEM((blocks.tokens, 1), jnp.float32)] * 3,
        compiler_params=pltpu.CompilerParams(dimension_semantics=("parallel", "arbitrary", "arbitrary")),
        interpret=config.interpret,
        name="linear_cross_entropy_forward",
    )(h, w, *([b.reshape(1, vocab)] if b is not None else []), labels.reshape(tokens, 1))
    return lse[:, 0], label_logit[:, 0]


def _tpu_dlogits_kernel(h_ref, w_ref, *refs, vocab, hidden, has_bias):
    b_ref = refs[0] if has_bias else None
    labels_ref, lse_ref, g_ref, out_ref, acc_ref = refs[1:] if has_bias else refs
    j, k = pl.program_id(1), pl.program_id(2)
    _tpu_accumulate_logits(h_ref, w_ref, acc_ref, k, hidden=hidden)

    @pl.when(k == pl.num_programs(2) - 1)
    def _():
        logits, cols = _tpu_finished_logits(acc_ref, b_ref, j, vocab=vocab)
        probs = jnp.exp(logits - lse_ref[...])
        d = (probs - jnp.where(cols == labels_ref[...], 1.0, 0.0)) * g_ref[...]
        out_ref[...] = d.astype(out_ref.dtype)


def _tpu_dlogits(h, w, b, labels, lse, g, config: KernelConfig):
    (tokens, hidden), vocab = h.shape, w.shape[1]
    blocks = _blocks(config, h, w)
    column = pl.BlockSpec((blocks.tokens, 1), lambda i, j, k: (i, 0))
    kernel = functools.partial(_tpu_dlogits_kernel, vocab=vocab, hidden=hidden, has_bias=b is not None)
    as_column = lambda v, dtype: v.astype(dtype).reshape(tokens, 1)
    return pl.pallas_call(
        kernel,
        out_shape=jax.ShapeDtypeStruct((tokens, vocab), h.dtype),
        grid=_tpu_grid(blocks, tokens, vocab, hidden),
        in_specs=[*_tpu_specs(blocks, b is not None), column, column, column],
        out_specs=pl.BlockSpec((blocks.tokens, blocks.vocab), lambda i, j, k: (i, j)),
        scratch_shapes=[pltpu.VMEM((blocks.tokens, blocks.vocab), jnp.float32)],
        compiler_params=pltpu.CompilerParams(dimension_semantics=("parallel", "parallel", "arbitrary")),
        interpret=config.interpret,
        name="linear_cross_entropy_dlogits",
    )(
        h,
        w,
        *([b.reshape(1, vocab)] if b is not None else []),
        as_column(labels, jnp.int32),
        as_column(lse, jnp.float32),
        as_column(g, jnp.float32),
    )

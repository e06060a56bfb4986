"""Flash attention for GPUs: Pallas kernels lowered through Triton (Ampere and newer).

Forward: one program per (query block, batch, head) holds its query block and
walks the key/value blocks with an online softmax (running max `m`, running
sum `l`), then writes the output and the logsumexp `m + log(l)` that the
backward pass reuses. Under `causal` the walk stops at the diagonal.

Backward, the FlashAttention-2 split into two kernels that recompute the
probabilities `p = exp(s - logsumexp)` instead of storing them:

- `_dkv_kernel`, one program per (key block, batch, kv head): walks the query
  blocks of every query head in its group and accumulates dk and dv, so the
  grouped-query sum happens in the kernel;
- `_dq_kernel`, one program per (query block, batch, head): walks the key
  blocks and accumulates dq.

Both use `delta = rowsum(o * do)`. Sequences are padded to block multiples
and the head dim to a power of two (Triton needs power-of-two tiles); padded
keys are masked, padded queries cropped. Grouped-query attention maps each
query head to its kv head in the index maps, so k and v are never repeated.
The same kernels run on CPU in Pallas' interpret mode.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.experimental import pallas as pl
from jax.experimental.pallas import triton as plgpu_triton

# Finite so that masked logits never make inf - inf; a row whose running max is still
# MASK_VALUE at the end has attended to nothing and is written as zeros.
MASK_VALUE = -0.7 * float(jnp.finfo(jnp.float32).max)
_MIN_BLOCK = 16  # Triton's dot needs every tile side >= 16


@dataclasses.dataclass(frozen=True)
class BlockSizes:
    """Tile sizes (powers of two, >= 16). Blocks larger than a sequence shrink to fit it."""

    block_q: int = 128
    block_k: int = 64
    block_q_dkv: int = 32
    block_k_dkv: int = 64
    block_q_dq: int = 64
    block_k_dq: int = 32

    def __post_init__(self):
        for field in dataclasses.fields(self):
            size = getattr(self, field.name)
            if size < _MIN_BLOCK or size & (size - 1):
                raise ValueError(
                    f"BlockSizes.{field.name} must be a power of two >= {_MIN_BLOCK}; got {size}."
                )


class _Operands(NamedTuple):
    """The inputs every kernel reads, as arrays, as BlockSpecs or as refs."""

    q: Any
    k: Any
    v: Any
    bias: Any
    mask: Any
    q_ids: Any
    kv_ids: Any


@dataclasses.dataclass(frozen=True)
class _Layout:
    """Static facts the kernels need about the padded problem."""

    kv_len: int
    q_pad: int
    kv_pad: int
    head_dim: int
    group: int
    causal: bool
    scale: float
    bias_rows: bool  # bias has a q_len axis (else broadcast over queries)
    bias_cols: bool  # bias has a kv_len axis
    mask_rows: bool
    mask_cols: bool


def _block(size: int, length: int) -> int:
    return min(size, max(_MIN_BLOCK, pl.next_power_of_2(length)))


def _pad(x: jax.Array, axis: int, size: int, value=0) -> jax.Array:
    if x.shape[axis] == size:
        return x
    widths = [(0, 0)] * x.ndim
    widths[axis] = (0, size - x.shape[axis])
    return jnp.pad(x, widths, constant_values=value)


def _prepare(q, k, v, bias, mask, q_ids, kv_ids, block_q, block_k, causal, scale):
    """The operands padded for these block sizes, and their layout."""
    t, n, d = q.shape[1:]
    s, kv_heads = k.shape[1], k.shape[2]
    q_pad, kv_pad = pl.cdiv(t, block_q) * block_q, pl.cdiv(s, block_k) * block_k
    d_pad = max(_MIN_BLOCK, pl.next_power_of_2(d))

    def side(x):  # pad only the axes that are not broadcast
        if x is None:
            return None
        return _pad(_pad(x, 2, q_pad if x.shape[2] > 1 else 1), 3, kv_pad if x.shape[3] > 1 else 1)

    lay = _Layout(
        kv_len=s,
        q_pad=q_pad,
        kv_pad=kv_pad,
        head_dim=d_pad,
        group=n // kv_heads,
        causal=causal,
        scale=scale,
        bias_rows=bias is not None and bias.shape[2] > 1,
        bias_cols=bias is not None and bias.shape[3] > 1,
        mask_rows=mask is not None and mask.shape[2] > 1,
        mask_cols=mask is not None and mask.shape[3] > 1,
    )
    ops = _Operands(
        _pad(_pad(q, 1, q_pad), 3, d_pad),
        _pad(_pad(k, 1, kv_pad), 3, d_pad),
        _pad(_pad(v, 1, kv_pad), 3, d_pad),
        side(bias),
        side(None if mask is None else mask.astype(jnp.int8)),  # byte loads: the plain way to read booleans
        None if q_ids is None else _pad(q_ids.astype(jnp.int32), 1, q_pad),
        None if kv_ids is None else _pad(kv_ids.astype(jnp.int32), 1, kv_pad),
    )
    return ops, lay


def _query_major_specs(ops: _Operands, lay: _Layout, block_q: int) -> _Operands:
    """Specs for programs (query block i, batch j, head h) that walk all keys: forward and dq."""
    group = lay.group

    def side(x, has_rows, has_cols):
        if x is None:
            return None
        bb, nb = x.shape[0] > 1, x.shape[1] > 1
        shape = (None, None, block_q if has_rows else 1, lay.kv_pad if has_cols else 1)
        return pl.BlockSpec(shape, lambda i, j, h: (j if bb else 0, h if nb else 0, i if has_rows else 0, 0))

    kv = pl.BlockSpec((None, lay.kv_pad, None, lay.head_dim), lambda i, j, h: (j, 0, lax.div(h, group), 0))
    return _Operands(
        pl.BlockSpec((None, block_q, None, lay.head_dim), lambda i, j, h: (j, i, h, 0)),
        kv,
        kv,
        side(ops.bias, lay.bias_rows, lay.bias_cols),
        side(ops.mask, lay.mask_rows, lay.mask_cols),
        None if ops.q_ids is None else pl.BlockSpec((None, block_q), lambda i, j, h: (j, i)),
        None if ops.kv_ids is None else pl.BlockSpec((None, lay.kv_pad), lambda i, j, h: (j, 0)),
    )


def _key_major_specs(ops: _Operands, lay: _Layout, block_k: int) -> _Operands:
    """Specs for programs (key block i, batch j, kv head h) that walk every query of h's group: dk, dv."""
    group = lay.group

    def side(x, has_rows, has_cols):
        if x is None:
            return None
        bb, nb = x.shape[0] > 1, x.shape[1] > 1
        shape = (None, group if nb else None, lay.q_pad if has_rows else 1, block_k if has_cols else 1)
        return pl.BlockSpec(shape, lambda i, j, h: (j if bb else 0, h if nb else 0, 0, i if has_cols else 0))

    kv = pl.BlockSpec((None, block_k, None, lay.head_dim), lambda i, j, h: (j, i, h, 0))
    return _Operands(
        pl.BlockSpec((None, lay.q_pad, group, lay.head_dim), lambda i, j, h: (j, 0, h, 0)),
        kv,
        kv,
        side(ops.bias, lay.bias_rows, lay.bias_cols),
        side(ops.mask, lay.mask_rows, lay.mask_cols),
        None if ops.q_ids is None else pl.BlockSpec((None, lay.q_pad), lambda i, j, h: (j, 0)),
        None if ops.kv_ids is None else pl.BlockSpec((None, block_k), lambda i, j, h: (j, i)),
    )


def _dot(a, b, contract=(1, 0)):
    dims = (((contract[0],), (contract[1],)), ((), ()))
    return lax.dot_general(a, b, dims, preferred_element_type=jnp.float32)


def _side_tile(ref, head, rows, cols, has_rows, has_cols):
    """A [rows, cols] (or broadcastable) tile of a bias or mask; `head` picks a group member if the block has one."""
    index = (head,) if head is not None and len(ref.shape) == 3 else ()
    return ref[(*index, rows if has_rows else slice(None), cols if has_cols else slice(None))]


def _logits(x: _Operands, q, k, rows, cols, row0, col0, lay: _Layout, head=None):
    """scale * q k^T + bias, with MASK_VALUE wherever a query may not attend.

    `rows` and `cols` index the side operands' blocks; `row0` and `col0` are the
    tile's first query and key positions.
    """
    s = _dot(q, k, (1, 1)) * lay.scale
    if x.bias is not None:
        s = s + _side_tile(x.bias, head, rows, cols, lay.bias_rows, lay.bias_cols).astype(jnp.float32)
    valid = None

    def both(a, b):
        return b if a is None else jnp.logical_and(a, b)

    if lay.kv_pad != lay.kv_len or lay.causal:
        key = col0 + jnp.arange(k.shape[0])[None, :]
        if lay.kv_pad != lay.kv_len:
            valid = both(valid, key < lay.kv_len)
        if lay.causal:
            valid = both(valid, key <= row0 + jnp.arange(q.shape[0])[:, None])
    if x.q_ids is not None:
        valid = both(valid, x.q_ids[rows][:, None] == x.kv_ids[cols][None, :])
    if x.mask is not None:
        valid = both(valid, _side_tile(x.mask, head, rows, cols, lay.mask_rows, lay.mask_cols) != 0)
    return s if valid is None else jnp.where(valid, s, MASK_VALUE)


def _causal_kv_blocks(q_block, block_q, block_k, n_kv_blocks):
    """How many key blocks a causal query block needs: those starting at or before its last row."""
    return lax.min(n_kv_blocks, lax.div((q_block + 1) * block_q + block_k - 1, block_k))


def _compiler_params(head_dim: int) -> plgpu_triton.CompilerParams:
    return plgpu_triton.CompilerParams(num_warps=4 if head_dim <= 64 else 8, num_stages=2)


# ------------------------------------------------------------------------------------------------ forward


def _forward_kernel(*refs, lay: _Layout, block_k: int):
    x, (o_ref, lse_ref) = _Operands(*refs[:7]), refs[7:]
    block_q = x.q.shape[0]
    q_block = pl.program_id(0)
    q = x.q[...]

    def body(kv_block, carry):
        acc, m, row_sum = carry
        cols = pl.ds(kv_block * block_k, block_k)
        s = _logits(x, q, x.k[cols, :], slice(None), cols, q_block * block_q, kv_block * block_k, lay)
        m_next = jnp.maximum(m, jnp.max(s, axis=1))
        alpha = jnp.exp(m - m_next)
        p = jnp.exp(s - m_next[:, None])
        v = x.v[cols, :]
        acc = alpha[:, None] * acc + _dot(p.astype(v.dtype), v)
        return acc, m_next, alpha * row_sum + jnp.sum(p, axis=1)

    n_kv_blocks = lay.kv_pad // block_k
    upper = _causal_kv_blocks(q_block, block_q, block_k, n_kv_blocks) if lay.causal else n_kv_blocks
    rows = jnp.zeros((block_q,), jnp.float32)
    init = (jnp.zeros((block_q, lay.head_dim), jnp.float32), rows + MASK_VALUE, rows)
    acc, m, row_sum = lax.fori_loop(0, upper, body, init)
    empty = m == MASK_VALUE
    row_sum = jnp.where(empty, 1.0, row_sum)
    o_ref[...] = jnp.where(empty[:, None], 0.0, acc / row_sum[:, None]).astype(o_ref.dtype)
    lse_ref[...] = jnp.where(empty, jnp.inf, m + jnp.log(row_sum))


@functools.partial(jax.jit, static_argnames=("causal", "scale", "block_sizes", "interpret"))
def forward(
    q,
    k,
    v,
    bias,
    mask,
    q_ids,
    kv_ids,
    *,
    causal: bool,
    scale: float,
    block_sizes: BlockSizes,
    interpret=False,
):
    """(out [batch, q_len, heads, head_dim], logsumexp [batch, heads, q_len] float32)."""
    b, t, n, d = q.shape
    block_q, block_k = _block(block_sizes.block_q, t), _block(block_sizes.block_k, k.shape[1])
    ops, lay = _prepare(q, k, v, bias, mask, q_ids, kv_ids, block_q, block_k, causal, scale)
    specs = _query_major_specs(ops, lay, block_q)
    out, lse = pl.pallas_call(
        functools.partial(_forward_kernel, lay=lay, block_k=block_k),
        grid=(lay.q_pad // block_q, b, n),
        in_specs=list(specs),
        out_specs=[specs.q, pl.BlockSpec((None, None, block_q), lambda i, j, h: (j, h, i))],
        out_shape=[
            jax.ShapeDtypeStruct(ops.q.shape, q.dtype),
            jax.ShapeDtypeStruct((b, n, lay.q_pad), jnp.float32),
        ],
        compiler_params=_compiler_params(lay.head_dim),
        interpret=interpret,
        name="flash_attention_forward",
    )(*ops)
    return out[:, :t, :, :d], lse[:, :, :t]


# ------------------------------------------------------------------------------------------------ backward


def _dkv_kernel(*refs, lay: _Layout, block_q: int):
    x, (do_ref, lse_ref, delta_ref, dk_ref, dv_ref) = _Operands(*refs[:7]), refs[7:]
    block_k = x.k.shape[0]
    kv_block = pl.program_id(0)
    k, v = x.k[...], x.v[...]

    def q_body(member, q_block, carry):
        dk, dv = carry
        rows = pl.ds(q_block * block_q, block_q)
        q, do = x.q[rows, member, :], do_ref[rows, member, :]
        s = _logits(x, q, k, rows, slice(None), q_block * block_q, kv_block * block_k, lay, head=member)
        p = jnp.exp(s - lse_ref[member, rows][:, None])
        dv = dv + _dot(p.astype(do.dtype), do, (0, 0))
        ds = p * (_dot(do, v, (1, 1)) - delta_ref[member, rows][:, None])
        return dk + _dot(ds.astype(q.dtype), q, (0, 0)), dv

    first = lax.div(kv_block * block_k, block_q) if lay.causal else 0

    def member_body(member, carry):
        return lax.fori_loop(first, lay.q_pad // block_q, functools.partial(q_body, member), carry)

    zeros = jnp.zeros((block_k, lay.head_dim), jnp.float32)
    dk, dv = lax.fori_loop(0, lay.group, member_body, (zeros, zeros))
    dk_ref[...] = (dk * lay.scale).astype(dk_ref.dtype)
    dv_ref[...] = dv.astype(dv_ref.dtype)


def _dq_kernel(*refs, lay: _Layout, block_k: int):
    x, (do_ref, lse_ref, delta_ref, dq_ref) = _Operands(*refs[:7]), refs[7:]
    block_q = x.q.shape[0]
    q_block = pl.program_id(0)
    q, do, lse, delta = x.q[...], do_ref[...], lse_ref[...], delta_ref[...]

    def body(kv_block, dq):
        cols = pl.ds(kv_block * block_k, block_k)
        k, v = x.k[cols, :], x.v[cols, :]
        s = _logits(x, q, k, slice(None), cols, q_block * block_q, kv_block * block_k, lay)
        p = jnp.exp(s - lse[:, None])
        ds = p * (_dot(do, v, (1, 1)) - delta[:, None])
        return dq + _dot(ds.astype(k.dtype), k)

    n_kv_blocks = lay.kv_pad // block_k
    upper = _causal_kv_blocks(q_block, block_q, block_k, n_kv_blocks) if lay.causal else n_kv_blocks
    dq = lax.fori_loop(0, upper, body, jnp.zeros((block_q, lay.head_dim), jnp.float32))
    dq_ref[...] = (dq * lay.scale).astype(dq_ref.dtype)


@functools.partial(jax.jit, static_argnames=("causal", "scale", "block_sizes", "interpret"))
def backward(
    q,
    k,
    v,
    bias,
    mask,
    q_ids,
    kv_ids,
    out,
    lse,
    d_out,
    *,
    causal: bool,
    scale: float,
    block_sizes: BlockSizes,
    interpret=False,
):
    """(dq, dk, dv) from the forward's output and logsumexp; dk and dv summed over each kv head's query group."""
    b, t, n, d = q.shape
    s, kv_heads = k.shape[1], k.shape[2]
    delta = jnp.einsum("btnd,btnd->bnt", out.astype(jnp.float32), d_out.astype(jnp.float32))

    def per_query(lay):  # padded queries get p = exp(s - inf) = 0
        do = _pad(_pad(d_out, 1, lay.q_pad), 3, lay.head_dim)
        return do, _pad(lse, 2, lay.q_pad, jnp.inf), _pad(delta, 2, lay.q_pad)

    block_q, block_k = _block(block_sizes.block_q_dkv, t), _block(block_sizes.block_k_dkv, s)
    ops, lay = _prepare(q, k, v, bias, mask, q_ids, kv_ids, block_q, block_k, causal, scale)
    specs = _key_major_specs(ops, lay, block_k)
    row_spec = pl.BlockSpec((None, lay.group, lay.q_pad), lambda i, j, h: (j, h, 0))
    dk, dv = pl.pallas_call(
        functools.partial(_dkv_kernel, lay=lay, block_q=block_q),
        grid=(lay.kv_pad // block_k, b, kv_heads),
        in_specs=[*specs, specs.q, row_spec, row_spec],
        out_specs=[specs.k, specs.v],
        out_shape=[jax.ShapeDtypeStruct(ops.k.shape, k.dtype), jax.ShapeDtypeStruct(ops.v.shape, v.dtype)],
        compiler_params=_compiler_params(lay.head_dim),
        interpret=interpret,
        name="flash_attention_dkv",
    )(*ops, *per_query(lay))

    block_q, block_k = _block(block_sizes.block_q_dq, t), _block(block_sizes.block_k_dq, s)
    ops, lay = _prepare(q, k, v, bias, mask, q_ids, kv_ids, block_q, block_k, causal, scale)
    specs = _query_major_specs(ops, lay, block_q)
    row_spec = pl.BlockSpec((None, None, block_q), lambda i, j, h: (j, h, i))
    dq = pl.pallas_call(
        functools.partial(_dq_kernel, lay=lay, block_k=block_k),
        grid=(lay.q_pad // block_q, b, n),
        in_specs=[*specs, specs.q, row_spec, row_spec],
        out_specs=specs.q,
        out_shape=jax.ShapeDtypeStruct(ops.q.shape, q.dtype),
        compiler_params=_compiler_params(lay.head_dim),
        interpret=interpret,
        name="flash_attention_dq",
    )(*ops, *per_query(lay))
    return dq[:, :t, :, :d], dk[:, :s, :, :d], dv[:, :s, :, :d]

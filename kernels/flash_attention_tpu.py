"""Flash attention for TPUs: Pallas kernels lowered through Mosaic.

The forward grid walks (batch, head, query block, key block) with the key
axis innermost and sequential ("arbitrary"): each step folds one key block
into the running max `m`, sum `l` and output accumulator held in VMEM
scratch, and the last step writes the output and the logsumexp
`m + log(l)`. Under `causal`, blocks above the diagonal are skipped and their
index maps repeat a needed block, so nothing new is fetched.

Backward, the FlashAttention-2 split into two kernels that recompute
`p = exp(s - logsumexp)` and use `delta = rowsum(o * do)`:

- dk/dv: grid (batch, kv head, key block, group member, query block), the last
  two sequential, so each kv head's gradient is summed over its query heads
  in VMEM;
- dq: grid (batch, head, query block, key block), the key axis sequential.

Arrays are transposed to [batch, heads, seq, head_dim] so that blocks end in
(seq, head_dim) tiles. Block sides follow the TPU tiling: query blocks are
multiples of 8, key blocks multiples of 128 (the lane axis of the logits,
bias and mask tiles). Per-row values (running max, logsumexp, query segment
ids) are kept 128 lanes wide and per-key rows 8 sublanes tall, the layouts
jax's own TPU attention kernels use; bias and mask are read as float32 and
int32.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.experimental import pallas as pl
from jax.experimental.pallas import tpu as pltpu

MASK_VALUE = -0.7 * float(jnp.finfo(jnp.float32).max)
LANES = 128
SUBLANES = 8
_NT = (((1,), (1,)), ((), ()))  # a @ b.T


@dataclasses.dataclass(frozen=True)
class BlockSizes:
    """Tile sizes: query blocks multiples of 8, key blocks multiples of 128. Blocks larger than a sequence shrink."""

    block_q: int = 128
    block_k: int = 128
    block_q_dkv: int = 128
    block_k_dkv: int = 128
    block_q_dq: int = 128
    block_k_dq: int = 128

    def __post_init__(self):
        for field in dataclasses.fields(self):
            size, unit = getattr(self, field.name), LANES if field.name.startswith("block_k") else SUBLANES
            if size <= 0 or size % unit:
                raise ValueError(
                    f"BlockSizes.{field.name} must be a positive multiple of {unit}; got {size}."
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
    kv_len: int
    q_pad: int
    kv_pad: int
    group: int
    causal: bool
    scale: float
    bias_rows: bool  # bias has a q_len axis (else it is 8 equal sublanes)
    mask_rows: bool


def _round_up(x: int, unit: int) -> int:
    return -(-x // unit) * unit


def _pad(x: jax.Array, axis: int, size: int, value=0) -> jax.Array:
    if x.shape[axis] == size:
        return x
    widths = [(0, 0)] * x.ndim
    widths[axis] = (0, size - x.shape[axis])
    return jnp.pad(x, widths, constant_values=value)


def _lane_rows(x: jax.Array, length: int, value=0) -> jax.Array:
    """[..., seq] -> [..., length, 128]: one value per row, repeated across the lanes."""
    x = _pad(x, x.ndim - 1, length, value)
    return jnp.broadcast_to(x[..., None], (*x.shape, LANES))


def _prepare(q, k, v, bias, mask, q_ids, kv_ids, block_q, block_k, causal, scale):
    """The operands transposed to [batch, heads, seq, head_dim] and padded for these block sizes."""
    b, t, n, _ = q.shape
    s, kv_heads = k.shape[1], k.shape[2]
    q_pad, kv_pad = _round_up(t, block_q), _round_up(s, block_k)

    def side(x, dtype):  # keys always full width; a query axis of 1 becomes 8 equal sublanes
        if x is None:
            return None
        x = jnp.broadcast_to(x.astype(dtype), (*x.shape[:3], s))
        x = _pad(x, 2, q_pad) if x.shape[2] > 1 else jnp.broadcast_to(x, (*x.shape[:2], SUBLANES, s))
        return _pad(x, 3, kv_pad)

    def seq_major(x, length):
        return _pad(x.transpose(0, 2, 1, 3), 2, length)

    lay = _Layout(
        kv_len=s,
        q_pad=q_pad,
        kv_pad=kv_pad,
        group=n // kv_heads,
        causal=causal,
        scale=scale,
        bias_rows=bias is not None and bias.shape[2] > 1,
        mask_rows=mask is not None and mask.shape[2] > 1,
    )
    ops = _Operands(
        seq_major(q, q_pad),
        seq_major(k, kv_pad),
        seq_major(v, kv_pad),
        side(bias, jnp.float32),
        side(mask, jnp.int32),
        None if q_ids is None else _lane_rows(q_ids.astype(jnp.int32), q_pad),
        None
        if kv_ids is None
        else _pad(jnp.broadcast_to(kv_ids.astype(jnp.int32)[:, None], (b, SUBLANES, s)), 2, kv_pad),
    )
    return ops, lay


def _specs(ops: _Operands, lay: _Layout, block_q: int, block_k: int, d: int, index) -> tuple[_Operands, Any]:
    """BlockSpecs of the operands and of per-query [block_q, 128] rows.

    `index(*grid_ids)` gives (batch, query head, query block, key block) of a
    grid step.
    """

    def at(position):
        return lambda *ids: position(*index(*ids))

    def side(x, has_rows):
        if x is None:
            return None
        bb, nb = x.shape[0] > 1, x.shape[1] > 1
        return pl.BlockSpec(
            (None, None, block_q if has_rows else SUBLANES, block_k),
            at(lambda b, h, i, j: (b if bb else 0, h if nb else 0, i if has_rows else 0, j)),
        )

    group = lay.group
    kv = pl.BlockSpec((None, None, block_k, d), at(lambda b, h, i, j: (b, lax.div(h, group), j, 0)))
    specs = _Operands(
        pl.BlockSpec((None, None, block_q, d), at(lambda b, h, i, j: (b, h, i, 0))),
        kv,
        kv,
        side(ops.bias, lay.bias_rows),
        side(ops.mask, lay.mask_rows),
        None if ops.q_ids is None else pl.BlockSpec((None, block_q, LANES), at(lambda b, h, i, j: (b, i, 0))),
        None
        if ops.kv_ids is None
        else pl.BlockSpec((None, SUBLANES, block_k), at(lambda b, h, i, j: (b, 0, j))),
    )
    return specs, pl.BlockSpec((None, None, block_q, LANES), at(lambda b, h, i, j: (b, h, i, 0)))


def _last_kv_block(q_block, block_q, block_k):
    """The last key block a causal query block needs."""
    return lax.div((q_block + 1) * block_q - 1, block_k)


def _first_q_block(kv_block, block_q, block_k):
    """The first query block a causal key block is needed by."""
    return lax.div(kv_block * block_k, block_q)


def _query_major(lay: _Layout, block_q: int, block_k: int):
    """Grid ids (batch, head, q block, kv block) -> positions; causal steps above the diagonal repeat a block."""

    def index(b, h, i, j):
        return b, h, i, lax.min(j, _last_kv_block(i, block_q, block_k)) if lay.causal else j

    return index


def _key_major(lay: _Layout, block_q: int, block_k: int):
    """Grid ids (batch, kv head, kv block, group member, q block) -> positions, skipped causal steps repeating."""
    last = lay.q_pad // block_q - 1

    def index(b, h, j, member, i):
        if lay.causal:  # clamped too: keys that no query reaches have no needed block
            i = lax.min(lax.max(i, _first_q_block(j, block_q, block_k)), last)
        return b, h * lay.group + member, i, j

    return index


def _logits(x: _Operands, q, k, q_block, kv_block, lay: _Layout):
    """scale * q k^T + bias for one (query block, key block), MASK_VALUE where a query may not attend."""
    block_q, block_k = q.shape[0], k.shape[0]
    s = lax.dot_general(q, k, _NT, preferred_element_type=jnp.float32) * lay.scale
    if x.bias is not None:
        s = s + (x.bias[...] if lay.bias_rows else x.bias[:1, :])
    valid = None

    def both(a, b):
        return b if a is None else jnp.logical_and(a, b)

    if lay.kv_pad != lay.kv_len or lay.causal:
        key = kv_block * block_k + lax.broadcasted_iota(jnp.int32, (block_q, block_k), 1)
        if lay.kv_pad != lay.kv_len:
            valid = both(valid, key < lay.kv_len)
        if lay.causal:
            valid = both(
                valid, key <= q_block * block_q + lax.broadcasted_iota(jnp.int32, (block_q, block_k), 0)
            )
    if x.q_ids is not None:
        valid = both(valid, jnp.tile(x.q_ids[...], (1, block_k // LANES)) == x.kv_ids[:1, :])
    if x.mask is not None:
        valid = both(valid, (x.mask[...] if lay.mask_rows else x.mask[:1, :]) != 0)
    return s if valid is None else jnp.where(valid, s, MASK_VALUE)


def _lanes(x: jax.Array, width: int) -> jax.Array:
    """A [rows, 128] per-row value (all lanes equal) as [rows, width]."""
    return jnp.tile(x, (1, pl.cdiv(width, LANES)))[:, :width]


def _grads_of_logits(x: _Operands, do, lse, delta, q_block, kv_block, lay: _Layout):
    """p = exp(s - lse) and ds = p * (do v^T - delta) for one tile."""
    q, k = x.q[...], x.k[...]
    repeats = k.shape[0] // LANES
    p = jnp.exp(_logits(x, q, k, q_block, kv_block, lay) - jnp.tile(lse, (1, repeats)))
    dp = lax.dot_general(do, x.v[...], _NT, preferred_element_type=jnp.float32)
    return p, p * (dp - jnp.tile(delta, (1, repeats)))


def _params(*semantics):
    return pltpu.CompilerParams(dimension_semantics=semantics)


# ------------------------------------------------------------------------------------------------ forward


def _forward_kernel(*refs, lay: _Layout):
    x, (o_ref, lse_ref, m_ref, l_ref, acc_ref) = _Operands(*refs[:7]), refs[7:]
    block_q, block_k = x.q.shape[0], x.k.shape[0]
    q_block, kv_block = pl.program_id(2), pl.program_id(3)

    @pl.when(kv_block == 0)
    def _init():
        m_ref[...] = jnp.full(m_ref.shape, MASK_VALUE, jnp.float32)
        l_ref[...] = jnp.zeros(l_ref.shape, jnp.float32)
        acc_ref[...] = jnp.zeros(acc_ref.shape, jnp.float32)

    def step():
        s = _logits(x, x.q[...], x.k[...], q_block, kv_block, lay)
        m_prev = m_ref[...]
        m_next = jnp.maximum(m_prev, jnp.max(s, axis=1)[:, None])  # [block_q, 128]
        alpha = jnp.exp(m_prev - m_next)
        p = jnp.exp(s - jnp.tile(m_next, (1, block_k // LANES)))
        m_ref[...] = m_next
        l_ref[...] = alpha * l_ref[...] + jnp.sum(p, axis=1)[:, None]
        v = x.v[...]
        pv = lax.dot(p.astype(v.dtype), v, preferred_element_type=jnp.float32)
        acc_ref[...] = _lanes(alpha, acc_ref.shape[1]) * acc_ref[...] + pv

    if lay.causal:
        pl.when(kv_block <= _last_kv_block(q_block, block_q, block_k))(step)
    else:
        step()

    @pl.when(kv_block == pl.num_programs(3) - 1)
    def _finish():
        m, row_sum = m_ref[...], l_ref[...]
        empty = m == MASK_VALUE
        row_sum = jnp.where(empty, 1.0, row_sum)
        inverse = _lanes(jnp.where(empty, 0.0, 1.0 / row_sum), acc_ref.shape[1])
        o_ref[...] = (acc_ref[...] * inverse).astype(o_ref.dtype)
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
    block_q = min(block_sizes.block_q, _round_up(t, SUBLANES))
    block_k = min(block_sizes.block_k, _round_up(k.shape[1], LANES))
    ops, lay = _prepare(q, k, v, bias, mask, q_ids, kv_ids, block_q, block_k, causal, scale)
    specs, lane_spec = _specs(ops, lay, block_q, block_k, d, _query_major(lay, block_q, block_k))
    out, lse = pl.pallas_call(
        functools.partial(_forward_kernel, lay=lay),
        grid=(b, n, lay.q_pad // block_q, lay.kv_pad // block_k),
        in_specs=list(specs),
        out_specs=[specs.q, lane_spec],
        out_shape=[
            jax.ShapeDtypeStruct(ops.q.shape, q.dtype),
            jax.ShapeDtypeStruct((b, n, lay.q_pad, LANES), jnp.float32),
        ],
        scratch_shapes=[pltpu.VMEM((block_q, LANES), jnp.float32)] * 2
        + [pltpu.VMEM((block_q, d), jnp.float32)],
        compiler_params=_params("parallel", "parallel", "parallel", "arbitrary"),
        interpret=interpret,
        name="flash_attention_forward",
    )(*ops)
    return out[:, :, :t].transpose(0, 2, 1, 3), lse[:, :, :t, 0]


# ------------------------------------------------------------------------------------------------ backward


def _dkv_kernel(*refs, lay: _Layout):
    x, (do_ref, lse_ref, delta_ref, dk_ref, dv_ref, dk_acc, dv_acc) = _Operands(*refs[:7]), refs[7:]
    block_q, block_k = x.q.shape[0], x.k.shape[0]
    kv_block, member, q_block = pl.program_id(2), pl.program_id(3), pl.program_id(4)

    @pl.when(jnp.logical_and(member == 0, q_block == 0))
    def _init():
        dk_acc[...] = jnp.zeros(dk_acc.shape, jnp.float32)
        dv_acc[...] = jnp.zeros(dv_acc.shape, jnp.float32)

    def step():
        do = do_ref[...]
        p, ds = _grads_of_logits(x, do, lse_ref[...], delta_ref[...], q_block, kv_block, lay)
        dv_acc[...] += lax.dot(p.T.astype(do.dtype), do, preferred_element_type=jnp.float32)
        q = x.q[...]
        dk_acc[...] += lax.dot(ds.T.astype(q.dtype), q, preferred_element_type=jnp.float32)

    if lay.causal:
        pl.when(q_block >= _first_q_block(kv_block, block_q, block_k))(step)
    else:
        step()

    @pl.when(jnp.logical_and(member == pl.num_programs(3) - 1, q_block == pl.num_programs(4) - 1))
    def _finish():
        dk_ref[...] = (dk_acc[...] * lay.scale).astype(dk_ref.dtype)
        dv_ref[...] = dv_acc[...].astype(dv_ref.dtype)


def _dq_kernel(*refs, lay: _Layout):
    x, (do_ref, lse_ref, delta_ref, dq_ref, dq_acc) = _Operands(*refs[:7]), refs[7:]
    block_q, block_k = x.q.shape[0], x.k.shape[0]
    q_block, kv_block = pl.program_id(2), pl.program_id(3)

    @pl.when(kv_block == 0)
    def _init():
        dq_acc[...] = jnp.zeros(dq_acc.shape, jnp.float32)

    def step():
        _, ds = _grads_of_logits(x, do_ref[...], lse_ref[...], delta_ref[...], q_block, kv_block, lay)
        k = x.k[...]
        dq_acc[...] += lax.dot(ds.astype(k.dtype), k, preferred_element_type=jnp.float32)

    if lay.causal:
        pl.when(kv_block <= _last_kv_block(q_block, block_q, block_k))(step)
    else:
        step()

    @pl.when(kv_block == pl.num_programs(3) - 1)
    def _finish():
        dq_ref[...] = (dq_acc[...] * lay.scale).astype(dq_ref.dtype)


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
        do = _pad(d_out.transpose(0, 2, 1, 3), 2, lay.q_pad)
        return do, _lane_rows(lse, lay.q_pad, jnp.inf), _lane_rows(delta, lay.q_pad)

    block_q = min(block_sizes.block_q_dkv, _round_up(t, SUBLANES))
    block_k = min(block_sizes.block_k_dkv, _round_up(s, LANES))
    ops, lay = _prepare(q, k, v, bias, mask, q_ids, kv_ids, block_q, block_k, causal, scale)
    specs, lane_spec = _specs(ops, lay, block_q, block_k, d, _key_major(lay, block_q, block_k))
    kv_out = pl.BlockSpec((None, None, block_k, d), lambda bi, h, j, member, i: (bi, h, j, 0))
    dk, dv = pl.pallas_call(
        functools.partial(_dkv_kernel, lay=lay),
        grid=(b, kv_heads, lay.kv_pad // block_k, lay.group, lay.q_pad // block_q),
        in_specs=[*specs, specs.q, lane_spec, lane_spec],
        out_specs=[kv_out, kv_out],
        out_shape=[jax.ShapeDtypeStruct(ops.k.shape, k.dtype), jax.ShapeDtypeStruct(ops.v.shape, v.dtype)],
        scratch_shapes=[pltpu.VMEM((block_k, d), jnp.float32)] * 2,
        compiler_params=_params("parallel", "parallel", "parallel", "arbitrary", "arbitrary"),
        interpret=interpret,
        name="flash_attention_dkv",
    )(*ops, *per_query(lay))

    block_q = min(block_sizes.block_q_dq, _round_up(t, SUBLANES))
    block_k = min(block_sizes.block_k_dq, _round_up(s, LANES))
    ops, lay = _prepare(q, k, v, bias, mask, q_ids, kv_ids, block_q, block_k, causal, scale)
    specs, lane_spec = _specs(ops, lay, block_q, block_k, d, _query_major(lay, block_q, block_k))
    dq = pl.pallas_call(
        functools.partial(_dq_kernel, lay=lay),
        grid=(b, n, lay.q_pad // block_q, lay.kv_pad // block_k),
        in_specs=[*specs, specs.q, lane_spec, lane_spec],
        out_specs=specs.q,
        out_shape=jax.ShapeDtypeStruct(ops.q.shape, q.dtype),
        scratch_shapes=[pltpu.VMEM((block_q, d), jnp.float32)],
        compiler_params=_params("parallel", "parallel", "parallel", "arbitrary"),
        interpret=interpret,
        name="flash_attention_dq",
    )(*ops, *per_query(lay))

    def seq_minor(x, length):
        return x[:, :, :length].transpose(0, 2, 1, 3)

    return seq_minor(dq, t), seq_minor(dk, s), seq_minor(dv, s)

"""`attention`: scaled dot-product attention, by flash kernels where they help and XLA elsewhere.

Three implementations, registered with `dispatch` under the op "attention":

- "xla": `attention_reference`, plain jax.numpy (the oracle);
- "pallas": flash attention written in Pallas, the Triton kernel
  (`flash_attention_gpu`) on GPUs and the Mosaic kernel
  (`flash_attention_tpu`) on TPUs, differentiated by Pallas backward kernels;
- "cudnn": `jax.nn.dot_product_attention(implementation="cudnn")`.

All three agree on the semantics, which follow `jax.nn.dot_product_attention`
(layout, grouped-query heads, `causal` aligned at the top left), except that a
query row with nothing to attend to gets zeros and zero gradients.

Gradients flow to q, k, v and bias. With the Pallas kernels the bias
gradient comes from the reference's vjp (it materializes a
[batch, heads, q_len, kv_len] array; under `jax.jit` it is dropped when the
bias gradient is not used).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
from collections.abc import Iterator
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from . import dispatch, flash_attention_gpu, flash_attention_tpu
from .attention_reference import SegmentIds, allowed, attention_reference, segment_pair

_KERNELS = {"gpu": flash_attention_gpu, "tpu": flash_attention_tpu}
_FLOATS = (jnp.float32, jnp.bfloat16, jnp.float16)
_forced_kernel: list[str] = []


def attention(
    q: jax.Array,
    k: jax.Array,
    v: jax.Array,
    *,
    bias: jax.Array | None = None,
    mask: jax.Array | None = None,
    causal: bool = False,
    segment_ids: SegmentIds | None = None,
    scale: float | None = None,
    implementation: str = "auto",
) -> jax.Array:
    """Scaled dot-product attention: softmax(scale * q k^T + bias, masked) v.

    Args:
      q: [batch, q_len, heads, head_dim].
      k, v: [batch, kv_len, kv_heads, head_dim]; heads must be a multiple of
        kv_heads (grouped-query attention: query head h reads kv head
        h // (heads // kv_heads)).
      bias: added to the logits, broadcastable to [batch, heads, q_len, kv_len].
      mask: boolean, broadcastable to [batch, heads, q_len, kv_len]; True attends.
      causal: query i attends keys j <= i (counted from the start of both
        sequences, as `jax.nn.dot_product_attention` does).
      segment_ids: int [batch, q_len] for self-attention, or a pair
        ([batch, q_len], [batch, kv_len]); queries attend keys of equal id.
      scale: multiplies q k^T; default 1 / sqrt(head_dim).
      implementation: "auto", "xla", "pallas" or "cudnn" (see `dispatch`).

    Returns:
      [batch, q_len, heads, head_dim] in q's dtype. A query row with nothing to
      attend to is zeros.

    >>> q = jnp.ones((2, 16, 4, 32)); kv = jnp.ones((2, 16, 2, 32))
    >>> attention(q, kv, kv, causal=True).shape
    (2, 16, 4, 32)
    """
    q, k, v = jnp.asarray(q), jnp.asarray(k), jnp.asarray(v)
    bias, mask, pair, scale = _checked(q, k, v, bias, mask, segment_ids, scale)
    return dispatch.call(
        "attention", implementation, q, k, v, bias, mask, pair, causal=bool(causal), scale=scale
    )


def _shape_error(name: str, got, expected: str, advice: str) -> ValueError:
    return ValueError(f"attention: {name} must be {expected}; got shape {tuple(got)}. {advice}")


def _checked(q, k, v, bias, mask, segment_ids, scale):
    """Validated arguments: bias and mask as 4-D arrays, segment ids as a pair, scale as a float."""
    for name, x in (("q", q), ("k", k), ("v", v)):
        if x.ndim != 4:
            layout = (
                "[batch, q_len, heads, head_dim]" if name == "q" else "[batch, kv_len, kv_heads, head_dim]"
            )
            raise _shape_error(
                name, x.shape, layout, "Add the missing batch or heads axis with x[None] or x[:, :, None]."
            )
    if k.shape != v.shape:
        raise ValueError(f"attention: k and v must have the same shape; got k {k.shape} and v {v.shape}.")
    b, t, n, d = q.shape
    s, kv_heads = k.shape[1], k.shape[2]
    if k.shape[0] != b:
        raise ValueError(
            f"attention: q and k must have the same batch size; got q {q.shape} and k {k.shape}."
        )
    if k.shape[3] != d:
        raise ValueError(
            f"attention: q and k must have the same head_dim (last axis); got q {q.shape} and k {k.shape}."
        )
    if kv_heads == 0 or n % kv_heads:
        raise ValueError(
            f"attention: q's heads ({n}) must be a multiple of k's kv_heads ({kv_heads}); got q "
            f"{q.shape} and k {k.shape}."
        )
    if not (q.dtype == k.dtype == v.dtype) or not jnp.issubdtype(q.dtype, jnp.floating):
        raise ValueError(
            f"attention: q, k and v must share one floating dtype; got {q.dtype}, {k.dtype}, {v.dtype}."
        )
    full = (b, n, t, s)

    def broadcastable(name, x):
        if x is None:
            return None
        x = jnp.asarray(x)
        shape = (1,) * (4 - x.ndim) + x.shape
        if x.ndim > 4 or any(dim not in (1, want) for dim, want in zip(shape, full)):
            raise _shape_error(
                name,
                x.shape,
                f"broadcastable to [batch, heads, q_len, kv_len] = {full}",
                "Each axis must be 1 or match; a [batch, kv_len] padding mask is mask[:, None, None, :].",
            )
        return x.reshape(shape)

    bias, mask = broadcastable("bias", bias), broadcastable("mask", mask)
    if mask is not None and mask.dtype != jnp.bool_:
        raise ValueError(
            f"attention: mask must be boolean (True attends); got {mask.dtype}. For an additive "
            "mask pass it as bias."
        )
    pair = None
    if segment_ids is not None:
        if not isinstance(segment_ids, (tuple, list)) and t != s:
            raise ValueError(
                f"attention: a single segment_ids array needs q_len == kv_len; got q {q.shape} and "
                f"k {k.shape}. Pass (q_segment_ids, kv_segment_ids)."
            )
        pair = tuple(jnp.asarray(x) for x in segment_pair(segment_ids))
        for name, ids, axis, length in (
            ("q_segment_ids", pair[0], "q_len", t),
            ("kv_segment_ids", pair[1], "kv_len", s),
        ):
            if ids.shape != (b, length):
                raise _shape_error(
                    name,
                    ids.shape,
                    f"[batch, {axis}] = {(b, length)}",
                    "Segment ids are one integer per position.",
                )
            if not jnp.issubdtype(ids.dtype, jnp.integer):
                raise ValueError(f"attention: {name} must be integers; got {ids.dtype}.")
    if scale is None:
        scale = 1.0 / math.sqrt(d)
    elif isinstance(scale, (int, float, np.floating, np.integer)):
        scale = float(scale)
    else:
        raise ValueError(f"attention: scale must be a Python number (kernels bake it in); got {type(scale)}.")
    return bias, mask, pair, scale


# ------------------------------------------------------------------------------------------------ pallas


@contextlib.contextmanager
def use_pallas_kernel(kernel: Literal["gpu", "tpu"]) -> Iterator[None]:
    """Within the block, implementation="pallas" runs the given kernel whatever the platform.

    For checking the kernels in interpret mode on a CPU; on a device only its
    own kernel lowers.

    >>> with use_pallas_kernel("tpu"):  # doctest: +SKIP
    ...     out = attention(q, k, v, implementation="pallas")
    """
    if kernel not in _KERNELS:
        raise ValueError(f"kernel is one of {sorted(_KERNELS)}; got {kernel!r}.")
    _forced_kernel.append(kernel)
    try:
        yield
    finally:
        _forced_kernel.pop()


def _kernel_name(kernel: str | None) -> str:
    if kernel is not None:
        return kernel
    if _forced_kernel:
        return _forced_kernel[-1]
    return "tpu" if dispatch.platform() == "tpu" else "gpu"


@dataclasses.dataclass(frozen=True)
class _FlashConfig:
    kernel: str
    causal: bool
    scale: float
    block_sizes: Any
    interpret: Any


def pallas_attention(
    q,
    k,
    v,
    bias=None,
    mask=None,
    segment_ids=None,
    *,
    causal: bool = False,
    scale: float | None = None,
    interpret: Any = False,
    kernel: str | None = None,
    block_sizes: Any = None,
) -> jax.Array:
    """Flash attention in Pallas, differentiable in q, k, v and bias; arguments as `attention`.

    `kernel` picks "gpu" (Triton) or "tpu" (Mosaic); by default the platform's,
    or the one `use_pallas_kernel` forces. `block_sizes` is that module's
    `BlockSizes`, or a dict of its fields (what autotuning stores).
    `interpret=True` runs the kernels in Pallas' interpret mode.
    """
    name = _kernel_name(kernel)
    module = _KERNELS[name]
    bias, mask, pair, scale = _checked(q, k, v, bias, mask, segment_ids, scale)
    if isinstance(block_sizes, dict):
        block_sizes = module.BlockSizes(**block_sizes)
    config = _FlashConfig(name, bool(causal), scale, block_sizes or module.BlockSizes(), interpret)
    return _flash(q, k, v, bias, mask, pair, config)


def _kernel_args(config: _FlashConfig) -> dict:
    return dict(
        causal=config.causal, scale=config.scale, block_sizes=config.block_sizes, interpret=config.interpret
    )


@functools.partial(jax.custom_vjp, nondiff_argnums=(6,))
def _flash(q, k, v, bias, mask, pair, config: _FlashConfig):
    return _flash_forward(q, k, v, bias, mask, pair, config)[0]


def _flash_forward(q, k, v, bias, mask, pair, config: _FlashConfig):
    q_ids, kv_ids = pair or (None, None)
    out, lse = _KERNELS[config.kernel].forward(q, k, v, bias, mask, q_ids, kv_ids, **_kernel_args(config))
    return out, (q, k, v, bias, mask, pair, out, lse)


def _flash_backward(config: _FlashConfig, residuals, d_out):
    q, k, v, bias, mask, pair, out, lse = residuals
    q_ids, kv_ids = pair or (None, None)
    dq, dk, dv = _KERNELS[config.kernel].backward(
        q, k, v, bias, mask, q_ids, kv_ids, out, lse, d_out, **_kernel_args(config)
    )
    d_bias = None
    if bias is not None:

        def with_bias(b):
            return attention_reference(q, k, v, b, mask, pair, causal=config.causal, scale=config.scale)

        (d_bias,) = jax.vjp(with_bias, bias)[1](d_out)
    return dq, dk, dv, d_bias, None, None


_flash.defvjp(_flash_forward, _flash_backward)


def _pallas_supports(
    q, k, v, bias=None, mask=None, segment_ids=None, *, causal=False, scale=None
) -> str | None:
    if q.dtype not in _FLOATS:
        return f"dtype {q.dtype} (the kernels take float32, bfloat16 or float16)"
    d = q.shape[-1]
    if d % 8 or d > 256:
        return f"head_dim {d} (the kernels take multiples of 8 up to 256)"
    if _kernel_name(None) == "tpu" and q.dtype == jnp.float16:
        return "float16 on TPU (use bfloat16)"
    return None


# Block sizes autotuning times besides the defaults: (block_q, block_k, block_q_dkv, block_k_dkv, block_q_dq,
# block_k_dq). Triton's need powers of two >= 16; Mosaic's key blocks multiples of 128.
_TUNINGS = {
    "gpu": [(64, 64, 64, 64, 64, 64), (128, 128, 64, 128, 128, 64), (64, 128, 32, 128, 128, 32),
            (128, 32, 64, 32, 32, 64)],
    "tpu": [(256, 256, 256, 256, 256, 256), (512, 512, 256, 512, 512, 256), (128, 512, 128, 512, 512, 128),
            (512, 1024, 512, 1024, 1024, 512)],
}


def _pallas_tunings(q, k, v, *args, **kwargs) -> list[dict]:
    fields = [f.name for f in dataclasses.fields(_KERNELS[_kernel_name(None)].BlockSizes)]
    longest = max(q.shape[1], k.shape[1])
    # Blocks shrink to a short sequence, so sets whose smallest block is already longer time the same program.
    return [{"block_sizes": dict(zip(fields, sizes))} for sizes in _TUNINGS[_kernel_name(None)]
            if min(sizes) <= longest]


# ------------------------------------------------------------------------------------------------ cudnn


def cudnn_attention(
    q, k, v, bias=None, mask=None, segment_ids=None, *, causal: bool = False, scale: float | None = None
) -> jax.Array:
    """`jax.nn.dot_product_attention(implementation="cudnn")` with this op's arguments and empty-row zeros."""
    bias, mask, pair, scale = _checked(q, k, v, bias, mask, segment_ids, scale)
    t, s = q.shape[1], k.shape[1]
    if pair is not None:
        same = pair[0][:, None, :, None] == pair[1][:, None, None, :]
        mask = same if mask is None else jnp.logical_and(mask, same)
    # cuDNN takes bias and mask with full [q_len, kv_len] axes; batch and heads may stay 1.
    if bias is not None:
        bias = jnp.broadcast_to(bias.astype(q.dtype), (*bias.shape[:2], t, s))
    if mask is not None:
        mask = jnp.broadcast_to(mask, (*mask.shape[:2], t, s))
    out = jax.nn.dot_product_attention(
        q, k, v, bias, mask, scale=scale, is_causal=causal, implementation="cudnn"
    )
    if mask is None:
        return out
    # cuDNN averages v over a row that may attend to nothing; this op returns zeros there.
    attends = jnp.any(allowed(t, s, mask, causal), axis=-1)  # [batch | 1, heads | 1, q_len]
    return jnp.where(attends.transpose(0, 2, 1)[..., None], out, jnp.zeros((), out.dtype))


def _cudnn_supports(
    q, k, v, bias=None, mask=None, segment_ids=None, *, causal=False, scale=None
) -> str | None:
    if q.dtype not in (jnp.float16, jnp.bfloat16):
        return f"dtype {q.dtype} (cuDNN takes float16 or bfloat16)"
    d, t, s = q.shape[-1], q.shape[1], k.shape[1]
    capability = getattr(jax.devices()[0], "compute_capability", "0.0")
    hopper = tuple(int(x) for x in str(capability).split(".")[:2]) >= (9, 0)
    largest = 256 if hopper else 128
    if d % 8 or d > largest:
        return f"head_dim {d} (cuDNN takes multiples of 8 up to {largest} on this GPU)"
    if causal and t != s:
        return "causal with q_len != kv_len (cuDNN's alignment of the causal mask is not checked to match)"
    if (bias is not None or mask is not None or segment_ids is not None) and (t % 2 or s % 2):
        return f"odd sequence lengths ({t}, {s}) with a bias or mask (cuDNN's backward needs even ones)"
    return None


dispatch.register("attention", "xla", attention_reference)
dispatch.register(
    "attention", "pallas", pallas_attention, platforms=("cuda", "tpu"), supports=_pallas_supports,
    tunings=_pallas_tunings,
)
dispatch.register("attention", "cudnn", cudnn_attention, platforms=("cuda",), supports=_cudnn_supports)

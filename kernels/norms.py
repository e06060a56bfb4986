"""Layer normalisation and RMS normalisation over the last axis: XLA references and Pallas kernels.

The references compute exactly what `workbench.layers.LayerNormalization` and
`RMSNormalization` compute for `axis=-1` (same formulas, same order of
operations), so the layers can call these ops without changing their
numbers. As in Keras, statistics are computed in float32 (float64 for
float64 inputs) and the result is cast back to the input's dtype; `scale`
(gamma) and `bias` (beta) may be None, which is Keras'
`LayerNormalization(scale=False)` / `(center=False)` and
`keras.ops.rms_normalization(x, scale=None)`.

>>> x = jnp.arange(6.0).reshape(2, 3)
>>> y = layer_norm(x, jnp.ones(3), jnp.zeros(3), eps=1e-3)
>>> z = rms_norm(x, None)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from . import dispatch, norms_pallas

__all__ = ["layer_norm", "layer_norm_reference", "rms_norm", "rms_norm_reference"]


def _stats_dtype(dtype):
    return jnp.promote_types(dtype, jnp.float32)


def layer_norm_reference(x, scale, bias, *, eps: float = 1e-6) -> jax.Array:
    """LayerNormalization's formula: `x * inv + (bias - mean * inv)` with `inv = rsqrt(var + eps) * scale`."""
    xf = x.astype(_stats_dtype(x.dtype))
    mean = jnp.mean(xf, -1, keepdims=True)
    inv = lax.rsqrt(jnp.var(xf, axis=-1, keepdims=True) + eps)
    if scale is not None:
        inv = inv * scale.astype(xf.dtype)
    shift = -mean * inv
    if bias is not None:
        shift = shift + bias.astype(xf.dtype)
    return (xf * inv + shift).astype(x.dtype)


def rms_norm_reference(x, scale, *, eps: float = 1e-6) -> jax.Array:
    """RMSNormalization's formula: `(x * rsqrt(mean(x**2) + eps)) * scale`."""
    xf = x.astype(_stats_dtype(x.dtype))
    out = xf * lax.rsqrt(jnp.mean(jnp.square(xf), axis=-1, keepdims=True) + eps)
    if scale is not None:
        out = out * scale.astype(xf.dtype)
    return out.astype(x.dtype)


def layer_norm(x, scale, bias, eps: float = 1e-6, *, implementation: str = "auto") -> jax.Array:
    """Normalise `x` over its last axis to zero mean and unit variance, then scale and shift.

    `x` has any rank >= 1; `scale` and `bias` have shape `[features]` or are
    None. Differentiable in `x`, `scale` and `bias`; the Pallas kernel saves
    only each row's mean and 1/std for the backward pass. `implementation` is
    "auto", "xla" or "pallas" (see `workbench.kernels.dispatch`).

    >>> y = layer_norm(jnp.ones((2, 4)), None, None)
    """
    _check(x, scale=scale, bias=bias, op="layer_norm")
    return dispatch.call("layer_norm", implementation, x, scale, bias, eps=float(eps))


def rms_norm(x, scale, eps: float = 1e-6, *, implementation: str = "auto") -> jax.Array:
    """Divide `x` by the root mean square of its last axis, then scale.

    `x` has any rank >= 1; `scale` has shape `[features]` or is None.

    >>> y = rms_norm(jnp.ones((2, 4)), jnp.full(4, 2.0))
    """
    _check(x, scale=scale, op="rms_norm")
    return dispatch.call("rms_norm", implementation, x, scale, eps=float(eps))


def _check(x, *, op: str, **params) -> None:
    shape = tuple(getattr(x, "shape", ()))
    if len(shape) < 1:
        raise ValueError(f"{op}: `x` must have at least one axis (the features), got shape {shape}.")
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise ValueError(f"{op}: `x` must be floating point, got dtype {x.dtype} (shape {shape}).")
    for name, v in params.items():
        if v is not None and tuple(v.shape) != shape[-1:]:
            raise ValueError(
                f"{op}: `{name}` must have shape {shape[-1:]} (the last axis of x, shape {shape}), "
                f"got shape {tuple(v.shape)}."
            )


dispatch.register("layer_norm", "xla", layer_norm_reference)
dispatch.register(
    "layer_norm", "pallas", norms_pallas.layer_norm, platforms=("cuda",), supports=norms_pallas.supports,
    tunings=norms_pallas.tunings,
)
dispatch.register("rms_norm", "xla", rms_norm_reference)
dispatch.register(
    "rms_norm", "pallas", norms_pallas.rms_norm, platforms=("cuda",), supports=norms_pallas.supports_rms_norm,
    tunings=norms_pallas.tunings,
)

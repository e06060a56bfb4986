"""Reductions along axes (sum, mean, max, var, argmax, any, logsumexp, norm, ...),
running sums and products, and segment_sum.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from workbench.ops._core import Axis, DType, _float_input, convert_to_tensor


def sum(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> jax.Array:
    """The sum over `axis` (all axes if None)."""
    return jnp.sum(convert_to_tensor(x), axis=axis, keepdims=keepdims)


def mean(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> jax.Array:
    """The mean over `axis`; half-precision inputs accumulate in float32, as in Keras."""
    x = convert_to_tensor(x)
    compute = jnp.result_type(x.dtype, jnp.float32)
    out_dtype = x.dtype if jnp.issubdtype(x.dtype, jnp.inexact) else compute
    return jnp.mean(x, axis=axis, keepdims=keepdims, dtype=compute).astype(out_dtype)


def max(
    x: ArrayLike, axis: Axis = None, keepdims: bool = False, initial: ArrayLike | None = None
) -> jax.Array:
    """The maximum over `axis` (all axes if None)."""
    return jnp.max(convert_to_tensor(x), axis=axis, keepdims=keepdims, initial=initial)


def min(
    x: ArrayLike, axis: Axis = None, keepdims: bool = False, initial: ArrayLike | None = None
) -> jax.Array:
    """The minimum over `axis` (all axes if None)."""
    return jnp.min(convert_to_tensor(x), axis=axis, keepdims=keepdims, initial=initial)


def prod(x: ArrayLike, axis: Axis = None, keepdims: bool = False, dtype: DType = None) -> jax.Array:
    """The product over `axis` (all axes if None)."""
    return jnp.prod(convert_to_tensor(x), axis=axis, keepdims=keepdims, dtype=dtype)


def var(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> jax.Array:
    """The (population) variance over `axis`; accumulates in at least float32."""
    x = convert_to_tensor(x)
    compute = jnp.result_type(x.dtype, jnp.float32)
    out_dtype = x.dtype if jnp.issubdtype(x.dtype, jnp.inexact) else compute
    return jnp.var(x, axis=axis, keepdims=keepdims, dtype=compute).astype(out_dtype)


def std(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> jax.Array:
    """The (population) standard deviation over `axis`."""
    return jnp.std(_float_input(x), axis=axis, keepdims=keepdims)


def argmax(x: ArrayLike, axis: int | None = None, keepdims: bool = False) -> jax.Array:
    """The index of the largest value along `axis` (of the flattened array if None)."""
    return jnp.argmax(convert_to_tensor(x), axis=axis, keepdims=keepdims)


def argmin(x: ArrayLike, axis: int | None = None, keepdims: bool = False) -> jax.Array:
    """The index of the smallest value along `axis` (of the flattened array if None)."""
    return jnp.argmin(convert_to_tensor(x), axis=axis, keepdims=keepdims)


def any(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> jax.Array:
    """Whether any element along `axis` is true."""
    return jnp.any(convert_to_tensor(x), axis=axis, keepdims=keepdims)


def all(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> jax.Array:
    """Whether every element along `axis` is true."""
    return jnp.all(convert_to_tensor(x), axis=axis, keepdims=keepdims)


def count_nonzero(x: ArrayLike, axis: Axis = None) -> jax.Array:
    """The number of non-zero elements along `axis`, as int32."""
    return jnp.count_nonzero(convert_to_tensor(x), axis=axis).astype("int32")


def cumsum(x: ArrayLike, axis: int | None = None, dtype: DType = None) -> jax.Array:
    """The running sum along `axis` (of the flattened array if None)."""
    return jnp.cumsum(convert_to_tensor(x), axis=axis, dtype=dtype)


def cumprod(x: ArrayLike, axis: int | None = None, dtype: DType = None) -> jax.Array:
    """The running product along `axis` (of the flattened array if None)."""
    return jnp.cumprod(convert_to_tensor(x), axis=axis, dtype=dtype)


def logsumexp(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> jax.Array:
    """log(sum(exp(x))) over `axis`, computed without overflow."""
    return jax.scipy.special.logsumexp(convert_to_tensor(x), axis=axis, keepdims=keepdims)


def norm(x: ArrayLike, ord: Any = None, axis: Axis = None, keepdims: bool = False) -> jax.Array:
    """The vector or matrix norm of `x`, as `numpy.linalg.norm`."""
    return jnp.linalg.norm(_float_input(x), ord=ord, axis=axis, keepdims=keepdims)


def segment_sum(
    data: ArrayLike, segment_ids: ArrayLike, num_segments: int | None = None, sorted: bool = False
) -> jax.Array:
    """Sums of the rows of `data` that share a segment id, one row per segment."""
    data, segment_ids = convert_to_tensor(data), convert_to_tensor(segment_ids)
    if segment_ids.ndim != 1 or segment_ids.shape[0] != data.shape[0]:
        raise ValueError(
            "segment_sum expects 1-D segment_ids with one id per row of data; "
            f"got segment_ids.shape={segment_ids.shape}, data.shape={data.shape}."
        )
    if num_segments is None:
        raise ValueError(
            "segment_sum needs num_segments (JAX must know the output shape when tracing); "
            "pass num_segments=int(segment_ids.max()) + 1 or the known number of segments."
        )
    return jax.ops.segment_sum(data, segment_ids, num_segments, indices_are_sorted=sorted)

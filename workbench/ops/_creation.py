"""Array creation: zeros, ones, full (and their `_like` forms), eye, arange, linspace."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from workbench.ops._core import DType, convert_to_tensor, standardize_dtype


def zeros(shape: Sequence[int] | int, dtype: DType = None) -> jax.Array:
    """An array of zeros; dtype defaults to `config.floatx()`."""
    return jnp.zeros(shape, dtype=standardize_dtype(dtype))


def ones(shape: Sequence[int] | int, dtype: DType = None) -> jax.Array:
    """An array of ones; dtype defaults to `config.floatx()`."""
    return jnp.ones(shape, dtype=standardize_dtype(dtype))


def full(shape: Sequence[int] | int, fill_value: ArrayLike, dtype: DType = None) -> jax.Array:
    """An array filled with `fill_value`; dtype defaults to `config.floatx()`."""
    return jnp.full(shape, fill_value, dtype=standardize_dtype(dtype))


def zeros_like(x: ArrayLike, dtype: DType = None) -> jax.Array:
    """Zeros with the shape (and, unless given, the dtype) of `x`."""
    return jnp.zeros_like(convert_to_tensor(x), dtype=dtype)


def ones_like(x: ArrayLike, dtype: DType = None) -> jax.Array:
    """Ones with the shape (and, unless given, the dtype) of `x`."""
    return jnp.ones_like(convert_to_tensor(x), dtype=dtype)


def full_like(x: ArrayLike, fill_value: ArrayLike, dtype: DType = None) -> jax.Array:
    """`fill_value` with the shape (and, unless given, the dtype) of `x`."""
    return jnp.full_like(convert_to_tensor(x), fill_value, dtype=dtype)


def eye(N: int, M: int | None = None, k: int = 0, dtype: DType = None) -> jax.Array:
    """An N x M matrix with ones on the k-th diagonal."""
    return jnp.eye(N, M=M, k=k, dtype=standardize_dtype(dtype))


def arange(
    start: ArrayLike, stop: ArrayLike | None = None, step: ArrayLike | None = None, dtype: DType = None
) -> jax.Array:
    """Evenly spaced values in [start, stop), like `numpy.arange`."""
    return jnp.arange(start, stop, step, dtype=None if dtype is None else standardize_dtype(dtype))


def linspace(
    start: ArrayLike,
    stop: ArrayLike,
    num: int = 50,
    endpoint: bool = True,
    retstep: bool = False,
    dtype: DType = None,
    axis: int = 0,
) -> jax.Array | tuple[jax.Array, jax.Array]:
    """`num` evenly spaced values from `start` to `stop`."""
    return jnp.linspace(start, stop, num=num, endpoint=endpoint, retstep=retstep, dtype=dtype, axis=axis)

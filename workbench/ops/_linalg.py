"""Linear algebra: matmul, dot, einsum, outer, and the triangular and diagonal parts of matrices."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from workbench.ops._core import convert_to_tensor


def matmul(x1: ArrayLike, x2: ArrayLike) -> jax.Array:
    """The matrix product of x1 and x2, batched over leading axes."""
    x1, x2 = convert_to_tensor(x1), convert_to_tensor(x2)
    if x1.ndim >= 1 and x2.ndim >= 1:
        inner2 = x2.shape[-2] if x2.ndim >= 2 else x2.shape[0]
        if x1.shape[-1] != inner2:
            raise ValueError(
                f"matmul expects x1.shape[-1] == x2.shape[-2]; got x1.shape={x1.shape}, x2.shape={x2.shape}."
            )
    both_int8 = x1.dtype == jnp.int8 and x2.dtype == jnp.int8
    return jnp.matmul(x1, x2, preferred_element_type="int32" if both_int8 else None)


def dot(x1: ArrayLike, x2: ArrayLike) -> jax.Array:
    """The dot product of x1 and x2, as `numpy.dot`."""
    return jnp.dot(convert_to_tensor(x1), convert_to_tensor(x2))


def einsum(subscripts: str, *operands: ArrayLike, **kwargs: Any) -> jax.Array:
    """The Einstein summation `subscripts` over `operands`."""
    return jnp.einsum(subscripts, *(convert_to_tensor(x) for x in operands), **kwargs)


def outer(x1: ArrayLike, x2: ArrayLike) -> jax.Array:
    """The outer product of x1 and x2 (both flattened)."""
    return jnp.outer(convert_to_tensor(x1), convert_to_tensor(x2))


def tril(x: ArrayLike, k: int = 0) -> jax.Array:
    """`x` with entries above the k-th diagonal zeroed."""
    return jnp.tril(convert_to_tensor(x), k=k)


def triu(x: ArrayLike, k: int = 0) -> jax.Array:
    """`x` with entries below the k-th diagonal zeroed."""
    return jnp.triu(convert_to_tensor(x), k=k)


def diag(x: ArrayLike, k: int = 0) -> jax.Array:
    """The k-th diagonal of a matrix, or a matrix with vector `x` on its k-th diagonal."""
    return jnp.diag(convert_to_tensor(x), k=k)

"""Elementwise math (arithmetic, powers and logs, trigonometry, rounding, clip, where)
and elementwise comparisons and logic, all broadcasting like NumPy.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from workbench.ops._core import _float_input, convert_to_tensor


def add(x1: ArrayLike, x2: ArrayLike) -> jax.Array:
    """x1 + x2, elementwise with broadcasting."""
    return jnp.add(convert_to_tensor(x1), convert_to_tensor(x2))


def subtract(x1: ArrayLike, x2: ArrayLike) -> jax.Array:
    """x1 - x2, elementwise with broadcasting."""
    return jnp.subtract(convert_to_tensor(x1), convert_to_tensor(x2))


def multiply(x1: ArrayLike, x2: ArrayLike) -> jax.Array:
    """x1 * x2, elementwise with broadcasting."""
    return jnp.multiply(convert_to_tensor(x1), convert_to_tensor(x2))


def divide(x1: ArrayLike, x2: ArrayLike) -> jax.Array:
    """x1 / x2 (true division), elementwise with broadcasting."""
    return jnp.divide(convert_to_tensor(x1), convert_to_tensor(x2))


def floor_divide(x1: ArrayLike, x2: ArrayLike) -> jax.Array:
    """x1 // x2, elementwise with broadcasting."""
    return jnp.floor_divide(convert_to_tensor(x1), convert_to_tensor(x2))


def mod(x1: ArrayLike, x2: ArrayLike) -> jax.Array:
    """x1 % x2 (sign of the divisor), elementwise."""
    return jnp.mod(convert_to_tensor(x1), convert_to_tensor(x2))


def power(x1: ArrayLike, x2: ArrayLike) -> jax.Array:
    """x1 ** x2, elementwise with broadcasting."""
    return jnp.power(convert_to_tensor(x1), convert_to_tensor(x2))


def maximum(x1: ArrayLike, x2: ArrayLike) -> jax.Array:
    """The larger of x1 and x2, elementwise."""
    return jnp.maximum(convert_to_tensor(x1), convert_to_tensor(x2))


def minimum(x1: ArrayLike, x2: ArrayLike) -> jax.Array:
    """The smaller of x1 and x2, elementwise."""
    return jnp.minimum(convert_to_tensor(x1), convert_to_tensor(x2))


def negative(x: ArrayLike) -> jax.Array:
    """-x, elementwise."""
    return jnp.negative(convert_to_tensor(x))


def abs(x: ArrayLike) -> jax.Array:
    """|x|, elementwise."""
    return jnp.abs(convert_to_tensor(x))


absolute = abs


def sign(x: ArrayLike) -> jax.Array:
    """-1, 0 or 1 by the sign of x, elementwise."""
    return jnp.sign(convert_to_tensor(x))


def square(x: ArrayLike) -> jax.Array:
    """x * x, elementwise."""
    return jnp.square(convert_to_tensor(x))


def sqrt(x: ArrayLike) -> jax.Array:
    """The square root of x, elementwise."""
    return jnp.sqrt(_float_input(x))


def rsqrt(x: ArrayLike) -> jax.Array:
    """1 / sqrt(x), elementwise."""
    return jax.lax.rsqrt(_float_input(x))


def reciprocal(x: ArrayLike) -> jax.Array:
    """1 / x, elementwise."""
    return jnp.reciprocal(_float_input(x))


def exp(x: ArrayLike) -> jax.Array:
    """e ** x, elementwise."""
    return jnp.exp(_float_input(x))


def log(x: ArrayLike) -> jax.Array:
    """The natural logarithm of x, elementwise."""
    return jnp.log(_float_input(x))


def log1p(x: ArrayLike) -> jax.Array:
    """log(1 + x), accurate for small x, elementwise."""
    return jnp.log1p(_float_input(x))


def sin(x: ArrayLike) -> jax.Array:
    """The sine of x, elementwise."""
    return jnp.sin(_float_input(x))


def cos(x: ArrayLike) -> jax.Array:
    """The cosine of x, elementwise."""
    return jnp.cos(_float_input(x))


def erf(x: ArrayLike) -> jax.Array:
    """The Gauss error function of x, elementwise."""
    return jax.lax.erf(_float_input(x))


def floor(x: ArrayLike) -> jax.Array:
    """The largest integer <= x, as a float, elementwise."""
    return jnp.floor(_float_input(x))


def ceil(x: ArrayLike) -> jax.Array:
    """The smallest integer >= x, as a float, elementwise."""
    return jnp.ceil(_float_input(x))


def round(x: ArrayLike, decimals: int = 0) -> jax.Array:
    """x rounded half-to-even to `decimals` decimal places."""
    return jnp.round(convert_to_tensor(x), decimals=decimals)


def clip(x: ArrayLike, x_min: ArrayLike, x_max: ArrayLike) -> jax.Array:
    """x limited to [x_min, x_max], elementwise."""
    x = convert_to_tensor(x)
    if x.dtype == jnp.bool_:
        x = x.astype("int32")
    return jnp.clip(x, x_min, x_max)


def where(condition: ArrayLike, x1: ArrayLike | None = None, x2: ArrayLike | None = None) -> Any:
    """x1 where condition holds, else x2; with neither, the indices where condition holds."""
    if (x1 is None) != (x2 is None):
        raise ValueError(
            "where expects x1 and x2 both given (to select between them) or both None (to get indices); "
            f"got x1={'None' if x1 is None else 'an array'} and x2={'None' if x2 is None else 'an array'}."
        )
    if x1 is None:
        return jnp.where(convert_to_tensor(condition))
    return jnp.where(convert_to_tensor(condition), convert_to_tensor(x1), convert_to_tensor(x2))


def isnan(x: ArrayLike) -> jax.Array:
    """Whether x is NaN, elementwise."""
    return jnp.isnan(convert_to_tensor(x))


def isinf(x: ArrayLike) -> jax.Array:
    """Whether x is +inf or -inf, elementwise."""
    return jnp.isinf(convert_to_tensor(x))


def nan_to_num(
    x: ArrayLike, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
) -> jax.Array:
    """x with NaN and infinities replaced by finite numbers."""
    return jnp.nan_to_num(convert_to_tensor(x), nan=nan, posinf=posinf, neginf=neginf)


# --------------------------------------------------------------------------- comparisons & logic


def equal(x1: ArrayLike, x2: ArrayLike) -> jax.Array:
    """x1 == x2, elementwise."""
    return jnp.equal(convert_to_tensor(x1), convert_to_tensor(x2))


def not_equal(x1: ArrayLike, x2: ArrayLike) -> jax.Array:
    """x1 != x2, elementwise."""
    return jnp.not_equal(convert_to_tensor(x1), convert_to_tensor(x2))


def greater(x1: ArrayLike, x2: ArrayLike) -> jax.Array:
    """x1 > x2, elementwise."""
    return jnp.greater(convert_to_tensor(x1), convert_to_tensor(x2))


def greater_equal(x1: ArrayLike, x2: ArrayLike) -> jax.Array:
    """x1 >= x2, elementwise."""
    return jnp.greater_equal(convert_to_tensor(x1), convert_to_tensor(x2))


def less(x1: ArrayLike, x2: ArrayLike) -> jax.Array:
    """x1 < x2, elementwise."""
    return jnp.less(convert_to_tensor(x1), convert_to_tensor(x2))


def less_equal(x1: ArrayLike, x2: ArrayLike) -> jax.Array:
    """x1 <= x2, elementwise."""
    return jnp.less_equal(convert_to_tensor(x1), convert_to_tensor(x2))


def logical_and(x1: ArrayLike, x2: ArrayLike) -> jax.Array:
    """x1 and x2 (as booleans), elementwise."""
    return jnp.logical_and(convert_to_tensor(x1), convert_to_tensor(x2))


def logical_or(x1: ArrayLike, x2: ArrayLike) -> jax.Array:
    """x1 or x2 (as booleans), elementwise."""
    return jnp.logical_or(convert_to_tensor(x1), convert_to_tensor(x2))


def logical_not(x: ArrayLike) -> jax.Array:
    """not x (as a boolean), elementwise."""
    return jnp.logical_not(convert_to_tensor(x))

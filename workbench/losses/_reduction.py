"""How per-sample loss values become one number: sample weights, masks and reductions.

The rules are Keras 3's (`keras/src/losses/loss.py`), so a loss reduces to the
same value here as there: weights and masks are matched to the values' rank by
squeezing or adding one trailing axis, multiplied in, and the result is summed
and divided as `reduction` says.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def standardize_reduction(reduction: str | None) -> str | None:
    """`reduction` itself when it is one Keras 3 knows, else a ValueError listing them."""
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"Invalid reduction {reduction!r}. Expected one of "
            '"sum_over_batch_size" (the default), "sum", "mean", "mean_with_sample_weight", "none" or None.'
        )
    return reduction


def squeeze_or_expand_to_same_rank(
    x1: jax.Array, x2: jax.Array, expand_rank_1: bool = True
) -> tuple[jax.Array, jax.Array]:
    """Make two arrays whose ranks differ by one agree, by dropping or adding a trailing size-1 axis.

    `(8, 1)` against `(8,)` gives `(8, 1)` and `(8, 1)`: a rank-1 partner gets the axis added;
    `(8, 5, 1)` against `(8, 5)` gives `(8, 5)` twice. Any other pair is returned unchanged.
    """
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2:
        return x1, x2
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = jnp.expand_dims(x2, -1)
        else:
            x1 = jnp.squeeze(x1, -1)
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = jnp.expand_dims(x1, -1)
        else:
            x2 = jnp.squeeze(x2, -1)
    return x1, x2


def _divide_no_nan(x: jax.Array, y: jax.Array) -> jax.Array:
    safe_y = jnp.where(y == 0, 1, y)
    return jnp.where(y == 0, 0, x / safe_y)


def reduce_values(
    values: jax.Array, sample_weight: jax.Array | None = None, reduction: str | None = "sum_over_batch_size"
) -> jax.Array:
    """Sum `values` (already weighted), then divide as `reduction` says.

    Scalars and empty vectors come back as they are, as in Keras.
    """
    if reduction is None or reduction == "none" or values.shape in ((), (0,)):
        return values
    loss = jnp.sum(values)
    if reduction in ("sum_over_batch_size", "mean", "mean_with_sample_weight"):
        if reduction == "mean_with_sample_weight" and sample_weight is not None:
            divisor = jnp.sum(sample_weight).astype(loss.dtype)
        else:
            divisor = jnp.asarray(math.prod(values.shape), loss.dtype)
        loss = _divide_no_nan(loss, divisor)
    return loss


def apply_mask(
    sample_weight: jax.Array | None, mask: jax.Array | None, dtype: Any, reduction: str | None
) -> jax.Array | None:
    """Fold a boolean mask into the sample weights.

    For the mean-style reductions a valid entry weighs `total / valid`, so that dividing by the
    full size later averages over the valid entries only.
    """
    if mask is None:
        return sample_weight
    if reduction in ("mean", "sum_over_batch_size"):
        total = jnp.asarray(math.prod(mask.shape), dtype)
        valid = jnp.sum(mask.astype(dtype))  # may be 0
        float_mask = jnp.where(mask.astype(bool), _divide_no_nan(total, valid), 0).astype(dtype)
    else:
        float_mask = mask.astype(dtype)
    if sample_weight is None:
        return float_mask
    float_mask, sample_weight = squeeze_or_expand_to_same_rank(float_mask, sample_weight.astype(dtype))
    _check_broadcast(float_mask, sample_weight)
    return sample_weight * float_mask


def reduce_weighted_values(
    values: jax.Array,
    sample_weight: Any = None,
    mask: Any = None,
    reduction: str | None = "sum_over_batch_size",
    dtype: Any = None,
) -> jax.Array:
    """Weight per-sample loss `values` by `sample_weight` and `mask`, then reduce them.

    This is the last step of every `Loss.__call__`, exposed so a trainer can reduce values it
    computed itself exactly as a loss object would.

    >>> float(reduce_weighted_values(jnp.array([1.0, 3.0]), sample_weight=jnp.array([1.0, 0.0])))
    0.5
    """
    reduction = standardize_reduction(reduction)
    values = jnp.asarray(values, dtype=dtype)
    if sample_weight is not None:
        sample_weight = jnp.asarray(sample_weight, dtype=dtype)
    if mask is not None:
        mask = jnp.asarray(mask)
    sample_weight = apply_mask(sample_weight, mask, values.dtype, reduction)
    if sample_weight is not None:
        sample_weight = sample_weight.astype(values.dtype)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        _check_broadcast(values, sample_weight)
        values = values * sample_weight
    return reduce_values(values, sample_weight, reduction)


def _check_broadcast(values: jax.Array, sample_weight: jax.Array) -> None:
    try:
        jnp.broadcast_shapes(values.shape, sample_weight.shape)
    except ValueError:
        hint = ""
        if sample_weight.ndim == 1 and values.ndim > 1 and sample_weight.shape[0] == values.shape[0]:
            hint = f" To weight whole samples, pass sample_weight of shape {(sample_weight.shape[0], 1)}."
        raise ValueError(
            f"sample_weight of shape {tuple(sample_weight.shape)} does not broadcast against the "
            f"per-sample loss values of shape {tuple(values.shape)}: give one weight per sample "
            f"or one per loss value.{hint}"
        ) from None

"""Rearranging arrays: reshape, transpose, join and split, pad, flip and roll, sort; and
indexing: take, take_along_axis, slice, slice_update.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from workbench.ops._core import Axis, _check_axis, convert_to_tensor


def _differ_outside(a: Sequence[int], b: Sequence[int], skip: int) -> bool:
    return builtins.any(i != skip and da != db for i, (da, db) in enumerate(zip(a, b)))


# --------------------------------------------------------------------------- reshaping, joining & reordering


def reshape(x: ArrayLike, newshape: Sequence[int] | int) -> jax.Array:
    """`x` with shape `newshape` (one entry may be -1)."""
    x = convert_to_tensor(x)
    target = (newshape,) if isinstance(newshape, int) else tuple(newshape)
    known = math.prod(d for d in target if d != -1)
    n_unknown = target.count(-1)
    fits = x.size == known if n_unknown == 0 else (n_unknown == 1 and known > 0 and x.size % known == 0)
    if not fits and not (n_unknown == 1 and x.size == 0):
        raise ValueError(
            f"reshape cannot turn shape {x.shape} ({x.size} elements) into {target}: the new shape must hold "
            "the same number of elements, with at most one -1 standing for the rest."
        )
    return jnp.reshape(x, target)


def transpose(x: ArrayLike, axes: Sequence[int] | None = None) -> jax.Array:
    """`x` with its axes permuted (reversed when `axes` is None)."""
    x = convert_to_tensor(x)
    if axes is not None and sorted(a + x.ndim if a < 0 else a for a in axes) != list(range(x.ndim)):
        raise ValueError(
            f"transpose expects axes to be a permutation of range({x.ndim}) for shape {x.shape}; "
            f"got axes={axes}."
        )
    return jnp.transpose(x, axes)


def expand_dims(x: ArrayLike, axis: int | Sequence[int]) -> jax.Array:
    """`x` with new size-1 axes inserted at `axis`."""
    return jnp.expand_dims(convert_to_tensor(x), axis)


def squeeze(x: ArrayLike, axis: Axis = None) -> jax.Array:
    """`x` with size-1 axes removed (all of them, or those in `axis`)."""
    x = convert_to_tensor(x)
    if axis is not None:
        for a in (axis,) if isinstance(axis, int) else axis:
            if not -x.ndim <= a < x.ndim or x.shape[a] != 1:
                got = x.shape[a] if -x.ndim <= a < x.ndim else "out of range"
                raise ValueError(
                    f"squeeze can only remove axes of size 1; axis {a} of shape {x.shape} is {got}."
                )
    return jnp.squeeze(x, axis=axis)


def broadcast_to(x: ArrayLike, shape: Sequence[int]) -> jax.Array:
    """`x` broadcast to `shape`."""
    return jnp.broadcast_to(convert_to_tensor(x), shape)


def concatenate(xs: Sequence[ArrayLike], axis: int = 0) -> jax.Array:
    """The arrays in `xs` joined along an existing `axis`."""
    xs = [convert_to_tensor(x) for x in xs]
    if not xs:
        raise ValueError("concatenate expects a non-empty list of arrays; got an empty list.")
    first = xs[0]
    _check_axis(first, axis, "concatenate")
    for i, x in enumerate(xs[1:], start=1):
        if x.ndim != first.ndim or _differ_outside(x.shape, first.shape, axis % first.ndim):
            raise ValueError(
                f"concatenate expects all shapes to match except along axis {axis}; "
                f"xs[0].shape={first.shape} but xs[{i}].shape={x.shape}."
            )
    return jnp.concatenate(xs, axis=axis)


def stack(x: Sequence[ArrayLike], axis: int = 0) -> jax.Array:
    """The arrays in `x` (all the same shape) joined along a new `axis`."""
    xs = [convert_to_tensor(t) for t in x]
    if not xs:
        raise ValueError("stack expects a non-empty list of arrays; got an empty list.")
    shapes = {t.shape for t in xs}
    if len(shapes) > 1:
        raise ValueError(f"stack expects arrays of one shape; got shapes {[t.shape for t in xs]}.")
    return jnp.stack(xs, axis=axis)


def split(x: ArrayLike, indices_or_sections: int | Sequence[int], axis: int = 0) -> list[jax.Array]:
    """`x` cut along `axis` into equal sections, or at the given indices."""
    x = convert_to_tensor(x)
    if isinstance(indices_or_sections, int) and x.shape[axis] % indices_or_sections:
        raise ValueError(
            f"split cannot cut axis {axis} of shape {x.shape} (length {x.shape[axis]}) into "
            f"{indices_or_sections} equal sections; pass a divisor of {x.shape[axis]} or a list of indices."
        )
    return jnp.split(x, indices_or_sections, axis=axis)


def tile(x: ArrayLike, repeats: int | Sequence[int]) -> jax.Array:
    """`x` repeated `repeats` times along each axis."""
    return jnp.tile(convert_to_tensor(x), repeats)


def repeat(x: ArrayLike, repeats: int | ArrayLike, axis: int | None = None) -> jax.Array:
    """Each element of `x` repeated `repeats` times (flattened if `axis` is None)."""
    return jnp.repeat(convert_to_tensor(x), repeats, axis=axis)


_PAD_MODES = (
    "constant",
    "edge",
    "linear_ramp",
    "maximum",
    "mean",
    "median",
    "minimum",
    "reflect",
    "symmetric",
    "wrap",
)


def pad(
    x: ArrayLike, pad_width: Any, mode: str = "constant", constant_values: ArrayLike | None = None
) -> jax.Array:
    """`x` padded by `pad_width` ((before, after) per axis, or one pair/int for all)."""
    x = convert_to_tensor(x)
    if mode not in _PAD_MODES:
        raise ValueError(f"pad expects mode to be one of {_PAD_MODES}; got mode={mode!r}.")
    if constant_values is not None and mode != "constant":
        raise ValueError(f"pad: constant_values only applies to mode='constant'; got mode={mode!r}.")
    widths = np.asarray(pad_width)
    if widths.ndim == 2 and widths.shape[0] not in (1, x.ndim):
        raise ValueError(
            f"pad expects one (before, after) pair per axis of x (shape {x.shape}, {x.ndim} axes); "
            f"got {widths.shape[0]} pairs: pad_width={pad_width}."
        )
    kwargs = {} if constant_values is None else {"constant_values": constant_values}
    return jnp.pad(x, pad_width, mode=mode, **kwargs)


def flip(x: ArrayLike, axis: Axis = None) -> jax.Array:
    """`x` with the order of elements reversed along `axis` (all axes if None)."""
    return jnp.flip(convert_to_tensor(x), axis=axis)


def roll(x: ArrayLike, shift: int | Sequence[int], axis: Axis = None) -> jax.Array:
    """`x` with elements shifted cyclically by `shift` along `axis`."""
    return jnp.roll(convert_to_tensor(x), shift, axis=axis)


def swapaxes(x: ArrayLike, axis1: int, axis2: int) -> jax.Array:
    """`x` with two axes interchanged."""
    return jnp.swapaxes(convert_to_tensor(x), axis1, axis2)


def moveaxis(x: ArrayLike, source: int | Sequence[int], destination: int | Sequence[int]) -> jax.Array:
    """`x` with axes moved from `source` to `destination`."""
    return jnp.moveaxis(convert_to_tensor(x), source, destination)


def ravel(x: ArrayLike) -> jax.Array:
    """`x` flattened to one axis."""
    return jnp.ravel(convert_to_tensor(x))


# --------------------------------------------------------------------------- sorting


def sort(x: ArrayLike, axis: int = -1) -> jax.Array:
    """`x` sorted ascending along `axis`."""
    return jnp.sort(convert_to_tensor(x), axis=axis)


def argsort(x: ArrayLike, axis: int = -1) -> jax.Array:
    """The indices that would sort `x` ascending along `axis`."""
    x = convert_to_tensor(x)
    return jnp.argsort(x, axis=None if x.ndim == 0 else axis)


# --------------------------------------------------------------------------- indexing


def take(x: ArrayLike, indices: ArrayLike, axis: int | None = None) -> jax.Array:
    """Elements of `x` at `indices` along `axis` (of the flattened array if None)."""
    return jnp.take(convert_to_tensor(x), convert_to_tensor(indices), axis=axis)


def take_along_axis(x: ArrayLike, indices: ArrayLike, axis: int | None = None) -> jax.Array:
    """Elements of `x` picked by an index array of matching rank along `axis`."""
    return jnp.take_along_axis(convert_to_tensor(x), convert_to_tensor(indices), axis=axis)


def slice(inputs: ArrayLike, start_indices: Sequence[int] | ArrayLike, shape: Sequence[int]) -> jax.Array:
    """The block of `inputs` of size `shape` starting at `start_indices` (-1 in shape: to the end)."""
    inputs = convert_to_tensor(inputs)
    if len(start_indices) != inputs.ndim or len(shape) != inputs.ndim:
        raise ValueError(
            f"slice expects one start index and one size per axis of inputs (shape {inputs.shape}); "
            f"got start_indices={start_indices}, shape={shape}."
        )
    sizes = tuple(inputs.shape[i] - start_indices[i] if s == -1 else s for i, s in enumerate(shape))
    return jax.lax.dynamic_slice(inputs, start_indices, sizes)


def slice_update(
    inputs: ArrayLike, start_indices: Sequence[int] | ArrayLike, updates: ArrayLike
) -> jax.Array:
    """`inputs` with the block at `start_indices` replaced by `updates`."""
    inputs, updates = convert_to_tensor(inputs), convert_to_tensor(updates)
    if updates.ndim != inputs.ndim or len(start_indices) != inputs.ndim:
        raise ValueError(
            f"slice_update expects updates and start_indices with one entry per axis of inputs "
            f"(shape {inputs.shape}); got updates.shape={updates.shape}, start_indices={start_indices}."
        )
    return jax.lax.dynamic_update_slice(inputs, updates.astype(inputs.dtype), start_indices)


def dynamic_update_slice(
    operand: ArrayLike, update: ArrayLike, start_indices: Sequence[int] | ArrayLike
) -> jax.Array:
    """`slice_update` with `jax.lax.dynamic_update_slice`'s argument order (operand, update, start)."""
    return slice_update(operand, start_indices, update)

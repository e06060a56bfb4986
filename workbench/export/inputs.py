"""Checking call inputs against a signature: names, dtypes and shapes, with errors that say which input and why."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from workbench.export.specs import TensorSpec


class InputError(ValueError):
    """Inputs that do not match a signature: a missing or unknown name, a wrong dtype or shape."""


def gather(specs: list[TensorSpec], args: tuple, kwargs: dict, signature: str) -> dict:
    """Positional and keyword arguments as {input name: value}, refusing missing, extra and repeated ones."""
    names = [s.name for s in specs]
    if len(args) == 1 and not kwargs and isinstance(args[0], dict) and len(specs) > 1:
        args, kwargs = (), dict(args[0])
    if len(args) > len(names):
        raise InputError(f"Signature '{signature}' takes {len(names)} input(s) {names}; got {len(args)} positional.")
    given = dict(zip(names, args))
    for key, value in kwargs.items():
        if key in given:
            raise InputError(f"Signature '{signature}': input '{key}' given both by position and by name.")
        given[key] = value
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise InputError(f"Signature '{signature}' has no input(s) {unknown}; its inputs are {names}.")
    missing = [n for n in names if n not in given]
    if missing:
        raise InputError(f"Signature '{signature}' is missing input(s) {missing}; its inputs are {names}.")
    return given


def _as_array(value, spec: TensorSpec, signature: str):
    if isinstance(value, (jax.Array, np.ndarray)):
        return value
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as e:
        raise InputError(
            f"Signature '{signature}', input '{spec.name}': expected a {spec.dtype} array of shape "
            f"{_shape_text(spec.shape)}, got a value NumPy cannot read as an array ({e})."
        ) from None
    if array.dtype == object:
        raise InputError(
            f"Signature '{signature}', input '{spec.name}': expected a {spec.dtype} array of shape "
            f"{_shape_text(spec.shape)}, got ragged or non-numeric data."
        )
    return array


def _shape_text(shape) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


@functools.cache
def _dtype(name: str) -> np.dtype:
    return jnp.dtype(name)  # slow enough to matter per call, hence cached


def _cast(array, spec: TensorSpec, signature: str):
    want = _dtype(spec.dtype)
    have = array.dtype
    if have == want:
        return array
    # Python numbers arrive as float64/int64 and lists of bools as bool: widen or narrow within a kind.
    if np.can_cast(have, want, casting="same_kind") or (have.kind in "biu" and want.kind in "iuf"):
        if isinstance(array, jax.Array):
            return array.astype(want)
        _check_range(array, want, spec, signature)
        return np.asarray(array, dtype=want)
    raise InputError(
        f"Signature '{signature}', input '{spec.name}': expected dtype {spec.dtype}, got {have.name}; "
        f"{have.name} values do not convert to {spec.dtype} without losing their meaning."
    )


def _check_range(array: np.ndarray, want: np.dtype, spec: TensorSpec, signature: str) -> None:
    """Refuse values a narrower dtype cannot hold, instead of wrapping integers or turning floats into inf."""
    if array.size == 0 or array.dtype.kind == "b" or want.itemsize >= array.dtype.itemsize and want.kind == "f":
        return
    info = np.iinfo(want) if want.kind in "iu" else np.finfo(want)
    finite = array[np.isfinite(array)] if array.dtype.kind == "f" else array
    if finite.size == 0:
        return
    low, high = finite.min(), finite.max()
    if low < info.min or high > info.max:
        raise InputError(
            f"Signature '{signature}', input '{spec.name}': values from {low} to {high} do not fit {spec.dtype} "
            f"(range {info.min} to {info.max})."
        )


def validate(specs: list[TensorSpec], given: dict, signature: str) -> dict:
    """`given` as arrays of the signature's dtypes, after checking ranks, fixed sizes and shared sizes."""
    sizes: dict[str, tuple[int, str]] = {}
    out = {}
    for spec in specs:
        array = _cast(_as_array(given[spec.name], spec, signature), spec, signature)
        shape = tuple(array.shape)
        if len(shape) != len(spec.shape):
            raise InputError(
                f"Signature '{signature}', input '{spec.name}': expected rank {len(spec.shape)} "
                f"{_shape_text(spec.shape)}, got shape {shape} (rank {len(shape)})."
            )
        for axis, (want, have) in enumerate(zip(spec.shape, shape)):
            if isinstance(want, int):
                if want != have:
                    raise InputError(
                        f"Signature '{signature}', input '{spec.name}': expected shape {_shape_text(spec.shape)}, "
                        f"got {shape} (axis {axis} must be {want})."
                    )
                continue
            if have < 1:
                raise InputError(
                    f"Signature '{signature}', input '{spec.name}': axis {axis} ({want or 'free'}) has size 0; "
                    "exported programs take sizes of at least 1."
                )
            if isinstance(want, str):
                seen = sizes.setdefault(want, (have, spec.name))
                if seen[0] != have:
                    raise InputError(
                        f"Signature '{signature}': '{want}' is {seen[0]} in input '{seen[1]}' but {have} in "
                        f"input '{spec.name}' (axis {axis}); they must agree."
                    )
        out[spec.name] = array
    return out

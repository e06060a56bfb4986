"""Array operations named and shaped like `keras.ops`, written directly over JAX.

Every function takes the arguments `keras.ops.<name>` takes, with the same
defaults, and returns a `jax.Array`, so code written against Keras reads the
same here. They are thin: most are one call into `jax.numpy`, `jax.nn` or
`jax.lax`, and all of them can be used under `jax.jit`, `jax.grad` and
`jax.vmap`.

>>> from workbench import ops
>>> ops.softmax(ops.convert_to_tensor([1.0, 2.0, 3.0])).shape
(3,)
"""

from __future__ import annotations

import builtins
import functools
import inspect
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from workbench import config
from workbench.core import symbolic as _symbolic

Axis = int | Sequence[int] | None
DType = Any  # a dtype name ('float32'), a NumPy/JAX dtype, or a Python type (float, int, bool)

# Python types map as Keras maps them on the JAX backend (x64 is off, so int -> int32).
_PYTHON_DTYPES = {bool: "bool", int: "int32", float: "float32", complex: "complex64", "int": "int32"}


# --------------------------------------------------------------------------- conversion & dtypes


def _unwrap(x: Any) -> Any:
    # Variables carry their array as `.value` (Keras' convention) or via `__jax_array__`.
    if isinstance(x, (jax.Array, np.ndarray, np.generic)):
        return x
    if hasattr(x, "__jax_array__"):
        return x.__jax_array__()
    value = getattr(x, "value", None)
    if isinstance(value, jax.Array):
        return value
    return x


def _check_axis(x: jax.Array, axis: Axis, fn: str) -> None:
    for a in (axis,) if isinstance(axis, int) else (axis or ()):
        if not -x.ndim <= a < x.ndim:
            raise ValueError(
                f"{fn} got axis={axis}, out of range for an input of shape {x.shape} ({x.ndim} axes)."
            )


def _differ_outside(a: Sequence[int], b: Sequence[int], skip: int) -> bool:
    return builtins.any(i != skip and da != db for i, (da, db) in enumerate(zip(a, b)))


def standardize_dtype(dtype: DType) -> str:
    """The canonical dtype name for `dtype`; None means `config.floatx()`."""
    if dtype is None:
        return config.floatx()
    try:
        dtype = _PYTHON_DTYPES.get(dtype, dtype)
    except TypeError:  # unhashable
        pass
    try:
        return jnp.dtype(dtype).name
    except TypeError as e:
        raise ValueError(
            f"Unknown dtype {dtype!r}: expected a dtype name such as 'float32', 'bfloat16', 'int32' "
            "or 'bool', a NumPy/JAX dtype, or a Python type (float, int, bool)."
        ) from e


def dtype(x: ArrayLike) -> str:
    """The standardized dtype name of `x` (e.g. 'float32')."""
    return standardize_dtype(convert_to_tensor(x).dtype)


def result_type(*dtypes: DType) -> str:
    """The dtype name that mixing arrays of `dtypes` promotes to (JAX's promotion lattice)."""
    if not dtypes:
        return config.floatx()
    return jnp.result_type(
        *(_PYTHON_DTYPES.get(d, d) if isinstance(d, (type, str)) else d for d in dtypes)
    ).name


def is_float_dtype(dtype: DType) -> bool:
    """Whether `dtype` is a floating-point dtype (float16/bfloat16/float32/float64/float8)."""
    return bool(jnp.issubdtype(jnp.dtype(standardize_dtype(dtype)), jnp.floating))


def is_int_dtype(dtype: DType) -> bool:
    """Whether `dtype` is a signed or unsigned integer dtype."""
    return bool(jnp.issubdtype(jnp.dtype(standardize_dtype(dtype)), jnp.integer))


def convert_to_tensor(
    x: Any, dtype: DType = None, sparse: bool | None = None, ragged: bool | None = None
) -> jax.Array:
    """`x` (array, NumPy array, Python scalar/list, or Variable) as a `jax.Array`."""
    if sparse:
        raise ValueError(
            "convert_to_tensor(sparse=True) is not supported: workbench arrays are always dense."
        )
    if ragged:
        raise ValueError("convert_to_tensor(ragged=True) is not supported: workbench has no ragged arrays.")
    if dtype is not None:
        dtype = standardize_dtype(dtype)
    x = _unwrap(x)
    if isinstance(x, jax.Array) and (dtype is None or x.dtype == dtype):
        return x
    if dtype == "bfloat16" and not isinstance(x, jax.Array):
        return jnp.asarray(x).astype(dtype)
    return jnp.asarray(x, dtype=dtype)


def convert_to_numpy(x: Any) -> np.ndarray:
    """`x` copied to a NumPy array on the host."""
    return np.array(_unwrap(x))


def is_tensor(x: Any) -> bool:
    """Whether `x` is a `jax.Array` (including tracers inside `jit`)."""
    return isinstance(x, jax.Array)


def cast(x: ArrayLike, dtype: DType) -> jax.Array:
    """`x` converted to `dtype`."""
    return convert_to_tensor(x, dtype=standardize_dtype(dtype))


# --------------------------------------------------------------------------- creation


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


# --------------------------------------------------------------------------- shapes


def shape(x: ArrayLike) -> tuple[int, ...]:
    """The static shape of `x` as a tuple of ints (None for unknown dims of a symbolic input)."""
    if isinstance(x, _symbolic.KerasTensor):
        return x.shape
    return tuple(convert_to_tensor(x).shape)


def ndim(x: ArrayLike) -> int:
    """The number of axes of `x`."""
    if isinstance(x, _symbolic.KerasTensor):
        return x.ndim
    return convert_to_tensor(x).ndim


def size(x: ArrayLike) -> int:
    """The number of elements of `x`."""
    return convert_to_tensor(x).size


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


# --------------------------------------------------------------------------- elementwise math


def _float_input(x: ArrayLike) -> jax.Array:
    # Keras computes transcendental functions of int64/int inputs in floatx.
    x = convert_to_tensor(x)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        x = x.astype(config.floatx())
    return x


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


# --------------------------------------------------------------------------- reductions


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


def moments(
    x: ArrayLike, axes: Sequence[int] | int, keepdims: bool = False, synchronized: bool = False
) -> tuple[jax.Array, jax.Array]:
    """(mean, variance) of `x` over `axes`; half precision is computed in float32."""
    if synchronized:
        raise NotImplementedError(
            "moments(synchronized=True) needs a multi-device strategy; workbench has none."
        )
    x = convert_to_tensor(x)
    original = x.dtype
    half = original in (jnp.float16, jnp.bfloat16)
    if half:
        x = x.astype("float32")
    axes = tuple(axes) if isinstance(axes, (list, tuple)) else axes
    m = jnp.mean(x, axis=axes, keepdims=keepdims)
    v = jnp.var(x, axis=axes, keepdims=keepdims)
    if half:
        big = jnp.finfo(jnp.float16).max  # keep values representable, as Keras does
        m, v = jnp.clip(m, -big, big).astype(original), jnp.clip(v, -big, big).astype(original)
    return m, v


# --------------------------------------------------------------------------- sorting


def sort(x: ArrayLike, axis: int = -1) -> jax.Array:
    """`x` sorted ascending along `axis`."""
    return jnp.sort(convert_to_tensor(x), axis=axis)


def argsort(x: ArrayLike, axis: int = -1) -> jax.Array:
    """The indices that would sort `x` ascending along `axis`."""
    x = convert_to_tensor(x)
    return jnp.argsort(x, axis=None if x.ndim == 0 else axis)


def top_k(x: ArrayLike, k: int, sorted: bool = True) -> tuple[jax.Array, jax.Array]:
    """(values, indices) of the `k` largest entries along the last axis, largest first."""
    x = convert_to_tensor(x)
    if x.ndim == 0 or not 0 <= k <= x.shape[-1]:
        raise ValueError(
            "top_k expects 0 <= k <= x.shape[-1] on an array with at least one axis; "
            f"got k={k} for shape {x.shape}."
        )
    return jax.lax.top_k(x, k)


def in_top_k(targets: ArrayLike, predictions: ArrayLike, k: int) -> jax.Array:
    """Whether each target's prediction ranks within the top `k` (ties count in its favour)."""
    targets, predictions = convert_to_tensor(targets), convert_to_tensor(predictions)
    at_label = jnp.take_along_axis(predictions, targets[..., None].astype("int32"), axis=-1)
    at_label = jnp.where(jnp.isnan(at_label), -jnp.inf, at_label)
    rank = 1 + jnp.sum(predictions > at_label, axis=-1)
    return rank <= k


# --------------------------------------------------------------------------- linear algebra


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


# --------------------------------------------------------------------------- indexing


def take(x: ArrayLike, indices: ArrayLike, axis: int | None = None) -> jax.Array:
    """Elements of `x` at `indices` along `axis` (of the flattened array if None)."""
    return jnp.take(convert_to_tensor(x), convert_to_tensor(indices), axis=axis)


def take_along_axis(x: ArrayLike, indices: ArrayLike, axis: int | None = None) -> jax.Array:
    """Elements of `x` picked by an index array of matching rank along `axis`."""
    return jnp.take_along_axis(convert_to_tensor(x), convert_to_tensor(indices), axis=axis)


def one_hot(
    x: ArrayLike, num_classes: int, axis: int = -1, dtype: DType = None, sparse: bool = False
) -> jax.Array:
    """Integer labels `x` as one-hot vectors of length `num_classes` (floatx by default)."""
    if sparse:
        raise ValueError("one_hot(sparse=True) is not supported: workbench arrays are always dense.")
    if not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"one_hot expects num_classes to be a positive int; got {num_classes!r}.")
    return jax.nn.one_hot(convert_to_tensor(x), int(num_classes), axis=axis, dtype=standardize_dtype(dtype))


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


# --------------------------------------------------------------------------- neural-network functions


def relu(x: ArrayLike) -> jax.Array:
    """max(x, 0)."""
    return jax.nn.relu(convert_to_tensor(x))


def relu6(x: ArrayLike) -> jax.Array:
    """min(max(x, 0), 6)."""
    return jax.nn.relu6(convert_to_tensor(x))


def sigmoid(x: ArrayLike) -> jax.Array:
    """1 / (1 + exp(-x))."""
    return jax.nn.sigmoid(convert_to_tensor(x))


def tanh(x: ArrayLike) -> jax.Array:
    """The hyperbolic tangent of x."""
    return jnp.tanh(_float_input(x))


def softplus(x: ArrayLike) -> jax.Array:
    """log(1 + exp(x)), computed stably."""
    return jax.nn.softplus(convert_to_tensor(x))


def softsign(x: ArrayLike) -> jax.Array:
    """x / (|x| + 1)."""
    return jax.nn.soft_sign(convert_to_tensor(x))


def silu(x: ArrayLike) -> jax.Array:
    """x * sigmoid(x) (also called swish)."""
    return jax.nn.silu(convert_to_tensor(x))


swish = silu


def log_sigmoid(x: ArrayLike) -> jax.Array:
    """log(sigmoid(x)), computed stably."""
    return jax.nn.log_sigmoid(convert_to_tensor(x))


def leaky_relu(x: ArrayLike, negative_slope: float = 0.2) -> jax.Array:
    """x for x >= 0, negative_slope * x otherwise."""
    return jax.nn.leaky_relu(convert_to_tensor(x), negative_slope=negative_slope)


def hard_sigmoid(x: ArrayLike) -> jax.Array:
    """relu6(x + 3) / 6, a piecewise-linear sigmoid."""
    return jax.nn.hard_sigmoid(convert_to_tensor(x))


def hard_silu(x: ArrayLike) -> jax.Array:
    """x * hard_sigmoid(x) (also called hard_swish)."""
    return jax.nn.hard_silu(convert_to_tensor(x))


hard_swish = hard_silu


def elu(x: ArrayLike, alpha: float = 1.0) -> jax.Array:
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return jax.nn.elu(convert_to_tensor(x), alpha=alpha)


def selu(x: ArrayLike) -> jax.Array:
    """Scaled ELU with the self-normalizing constants (alpha=1.6733, scale=1.0507)."""
    return jax.nn.selu(convert_to_tensor(x))


def gelu(x: ArrayLike, approximate: bool = True) -> jax.Array:
    """Gaussian error linear unit; the tanh approximation by default, as `keras.ops.gelu`."""
    return jax.nn.gelu(convert_to_tensor(x), approximate=approximate)


def celu(x: ArrayLike, alpha: float = 1.0) -> jax.Array:
    """x for x >= 0, alpha * (exp(x / alpha) - 1) otherwise."""
    return jax.nn.celu(convert_to_tensor(x), alpha=alpha)


def glu(x: ArrayLike, axis: int = -1) -> jax.Array:
    """a * sigmoid(b), where a and b are the two halves of x along `axis`."""
    x = convert_to_tensor(x)
    _check_axis(x, axis, "glu")
    if x.shape[axis] % 2:
        raise ValueError(f"glu splits axis {axis} in half, so it must have even length; got shape {x.shape}.")
    return jax.nn.glu(x, axis=axis)


def _warn_if_size_one(x: jax.Array, axis: Axis, fn: str) -> None:
    if isinstance(axis, int) and x.shape[axis] == 1:
        warnings.warn(
            f"{fn} over axis {axis} of shape {x.shape} always returns {'1' if fn == 'softmax' else '0'}: "
            "that axis has size 1. Did you mean sigmoid?",
            stacklevel=3,
        )


def softmax(x: ArrayLike, axis: Axis = -1) -> jax.Array:
    """exp(x) / sum(exp(x)) along `axis` (an int or a tuple of ints)."""
    x = convert_to_tensor(x)
    _check_axis(x, axis, "softmax")
    _warn_if_size_one(x, axis, "softmax")
    return jax.nn.softmax(x, axis=axis)


def log_softmax(x: ArrayLike, axis: Axis = -1) -> jax.Array:
    """x - logsumexp(x) along `axis` (an int or a tuple of ints)."""
    x = convert_to_tensor(x)
    _check_axis(x, axis, "log_softmax")
    _warn_if_size_one(x, axis, "log_softmax")
    return jax.nn.log_softmax(x, axis=axis)


def binary_crossentropy(target: ArrayLike, output: ArrayLike, from_logits: bool = False) -> jax.Array:
    """Elementwise binary cross-entropy between targets in [0, 1] and probabilities (or logits)."""
    target, output = convert_to_tensor(target), convert_to_tensor(output)
    if target.shape != output.shape:
        raise ValueError(
            f"binary_crossentropy expects target and output of one shape; "
            f"got target.shape={target.shape}, output.shape={output.shape}."
        )
    if from_logits:
        return -target * jax.nn.log_sigmoid(output) - (1.0 - target) * jax.nn.log_sigmoid(-output)
    eps = config.epsilon()
    output = jnp.clip(output, eps, 1.0 - eps)
    return -(target * jnp.log(output) + (1.0 - target) * jnp.log(1.0 - output))


def _log_probs(output: jax.Array, from_logits: bool, axis: int) -> jax.Array:
    if from_logits:
        return jax.nn.log_softmax(output, axis=axis)
    # Keras renormalizes probabilities and clips them away from 0 and 1 before the log.
    eps = config.epsilon()
    output = output / jnp.sum(output, axis, keepdims=True)
    return jnp.log(jnp.clip(output, eps, 1.0 - eps))


def categorical_crossentropy(
    target: ArrayLike, output: ArrayLike, from_logits: bool = False, axis: int = -1
) -> jax.Array:
    """Cross-entropy between one-hot (or soft) targets and probabilities (or logits) along `axis`."""
    target, output = convert_to_tensor(target), convert_to_tensor(output)
    if target.shape != output.shape or target.ndim < 1:
        raise ValueError(
            "categorical_crossentropy expects target and output of one shape with at least one axis; "
            f"got target.shape={target.shape}, output.shape={output.shape}. "
            "For integer labels use sparse_categorical_crossentropy."
        )
    return -jnp.sum(target * _log_probs(output, from_logits, axis), axis=axis)


def sparse_categorical_crossentropy(
    target: ArrayLike, output: ArrayLike, from_logits: bool = False, axis: int = -1
) -> jax.Array:
    """Cross-entropy between integer class labels and probabilities (or logits) along `axis`."""
    target, output = convert_to_tensor(target, dtype="int32"), convert_to_tensor(output)
    if target.ndim == output.ndim and target.ndim > 0 and target.shape[-1] == 1:
        target = jnp.squeeze(target, axis=-1)
    if output.ndim < 1 or target.shape != output.shape[:-1]:
        raise ValueError(
            "sparse_categorical_crossentropy expects integer labels shaped like output without its last "
            f"(class) axis; got target.shape={target.shape}, output.shape={output.shape}. "
            "For one-hot targets use categorical_crossentropy."
        )
    log_probs = _log_probs(output, from_logits, axis)
    labels = jax.nn.one_hot(target, output.shape[axis], axis=axis)
    return -jnp.sum(labels * log_probs, axis=axis)


# --------------------------------------------------------------------------- control flow & gradients


def cond(pred: ArrayLike, true_fn: Callable[[], Any], false_fn: Callable[[], Any]) -> Any:
    """true_fn() if pred else false_fn(), traceable under `jit` (both must return the same structure)."""
    return jax.lax.cond(pred, true_fn, false_fn)


def scan(
    f: Callable[[Any, Any], tuple[Any, Any]],
    init: Any,
    xs: Any = None,
    length: int | None = None,
    reverse: bool = False,
    unroll: int | bool = 1,
) -> tuple[Any, Any]:
    """Loop carry, y = f(carry, x) over the leading axis of xs; returns (final carry, stacked ys)."""
    if not isinstance(unroll, bool) and (not isinstance(unroll, int) or unroll < 1):
        raise ValueError(f"scan expects unroll to be a positive int or a bool; got unroll={unroll!r}.")
    return jax.lax.scan(f, init, xs=xs, length=length, reverse=reverse, unroll=unroll)


def fori_loop(lower: int, upper: int, body_fun: Callable[[Any, Any], Any], init_val: Any) -> Any:
    """val = body_fun(i, val) for i in range(lower, upper); returns the final val."""
    return jax.lax.fori_loop(lower, upper, body_fun, init_val)


def while_loop(
    cond: Callable[..., Any], body: Callable[..., Any], loop_vars: Any, maximum_iterations: int | None = None
) -> Any:
    """loop_vars = body(*loop_vars) while cond(*loop_vars), stopping after maximum_iterations if given."""
    is_tuple = isinstance(loop_vars, (tuple, list))
    state = tuple(loop_vars) if is_tuple else (loop_vars,)

    def as_tuple(out: Any) -> tuple:
        return tuple(out) if is_tuple else (out,)

    if maximum_iterations is None:
        out = jax.lax.while_loop(lambda s: cond(*s), lambda s: as_tuple(body(*s)), state)
    else:
        # Carry an iteration counter alongside the user's variables.
        out = jax.lax.while_loop(
            lambda s: jnp.logical_and(cond(*s[:-1]), s[-1] < maximum_iterations),
            lambda s: as_tuple(body(*s[:-1])) + (s[-1] + 1,),
            state + (0,),
        )[:-1]
    return out if is_tuple else out[0]


def stop_gradient(variable: ArrayLike) -> jax.Array:
    """`variable` unchanged, but treated as a constant by `jax.grad`."""
    return jax.lax.stop_gradient(convert_to_tensor(variable))


# --------------------------------------------------------------------------- symbolic tensors
# On functional-API tensors (from `workbench.Input`) an op records a graph node instead of
# computing, so `ops.mean(x, axis=1)` works while building a model and serialises by name.
_NOT_SYMBOLIC = {
    "standardize_dtype", "dtype", "result_type", "convert_to_numpy", "is_tensor", "shape", "ndim", "size",
    "cond", "scan", "fori_loop", "while_loop",
}


def _symbolic_aware(fn: Callable) -> Callable:
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if _symbolic.any_symbolic((args, kwargs)):
            from workbench.core.op_layer import symbolic_op

            return symbolic_op(fn.__name__, *args, **kwargs)
        return fn(*args, **kwargs)

    return wrapper


def _install_symbolic_dispatch() -> None:
    namespace = globals()
    wrapped: dict[int, Callable] = {}  # aliases (swish = silu) keep sharing one function
    for name, fn in list(namespace.items()):
        if (
            not name.startswith("_")
            and name not in _NOT_SYMBOLIC
            and inspect.isfunction(fn)
            and fn.__module__ == __name__
        ):
            if id(fn) not in wrapped:
                wrapped[id(fn)] = _symbolic_aware(fn)
            namespace[name] = wrapped[id(fn)]


_install_symbolic_dispatch()

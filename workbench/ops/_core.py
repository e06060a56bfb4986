"""Dtypes, conversion to `jax.Array`, shape queries, control flow and `stop_gradient`.

Every other op module builds on these: `convert_to_tensor` turns what a user passes
(a list, a NumPy array, a Variable) into a `jax.Array`, and `standardize_dtype` gives
the one dtype name Keras would use.
"""

from __future__ import annotations

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


def _float_input(x: ArrayLike) -> jax.Array:
    # Keras computes transcendental functions of int64/int inputs in floatx.
    x = convert_to_tensor(x)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        x = x.astype(config.floatx())
    return x


# --------------------------------------------------------------------------- shape queries


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

"""Variable: a named, mutable array owned by a layer.

Reads go through `value`. Inside a `StatelessScope` (which `stateless_call`
opens) reads return the scope's array and writes land in the scope, so the
same layer code runs as a pure function under `jax.jit` and `jax.grad`.
"""

from __future__ import annotations

import contextlib
import threading

import jax
import jax.numpy as jnp
import numpy as np

_state = threading.local()


class StatelessScope:
    """Maps variables to the arrays they hold for the duration of one pure call."""

    def __init__(self, values: dict[int, jax.Array]):
        self.values = dict(values)
        self.updates: dict[int, jax.Array] = {}

    def read(self, var: Variable):
        key = id(var)
        if key in self.updates:
            return self.updates[key]
        return self.values.get(key)

    def write(self, var: Variable, value) -> None:
        self.updates[id(var)] = value


@contextlib.contextmanager
def stateless_scope(values: dict[int, jax.Array]):
    """Open a scope in which variable reads/writes use `values` (keyed by id(variable))."""
    stack = getattr(_state, "scopes", None)
    if stack is None:
        stack = _state.scopes = []
    scope = StatelessScope(values)
    stack.append(scope)
    try:
        yield scope
    finally:
        stack.pop()


def current_stateless_scope() -> StatelessScope | None:
    stack = getattr(_state, "scopes", None)
    return stack[-1] if stack else None


@contextlib.contextmanager
def autocast_scope(dtype):
    """Float variables read inside this block are cast to `dtype` (mixed precision)."""
    prev = getattr(_state, "autocast", None)
    _state.autocast = None if dtype is None else jnp.dtype(dtype)
    try:
        yield
    finally:
        _state.autocast = prev


def _autocast_dtype():
    return getattr(_state, "autocast", None)


class Variable:
    """A layer weight. `value` is a jax.Array; `assign` replaces it (same shape)."""

    def __init__(
        self,
        value,
        *,
        name: str = "variable",
        trainable: bool = True,
        dtype=None,
        autocast: bool = True,
    ):
        arr = jnp.asarray(value, dtype=dtype)
        self._value = arr
        self.name = name
        self.path = name
        self.trainable = bool(trainable)
        self.autocast = autocast
        self._layer_trainable = True  # owning layer's `trainable` flag, set by the layer

    # -- value ---------------------------------------------------------------
    @property
    def value(self) -> jax.Array:
        scope = current_stateless_scope()
        v = None
        if scope is not None:
            v = scope.read(self)
        if v is None:
            v = self._value
        target = _autocast_dtype()
        if (
            target is not None
            and self.autocast
            and jnp.issubdtype(v.dtype, jnp.floating)
            and v.dtype != target
        ):
            v = v.astype(target)
        return v

    def assign(self, value) -> Variable:
        value = jnp.asarray(value)
        if tuple(value.shape) != self.shape:
            raise ValueError(
                f"Cannot assign to variable '{self.path}': expected shape {self.shape}, "
                f"got {tuple(value.shape)}."
            )
        value = value.astype(self.dtype)
        scope = current_stateless_scope()
        if scope is not None and id(self) in scope.values:
            scope.write(self, value)
        else:
            if isinstance(value, jax.core.Tracer):
                raise RuntimeError(
                    f"Variable '{self.path}' was assigned a traced value outside stateless_call. "
                    "Inside jax.jit use model.stateless_call(variables, ...) and write the "
                    "returned state back with model.set_variables(...)."
                )
            self._value = value
        return self

    def assign_add(self, delta) -> Variable:
        return self.assign(self.value + delta)

    def assign_sub(self, delta) -> Variable:
        return self.assign(self.value - delta)

    # -- array-like ------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return tuple(self._value.shape)

    @property
    def dtype(self):
        return self._value.dtype

    @property
    def ndim(self) -> int:
        return self._value.ndim

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def numpy(self) -> np.ndarray:
        return _to_host(self._value)

    def __array__(self, dtype=None, copy=None):
        arr = _to_host(self._value)
        return arr.astype(dtype) if dtype is not None else arr

    def __repr__(self) -> str:
        return f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype.name}>"

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, idx):
        return self.value[idx]

    def __neg__(self):
        return -self.value

    def __pos__(self):
        return self.value

    def __abs__(self):
        return abs(self.value)


def _binary(name):
    def forward(self, other):
        other = other.value if isinstance(other, Variable) else other
        return getattr(self.value, name)(other)

    forward.__name__ = name
    return forward


for _op in (
    "add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul",
    "radd", "rsub", "rmul", "rtruediv", "rfloordiv", "rmod", "rpow", "rmatmul",
    "lt", "le", "gt", "ge", "and", "or", "xor",
):  # fmt: skip
    setattr(Variable, f"__{_op}__", _binary(f"__{_op}__"))


def unwrap(x):
    """Replace Variables in a pytree by their current values."""
    return jax.tree_util.tree_map(
        lambda v: v.value if isinstance(v, Variable) else v,
        x,
        is_leaf=lambda v: isinstance(v, Variable),
    )


def _to_host(value) -> np.ndarray:
    """A NumPy copy of a variable's value. A value split over several processes' devices (FSDP across hosts)
    is gathered first: every process must ask for it at the same point, as for any collective."""
    if isinstance(value, jax.Array) and not value.is_fully_addressable and not value.is_fully_replicated:
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(value, tiled=True))
    return np.asarray(value)

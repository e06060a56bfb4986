"""The `Metric` protocol: a pure core the trainer jits, and a Keras-style stateful shell.

Every metric is a small Python object holding only static configuration. Its
accumulators live in a separate pytree, the *state*, which four pure methods
handle:

- `init() -> state`: zeros of fixed shapes;
- `update(state, y_true, y_pred, sample_weight=None) -> state`;
- `compute(state) -> value`;
- `merge(state_a, state_b) -> state`: the sum of two states, for reducing
  per-device states in data-parallel training.

None of them branches on array values, so they run under `jax.jit` and inside
`lax.scan`. The stateful methods Keras users know (`update_state`, `result`,
`reset_state`, calling the metric) are written on top of the pure ones and keep
the state in `metric.state`.

>>> import jax
>>> from workbench import metrics
>>> m = metrics.Mean()
>>> state = jax.jit(m.update)(m.init(), jax.numpy.array([1.0, 3.0]))
>>> float(m.compute(state))
2.0
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from workbench import config
from workbench.core import dtype_policy
from workbench.core.naming import to_snake_case, unique_name

State = Any  # a pytree (a dict) of jax arrays


class Metric:
    """Base class of every metric: a pure core plus a Keras-style stateful shell.

    Subclasses write `init`, `update` and `compute`; `merge` adds states leaf by
    leaf, which is right for every metric here since all accumulate sums. A
    metric whose state shape depends on the data (the number of classes of
    `F1Score` or `R2Score`) learns it in `build(y_true_shape, y_pred_shape)`,
    which `update_state` calls on the first batch; the trainer calls it before
    `init()` when it jits the pure core.

    Unlike a Keras metric, a subclass does not assign to variables in
    `update_state`; it returns a new state from `update`:

    >>> class Largest(Metric):
    ...     def init(self):
    ...         return {"max": jnp.full((), -jnp.inf)}
    ...     def update(self, state, y_true, y_pred, sample_weight=None):
    ...         return {"max": jnp.maximum(state["max"], jnp.max(jnp.asarray(y_pred)))}
    ...     def compute(self, state):
    ...         return state["max"]
    ...     def merge(self, state_a, state_b):  # not a sum here
    ...         return {"max": jnp.maximum(state_a["max"], state_b["max"])}
    >>> float(Largest()(None, [1.0, 5.0, 2.0]))
    5.0

    Args:
        dtype: the dtype of the accumulators and result: a dtype name or a
            `DTypePolicy` (its compute dtype). Defaults to `workbench.config.floatx()`.
        name: the metric's name in logs. Defaults to the snake-cased class name,
            made unique ("auc", "auc_1", ...) as Keras does.
    """

    def __init__(self, dtype: Any = None, name: str | None = None):
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self._dtype = _resolve_dtype(dtype)
        self._state: State | None = None

    @property
    def dtype(self) -> str:
        """The dtype of the accumulators and the result, e.g. "float32"."""
        return self._dtype

    # The pure core -----------------------------------------------------------------

    def init(self) -> State:
        """A fresh state: a pytree of zero arrays with fixed shapes."""
        raise NotImplementedError(f"{type(self).__name__} must implement `init()`.")

    def update(self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None) -> State:
        """The state after accumulating one batch; pure, so it can be jitted."""
        raise NotImplementedError(f"{type(self).__name__} must implement `update()`.")

    def compute(self, state: State) -> jax.Array:
        """The metric's value for a state; pure, so it can be jitted."""
        raise NotImplementedError(f"{type(self).__name__} must implement `compute()`.")

    def merge(self, state_a: State, state_b: State) -> State:
        """The state holding both states' batches (their leaf-wise sum)."""
        return jax.tree.map(jnp.add, state_a, state_b)

    def build(self, y_true_shape: Sequence[int | None], y_pred_shape: Sequence[int | None]) -> None:
        """Learn data-dependent state shapes from the batch shapes. A no-op for most metrics."""

    @property
    def built(self) -> bool:
        """Whether `init()` can make a state (false only while a data-dependent shape is unknown)."""
        return True

    # The stateful shell --------------------------------------------------------------

    @property
    def state(self) -> State:
        """The accumulated state of the stateful methods; assign to it to load a state."""
        if self._state is None:
            self._state = self.init()
        return self._state

    @state.setter
    def state(self, value: State) -> None:
        if value is not None and self.built:
            expected = jax.eval_shape(self.init)
            arrived = jax.eval_shape(lambda: value)
            same = jax.tree.structure(expected) == jax.tree.structure(arrived) and all(
                e.shape == a.shape for e, a in zip(jax.tree.leaves(expected), jax.tree.leaves(arrived))
            )
            if not same:
                raise ValueError(
                    f"Metric '{self.name}' expected a state shaped like {_shapes(expected)}, "
                    f"received {_shapes(arrived)}."
                )
        self._state = value

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Accumulate one batch into `self.state`."""
        if not self.built:
            self.build(np.shape(y_true), np.shape(y_pred))
        self._accumulate(y_true, y_pred, sample_weight=sample_weight)

    def result(self) -> jax.Array:
        """The metric's value for everything accumulated since the last reset."""
        return self.compute(self.state)

    def _accumulate(self, *args: Any, sample_weight: Any = None) -> None:
        # Op by op, as Keras runs eager metrics; the trainer jits the pure core instead.
        self._state = self.update(self.state, *args, sample_weight=sample_weight)

    def reset_state(self) -> None:
        """Forget every accumulated batch."""
        self._state = self.init() if self.built else None

    def __call__(self, *args: Any, **kwargs: Any) -> jax.Array:
        """Update with one batch and return the result, as a Keras metric does."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict:
        """The constructor arguments, as plain values."""
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict) -> Metric:
        """A new metric from `get_config()`'s output."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


def _resolve_dtype(dtype: Any) -> str:
    # As Keras: a dtype name or policy (its compute dtype; "mixed_bfloat16" computes in bfloat16).
    return dtype_policy.get(dtype or config.floatx()).compute_dtype


def _shapes(tree: Any) -> Any:
    return jax.tree.map(lambda x: tuple(x.shape), tree)


def zeros(shape: Sequence[int], dtype: str) -> jax.Array:
    """A zero accumulator."""
    return jnp.zeros(tuple(shape), dtype)


def divide_no_nan(x: ArrayLike, y: ArrayLike) -> jax.Array:
    """x / y, with 0 where y == 0 (`keras.ops.divide_no_nan`)."""
    x, y = jnp.asarray(x), jnp.asarray(y)
    return jnp.where(y == 0, 0, x / jnp.where(y == 0, 1, y))


def same_rank_shapes(
    shape1: Sequence[Any], shape2: Sequence[Any], expand_rank_1: bool = True
) -> tuple[tuple, tuple]:
    """The shapes `squeeze_or_expand_to_same_rank` turns two shapes into."""
    s1, s2 = tuple(shape1), tuple(shape2)
    if len(s1) == len(s2) + 1 and s1[-1] == 1:
        if len(s2) == 1 and expand_rank_1:
            s2 = s2 + (1,)
        else:
            s1 = s1[:-1]
    if len(s2) == len(s1) + 1 and s2[-1] == 1:
        if len(s1) == 1 and expand_rank_1:
            s1 = s1 + (1,)
        else:
            s2 = s2[:-1]
    return s1, s2


def squeeze_or_expand_to_same_rank(
    x1: jax.Array, x2: jax.Array, expand_rank_1: bool = True
) -> tuple[jax.Array, jax.Array]:
    """Squeeze or expand the last axis of one array when ranks differ by one (as Keras' losses do)."""
    s1, s2 = same_rank_shapes(x1.shape, x2.shape, expand_rank_1)
    return x1.reshape(s1), x2.reshape(s2)


def reduce_to_samplewise_values(
    values: ArrayLike, sample_weight: ArrayLike | None, reduce_fn: Callable, dtype: str
) -> tuple[jax.Array, jax.Array | None]:
    """Weight `values` and reduce them to one value per sample, as Keras' `Mean` and `Sum` do.

    Trailing axes of `values` beyond the weights' rank are reduced first, so a
    per-sample weight applies to the sample's mean (or sum) value.
    """
    values = jnp.asarray(values).astype(dtype)
    if sample_weight is not None:
        sample_weight = jnp.asarray(sample_weight, dtype)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        weight_ndim, values_ndim = sample_weight.ndim, values.ndim
        if values_ndim > weight_ndim:
            values = reduce_fn(values, axis=tuple(range(weight_ndim, values_ndim)))
        try:
            sample_weight = jnp.broadcast_to(sample_weight, values.shape)
        except ValueError as e:
            raise ValueError(
                f"sample_weight of shape {tuple(sample_weight.shape)} does not broadcast to the "
                f"per-sample values of shape {tuple(values.shape)}."
            ) from e
        values = values * sample_weight
        if weight_ndim > 1:
            sample_weight = reduce_fn(sample_weight, axis=tuple(range(1, weight_ndim)))
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight

"""Sum and Mean of values, and MeanMetricWrapper, which averages a per-sample function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from workbench.metrics.base import Metric, State, divide_no_nan, reduce_to_samplewise_values, zeros


class Sum(Metric):
    """The (weighted) sum of the values seen.

    >>> m = Sum()
    >>> m.update_state([1.0, 3.0, 5.0, 7.0], sample_weight=[1, 1, 0, 0])
    >>> float(m.result())
    4.0
    """

    def __init__(self, name: str = "sum", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)

    def init(self) -> State:
        return {"total": zeros((), self.dtype)}

    def update(self, state: State, values: ArrayLike, sample_weight: ArrayLike | None = None) -> State:
        values, _ = reduce_to_samplewise_values(values, sample_weight, jnp.sum, self.dtype)
        return {"total": state["total"] + jnp.sum(values)}

    def compute(self, state: State) -> jax.Array:
        return state["total"]

    def update_state(self, values: ArrayLike, sample_weight: ArrayLike | None = None) -> None:
        """Add `values` (weighted by `sample_weight`) to the total."""
        self._accumulate(values, sample_weight=sample_weight)


class Mean(Metric):
    """The (weighted) mean of the values seen: total / count.

    With `sample_weight`, the count is the sum of the weights; values with more
    axes than the weights are first averaged over their trailing axes.

    >>> m = Mean()
    >>> m.update_state([1.0, 3.0, 5.0, 7.0], sample_weight=[1, 1, 0, 0])
    >>> float(m.result())
    2.0
    """

    def __init__(self, name: str = "mean", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)

    def init(self) -> State:
        return {"total": zeros((), self.dtype), "count": zeros((), self.dtype)}

    def update(self, state: State, values: ArrayLike, sample_weight: ArrayLike | None = None) -> State:
        values, sample_weight = reduce_to_samplewise_values(values, sample_weight, jnp.mean, self.dtype)
        if sample_weight is not None:
            count = jnp.sum(sample_weight)
        else:
            count = values.shape[0] if values.ndim >= 1 else 1
        return {
            "total": state["total"] + jnp.sum(values),
            "count": state["count"] + jnp.asarray(count, self.dtype),
        }

    def compute(self, state: State) -> jax.Array:
        return divide_no_nan(state["total"], state["count"])

    def update_state(self, values: ArrayLike, sample_weight: ArrayLike | None = None) -> None:
        """Add `values` (weighted by `sample_weight`) to the running mean."""
        self._accumulate(values, sample_weight=sample_weight)


class MeanMetricWrapper(Mean):
    """The mean over samples of `fn(y_true, y_pred, **kwargs)`, a function returning per-sample values.

    This is how a plain function becomes a metric (the accuracies and the
    regression errors are built this way).

    >>> m = MeanMetricWrapper(lambda t, p: jnp.abs(t - p), name="abs_error")
    >>> float(m(jnp.array([1.0, 2.0]), jnp.array([2.0, 2.0])))
    0.5

    Args:
        fn: `fn(y_true, y_pred, **kwargs) -> values`, one value per sample (or more, averaged).
        name: the metric's name; defaults to "mean_metric_wrapper".
        dtype: the dtype of the accumulators.
        **kwargs: passed on to `fn`.
    """

    def __init__(self, fn: Callable, name: str | None = None, dtype: Any = None, **kwargs: Any):
        if isinstance(fn, dict) and isinstance(fn.get("config"), str):  # a function in a Keras config
            fn = fn["config"]
        if isinstance(fn, str):
            fn = _function_by_name(fn)
        if not callable(fn):
            raise TypeError(f"MeanMetricWrapper expected a function `fn(y_true, y_pred)`, received {fn!r}.")
        super().__init__(name=name, dtype=dtype)  # name None: "mean_metric_wrapper", as Keras
        self._fn = fn
        self._fn_kwargs = kwargs

    def update(  # type: ignore[override]
        self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None
    ) -> State:
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        return super().update(state, values, sample_weight=sample_weight)

    def update_state(  # type: ignore[override]
        self, y_true: Any, y_pred: Any, sample_weight: Any = None
    ) -> None:
        """Accumulate `fn(y_true, y_pred)` for one batch."""
        self._accumulate(y_true, y_pred, sample_weight=sample_weight)

    def get_config(self) -> dict:
        fn = getattr(self._fn, "__name__", None)
        fn = fn if fn in METRIC_FUNCTIONS and METRIC_FUNCTIONS[fn] is self._fn else self._fn
        return {"name": self.name, "dtype": self.dtype, "fn": fn, **self._fn_kwargs}


# Named per-sample metric functions, so a MeanMetricWrapper's config can name its `fn`.
# Filled in by the modules that define them.
METRIC_FUNCTIONS: dict[str, Callable] = {}


def register_function(fn: Callable) -> Callable:
    """Record a per-sample metric function under its name (so configs can refer to it)."""
    METRIC_FUNCTIONS[fn.__name__] = fn
    return fn


def _function_by_name(name: str) -> Callable:
    if name not in METRIC_FUNCTIONS:
        raise ValueError(f"Unknown metric function {name!r}; expected one of {sorted(METRIC_FUNCTIONS)}.")
    return METRIC_FUNCTIONS[name]

"""Regression metrics: mean squared/absolute errors and their relatives, and R2Score.

The per-sample errors are `workbench.losses`' functions, as Keras' metrics use its losses.

>>> from workbench import metrics
>>> float(metrics.MeanAbsoluteError()([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]]))
0.5
"""

from __future__ import annotations

import warnings
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from workbench import config, losses
from workbench.metrics.base import Metric, State, same_rank_shapes, squeeze_or_expand_to_same_rank, zeros
from workbench.metrics.reduction import Mean, MeanMetricWrapper, register_function

for _fn in (
    losses.mean_squared_error,
    losses.mean_absolute_error,
    losses.mean_absolute_percentage_error,
    losses.mean_squared_logarithmic_error,
    losses.log_cosh,
):
    register_function(_fn)


@register_function
def cosine_similarity(y_true: ArrayLike, y_pred: ArrayLike, axis: int = -1) -> jax.Array:
    """The cosine of the angle between `y_true` and `y_pred` along `axis` (the loss of that name is its negative)."""
    y_pred = jnp.asarray(y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(jnp.asarray(y_true, y_pred.dtype), y_pred)

    def l2_normalize(x):
        inv_norm = jax.lax.rsqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
        return x * jnp.minimum(inv_norm, 1.0 / config.epsilon())

    return jnp.sum(l2_normalize(y_true) * l2_normalize(y_pred), axis=axis)


class _ErrorMean(MeanMetricWrapper):
    """The mean of a per-sample error function; configured by name and dtype only."""

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}


class MeanSquaredError(_ErrorMean):
    """The mean squared error between `y_true` and `y_pred`."""

    def __init__(self, name: str = "mean_squared_error", dtype: Any = None):
        super().__init__(losses.mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(_ErrorMean):
    """The mean absolute error between `y_true` and `y_pred`."""

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None):
        super().__init__(losses.mean_absolute_error, name=name, dtype=dtype)


class MeanAbsolutePercentageError(_ErrorMean):
    """The mean absolute percentage error between `y_true` and `y_pred`."""

    def __init__(self, name: str = "mean_absolute_percentage_error", dtype: Any = None):
        super().__init__(losses.mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(_ErrorMean):
    """The mean squared logarithmic error between `y_true` and `y_pred`."""

    def __init__(self, name: str = "mean_squared_logarithmic_error", dtype: Any = None):
        super().__init__(losses.mean_squared_logarithmic_error, name=name, dtype=dtype)


class LogCoshError(_ErrorMean):
    """The mean of log(cosh(y_pred - y_true))."""

    def __init__(self, name: str = "logcosh", dtype: Any = None):
        super().__init__(losses.log_cosh, name=name, dtype=dtype)


class CosineSimilarity(_ErrorMean):
    """The mean cosine similarity between `y_true` and `y_pred` along `axis`.

    Like Keras, its config does not record `axis`.
    """

    def __init__(self, name: str = "cosine_similarity", dtype: Any = None, axis: int = -1):
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)


class RootMeanSquaredError(Mean):
    """sqrt(mean((y_true - y_pred)^2)), the mean taken over every sample seen."""

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)

    def update(  # type: ignore[override]
        self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None
    ) -> State:
        y_true = jnp.asarray(y_true).astype(self.dtype)
        y_pred = jnp.asarray(y_pred).astype(self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return super().update(state, jnp.square(y_pred - y_true), sample_weight=sample_weight)

    def compute(self, state: State) -> jax.Array:
        return jnp.sqrt(super().compute(state))

    def update_state(  # type: ignore[override]
        self, y_true: Any, y_pred: Any, sample_weight: Any = None
    ) -> None:
        """Accumulate the squared errors of one batch."""
        self._accumulate(y_true, y_pred, sample_weight=sample_weight)


class R2Score(Metric):
    """The coefficient of determination R^2 of (batch, outputs) regression targets.

    Args:
        class_aggregation: how to combine the per-output scores: "uniform_average"
            (mean), "variance_weighted_average" (weighted by each output's
            variance) or None (one score per output).
        num_regressors: the number of independent variables, for the adjusted
            R^2; 0 (the default) gives the plain R^2.
        name, dtype: as for every metric.
    """

    def __init__(
        self,
        class_aggregation: str | None = "uniform_average",
        num_regressors: int = 0,
        name: str = "r2_score",
        dtype: Any = None,
    ):
        super().__init__(name=name, dtype=dtype)
        valid = (None, "uniform_average", "variance_weighted_average")
        if class_aggregation not in valid:
            raise ValueError(
                f"Invalid value for argument `class_aggregation`. Expected one of {valid}. "
                f"Received: class_aggregation={class_aggregation}"
            )
        if num_regressors < 0:
            raise ValueError(
                "Invalid value for argument `num_regressors`. Expected a value >= 0. "
                f"Received: num_regressors={num_regressors}"
            )
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self._num_outputs: int | None = None

    @property
    def built(self) -> bool:
        return self._num_outputs is not None

    def build(self, y_true_shape, y_pred_shape) -> None:
        y_true_shape, y_pred_shape = same_rank_shapes(y_true_shape, y_pred_shape)
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError(
                "R2Score expects 2D inputs with shape (batch_size, output_dim). Received input shapes: "
                f"y_pred.shape={tuple(y_pred_shape)} and y_true.shape={tuple(y_true_shape)}."
            )
        if y_pred_shape[-1] is None or y_true_shape[-1] is None:
            raise ValueError(
                "R2Score expects 2D inputs with shape (batch_size, output_dim), with output_dim fully "
                f"defined (not None). Received input shapes: y_pred.shape={tuple(y_pred_shape)} and "
                f"y_true.shape={tuple(y_true_shape)}."
            )
        self._num_outputs = int(y_pred_shape[-1])

    def init(self) -> State:
        if not self.built:
            raise ValueError(
                f"R2Score '{self.name}' does not know its number of outputs yet: call "
                "`build(y_true_shape, y_pred_shape)` or `update_state` first."
            )
        n = (self._num_outputs,)
        return {
            "num_samples": zeros((), self.dtype),
            "squared_sum": zeros(n, self.dtype),
            "sum": zeros(n, self.dtype),
            "residual": zeros(n, self.dtype),
            "count": zeros(n, self.dtype),
        }

    def update(self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None) -> State:
        y_true = jnp.asarray(y_true).astype(self.dtype)
        y_pred = jnp.asarray(y_pred).astype(self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if y_true.ndim != 2 or y_pred.shape[-1] != self._num_outputs:
            raise ValueError(
                f"R2Score '{self.name}' expects (batch_size, {self._num_outputs}) inputs. "
                f"Received y_true.shape={tuple(y_true.shape)} and y_pred.shape={tuple(y_pred.shape)}."
            )
        sample_weight = jnp.asarray(1 if sample_weight is None else sample_weight).astype(self.dtype)
        if sample_weight.ndim == 1:
            sample_weight = sample_weight[:, None]  # one weight per sample
        sample_weight = jnp.broadcast_to(sample_weight, y_true.shape)
        weighted_y_true = y_true * sample_weight
        return {
            "num_samples": state["num_samples"] + y_true.size,  # Keras counts elements, not rows
            "squared_sum": state["squared_sum"] + jnp.sum(y_true * weighted_y_true, axis=0),
            "sum": state["sum"] + jnp.sum(weighted_y_true, axis=0),
            "residual": state["residual"] + jnp.sum((y_true - y_pred) ** 2 * sample_weight, axis=0),
            "count": state["count"] + jnp.sum(sample_weight, axis=0),
        }

    def compute(self, state: State) -> jax.Array:
        mean = state["sum"] / state["count"]
        total = state["squared_sum"] - state["sum"] * mean
        raw_scores = 1 - state["residual"] / total
        raw_scores = jnp.where(jnp.isinf(raw_scores), 0.0, raw_scores)
        if self.class_aggregation == "uniform_average":
            r2 = jnp.mean(raw_scores)
        elif self.class_aggregation == "variance_weighted_average":
            r2 = jnp.sum(total * raw_scores) / jnp.sum(total)
        else:
            r2 = raw_scores
        if self.num_regressors == 0:
            return r2
        # Adjusted R^2; it falls back to R^2 when there are too few samples for it.
        n = state["num_samples"].astype("float32")
        p = jnp.asarray(self.num_regressors, "float32")
        adjusted = 1.0 - (1.0 - r2) * (n - 1.0) / (n - p - 1.0)
        return jnp.where(self.num_regressors < state["num_samples"] - 1, adjusted, r2)

    def result(self) -> jax.Array:
        if self.num_regressors != 0 and self.built:
            num_samples = float(self.state["num_samples"])
            if self.num_regressors > num_samples - 1:
                warnings.warn(
                    "More independent predictors than datapoints in adjusted R2 score. "
                    "Falling back to standard R2 score.",
                    stacklevel=2,
                )
            elif self.num_regressors == num_samples - 1:
                warnings.warn(
                    "Division by zero in Adjusted R2 score. Falling back to standard R2 score.",
                    stacklevel=2,
                )
        return super().result()

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "class_aggregation": self.class_aggregation,
            "num_regressors": self.num_regressors,
        }

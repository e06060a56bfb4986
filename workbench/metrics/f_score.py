"""F-beta and F1 scores over (batch, classes) inputs, per class or averaged.

The state holds per-class true positive, false positive and false negative
counts (one total each with `average="micro"`), so its shape depends on the
number of classes: the metric learns it from the first batch, or from
`build(y_true_shape, y_pred_shape)`.

>>> from workbench import metrics
>>> m = metrics.F1Score(threshold=0.5)
>>> [round(float(v), 4) for v in m([[1, 1, 1], [1, 0, 0], [1, 1, 0]],
...                                  [[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]])]
[0.5, 0.8, 0.6667]
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from workbench import config
from workbench.metrics.base import Metric, State, zeros

_AVERAGES = (None, "micro", "macro", "weighted")
_COUNTS = ("true_positives", "false_positives", "false_negatives", "intermediate_weights")


class FBetaScore(Metric):
    """The F-beta score: (1 + beta^2) * precision * recall / (beta^2 * precision + recall).

    Args:
        average: None (one score per class), "micro" (from the counts summed
            over classes), "macro" (mean of the class scores) or "weighted"
            (class scores weighted by each class's number of true labels).
        beta: a positive float; recall counts beta times as much as precision.
        threshold: a prediction above it is positive. None (the default)
            counts each row's highest prediction(s) as positive.
        name, dtype: as for every metric.
    """

    def __init__(
        self,
        average: str | None = None,
        beta: float = 1.0,
        threshold: float | None = None,
        name: str = "fbeta_score",
        dtype: Any = None,
    ):
        super().__init__(name=name, dtype=dtype)
        if average not in _AVERAGES:
            raise ValueError(
                "Invalid `average` argument value. Expected one of: {None, 'micro', 'macro', 'weighted'}. "
                f"Received: average={average}"
            )
        if not isinstance(beta, float):
            raise ValueError(
                f"Invalid `beta` argument value. It should be a Python float. "
                f"Received: beta={beta} of type '{type(beta)}'"
            )
        if beta <= 0.0:
            raise ValueError(f"Invalid `beta` argument value. It should be > 0. Received: beta={beta}")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError(
                    "Invalid `threshold` argument value. It should be a Python float. "
                    f"Received: threshold={threshold} of type '{type(threshold)}'"
                )
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError(
                    "Invalid `threshold` argument value. It should verify 0 < threshold <= 1. "
                    f"Received: threshold={threshold}"
                )
        self.average = average
        self.beta = beta
        self.threshold = threshold
        self.axis = None if average == "micro" else 0
        self._num_classes: int | None = None

    @property
    def built(self) -> bool:
        return self._num_classes is not None

    def build(self, y_true_shape, y_pred_shape) -> None:
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError(
                f"{type(self).__name__} expects 2D inputs with shape (batch_size, output_dim). Received input "
                f"shapes: y_pred.shape={tuple(y_pred_shape)} and y_true.shape={tuple(y_true_shape)}."
            )
        if y_pred_shape[-1] is None or y_true_shape[-1] is None:
            raise ValueError(
                f"{type(self).__name__} expects 2D inputs with shape (batch_size, output_dim), with "
                f"output_dim fully defined (not None). Received input shapes: "
                f"y_pred.shape={tuple(y_pred_shape)} and y_true.shape={tuple(y_true_shape)}."
            )
        self._num_classes = int(y_pred_shape[-1])

    def init(self) -> State:
        if not self.built:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' does not know its number of classes yet: call "
                "`build(y_true_shape, y_pred_shape)` or `update_state` first."
            )
        shape = () if self.average == "micro" else (self._num_classes,)
        return {name: zeros(shape, self.dtype) for name in _COUNTS}

    def update(self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None) -> State:
        y_true = jnp.asarray(y_true).astype(self.dtype)
        y_pred = jnp.asarray(y_pred).astype(self.dtype)
        if y_true.ndim != 2 or y_pred.ndim != 2 or y_pred.shape[-1] != self._num_classes:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expects (batch_size, {self._num_classes}) inputs. "
                f"Received y_true.shape={tuple(y_true.shape)} and y_pred.shape={tuple(y_pred.shape)}."
            )
        if self.threshold is None:
            # Each row's maximum is positive, but an all-zero row stays all negative.
            y_pred = (y_pred >= jnp.max(y_pred, axis=-1, keepdims=True)) & (jnp.abs(y_pred) > 1e-9)
        else:
            y_pred = y_pred > self.threshold
        y_pred = y_pred.astype(self.dtype)
        if sample_weight is not None:
            # One weight per sample; a (batch, 1) weight is taken as (batch,).
            sample_weight = jnp.asarray(sample_weight).astype(self.dtype)
            if sample_weight.ndim == 2 and sample_weight.shape[-1] == 1:
                sample_weight = sample_weight[:, 0]

        def weighted_sum(values):
            if sample_weight is not None:
                values = values * jnp.expand_dims(sample_weight, 1)
            return jnp.sum(values, axis=self.axis)

        increments = {
            "true_positives": weighted_sum(y_pred * y_true),
            "false_positives": weighted_sum(y_pred * (1 - y_true)),
            "false_negatives": weighted_sum((1 - y_pred) * y_true),
            "intermediate_weights": weighted_sum(y_true),
        }
        return {name: state[name] + increments[name] for name in _COUNTS}

    def compute(self, state: State) -> jax.Array:
        eps = config.epsilon()
        tp = state["true_positives"]
        precision = tp / (tp + state["false_positives"] + eps)
        recall = tp / (tp + state["false_negatives"] + eps)
        beta2 = self.beta**2
        f_score = precision * recall / (beta2 * precision + recall + eps) * (1 + beta2)
        if self.average == "weighted":
            weights = state["intermediate_weights"]
            weights = weights / (jnp.sum(weights) + eps)
            return jnp.sum(f_score * weights)
        if self.average is not None:  # micro (already a scalar) or macro
            return jnp.mean(f_score)
        return f_score

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "average": self.average,
            "beta": self.beta,
            "threshold": self.threshold,
        }


class F1Score(FBetaScore):
    """The F1 score, the harmonic mean of precision and recall (`FBetaScore` with beta=1).

    Takes the arguments of `FBetaScore` except `beta`.
    """

    def __init__(
        self,
        average: str | None = None,
        threshold: float | None = None,
        name: str = "f1_score",
        dtype: Any = None,
    ):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["beta"]
        return config

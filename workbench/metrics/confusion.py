"""Precision, Recall and the raw confusion counts, at one or several thresholds.

With one threshold the result is a scalar; with a list it is one value per
threshold. `top_k` counts only each row's k highest predictions as positive;
`class_id` restricts the metric to one class of (batch, classes) inputs.

>>> from workbench import metrics
>>> m = metrics.Precision()
>>> round(float(m([0, 1, 1, 1], [1, 0, 1, 1])), 4)
0.6667
"""

from __future__ import annotations

from typing import Any

import jax

from workbench.metrics import confusion_matrix as cm
from workbench.metrics.base import Metric, State, divide_no_nan, zeros


class _ThresholdedCounts(Metric):
    """A metric accumulating some confusion counts at fixed thresholds."""

    _counts: tuple[str, ...] = ()

    def __init__(
        self,
        thresholds: Any = None,
        top_k: int | None = None,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        default_threshold = 0.5 if top_k is None else cm.NEG_INF
        self.thresholds = cm.parse_init_thresholds(thresholds, default_threshold=default_threshold)
        self._thresholds_distributed_evenly = cm.is_evenly_distributed_thresholds(self.thresholds)

    def init(self) -> State:
        return {name: zeros((len(self.thresholds),), self.dtype) for name in self._counts}

    def update(self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None) -> State:
        counts = cm.confusion_counts(
            self._counts,
            y_true,
            y_pred,
            self.thresholds,
            top_k=self.top_k,
            class_id=self.class_id,
            sample_weight=sample_weight,
            thresholds_distributed_evenly=self._thresholds_distributed_evenly,
            dtype=self.dtype,
        )
        return {name: state[name] + counts[name] for name in self._counts}

    def _per_threshold(self, values: jax.Array) -> jax.Array:
        return values[0] if len(self.thresholds) == 1 else values


class _ConfusionCount(_ThresholdedCounts):
    def __init__(self, thresholds: Any = None, name: str | None = None, dtype: Any = None):
        super().__init__(thresholds=thresholds, name=name, dtype=dtype)

    # One count, kept under Keras' variable name "accumulator".
    def init(self) -> State:
        return {"accumulator": zeros((len(self.thresholds),), self.dtype)}

    def update(self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None) -> State:
        (name,) = self._counts
        counts = super().update({name: state["accumulator"]}, y_true, y_pred, sample_weight)
        return {"accumulator": counts[name]}

    def compute(self, state: State) -> jax.Array:
        return self._per_threshold(state["accumulator"])

    def get_config(self) -> dict:
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionCount):
    """The (weighted) number of positive labels predicted above the threshold(s) (default 0.5)."""

    _counts = (cm.TRUE_POSITIVES,)


class FalsePositives(_ConfusionCount):
    """The (weighted) number of negative labels predicted above the threshold(s) (default 0.5)."""

    _counts = (cm.FALSE_POSITIVES,)


class TrueNegatives(_ConfusionCount):
    """The (weighted) number of negative labels predicted at or below the threshold(s) (default 0.5)."""

    _counts = (cm.TRUE_NEGATIVES,)


class FalseNegatives(_ConfusionCount):
    """The (weighted) number of positive labels predicted at or below the threshold(s) (default 0.5)."""

    _counts = (cm.FALSE_NEGATIVES,)


class Precision(_ThresholdedCounts):
    """true_positives / (true_positives + false_positives), 0 when nothing is predicted positive.

    Args:
        thresholds: a float or list of floats in [0, 1]; a prediction above it is
            positive. Defaults to 0.5, or, with `top_k`, to "any value" (only
            the top-k selection decides).
        top_k: count only each row's `top_k` highest predictions as positive.
        class_id: the class (column) to compute the metric for.
        name, dtype: as for every metric.

    >>> float(Precision(top_k=1)([[0, 0, 1, 1]], [[1, 0, 1, 0]]))
    0.0
    """

    _counts = (cm.TRUE_POSITIVES, cm.FALSE_POSITIVES)

    def compute(self, state: State) -> jax.Array:
        tp = state[cm.TRUE_POSITIVES]
        return self._per_threshold(divide_no_nan(tp, tp + state[cm.FALSE_POSITIVES]))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "thresholds": self.init_thresholds,
            "top_k": self.top_k,
            "class_id": self.class_id,
        }


class Recall(_ThresholdedCounts):
    """true_positives / (true_positives + false_negatives), 0 when there are no positive labels.

    Takes the same arguments as `Precision`.

    >>> round(float(Recall(thresholds=0.5)([0, 1, 1, 1], [1, 0, 1, 1])), 4)
    0.6667
    """

    _counts = (cm.TRUE_POSITIVES, cm.FALSE_NEGATIVES)

    def compute(self, state: State) -> jax.Array:
        tp = state[cm.TRUE_POSITIVES]
        return self._per_threshold(divide_no_nan(tp, tp + state[cm.FALSE_NEGATIVES]))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "thresholds": self.init_thresholds,
            "top_k": self.top_k,
            "class_id": self.class_id,
        }

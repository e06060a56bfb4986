"""AUC: the area under the ROC or precision-recall curve, by a Riemann sum over thresholds.

The state holds true/false positive/negative counts at `num_thresholds`
thresholds, so AUC accumulates over batches with a fixed-size state like any
other metric (an approximation of the exact AUC that improves with more
thresholds).

>>> from workbench import metrics
>>> m = metrics.AUC(num_thresholds=3)
>>> float(m([0, 0, 1, 1], [0.0, 0.5, 0.3, 0.9]))
0.75
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from workbench import config
from workbench.metrics import confusion_matrix as cm
from workbench.metrics.base import Metric, State, divide_no_nan, zeros

_CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
_SUMMATIONS = ("interpolation", "majoring", "minoring")


class AUC(Metric):
    """The area under the ROC curve (default) or the precision-recall curve.

    Args:
        num_thresholds: how many thresholds (> 1) to evaluate the curve at,
            spread evenly over [0, 1].
        curve: "ROC", "PR" or "PRGAIN".
        summation_method: "interpolation" (trapezoids; for PR, Davis & Goadrich's
            interpolation), "minoring" or "majoring" (lower or upper rectangles).
        name, dtype: as for every metric.
        thresholds: explicit thresholds in [0, 1], used instead of `num_thresholds`.
        multi_label: treat each column of (batch, labels) inputs as its own
            curve and average the AUCs, instead of flattening all predictions.
        num_labels: the number of labels with `multi_label` (otherwise learnt
            from the first batch).
        label_weights: per-label weights: of the averaged AUCs with
            `multi_label`, else of the predictions in the counts.
        from_logits: apply a sigmoid to `y_pred` first.
    """

    def __init__(
        self,
        num_thresholds: int = 200,
        curve: str = "ROC",
        summation_method: str = "interpolation",
        name: str | None = None,
        dtype: Any = None,
        thresholds: Any = None,
        multi_label: bool = False,
        num_labels: int | None = None,
        label_weights: Any = None,
        from_logits: bool = False,
    ):
        if str(curve).lower() not in _CURVES:
            raise ValueError(
                f'Invalid AUC curve value: "{curve}". Expected values are ["PR", "ROC", "PRGAIN"]'
            )
        if str(summation_method).lower() not in _SUMMATIONS:
            raise ValueError(
                f'Invalid AUC summation method value: "{summation_method}". '
                'Expected values are ["interpolation", "majoring", "minoring"]'
            )
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            self.num_thresholds = len(thresholds) + 2
            thresholds = sorted(float(t) for t in thresholds)
            self._thresholds_distributed_evenly = cm.is_evenly_distributed_thresholds([0.0, *thresholds, 1.0])
        else:
            if num_thresholds <= 1:
                raise ValueError(
                    f"Argument `num_thresholds` must be an integer > 1. Received: num_thresholds={num_thresholds}"
                )
            self.num_thresholds = num_thresholds
            thresholds = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._thresholds_distributed_evenly = True
        # End points just outside [0, 1] absorb floating-point error at 0 and 1.
        eps = config.epsilon()
        self._thresholds = np.array([0.0 - eps, *thresholds, 1.0 + eps])
        self.curve = _CURVES[str(curve).lower()]
        self.summation_method = str(summation_method).lower()
        super().__init__(name=name, dtype=dtype)
        self.multi_label = multi_label
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else jnp.asarray(label_weights, self.dtype)
        self._from_logits = from_logits
        if num_labels and not multi_label:
            raise ValueError("`num_labels` is needed only when `multi_label` is True.")
        self._num_labels = num_labels if multi_label else None

    @property
    def thresholds(self) -> list[float]:
        """The thresholds, including the two end points just outside [0, 1]."""
        return list(self._thresholds)

    @property
    def built(self) -> bool:
        return not self.multi_label or self._num_labels is not None

    def build(self, y_true_shape, y_pred_shape) -> None:
        if self.multi_label and self._num_labels is None:
            if len(y_pred_shape) != 2:
                raise ValueError(
                    f"`y_pred` must have rank 2 when `multi_label=True`. Found rank {len(y_pred_shape)}. "
                    f"Full shape received for `y_pred`: {tuple(y_pred_shape)}"
                )
            self._num_labels = y_pred_shape[1]

    def init(self) -> State:
        if not self.built:
            raise ValueError(
                f"AUC '{self.name}' with multi_label=True does not know its number of labels yet: pass "
                "`num_labels=`, or call `build(y_true_shape, y_pred_shape)` or `update_state` first."
            )
        shape = (self.num_thresholds, self._num_labels) if self.multi_label else (self.num_thresholds,)
        return {name: zeros(shape, self.dtype) for name in cm.COUNTS}

    def update(self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None) -> State:
        y_pred = jnp.asarray(y_pred)
        if self._from_logits:
            y_pred = jax.nn.sigmoid(y_pred)
        counts = cm.confusion_counts(
            cm.COUNTS,
            y_true,
            y_pred,
            self._thresholds,
            sample_weight=sample_weight,
            multi_label=self.multi_label,
            # With multi_label the label weights average the per-label AUCs instead (in compute).
            label_weights=None if self.multi_label else self.label_weights,
            thresholds_distributed_evenly=self._thresholds_distributed_evenly,
            dtype=self.dtype,
        )
        return {name: state[name] + counts[name] for name in cm.COUNTS}

    def compute(self, state: State) -> jax.Array:
        tp, fp = state[cm.TRUE_POSITIVES], state[cm.FALSE_POSITIVES]
        tn, fn = state[cm.TRUE_NEGATIVES], state[cm.FALSE_NEGATIVES]
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._average(_interpolated_pr_auc(tp, fp, fn))
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, divide_no_nan(tp, tp + fp)
        else:  # PRGAIN; gains are clamped where they diverge, as in Keras
            scale = divide_no_nan(tp + fn, tn + fp)
            recall_gain = 1.0 - scale * divide_no_nan(fn, tp)
            precision_gain = 1.0 - scale * divide_no_nan(fp, tp)
            recall_gain = jnp.maximum(jnp.where(tp == 0, 0.0, recall_gain), 0.0)
            x, y = recall_gain, jnp.where(tp == 0, 1.0, precision_gain)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = jnp.minimum(y[:-1], y[1:])
        else:
            heights = jnp.maximum(y[:-1], y[1:])
        return self._average((x[:-1] - x[1:]) * heights)

    def _average(self, terms: jax.Array) -> jax.Array:
        # Sum the curve's pieces; with multi_label, average the per-label areas.
        if not self.multi_label:
            return jnp.sum(terms)
        by_label = jnp.sum(terms, axis=0)
        if self.label_weights is None:
            return jnp.mean(by_label)
        return divide_no_nan(jnp.sum(by_label * self.label_weights), jnp.sum(self.label_weights))

    def get_config(self) -> dict:
        label_weights = self.label_weights
        config = {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": None if label_weights is None else np.asarray(label_weights).tolist(),
            "from_logits": self._from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config


def _interpolated_pr_auc(tp: jax.Array, fp: jax.Array, fn: jax.Array) -> jax.Array:
    """The pieces of the PR-AUC with precision interpolated between thresholds (Davis & Goadrich 2006)."""
    dtp = tp[:-1] - tp[1:]
    p = tp + fp
    dp = p[:-1] - p[1:]
    prec_slope = divide_no_nan(dtp, jnp.maximum(dp, 0))
    intercept = tp[1:] - prec_slope * p[1:]
    safe_p_ratio = jnp.where(
        (p[:-1] > 0) & (p[1:] > 0), divide_no_nan(p[:-1], jnp.maximum(p[1:], 0)), jnp.ones_like(p[1:])
    )
    return divide_no_nan(
        prec_slope * (dtp + intercept * jnp.log(safe_p_ratio)), jnp.maximum(tp[1:] + fn[1:], 0)
    )

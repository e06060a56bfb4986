"""Weighted confusion-matrix counts at a list of thresholds: the engine of AUC, Precision and Recall.

`confusion_counts` returns one batch's true/false positive/negative counts for
each threshold (a prediction is positive when it is strictly greater than the
threshold); the metrics add them to their state. It follows Keras'
`update_confusion_matrix_variables`, including its fast path for evenly spaced
thresholds (bucketing by `ceil(p * (n - 1)) - 1` and a reversed cumulative sum
instead of comparing every prediction with every threshold), so counts agree
with Keras even for predictions that sit exactly on a threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from workbench import config
from workbench.metrics.base import squeeze_or_expand_to_same_rank

NEG_INF = -1e10  # the threshold used with `top_k`: every kept prediction is above it

TRUE_POSITIVES = "true_positives"
FALSE_POSITIVES = "false_positives"
TRUE_NEGATIVES = "true_negatives"
FALSE_NEGATIVES = "false_negatives"
COUNTS = (TRUE_POSITIVES, FALSE_POSITIVES, TRUE_NEGATIVES, FALSE_NEGATIVES)


def _to_list(x: Any) -> list:
    if isinstance(x, (list, tuple, np.ndarray)):
        return [float(t) for t in np.asarray(x).reshape(-1)]
    return [x]


def parse_init_thresholds(thresholds: Any, default_threshold: float = 0.5) -> list[float]:
    """The thresholds as a list, checked to lie in [0, 1]; `default_threshold` when None."""
    if thresholds is None:
        return _to_list(default_threshold)
    thresholds = _to_list(thresholds)
    invalid = [t for t in thresholds if t is None or not 0 <= t <= 1]
    if invalid:
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {invalid}")
    return thresholds


def is_evenly_distributed_thresholds(thresholds: Sequence[float]) -> bool:
    """Whether the thresholds are i / (n - 1) for i = 0..n-1 (n >= 3), which allows the fast path."""
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(thresholds, even, atol=config.epsilon()))


def filter_top_k(x: jax.Array, k: int) -> jax.Array:
    """Keep the `k` largest values along the last axis; set the others to NEG_INF."""
    _, idx = jax.lax.top_k(x, k)
    mask = jnp.sum(jax.nn.one_hot(idx, x.shape[-1], dtype=x.dtype), axis=-2)
    return x * mask + NEG_INF * (1 - mask)


def confusion_counts(
    which: Sequence[str],
    y_true: Any,
    y_pred: Any,
    thresholds: Sequence[float],
    *,
    top_k: int | None = None,
    class_id: int | None = None,
    sample_weight: Any = None,
    multi_label: bool = False,
    label_weights: Any = None,
    thresholds_distributed_evenly: bool = False,
    dtype: str = "float32",
) -> dict[str, jax.Array]:
    """One batch's weighted counts for each name in `which` (a subset of COUNTS).

    Each count has shape (num_thresholds,), or (num_thresholds, num_labels) with
    `multi_label=True`. `top_k` keeps only each row's k largest predictions;
    `class_id` looks at one column of (batch, classes) inputs.
    """
    y_true = jnp.asarray(y_true).astype(dtype)
    y_pred = jnp.asarray(y_pred).astype(dtype)
    thresholds_with_epsilon = thresholds_distributed_evenly and (thresholds[0] < 0.0 or thresholds[-1] > 1.0)
    thresholds = jnp.asarray(np.asarray(thresholds), dtype)

    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if sample_weight is not None:
        sample_weight = jnp.expand_dims(jnp.asarray(sample_weight).astype(dtype), -1)
        _, sample_weight = squeeze_or_expand_to_same_rank(y_true, sample_weight, expand_rank_1=False)
    if top_k is not None:
        y_pred = filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError(
                "When class_id is provided, y_pred must be a 2D array with shape "
                f"(num_samples, num_classes), found shape: {tuple(y_pred.shape)}"
            )
        # Keep the class axis (length 1) so that sample weights still broadcast.
        y_true = y_true[..., class_id, None]
        y_pred = y_pred[..., class_id, None]
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred must have the same shape, received y_true.shape={tuple(y_true.shape)} "
            f"and y_pred.shape={tuple(y_pred.shape)}."
        )
    weights = _weights(sample_weight, label_weights, y_pred.shape, dtype)
    if thresholds_distributed_evenly:
        counts = _bucketed_counts(
            y_true, y_pred, weights, thresholds.shape[0], multi_label, thresholds_with_epsilon
        )
    else:
        counts = _compared_counts(y_true, y_pred, weights, thresholds, multi_label)
    return {name: counts[name] for name in which}


def _weights(sample_weight: Any, label_weights: Any, shape: tuple, dtype: str) -> jax.Array | None:
    # Per-prediction weights (sample weight times label weight), or None when both are absent.
    weights = None
    if sample_weight is not None:
        try:
            weights = jnp.broadcast_to(sample_weight, shape)
        except ValueError as e:
            raise ValueError(
                f"sample_weight of shape {tuple(sample_weight.shape)} does not broadcast to y_pred's "
                f"shape {tuple(shape)}."
            ) from e
    if label_weights is not None:
        label_weights = jnp.broadcast_to(jnp.asarray(label_weights, dtype)[None], shape)
        weights = label_weights if weights is None else weights * label_weights
    return weights


def _compared_counts(y_true, y_pred, weights, thresholds, multi_label):
    # Compare every prediction with every threshold: (T, N) or, multi-label, (T, N, L).
    if not multi_label:
        y_true, y_pred = y_true.reshape(-1), y_pred.reshape(-1)
        weights = None if weights is None else weights.reshape(-1)
    thresholds = thresholds.reshape((-1,) + (1,) * y_pred.ndim)
    pred_is_pos = y_pred[None] > thresholds
    label_is_pos = jnp.broadcast_to(y_true.astype(bool)[None], pred_is_pos.shape)

    def count(label, pred):
        hit = label & pred
        if weights is None:
            return jnp.sum(hit.astype(y_pred.dtype), axis=1)
        return jnp.sum(jnp.where(hit, weights[None], 0).astype(y_pred.dtype), axis=1)

    return {
        TRUE_POSITIVES: count(label_is_pos, pred_is_pos),
        FALSE_NEGATIVES: count(label_is_pos, ~pred_is_pos),
        FALSE_POSITIVES: count(~label_is_pos, pred_is_pos),
        TRUE_NEGATIVES: count(~label_is_pos, ~pred_is_pos),
    }


def _bucketed_counts(y_true, y_pred, weights, num_thresholds, multi_label, thresholds_with_epsilon):
    # Thresholds i / (n - 1): put each prediction in its bucket, then a reversed cumulative
    # sum over buckets counts the predictions above each threshold.
    weights = 1.0 if weights is None else weights.astype(y_true.dtype)
    y_pred = jnp.clip(y_pred, 0.0, 1.0)
    y_true = y_true.astype(bool).astype(y_true.dtype)
    if not multi_label:
        y_true, y_pred = y_true.reshape(-1), y_pred.reshape(-1)
        weights = weights if isinstance(weights, float) else weights.reshape(-1)
    true_labels = y_true * weights
    false_labels = (1.0 - y_true) * weights
    buckets = jnp.ceil(y_pred * jnp.asarray(num_thresholds - 1, y_pred.dtype)) - 1
    if thresholds_with_epsilon:
        buckets = jax.nn.relu(buckets)  # every prediction in [0, 1] is above the first threshold
    buckets = buckets.astype("int32")

    def above(labels):
        # Out-of-range bucket ids (-1: at or below the first threshold) are dropped, as in Keras.
        if multi_label:
            per_bucket = jax.vmap(lambda d, s: jax.ops.segment_sum(d, s, num_thresholds))(labels.T, buckets.T)
            return jnp.flip(jnp.cumsum(jnp.flip(per_bucket, 1), axis=1), 1).T
        per_bucket = jax.ops.segment_sum(labels, buckets, num_thresholds)
        return jnp.flip(jnp.cumsum(jnp.flip(per_bucket)))

    tp, fp = above(true_labels), above(false_labels)
    axis = 0 if multi_label else None
    return {
        TRUE_POSITIVES: tp,
        FALSE_POSITIVES: fp,
        TRUE_NEGATIVES: jnp.sum(false_labels, axis=axis) - fp,
        FALSE_NEGATIVES: jnp.sum(true_labels, axis=axis) - tp,
    }

"""Metric cases shared by the metric tests: our metric, the same Keras metric, and batches for both."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import dataclasses  # noqa: E402
from collections.abc import Callable  # noqa: E402

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

from workbench import metrics  # noqa: E402

B, C, T = 8, 4, 3  # batch, classes, time steps
ATOL = RTOL = 1e-5


def _binary(rng):
    return rng.integers(0, 2, (B, 1)).astype("float32"), rng.uniform(size=(B, 1)).astype("float32")


def _binary_flat(rng):
    return rng.integers(0, 2, (B,)).astype("float32"), rng.uniform(size=(B,)).astype("float32")


def _binary_matrix(rng):
    return rng.integers(0, 2, (B, C)).astype("float32"), rng.uniform(size=(B, C)).astype("float32")


def _edges(rng):
    # Predictions exactly on thresholds (0, 0.25, 0.5, 0.75, 1) and outside [0, 1].
    y_pred = rng.choice([-0.2, 0.0, 0.25, 0.5, 0.75, 1.0, 1.3], (B, C)).astype("float32")
    return rng.integers(0, 2, (B, C)).astype("float32"), y_pred


def _logits(rng):
    return rng.integers(0, 2, (B,)).astype("float32"), (rng.standard_normal((B,)) * 3).astype("float32")


def _onehot(rng):
    y_pred = rng.uniform(size=(B, C)).astype("float32")
    return np.eye(C, dtype="float32")[rng.integers(0, C, B)], y_pred


def _onehot_seq(rng):
    y_pred = rng.uniform(size=(B, T, C)).astype("float32")
    return np.eye(C, dtype="float32")[rng.integers(0, C, (B, T))], y_pred


def _sparse(rng):
    return rng.integers(0, C, (B,)), rng.uniform(size=(B, C)).astype("float32")


def _sparse_col(rng):
    return rng.integers(0, C, (B, 1)).astype("float32"), rng.uniform(size=(B, C)).astype("float32")


def _sparse_seq(rng):
    return rng.integers(0, C, (B, T)), rng.uniform(size=(B, T, C)).astype("float32")


def _sorted_ids(rng):
    return rng.integers(0, C, (B,)), np.stack([rng.permutation(C) for _ in range(B)]).astype("int32")


def _exact(rng):
    return rng.integers(0, 3, (B, 1)), rng.integers(0, 3, (B, 1))


def _regression(rng):
    return rng.standard_normal((B, 3)).astype("float32"), rng.standard_normal((B, 3)).astype("float32")


def _regression_positive(rng):
    y_true = rng.uniform(0.5, 2.0, (B, 3)).astype("float32")
    return y_true, rng.uniform(0.0, 2.0, (B, 3)).astype("float32")


def _distributions(rng):
    y_true, y_pred = rng.uniform(size=(B, C)), rng.uniform(size=(B, C))
    return (y_true / y_true.sum(-1, keepdims=True)).astype("float32"), (
        y_pred / y_pred.sum(-1, keepdims=True)
    ).astype("float32")


def _regression_flat(rng):
    return rng.standard_normal((B,)).astype("float32"), rng.standard_normal((B, 1)).astype("float32")


def _values(rng):
    return (rng.standard_normal((B, 3)).astype("float32"),)


def _sample_weight(rng):
    w = rng.uniform(0.0, 2.0, (B,)).astype("float32")
    w[rng.integers(0, B)] = 0.0
    return w


def _sample_weight_2d(rng):
    return rng.uniform(0.0, 2.0, (B, 3)).astype("float32")


def _abs_error(y_true, y_pred):
    return jax.numpy.abs(jax.numpy.asarray(y_true) - jax.numpy.asarray(y_pred))


@dataclasses.dataclass(frozen=True)
class Case:
    """One metric configuration: `ours()` and `theirs()` build it, `data(rng)` makes one batch's args."""

    id: str
    ours: Callable[[], metrics.Metric]
    theirs: Callable[[], keras.metrics.Metric]
    data: Callable
    weight: Callable = _sample_weight

    def batches(self, weighted: bool, seed: int = 0):
        """Two batches of (args, sample_weight), same shapes, different values."""
        rng = np.random.default_rng(seed)
        return [(self.data(rng), self.weight(rng) if weighted else None) for _ in range(2)]


def _case(id, ours, theirs, data, **kwargs):
    return Case(id, ours, theirs, data, **kwargs)


W, K = metrics, keras.metrics

REDUCTION_CASES = [
    _case("mean", lambda: W.Mean(), lambda: K.Mean(), _values),
    _case("mean-2d-weights", lambda: W.Mean(), lambda: K.Mean(), _values, weight=_sample_weight_2d),
    _case("sum", lambda: W.Sum(), lambda: K.Sum(), _values),
    _case("sum-2d-weights", lambda: W.Sum(), lambda: K.Sum(), _values, weight=_sample_weight_2d),
    _case(
        "wrapper",
        lambda: W.MeanMetricWrapper(_abs_error),
        lambda: K.MeanMetricWrapper(_abs_error),
        _regression,
    ),
]

ACCURACY_CASES = [
    _case("accuracy", lambda: W.Accuracy(), lambda: K.Accuracy(), _exact),
    _case("binary_accuracy", lambda: W.BinaryAccuracy(), lambda: K.BinaryAccuracy(), _binary),
    _case("binary_accuracy-flat", lambda: W.BinaryAccuracy(), lambda: K.BinaryAccuracy(), _binary_flat),
    _case(
        "binary_accuracy-t0.7",
        lambda: W.BinaryAccuracy(threshold=0.7),
        lambda: K.BinaryAccuracy(threshold=0.7),
        _binary_matrix,
    ),
    _case("categorical_accuracy", lambda: W.CategoricalAccuracy(), lambda: K.CategoricalAccuracy(), _onehot),
    _case(
        "categorical_accuracy-seq",
        lambda: W.CategoricalAccuracy(),
        lambda: K.CategoricalAccuracy(),
        _onehot_seq,
    ),
    _case(
        "sparse_categorical_accuracy",
        lambda: W.SparseCategoricalAccuracy(),
        lambda: K.SparseCategoricalAccuracy(),
        _sparse,
    ),
    _case(
        "sparse_categorical_accuracy-col",
        lambda: W.SparseCategoricalAccuracy(),
        lambda: K.SparseCategoricalAccuracy(),
        _sparse_col,
    ),
    _case(
        "sparse_categorical_accuracy-seq",
        lambda: W.SparseCategoricalAccuracy(),
        lambda: K.SparseCategoricalAccuracy(),
        _sparse_seq,
    ),
    _case("top_k-1", lambda: W.TopKCategoricalAccuracy(k=1), lambda: K.TopKCategoricalAccuracy(k=1), _onehot),
    _case(
        "top_k-3-seq",
        lambda: W.TopKCategoricalAccuracy(k=3),
        lambda: K.TopKCategoricalAccuracy(k=3),
        _onehot_seq,
    ),
    _case(
        "sparse_top_k-2",
        lambda: W.SparseTopKCategoricalAccuracy(k=2),
        lambda: K.SparseTopKCategoricalAccuracy(k=2),
        _sparse,
    ),
    _case(
        "sparse_top_k-2-seq",
        lambda: W.SparseTopKCategoricalAccuracy(k=2),
        lambda: K.SparseTopKCategoricalAccuracy(k=2),
        _sparse_seq,
    ),
    _case(
        "sparse_top_k-sorted_ids",
        lambda: W.SparseTopKCategoricalAccuracy(k=2, from_sorted_ids=True),
        lambda: K.SparseTopKCategoricalAccuracy(k=2, from_sorted_ids=True),
        _sorted_ids,
    ),
]

CONFUSION_CASES = [
    _case("true_positives", lambda: W.TruePositives(), lambda: K.TruePositives(), _binary),
    _case(
        "false_positives-list",
        lambda: W.FalsePositives([0.2, 0.6]),
        lambda: K.FalsePositives([0.2, 0.6]),
        _binary_matrix,
    ),
    _case("true_negatives", lambda: W.TrueNegatives(0.3), lambda: K.TrueNegatives(0.3), _binary_flat),
    _case(
        "false_negatives-edges",
        lambda: W.FalseNegatives([0.0, 0.5, 1.0]),
        lambda: K.FalseNegatives([0.0, 0.5, 1.0]),
        _edges,
    ),
    _case("precision", lambda: W.Precision(), lambda: K.Precision(), _binary),
    _case(
        "precision-list",
        lambda: W.Precision([0.3, 0.5, 0.8]),
        lambda: K.Precision([0.3, 0.5, 0.8]),
        _binary_matrix,
    ),
    _case(
        "precision-even",
        lambda: W.Precision([0.0, 0.25, 0.5, 0.75, 1.0]),
        lambda: K.Precision([0.0, 0.25, 0.5, 0.75, 1.0]),
        _edges,
    ),
    _case("precision-edges", lambda: W.Precision(0.5), lambda: K.Precision(0.5), _edges),
    _case("precision-top_k", lambda: W.Precision(top_k=2), lambda: K.Precision(top_k=2), _binary_matrix),
    _case(
        "precision-class_id", lambda: W.Precision(class_id=1), lambda: K.Precision(class_id=1), _binary_matrix
    ),
    _case(
        "precision-top_k-class_id-thresholds",
        lambda: W.Precision(thresholds=[0.1, 0.6], top_k=2, class_id=2),
        lambda: K.Precision(thresholds=[0.1, 0.6], top_k=2, class_id=2),
        _binary_matrix,
    ),
    _case("recall", lambda: W.Recall(), lambda: K.Recall(), _binary_flat),
    _case(
        "recall-list", lambda: W.Recall([0.3, 0.5, 0.8]), lambda: K.Recall([0.3, 0.5, 0.8]), _binary_matrix
    ),
    _case("recall-even", lambda: W.Recall([0.0, 0.5, 1.0]), lambda: K.Recall([0.0, 0.5, 1.0]), _edges),
    _case("recall-top_k", lambda: W.Recall(top_k=1), lambda: K.Recall(top_k=1), _binary_matrix),
    _case("recall-class_id", lambda: W.Recall(class_id=3), lambda: K.Recall(class_id=3), _binary_matrix),
]

AUC_CASES = [
    _case("auc-roc", lambda: W.AUC(), lambda: K.AUC(), _binary_matrix),
    _case("auc-roc-edges", lambda: W.AUC(num_thresholds=5), lambda: K.AUC(num_thresholds=5), _edges),
    _case("auc-pr", lambda: W.AUC(curve="PR"), lambda: K.AUC(curve="PR"), _binary_matrix),
    _case(
        "auc-pr-edges",
        lambda: W.AUC(curve="PR", num_thresholds=9),
        lambda: K.AUC(curve="PR", num_thresholds=9),
        _edges,
    ),
    _case(
        "auc-pr-minoring",
        lambda: W.AUC(num_thresholds=50, curve="pr", summation_method="minoring"),
        lambda: K.AUC(num_thresholds=50, curve="pr", summation_method="minoring"),
        _binary,
    ),
    _case(
        "auc-roc-majoring",
        lambda: W.AUC(num_thresholds=20, summation_method="majoring"),
        lambda: K.AUC(num_thresholds=20, summation_method="majoring"),
        _binary_flat,
    ),
    _case("auc-prgain", lambda: W.AUC(curve="PRGAIN"), lambda: K.AUC(curve="PRGAIN"), _binary_matrix),
    _case(
        "auc-thresholds",
        lambda: W.AUC(thresholds=[0.7, 0.2, 0.45]),
        lambda: K.AUC(thresholds=[0.7, 0.2, 0.45]),
        _binary_matrix,
    ),
    _case(
        "auc-even-thresholds",
        lambda: W.AUC(thresholds=[0.25, 0.5, 0.75], curve="PR"),
        lambda: K.AUC(thresholds=[0.25, 0.5, 0.75], curve="PR"),
        _edges,
    ),
    _case("auc-from_logits", lambda: W.AUC(from_logits=True), lambda: K.AUC(from_logits=True), _logits),
    _case(
        "auc-label_weights",
        lambda: W.AUC(label_weights=[0.5, 1.0, 2.0, 0.0]),
        lambda: K.AUC(label_weights=[0.5, 1.0, 2.0, 0.0]),
        _binary_matrix,
    ),
    _case(
        "auc-multi_label", lambda: W.AUC(multi_label=True), lambda: K.AUC(multi_label=True), _binary_matrix
    ),
    _case(
        "auc-multi_label-pr-weights",
        lambda: W.AUC(curve="PR", multi_label=True, num_labels=C, label_weights=[1.0, 2.0, 0.5, 1.0]),
        lambda: K.AUC(curve="PR", multi_label=True, num_labels=C, label_weights=[1.0, 2.0, 0.5, 1.0]),
        _binary_matrix,
    ),
    _case(
        "auc-multi_label-thresholds",
        lambda: W.AUC(multi_label=True, thresholds=[0.3, 0.6]),
        lambda: K.AUC(multi_label=True, thresholds=[0.3, 0.6]),
        _binary_matrix,
    ),
]

F_SCORE_CASES = [
    _case("f1", lambda: W.F1Score(), lambda: K.F1Score(), _binary_matrix),
    _case(
        "f1-micro-threshold", lambda: W.F1Score("micro", 0.5), lambda: K.F1Score("micro", 0.5), _binary_matrix
    ),
    _case("f1-macro", lambda: W.F1Score("macro"), lambda: K.F1Score("macro"), _onehot),
    _case(
        "f1-weighted-threshold",
        lambda: W.F1Score("weighted", 0.4),
        lambda: K.F1Score("weighted", 0.4),
        _binary_matrix,
    ),
    _case("fbeta-2", lambda: W.FBetaScore(beta=2.0), lambda: K.FBetaScore(beta=2.0), _binary_matrix),
    _case(
        "fbeta-0.5-weighted",
        lambda: W.FBetaScore("weighted", beta=0.5, threshold=0.3),
        lambda: K.FBetaScore("weighted", beta=0.5, threshold=0.3),
        _binary_matrix,
    ),
]

REGRESSION_CASES = [
    _case("mse", lambda: W.MeanSquaredError(), lambda: K.MeanSquaredError(), _regression),
    _case("mse-flat", lambda: W.MeanSquaredError(), lambda: K.MeanSquaredError(), _regression_flat),
    _case("rmse", lambda: W.RootMeanSquaredError(), lambda: K.RootMeanSquaredError(), _regression),
    _case("rmse-flat", lambda: W.RootMeanSquaredError(), lambda: K.RootMeanSquaredError(), _regression_flat),
    _case("mae", lambda: W.MeanAbsoluteError(), lambda: K.MeanAbsoluteError(), _regression),
    _case(
        "mape",
        lambda: W.MeanAbsolutePercentageError(),
        lambda: K.MeanAbsolutePercentageError(),
        _regression_positive,
    ),
    _case(
        "msle",
        lambda: W.MeanSquaredLogarithmicError(),
        lambda: K.MeanSquaredLogarithmicError(),
        _regression_positive,
    ),
    _case("logcosh", lambda: W.LogCoshError(), lambda: K.LogCoshError(), _regression),
    _case("cosine", lambda: W.CosineSimilarity(), lambda: K.CosineSimilarity(), _regression),
    _case("r2", lambda: W.R2Score(), lambda: K.R2Score(), _regression),
    _case("r2-flat", lambda: W.R2Score(), lambda: K.R2Score(), _regression_flat),
    _case(
        "r2-variance_weighted",
        lambda: W.R2Score("variance_weighted_average"),
        lambda: K.R2Score("variance_weighted_average"),
        _regression,
    ),
    _case(
        "r2-none-adjusted",
        lambda: W.R2Score(None, num_regressors=2),
        lambda: K.R2Score(None, num_regressors=2),
        _regression,
    ),
]

PROBABILISTIC_CASES = [
    _case("kl_divergence", lambda: W.KLDivergence(), lambda: K.KLDivergence(), _distributions),
    _case("poisson", lambda: W.Poisson(), lambda: K.Poisson(), _regression_positive),
    _case("bce", lambda: W.BinaryCrossentropy(), lambda: K.BinaryCrossentropy(), _binary_matrix),
    _case(
        "bce-logits-smoothing",
        lambda: W.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
        lambda: K.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
        _binary,
    ),
    _case("cce", lambda: W.CategoricalCrossentropy(), lambda: K.CategoricalCrossentropy(), _onehot),
    _case(
        "cce-logits-smoothing-seq",
        lambda: W.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2),
        lambda: K.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2),
        _onehot_seq,
    ),
    _case(
        "scce", lambda: W.SparseCategoricalCrossentropy(), lambda: K.SparseCategoricalCrossentropy(), _sparse
    ),
    _case(
        "scce-logits-ignore_class",
        lambda: W.SparseCategoricalCrossentropy(from_logits=True, ignore_class=1),
        lambda: K.SparseCategoricalCrossentropy(from_logits=True, ignore_class=1),
        _sparse,
    ),
    _case(
        "scce-seq",
        lambda: W.SparseCategoricalCrossentropy(from_logits=True),
        lambda: K.SparseCategoricalCrossentropy(from_logits=True),
        _sparse_seq,
    ),
    _case("hinge", lambda: W.Hinge(), lambda: K.Hinge(), _binary_matrix),
    _case("squared_hinge", lambda: W.SquaredHinge(), lambda: K.SquaredHinge(), _binary_matrix),
    _case("categorical_hinge", lambda: W.CategoricalHinge(), lambda: K.CategoricalHinge(), _onehot),
]

CASES = (
    REDUCTION_CASES
    + ACCURACY_CASES
    + CONFUSION_CASES
    + AUC_CASES
    + F_SCORE_CASES
    + REGRESSION_CASES
    + PROBABILISTIC_CASES
)

# One case per family of metric code, plus the variants whose state or arguments differ in shape
# (the remaining classes reuse these code paths with another function or count).
SAME_CODE = {
    W.FalsePositives,
    W.TrueNegatives,
    W.FalseNegatives,
    W.FBetaScore,
    W.MeanAbsoluteError,
    W.MeanAbsolutePercentageError,
    W.MeanSquaredLogarithmicError,
    W.LogCoshError,
    W.Sum,
    W.KLDivergence,
    W.Poisson,
    W.CategoricalCrossentropy,
    W.Hinge,
    W.SquaredHinge,
    W.CategoricalHinge,
}
VARIANTS = {
    "mean-2d-weights",
    "sparse_top_k-sorted_ids",
    "precision-even",
    "precision-top_k-class_id-thresholds",
    "auc-pr",
    "auc-thresholds",
    "auc-multi_label",
    "auc-multi_label-pr-weights",
    "f1-micro-threshold",
    "r2-none-adjusted",
    "scce-logits-ignore_class",
}
_seen: set = set(SAME_CODE)
CORE_CASES = []
for _case in CASES:
    _cls = type(_case.ours())
    if _cls not in _seen or _case.id in VARIANTS:
        _seen.add(_cls)
        CORE_CASES.append(_case)


def built_metric(case, args):
    """Our metric of `case`, built for batches like `args` (so that `init()` can run)."""
    m = case.ours()
    if not m.built:
        m.build(jax.numpy.shape(args[0]), jax.numpy.shape(args[-1]))
    return m


def update_all(metric, batches):
    """Feed every batch to a stateful metric (ours or Keras') and return its result as numpy."""
    for args, sample_weight in batches:
        metric.update_state(*args, sample_weight=sample_weight)
    return np.asarray(metric.result())


def ids(cases):
    return [c.id for c in cases]


def assert_matches_keras(case, weighted, seed=0):
    """Two batches through our metric and Keras': same result, same accumulators under the same names."""
    batches = case.batches(weighted, seed)
    ours, theirs = case.ours(), case.theirs()
    assert_close(update_all(ours, batches), update_all(theirs, batches))
    keras_state = {v.name: np.asarray(v.value) for v in theirs.variables}
    assert sorted(ours.state) == sorted(keras_state)
    for name, value in keras_state.items():
        assert_close(ours.state[name], value)


def assert_close(ours, theirs, atol=ATOL, rtol=RTOL):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape, f"shape {ours.shape} vs Keras' {theirs.shape}"
    np.testing.assert_allclose(ours, theirs, atol=atol, rtol=rtol)

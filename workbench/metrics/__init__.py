"""Metrics with the names, arguments and numerics of `keras.metrics`, each a pure core plus a stateful shell.

A metric object holds only its configuration. Its accumulators are a pytree,
handled by four pure methods the trainer runs inside `jax.jit(lax.scan(...))`:

    state = m.init()
    state = m.update(state, y_true, y_pred, sample_weight=None)
    value = m.compute(state)
    state = m.merge(state_a, state_b)      # for data-parallel reduction

and the Keras methods (`update_state`, `result`, `reset_state`, calling the
metric, `get_config`/`from_config`) are built on them.

>>> import jax, jax.numpy as jnp
>>> from workbench import metrics
>>> m = metrics.get("auc")
>>> y_true = jnp.array([[0.0, 1.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0]])
>>> y_pred = jnp.array([[0.1, 0.8, 0.6, 0.3], [0.7, 0.9, 0.2, 0.4]])
>>> def scan_step(state, batch):
...     return m.update(state, *batch), None
>>> state, _ = jax.jit(lambda s, b: jax.lax.scan(scan_step, s, b))(m.init(), (y_true, y_pred))
>>> float(m.compute(state))
1.0
"""

from workbench.losses import (
    binary_crossentropy,
    categorical_crossentropy,
    categorical_hinge,
    hinge,
    kl_divergence,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)
from workbench.metrics.accuracy import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from workbench.metrics.auc import AUC
from workbench.metrics.base import Metric
from workbench.metrics.confusion import (
    FalseNegatives,
    FalsePositives,
    Precision,
    Recall,
    TrueNegatives,
    TruePositives,
)
from workbench.metrics.f_score import F1Score, FBetaScore
from workbench.metrics.hinge import CategoricalHinge, Hinge, SquaredHinge
from workbench.metrics.probabilistic import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
)
from workbench.metrics.reduction import Mean, MeanMetricWrapper, Sum
from workbench.metrics.registry import deserialize, get, resolve_accuracy, serialize
from workbench.metrics.regression import (
    CosineSimilarity,
    LogCoshError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    R2Score,
    RootMeanSquaredError,
    cosine_similarity,
)

__all__ = [
    "AUC",
    "Accuracy",
    "BinaryAccuracy",
    "BinaryCrossentropy",
    "CategoricalAccuracy",
    "CategoricalCrossentropy",
    "CategoricalHinge",
    "CosineSimilarity",
    "F1Score",
    "FBetaScore",
    "FalseNegatives",
    "FalsePositives",
    "Hinge",
    "KLDivergence",
    "LogCoshError",
    "Mean",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanMetricWrapper",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Metric",
    "Poisson",
    "Precision",
    "R2Score",
    "Recall",
    "RootMeanSquaredError",
    "SparseCategoricalAccuracy",
    "SparseCategoricalCrossentropy",
    "SparseTopKCategoricalAccuracy",
    "SquaredHinge",
    "Sum",
    "TopKCategoricalAccuracy",
    "TrueNegatives",
    "TruePositives",
    "accuracy",
    "binary_accuracy",
    "binary_crossentropy",
    "categorical_accuracy",
    "categorical_crossentropy",
    "categorical_hinge",
    "cosine_similarity",
    "deserialize",
    "get",
    "hinge",
    "kl_divergence",
    "log_cosh",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "poisson",
    "resolve_accuracy",
    "serialize",
    "sparse_categorical_accuracy",
    "sparse_categorical_crossentropy",
    "sparse_top_k_categorical_accuracy",
    "squared_hinge",
    "top_k_categorical_accuracy",
]

"""Losses with the names, arguments and numerics of `keras.losses`.

A loss is either a function `fn(y_true, y_pred) -> per-sample values` or a `Loss` object
whose `__call__(y_true, y_pred, sample_weight=None)` weights and reduces those values to a
scalar, exactly as Keras 3 does. `get` accepts either by name, so `compile(loss=...)` takes
what Keras takes:

>>> import jax.numpy as jnp
>>> from workbench import losses
>>> y_true, y_pred = jnp.array([[0.0, 1.0]]), jnp.array([[0.4, 0.6]])
>>> losses.get("mse")(y_true, y_pred).shape  # a function: one value per sample
(1,)
>>> round(float(losses.get("MeanSquaredError")(y_true, y_pred)), 4)  # an object: reduced
0.16

Everything is a pure function of its inputs, so it runs inside `jax.jit`.
"""

from workbench.losses._base import Loss, LossFunctionWrapper
from workbench.losses._checks import check_sparse_labels
from workbench.losses._classes import (
    BinaryCrossentropy,
    BinaryFocalCrossentropy,
    CategoricalCrossentropy,
    CategoricalFocalCrossentropy,
    CategoricalHinge,
    CosineSimilarity,
    Hinge,
    Huber,
    KLDivergence,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Poisson,
    SparseCategoricalCrossentropy,
    SquaredHinge,
)
from workbench.losses._functions import (
    BCE,
    KLD,
    MAE,
    MAPE,
    MSE,
    MSLE,
    bce,
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_hinge,
    cosine_similarity,
    hinge,
    huber,
    kl_divergence,
    kld,
    kullback_leibler_divergence,
    log_cosh,
    logcosh,
    mae,
    mape,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    mse,
    msle,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)
from workbench.losses._lookup import deserialize, get, serialize
from workbench.losses._reduction import reduce_weighted_values, squeeze_or_expand_to_same_rank

__all__ = [
    "BCE",
    "KLD",
    "MAE",
    "MAPE",
    "MSE",
    "MSLE",
    "BinaryCrossentropy",
    "BinaryFocalCrossentropy",
    "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy",
    "CategoricalHinge",
    "CosineSimilarity",
    "Hinge",
    "Huber",
    "KLDivergence",
    "LogCosh",
    "Loss",
    "LossFunctionWrapper",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Poisson",
    "SparseCategoricalCrossentropy",
    "SquaredHinge",
    "bce",
    "binary_crossentropy",
    "binary_focal_crossentropy",
    "categorical_crossentropy",
    "categorical_focal_crossentropy",
    "categorical_hinge",
    "check_sparse_labels",
    "cosine_similarity",
    "deserialize",
    "get",
    "hinge",
    "huber",
    "kl_divergence",
    "kld",
    "kullback_leibler_divergence",
    "log_cosh",
    "logcosh",
    "mae",
    "mape",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "mse",
    "msle",
    "poisson",
    "reduce_weighted_values",
    "serialize",
    "sparse_categorical_crossentropy",
    "squared_hinge",
    "squeeze_or_expand_to_same_rank",
]

"""Accuracy metrics: exact match, thresholded binary, categorical (one-hot or sparse), and top-k.

Each is a per-sample function (usable on its own) wrapped in a
`MeanMetricWrapper`, with Keras' names, defaults and shape rules.

>>> from workbench import metrics
>>> m = metrics.SparseCategoricalAccuracy()
>>> float(m([2, 1], [[0.1, 0.6, 0.3], [0.05, 0.95, 0.0]]))
0.5
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from workbench import config
from workbench.metrics.base import squeeze_or_expand_to_same_rank
from workbench.metrics.reduction import MeanMetricWrapper, register_function


def _floatx(x: jax.Array) -> jax.Array:
    return x.astype(config.floatx())


def _in_top_k(targets: jax.Array, predictions: jax.Array, k: int) -> jax.Array:
    # A target is in the top k when fewer than k scores beat it (ties count in its favour);
    # a NaN score at the target never does.
    at_target = jnp.take_along_axis(predictions, targets[..., None], axis=-1)
    at_target = jnp.where(jnp.isnan(at_target), -jnp.inf, at_target)
    return 1 + jnp.sum(predictions > at_target, axis=-1) <= k


@register_function
def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """1.0 where `y_pred` equals `y_true` exactly, else 0.0."""
    y_pred = jnp.asarray(y_pred)
    y_true = jnp.asarray(y_true, y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return _floatx(y_true == y_pred)


@register_function
def binary_accuracy(y_true: ArrayLike, y_pred: ArrayLike, threshold: float = 0.5) -> jax.Array:
    """1.0 where `y_pred > threshold` agrees with the 0/1 label `y_true`."""
    y_pred, y_true = jnp.asarray(y_pred), jnp.asarray(y_true)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    y_pred = (y_pred > jnp.asarray(threshold)).astype(y_true.dtype)
    return _floatx(y_true == y_pred)


@register_function
def categorical_accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """1.0 where the argmax of `y_pred` is the argmax of the one-hot `y_true`."""
    y_pred = jnp.asarray(y_pred)
    y_true = jnp.argmax(jnp.asarray(y_true), axis=-1).astype(y_pred.dtype)
    original_shape = y_true.shape
    reshape_matches = y_true.ndim == y_pred.ndim
    if reshape_matches:
        y_true = jnp.squeeze(y_true, -1)
    matches = _floatx(y_true == jnp.argmax(y_pred, axis=-1).astype(y_true.dtype))
    return matches.reshape(original_shape) if reshape_matches else matches


@register_function
def sparse_categorical_accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """1.0 where the argmax of `y_pred` is the integer label `y_true`."""
    y_pred = jnp.asarray(y_pred)
    y_true = jnp.asarray(y_true, y_pred.dtype)
    original_shape = y_true.shape
    reshape_matches = y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1
    if reshape_matches:
        y_true = jnp.squeeze(y_true, -1)
    matches = _floatx(y_true == jnp.argmax(y_pred, axis=-1).astype(y_true.dtype))
    if reshape_matches:
        matches = matches.reshape(original_shape)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = jnp.squeeze(matches, -1)
    return matches


@register_function
def top_k_categorical_accuracy(y_true: ArrayLike, y_pred: ArrayLike, k: int = 5) -> jax.Array:
    """1.0 where the one-hot `y_true`'s class is among the `k` largest scores of `y_pred`."""
    y_pred = jnp.asarray(y_pred)
    y_true = jnp.argmax(jnp.asarray(y_true, y_pred.dtype), axis=-1)
    original_shape = y_true.shape
    if y_pred.ndim > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    if y_true.ndim > 1:
        y_true = y_true.reshape(-1)
    matches = _floatx(_in_top_k(y_true.astype("int32"), y_pred, k))
    return matches.reshape(original_shape) if len(original_shape) > 1 else matches


@register_function
def sparse_top_k_categorical_accuracy(
    y_true: ArrayLike, y_pred: ArrayLike, k: int = 5, from_sorted_ids: bool = False
) -> jax.Array:
    """1.0 where the integer label `y_true` is among the `k` largest scores of `y_pred`.

    With `from_sorted_ids=True`, `y_pred` holds class ids sorted by score
    (best first) instead of scores.
    """
    y_pred = jnp.asarray(y_pred)
    y_true = jnp.asarray(y_true).astype(y_pred.dtype if from_sorted_ids else "int32")
    original_shape = y_true.shape
    if y_pred.ndim > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    if y_true.ndim > 1:
        y_true = y_true.reshape(-1)
    if from_sorted_ids:
        matches = jnp.any(y_true[:, None] == y_pred[:, :k], axis=1)
    else:
        matches = _in_top_k(y_true, y_pred, k)
    matches = _floatx(matches)
    return matches.reshape(original_shape) if len(original_shape) > 1 else matches


class Accuracy(MeanMetricWrapper):
    """How often `y_pred` equals `y_true` exactly.

    >>> float(Accuracy()([[1], [2], [3], [4]], [[0], [2], [3], [4]]))
    0.75
    """

    def __init__(self, name: str = "accuracy", dtype: Any = None):
        super().__init__(fn=accuracy, name=name, dtype=dtype)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}


class BinaryAccuracy(MeanMetricWrapper):
    """How often `y_pred > threshold` matches the binary labels.

    >>> float(BinaryAccuracy()([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]]))
    0.75
    """

    def __init__(self, name: str = "binary_accuracy", dtype: Any = None, threshold: float = 0.5):
        super().__init__(fn=binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "threshold": self.threshold}


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the predicted class (argmax) matches one-hot labels.

    >>> float(CategoricalAccuracy()([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]))
    0.5
    """

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None):
        super().__init__(fn=categorical_accuracy, name=name, dtype=dtype)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the predicted class (argmax) matches integer labels.

    >>> float(SparseCategoricalAccuracy()([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]]))
    0.5
    """

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None):
        super().__init__(fn=sparse_categorical_accuracy, name=name, dtype=dtype)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label's class is among the `k` highest scores.

    >>> m = TopKCategoricalAccuracy(k=1)
    >>> float(m([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]))
    0.5
    """

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype: Any = None):
        super().__init__(fn=top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "k": self.k}


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the `k` highest scores.

    >>> m = SparseTopKCategoricalAccuracy(k=1)
    >>> float(m([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]))
    0.5
    """

    def __init__(
        self,
        k: int = 5,
        name: str = "sparse_top_k_categorical_accuracy",
        dtype: Any = None,
        from_sorted_ids: bool = False,
    ):
        super().__init__(
            fn=sparse_top_k_categorical_accuracy,
            name=name,
            dtype=dtype,
            k=k,
            from_sorted_ids=from_sorted_ids,
        )
        self.k = k
        self.from_sorted_ids = from_sorted_ids

    def get_config(self) -> dict:
        config = {"name": self.name, "dtype": self.dtype, "k": self.k}
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config

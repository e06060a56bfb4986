"""Cross-entropies, KL divergence and Poisson as metrics: means of `workbench.losses` functions.

>>> from workbench import metrics
>>> round(float(metrics.BinaryCrossentropy()([[0.0, 1.0]], [[0.2, 0.7]])), 4)
0.2899
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from workbench import losses
from workbench.metrics.base import State, squeeze_or_expand_to_same_rank
from workbench.metrics.reduction import MeanMetricWrapper, register_function

for _fn in (
    losses.binary_crossentropy,
    losses.categorical_crossentropy,
    losses.sparse_categorical_crossentropy,
    losses.kl_divergence,
    losses.poisson,
):
    register_function(_fn)


class KLDivergence(MeanMetricWrapper):
    """The mean Kullback-Leibler divergence between `y_true` and `y_pred` distributions."""

    def __init__(self, name: str = "kl_divergence", dtype: Any = None):
        super().__init__(losses.kl_divergence, name=name, dtype=dtype)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}


class Poisson(MeanMetricWrapper):
    """The mean Poisson loss, y_pred - y_true * log(y_pred), for count data."""

    def __init__(self, name: str = "poisson", dtype: Any = None):
        super().__init__(losses.poisson, name=name, dtype=dtype)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}


class BinaryCrossentropy(MeanMetricWrapper):
    """The mean binary cross-entropy of 0/1 labels; `y_pred` holds probabilities, or logits with `from_logits`."""

    def __init__(
        self,
        name: str = "binary_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        label_smoothing: float = 0,
    ):
        super().__init__(
            losses.binary_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
        )
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "dtype": self.dtype,
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
        }


class CategoricalCrossentropy(MeanMetricWrapper):
    """The mean categorical cross-entropy of one-hot labels along `axis`."""

    def __init__(
        self,
        name: str = "categorical_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        label_smoothing: float = 0,
        axis: int = -1,
    ):
        super().__init__(
            losses.categorical_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "dtype": self.dtype,
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": self.axis,
        }


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """The mean categorical cross-entropy of integer labels.

    With `ignore_class`, entries of that label contribute 0; as in Keras they
    still count in the mean unless a `sample_weight` is given, which they
    are then masked out of.
    """

    def __init__(
        self,
        name: str = "sparse_categorical_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        ignore_class: int | None = None,
        axis: int = -1,
    ):
        super().__init__(
            losses.sparse_categorical_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            ignore_class=ignore_class,
            axis=axis,
        )
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis

    def update(self, state: State, y_true: Any, y_pred: Any, sample_weight: Any = None) -> State:
        if self.ignore_class is not None and sample_weight is not None:
            y_pred = jnp.asarray(y_pred)
            class_axis = self.axis % y_pred.ndim
            per_entry = tuple(d for i, d in enumerate(y_pred.shape) if i != class_axis)
            valid = (jnp.asarray(y_true) != self.ignore_class).reshape(per_entry).astype(self.dtype)
            valid, sample_weight = squeeze_or_expand_to_same_rank(
                valid, jnp.asarray(sample_weight).astype(self.dtype)
            )
            # Per-sample weights of sequences apply to every step (Keras fails to broadcast them here).
            sample_weight = sample_weight.reshape(
                sample_weight.shape + (1,) * (valid.ndim - sample_weight.ndim)
            )
            sample_weight = sample_weight * valid
        return super().update(state, y_true, y_pred, sample_weight=sample_weight)

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "dtype": self.dtype,
            "from_logits": self.from_logits,
            "ignore_class": self.ignore_class,
            "axis": self.axis,
        }

"""The built-in loss classes, with Keras 3's names, constructor signatures and defaults.

Each wraps the function of the same name in `_functions.py`; `get_config` holds every
constructor argument, so `from_config(get_config())` rebuilds an equal loss.
"""

from __future__ import annotations

from typing import Any

import jax

from workbench.losses import _functions as F
from workbench.losses._base import Loss, LossFunctionWrapper

_DEFAULT = "sum_over_batch_size"


def _check_label_smoothing(cls_name: str, label_smoothing: float) -> None:
    if not 0.0 <= float(label_smoothing) <= 1.0:
        raise ValueError(f"{cls_name} expects label_smoothing in [0, 1]; got {label_smoothing!r}.")


class _BuiltinLoss(LossFunctionWrapper):
    """A LossFunctionWrapper whose config is its constructor arguments rather than a function."""

    _config_keys: tuple[str, ...] = ()

    def __init__(self, fn, reduction, name, dtype, **kwargs: Any):
        super().__init__(fn, reduction=reduction, name=name, dtype=dtype, **kwargs)
        for key, value in kwargs.items():
            setattr(self, key, value)

    def get_config(self) -> dict[str, Any]:
        """Name, reduction and this loss's own arguments (Keras' keys)."""
        cfg = Loss.get_config(self)
        cfg.update({key: getattr(self, key) for key in self._config_keys})
        return cfg

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        """The loss rebuilt from `get_config()` output."""
        return cls(**config)

    __repr__ = Loss.__repr__


class MeanSquaredError(_BuiltinLoss):
    """mean((y_true - y_pred)**2) over the last axis, then reduced over the batch."""

    def __init__(self, reduction: str | None = _DEFAULT, name: str = "mean_squared_error", dtype: Any = None):
        super().__init__(F.mean_squared_error, reduction, name, dtype)


class MeanAbsoluteError(_BuiltinLoss):
    """mean(|y_true - y_pred|) over the last axis, then reduced over the batch."""

    def __init__(
        self, reduction: str | None = _DEFAULT, name: str = "mean_absolute_error", dtype: Any = None
    ):
        super().__init__(F.mean_absolute_error, reduction, name, dtype)


class MeanAbsolutePercentageError(_BuiltinLoss):
    """100 * mean(|y_true - y_pred| / max(|y_true|, epsilon))."""

    def __init__(
        self,
        reduction: str | None = _DEFAULT,
        name: str = "mean_absolute_percentage_error",
        dtype: Any = None,
    ):
        super().__init__(F.mean_absolute_percentage_error, reduction, name, dtype)


class MeanSquaredLogarithmicError(_BuiltinLoss):
    """mean((log(y_pred + 1) - log(y_true + 1))**2)."""

    def __init__(
        self,
        reduction: str | None = _DEFAULT,
        name: str = "mean_squared_logarithmic_error",
        dtype: Any = None,
    ):
        super().__init__(F.mean_squared_logarithmic_error, reduction, name, dtype)


class CosineSimilarity(_BuiltinLoss):
    """Negative cosine similarity along `axis`: -1 for aligned vectors, 0 for orthogonal or zero ones."""

    _config_keys = ("axis",)

    def __init__(
        self,
        axis: int = -1,
        reduction: str | None = _DEFAULT,
        name: str = "cosine_similarity",
        dtype: Any = None,
    ):
        super().__init__(F.cosine_similarity, reduction, name, dtype, axis=axis)


class Huber(_BuiltinLoss):
    """Quadratic for errors up to `delta`, linear beyond: robust to outliers."""

    _config_keys = ("delta",)

    def __init__(
        self,
        delta: float = 1.0,
        reduction: str | None = _DEFAULT,
        name: str = "huber_loss",
        dtype: Any = None,
    ):
        super().__init__(F.huber, reduction, name, dtype, delta=delta)


class LogCosh(_BuiltinLoss):
    """mean(log(cosh(y_pred - y_true))): quadratic for small errors, linear for large."""

    def __init__(self, reduction: str | None = _DEFAULT, name: str = "log_cosh", dtype: Any = None):
        super().__init__(F.log_cosh, reduction, name, dtype)


class Hinge(_BuiltinLoss):
    """mean(max(1 - y_true * y_pred, 0)); labels in {-1, 1}, or 0/1 which are converted."""

    def __init__(self, reduction: str | None = _DEFAULT, name: str = "hinge", dtype: Any = None):
        super().__init__(F.hinge, reduction, name, dtype)


class SquaredHinge(_BuiltinLoss):
    """mean(max(1 - y_true * y_pred, 0)**2); labels in {-1, 1}, or 0/1 which are converted."""

    def __init__(self, reduction: str | None = _DEFAULT, name: str = "squared_hinge", dtype: Any = None):
        super().__init__(F.squared_hinge, reduction, name, dtype)


class CategoricalHinge(_BuiltinLoss):
    """max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0) for one-hot labels."""

    def __init__(self, reduction: str | None = _DEFAULT, name: str = "categorical_hinge", dtype: Any = None):
        super().__init__(F.categorical_hinge, reduction, name, dtype)


class KLDivergence(_BuiltinLoss):
    """Kullback-Leibler divergence sum(y_true * log(y_true / y_pred)) of two distributions."""

    def __init__(self, reduction: str | None = _DEFAULT, name: str = "kl_divergence", dtype: Any = None):
        super().__init__(F.kl_divergence, reduction, name, dtype)


class Poisson(_BuiltinLoss):
    """mean(y_pred - y_true * log(y_pred + epsilon)), for count data."""

    def __init__(self, reduction: str | None = _DEFAULT, name: str = "poisson", dtype: Any = None):
        super().__init__(F.poisson, reduction, name, dtype)


class BinaryCrossentropy(_BuiltinLoss):
    """Cross-entropy of 0/1 labels against probabilities (or logits with `from_logits=True`).

    `label_smoothing` s squeezes the labels towards 0.5: y * (1 - s) + 0.5 * s.

    >>> import jax.numpy as jnp
    >>> loss = BinaryCrossentropy(from_logits=True)
    >>> round(float(loss(jnp.array([[0.0, 1.0]]), jnp.array([[-2.0, 2.0]]))), 4)
    0.1269
    """

    _config_keys = ("from_logits", "label_smoothing", "axis")

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str | None = _DEFAULT,
        name: str = "binary_crossentropy",
        dtype: Any = None,
    ):
        _check_label_smoothing(type(self).__name__, label_smoothing)
        super().__init__(
            F.binary_crossentropy, reduction, name, dtype,
            from_logits=from_logits, label_smoothing=label_smoothing, axis=axis,
        )  # fmt: skip


class BinaryFocalCrossentropy(_BuiltinLoss):
    """Binary cross-entropy scaled by (1 - p_t)**gamma so that easy examples count less.

    With `apply_class_balancing=True` class 1 is also weighted by `alpha` and class 0 by `1 - alpha`.
    """

    _config_keys = ("from_logits", "label_smoothing", "axis", "apply_class_balancing", "alpha", "gamma")

    def __init__(
        self,
        apply_class_balancing: bool = False,
        alpha: float = 0.25,
        gamma: float = 2.0,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str | None = _DEFAULT,
        name: str = "binary_focal_crossentropy",
        dtype: Any = None,
    ):
        _check_label_smoothing(type(self).__name__, label_smoothing)
        super().__init__(
            F.binary_focal_crossentropy, reduction, name, dtype,
            apply_class_balancing=apply_class_balancing, alpha=alpha, gamma=gamma,
            from_logits=from_logits, label_smoothing=label_smoothing, axis=axis,
        )  # fmt: skip


class CategoricalCrossentropy(_BuiltinLoss):
    """Cross-entropy of one-hot labels against a distribution over classes (or logits).

    `label_smoothing` s gives the target class 1 - s + s / num_classes and the others s / num_classes.

    >>> import jax.numpy as jnp
    >>> loss = CategoricalCrossentropy()
    >>> round(float(loss(jnp.array([[0.0, 1.0, 0.0]]), jnp.array([[0.05, 0.95, 0.0]]))), 4)
    0.0513
    """

    _config_keys = ("from_logits", "label_smoothing", "axis")

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str | None = _DEFAULT,
        name: str = "categorical_crossentropy",
        dtype: Any = None,
    ):
        _check_label_smoothing(type(self).__name__, label_smoothing)
        super().__init__(
            F.categorical_crossentropy, reduction, name, dtype,
            from_logits=from_logits, label_smoothing=label_smoothing, axis=axis,
        )  # fmt: skip


class CategoricalFocalCrossentropy(_BuiltinLoss):
    """Categorical cross-entropy with each class term scaled by alpha * (1 - p)**gamma."""

    _config_keys = ("from_logits", "label_smoothing", "axis", "alpha", "gamma")

    def __init__(
        self,
        alpha: float = 0.25,
        gamma: float = 2.0,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str | None = _DEFAULT,
        name: str = "categorical_focal_crossentropy",
        dtype: Any = None,
    ):
        _check_label_smoothing(type(self).__name__, label_smoothing)
        super().__init__(
            F.categorical_focal_crossentropy, reduction, name, dtype,
            alpha=alpha, gamma=gamma, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis,
        )  # fmt: skip


class SparseCategoricalCrossentropy(_BuiltinLoss):
    """Cross-entropy of integer class labels against a distribution over classes (or logits).

    Entries labelled `ignore_class` (for example -1 or 255 for "void" pixels) are left out:
    they get loss 0 and the default reduction averages over the other entries only.

    >>> import jax.numpy as jnp
    >>> loss = SparseCategoricalCrossentropy(ignore_class=-1)
    >>> round(float(loss(jnp.array([1, -1]), jnp.array([[0.05, 0.95], [0.5, 0.5]]))), 4)
    0.0513

    With `fused=True`, when a model's output comes straight from a `Dense` (linear with
    `from_logits=True`, softmax with `from_logits=False`) or a `FusedLMHead`, fit and
    evaluate compute this loss from that layer's inputs and weights
    (`from_features`), in vocabulary chunks: the `[..., classes]` logits are never kept
    for the backward pass, which is most of a language model's activation memory at a
    large vocabulary. Called directly on predictions, it computes as without `fused`.
    """

    _config_keys = ("from_logits", "ignore_class", "axis")

    def __init__(
        self,
        from_logits: bool = False,
        ignore_class: int | None = None,
        reduction: str | None = _DEFAULT,
        axis: int = -1,
        name: str = "sparse_categorical_crossentropy",
        dtype: Any = None,
        *,
        fused: bool = False,
    ):
        if ignore_class is not None and (isinstance(ignore_class, bool) or not isinstance(ignore_class, int)):
            raise ValueError(f"ignore_class must be an int or None; got {ignore_class!r}.")
        if not isinstance(fused, bool):
            raise ValueError(f"fused must be True or False; got {fused!r}.")
        if fused and axis != -1:
            raise ValueError(f"fused=True computes over the last axis (the Dense's units); got axis={axis}.")
        self.fused = fused
        super().__init__(
            F.sparse_categorical_crossentropy, reduction, name, dtype,
            from_logits=from_logits, ignore_class=ignore_class, axis=axis,
        )  # fmt: skip

    def compute_mask(self, y_true: Any, y_pred: Any) -> jax.Array | None:
        """The entries whose label is not `ignore_class` (None when nothing is ignored)."""
        return F.sparse_valid_mask(y_true, y_pred, self.ignore_class, self.axis)

    def from_features(
        self, y_true: Any, features: Any, kernel: Any, bias: Any = None, sample_weight: Any = None,
        mask: Any = None, implementation: str | None = None,
    ) -> jax.Array:
        """This loss of the logits `features @ kernel + bias`, without forming them.

        The same value as `self(y_true, softmax_or_not(features @ kernel + bias))`
        (the class axis last), computed by `workbench.kernels.linear_softmax_cross_entropy`
        in vocabulary chunks; `implementation` as that op's (None: the kernel setting).
        """
        values, valid = F.sparse_categorical_crossentropy_from_features(
            y_true, features, kernel, bias, ignore_class=self.ignore_class, implementation=implementation
        )
        return self._reduce(values.astype(self.dtype), valid, sample_weight, mask)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        if self.fused:  # only when set, so configs stay readable by Keras
            config["fused"] = True
        return config


BUILTIN_CLASSES: tuple[type[Loss], ...] = (
    BinaryCrossentropy, BinaryFocalCrossentropy, CategoricalCrossentropy, CategoricalFocalCrossentropy,
    SparseCategoricalCrossentropy, MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, Huber, LogCosh, KLDivergence, Poisson, CosineSimilarity, Hinge,
    SquaredHinge, CategoricalHinge,
)  # fmt: skip

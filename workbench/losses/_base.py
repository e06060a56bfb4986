"""`Loss`, the base class of loss objects, and `LossFunctionWrapper`, which makes one from a function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from workbench import config
from workbench.core.dtype_policy import DTypePolicy
from workbench.core.naming import to_snake_case
from workbench.losses._reduction import (
    reduce_weighted_values,
    squeeze_or_expand_to_same_rank,
    standardize_reduction,
)


class Loss:
    """Base class of loss objects: subclass it and write `call(y_true, y_pred)`.

    `call` returns one value per sample (or per timestep); `__call__` weights them by
    `sample_weight` and reduces them as `reduction` says, exactly as Keras 3 does:

    - `"sum_over_batch_size"` (default) and `"mean"`: the sum divided by the number of values;
    - `"sum"`: the sum;
    - `"mean_with_sample_weight"`: the sum divided by the sum of the sample weights;
    - `"none"` or `None`: the weighted values, unreduced.

    Everything is a pure function of the inputs, so a loss object can be called inside `jax.jit`.

    >>> class MeanSquaredError(Loss):
    ...     def call(self, y_true, y_pred):
    ...         return jnp.mean(jnp.square(y_pred - y_true), axis=-1)
    >>> float(MeanSquaredError()(jnp.zeros((2, 3)), jnp.ones((2, 3))))
    1.0
    """

    def __init__(
        self, name: str | None = None, reduction: str | None = "sum_over_batch_size", dtype: Any = None
    ):
        self.name = name or to_snake_case(type(self).__name__)
        self.reduction = standardize_reduction(reduction)
        self._dtype_arg = dtype
        # As in Keras, a loss computes in floatx unless told otherwise (not in the global policy's dtype).
        self._dtype = DTypePolicy(dtype or config.floatx()).compute_dtype

    @property
    def dtype(self) -> str:
        """The dtype y_true, y_pred and the result are computed in."""
        return self._dtype

    def __call__(
        self, y_true: Any, y_pred: Any, sample_weight: ArrayLike | None = None, mask: ArrayLike | None = None
    ) -> jax.Array:
        """The loss reduced to a scalar (or per-sample values for reduction "none").

        `sample_weight` of shape `(batch,)` weighs each sample; one of the loss values' shape (for
        example `(batch, timesteps)`) weighs each value. `mask` (boolean) drops entries, and the
        mean reductions average over the rest; it is what Keras reads from a masked `y_pred`'s
        `_keras_mask`. Unlike a sample weight, a mask of shape `(batch,)` also applies to
        per-timestep values (so a trainer can drop padded samples of any output).
        """
        dtype = self.dtype
        y_pred = jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype=dtype), y_pred)
        y_true = jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype=dtype), y_true)
        values = self.call(y_true, y_pred)
        return self._reduce(values, self.compute_mask(y_true, y_pred), sample_weight, mask)

    def _reduce(self, values: jax.Array, out_mask: jax.Array | None, sample_weight: Any, mask: Any) -> jax.Array:
        """`values` weighted and reduced as `__call__` does, `out_mask` (the loss's own) and `mask` combined."""
        dtype = self.dtype
        if mask is not None:
            mask = _expand_mask(jnp.asarray(mask, bool), jnp.shape(values))
        if mask is not None and out_mask is not None:
            mask = mask & out_mask
        elif out_mask is not None:
            mask = out_mask
        return reduce_weighted_values(
            values, sample_weight=sample_weight, mask=mask, reduction=self.reduction, dtype=dtype
        )

    def call(self, y_true: Any, y_pred: Any) -> jax.Array:
        """Per-sample loss values; subclasses implement this."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement call(y_true, y_pred) returning per-sample loss values."
        )

    def compute_mask(self, y_true: Any, y_pred: Any) -> jax.Array | None:
        """Which loss values count (boolean, their shape), or None for all; override to ignore some."""
        return None

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this loss (Keras' keys)."""
        cfg: dict[str, Any] = {"name": self.name, "reduction": self.reduction}
        if self._dtype_arg is not None:
            cfg["dtype"] = self._dtype_arg if isinstance(self._dtype_arg, str) else self.dtype
        return cfg

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        """A loss rebuilt from `get_config()` output."""
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _expand_mask(mask: jax.Array, values_shape: tuple[int, ...]) -> jax.Array:
    # A per-sample mask covers all of that sample's values: (batch,) -> (batch, timesteps, ...).
    if mask.ndim < len(values_shape) and mask.shape == tuple(values_shape[: mask.ndim]):
        mask = mask.reshape(mask.shape + (1,) * (len(values_shape) - mask.ndim))
        mask = jnp.broadcast_to(mask, values_shape)
    return mask


class LossFunctionWrapper(Loss):
    """A `Loss` made from a function `fn(y_true, y_pred, **kwargs)` that returns per-sample values.

    y_true and y_pred are first matched in rank (a trailing size-1 axis dropped or added), as Keras does.

    >>> from workbench.losses import huber
    >>> loss = LossFunctionWrapper(huber, delta=0.5)
    >>> float(loss(jnp.zeros((2, 1)), jnp.ones((2, 1))))
    0.375
    """

    def __init__(
        self,
        fn: Callable[..., jax.Array],
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: Any = None,
        **kwargs: Any,
    ):
        if not callable(fn):
            raise TypeError(f"LossFunctionWrapper expects a function fn(y_true, y_pred); got {fn!r}.")
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true: Any, y_pred: Any) -> jax.Array:
        """`fn(y_true, y_pred, **kwargs)` after matching the ranks of y_true and y_pred."""
        if isinstance(y_true, jax.Array) and isinstance(y_pred, jax.Array):
            y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        else:
            pairs = jax.tree_util.tree_map(squeeze_or_expand_to_same_rank, y_true, y_pred)
            y_true = jax.tree_util.tree_map(lambda _, p: p[0], y_true, pairs)
            y_pred = jax.tree_util.tree_map(lambda _, p: p[1], y_pred, pairs)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict[str, Any]:
        """Name, reduction, the serialized `fn` and its keyword arguments."""
        from workbench.losses._lookup import serialize

        cfg = super().get_config()
        cfg["fn"] = serialize(self.fn)
        cfg.update(self._fn_kwargs)
        return cfg

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        """A wrapper rebuilt from `get_config()` output (its `fn` looked up by name)."""
        from workbench.losses._lookup import get

        config = dict(config)
        if "fn" in config:
            config["fn"] = get(config["fn"])
        return cls(**config)

    def __repr__(self) -> str:
        name = getattr(self.fn, "__name__", repr(self.fn))
        return f"<LossFunctionWrapper({name}, kwargs={self._fn_kwargs})>"

"""Preprocessing layers that live inside the model: Rescaling and Normalization (with `adapt`)."""

from __future__ import annotations

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np

from workbench import config
from workbench.core.layer import Layer


def _jsonable(value):
    """Scalars stay Python numbers; arrays become nested lists, so configs serialise to JSON."""
    if isinstance(value, (np.ndarray, jax.Array, np.generic)):
        return np.asarray(value).tolist()
    return value


class Rescaling(Layer):
    """`inputs * scale + offset`, computed in the layer's compute dtype (integer images become floats).

    >>> to_unit = Rescaling(1.0 / 255)              # [0, 255] -> [0, 1]
    >>> to_signed = Rescaling(1.0 / 127.5, offset=-1.0)  # [0, 255] -> [-1, 1]
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("scale", scale), ("offset", offset)):
            try:
                np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(
                    f"Rescaling: `{name}` must be a number or an array of numbers, got {name}={value!r}."
                ) from None
        self.scale = scale
        self.offset = offset
        self.supports_masking = True

    def call(self, inputs):
        dtype = self.compute_dtype
        scale = jnp.asarray(self.scale, dtype)
        offset = jnp.asarray(self.offset, dtype)
        if scale.ndim > 0 and config.image_data_format() == "channels_first":
            # A per-channel scale (C,) must broadcast against (batch, C, H, W).
            scale = scale.reshape(scale.shape + (1,) * (3 - scale.ndim))
        return inputs.astype(dtype) * scale + offset

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "scale": _jsonable(self.scale), "offset": _jsonable(self.offset)}


def _first_input(batch):
    """The inputs of a batch that may be `(x, y)` or `(x, y, sample_weight)`."""
    return batch[0] if isinstance(batch, tuple) else batch


class Normalization(Layer):
    """Standardise features: `(inputs - mean) / sqrt(variance)`, per position along `axis`.

    Give `mean` and `variance`, or learn them from data with `adapt` before use
    (they are then kept as the non-trainable weights "mean" and "variance", with
    Keras' unused "count"). `axis=None` uses one mean and variance for everything.
    `invert=True` maps standardised values back: `mean + inputs * sqrt(variance)`.

    >>> norm = Normalization()
    >>> norm.adapt(np.array([[0.0, 10.0], [2.0, 30.0]]))
    >>> out = norm(np.array([[1.0, 20.0]]))  # [[0., 0.]]
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, int) and not isinstance(axis, bool):
            axis = (axis,)
        elif isinstance(axis, (list, tuple)) and all(isinstance(a, int) for a in axis):
            axis = tuple(axis)
        else:
            raise ValueError(
                f"Normalization: `axis` must be None, an int or a list of ints, got axis={axis!r}."
            )
        self.axis = axis
        if (mean is None) != (variance is None):
            raise ValueError(
                "Normalization: give both `mean` and `variance` or neither (to learn them with adapt()); "
                f"got mean={mean!r}, variance={variance!r}."
            )
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(
                    f"Normalization: `mean` and `variance` must have the same shape, got {np.shape(mean)} "
                    f"and {np.shape(variance)}."
                )
            if np.ndim(mean) > len(self.axis):
                raise ValueError(
                    f"Normalization: `mean` may have at most {len(self.axis)} dimension(s) (one per kept "
                    f"axis {self.axis}), got shape {np.shape(mean)}."
                )
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)
        self.supports_masking = True

    def build(self, input_shape):
        ndim = len(input_shape)
        if any(not -ndim <= a < ndim for a in self.axis):
            raise ValueError(
                f"Layer '{self.name}' (Normalization): axis {self.axis} is out of bounds for inputs of "
                f"shape {tuple(input_shape)} (rank {ndim})."
            )
        self._input_shape = tuple(input_shape)
        self._keep_axis = tuple(sorted(a % ndim for a in self.axis))
        for a in self._keep_axis:
            if input_shape[a] is None:
                raise ValueError(
                    f"Layer '{self.name}' (Normalization): the kept axis {a} must have a known size, got "
                    f"input shape {tuple(input_shape)}."
                )
        self._reduce_axis = tuple(d for d in range(ndim) if d not in self._keep_axis)
        self._broadcast_shape = tuple(input_shape[d] if d in self._keep_axis else 1 for d in range(ndim))
        stats_shape = tuple(input_shape[d] for d in self._keep_axis)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(
                shape=stats_shape, initializer="zeros", trainable=False, name="mean"
            )
            self.adapt_variance = self.add_weight(
                shape=stats_shape, initializer="ones", trainable=False, name="variance"
            )
            # Never updated; kept so the weights line up with Keras' (mean, variance, count).
            self.count = self.add_weight(
                shape=(), dtype="int32", initializer="zeros", trainable=False, name="count"
            )
        else:
            # Align the given statistics with the kept axes from the right, then broadcast.
            mean, variance = np.asarray(self.input_mean), np.asarray(self.input_variance)
            expanded = [1] * ndim
            for i in range(1, mean.ndim + 1):
                expanded[self._keep_axis[-i]] = mean.shape[-i]
            self._fixed_stats = tuple(
                jnp.broadcast_to(jnp.reshape(jnp.asarray(v), expanded), self._broadcast_shape).astype(
                    self.compute_dtype
                )
                for v in (mean, variance)
            )
        self.built = True

    def adapt(self, data) -> None:
        """Compute the mean and variance of `data` (an array, or an iterable of batches) along the
        non-`axis` dimensions and store them. Batches combine exactly (pooled variance)."""
        if self.input_mean is not None:
            raise ValueError(
                f"Layer '{self.name}' (Normalization) was given `mean` and `variance`; adapt() only works "
                "for a layer created without them."
            )
        is_array = isinstance(data, (np.ndarray, jax.Array))
        if is_array:
            sample = data
        elif hasattr(data, "__iter__"):
            it = iter(data)
            sample = next(it, None)
            if sample is None:
                raise ValueError(f"Layer '{self.name}' (Normalization): adapt() received no batches.")
            sample = _first_input(sample)
            if not hasattr(sample, "shape"):
                raise TypeError(
                    f"Layer '{self.name}' (Normalization): adapt() expects arrays (or an iterable of arrays), "
                    f"got an iterable of {type(sample).__name__}."
                )
            data = itertools.chain([sample], it)
        else:
            raise TypeError(
                f"Layer '{self.name}' (Normalization): adapt() accepts a NumPy array, a jax array or an "
                f"iterable of batches, got {type(data).__name__}."
            )
        if not self.built:
            self._maybe_build((sample,), {})
        self._check_adapt_shape(sample.shape)
        if isinstance(data, np.ndarray):
            mean, var = np.mean(data, axis=self._reduce_axis), np.var(data, axis=self._reduce_axis)
        elif is_array:
            dtype = jnp.promote_types(data.dtype, jnp.float32)
            mean = jnp.mean(data, axis=self._reduce_axis, dtype=dtype)
            var = jnp.var(data, axis=self._reduce_axis, dtype=dtype)
        else:
            mean, var = self._pooled_moments(data)
        self.adapt_mean.assign(mean)
        self.adapt_variance.assign(var)

    def _check_adapt_shape(self, shape):
        if len(shape) != len(self._input_shape) or any(
            shape[d] != self._input_shape[d] for d in self._keep_axis
        ):
            raise ValueError(
                f"Layer '{self.name}' (Normalization) was built for inputs of shape {self._input_shape}, "
                f"but adapt() got data of shape {tuple(shape)}."
            )

    def _pooled_moments(self, batches):
        """Running mean and variance over batches (the lack-of-fit sum of squares, as Keras)."""
        stats_shape = tuple(self._input_shape[d] for d in self._keep_axis)
        total_mean = jnp.zeros(stats_shape, "float32")
        total_var = jnp.zeros(stats_shape, "float32")
        total_count = 0
        for batch in batches:
            batch = jnp.asarray(_first_input(batch), dtype=self.compute_dtype)
            self._check_adapt_shape(batch.shape)
            batch_mean = jnp.mean(batch, axis=self._reduce_axis, dtype=jnp.float32).astype(batch.dtype)
            batch_var = jnp.var(batch, axis=self._reduce_axis, dtype=jnp.float32).astype(batch.dtype)
            batch_count = math.prod(batch.shape[d] for d in self._reduce_axis)
            total_count += batch_count
            batch_weight = float(batch_count) / total_count
            existing_weight = 1.0 - batch_weight
            new_mean = total_mean * existing_weight + batch_mean * batch_weight
            total_var = (total_var + (total_mean - new_mean) ** 2) * existing_weight + (
                batch_var + (batch_mean - new_mean) ** 2
            ) * batch_weight
            total_mean = new_mean
        return total_mean, total_var

    def _stats(self):
        if self.input_mean is not None:
            return self._fixed_stats
        mean = jnp.reshape(self.adapt_mean.value, self._broadcast_shape).astype(self.compute_dtype)
        variance = jnp.reshape(self.adapt_variance.value, self._broadcast_shape).astype(self.compute_dtype)
        return mean, variance

    def call(self, inputs):
        x = jnp.asarray(inputs, dtype=self.compute_dtype)
        mean, variance = self._stats()
        std = jnp.maximum(jnp.sqrt(variance), config.epsilon())
        if self.invert:
            return mean + x * std
        return (x - mean) / std

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "axis": list(self.axis),
            "invert": self.invert,
            "mean": np.array(self.input_mean).tolist(),
            "variance": np.array(self.input_variance).tolist(),
        }

"""Stochastic regularisation layers, active only in training: Dropout, SpatialDropout1D/2D, GaussianNoise."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from workbench import config
from workbench.core import rng
from workbench.core.layer import Layer


def _check_rate(layer: str, rate) -> float:
    if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 <= rate <= 1:
        raise ValueError(f"{layer}: `rate` must be a float in [0, 1], got rate={rate!r}.")
    return float(rate)


def dropout(inputs, rate: float, noise_shape=None):
    """Zero each element with probability `rate` and scale the rest by 1 / (1 - rate)."""
    if rate >= 1.0:
        return jnp.zeros_like(inputs)
    shape = inputs.shape if noise_shape is None else tuple(
        s if n is None else n for s, n in zip(inputs.shape, noise_shape)
    )
    keep = jax.random.bernoulli(rng.next_key(), 1.0 - rate, shape)
    return jnp.where(keep, inputs / (1.0 - rate), jnp.zeros_like(inputs))


class Dropout(Layer):
    """Randomly sets inputs to 0 with frequency `rate` during training."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _check_rate("Dropout", rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self.supports_masking = True
        self.built = True

    def call(self, inputs, training=False):
        if training and self.rate > 0:
            return dropout(inputs, self.rate, self.noise_shape)
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": None if self.noise_shape is None else list(self.noise_shape)}


class _SpatialDropout(Dropout):
    _rank = 3

    def __init__(self, rate, seed=None, name=None, dtype=None, **kwargs):
        super().__init__(rate, seed=seed, name=name, dtype=dtype, **kwargs)

    def build(self, input_shape):
        if len(input_shape) != self._rank:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects rank-{self._rank} inputs, "
                f"got shape {tuple(input_shape)}."
            )
        self.built = True

    def call(self, inputs, training=False):
        if training and self.rate > 0:
            return dropout(inputs, self.rate, self._noise_shape(inputs.shape))
        return inputs

    def get_config(self):
        return {"rate": self.rate, "seed": self.seed, "name": self.name, "dtype": self._dtype_policy.get_config(),
                "trainable": self.trainable}


class SpatialDropout1D(_SpatialDropout):
    """Dropout of whole 1-D feature maps: inputs (batch, steps, channels)."""

    _rank = 3

    def _noise_shape(self, shape):
        return (shape[0], 1, shape[2])


class SpatialDropout2D(_SpatialDropout):
    """Dropout of whole 2-D feature maps (channels_last or channels_first)."""

    _rank = 4

    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None, **kwargs):
        super().__init__(rate, seed=seed, name=name, dtype=dtype, **kwargs)
        self.data_format = data_format or config.image_data_format()
        if self.data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"SpatialDropout2D: data_format must be channels_last/channels_first, got {data_format!r}.")

    def _noise_shape(self, shape):
        if self.data_format == "channels_first":
            return (shape[0], shape[1], 1, 1)
        return (shape[0], 1, 1, shape[3])

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class GaussianNoise(Layer):
    """Adds zero-mean Gaussian noise of standard deviation `stddev` during training."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(stddev, (int, float)) or stddev < 0:
            raise ValueError(f"GaussianNoise: `stddev` must be a float >= 0, got stddev={stddev!r}.")
        self.stddev = float(stddev)
        self.seed = seed
        self.supports_masking = True
        self.built = True

    def call(self, inputs, training=False):
        if training and self.stddev > 0:
            noise = jax.random.normal(rng.next_key(), inputs.shape, dtype=inputs.dtype) * self.stddev
            return inputs + noise
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}

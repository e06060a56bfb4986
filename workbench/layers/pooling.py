"""Pooling layers: windowed max/average pooling and global pooling, in 1, 2 and 3 dimensions.

Windowed pooling runs `jax.lax.reduce_window` with Keras' conventions: `strides`
defaults to `pool_size`, and average pooling with `padding="same"` divides each
window by the number of real (not padded) elements in it.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from workbench.core.layer import Layer
from workbench.layers.conv_base import (
    conv_output_length,
    output_spec_from_shape,
    standardize_data_format,
    standardize_padding,
    standardize_tuple,
)


def _layout(rank: int, data_format: str) -> str:
    dims = ", ".join(f"d{i}" for i in range(rank))
    return f"(batch, {dims}, channels)" if data_format == "channels_last" else f"(batch, channels, {dims})"


def _check_rank(owner: str, shape, rank: int, data_format: str) -> None:
    if len(shape) != rank + 2:
        raise ValueError(
            f"{owner} expects inputs of rank {rank + 2} {_layout(rank, data_format)}, got shape {tuple(shape)}."
        )


class BasePooling(Layer):
    """Max or average over windows of `pool_size`, moved by `strides` (default: `pool_size`)."""

    rank: int = 2
    pool_mode: str = "max"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        owner = self._owner
        self.pool_size = standardize_tuple(owner, pool_size, self.rank, "pool_size")
        self.strides = standardize_tuple(
            owner, pool_size if strides is None else strides, self.rank, "strides"
        )
        self.padding = standardize_padding(owner, padding)
        self.data_format = standardize_data_format(owner, data_format)
        self.built = True

    @property
    def _owner(self) -> str:
        return f"{type(self).__name__} '{self.name}'"

    def _window(self, values) -> tuple[int, ...]:
        """Per-axis window sizes or strides for a full-rank input (1 on batch and channels)."""
        if self.data_format == "channels_last":
            return (1,) + tuple(values) + (1,)
        return (1, 1) + tuple(values)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        _check_rank(self._owner, input_shape, self.rank, self.data_format)
        spatial = input_shape[1:-1] if self.data_format == "channels_last" else input_shape[2:]
        out = tuple(
            conv_output_length(s, p, st, 1, self.padding)
            for s, p, st in zip(spatial, self.pool_size, self.strides)
        )
        if any(o is not None and o <= 0 for o in out):
            raise ValueError(
                f"{self._owner}: input shape {input_shape} is smaller than pool_size={self.pool_size} "
                f"with padding='valid'. Use a smaller pool_size or padding='same'."
            )
        if self.data_format == "channels_last":
            return (input_shape[0],) + out + (input_shape[-1],)
        return input_shape[:2] + out

    def compute_output_spec(self, inputs, *args, **kwargs):
        return output_spec_from_shape(self, inputs)

    def call(self, inputs):
        self.compute_output_shape(inputs.shape)
        window = self._window(self.pool_size)
        strides = self._window(self.strides)
        padding = self.padding.upper()
        if self.pool_mode == "max":
            return jax.lax.reduce_window(inputs, -jnp.inf, jax.lax.max, window, strides, padding)
        summed = jax.lax.reduce_window(inputs, 0.0, jax.lax.add, window, strides, padding)
        if self.padding == "valid":
            return summed / math.prod(window)
        # Count the real elements in each window (padding adds none), as Keras does.
        ones = jnp.ones([d if w != 1 else 1 for d, w in zip(inputs.shape, window)], inputs.dtype)
        counts = jax.lax.reduce_window(ones, 0.0, jax.lax.add, window, strides, padding)
        return summed / counts

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": self.pool_size,
            "padding": self.padding,
            "strides": self.strides,
            "data_format": self.data_format,
        }


class MaxPooling1D(BasePooling):
    """Max over windows of `pool_size` steps.

    >>> import numpy as np
    >>> MaxPooling1D(2)(np.arange(6, dtype="float32").reshape(1, 6, 1))[0, :, 0].tolist()
    [1.0, 3.0, 5.0]
    """

    rank, pool_mode = 1, "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling2D(BasePooling):
    """Max over `pool_size` windows of images: `MaxPooling2D()` halves height and width."""

    rank, pool_mode = 2, "max"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling3D(BasePooling):
    """Max over `pool_size` windows of volumes."""

    rank, pool_mode = 3, "max"

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling1D(BasePooling):
    """Mean over windows of `pool_size` steps.

    >>> import numpy as np
    >>> AveragePooling1D(2)(np.arange(4, dtype="float32").reshape(1, 4, 1))[0, :, 0].tolist()
    [0.5, 2.5]
    """

    rank, pool_mode = 1, "average"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling2D(BasePooling):
    """Mean over `pool_size` windows of images."""

    rank, pool_mode = 2, "average"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling3D(BasePooling):
    """Mean over `pool_size` windows of volumes."""

    rank, pool_mode = 3, "average"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class BaseGlobalPooling(Layer):
    """Max or mean over all spatial axes; `keepdims=True` keeps them with length 1."""

    rank: int = 2
    pool_mode: str = "max"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(f"{type(self).__name__} '{self.name}'", data_format)
        if not isinstance(keepdims, bool):
            raise ValueError(
                f"{type(self).__name__} '{self.name}': `keepdims` must be True or False, got {keepdims!r}."
            )
        self.keepdims = keepdims
        self.built = True

    def _axes(self, shape) -> tuple[int, ...]:
        _check_rank(f"{type(self).__name__} '{self.name}'", shape, self.rank, self.data_format)
        first = 1 if self.data_format == "channels_last" else 2
        return tuple(range(first, first + self.rank))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        axes = self._axes(input_shape)
        if self.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i not in axes)

    def compute_output_spec(self, inputs, *args, **kwargs):
        return output_spec_from_shape(self, inputs)

    def call(self, inputs):
        reduce = jnp.max if self.pool_mode == "max" else jnp.mean
        return reduce(inputs, axis=self._axes(inputs.shape), keepdims=self.keepdims)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalAveragePooling1D(BaseGlobalPooling):
    """Mean over the steps axis; with a mask, the mean of the unmasked steps only.

    >>> import numpy as np
    >>> x = np.array([[[1.0], [3.0], [100.0]]], "float32")
    >>> GlobalAveragePooling1D()(x, mask=np.array([[True, True, False]])).tolist()
    [[2.0]]
    """

    rank, pool_mode = 1, "average"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format, keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        (axis,) = self._axes(inputs.shape)
        if mask is None:
            return jnp.mean(inputs, axis=axis, keepdims=self.keepdims)
        mask = jnp.asarray(mask)
        if tuple(mask.shape) != (inputs.shape[0], inputs.shape[axis]):
            raise ValueError(
                f"GlobalAveragePooling1D '{self.name}': mask shape {tuple(mask.shape)} does not match the "
                f"(batch, steps) of inputs {tuple(inputs.shape)}."
            )
        mask = jnp.expand_dims(mask.astype(bool), 2 if self.data_format == "channels_last" else 1)
        total = jnp.sum(jnp.where(mask, inputs, 0), axis=axis, keepdims=self.keepdims)
        return total / jnp.sum(mask.astype(inputs.dtype), axis=axis, keepdims=self.keepdims)

    def compute_mask(self, inputs, mask=None):
        return None


class GlobalAveragePooling2D(BaseGlobalPooling):
    """Mean over height and width: (batch, h, w, c) -> (batch, c)."""

    rank, pool_mode = 2, "average"


class GlobalAveragePooling3D(BaseGlobalPooling):
    """Mean over the three spatial axes."""

    rank, pool_mode = 3, "average"


class GlobalMaxPooling1D(BaseGlobalPooling):
    """Max over the steps axis: (batch, steps, c) -> (batch, c)."""

    rank, pool_mode = 1, "max"


class GlobalMaxPooling2D(BaseGlobalPooling):
    """Max over height and width: (batch, h, w, c) -> (batch, c)."""

    rank, pool_mode = 2, "max"


class GlobalMaxPooling3D(BaseGlobalPooling):
    """Max over the three spatial axes."""

    rank, pool_mode = 3, "max"

"""Layers that move values around without weights: flatten, reshape, permute, repeat, pad, crop, upsample.

None of them touches the batch axis (axis 0); their shape arguments describe one sample.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from workbench.core.layer import Layer
from workbench.layers.conv_base import (
    check_positive_int,
    is_int,
    output_spec_from_shape,
    standardize_data_format,
    standardize_tuple,
)

_RESIZE_METHODS = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5")


class _Reshaping(Layer):
    """Weightless layer with a fixed input rank (`ndim`, None for any) that it checks in `call`."""

    ndim: int | None = None
    layout: str = ""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.built = True

    @property
    def _owner(self) -> str:
        return f"{type(self).__name__} '{self.name}'"

    def _check_rank(self, shape) -> tuple:
        shape = tuple(shape)
        if self.ndim is not None and len(shape) != self.ndim:
            raise ValueError(
                f"{self._owner} expects inputs of rank {self.ndim} {self.layout}, got shape {shape}."
            )
        return shape

    def compute_output_spec(self, inputs, *args, **kwargs):
        return output_spec_from_shape(self, inputs)

    def _spatial_axes(self, n: int) -> tuple[int, ...]:
        """Axes of the `n` spatial dims for this layer's data_format."""
        first = 2 if getattr(self, "data_format", "channels_last") == "channels_first" else 1
        return tuple(range(first, first + n))


class Flatten(_Reshaping):
    """(batch, d1, ..., dn) -> (batch, d1 * ... * dn), in channels_last order.

    >>> import numpy as np
    >>> Flatten()(np.zeros((2, 3, 4), "float32")).shape
    (2, 12)
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(self._owner, data_format)

    def call(self, inputs):
        if inputs.ndim < 1:
            raise ValueError(f"{self._owner} expects inputs with a batch axis, got a scalar.")
        if self.data_format == "channels_first" and inputs.ndim > 2:
            # Flatten in channels_last order, so a following Dense sees the same layout either way.
            inputs = jnp.transpose(inputs, (0, *range(2, inputs.ndim), 1))
        return jnp.reshape(inputs, (inputs.shape[0], math.prod(inputs.shape[1:])))

    def compute_output_shape(self, input_shape):
        rest = tuple(input_shape)[1:]
        return (input_shape[0], None if None in rest else math.prod(rest))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(_Reshaping):
    """Reshapes each sample to `target_shape`; one entry may be -1 (inferred).

    >>> import numpy as np
    >>> Reshape((-1, 2))(np.zeros((5, 3, 4), "float32")).shape
    (5, 6, 2)
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        try:
            target = tuple(target_shape)
        except TypeError:
            target = None
        if target is None or not all(is_int(d) and d >= -1 for d in target) or target.count(-1) > 1:
            raise ValueError(
                f"{self._owner}: `target_shape` must be a tuple of non-negative ints with at most one -1 "
                f"(the inferred dim), got {target_shape!r}."
            )
        self.target_shape = tuple(int(d) for d in target)

    def _resolve(self, sample_shape) -> tuple:
        """target_shape with -1 filled in from `sample_shape` (None where it cannot be known)."""
        sample_shape = tuple(sample_shape)
        if None in sample_shape:
            return tuple(None if d == -1 else d for d in self.target_shape)
        size = math.prod(sample_shape)
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if known == 0 or size % known:
                raise ValueError(
                    f"{self._owner} cannot reshape a sample of shape {sample_shape} ({size} values) to "
                    f"target_shape={self.target_shape}: {size} is not a multiple of {known}."
                )
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if known != size:
            raise ValueError(
                f"{self._owner} cannot reshape a sample of shape {sample_shape} ({size} values) to "
                f"target_shape={self.target_shape} ({known} values). The sizes must match."
            )
        return self.target_shape

    def call(self, inputs):
        if inputs.ndim < 1:
            raise ValueError(f"{self._owner} expects inputs with a batch axis, got a scalar.")
        return jnp.reshape(inputs, (inputs.shape[0],) + self._resolve(inputs.shape[1:]))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolve(tuple(input_shape)[1:])

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


class Permute(_Reshaping):
    """Reorders the non-batch axes: `Permute((2, 1))` swaps axes 1 and 2 (axes count from 1)."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        try:
            dims = tuple(dims)
        except TypeError:
            pass
        if not isinstance(dims, tuple) or sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(
                f"{self._owner}: `dims` must be a permutation of 1..n (axis 0 is the batch), got {dims!r}."
            )
        self.dims = dims
        self.ndim = len(dims) + 1
        self.layout = f"(batch, {len(dims)} axes to permute)"

    def call(self, inputs):
        self._check_rank(inputs.shape)
        return jnp.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        input_shape = self._check_rank(input_shape)
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(_Reshaping):
    """(batch, features) -> (batch, n, features), repeating each vector `n` times."""

    ndim, layout = 2, "(batch, features)"

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = check_positive_int(self._owner, "n", n)

    def call(self, inputs):
        self._check_rank(inputs.shape)
        return jnp.repeat(inputs[:, None, :], self.n, axis=1)

    def compute_output_shape(self, input_shape):
        input_shape = self._check_rank(input_shape)
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        return {**super().get_config(), "n": self.n}


def _pairs(owner: str, value, name: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """((top, bottom), (left, right)) from an int, a pair of ints or a pair of pairs (all >= 0)."""
    if is_int(value):
        value = (value, value)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(
            f"{owner}: `{name}` must be an int, a tuple of 2 ints (height, width) or a tuple of 2 pairs "
            f"((top, bottom), (left, right)), got {value!r}."
        )
    return tuple(standardize_tuple(owner, v, 2, f"{name}[{i}]", allow_zero=True) for i, v in enumerate(value))


def _add(d, n):
    return None if d is None else d + n


class ZeroPadding1D(_Reshaping):
    """Pads the steps axis of (batch, steps, features) with zeros: `padding` = n or (left, right)."""

    ndim = 3

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(self._owner, data_format)
        self.padding = standardize_tuple(self._owner, padding, 2, "padding", allow_zero=True)
        self.layout = (
            "(batch, steps, features)" if self.data_format == "channels_last" else "(batch, features, steps)"
        )

    def call(self, inputs):
        self._check_rank(inputs.shape)
        widths = [(0, 0)] * 3
        widths[self._spatial_axes(1)[0]] = self.padding
        return jnp.pad(inputs, widths)

    def compute_output_shape(self, input_shape):
        out = list(self._check_rank(input_shape))
        axis = self._spatial_axes(1)[0]
        out[axis] = _add(out[axis], sum(self.padding))
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class ZeroPadding2D(_Reshaping):
    """Pads height and width with zeros: `padding` = n, (h, w) or ((top, bottom), (left, right))."""

    ndim = 4

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(self._owner, data_format)
        self.padding = _pairs(self._owner, padding, "padding")
        self.layout = "(batch, h, w, c)" if self.data_format == "channels_last" else "(batch, c, h, w)"

    def call(self, inputs):
        self._check_rank(inputs.shape)
        widths = [(0, 0)] * 4
        for axis, pad in zip(self._spatial_axes(2), self.padding):
            widths[axis] = pad
        return jnp.pad(inputs, widths)

    def compute_output_shape(self, input_shape):
        out = list(self._check_rank(input_shape))
        for axis, pad in zip(self._spatial_axes(2), self.padding):
            out[axis] = _add(out[axis], sum(pad))
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class _Cropping(_Reshaping):
    def _crop_shape(self, input_shape) -> tuple:
        """The cropped shape, after checking every crop leaves at least one element."""
        out = list(self._check_rank(input_shape))
        for axis, crop in zip(self._spatial_axes(len(self._crops)), self._crops):
            if out[axis] is not None:
                if sum(crop) >= out[axis]:
                    raise ValueError(
                        f"{self._owner}: cropping {self.cropping} removes all of axis {axis} "
                        f"(size {out[axis]}) of input shape {tuple(input_shape)}. Crop less."
                    )
                out[axis] -= sum(crop)
        return tuple(out)

    def call(self, inputs):
        out_shape = self._crop_shape(inputs.shape)
        index = [slice(None)] * inputs.ndim
        for axis, (start, _) in zip(self._spatial_axes(len(self._crops)), self._crops):
            index[axis] = slice(start, start + out_shape[axis])
        return inputs[tuple(index)]

    def compute_output_shape(self, input_shape):
        return self._crop_shape(input_shape)


class Cropping1D(_Cropping):
    """Removes `cropping` = n or (start, end) steps from (batch, steps, features)."""

    ndim, layout = 3, "(batch, steps, features)"

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = standardize_tuple(self._owner, cropping, 2, "cropping", allow_zero=True)
        self._crops = (self.cropping,)

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping}


class Cropping2D(_Cropping):
    """Crops height and width: `cropping` = n, (h, w) or ((top, bottom), (left, right))."""

    ndim = 4

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(self._owner, data_format)
        self.cropping = _pairs(self._owner, cropping, "cropping")
        self._crops = self.cropping
        self.layout = "(batch, h, w, c)" if self.data_format == "channels_last" else "(batch, c, h, w)"

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping, "data_format": self.data_format}


class UpSampling1D(_Reshaping):
    """Repeats each step `size` times: (batch, steps, f) -> (batch, steps * size, f)."""

    ndim, layout = 3, "(batch, steps, features)"

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        self.size = check_positive_int(self._owner, "size", size)

    def call(self, inputs):
        self._check_rank(inputs.shape)
        return jnp.repeat(inputs, self.size, axis=1)

    def compute_output_shape(self, input_shape):
        input_shape = self._check_rank(input_shape)
        steps = None if input_shape[1] is None else input_shape[1] * self.size
        return (input_shape[0], steps, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


class UpSampling2D(_Reshaping):
    """Scales height and width by `size`, repeating pixels ("nearest") or interpolating ("bilinear").

    >>> import numpy as np
    >>> UpSampling2D(2, interpolation="bilinear")(np.zeros((1, 3, 3, 2), "float32")).shape
    (1, 6, 6, 2)
    """

    ndim = 4

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(self._owner, data_format)
        self.size = standardize_tuple(self._owner, size, 2, "size")
        method = interpolation.lower() if isinstance(interpolation, str) else interpolation
        if method not in _RESIZE_METHODS:
            raise ValueError(
                f"{self._owner}: `interpolation` must be one of {_RESIZE_METHODS}, got {interpolation!r}."
            )
        self.interpolation = method
        self.layout = "(batch, h, w, c)" if self.data_format == "channels_last" else "(batch, c, h, w)"

    def call(self, inputs):
        self._check_rank(inputs.shape)
        x = jnp.transpose(inputs, (0, 2, 3, 1)) if self.data_format == "channels_first" else inputs
        if self.interpolation == "nearest":
            x = jnp.repeat(jnp.repeat(x, self.size[0], axis=1), self.size[1], axis=2)
        else:
            b, h, w, c = x.shape
            x = jax.image.resize(
                x, (b, h * self.size[0], w * self.size[1], c), method=self.interpolation, antialias=False
            )
        return jnp.transpose(x, (0, 3, 1, 2)) if self.data_format == "channels_first" else x

    def compute_output_shape(self, input_shape):
        out = list(self._check_rank(input_shape))
        for axis, factor in zip(self._spatial_axes(2), self.size):
            out[axis] = None if out[axis] is None else out[axis] * factor
        return tuple(out)

    def get_config(self):
        return {
            **super().get_config(),
            "size": self.size,
            "data_format": self.data_format,
            "interpolation": self.interpolation,
        }

"""Convolution layers: Conv1D/2D/3D, their transposes, DepthwiseConv and SeparableConv.

All share `BaseConvLayer` (arguments, shape checks, bias and activation). The
kernels have Keras' names, shapes and creation order, so
`layer.set_weights(keras_layer.get_weights())` reproduces a Keras layer:

* Conv: `kernel` (*kernel_size, in_channels // groups, filters), `bias` (filters,)
* ConvTranspose: `kernel` (*kernel_size, filters, in_channels), `bias` (filters,)
* DepthwiseConv: `kernel` (*kernel_size, in_channels, depth_multiplier), `bias` (in * dm,)
* SeparableConv: `depthwise_kernel`, `pointwise_kernel` (*1s, in * dm, filters), `bias`
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from workbench import constraints, initializers, regularizers
from workbench.layers.conv_base import (
    BaseConv,
    BaseConvLayer,
    check_positive_int,
    conv,
    conv_transpose_output_length,
    conv_transpose_padding,
    dimension_numbers,
    standardize_tuple,
)


class Conv1D(BaseConv):
    """1-D convolution over (batch, steps, channels) inputs; `padding="causal"` pads on the left only.

    >>> import numpy as np
    >>> Conv1D(4, 3, padding="causal")(np.zeros((2, 10, 3), "float32")).shape
    (2, 10, 4)
    """

    rank = 1
    _paddings = ("valid", "same", "causal")

    def _pad_inputs(self, inputs):
        if self.padding != "causal":
            return inputs, self.padding
        # Output step t sees only inputs <= t: pad the whole receptive field on the left.
        left = self.dilation_rate[0] * (self.kernel_size[0] - 1)
        widths = (
            [(0, 0), (left, 0), (0, 0)]
            if self.data_format == "channels_last"
            else [(0, 0), (0, 0), (left, 0)]
        )
        return jnp.pad(inputs, widths), "valid"


class Conv2D(BaseConv):
    """2-D convolution over images, (batch, height, width, channels) by default.

    >>> import numpy as np
    >>> Conv2D(8, 3, strides=2, padding="same")(np.zeros((1, 28, 28, 1), "float32")).shape
    (1, 14, 14, 8)
    """

    rank = 2


class Conv3D(BaseConv):
    """3-D convolution over volumes, (batch, depth, height, width, channels) by default."""

    rank = 3


class BaseConvTranspose(BaseConvLayer):
    """Transposed convolution (the gradient of a convolution): upsamples by `strides`.

    With `output_padding=None` the output length is `input * stride` for "same"
    and `(input - 1) * stride + max(kernel, stride)` for "valid"; an explicit
    `output_padding` (each < stride) picks among the lengths that invert a strided conv.
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        output_padding=None,
        data_format=None,
        dilation_rate=1,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self._set_window_args(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias)
        self._set_bias_args(bias_initializer, bias_regularizer, bias_constraint)
        self.filters = check_positive_int(self._owner, "filters", filters)
        self.output_padding = None
        if output_padding is not None:
            self.output_padding = standardize_tuple(
                self._owner, output_padding, self.rank, "output_padding", allow_zero=True
            )
            if any(op >= s for op, s in zip(self.output_padding, self.strides)):
                raise ValueError(
                    f"{self._owner}: each `output_padding` must be smaller than its stride, got "
                    f"output_padding={self.output_padding} with strides={self.strides}."
                )
        self._check_strides_and_dilation()
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def _output_padding(self, i):
        return None if self.output_padding is None else self.output_padding[i]

    def _output_spatial(self, spatial) -> tuple:
        return tuple(
            conv_transpose_output_length(s, k, st, d, self.padding, self._output_padding(i))
            for i, (s, k, st, d) in enumerate(
                zip(spatial, self.kernel_size, self.strides, self.dilation_rate)
            )
        )

    def _output_channels(self, channels):
        return self.filters

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self.compute_output_shape(input_shape)
        self.kernel = self.add_weight(
            shape=self.kernel_size + (self.filters, channels),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
            name="kernel",
        )
        self._add_bias(self.filters)
        self.built = True

    def call(self, inputs):
        self._check_call_input(inputs, self.kernel.shape[-1])
        pads = [
            conv_transpose_padding(k, s, d, self.padding, self._output_padding(i))
            for i, (k, s, d) in enumerate(zip(self.kernel_size, self.strides, self.dilation_rate))
        ]
        # The kernel's (filters, in) axes read as (in, out) of the forward conv; transpose_kernel
        # swaps them back and flips the window, as Keras' JAX backend does.
        outputs = jax.lax.conv_transpose(
            inputs,
            self.kernel.value,
            self.strides,
            padding=pads,
            rhs_dilation=self.dilation_rate,
            dimension_numbers=dimension_numbers(self.rank, self.data_format),
            transpose_kernel=True,
        )
        return self._finish(outputs)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "output_padding": self.output_padding,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
        }


class Conv1DTranspose(BaseConvTranspose):
    """1-D transposed convolution over (batch, steps, channels) inputs."""

    rank = 1


class Conv2DTranspose(BaseConvTranspose):
    """2-D transposed convolution: upsamples images by `strides`.

    >>> import numpy as np
    >>> Conv2DTranspose(4, 3, strides=2, padding="same")(np.zeros((1, 7, 7, 8), "float32")).shape
    (1, 14, 14, 4)
    """

    rank = 2


class Conv3DTranspose(BaseConvTranspose):
    """3-D transposed convolution over volumes."""

    rank = 3


def _depthwise(inputs, kernel, strides, padding, dilation_rate, data_format):
    """Each input channel convolved with its own `depth_multiplier` filters (channel-major output)."""
    channels = kernel.shape[-2]
    kernel = jnp.reshape(kernel, kernel.shape[:-2] + (1, channels * kernel.shape[-1]))
    return conv(inputs, kernel, strides, padding, dilation_rate, data_format, groups=channels)


class BaseDepthwiseConv(BaseConvLayer):
    """Depthwise convolution: each channel gets `depth_multiplier` filters of its own."""

    def __init__(
        self,
        kernel_size,
        strides=1,
        padding="valid",
        depth_multiplier=1,
        data_format=None,
        dilation_rate=1,
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self._set_window_args(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias)
        self._set_bias_args(bias_initializer, bias_regularizer, bias_constraint)
        self.depth_multiplier = check_positive_int(self._owner, "depth_multiplier", depth_multiplier)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)

    def _output_channels(self, channels):
        return channels * self.depth_multiplier

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self.compute_output_shape(input_shape)
        self.kernel = self.add_weight(
            shape=self.kernel_size + (channels, self.depth_multiplier),
            initializer=self.depthwise_initializer,
            regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint,
            name="kernel",
        )
        self._add_bias(channels * self.depth_multiplier)
        self.built = True

    def call(self, inputs):
        self._check_call_input(inputs, self.kernel.shape[-2])
        outputs = _depthwise(
            inputs, self.kernel.value, self.strides, self.padding, self.dilation_rate, self.data_format
        )
        return self._finish(outputs)

    def get_config(self):
        return {
            **super().get_config(),
            "depth_multiplier": self.depth_multiplier,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
        }


class DepthwiseConv1D(BaseDepthwiseConv):
    """1-D depthwise convolution over (batch, steps, channels) inputs."""

    rank = 1


class DepthwiseConv2D(BaseDepthwiseConv):
    """2-D depthwise convolution; output channels are `channels * depth_multiplier`.

    >>> import numpy as np
    >>> DepthwiseConv2D(3, depth_multiplier=2)(np.zeros((1, 8, 8, 4), "float32")).shape
    (1, 6, 6, 8)
    """

    rank = 2


class BaseSeparableConv(BaseConvLayer):
    """A depthwise convolution followed by a 1x1 (pointwise) convolution to `filters` channels."""

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        depth_multiplier=1,
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        pointwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        pointwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        pointwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self._set_window_args(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias)
        self._set_bias_args(bias_initializer, bias_regularizer, bias_constraint)
        self.filters = check_positive_int(self._owner, "filters", filters)
        self.depth_multiplier = check_positive_int(self._owner, "depth_multiplier", depth_multiplier)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def _output_channels(self, channels):
        return self.filters

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self.compute_output_shape(input_shape)
        self.depthwise_kernel = self.add_weight(
            shape=self.kernel_size + (channels, self.depth_multiplier),
            initializer=self.depthwise_initializer,
            regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint,
            name="depthwise_kernel",
        )
        self.pointwise_kernel = self.add_weight(
            shape=(1,) * self.rank + (channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer,
            regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint,
            name="pointwise_kernel",
        )
        self._add_bias(self.filters)
        self.built = True

    def call(self, inputs):
        self._check_call_input(inputs, self.depthwise_kernel.shape[-2])
        x = _depthwise(
            inputs,
            self.depthwise_kernel.value,
            self.strides,
            self.padding,
            self.dilation_rate,
            self.data_format,
        )
        ones = (1,) * self.rank
        outputs = conv(x, self.pointwise_kernel.value, ones, "valid", ones, self.data_format)
        return self._finish(outputs)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "depth_multiplier": self.depth_multiplier,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
            "pointwise_constraint": constraints.serialize(self.pointwise_constraint),
        }


class SeparableConv1D(BaseSeparableConv):
    """1-D separable convolution over (batch, steps, channels) inputs."""

    rank = 1


class SeparableConv2D(BaseSeparableConv):
    """2-D separable convolution: cheaper than Conv2D for the same receptive field.

    >>> import numpy as np
    >>> SeparableConv2D(16, 3, padding="same")(np.zeros((1, 8, 8, 4), "float32")).shape
    (1, 8, 8, 16)
    """

    rank = 2

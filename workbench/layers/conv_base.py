"""Shared machinery of the convolution layers: argument checks, shape arithmetic, lax calls, base classes.

`BaseConvLayer` holds what all convolutions share (window arguments, bias,
activation, shape checks); `BaseConv` is the plain convolution.

The padding arithmetic is Keras' JAX backend's (`keras/src/backend/jax/nn.py` and
`keras/src/backend/common/backend_utils.py`), so outputs match Keras to rounding.
`standardize_tuple` and `standardize_data_format` are also used by the pooling and
reshaping layers, which take the same kind of arguments.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import jax
import jax.numpy as jnp

from workbench import activations, config, constraints, initializers, regularizers
from workbench.core.layer import Layer
from workbench.core.symbolic import KerasTensor


def is_int(value) -> bool:
    """True for Python and NumPy integers, False for bools and everything else."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_positive_int(owner: str, name: str, value) -> int:
    if not is_int(value) or value <= 0:
        raise ValueError(f"{owner}: `{name}` must be a positive integer, got {value!r}.")
    return int(value)


def output_spec_from_shape(layer: Layer, inputs) -> KerasTensor:
    """The output KerasTensor from `layer.compute_output_shape`, without tracing `call`.

    Tracing would stand a small probe size in for unknown (None) dims, which a large
    kernel, pool or crop rejects; the shape arithmetic keeps them None instead.
    """
    if not layer.built:
        layer._maybe_build((inputs,), {})
    dtype = inputs.dtype
    if layer.autocast and jnp.issubdtype(dtype, jnp.floating):
        dtype = layer.compute_dtype
    return KerasTensor(layer.compute_output_shape(inputs.shape), dtype)


def standardize_tuple(owner: str, value, n: int, name: str, allow_zero: bool = False) -> tuple[int, ...]:
    """An int or a sequence of `n` ints as a tuple of `n` ints, checked to be positive (or >= 0)."""
    values = (value,) * n if is_int(value) else value
    try:
        values = tuple(values)
    except TypeError:
        values = None
    ok = (
        values is not None
        and len(values) == n
        and all(is_int(v) and (v >= 0 if allow_zero else v > 0) for v in values)
    )
    if not ok:
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(
            f"{owner}: `{name}` must be a {kind} int or a tuple of {n} {kind} ints, got {value!r}."
        )
    return tuple(int(v) for v in values)


def standardize_data_format(owner: str, value) -> str:
    """'channels_last' or 'channels_first'; None means `workbench.config.image_data_format()`."""
    if value is None:
        return config.image_data_format()
    fmt = str(value).lower()
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(
            f"{owner}: `data_format` must be 'channels_last' or 'channels_first', got {value!r}."
        )
    return fmt


def standardize_padding(owner: str, value, allowed: Sequence[str] = ("valid", "same")) -> str:
    padding = value.lower() if isinstance(value, str) else value
    if padding not in allowed:
        raise ValueError(f"{owner}: `padding` must be one of {tuple(allowed)}, got {value!r}.")
    return padding


def conv_output_length(size, kernel: int, stride: int, dilation: int, padding: str):
    """Output length of a convolution or pooling window over `size` steps (None stays None)."""
    if size is None:
        return None
    if padding == "valid":
        return (size - dilation * (kernel - 1) - 1) // stride + 1
    return (size - 1) // stride + 1  # "same" and "causal"


def conv_transpose_padding(kernel: int, stride: int, dilation: int, padding: str, output_padding):
    """(left, right) padding that `lax.conv_transpose` needs to give Keras' output length."""
    kernel = (kernel - 1) * dilation + 1
    if padding == "valid":
        output_padding = max(kernel, stride) - kernel if output_padding is None else output_padding
        return kernel - 1, kernel - 1 + output_padding
    if output_padding is None:
        total = stride + kernel - 2
    else:
        total = kernel + kernel % 2 - 2 + output_padding
    left = min(total // 2 + total % 2, kernel - 1)
    return left, total - left


def conv_transpose_output_length(size, kernel: int, stride: int, dilation: int, padding: str, output_padding):
    if size is None:
        return None
    kernel = (kernel - 1) * dilation + 1
    if padding == "valid":
        output_padding = max(kernel, stride) - kernel if output_padding is None else output_padding
        return (size - 1) * stride + kernel + output_padding
    if output_padding is None:
        return size * stride
    return (size - 1) * stride + kernel % 2 + output_padding


def dimension_numbers(rank: int, data_format: str) -> jax.lax.ConvDimensionNumbers:
    """Layouts for lax: inputs as `data_format` says, kernels as (*spatial, in, out)."""
    n = rank + 2
    spatial = tuple(range(1, n - 1)) if data_format == "channels_last" else tuple(range(2, n))
    io = (0, n - 1) + spatial if data_format == "channels_last" else (0, 1) + spatial
    return jax.lax.ConvDimensionNumbers(
        lhs_spec=io, rhs_spec=(n - 1, n - 2) + tuple(range(n - 2)), out_spec=io
    )


def conv(inputs, kernel, strides, padding: str, dilation_rate, data_format: str, groups: int = 1):
    """Cross-correlation of `inputs` with a (*spatial, in // groups, out) kernel."""
    return jax.lax.conv_general_dilated(
        inputs,
        kernel,
        tuple(strides),
        padding.upper(),
        rhs_dilation=tuple(dilation_rate),
        dimension_numbers=dimension_numbers(inputs.ndim - 2, data_format),
        feature_group_count=groups,
    )


class BaseConvLayer(Layer):
    """Arguments and checks common to Conv, ConvTranspose, DepthwiseConv and SeparableConv.

    Subclasses set `rank` (number of spatial dims), call `_set_window_args` and
    `_set_bias_args` in `__init__`, create their kernels in `build`, and say how
    many channels come out in `_output_channels(channels)`.
    """

    rank: int = 2
    _paddings: tuple[str, ...] = ("valid", "same")

    def _set_window_args(
        self, kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias
    ):
        """Check and store the arguments every convolution takes (call after `Layer.__init__`)."""
        owner = self._owner
        self.kernel_size = standardize_tuple(owner, kernel_size, self.rank, "kernel_size")
        self.strides = standardize_tuple(owner, strides, self.rank, "strides")
        self.dilation_rate = standardize_tuple(owner, dilation_rate, self.rank, "dilation_rate")
        self.padding = standardize_padding(owner, padding, self._paddings)
        self.data_format = standardize_data_format(owner, data_format)
        self.activation = activations.get(activation)
        if not isinstance(use_bias, bool):
            raise ValueError(f"{owner}: `use_bias` must be True or False, got {use_bias!r}.")
        self.use_bias = use_bias

    def _set_bias_args(self, initializer, regularizer, constraint) -> None:
        self.bias_initializer = initializers.get(initializer)
        self.bias_regularizer = regularizers.get(regularizer)
        self.bias_constraint = constraints.get(constraint)

    @property
    def _owner(self) -> str:
        return f"{type(self).__name__} '{self.name}'"

    def _check_strides_and_dilation(self) -> None:
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{self._owner}: strides > 1 cannot be combined with dilation_rate > 1 "
                f"(got strides={self.strides}, dilation_rate={self.dilation_rate}). Set one of them to 1."
            )

    # ----------------------------------------------------------------- shapes
    def _layout(self) -> str:
        if self.data_format == "channels_last":
            return "(batch, " + ", ".join(f"d{i}" for i in range(self.rank)) + ", channels)"
        return "(batch, channels, " + ", ".join(f"d{i}" for i in range(self.rank)) + ")"

    def _split(self, input_shape) -> tuple[tuple, object]:
        """(spatial dims, channels) of an input shape, after checking its rank."""
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise ValueError(
                f"{self._owner} expects inputs of rank {self.rank + 2} {self._layout()}, "
                f"got shape {input_shape}."
            )
        if self.data_format == "channels_last":
            return input_shape[1:-1], input_shape[-1]
        return input_shape[2:], input_shape[1]

    def _input_channels(self, input_shape) -> int:
        _, channels = self._split(input_shape)
        if channels is None:
            raise ValueError(
                f"{self._owner} needs a known channel dimension ({self.data_format}), "
                f"got input shape {tuple(input_shape)}."
            )
        return channels

    def _output_spatial(self, spatial) -> tuple:
        return tuple(
            conv_output_length(s, k, st, d, self.padding)
            for s, k, st, d in zip(spatial, self.kernel_size, self.strides, self.dilation_rate)
        )

    def _output_channels(self, channels):
        raise NotImplementedError

    def compute_output_spec(self, inputs, *args, **kwargs):
        return output_spec_from_shape(self, inputs)

    def compute_output_shape(self, input_shape):
        spatial, channels = self._split(input_shape)
        out = self._output_spatial(spatial)
        if any(o is not None and o <= 0 for o in out):
            raise ValueError(
                f"{self._owner}: input shape {tuple(input_shape)} is too small for kernel_size="
                f"{self.kernel_size}, strides={self.strides}, dilation_rate={self.dilation_rate} and "
                f"padding='{self.padding}' (the output would have spatial shape {out}). Use a larger "
                "input, a smaller kernel, or padding='same'."
            )
        out_channels = None if channels is None else self._output_channels(channels)
        if self.data_format == "channels_last":
            return (input_shape[0],) + out + (out_channels,)
        return (input_shape[0], out_channels) + out

    # ----------------------------------------------------------------- calling
    def _check_call_input(self, inputs, built_channels: int) -> None:
        self.compute_output_shape(inputs.shape)
        _, channels = self._split(inputs.shape)
        if channels != built_channels:
            raise ValueError(
                f"{self._owner} was built for inputs with {built_channels} channels, got input shape "
                f"{tuple(inputs.shape)} ({self.data_format})."
            )

    def _finish(self, outputs):
        """Add the bias (along the channel axis) and apply the activation."""
        if self.use_bias:
            bias = self.bias.value
            if self.data_format == "channels_first":
                bias = jnp.reshape(bias, (1, -1) + (1,) * self.rank)
            outputs = outputs + bias
        return self.activation(outputs)

    def _add_bias(self, channels: int) -> None:
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(channels,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
                name="bias",
            )

    def get_config(self):
        return {
            **super().get_config(),
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class BaseConv(BaseConvLayer):
    """N-D convolution (cross-correlation) with `filters` output channels, then bias and activation.

    `padding` is "valid" (no padding) or "same" (output length ceil(input / stride));
    `groups` splits the channels into groups convolved separately.
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        groups=1,
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
        groups = check_positive_int(self._owner, "groups", groups)
        if filters % groups:
            raise ValueError(
                f"{self._owner}: `filters` ({filters}) must be divisible by `groups` ({groups})."
            )
        self.groups = groups
        self._check_strides_and_dilation()
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def _output_channels(self, channels):
        return self.filters

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        if channels % self.groups:
            raise ValueError(
                f"{self._owner}: the input's {channels} channels must be divisible by groups={self.groups} "
                f"(input shape {tuple(input_shape)})."
            )
        self.compute_output_shape(input_shape)
        self.kernel = self.add_weight(
            shape=self.kernel_size + (channels // self.groups, self.filters),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
            name="kernel",
        )
        self._add_bias(self.filters)
        self.built = True

    def _pad_inputs(self, inputs):
        return inputs, self.padding

    def call(self, inputs):
        self._check_call_input(inputs, self.kernel.shape[-2] * self.groups)
        inputs, padding = self._pad_inputs(inputs)
        outputs = conv(
            inputs,
            self.kernel.value,
            self.strides,
            padding,
            self.dilation_rate,
            self.data_format,
            groups=self.groups,
        )
        return self._finish(outputs)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "groups": self.groups,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
        }

"""Normalisation layers: LayerNormalization, RMSNormalization, GroupNormalization, and the
checks and base class they share with BatchNormalization (in `batch_normalization.py`).

Each computes its statistics in (at least) float32, even under a mixed-precision
policy, because means and variances of float16 values overflow easily; the
result is cast back to the layer's compute dtype, as Keras does.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp

from workbench import constraints, initializers, regularizers
from workbench.core.layer import Layer


def _stats_dtype(dtype):
    """The dtype statistics are computed in: float32, or float64 for float64 inputs."""
    return jnp.promote_types(dtype, jnp.float32)


def _check_axes(layer: Layer, axes, input_shape) -> None:
    """Raise a ValueError naming the layer when an axis does not exist or has an unknown size."""
    ndim = len(input_shape)
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(
                f"Layer '{layer.name}' ({type(layer).__name__}): axis {a} is out of bounds for "
                f"input shape {tuple(input_shape)} (rank {ndim})."
            )
        if input_shape[a] is None:
            raise ValueError(
                f"Layer '{layer.name}' ({type(layer).__name__}): axis {a} of the input must have a "
                f"known size, got input shape {tuple(input_shape)}."
            )


def _check_call_shape(layer: Layer, inputs, built_shape, axes) -> None:
    """Inputs must keep the rank and the sizes of the normalised axes the layer was built for."""
    if inputs.ndim != len(built_shape) or any(inputs.shape[a] != built_shape[a] for a in axes):
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) was built for inputs of shape "
            f"{tuple(built_shape)} (axes {list(axes)} fixed), got shape {tuple(inputs.shape)}."
        )


def _int_axes(layer_name: str, axis) -> list[int] | int:
    if isinstance(axis, (list, tuple)) and all(isinstance(a, int) and not isinstance(a, bool) for a in axis):
        return list(axis)
    if isinstance(axis, int) and not isinstance(axis, bool):
        return axis
    raise ValueError(f"{layer_name}: `axis` must be an int or a list of ints, got axis={axis!r}.")


class _AffineNorm(Layer):
    """Shared arguments of the normalisations with an optional `gamma` scale and `beta` offset."""

    def __init__(
        self,
        center,
        scale,
        beta_initializer,
        gamma_initializer,
        beta_regularizer,
        gamma_regularizer,
        beta_constraint,
        gamma_constraint,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True
        self.gamma = None
        self.beta = None

    def _add_gamma(self, shape):
        self.gamma = self.add_weight(
            shape=shape,
            initializer=self.gamma_initializer,
            regularizer=self.gamma_regularizer,
            constraint=self.gamma_constraint,
            autocast=False,
            name="gamma",
        )

    def _add_beta(self, shape):
        self.beta = self.add_weight(
            shape=shape,
            initializer=self.beta_initializer,
            regularizer=self.beta_regularizer,
            constraint=self.beta_constraint,
            autocast=False,
            name="beta",
        )

    def compute_output_shape(self, input_shape):
        axes = self.axis if isinstance(self.axis, (list, tuple)) else [self.axis]
        for a in axes:
            if not -len(input_shape) <= a < len(input_shape):
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}): axis {a} is out of bounds for "
                    f"input shape {tuple(input_shape)}."
                )
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }


class LayerNormalization(_AffineNorm):
    """Normalise each example over `axis` (an int or a list of ints), then scale by gamma and add beta.

    `rms_scaling=True` is Keras' deprecated variant (divides by the standard
    deviation, no centring); prefer `RMSNormalization`.

    >>> ln = LayerNormalization()
    >>> y = ln(jnp.arange(6.0).reshape(2, 3))
    """

    def __init__(
        self,
        axis=-1,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        rms_scaling=False,
        **kwargs,
    ):
        super().__init__(
            center,
            scale,
            beta_initializer,
            gamma_initializer,
            beta_regularizer,
            gamma_regularizer,
            beta_constraint,
            gamma_constraint,
            **kwargs,
        )
        if rms_scaling:
            warnings.warn(
                "LayerNormalization(rms_scaling=True) divides by the standard deviation, not the root "
                "mean square, exactly as Keras does. For RMS normalisation use RMSNormalization.",
                stacklevel=2,
            )
        self.axis = _int_axes("LayerNormalization", axis)
        self.epsilon = float(epsilon)
        self.rms_scaling = bool(rms_scaling)
        # As in Keras, inputs keep their dtype (no cast to float16): the statistics need the precision.
        self.autocast = False

    def build(self, input_shape):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        _check_axes(self, axes, input_shape)
        self._input_shape = tuple(input_shape)
        self._axes = sorted(axes)
        shape = tuple(input_shape[a] for a in self._axes)
        if self.scale or self.rms_scaling:
            self._add_gamma(shape)
        if self.center and not self.rms_scaling:
            self._add_beta(shape)
        self.built = True

    def call(self, inputs):
        _check_call_shape(self, inputs, self._input_shape, self._axes)
        if not self.rms_scaling and self._axes in ([-1], [inputs.ndim - 1]):
            from workbench.kernels import dispatch, layer_norm

            gamma = None if self.gamma is None else self.gamma.value
            beta = None if self.beta is None else self.beta.value
            if dispatch.uses_kernel("layer_norm", inputs, gamma, beta, eps=self.epsilon):
                return layer_norm(inputs, gamma, beta, self.epsilon,
                                  implementation=dispatch.default_implementation()).astype(self.compute_dtype)
        x = inputs.astype(_stats_dtype(inputs.dtype))
        ndim, axes = x.ndim, self._axes
        bshape = [1] * ndim
        for a in axes:
            bshape[a] = x.shape[a]

        def broadcast(v):
            v = v.value.astype(x.dtype)
            return v.reshape(bshape) if v.ndim != ndim and axes != [ndim - 1] else v

        if self.rms_scaling:
            out = x * jax.lax.rsqrt(jnp.var(x, axis=axes, keepdims=True) + self.epsilon)
            if self.gamma is not None:
                out = out * broadcast(self.gamma)
        else:
            mean = jnp.mean(x, axes, keepdims=True)
            inv = jax.lax.rsqrt(jnp.var(x, axis=axes, keepdims=True) + self.epsilon)
            if self.gamma is not None:
                inv = inv * broadcast(self.gamma)
            res = -mean * inv
            if self.beta is not None:
                res = res + broadcast(self.beta)
            out = x * inv + res
        return out.astype(inputs.dtype).astype(self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "rms_scaling": self.rms_scaling}


class RMSNormalization(Layer):
    """`x / sqrt(mean(x**2 over axis) + epsilon) * scale` (Zhang & Sennrich, 2019).

    >>> y = RMSNormalization()(jnp.ones((2, 4)))
    """

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.axis = _int_axes("RMSNormalization", axis)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        _check_axes(self, axes, input_shape)
        self._input_shape = tuple(input_shape)
        self._axes = sorted(axes)
        self.scale = self.add_weight(
            shape=tuple(input_shape[a] for a in self._axes), initializer="ones", name="scale"
        )
        self.built = True

    def call(self, inputs):
        _check_call_shape(self, inputs, self._input_shape, self._axes)
        if self._axes in ([-1], [inputs.ndim - 1]):
            from workbench.kernels import dispatch, rms_norm

            if dispatch.uses_kernel("rms_norm", inputs, self.scale.value, eps=self.epsilon):
                return rms_norm(inputs, self.scale.value, self.epsilon, implementation=dispatch.default_implementation())
        x = inputs.astype(_stats_dtype(inputs.dtype))
        bshape = [1] * x.ndim
        for a in self._axes:
            bshape[a] = x.shape[a]
        rrms = jax.lax.rsqrt(jnp.mean(jnp.square(x), axis=self._axes, keepdims=True) + self.epsilon)
        out = (x * rrms) * self.scale.value.astype(x.dtype).reshape(bshape)
        return out.astype(inputs.dtype)

    compute_output_shape = _AffineNorm.compute_output_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}


class GroupNormalization(_AffineNorm):
    """Split the channels (along `axis`) into `groups` and normalise each group per example.

    `groups=-1` makes one group per channel (instance normalisation); `groups=1`
    normalises all channels together (like LayerNormalization over the features).

    >>> y = GroupNormalization(groups=2)(jnp.ones((2, 5, 4)))
    """

    def __init__(
        self,
        groups=32,
        axis=-1,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        **kwargs,
    ):
        if not isinstance(groups, int) or isinstance(groups, bool) or (groups <= 0 and groups != -1):
            raise ValueError(
                "GroupNormalization: `groups` must be a positive integer (or -1 for instance "
                f"normalisation), got groups={groups!r}."
            )
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise ValueError(f"GroupNormalization: `axis` must be an int, got axis={axis!r}.")
        super().__init__(
            center,
            scale,
            beta_initializer,
            gamma_initializer,
            beta_regularizer,
            gamma_regularizer,
            beta_constraint,
            gamma_constraint,
            **kwargs,
        )
        self.groups = groups
        self.axis = axis
        self.epsilon = float(epsilon)
        self.autocast = False

    def build(self, input_shape):
        _check_axes(self, [self.axis], input_shape)
        self._input_shape = tuple(input_shape)
        dim = input_shape[self.axis]
        groups = dim if self.groups == -1 else self.groups
        if dim % groups != 0:
            raise ValueError(
                f"Layer '{self.name}' (GroupNormalization): the {dim} channels on axis {self.axis} "
                f"(input shape {tuple(input_shape)}) cannot be split into groups={groups} equal groups."
            )
        self._groups = groups
        if self.scale:
            self._add_gamma((dim,))
        if self.center:
            self._add_beta((dim,))
        self.built = True

    def call(self, inputs):
        _check_call_shape(self, inputs, self._input_shape, [self.axis])
        ndim = inputs.ndim
        axis = self.axis % ndim
        groups, dim = self._groups, inputs.shape[axis]
        # (..., C, ...) -> (..., groups, C // groups, ...); statistics over everything but batch and groups.
        grouped_shape = inputs.shape[:axis] + (groups, dim // groups) + inputs.shape[axis + 1 :]
        x = inputs.reshape(grouped_shape).astype(_stats_dtype(inputs.dtype))
        reduce = tuple(i for i in range(1, ndim + 1) if i != axis)
        bshape = [1] * (ndim + 1)
        bshape[axis], bshape[axis + 1] = groups, dim // groups
        mean = jnp.mean(x, reduce, keepdims=True)
        inv = jax.lax.rsqrt(jnp.var(x, axis=reduce, keepdims=True) + self.epsilon)
        if self.gamma is not None:
            inv = inv * self.gamma.value.reshape(bshape).astype(x.dtype)
        res = -mean * inv
        if self.beta is not None:
            res = res + self.beta.value.reshape(bshape).astype(x.dtype)
        out = (x * inv + res).astype(inputs.dtype)
        return out.reshape(inputs.shape).astype(self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "groups": self.groups}

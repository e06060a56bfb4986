"""BatchNormalization: normalise each feature with batch statistics in training, moving averages otherwise.

Like the other normalisations (`normalization.py`), it computes its statistics in
(at least) float32 and casts the result back to the layer's compute dtype.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from workbench import config, initializers
from workbench.layers.normalization import _AffineNorm, _check_axes, _check_call_shape, _stats_dtype


class BatchNormalization(_AffineNorm):
    """Normalise each feature (along `axis`) with batch statistics in training, moving averages otherwise.

    In training (`training=True`, and the layer is trainable) it uses the mean and
    variance of the batch and updates `moving_mean` / `moving_variance` as
    `moving = moving * momentum + batch_stat * (1 - momentum)`. A `mask` of shape
    `inputs.shape[:-1]` leaves masked positions out of the batch statistics.
    `synchronized` is accepted for Keras compatibility; under `jax.jit` with
    sharded inputs the batch statistics are already global.

    >>> bn = BatchNormalization()
    >>> y = bn(jnp.ones((8, 3)), training=True)
    """

    def __init__(
        self,
        axis=-1,
        momentum=0.99,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        renorm=False,
        renorm_clipping=None,
        renorm_momentum=0.99,
        synchronized=False,
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
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise ValueError(f"BatchNormalization: `axis` must be an int, got axis={axis!r}.")
        if renorm:
            raise ValueError(
                "BatchNormalization(renorm=True) (batch renormalisation) is not supported; use renorm=False."
            )
        self.axis = axis
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.renorm = False
        self.renorm_clipping = renorm_clipping
        self.renorm_momentum = renorm_momentum
        self.synchronized = bool(synchronized)

    def build(self, input_shape):
        _check_axes(self, [self.axis], input_shape)
        self._input_shape = tuple(input_shape)
        shape = (input_shape[self.axis],)
        if self.scale:
            self._add_gamma(shape)
        if self.center:
            self._add_beta(shape)
        self.moving_mean = self.add_weight(
            shape=shape,
            initializer=self.moving_mean_initializer,
            trainable=False,
            autocast=False,
            name="moving_mean",
        )
        self.moving_variance = self.add_weight(
            shape=shape,
            initializer=self.moving_variance_initializer,
            trainable=False,
            autocast=False,
            name="moving_variance",
        )
        ndim = len(input_shape)
        self._reduction_axes = tuple(i for i in range(ndim) if i != self.axis % ndim)
        self.built = True

    def call(self, inputs, training=None, mask=None):
        _check_call_shape(self, inputs, self._input_shape, [self.axis])
        if mask is not None and mask.ndim != inputs.ndim - 1:
            raise ValueError(
                f"Layer '{self.name}' (BatchNormalization): the mask must have one dimension less than "
                f"the inputs, got mask shape {tuple(mask.shape)} for inputs {tuple(inputs.shape)}."
            )
        x = inputs.astype(_stats_dtype(inputs.dtype))
        moving_mean = self.moving_mean.value.astype(x.dtype)
        moving_variance = self.moving_variance.value.astype(x.dtype)
        if training and self.trainable:
            mean, variance = self._moments(x, mask)
            self.moving_mean.assign(moving_mean * self.momentum + mean * (1.0 - self.momentum))
            self.moving_variance.assign(moving_variance * self.momentum + variance * (1.0 - self.momentum))
        else:
            mean, variance = moving_mean, moving_variance
        shape = [1] * x.ndim
        shape[self.axis] = x.shape[self.axis]
        # Folded into one multiply-add, in the order Keras uses, so results agree bit for bit.
        inv = jax.lax.rsqrt(variance.reshape(shape) + self.epsilon)
        if self.gamma is not None:
            inv = inv * self.gamma.value.astype(x.dtype).reshape(shape)
        res = -mean.reshape(shape) * inv
        if self.beta is not None:
            res = res + self.beta.value.astype(x.dtype).reshape(shape)
        return (x * inv + res).astype(self.compute_dtype)

    def _moments(self, x, mask):
        axes = self._reduction_axes
        if mask is None:
            return jnp.mean(x, axes), jnp.var(x, axis=axes)
        weights = jnp.broadcast_to(jnp.expand_dims(mask, -1), x.shape).astype(bool)
        count = jnp.sum(weights.astype(x.dtype), axes, keepdims=True)
        mean = jnp.sum(jnp.where(weights, x, 0), axes, keepdims=True) / (count + config.epsilon())
        sq = jnp.square(jnp.where(weights, x - mean, 0))
        variance = jnp.sum(sq, axes, keepdims=True) / (count + config.epsilon())
        return jnp.squeeze(mean, axes), jnp.squeeze(variance, axes)

    def get_config(self):
        return {
            **super().get_config(),
            "momentum": self.momentum,
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
            "synchronized": self.synchronized,
            "renorm": self.renorm,
            "renorm_clipping": self.renorm_clipping,
            "renorm_momentum": self.renorm_momentum,
        }

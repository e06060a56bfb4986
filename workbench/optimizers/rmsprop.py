"""RMSprop, with Keras' centered and momentum variants."""

from __future__ import annotations

from typing import Any

import jax
import optax

from workbench.optimizers.base import LearningRate, Optimizer


class RMSprop(Optimizer):
    """Divide each gradient by a moving RMS of its recent magnitudes, as `keras.optimizers.RMSprop`.

    Keras puts `epsilon` inside the square root (`g / sqrt(v + eps)`), which is
    optax's `scale_by_rms(eps_in_sqrt=True)`; `centered=True` subtracts the squared
    mean gradient (`scale_by_stddev`). Momentum accumulates the lr-scaled
    increments, so `optax.trace` comes after the learning rate.

    Args:
        learning_rate: float or schedule; defaults to 0.001.
        rho: decay of the moving average of squared gradients.
        momentum: if > 0, momentum on the scaled increments.
        epsilon: added to the mean square inside the square root.
        centered: normalise by the estimated variance instead of the raw second moment.
        **kwargs: the base `Optimizer` arguments (weight_decay, clipnorm, ...).
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        **kwargs: Any,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def transform(self, learning_rate: jax.Array) -> optax.GradientTransformation:
        scale = optax.scale_by_stddev if self.centered else optax.scale_by_rms
        parts = [
            scale(decay=self.rho, eps=self.epsilon, initial_scale=0.0, eps_in_sqrt=True),
            optax.scale_by_learning_rate(learning_rate),
        ]
        if self.momentum > 0:
            parts.append(optax.trace(decay=self.momentum))
        return optax.chain(*parts)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }

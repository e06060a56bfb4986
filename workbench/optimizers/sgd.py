"""Stochastic gradient descent, with Keras' momentum and Nesterov variants."""

from __future__ import annotations

from typing import Any

import jax
import optax

from workbench.optimizers.base import LearningRate, Optimizer


class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum, as `keras.optimizers.SGD`.

    Keras keeps `m = momentum * m - lr * g` and adds `m` to the variable (Nesterov:
    `momentum * m - lr * g`). The learning rate is applied *before* the momentum
    trace (`scale_by_learning_rate` then `optax.trace`), so past steps keep the
    rate they were taken with when a schedule or callback changes it, as in Keras.

    Args:
        learning_rate: float or schedule; defaults to 0.01.
        momentum: float in [0, 1]; 0 is plain gradient descent.
        nesterov: whether to use Nesterov momentum.
        **kwargs: the base `Optimizer` arguments (weight_decay, clipnorm, ...).
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        **kwargs: Any,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"SGD expects momentum to be a float in [0, 1]; got momentum={momentum!r}.")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def transform(self, learning_rate: jax.Array) -> optax.GradientTransformation:
        if self.momentum == 0:
            return optax.scale_by_learning_rate(learning_rate)
        return optax.chain(
            optax.scale_by_learning_rate(learning_rate),
            optax.trace(decay=self.momentum, nesterov=self.nesterov),
        )

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}

"""Lion: the sign of an interpolated momentum, as `keras.optimizers.Lion`."""

from __future__ import annotations

from typing import Any

import jax
import optax

from workbench.optimizers.base import LearningRate, Optimizer


class Lion(Optimizer):
    """Lion (EvoLved Sign Momentum): `var -= lr * sign(beta_1 * m + (1 - beta_1) * g)`,
    then `m = beta_2 * m + (1 - beta_2) * g`; optax's `scale_by_lion` is the same rule.

    Its updates have unit magnitude per element, so it wants a learning rate
    3-10x smaller than Adam's (and a larger weight decay).

    Args:
        learning_rate: float or schedule; defaults to 0.001.
        beta_1: interpolation between momentum and gradient for the update, in (0, 1].
        beta_2: decay of the momentum.
        **kwargs: the base `Optimizer` arguments (weight_decay, clipnorm, ...).
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.99,
        **kwargs: Any,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError(
                "Lion expects beta_1 in (0, 1]; otherwise it degenerates to SignSGD. "
                f"Received: beta_1={beta_1}."
            )
        self.beta_1 = beta_1
        self.beta_2 = beta_2

    def transform(self, learning_rate: jax.Array) -> optax.GradientTransformation:
        return optax.chain(
            optax.scale_by_lion(b1=self.beta_1, b2=self.beta_2),
            optax.scale_by_learning_rate(learning_rate),
        )

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}

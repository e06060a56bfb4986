"""Adagrad: per-parameter rates from the sum of all squared gradients so far."""

from __future__ import annotations

from typing import Any

import jax
import optax

from workbench.optimizers.base import LearningRate, Optimizer


class Adagrad(Optimizer):
    """`var -= lr * g / sqrt(acc + eps)` with `acc = initial_accumulator_value + sum(g**2)`,
    as `keras.optimizers.Adagrad`; optax's `scale_by_rss` is the same rule.

    Args:
        learning_rate: float or schedule; defaults to 0.001.
        initial_accumulator_value: starting value of the accumulators, >= 0.
        epsilon: added to the accumulator inside the square root.
        **kwargs: the base `Optimizer` arguments (weight_decay, clipnorm, ...).
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
        **kwargs: Any,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if initial_accumulator_value < 0:
            raise ValueError(
                f"Adagrad expects initial_accumulator_value >= 0; got {initial_accumulator_value}."
            )
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def transform(self, learning_rate: jax.Array) -> optax.GradientTransformation:
        return optax.chain(
            optax.scale_by_rss(initial_accumulator_value=self.initial_accumulator_value, eps=self.epsilon),
            optax.scale_by_learning_rate(learning_rate),
        )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }

"""The Adam family: Adam (and AMSGrad), AdamW, Adamax and Nadam, with Keras' numerics.

Keras computes Adam as `var -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)`:
epsilon is added to the *uncorrected* `sqrt(v)`. optax's `scale_by_adam` adds
it to the bias-corrected `sqrt(v_hat)`, so the two agree exactly when optax's
epsilon is `eps / sqrt(1 - b2^t)`, a schedule over the step that
`optax.inject_hyperparams` feeds to `scale_by_adam`.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

from workbench.optimizers.base import LearningRate, Optimizer


def _sqrt_one_minus_power(beta: float):
    """The schedule `count -> sqrt(1 - beta ** (count + 1))`, in float32 as Keras computes it.

    optax passes the number of updates done so far, so step t of Keras is count + 1.
    """

    def schedule(count):
        t = jnp.asarray(count, jnp.float32) + 1.0
        return jnp.sqrt(1.0 - jnp.power(jnp.float32(beta), t))

    return schedule


class Adam(Optimizer):
    """Adam with Keras' epsilon placement, as `keras.optimizers.Adam`.

    Args:
        learning_rate: float or schedule; defaults to 0.001.
        beta_1: decay of the first-moment estimate.
        beta_2: decay of the second-moment estimate.
        epsilon: added to `sqrt(v)` before bias correction (Keras' "epsilon hat").
        amsgrad: use the running maximum of the second moment (AMSGrad).
        **kwargs: the base `Optimizer` arguments (weight_decay, clipnorm, ...).
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        **kwargs: Any,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    def transform(self, learning_rate: jax.Array) -> optax.GradientTransformation:
        correction = _sqrt_one_minus_power(self.beta_2)
        if self.amsgrad:
            # Keras takes the maximum of the uncorrected v and corrects afterwards through
            # its step size: bias_correction_nu=False, then multiply by sqrt(1 - b2^t).
            direction = optax.chain(
                optax.scale_by_amsgrad(
                    b1=self.beta_1, b2=self.beta_2, eps=self.epsilon, bias_correction_nu=False
                ),
                optax.scale_by_schedule(correction),
            )
        else:
            epsilon = self.epsilon
            # The betas stay Python floats (static), so (1 - beta) is computed in double precision
            # as Keras does; only epsilon is a schedule.
            direction = optax.inject_hyperparams(optax.scale_by_adam, static_args=("b1", "b2", "eps_root"))(
                b1=self.beta_1, b2=self.beta_2, eps=lambda count: epsilon / correction(count)
            )
        return optax.chain(direction, optax.scale_by_learning_rate(learning_rate))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }


class AdamW(Adam):
    """Adam with decoupled weight decay (`var -= var * weight_decay * lr`), as `keras.optimizers.AdamW`.

    The same as `Adam(weight_decay=...)`, with Keras' default weight_decay=0.004.
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        **kwargs: Any,
    ):
        if weight_decay is None:
            raise ValueError("AdamW expects weight_decay to be a float; got weight_decay=None.")
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            weight_decay=weight_decay,
            **kwargs,
        )


class Adamax(Optimizer):
    """Adam with the infinity norm: `var -= lr * m / ((1 - b1^t) * (u + eps))`, `u = max(b2 * u, |g|)`.

    optax's `scale_by_adamax` keeps `u' = max(b2 * u', |g| + eps)` and divides by it:
    identical while `|g|` sets the maximum, and otherwise its denominator is
    smaller than Keras' by at most `eps * (1 - b2^k)` (k steps since `|g|` last
    set it), i.e. a relative difference below `eps / u` (1e-7 / u by default).

    Args:
        learning_rate: float or schedule; defaults to 0.001.
        beta_1: decay of the first-moment estimate.
        beta_2: decay of the exponentially weighted infinity norm.
        epsilon: added to the infinity norm.
        **kwargs: the base `Optimizer` arguments (weight_decay, clipnorm, ...).
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        **kwargs: Any,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def transform(self, learning_rate: jax.Array) -> optax.GradientTransformation:
        return optax.chain(
            optax.scale_by_adamax(b1=self.beta_1, b2=self.beta_2, eps=self.epsilon),
            optax.scale_by_learning_rate(learning_rate),
        )

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Nadam(Optimizer):
    """Adam with Nesterov momentum: optax's `scale_by_adam(nesterov=True)` (optax.nadam).

    Not Keras' numerics in early training: Keras follows Dozat's schedule for the
    momentum coefficient, `mu_t = beta_1 * (1 - 0.5 * 0.96**t)`, while optax uses
    the constant `beta_1`. The moments are the same; the weights given to
    momentum and gradient differ: at step 1 Keras' update is 0.72x optax's for a
    constant gradient, per-step updates differ by ~40% over the first ~10 steps
    and ~3% at step 100, and agree within 1e-4 from step ~250. optax has no
    transformation with that schedule, and workbench does not hand-write one.

    Args:
        learning_rate: float or schedule; defaults to 0.001.
        beta_1: decay of the first-moment estimate.
        beta_2: decay of the second-moment estimate.
        epsilon: added to the bias-corrected `sqrt(v)`.
        **kwargs: the base `Optimizer` arguments (weight_decay, clipnorm, ...).
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        **kwargs: Any,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def transform(self, learning_rate: jax.Array) -> optax.GradientTransformation:
        return optax.chain(
            optax.scale_by_adam(b1=self.beta_1, b2=self.beta_2, eps=self.epsilon, nesterov=True),
            optax.scale_by_learning_rate(learning_rate),
        )

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}

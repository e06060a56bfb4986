"""Learning-rate schedules with the names, arguments and values of `keras.optimizers.schedules`.

A schedule is a callable `step -> learning rate` (a float32 scalar array) that
is safe under `jax.jit`, so it doubles as an optax schedule: pass it as any
optimizer's `learning_rate` and it is evaluated at the optax state's step count.
As in Keras, the step is first cast to float32. Where optax has the same curve
(exponential, piecewise constant, polynomial, cosine with warmup) the value
comes from optax's schedule; inverse-time decay, cyclic polynomial decay and
unbounded warm restarts have no optax equivalent and follow Keras' formulas.

>>> from workbench.optimizers import schedules
>>> lr = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
>>> round(float(lr(20)), 6)
0.025
"""

from __future__ import annotations

import difflib
import math
from typing import Any

import jax
import jax.numpy as jnp
import optax


def _step(step: Any) -> jax.Array:
    # Keras casts the step to the learning rate's dtype (float32) before any arithmetic.
    return jnp.asarray(step, dtype=jnp.float32)


def _lr(value: Any) -> jax.Array:
    return jnp.asarray(value, dtype=jnp.float32)


def _check_positive(value: Any, name: str) -> None:
    if not value > 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")


class LearningRateSchedule:
    """Base class: subclasses implement `__call__(step)` and `get_config()`.

    >>> class Halving(LearningRateSchedule):
    ...     def __init__(self, initial_learning_rate):
    ...         self.initial_learning_rate = initial_learning_rate
    ...     def __call__(self, step):
    ...         return self.initial_learning_rate * 0.5 ** (step // 100)
    ...     def get_config(self):
    ...         return {"initial_learning_rate": self.initial_learning_rate}
    """

    def __call__(self, step: Any) -> jax.Array:
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override __call__(step)."
        )

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments as a JSON-ready dict."""
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override get_config() to be serialisable."
        )

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        """A schedule rebuilt from `get_config()` output."""
        return cls(**config)

    def __repr__(self) -> str:
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        except NotImplementedError:
            args = "..."
        return f"{type(self).__name__}({args})"


class ExponentialDecay(LearningRateSchedule):
    """`initial_learning_rate * decay_rate ** (step / decay_steps)`; with `staircase`, the exponent is floored."""

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        decay_rate: float,
        staircase: bool = False,
        name: str = "ExponentialDecay",
    ):
        _check_positive(decay_steps, "decay_steps")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step: Any) -> jax.Array:
        schedule = optax.exponential_decay(
            self.initial_learning_rate, self.decay_steps, self.decay_rate, staircase=self.staircase
        )
        return _lr(schedule(_step(step)))

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class PiecewiseConstantDecay(LearningRateSchedule):
    """`values[0]` while `step <= boundaries[0]`, `values[i]` while `boundaries[i-1] < step <= boundaries[i]`,
    `values[-1]` after the last boundary.

    >>> lr = PiecewiseConstantDecay(boundaries=[100, 200], values=[1.0, 0.5, 0.1])
    >>> [round(float(lr(step)), 6) for step in (100, 101, 201)]
    [1.0, 0.5, 0.1]
    """

    def __init__(self, boundaries: list, values: list, name: str = "PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. Received: "
                f"boundaries={boundaries} of length {len(boundaries)}, and values={values} of length {len(values)}."
            )
        self.boundaries = list(boundaries)
        self.values = list(values)
        self.name = name

    def __call__(self, step: Any) -> jax.Array:
        # optax switches at `step >= boundary`, Keras after `step > boundary`: for the integer
        # steps of training those agree once each boundary is moved to floor(boundary) + 1.
        schedule = optax.join_schedules(
            [optax.constant_schedule(v) for v in self.values],
            [math.floor(b) + 1 for b in self.boundaries],
        )
        return _lr(schedule(_step(step)))

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """From `initial_learning_rate` to `end_learning_rate` over `decay_steps` along `(1 - t) ** power`.

    With `cycle=True` the decay restarts, over the first multiple of `decay_steps`
    that is >= step (as Keras does), instead of holding `end_learning_rate`.
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        end_learning_rate: float = 0.0001,
        power: float = 1.0,
        cycle: bool = False,
        name: str = "PolynomialDecay",
    ):
        _check_positive(decay_steps, "decay_steps")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step: Any) -> jax.Array:
        step = _step(step)
        if not self.cycle:
            # Past decay_steps the rate is end_learning_rate exactly. Under jit, XLA turns
            # `step / decay_steps` into `step * (1 / decay_steps)`, which can exceed 1 at the
            # last step and make `(1 - p) ** 0.5` NaN (Keras' own schedule does, under jit);
            # joining a constant at decay_steps keeps the polynomial to p < 1.
            schedule = optax.join_schedules(
                [
                    optax.polynomial_schedule(
                        self.initial_learning_rate, self.end_learning_rate, self.power, self.decay_steps
                    ),
                    optax.constant_schedule(self.end_learning_rate),
                ],
                [self.decay_steps],
            )
            return _lr(schedule(step))
        # No optax schedule cycles; Keras' formula, with 1 - p kept >= 0 for the reason above.
        decay_steps = jnp.float32(self.decay_steps)
        multiplier = jnp.where(step == 0, 1.0, jnp.ceil(step / decay_steps))
        remaining = jnp.maximum(1.0 - step / (decay_steps * multiplier), 0.0)
        lr = jnp.float32(self.initial_learning_rate)
        end = jnp.float32(self.end_learning_rate)
        return _lr((lr - end) * remaining ** jnp.float32(self.power) + end)

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }


class InverseTimeDecay(LearningRateSchedule):
    """`initial_learning_rate / (1 + decay_rate * step / decay_steps)`; with `staircase`, the ratio is floored.

    optax has no inverse-time schedule, so this is Keras' formula.
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        decay_rate: float,
        staircase: bool = False,
        name: str = "InverseTimeDecay",
    ):
        _check_positive(decay_steps, "decay_steps")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step: Any) -> jax.Array:
        p = _step(step) / jnp.float32(self.decay_steps)
        if self.staircase:
            p = jnp.floor(p)
        return _lr(jnp.float32(self.initial_learning_rate) / (1.0 + jnp.float32(self.decay_rate) * p))

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class CosineDecay(LearningRateSchedule):
    """Optional linear warmup, then a half cosine down to `alpha` times the starting rate.

    Without `warmup_target` the cosine starts at `initial_learning_rate`. With it,
    the rate first goes linearly from `initial_learning_rate` to `warmup_target`
    over `warmup_steps`, then decays from `warmup_target` over `decay_steps`
    (Keras 3 semantics: `decay_steps` excludes the warmup, unlike optax's
    `warmup_cosine_decay_schedule`).

    >>> lr = CosineDecay(0.0, decay_steps=100, warmup_target=0.1, warmup_steps=10)
    >>> round(float(lr(5)), 6), round(float(lr(10)), 6), round(float(lr(110)), 6)
    (0.05, 0.1, 0.0)
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        alpha: float = 0.0,
        name: str = "CosineDecay",
        warmup_target: float | None = None,
        warmup_steps: int = 0,
    ):
        _check_positive(decay_steps, "decay_steps")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def __call__(self, step: Any) -> jax.Array:
        step = _step(step)
        if self.warmup_target is None:
            return _lr(
                optax.cosine_decay_schedule(self.initial_learning_rate, self.decay_steps, self.alpha)(step)
            )
        schedule = optax.join_schedules(
            [
                optax.linear_schedule(self.initial_learning_rate, self.warmup_target, self.warmup_steps),
                optax.cosine_decay_schedule(self.warmup_target, self.decay_steps, self.alpha),
            ],
            [self.warmup_steps],
        )
        return _lr(schedule(step))

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): period i lasts `first_decay_steps * t_mul**i` steps
    and starts at `initial_learning_rate * m_mul**i`.

    optax's `sgdr_schedule` takes a finite list of periods; this one restarts
    forever, so it follows Keras' closed form.
    """

    def __init__(
        self,
        initial_learning_rate: float,
        first_decay_steps: int,
        t_mul: float = 2.0,
        m_mul: float = 1.0,
        alpha: float = 0.0,
        name: str = "SGDRDecay",
    ):
        _check_positive(first_decay_steps, "first_decay_steps")
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self.t_mul = t_mul
        self.m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step: Any) -> jax.Array:
        f32 = jnp.float32
        t_mul, m_mul, alpha = f32(self.t_mul), f32(self.m_mul), f32(self.alpha)
        fraction = _step(step) / f32(self.first_decay_steps)
        if self.t_mul == 1.0:
            restart = jnp.floor(fraction)
            fraction = fraction - restart
        else:
            restart = jnp.floor(jnp.log(1.0 - fraction * (1.0 - t_mul)) / jnp.log(t_mul))
            done = (1.0 - t_mul**restart) / (1.0 - t_mul)
            fraction = (fraction - done) / t_mul**restart
        cosine = 0.5 * m_mul**restart * (1.0 + jnp.cos(f32(math.pi) * fraction))
        return _lr(f32(self.initial_learning_rate) * ((1 - alpha) * cosine + alpha))

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self.t_mul,
            "m_mul": self.m_mul,
            "alpha": self.alpha,
            "name": self.name,
        }


ALL_SCHEDULES: dict[str, type[LearningRateSchedule]] = {
    cls.__name__: cls
    for cls in (
        ExponentialDecay,
        PiecewiseConstantDecay,
        PolynomialDecay,
        InverseTimeDecay,
        CosineDecay,
        CosineDecayRestarts,
    )
}


def serialize(schedule: LearningRateSchedule) -> dict[str, Any]:
    """`{"module", "class_name", "config", "registered_name"}`, the layout of Keras' schedule configs."""
    if not isinstance(schedule, LearningRateSchedule):
        raise ValueError(f"serialize expects a LearningRateSchedule; got {type(schedule).__name__}.")
    return {
        "module": "workbench.optimizers.schedules",
        "class_name": type(schedule).__name__,
        "config": schedule.get_config(),
        "registered_name": None,
    }


def deserialize(
    config: dict[str, Any], custom_objects: dict[str, type] | None = None
) -> LearningRateSchedule:
    """A schedule from `serialize` output; Keras' schedule configs load too."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"Expected a schedule config dict with 'class_name' and 'config'; got {config!r:.200}."
        )
    known = {**ALL_SCHEDULES, **(custom_objects or {})}
    name = config["class_name"]
    if name not in known:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ValueError(
            f"Unknown learning rate schedule '{name}'.{hint} Known: {sorted(known)}; "
            "pass custom_objects={name: cls} for your own."
        )
    return known[name].from_config(dict(config.get("config", {})))

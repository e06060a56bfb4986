"""The optimizer protocol: Keras arguments outside, one optax transformation inside.

An `Optimizer` holds settings only (learning rate, clipping, weight decay and
its own hyper-parameters); all state lives in the optax state that
`to_optax().init(params)` returns, so the trainer can carry it through
`jax.jit(lax.scan(...))`, donate it and checkpoint it like any other pytree.

Every step is the same chain, in Keras' order::

    clip (clipnorm | global_clipnorm | clipvalue)
    -> optimizer.transform(learning_rate)        # e.g. scale_by_adam, then -lr
    -> + (-lr * weight_decay) * params           # Keras: var -= var * wd * lr

wrapped in `optax.inject_hyperparams`, so the learning rate is a leaf of the
state: `set_learning_rate(state, value)` changes it between steps without a
new compilation, and a schedule is evaluated at the state's step count.
"""

from __future__ import annotations

import copy
import numbers
import re
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from workbench.optimizers import schedules as schedules_lib

LearningRate = float | schedules_lib.LearningRateSchedule | Callable[[Any], Any]

# Keras' base-optimizer arguments that workbench accepts only at their defaults, so that a
# Keras optimizer config loads unchanged (their defaults are what `get_config` writes).
_KERAS_ONLY_DEFAULTS = {
    "use_ema": False,
    "ema_momentum": 0.99,
    "ema_overwrite_frequency": None,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
}


def _snake_case(name: str) -> str:
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def _check_learning_rate(value: Any, owner: str) -> LearningRate:
    if isinstance(value, bool):
        raise ValueError(f"{owner} expects learning_rate to be a float or a schedule; got {value!r}.")
    if isinstance(value, numbers.Real) or (isinstance(value, np.ndarray | jax.Array) and np.ndim(value) == 0):
        return float(value)
    if callable(value):
        return value
    raise ValueError(
        f"{owner} expects learning_rate to be a float, a "
        "workbench.optimizers.schedules.LearningRateSchedule, or a callable step -> learning rate "
        f"(an optax schedule); got {value!r} of type {type(value).__name__}."
    )


def _optional_float(value: Any, name: str, owner: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{owner} expects {name} to be a float or None; got {value!r}.")
    return float(value)


def clip_each_by_norm(max_norm: float) -> optax.GradientTransformation:
    """Keras' `clipnorm`: every variable's gradient clipped to L2 norm <= `max_norm` on its own.

    optax has only the global-norm clip, so this applies `optax.clip_by_global_norm`
    to each leaf separately: `g * max_norm / max(norm(g), max_norm)`.
    """
    clip = optax.clip_by_global_norm(max_norm)
    return optax.stateless_with_tree_map(lambda g, _: clip.update(g, optax.EmptyState())[0])


def _lr_states(opt_state: Any) -> list:
    """Every `inject_hyperparams` state in `opt_state` that injects a `learning_rate`."""
    found = optax.tree.get_all_with_path(opt_state, "InjectStatefulHyperparamsState")
    return [s for _, s in found if "learning_rate" in s.hyperparams]


def _lr_state(opt_state: Any):
    states = _lr_states(opt_state)
    if len(states) != 1:
        what = "no" if not states else f"{len(states)}"
        raise ValueError(
            f"Expected an optimizer state with one injected `learning_rate` hyper-parameter; found {what}. "
            "Workbench optimizers put it there (Optimizer.to_optax()); for a raw optax "
            "transformation, build it with optax.inject_hyperparams, e.g. "
            "optax.inject_hyperparams(optax.adam)(learning_rate=1e-3)."
        )
    return states[0]


def read_learning_rate(opt_state: Any) -> jax.Array:
    """The learning rate stored in an `optax.inject_hyperparams` state.

    For a constant learning rate this is the one the next step uses; for a
    schedule it is the value the latest step used (optax stores it there).
    `Optimizer.get_learning_rate` gives the next step's value in both cases.
    """
    return _lr_state(opt_state).hyperparams["learning_rate"]


def write_learning_rate(opt_state: Any, value: Any) -> Any:
    """`opt_state` with its injected learning rate replaced by `value`.

    The new leaf keeps the old one's dtype and shape, so a jitted step that
    takes the state as an argument is not traced again.
    """
    target = _lr_state(opt_state)
    if "learning_rate" in target.hyperparams_states:
        raise TypeError(
            "This optimizer's learning rate is a schedule, so it cannot be set; "
            "build the optimizer with a float learning_rate to change it during training."
        )
    old = target.hyperparams["learning_rate"]
    hyperparams = dict(target.hyperparams)
    hyperparams["learning_rate"] = jnp.asarray(value, dtype=jnp.result_type(old)).reshape(jnp.shape(old))
    replacement = target._replace(hyperparams=hyperparams)
    return jax.tree.map(lambda x: replacement if x is target else x, opt_state, is_leaf=lambda x: x is target)


class Optimizer:
    """Base class of the Keras-named optimizers; subclasses say how one step scales gradients.

    A subclass implements `transform(learning_rate)`: the optax transformation of
    one step given the current learning rate (a scalar array), from optax pieces
    (`optax.scale_by_adam`, `optax.trace`, ...), ending in the `-learning_rate`
    scaling. The base adds clipping and weight decay around it and injects the
    learning rate into the state.

    Args:
        learning_rate: a float, a `workbench.optimizers.schedules.LearningRateSchedule`,
            or any callable step -> learning rate (an optax schedule).
        weight_decay: if set, Keras' decoupled decay `var -= var * weight_decay * lr`
            each step, applied beside (not through) the optimizer's moments.
        clipnorm: clip each variable's gradient to this L2 norm.
        clipvalue: clip every gradient element to `[-clipvalue, clipvalue]`.
        global_clipnorm: clip all gradients together to this global L2 norm.
        name: a name, as in Keras' configs.

    >>> import jax.numpy as jnp, optax
    >>> from workbench import optimizers
    >>> opt = optimizers.Adam(learning_rate=0.1)
    >>> tx = opt.to_optax()
    >>> params = {"w": jnp.ones(3)}
    >>> state = tx.init(params)
    >>> updates, state = tx.update({"w": jnp.ones(3)}, state, params)
    >>> params = optax.apply_updates(params, updates)
    >>> state = opt.set_learning_rate(state, 0.01)  # no recompilation of a jitted step
    >>> round(float(opt.get_learning_rate(state)), 6)
    0.01
    """

    def __init__(
        self,
        learning_rate: LearningRate,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        owner = type(self).__name__
        kwargs.pop("decay", None)  # Keras 2's argument, ignored by Keras 3 too
        for key, default in _KERAS_ONLY_DEFAULTS.items():
            value = kwargs.pop(key, default)
            if value != default:
                raise ValueError(
                    f"{owner}: {key}={value!r} is not supported by workbench optimizers "
                    f"(only the Keras default {default!r})."
                )
        if kwargs:
            raise ValueError(f"{owner} got unexpected argument(s) {sorted(kwargs)}.")
        self.name = name or _snake_case(owner)
        self._learning_rate = _check_learning_rate(learning_rate, owner)
        self.weight_decay = _optional_float(weight_decay, "weight_decay", owner)
        self.clipnorm = _optional_float(clipnorm, "clipnorm", owner)
        self.clipvalue = _optional_float(clipvalue, "clipvalue", owner)
        self.global_clipnorm = _optional_float(global_clipnorm, "global_clipnorm", owner)
        clips = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
        if sum(v is not None for v in clips.values()) > 1:
            given = ", ".join(f"{k}={v}" for k, v in clips.items() if v is not None)
            raise ValueError(
                f"{owner} accepts only one of clipnorm, clipvalue and global_clipnorm; got {given}."
            )

    # ------------------------------------------------------------------ learning rate
    @property
    def learning_rate(self) -> LearningRate:
        """The learning rate: a float or a schedule, or, once a compiled model has
        trained, the value its next step uses (a scalar array).

        Setting a float changes the value `to_optax()` starts with and, for an
        optimizer bound to a model's train state, the value of the following steps.
        """
        state = self._live_opt_state()
        if state is not None:
            return self.get_learning_rate(state)
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: LearningRate) -> None:
        value = _check_learning_rate(value, type(self).__name__)
        if callable(self._learning_rate) and not callable(value):
            raise TypeError(
                f"{type(self).__name__} was built with a schedule as its learning_rate, so the learning "
                "rate is not settable; build the optimizer with a float learning_rate to change it."
            )
        state = self._live_opt_state()
        if state is not None and not callable(value):
            self._live[1](self.set_learning_rate(state, value))
        self._learning_rate = value

    def bind_state(self, read: Callable[[], Any] | None, write: Callable[[Any], None] | None = None) -> None:
        """Tie `learning_rate` to a running optimizer state (as a compiled model does).

        While `read()` returns a state, reading `learning_rate` gives the value the
        next step will use and setting it writes the new value into the state via
        `write(new_state)`, as Keras callbacks expect of `model.optimizer`.
        """
        self._live = None if read is None else (read, write)

    def _live_opt_state(self):
        live = getattr(self, "_live", None)
        return None if live is None else live[0]()

    def get_learning_rate(self, opt_state: Any) -> jax.Array:
        """The learning rate the next step will use, read from `opt_state`.

        A schedule is evaluated at the state's step count (the number of updates
        applied so far), as Keras evaluates it at `optimizer.iterations`.
        """
        if callable(self._learning_rate):
            count = _lr_state(opt_state).count
            return jnp.asarray(self._learning_rate(count), dtype=jnp.float32)
        return read_learning_rate(opt_state)

    def set_learning_rate(self, opt_state: Any, value: Any) -> Any:
        """`opt_state` with the learning rate of the following steps set to `value`.

        Pure and jit-safe; the new value has the old one's dtype and shape, so the
        jitted train step is not traced again. Raises TypeError for a schedule.
        """
        if callable(self._learning_rate):
            raise TypeError(
                f"{type(self).__name__} was built with a schedule as its learning_rate, so the learning "
                "rate is not settable; build the optimizer with a float learning_rate to change it."
            )
        return write_learning_rate(opt_state, value)

    # ------------------------------------------------------------------ optax
    def transform(self, learning_rate: jax.Array) -> optax.GradientTransformation:
        """One step's optax transformation for the current `learning_rate`, which it must apply
        (usually last, as `optax.scale_by_learning_rate(learning_rate)`)."""
        raise NotImplementedError(f"{type(self).__name__} must implement transform(learning_rate).")

    def _clipping(self) -> list[optax.GradientTransformation]:
        # Keras treats 0 as "off" and applies at most one of the three.
        if self.clipnorm:
            return [clip_each_by_norm(self.clipnorm)]
        if self.global_clipnorm:
            return [optax.clip_by_global_norm(self.global_clipnorm)]
        if self.clipvalue:
            return [optax.clip(self.clipvalue)]
        return []

    def to_optax(self) -> optax.GradientTransformation:
        """The optax transformation of this optimizer, with the learning rate in its state.

        It reads the optimizer's settings now: change them and call `to_optax()` again.
        `update(grads, state, params)` needs `params` when weight_decay is set.
        """
        frozen = copy.copy(self)

        def keras_step(learning_rate):
            parts = frozen._clipping() + [frozen.transform(learning_rate)]
            if frozen.weight_decay:
                # After the optimizer's own transformation, so momentum never sees the decay.
                parts.append(optax.add_decayed_weights(-learning_rate * frozen.weight_decay))
            return optax.chain(*parts)

        return optax.inject_hyperparams(keras_step)(learning_rate=frozen._learning_rate)

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, with Keras' keys; a schedule is serialised to a dict.

        A plain callable learning rate (e.g. an optax schedule) is kept as the object:
        such a config round-trips in memory but is not JSON.
        """
        lr = self._learning_rate
        if isinstance(lr, schedules_lib.LearningRateSchedule):
            lr = schedules_lib.serialize(lr)
        return {
            "name": self.name,
            "learning_rate": lr,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            **_KERAS_ONLY_DEFAULTS,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Optimizer:
        """An optimizer rebuilt from `get_config()` output (Keras' optimizer configs load too)."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules_lib.deserialize(config["learning_rate"])
        return cls(**config)

    def __repr__(self) -> str:
        config = {**self.get_config(), "learning_rate": self._learning_rate}
        shown = ", ".join(
            f"{k}={v!r}"
            for k, v in config.items()
            if k != "name" and not (k in _KERAS_ONLY_DEFAULTS or v is None)
        )
        return f"{type(self).__name__}({shown})"


class OptaxOptimizer(Optimizer):
    """Any optax `GradientTransformation` behind the `Optimizer` interface.

    `to_optax()` returns it unchanged. Its learning rate can be read and set only
    when it was built with `optax.inject_hyperparams`; it has no config to save.

    >>> import optax
    >>> from workbench import optimizers
    >>> opt = optimizers.get(optax.inject_hyperparams(optax.adam)(learning_rate=1e-3))
    >>> isinstance(opt, optimizers.OptaxOptimizer)
    True
    """

    def __init__(self, transformation: optax.GradientTransformation, name: str | None = None):
        if not isinstance(transformation, optax.GradientTransformation):
            raise ValueError(
                f"OptaxOptimizer expects an optax.GradientTransformation; got {type(transformation).__name__}."
            )
        self.name = name or "optax"
        self.transformation = transformation
        self._learning_rate = None
        self.weight_decay = self.clipnorm = self.clipvalue = self.global_clipnorm = None

    @property
    def learning_rate(self) -> Any:
        """The injected learning rate of the bound train state; None before training.

        Outside a bound model the learning rate lives only in an optax state: use
        `get_learning_rate(opt_state)`.
        """
        state = self._live_opt_state()
        return None if state is None else self.get_learning_rate(state)

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        state = self._live_opt_state()
        if state is None:
            raise TypeError(
                "An optax transformation's learning rate lives in its state; "
                "use set_learning_rate(opt_state, value) (it needs optax.inject_hyperparams)."
            )
        self._live[1](self.set_learning_rate(state, value))

    def get_learning_rate(self, opt_state: Any) -> jax.Array:
        """The injected learning rate in `opt_state` (for a schedule: the latest step's value)."""
        return read_learning_rate(opt_state)

    def set_learning_rate(self, opt_state: Any, value: Any) -> Any:
        """`opt_state` with its injected, unscheduled learning rate set to `value`."""
        return write_learning_rate(opt_state, value)

    def to_optax(self) -> optax.GradientTransformation:
        """The wrapped transformation, unchanged."""
        return self.transformation

    def get_config(self) -> dict[str, Any]:
        """Not available: an arbitrary optax transformation cannot be written as a config."""
        raise TypeError(
            "An optax GradientTransformation has no config, so it cannot be saved; "
            "use a workbench optimizer (e.g. workbench.optimizers.Adam) to save one."
        )

    def __repr__(self) -> str:
        return f"OptaxOptimizer({self.transformation!r})"

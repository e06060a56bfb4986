"""workbench.optimizers.schedules against keras.optimizers.schedules: values, jit, configs."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

from workbench.optimizers import schedules

STEPS = np.arange(0, 130)

CASES = [
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=7, decay_rate=0.8)),
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=7, decay_rate=0.8, staircase=True)),
    ("PiecewiseConstantDecay", dict(boundaries=[10, 20, 50], values=[1.0, 0.5, 0.1, 0.01])),
    ("PiecewiseConstantDecay", dict(boundaries=[10.5, 20.0], values=[0.3, 0.2, 0.1])),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=40)),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=40, end_learning_rate=0.01, power=0.5)),
    (
        "PolynomialDecay",
        dict(initial_learning_rate=0.1, decay_steps=30, end_learning_rate=0.01, power=2.0, cycle=True),
    ),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=5, decay_rate=0.5)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=5, decay_rate=0.5, staircase=True)),
    ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=100)),
    ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=80, alpha=0.2)),
    (
        "CosineDecay",
        dict(initial_learning_rate=0.01, decay_steps=80, alpha=0.1, warmup_target=0.2, warmup_steps=20),
    ),
    ("CosineDecay", dict(initial_learning_rate=0.01, decay_steps=80, warmup_target=0.2, warmup_steps=0)),
    ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=80, warmup_steps=20)),  # no target: no warmup
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=10)),
    (
        "CosineDecayRestarts",
        dict(initial_learning_rate=0.1, first_decay_steps=10, t_mul=1.5, m_mul=0.8, alpha=0.1),
    ),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=12, t_mul=1.0, m_mul=0.5)),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]


def keras_values(name, kwargs):
    sched = getattr(keras.optimizers.schedules, name)(**kwargs)
    if name == "CosineDecay" and kwargs.get("warmup_target") is not None:
        # Its ops.cond needs a scalar step; vmap turns it into a select.
        return np.asarray(jax.jit(jax.vmap(sched))(jnp.asarray(STEPS)))
    # Eagerly on all steps at once: under jit, Keras' PolynomialDecay gives NaN past decay_steps.
    return np.asarray(sched(jnp.asarray(STEPS)))


@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_values_match_keras(name, kwargs):
    ours = getattr(schedules, name)(**kwargs)
    values = jax.jit(jax.vmap(ours))(jnp.asarray(STEPS, jnp.int32))
    assert values.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(values), keras_values(name, kwargs), rtol=2e-6, atol=1e-8)


@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_config_round_trips_and_matches_keras(name, kwargs):
    ours = getattr(schedules, name)(**kwargs)
    config = ours.get_config()
    assert config == getattr(keras.optimizers.schedules, name)(**kwargs).get_config()
    again = schedules.deserialize(schedules.serialize(ours))
    assert type(again) is type(ours) and again.get_config() == config
    assert float(again(17)) == float(ours(17))


def test_keras_serialized_schedules_load():
    theirs = keras.optimizers.schedules.PolynomialDecay(0.1, 40, cycle=True)
    ours = schedules.deserialize(keras.optimizers.schedules.serialize(theirs))
    assert isinstance(ours, schedules.PolynomialDecay)
    assert float(ours(55)) == pytest.approx(float(theirs(55)), rel=1e-6)


def test_polynomial_decay_stays_finite_under_jit():
    # XLA rewrites step / decay_steps as step * (1 / decay_steps); (1 - p) ** 0.5 must not see p > 1.
    for cycle in (False, True):
        sched = schedules.PolynomialDecay(0.1, 40, 0.01, power=0.5, cycle=cycle)
        values = jax.jit(jax.vmap(sched))(jnp.arange(0, 200))
        assert bool(jnp.all(jnp.isfinite(values)))
        assert float(jax.jit(sched)(jnp.int32(40))) == pytest.approx(0.01)


def test_schedules_trace_once_under_jit():
    traces = []
    sched = schedules.CosineDecay(0.0, 50, warmup_target=0.1, warmup_steps=10)

    @jax.jit
    def lr(step):
        traces.append(1)
        return sched(step)

    values = [float(lr(jnp.int32(s))) for s in (0, 5, 10, 60)]
    assert len(traces) == 1
    assert values == pytest.approx([0.0, 0.05, 0.1, 0.0], abs=1e-7)


def test_custom_schedule_subclass_and_custom_objects():
    class Halving(schedules.LearningRateSchedule):
        def __init__(self, initial_learning_rate):
            self.initial_learning_rate = initial_learning_rate

        def __call__(self, step):
            return self.initial_learning_rate * 0.5 ** (step // 10)

        def get_config(self):
            return {"initial_learning_rate": self.initial_learning_rate}

    config = schedules.serialize(Halving(0.4))
    with pytest.raises(ValueError, match="custom_objects"):
        schedules.deserialize(config)
    again = schedules.deserialize(config, custom_objects={"Halving": Halving})
    assert float(again(25)) == pytest.approx(0.1)


def test_errors_say_what_arrived():
    with pytest.raises(ValueError, match="decay_steps=0"):
        schedules.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="first_decay_steps=-1"):
        schedules.CosineDecayRestarts(0.1, -1)
    with pytest.raises(ValueError, match="length 2"):
        schedules.PiecewiseConstantDecay([1, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="Did you mean 'CosineDecay'"):
        schedules.deserialize({"class_name": "CosinDecay", "config": {}})
    with pytest.raises(NotImplementedError, match="__call__"):
        schedules.LearningRateSchedule()(0)

"""Calling a built model again on same-shaped inputs must not compile again."""

import contextlib

import jax
import numpy as np

import workbench
from workbench import layers


@contextlib.contextmanager
def count_compiles():
    counter = {"n": 0}

    def listener(event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            counter["n"] += 1

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield counter
    finally:
        unregister = getattr(jax.monitoring, "unregister_event_duration_listener", None)
        if unregister is None:  # older jax keeps it private
            from jax._src import monitoring

            unregister = monitoring.unregister_event_duration_listener
        unregister(listener)


def test_second_call_on_same_shape_compiles_nothing():
    x = np.random.rand(8, 6).astype("float32")
    model = workbench.Sequential([workbench.Input((6,)), layers.Dense(16, activation="relu"),
                                  layers.Dropout(0.2), layers.Dense(3)])
    model(x)  # first call: builds and runs
    model(x)  # compiles the jitted pure call once
    with count_compiles() as c:
        for _ in range(5):
            model(x)
            model(x + 1.0)
    assert c["n"] <= 1  # `x + 1.0` itself may compile one tiny add, the model call nothing
    with count_compiles() as c:
        for _ in range(3):
            model(x)
    assert c["n"] == 0


def test_new_shape_compiles_once_then_is_cached():
    model = workbench.Sequential([workbench.Input((6,)), layers.Dense(4)])
    model(np.ones((2, 6), "float32"))
    model(np.ones((2, 6), "float32"))
    x = np.ones((5, 6), "float32")
    with count_compiles() as c:
        model(x)
    first = c["n"]
    assert first >= 1
    with count_compiles() as c:
        model(x)
        model(x)
    assert c["n"] == 0


def test_jitted_call_equals_eager_call_and_training_updates_state():
    model = workbench.Sequential([workbench.Input((6,)), layers.Dense(4)])
    x = np.random.rand(3, 6).astype("float32")
    eager = np.asarray(model(x))
    jitted = np.asarray(model(x))
    np.testing.assert_allclose(eager, jitted, rtol=1e-6)

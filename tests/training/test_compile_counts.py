"""The train function compiles once per (batch shape, K), never per step; the persistent compilation cache."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np

import workbench
from workbench import layers

REPO = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def count_traces(name="train_multi"):
    """Count the traces of one jitted function (each new shape or K traces it once) and all backend compiles."""
    counter = {"traces": 0, "compiles": 0}

    def listener(event, duration, **kwargs):
        if event == "/jax/core/compile/jaxpr_trace_duration" and kwargs.get("fun_name") == name:
            counter["traces"] += 1
        if event == "/jax/core/compile/backend_compile_duration":
            counter["compiles"] += 1

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield counter
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)


def _mlp():
    workbench.utils.set_random_seed(0)
    m = workbench.Sequential([workbench.Input((6,)), layers.Dense(8, activation="relu"), layers.Dense(3)])
    return m


def _data(n=70):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 6)).astype("float32"), rng.integers(0, 3, n)


def test_one_trace_per_batch_shape_and_k_none_per_step():
    x, y = _data()
    m = _mlp()
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"], steps_per_execution=4)
    with count_traces() as c:
        m.fit(x, y, batch_size=16, epochs=3, verbose=0)  # 5 steps an epoch: groups of 4, last one padded
    assert c["traces"] == 1
    with count_traces() as c:
        m.fit(x, y, batch_size=8, epochs=2, verbose=0)  # a new batch shape
    assert c["traces"] == 1
    with count_traces() as c:
        m.fit(x, y, batch_size=16, epochs=2, verbose=0)
        m.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert c == {"traces": 0, "compiles": 0}


def test_automatic_k_compiles_the_single_step_and_the_chosen_k_once():
    x, y = _data(n=640)
    m = _mlp()
    m.compile("adam", "sparse_categorical_crossentropy")
    with count_traces() as c:
        m.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert m._auto_k > 1 and c["traces"] == 2  # K=1 (timed), then the chosen K
    with count_traces() as c:
        m.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert c == {"traces": 0, "compiles": 0}


def test_feature_shape_error_names_the_layer_before_compiling():
    class Net(workbench.Model):
        def __init__(self):
            super().__init__()
            self.first = layers.Dense(4, name="first_dense")
            self.head = layers.Dense(2, name="head")

        def call(self, x):
            return self.head(self.first(x))

    m = Net()
    m(np.ones((2, 3), "float32"))
    m.compile("sgd", "mse")
    with count_traces() as c:
        try:
            m.fit(np.ones((8, 5), "float32"), np.ones((8, 2), "float32"), verbose=0)
        except ValueError as e:
            message = str(e)
        else:
            raise AssertionError("fit accepted 5 features for a model built on 3")
    assert "first_dense" in message and "3" in message and "(8, 5)" in message
    assert c["traces"] == 0


def _run(code: str, env: dict) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(REPO), **env})
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_compilation_cache_is_on_by_default_in_a_per_user_dir_and_off_by_env(tmp_path):
    code = "import workbench; print(workbench.config.compilation_cache_dir())"
    clean = {k: "" for k in ("WORKBENCH_COMPILATION_CACHE", "WORKBENCH_COMPILATION_CACHE_DIR")}
    env = {**clean, "XDG_CACHE_HOME": str(tmp_path / "xdg"), "JAX_COMPILATION_CACHE_DIR": ""}
    assert _run(code, env) == str(tmp_path / "xdg" / "workbench" / "jax")
    assert _run(code, {**env, "WORKBENCH_COMPILATION_CACHE": "0"}) == "None"
    assert _run(code, {**env, "WORKBENCH_COMPILATION_CACHE_DIR": str(tmp_path / "mine")}) == str(tmp_path / "mine")


def test_a_second_process_loads_the_train_step_from_the_cache(tmp_path):
    code = (
        "import numpy as np, workbench as wb\n"
        "wb.utils.set_random_seed(0)\n"
        "m = wb.Sequential([wb.Input((6,)), wb.layers.Dense(8, name='h'), wb.layers.Dense(3, name='o')], name='n')\n"
        "m.compile('adam', 'sparse_categorical_crossentropy', steps_per_execution=2)\n"
        "m.fit(np.ones((32, 6), 'float32'), np.zeros(32, 'int32'), batch_size=8, verbose=0)\n"
        "import os; print(len(os.listdir(wb.config.compilation_cache_dir())))\n"
    )
    env = {"WORKBENCH_COMPILATION_CACHE_DIR": str(tmp_path / "cache"), "WORKBENCH_COMPILATION_CACHE": ""}
    first = int(_run(code, env))
    second = int(_run(code, env))
    assert first > 0 and second == first  # everything the second process needed was already there

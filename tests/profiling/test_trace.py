"""trace / read_trace: a profiler trace of training is written into the run folder, jax's own reader
opens it, and its summary puts the Dense layers' matmuls among the top operations, by layer."""

import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import workbench
from workbench import layers, runs
from workbench.profiling.trace import TraceSummary, read_trace, trace

DENSE = ("hidden_1", "hidden_2", "logits")
STEPS = 3


def mlp():
    model = workbench.Sequential([
        workbench.Input((64,)),
        layers.Dense(256, activation="relu", name=DENSE[0]),
        layers.Dense(256, activation="relu", name=DENSE[1]),
        layers.Dense(10, name=DENSE[2]),
    ], name="mlp")
    model.compile("adam", workbench.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    runs.set_runs_dir(root)
    yield root
    runs.set_runs_dir(None)


@pytest.fixture(scope="module")
def traced(runs_root):
    """A model fitted once with a run folder, then traced for STEPS steps."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(512, 64)).astype("float32"), rng.integers(0, 10, 512)
    model = mlp()
    # Batches large enough that the matmuls, not Adam's elementwise updates, are most of a step.
    model.fit(x, y, batch_size=128, epochs=1, steps_per_epoch=2, verbose=0, run_name="mlp")
    return model, trace(model, steps=STEPS, x=x, y=y, batch_size=128)


def is_matmul(row):
    return row["category"] == "matmul" or any(k in row["name"] for k in ("dot", "gemm", "matmul"))


def test_the_trace_goes_into_the_model_last_run_and_jax_reads_it(traced):
    model, summary = traced
    assert summary.path == model._run_path / "profile" / "trace"
    xplanes = [f for f in summary.files if f.name.endswith(".xplane.pb")]
    assert xplanes and all(f.is_relative_to(summary.path / "plugins" / "profile") for f in xplanes)
    planes = [p.name for p in jax.profiler.ProfileData.from_file(str(xplanes[0])).planes]
    assert set(summary.planes) <= set(planes)
    assert summary.steps == STEPS and summary.wall_s > 0
    saved = json.loads((summary.path / "trace_summary.json").read_text())
    assert saved == json.loads(json.dumps(summary.to_dict()))


def test_the_dense_matmuls_are_among_the_top_ops_by_layer(traced):
    _, summary = traced
    top = summary.top_ops[:3]
    assert any(is_matmul(r) for r in top), [(r["name"], r["category"]) for r in top]
    matmuls = [r for r in summary.top_ops if r["category"] == "matmul"]
    assert {r["layer"] for r in matmuls} == set(DENSE)  # forward and backward of each Dense
    assert set(DENSE) <= set(summary.by_layer)
    assert all(r["count"] == STEPS for r in matmuls)
    # fit's steps run in a loop; the loop op holds the others' time, and is not counted twice
    assert not any(r["name"].startswith("while") for r in summary.top_ops)
    assert sum(r["share"] for r in summary.top_ops) <= 1 + 1e-9
    text = str(summary)
    assert "Operation" in text and "hidden_2" in text and "Time per layer" in text


def test_read_trace_gives_the_same_summary_from_the_run_folder(traced):
    model, summary = traced
    again = read_trace(model._run_path)
    assert isinstance(again, TraceSummary)
    assert again.to_dict() == summary.to_dict()


def test_without_the_xspace_the_trace_json_is_read_by_op_name(traced, tmp_path):
    _, summary = traced
    for f in summary.files:
        if f.name.endswith(".trace.json.gz"):
            shutil.copy(f, tmp_path / f.name)
    from_json = read_trace(tmp_path)
    assert from_json.steps is None and from_json.by_layer == {}
    assert any("by name only" in n for n in from_json.notes)
    assert {r["name"] for r in from_json.top_ops[:3]} & {r["name"] for r in summary.top_ops if is_matmul(r)}


def test_a_function_is_called_steps_times_in_a_new_profile_folder(runs_root):
    @jax.jit
    def project(a, b):
        with jax.named_scope("projection"):
            return jnp.tanh(a @ b)

    a = jnp.ones((128, 256))
    b = jnp.ones((256, 128))
    summary = trace(lambda: project(a, b), steps=4)
    run_folder = summary.path.parent.parent
    assert run_folder.parent == runs_root and "-profile-" in run_folder.name
    matmul = next(r for r in summary.top_ops if is_matmul(r))
    assert matmul["count"] == 4 and matmul["layer"] == "projection"
    assert summary.steps == 4


def test_a_run_can_be_named_by_id(traced):
    model, _ = traced
    summary = trace(lambda: jnp.ones((64, 64)) @ jnp.ones((64, 64)), steps=1, run=model._run_path.name)
    assert summary.path == model._run_path / "profile" / "trace"
    assert read_trace(summary.path).to_dict() == summary.to_dict()


def test_bad_input_is_refused_with_what_to_do(runs_root, tmp_path):
    with pytest.raises(ValueError, match="at least 1"):
        trace(lambda: None, steps=0)
    with pytest.raises(ValueError, match="whole number"):
        trace(lambda: None, steps=2.5)
    uncompiled = workbench.Sequential([workbench.Input((4,)), layers.Dense(2)])
    with pytest.raises(RuntimeError, match=r"must be compiled.*model.compile"):
        trace(uncompiled, steps=1, x=np.zeros((8, 4), "float32"))
    with pytest.raises(ValueError, match="pass its data as x="):
        trace(mlp(), steps=1)
    with pytest.raises(TypeError, match="layer 'dense"):
        trace(layers.Dense(3, name="dense_alone"), steps=1)
    with pytest.raises(TypeError, match="got int"):
        trace(42, steps=1)
    with pytest.raises(TypeError, match="with no arguments"):
        trace(lambda a: a, steps=1)
    with pytest.raises(FileNotFoundError, match="no profiler trace"):
        read_trace(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_trace(tmp_path / "missing")


def test_the_summary_counts_the_steps_that_ran_when_the_data_is_shorter(runs_root):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(64, 64)).astype("float32"), rng.integers(0, 10, 64)
    summary = trace(mlp(), steps=5, x=x, y=y, batch_size=32)  # two batches of 32
    assert summary.steps == 2

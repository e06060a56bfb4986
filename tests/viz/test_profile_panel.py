"""workbench.viz.ProfilePanel: a fit's profile, from the model or from its run folder, as one widget's state."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("anywidget")

import workbench as wb  # noqa: E402
from workbench import layers  # noqa: E402
from workbench.profiling import layer_costs, train_step_memory  # noqa: E402
from workbench.runs import RunError, load_run  # noqa: E402
from workbench.viz import ProfilePanel  # noqa: E402
from workbench.viz.plotly_library import shared_library  # noqa: E402

CATEGORIES = {"data_wait", "compile", "dispatch", "device", "callbacks", "checkpoint", "validation", "other"}
CHARTS = {"layer_costs", "layer_time", "step_memory", "device_memory", "steps", "compiles", "trace"}
BATCH = 16


def mlp():
    model = wb.Sequential(
        [
            layers.Input((8,)),
            layers.Dense(16, activation="relu", name="hidden"),
            layers.Dense(2, name="logits"),
        ],
        name="mlp",
    )
    model.compile("adam", wb.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def data(n=128):
    x = np.random.default_rng(0).normal(size=(n, 8)).astype("float32")
    return x, (x[:, 0] > 0).astype("int32")


def fit_mlp(run_dir):
    x, y = data()
    model = mlp()
    model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0, run_dir=str(run_dir))
    return model, x, y


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A tiny MLP fitted 2 epochs into a run folder (which tests only read: writers use `run_copy`)."""
    return fit_mlp(tmp_path_factory.mktemp("fit") / "run")


@pytest.fixture
def run_copy(fitted, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(fitted[0]._run_path, copy)
    return copy


def without_kind(records):
    return [{k: v for k, v in r.items() if k != "kind"} for r in records]


def test_the_panel_of_a_fitted_model_and_of_its_run_folder_agree(fitted):
    model, _, _ = fitted
    from_model = ProfilePanel(model)
    from_folder = ProfilePanel(model._run_path)
    from_run = ProfilePanel(load_run(model._run_path))

    assert from_model.steps == without_kind(model.fit_profile["steps"])
    assert [s["epoch"] for s in from_model.steps] == [0, 1]
    assert all(set(s["seconds"]) == CATEGORIES for s in from_model.steps)
    assert from_model.compiles == without_kind(model.fit_profile["compiles"])
    assert (
        from_model.compiles[0]["function"] == "train step" and from_model.compiles[0]["cause"] == "first call"
    )
    for panel in (from_folder, from_run):
        assert panel.steps == from_model.steps and panel.compiles == from_model.compiles
        assert panel.repeated == from_model.repeated == {}
        assert panel.notes == [] and panel.title == "mlp"  # the run's name
    assert from_model.title == "mlp" and from_model.source == "model 'mlp' (Sequential) · run run"
    # Nothing computed, no trace: the same charts are replaced by a line, in both.
    assert (
        set(from_model.missing)
        == set(from_folder.missing)
        == {"layer_costs", "layer_time", "step_memory", "device_memory", "trace"}
    )
    assert "sample_batch=" in from_model.missing["layer_costs"]
    assert "no profile/layer_costs.json" in from_folder.missing["layer_costs"]
    assert shared_library() is from_model._library
    bundle, _ = from_model._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_layer_costs_and_memory_are_computed_and_written_into_the_run_folder(fitted, run_copy, monkeypatch):
    model, x, y = fitted
    monkeypatch.setattr(model, "_run_path", run_copy)
    panel = ProfilePanel(model, sample_batch=x[:8], x=x, y=y)

    assert panel.layer_costs == layer_costs(model, x[:8]).to_dict()
    assert [r["class_name"] for r in panel.layer_costs["rows"]] == ["Dense", "Dense"]
    # The memory of one train step on a batch of the fit's batch size, as its run recorded it.
    assert (
        panel.memory == train_step_memory(model, x[:BATCH], y[:BATCH]) and panel.memory["batch_size"] == BATCH
    )
    assert panel.memory["peak_estimate"] > panel.memory["temporaries"] > 0
    assert "layer_costs" not in panel.missing and "step_memory" not in panel.missing
    profile = run_copy / "profile"
    assert json.loads((profile / "layer_costs.json").read_text()) == panel.layer_costs
    assert json.loads((profile / "memory.json").read_text()) == panel.memory
    assert not list(profile.glob(".*")), "a temporary file was left behind"

    again = ProfilePanel(run_copy)
    assert again.layer_costs == panel.layer_costs and again.memory == panel.memory
    assert set(again.missing) == {"layer_time", "device_memory", "trace"}


def test_a_computation_that_fails_is_shown_in_place_of_its_chart(fitted):
    model, x, _ = fitted
    panel = ProfilePanel(model, sample_batch=x[:, :3])
    assert panel.layer_costs == {}
    assert panel.missing["layer_costs"].startswith(
        "No per-layer FLOPs: layer_costs: model 'mlp' could not run"
    )


def test_sections_without_data_say_so_in_one_line(tmp_path):
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "run.json").write_text(json.dumps({"id": "bare", "name": "empty run", "status": "finished"}))
    panel = ProfilePanel(str(bare))
    assert set(panel.missing) == CHARTS
    assert all("\n" not in line and line.startswith("No ") for line in panel.missing.values())
    assert panel.missing["steps"] == "No step times: this run has no profile/steps.jsonl."
    assert panel.steps == panel.compiles == [] and panel.notes == [] and panel.title == "empty run"
    assert panel.trace_hint.startswith("traces are captured from a model")
    with pytest.raises(RuntimeError, match="Cannot capture a trace: traces are captured from a model"):
        panel.capture_trace()

    unfitted = ProfilePanel(mlp())
    assert set(unfitted.missing) == CHARTS
    assert "has not been fit yet" in unfitted.missing["steps"]
    assert unfitted.source == "model 'mlp' (Sequential) · no run folder"
    assert unfitted.trace_hint.startswith("pass x= (and y=)")


def test_a_partially_written_last_line_and_a_damaged_file_are_left_out_with_a_note(fitted, run_copy):
    model, _, _ = fitted
    with open(run_copy / "profile" / "steps.jsonl", "a") as f:
        f.write('{"kind": "steps", "epoch": 2, "step": 2')
    (run_copy / "profile" / "layer_costs.json").write_text('{"model_name": "mlp", "rows": [')
    panel = ProfilePanel(run_copy)
    assert panel.steps == without_kind(model.fit_profile["steps"])
    assert len(panel.notes) == 2
    assert "profile/steps.jsonl" in panel.notes[0] and "incomplete" in panel.notes[0]
    assert panel.notes[1].startswith("profile/layer_costs.json: is not valid JSON")
    assert "layer_costs" in panel.missing


def test_the_live_callback_shows_each_record_as_fit_makes_it():
    x, y = data()
    model = mlp()
    panel = ProfilePanel(model)
    panel.sync_interval = 0  # every record reaches the synced state at once
    seen = []

    class Spy(wb.callbacks.Callback):
        def on_profile(self, record):
            seen.append((record["kind"], len(panel.steps), len(panel.compiles)))

    model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0, log=False, callbacks=[panel.callback(), Spy()])
    assert panel.steps == without_kind(model.fit_profile["steps"]) and len(panel.steps) == 2
    assert panel.compiles == without_kind(model.fit_profile["compiles"])
    assert [s for kind, s, _ in seen if kind == "steps"] == [1, 2]
    compiles = [c for kind, _, c in seen if kind == "compile"]
    assert compiles == list(range(1, len(compiles) + 1))
    assert "steps" not in panel.missing and "compiles" not in panel.missing


def test_records_fed_faster_than_the_sync_interval_are_sent_together():
    panel = ProfilePanel(mlp())
    now = [1e9]
    panel._clock = lambda: now[0]
    callback = panel.callback()
    callback.on_train_begin()
    assert "No step times yet" in panel.missing["steps"]
    for count in (1, 2, 3):
        callback.on_profile(
            {
                "kind": "compile",
                "function": "train step",
                "seconds": 0.1,
                "count": count,
                "cause": "first call" if count == 1 else f"shape change {count}",
            }
        )
    callback.on_profile({"kind": "histogram"})  # not a profile record: ignored
    assert panel.compiles == []  # within the interval: taken, not yet sent
    callback.on_fit_exit()
    assert [c["count"] for c in panel.compiles] == [1, 2, 3] and panel.compile_count == 3
    assert panel.repeated == {"train step": 3}
    now[0] += 1
    callback.on_profile(
        {
            "kind": "steps",
            "epoch": 0,
            "step": 3,
            "wall": 1.0,
            "steps": 3,
            "seconds": dict.fromkeys(CATEGORIES, 0.125),
            "memory": {"bytes_in_use": 2**20, "peak_bytes_in_use": 2**21},
        }
    )
    assert len(panel.steps) == 1  # the interval has passed: sent at once
    assert "steps" not in panel.missing and "device_memory" not in panel.missing  # a GPU's bytes in use


def test_capture_trace_shows_the_top_ops_and_time_per_layer(tmp_path):
    model, x, y = fit_mlp(tmp_path / "run")
    shown = without_kind(model.fit_profile["steps"])
    panel = ProfilePanel(model, x=x, y=y, trace_steps=2)
    assert panel.trace_hint == "" and panel.missing["trace"] == "No trace yet. Capture trace records one."
    summary = panel.capture_trace()

    assert panel.trace_summary["top_ops"] == summary.top_ops and summary.top_ops
    assert set(panel.trace_summary["by_layer"]) >= {"hidden", "logits"}
    assert "trace" not in panel.missing and "layer_time" not in panel.missing
    assert panel.steps == shown, "the trace's own training replaced the fit the panel shows"
    assert (tmp_path / "run" / "profile" / "trace" / "trace_summary.json").is_file()
    assert ProfilePanel(tmp_path / "run").trace_summary == panel.trace_summary


def test_a_bad_target_or_argument_is_refused_with_what_was_expected(fitted):
    model, x, _ = fitted
    with pytest.raises(
        TypeError,
        match=r"a run \(its id, its folder path, or a workbench.runs.Run\) or a model "
        r"\(usually after fit\); got int: 42",
    ):
        ProfilePanel(42)
    with pytest.raises(TypeError, match=r"got the layer 'lonely' \(Dense\)"):
        ProfilePanel(layers.Dense(2, name="lonely"))
    with pytest.raises(RunError, match="there is no run 'no-such-run'"):
        ProfilePanel("no-such-run")
    with pytest.raises(TypeError, match="x are for a model target"):
        ProfilePanel(model._run_path, x=x)
    with pytest.raises(ValueError, match="y was given without x"):
        ProfilePanel(model, y=x)
    with pytest.raises(ValueError, match="trace_steps must be a whole number of steps, at least 1; got 0"):
        ProfilePanel(model, trace_steps=0)

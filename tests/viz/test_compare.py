"""workbench.viz.compare: runs read from their folders, as curves, a table and parallel coordinates."""

from __future__ import annotations

import base64
import hashlib
import inspect
import math
import os
import shutil
import types

import numpy as np
import pytest

pytest.importorskip("anywidget")

import workbench as wb  # noqa: E402
from workbench.runs import RunLogger, load_run  # noqa: E402
from workbench.runs import compare as compare_rows  # noqa: E402
from workbench.viz import RunComparison, compare  # noqa: E402
from workbench.viz.plotly_library import shared_library  # noqa: E402
from workbench.viz.series import decode_body, decode_snapshot  # noqa: E402

# name -> hyper-parameters; learning rates a decade apart (a log axis), a categorical flag.
RUNS = {
    "small": {"batch_size": 8, "learning_rate": 1e-3, "shuffle": True},
    "mid": {"batch_size": 16, "learning_rate": 1e-2, "shuffle": False},
    "large": {"batch_size": 32, "learning_rate": 1e-1, "shuffle": True},
}
EPOCHS = 3


def tiny_model(learning_rate=1e-3):
    model = wb.Sequential([wb.layers.Input((4,)), wb.layers.Dense(2)])
    model.compile(
        wb.optimizers.Adam(learning_rate=learning_rate),
        wb.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def tiny_data(n=64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype("int32")


def fit(root, name, hparams, callbacks=(), epochs=EPOCHS):
    x, y = tiny_data()
    model = tiny_model(hparams["learning_rate"])
    logger = RunLogger(root=root, run_name=name, hparams=hparams, checkpoints=False)
    model.fit(
        x,
        y,
        batch_size=hparams["batch_size"],
        epochs=epochs,
        shuffle=hparams["shuffle"],
        validation_data=(x[:16], y[:16]),
        callbacks=[logger, *callbacks],
        verbose=0,
    )
    return logger.path, model.history.history


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three finished runs with different batch sizes, learning rates and shuffling."""
    root = tmp_path_factory.mktemp("runs")
    paths, histories = {}, {}
    for name, hparams in RUNS.items():
        paths[name], histories[name] = fit(root, name, hparams)
    return types.SimpleNamespace(
        root=root, paths=paths, histories=histories, ids={n: p.name for n, p in paths.items()}
    )


@pytest.fixture
def root(runs, tmp_path):
    """A copy of the runs folder, for tests that damage a run."""
    copy = tmp_path / "runs"
    shutil.copytree(runs.root, copy)
    return copy


def hashes(folder):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def synced_curves(widget):
    """The curves the browser gets: (run id, "split/metric") -> step, epoch, value."""
    header, body = decode_snapshot(widget._curves)
    arrays = decode_body(header, body)["curves"]
    return {
        (widget.rows[e["run"]]["id"], f"{e['split']}/{e['name']}"): arrays[e["key"]] for e in header["curves"]
    }


def row_of(widget, run_id):
    (row,) = [r for r in widget.rows if r["id"] == run_id]
    return row


def test_compare_is_the_function_and_the_widget_uses_the_shared_plotly():
    assert inspect.isfunction(wb.viz.compare) and wb.viz.RunComparison is RunComparison
    assert {"compare", "RunComparison"} <= set(wb.viz.__all__)


def test_every_runs_curves_are_overlaid_one_color_per_run(runs):
    w = compare(root=runs.root)
    assert isinstance(w, RunComparison) and w.notes == []
    assert sorted(r["id"] for r in w.rows) == sorted(runs.ids.values())
    assert len(set(w.colors)) == len(w.rows) == 3
    curves = synced_curves(w)
    names = {"train/loss", "train/accuracy", "train/learning_rate", "val/loss", "val/accuracy"}
    assert {name for _, name in curves} == names
    assert len(curves) == 3 * len(names)  # one curve per run and metric: a chart per metric overlays three
    for run_id in runs.ids.values():
        run = load_run(run_id, runs.root)
        for split in ("train", "val"):
            columns = run.metrics(split)
            for metric in ("loss", "accuracy"):
                curve = curves[(run_id, f"{split}/{metric}")]
                assert curve["epoch"].tolist() == [0, 1, 2]
                assert curve["step"].tolist() == columns["step"].tolist()
                np.testing.assert_allclose(curve["value"], columns[metric], rtol=1e-6)
                np.testing.assert_array_equal(w.series(run_id, f"{split}/{metric}")["value"], columns[metric])
    with pytest.raises(KeyError, match="has no curve 'val/nope'"):
        w.series(runs.ids["small"], "val/nope")


def test_the_table_has_a_row_per_run_with_hparams_and_final_metrics(runs):
    ids = [runs.ids[n] for n in ("large", "small", "mid")]
    w = compare(ids, root=runs.root)
    assert [r["id"] for r in w.rows] == ids
    assert w.columns == {
        "hparams": ["batch_size", "learning_rate", "shuffle", "epochs", "optimizer"],
        "metrics": ["accuracy", "loss", "final_learning_rate", "val_accuracy", "val_loss"],
    }
    assert w.rows == compare_rows(ids, runs.root)
    for name, hparams in RUNS.items():
        row = row_of(w, runs.ids[name])
        assert row["name"] == name and row["status"] == "finished"
        assert (
            {k: row[k] for k in hparams} == hparams and row["epochs"] == EPOCHS and row["optimizer"] == "adam"
        )
        assert row["val_loss"] == pytest.approx(runs.histories[name]["val_loss"][-1], rel=1e-6)
        assert row["final_learning_rate"] == pytest.approx(hparams["learning_rate"])


def test_parallel_coordinates_of_hparams_against_the_chosen_metric(runs):
    w = compare(root=runs.root)
    axes = w.parallel["axes"]
    # epochs and optimizer are the same in every run: no axis for them.
    assert [a["name"] for a in axes] == ["batch_size", "learning_rate", "shuffle", "val_loss"]
    assert [a["kind"] for a in axes] == ["number", "number", "category", "metric"]
    assert [a["scale"] for a in axes] == ["linear", "log", "category", "linear"]
    assert axes[2]["ticks"] == [[0.0, "False"], [1.0, "True"]]
    lines = {line["id"]: line for line in w.parallel["lines"]}
    assert [w.rows[line["run"]]["id"] for line in w.parallel["lines"]] == [r["id"] for r in w.rows]
    expected = {"small": [0.0, 0.0, 1.0], "mid": [1 / 3, 0.5, 0.0], "large": [1.0, 1.0, 1.0]}
    for name, positions in expected.items():
        assert lines[runs.ids[name]]["positions"][:3] == pytest.approx(positions)
    val_loss = {n: runs.histories[n]["val_loss"][-1] for n in RUNS}
    best, worst = min(val_loss, key=val_loss.get), max(val_loss, key=val_loss.get)
    assert lines[runs.ids[best]]["value"] == 0.0 and lines[runs.ids[worst]]["value"] == 1.0
    assert all(line["value"] == line["positions"][-1] for line in lines.values())

    w.metric = "accuracy"
    assert w.parallel["metric"] == "accuracy" and w.parallel["axes"][-1]["name"] == "accuracy"
    w.metric = "val_nope"
    assert "No run has a final 'val_nope'" in w.parallel["message"]
    assert all(line["value"] is None for line in w.parallel["lines"])


def test_categories_spread_evenly_and_missing_values_leave_gaps():
    from workbench.viz.run_comparison import parallel_coordinates

    rows = [
        {"id": "a", "act": "relu", "units": 8, "loss": 1.0},
        {"id": "b", "act": "tanh", "units": None, "loss": math.nan},
        {"id": "c", "act": "gelu", "units": 32, "loss": 3.0},
    ]
    data = parallel_coordinates(rows, ["act", "units"], "loss")
    assert data["axes"][0]["ticks"] == [[0.0, "gelu"], [0.5, "relu"], [1.0, "tanh"]]
    assert [line["positions"] for line in data["lines"]] == [
        [0.5, 0.0, 0.0],
        [1.0, None, None],
        [0.0, 1.0, 1.0],
    ]
    # A run without a value (no run.json) does not make a hyper-parameter differ.
    rows = [{"id": "a", "epochs": 3, "units": 8}, {"id": "b", "epochs": None, "units": 16}]
    assert [a["name"] for a in parallel_coordinates(rows, ["epochs", "units"], "loss")["axes"]] == [
        "units",
        "loss",
    ]


@pytest.mark.parametrize("damage", ["cut last line", "no run.json", "a file", "unreadable"])
def test_a_damaged_run_is_a_note_and_no_file_changes(runs, root, damage, monkeypatch):
    run_id = runs.ids["mid"]
    path = root / run_id
    if damage == "cut last line":
        metrics = path / "metrics.jsonl"
        metrics.write_bytes(metrics.read_bytes()[:-25])  # into the last record: epoch 3's val values
        expected = f"run {run_id}: metrics.jsonl: the last line (line"
    elif damage == "no run.json":
        (path / "run.json").unlink()
        expected = f"run {run_id}: run.json is missing"
    elif damage == "a file":
        shutil.rmtree(path)
        path.write_text("not a run\n")
        expected = f"run {run_id}: this is a file, not a run folder."
    else:
        expected = f"run {run_id}: the run folder cannot be read (Permission denied)."
    before = hashes(root)
    if damage == "unreadable":
        path.chmod(0)
        if os.geteuid() == 0:  # root reads any folder: refuse this one as the system would refuse a user
            listdir = os.listdir

            def refuse(where="."):
                if os.fspath(where) == os.fspath(path):
                    raise PermissionError(13, "Permission denied", os.fspath(where))
                return listdir(where)

            monkeypatch.setattr(os, "listdir", refuse)
    try:
        everything = compare(root=root)
        named = compare([runs.ids["small"], run_id, runs.ids["large"]], root=root)
    finally:
        if path.is_dir():
            path.chmod(0o755)
    assert hashes(root) == before
    if damage == "a file":  # in a listing, a file is not a run (as for `list_runs`); named, it is a problem
        assert everything.notes == [] and len(everything.rows) == 2
    for w in (everything, named) if damage != "a file" else (named,):
        assert [n for n in w.notes if n.startswith(expected)], w.notes
        assert len(w.notes) == 1 and "Traceback" not in w.notes[0]
        assert {runs.ids["small"], runs.ids["large"]} <= {r["id"] for r in w.rows}
    w = named
    if damage == "cut last line":
        assert w.series(run_id, "val/loss")["epoch"].tolist() == [0, 1]
        assert synced_curves(w)[(run_id, "train/loss")]["epoch"].tolist() == [0, 1, 2]
    elif damage == "no run.json":
        row = row_of(w, run_id)
        assert row["status"] == "unknown" and row["name"] is None and "batch_size" not in row
        assert row["val_loss"] == pytest.approx(runs.histories["mid"]["val_loss"][-1], rel=1e-6)
        (line,) = [line for line in w.parallel["lines"] if line["id"] == run_id]
        # shuffle is True in every run that says: no axis for it.
        assert [a["name"] for a in w.parallel["axes"]] == ["batch_size", "learning_rate", "val_loss"]
        assert line["positions"][:2] == [None, None] and line["value"] == line["positions"][2] is not None
        assert len(synced_curves(w)[(run_id, "val/loss")]["value"]) == EPOCHS
    else:
        assert [r["id"] for r in w.rows] == [runs.ids["small"], runs.ids["large"]]
        assert not [key for key in synced_curves(w) if key[0] == run_id]


def test_refresh_shows_the_new_epochs_of_a_run_being_written(tmp_path):
    seen = []
    widget: list[RunComparison] = []

    def look(epoch, logs):
        if not widget:
            widget.append(compare(root=tmp_path))
        else:
            widget[0].refresh()
        w = widget[0]
        seen.append((w.rows[0]["status"], len(synced_curves(w)[(w.rows[0]["id"], "val/loss")]["value"])))

    hparams = {"batch_size": 16, "learning_rate": 1e-2, "shuffle": False}
    path, _ = fit(tmp_path, "live", hparams, callbacks=[wb.callbacks.LambdaCallback(on_epoch_end=look)])
    assert seen == [("running", 1), ("running", 2), ("running", 3)]
    w = widget[0]
    w.refresh()
    assert w.rows[0]["status"] == "finished" and w.notes == []
    # A run that appears in the folder shows at the next refresh; the widget's Refresh button does the same.
    shutil.copytree(path, tmp_path / "copy")
    w._on_browser_message(w, {"type": "refresh"}, [])
    assert len(w.rows) == 2 and len(w.colors) == 2


def test_an_empty_or_missing_runs_folder_is_a_note(tmp_path):
    w = compare(root=tmp_path)
    assert w.rows == [] and len(w.notes) == 1 and "There are no runs in" in w.notes[0]
    w = compare(root=tmp_path / "missing")
    assert w.rows == [] and "there is no runs folder here" in w.notes[0]
    w = compare(["nope"], root=tmp_path)
    assert w.notes == ["run nope: there is no run 'nope'; `workbench runs list` shows the runs."]


def test_plotly_is_not_in_the_widget_and_comes_from_the_shared_library(runs):
    w = compare([runs.paths["small"]])
    assert w._library is shared_library()
    assert len(w._esm) < 50_000 and "__PLOTLY_BUNDLE__" not in w._esm
    sent = []
    w.send = lambda content, buffers=None: sent.append((content, buffers))
    w._on_browser_message(w, {"type": "plotly"}, [])
    ((content, buffers),) = sent
    assert content == {"type": "plotly_source"} and len(buffers[0]) > 1_000_000


def test_the_views_drawing_helpers(run_node, tmp_path, runs):
    (tmp_path / "compare.mjs").write_text(compare([runs.paths["small"]])._esm)
    script = """
    import { readFileSync } from "node:fs";
    import * as view from "./compare.mjs";
    const { header, body } = view.decodeSnapshot(Buffer.from(JSON.parse(readFileSync("payload.json")), "base64"));
    const curves = view.decodeEntries(header, body).curves;
    console.log(JSON.stringify({
      segments: view.segments([0, null, 0.5, 1, null]),
      low: view.viridis(0), high: view.viridis(1), missing: view.viridis(null),
      drawn: typeof view.default.render, curves: curves.map((c) => [c.entry.split, c.entry.name, c.epoch]),
    }));
    """
    out = run_node(script, base64.b64encode(compare([runs.paths["small"]])._curves).decode())
    assert out["segments"] == [[[0, 0]], [[2, 0.5], [3, 1]]]
    assert out["low"] == "rgb(68,1,84)" and out["high"] == "rgb(253,231,37)" and out["missing"] == "#aaa"
    assert out["drawn"] == "function"
    assert ["val", "loss", [0, 1, 2]] in out["curves"] and len(out["curves"]) == 5

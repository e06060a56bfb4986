"""Reading runs back: list_runs, load_run, compare, and runs that are being written, cut short or damaged."""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import numpy as np
import pytest

import workbench as wb
from workbench.runs import RunError, RunLogger, compare, list_runs, load_run

from .conftest import tiny_data


def hashes(folder):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def root(finished, tmp_path):
    """A runs folder holding a copy of the finished run, for tests that damage it."""
    shutil.copytree(finished.path, tmp_path / finished.path.name)
    return tmp_path


def test_list_runs_describes_each_run(finished):
    (info,) = [i for i in list_runs(finished.root) if i.id == finished.path.name]
    assert (info.name, info.status, info.steps, info.epochs, info.message) == (
        "baseline",
        "finished",
        6,
        2,
        None,
    )
    assert info.path == finished.path and info.created.endswith("Z")
    assert info.last["val"]["loss"] == pytest.approx(finished.model.history.history["val_loss"][-1])


def test_runs_are_listed_oldest_first(tmp_path):
    for created, name in (
        ("2025-03-01T00:00:00Z", "b"),
        ("2025-01-01T00:00:00Z", "c"),
        ("2025-02-01T00:00:00Z", "a"),
    ):
        (tmp_path / name).mkdir()
        (tmp_path / name / "run.json").write_text(
            json.dumps({"id": name, "status": "finished", "created": created})
        )
    (tmp_path / "not-a-run").mkdir()
    (tmp_path / "notes.txt").write_text("hello")
    assert [i.id for i in list_runs(tmp_path)] == ["c", "a", "b"]


def test_load_run_by_id_prefix_or_path(finished):
    run = load_run(finished.path.name, root=finished.root)
    assert run.status == "finished" and run.info["name"] == "baseline" and run.notes == []
    assert load_run(finished.path).id == run.id
    assert load_run(finished.path.name[:-2], root=finished.root).id == run.id
    with pytest.raises(RunError, match="there is no run 'nope'") as e:
        load_run("nope", root=finished.root)
    assert e.value.path == finished.root


def test_metrics_come_back_as_columns(finished):
    run = load_run(finished.path)
    history = finished.model.history.history
    val = run.metrics("val")
    assert list(val["epoch"]) == [0, 1] and list(val["step"]) == [3, 6]
    np.testing.assert_allclose(val["loss"], history["val_loss"], rtol=1e-6)
    train = run.metrics("train")
    np.testing.assert_allclose(train["learning_rate"], [0.001, 0.001])
    steps = run.metrics("train", kind="batch")
    assert list(steps["step"]) == [1, 2, 3, 4, 5, 6] and steps["batch_loss"].dtype == np.float64
    # Running means always come with an epoch's last step.
    assert not np.isnan(steps["loss"][[2, 5]]).any()
    assert steps.notes == []
    with pytest.raises(ValueError, match="split"):
        run.metrics("test")


def test_histograms_come_back_filtered(finished):
    run = load_run(finished.path)
    kernel = f"{finished.model.layers[-1].name}/kernel"
    weights = run.histograms(kernel, source="weights")
    assert [r["epoch"] for r in weights] == [0, 1]
    assert sum(weights[-1]["counts"]) == 12
    assert {r["source"] for r in run.histograms(kernel)} == {"weights", "gradients"}


def test_as_frame_gives_pandas_tables(finished):
    pd = pytest.importorskip("pandas")
    frame = load_run(finished.path).metrics("val", as_frame=True)
    assert isinstance(frame, pd.DataFrame) and list(frame["epoch"]) == [0, 1]


def test_compare_gives_hparams_and_final_metrics(finished, root):
    copy = root / finished.path.name
    info = json.loads((copy / "run.json").read_text())
    info.update(id="other", name="wider", hparams={**info["hparams"], "batch_size": 64})
    (root / "other").mkdir()
    (root / "other" / "run.json").write_text(json.dumps(info))
    rows = compare([finished.path.name, "other"], root=root)
    assert [(r["id"], r["name"], r["batch_size"]) for r in rows] == [
        (finished.path.name, "baseline", 32),
        ("other", "wider", 64),
    ]
    history = finished.model.history.history
    assert rows[0]["val_loss"] == pytest.approx(history["val_loss"][-1]) and rows[0]["optimizer"] == "adam"
    assert rows[0]["learning_rate"] == 0.001 and rows[0]["final_learning_rate"] == pytest.approx(0.001)


def test_a_run_being_written_can_be_read(tmp_path, shared_model):
    seen = []

    def read(epoch, logs):
        run = load_run(logger.path)
        seen.append((run.status, list(run.metrics("train")["epoch"]), run.notes))

    logger = RunLogger(root=tmp_path, checkpoints=False)
    x, y = tiny_data()
    shared_model.fit(
        x,
        y,
        batch_size=32,
        epochs=2,
        verbose=0,
        callbacks=[logger, wb.callbacks.LambdaCallback(on_epoch_end=read)],
    )
    assert seen == [("running", [0], []), ("running", [0, 1], [])]
    assert [i.status for i in list_runs(tmp_path)] == ["finished"]


def test_a_cut_last_line_is_left_out_with_a_note(finished, root):
    path = root / finished.path.name
    metrics = path / "metrics.jsonl"
    metrics.write_bytes(metrics.read_bytes()[:-25])
    before = hashes(root)
    run = load_run(path)
    val = run.metrics("val")
    assert list(val["epoch"]) == [0]  # the last record (epoch 1's val) is incomplete
    assert "last line (line" in val.notes[0] and "incomplete" in val.notes[0] and run.notes == val.notes
    assert list_runs(root)[0].status == "finished"
    assert hashes(root) == before


def test_a_broken_line_inside_the_file_is_an_error(finished, root):
    metrics = root / finished.path.name / "metrics.jsonl"
    lines = metrics.read_text().splitlines(keepends=True)
    lines[2] = lines[2][:10] + "\n"
    metrics.write_text("".join(lines))
    with pytest.raises(RunError, match="line 3 is not valid JSON") as e:
        load_run(root / finished.path.name).metrics()
    assert e.value.path == metrics


def test_a_run_without_run_json_is_unknown(finished, root):
    path = root / finished.path.name
    (path / "run.json").unlink()
    before = hashes(root)
    (info,) = list_runs(root)
    assert info.status == "unknown" and "run.json is missing" in info.message
    assert info.steps == 6 and info.epochs == 2 and "loss" in info.last["val"]
    run = load_run(path)
    assert run.status == "unknown" and run.notes[0].startswith("run.json is missing")
    assert hashes(root) == before


def test_a_damaged_run_json_is_an_error_but_the_run_is_listed(finished, root):
    path = root / finished.path.name
    (path / "run.json").write_text('{"id": "x", "status": ')
    before = hashes(root)
    with pytest.raises(RunError, match="run.json: is not valid JSON"):
        load_run(path)
    (info,) = list_runs(root)
    assert info.status == "unknown" and "not valid JSON" in info.message
    assert hashes(root) == before


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads folders whatever their mode")
def test_an_unreadable_run_folder(finished, root):
    path = root / finished.path.name
    path.chmod(0)
    try:
        (info,) = list_runs(root)
        assert info.status == "unknown" and "cannot be read" in info.message
        with pytest.raises(RunError, match="cannot be read"):
            load_run(path)
    finally:
        path.chmod(0o755)


def test_files_where_folders_are_expected(finished, root):
    path = root / finished.path.name
    shutil.rmtree(path / "checkpoints")
    (path / "metrics.jsonl").unlink()
    (path / "metrics.jsonl").mkdir()
    with pytest.raises(RunError, match="a folder is where a file was expected"):
        load_run(path).metrics()
    (root / "stray-file").write_text("not a run")
    with pytest.raises(RunError, match="this is a file, not a run folder"):
        load_run(root / "stray-file")
    with pytest.raises(RunError, match="this is a file, not a runs folder"):
        list_runs(root / "stray-file")
    with pytest.raises(RunError, match="there is no runs folder here"):
        list_runs(root / "missing")


def test_a_run_json_with_fields_of_the_wrong_type_is_listed_and_compared(finished, tmp_path):
    import shutil

    copy = tmp_path / "odd"
    shutil.copytree(finished.path, copy)
    info = json.loads((copy / "run.json").read_text())
    info["hparams"], info["summary"]["train"] = ["not", "a", "dict"], ["nor", "this"]
    (copy / "run.json").write_text(json.dumps(info))
    rows = compare([copy])
    assert rows[0]["id"] == info["id"] and "not" not in rows[0]
    assert [r.path for r in list_runs(tmp_path)] == [copy]

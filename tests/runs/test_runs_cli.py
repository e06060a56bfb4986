"""`workbench runs list`, `workbench runs show` and `workbench tensorboard`."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess

import pytest

from workbench import cli


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_runs_list_prints_one_line_per_run(finished, capsys):
    code, out, err = run(capsys, "runs", "list", "--root", str(finished.root))
    assert code == 0 and err == ""
    header, *rows = out.splitlines()
    assert header.split() == ["ID", "NAME", "STATUS", "CREATED", "STEPS", "LOSS", "VAL_LOSS"]
    (row,) = [r for r in rows if r.startswith(finished.path.name)]
    val_loss = finished.model.history.history["val_loss"][-1]
    assert row.split()[1:5] == ["baseline", "finished", row.split()[3], "6"]
    assert row.split()[-1] == f"{val_loss:.5g}"


def test_runs_list_of_an_empty_or_missing_folder(tmp_path, capsys):
    code, out, _ = run(capsys, "runs", "list", "--root", str(tmp_path))
    assert code == 0 and out.startswith("No runs in")
    code, out, err = run(capsys, "runs", "list", "--root", str(tmp_path / "missing"))
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "no runs folder here" in err


def test_runs_show_prints_settings_and_last_metrics(finished, capsys):
    code, out, err = run(capsys, "runs", "show", finished.path.name[:-3], "--root", str(finished.root))
    assert code == 0 and err == ""
    assert f"Run       {finished.path.name}" in out
    assert "Status    finished" in out and "Model     Sequential" in out
    assert "batch_size=32" in out and "optimizer=adam" in out and "learning_rate=0.001" in out
    assert "Data      x float32(96, 4), y int64(96,)" in out
    val = [line for line in out.splitlines() if line.strip().startswith("val ")]
    assert val and "epoch 2, step 6" in val[0] and "loss=" in val[0]


def test_runs_show_errors_are_one_line(finished, tmp_path, capsys):
    code, out, err = run(capsys, "runs", "show", "nope", "--root", str(finished.root))
    assert code == 2 and "there is no run 'nope'" in err and len(err.strip().splitlines()) == 1
    shutil.copytree(finished.path, tmp_path / "damaged")
    (tmp_path / "damaged" / "run.json").write_text("{")
    code, out, err = run(capsys, "runs", "show", "damaged", "--root", str(tmp_path))
    assert (
        code == 2
        and "not valid JSON" in err
        and "Traceback" not in err
        and len(err.strip().splitlines()) == 1
    )


def hashes(folder):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("damage", ["cut last line", "no run.json", "a file", "unreadable"])
def test_damaged_runs_are_reported_in_a_line_and_left_as_they_are(
    finished, tmp_path, capsys, monkeypatch, damage
):
    path = tmp_path / "damaged"
    shutil.copytree(finished.path, path)
    # (what `runs list` says about the run, what `runs show` says, the exit code of `runs show`)
    if damage == "cut last line":
        (path / "metrics.jsonl").write_bytes((path / "metrics.jsonl").read_bytes()[:-25])
        listed, shown, show_code = (
            "metrics.jsonl: the last line is incomplete",
            "Note: metrics.jsonl: the last",
            0,
        )
    elif damage == "no run.json":
        (path / "run.json").unlink()
        listed, shown, show_code = "run.json is missing", "Note: run.json is missing", 0
    elif damage == "a file":
        shutil.rmtree(path)
        path.write_text("not a run\n")
        listed, shown, show_code = None, "this is a file, not a run folder.", 2
    else:
        listed, shown, show_code = (
            "cannot be read (Permission denied)",
            "cannot be read (Permission denied)",
            2,
        )
    before = hashes(tmp_path)
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
        code, out, err = run(capsys, "runs", "list", "--root", str(tmp_path))
        show = run(capsys, "runs", "show", "damaged", "--root", str(tmp_path))
    finally:
        if path.is_dir():
            path.chmod(0o755)
    assert hashes(tmp_path) == before
    assert code == 0 and err == ""
    if listed is None:
        assert out.startswith("No runs in")  # a file in the runs folder is not a run
    else:
        (note,) = [line for line in out.splitlines() if listed in line]
        assert note.startswith(
            ("damaged: ", f"{finished.path.name}: ")
        )  # the id, from run.json or the folder
    code, out, err = show
    assert code == show_code and "Traceback" not in out + err
    if code == 0:
        assert shown in out and err == ""
    else:
        assert shown in err and len(err.strip().splitlines()) == 1 and out == ""


def test_tensorboard_starts_on_the_runs_folder(finished, capsys, monkeypatch):
    started = []
    monkeypatch.setattr(subprocess, "call", lambda command: started.append(command) or 0)
    code, out, _ = run(capsys, "tensorboard", "--root", str(finished.root), "--port", "6123")
    assert code == 0 and "http://localhost:6123/" in out
    (command,) = started
    assert command[1:3] == ["-m", "tensorboard.main"]
    assert command[3:] == ["--logdir", str(finished.root), "--port", "6123"]


def test_tensorboard_not_installed_says_how_to_install(finished, capsys, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name, *a)
    )
    code, out, err = run(capsys, "tensorboard", "--root", str(finished.root))
    assert code == 1 and "pip install tensorboard" in err


def test_tensorboard_on_a_missing_folder(tmp_path, capsys):
    code, _, err = run(capsys, "tensorboard", "--root", str(tmp_path / "missing"))
    assert code == 2 and "no runs folder here" in err


@pytest.mark.parametrize("argv", [["runs"], ["runs", "show"]])
def test_runs_usage_errors(argv, capsys):
    if argv == ["runs", "show"]:
        with pytest.raises(SystemExit) as e:
            cli.main(argv)
        assert e.value.code == 2
    else:
        assert cli.main(argv) == 2
        assert "list" in capsys.readouterr().out

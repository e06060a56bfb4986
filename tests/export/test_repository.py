"""The model repository: numbered versions, labels, rollback, removal, the promotion gate and its CLI."""

from __future__ import annotations

import argparse
import json
import shutil
import threading

import numpy as np
import pytest

import workbench as wb
from workbench.export.gate import Gate, GateError, evaluate
from workbench.export.repository import Repository, RepositoryError
from workbench.export.repository_cli import add_models_parser


def _data(n=128, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x[:, 0] + x[:, 1] > 0).astype("int32")


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """Two exports of one classifier: `weak` after one short epoch, `strong` after more training."""
    root = tmp_path_factory.mktemp("artifacts")
    x, y = _data()
    inp = wb.Input((4,), name="x")
    model = wb.Model(inp, wb.layers.Dense(2, name="logits")(inp))
    model.compile(
        wb.optimizers.Adam(0.05),
        wb.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(x[:16], y[:16], epochs=1, batch_size=16, validation_data=(x, y), verbose=0)
    weak = model.export(root / "weak")
    model.fit(x, y, epochs=25, batch_size=32, validation_data=(x, y), verbose=0)
    strong = model.export(root / "strong")
    return {"weak": weak, "strong": strong}


@pytest.fixture
def repo(tmp_path):
    return Repository(tmp_path / "models")


def test_push_numbers_versions_and_resolve_defaults_to_the_highest(repo, artifacts):
    assert [repo.push(artifacts["weak"], "clf") for _ in range(3)] == [1, 2, 3]
    assert repo.versions("clf") == [1, 2, 3]
    assert repo.models() == ["clf"]
    assert (repo.root / "clf" / "2" / "manifest.json").is_file()
    assert repo.resolve("clf") == 3
    assert repo.resolve("clf", version=2) == 2
    with pytest.raises(RepositoryError, match=r"no version 7; its versions are \[1, 2, 3\]"):
        repo.resolve("clf", version=7)
    with pytest.raises(RepositoryError, match="no model 'other'.*models: clf"):
        repo.versions("other")


@pytest.mark.parametrize("name", ["a/b", "a b", "..", ".hidden", "", "x?y=1", "é"])
def test_push_refuses_names_that_are_not_url_safe(repo, artifacts, name):
    with pytest.raises(RepositoryError, match="letters, digits and _ . -"):
        repo.push(artifacts["weak"], name)
    assert not repo.root.exists() or repo.models() == []


def test_push_refuses_a_damaged_artifact_and_leaves_no_version(repo, artifacts, tmp_path):
    repo.push(artifacts["weak"], "clf")
    broken = tmp_path / "broken"
    shutil.copytree(artifacts["weak"], broken)
    weights = broken / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8] + b"garbage!")
    with pytest.raises(ValueError, match="weights.safetensors"):
        repo.push(broken, "clf")
    assert repo.versions("clf") == [1]
    assert sorted(p.name for p in (repo.root / "clf").iterdir() if not p.name.startswith(".")) == ["1"]


def test_labels_promote_and_rollback_move_back_step_by_step(repo, artifacts):
    for _ in range(3):
        repo.push(artifacts["weak"], "clf")
    assert repo.labels("clf") == {}
    repo.promote("clf", 1)
    repo.promote("clf", 3)
    repo.set_label("clf", "canary", 2)
    assert repo.labels("clf") == {"stable": 3, "canary": 2}
    assert repo.resolve("clf") == 3 and repo.resolve("clf", label="canary") == 2
    saved = json.loads((repo.root / "clf" / "labels.json").read_text())
    assert saved == {
        "format": "workbench.labels/1",
        "labels": {"stable": 3, "canary": 2},
        "history": {"stable": [1]},
    }

    assert repo.rollback("clf") == 1
    assert repo.labels("clf")["stable"] == 1 and repo.history("clf") == {}
    with pytest.raises(
        RepositoryError, match="Cannot roll back label 'stable'.*points to version 1.*no previous"
    ):
        repo.rollback("clf")
    with pytest.raises(RepositoryError, match="no label 'blue'"):
        repo.resolve("clf", label="blue")
    with pytest.raises(RepositoryError, match="no version 9"):
        repo.promote("clf", 9)


def test_push_with_a_label_points_it_at_the_new_version(repo, artifacts):
    repo.push(artifacts["weak"], "clf", label="stable")
    assert repo.push(artifacts["strong"], "clf", label="canary") == 2
    assert repo.labels("clf") == {"stable": 1, "canary": 2}


def test_remove_refuses_a_labelled_version_unless_forced_and_cleans_history(repo, artifacts):
    for _ in range(3):
        repo.push(artifacts["weak"], "clf")
    repo.promote("clf", 1)
    repo.promote("clf", 2)
    with pytest.raises(
        RepositoryError, match=r"Version 2 of model 'clf' is what label\(s\) \['stable'\] point to"
    ):
        repo.remove("clf", 2)
    repo.remove("clf", 1)  # only in stable's history: rollback must never land on it
    assert repo.versions("clf") == [2, 3]
    with pytest.raises(RepositoryError, match="no previous version"):
        repo.rollback("clf")
    repo.remove("clf", 2, force=True)
    assert repo.versions("clf") == [3] and repo.labels("clf") == {}
    with pytest.raises(RepositoryError, match="no version 2"):
        repo.remove("clf", 2)
    assert repo.push(artifacts["weak"], "clf") == 4


def test_a_damaged_labels_file_is_reported_and_left_alone(repo, artifacts):
    repo.push(artifacts["weak"], "clf")
    path = repo.root / "clf" / "labels.json"
    path.write_text('{"format": "workbench.labels/1", "labels": {"stable": ')
    with pytest.raises(RepositoryError, match="labels.json is damaged: it is not valid JSON.*left as it is"):
        repo.promote("clf", 1)
    path.write_text('{"format": "workbench.labels/1", "labels": {"stable": "one"}}')
    with pytest.raises(RepositoryError, match="'labels' must map names to versions"):
        repo.labels("clf")
    assert path.read_text() == '{"format": "workbench.labels/1", "labels": {"stable": "one"}}'


def _move_label_repeatedly(root, label, rounds):
    repo = Repository(root)
    for i in range(rounds):
        repo.set_label("clf", label, 1 + i % 2)


def test_concurrent_writers_lose_no_update(repo, artifacts):
    repo.push(artifacts["weak"], "clf")
    repo.push(artifacts["weak"], "clf")
    writers, rounds = 4, 40
    # Each writer opens the lock file itself, so threads contend for flock exactly as processes do.
    threads = [
        threading.Thread(target=_move_label_repeatedly, args=(repo.root, f"w{i}", rounds))
        for i in range(writers)
    ]
    for t in threads:
        t.start()
    _move_label_repeatedly(repo.root, "main", rounds)
    for t in threads:
        t.join(60)
    state = json.loads((repo.root / "clf" / "labels.json").read_text())
    # Every writer moved its own label `rounds` times: each move but the first left one history entry.
    assert set(state["labels"]) == {"main"} | {f"w{i}" for i in range(writers)}
    assert all(len(h) == rounds - 1 for h in state["history"].values()), {
        k: len(v) for k, v in state["history"].items()
    }
    assert not [p for p in (repo.root / "clf").iterdir() if p.name.startswith(".labels.json")]


def test_gate_on_recorded_metrics_refuses_a_worse_candidate_showing_both_figures(repo, artifacts):
    repo.push(artifacts["strong"], "clf")
    repo.push(artifacts["weak"], "clf")
    repo.promote("clf", 1)
    with pytest.raises(GateError) as refused:
        repo.promote("clf", 2, gate=Gate("val_loss"))
    message = str(refused.value)
    recorded = {
        v: wb.export.load(artifacts[k]).manifest["provenance"]["metrics"]["val_loss"]
        for k, v in [("strong", 1), ("weak", 2)]
    }
    assert recorded[2] > recorded[1]
    assert "candidate v2" in message and f"{recorded[2]:.6g}" in message
    assert "current v1" in message and f"{recorded[1]:.6g}" in message
    assert repo.labels("clf") == {"stable": 1}
    # A tolerance wide enough lets it through; "accuracy" is higher-is-better under mode "auto".
    result = repo.promote("clf", 2, gate=Gate("val_loss", tolerance=recorded[2] - recorded[1] + 1e-6))
    assert result.candidate == pytest.approx(recorded[2]) and repo.labels("clf")["stable"] == 2
    assert Gate("val_accuracy").direction == "max" and Gate("val_loss").direction == "min"


def test_gate_accepts_a_better_candidate_and_refuses_an_unrecorded_metric(repo, artifacts):
    repo.push(artifacts["weak"], "clf", label="stable")
    repo.push(artifacts["strong"], "clf")
    with pytest.raises(GateError, match="recorded no 'val_auc'.*--validate-on"):
        repo.promote("clf", 2, gate=Gate("val_auc"))
    result = repo.promote("clf", 2, gate=Gate("val_loss", mode="min"))
    assert result.passed and result.candidate < result.current
    assert repo.labels("clf")["stable"] == 2


def test_replay_gate_evaluates_both_versions_on_an_npz(repo, artifacts, tmp_path):
    x, y = _data(96, seed=1)
    holdout = tmp_path / "holdout.npz"
    np.savez(holdout, x=x, y=y)
    repo.push(artifacts["strong"], "clf", label="stable")
    repo.push(artifacts["weak"], "clf")
    strong, weak = (wb.export.load(artifacts[k]) for k in ("strong", "weak"))
    want = {k: evaluate(a, x, y, "accuracy") for k, a in (("strong", strong), ("weak", weak))}
    assert want["strong"] > want["weak"]
    assert want["strong"] == pytest.approx(np.mean(np.argmax(np.asarray(strong(x)), -1) == y))
    with pytest.raises(
        GateError,
        match=rf"accuracy \(replayed on 96 examples.*candidate v2 {want['weak']:.6g} vs current v1 {want['strong']:.6g}",
    ):
        repo.promote("clf", 2, gate=Gate("accuracy", data=holdout))
    with pytest.raises(GateError, match="worse: sparse_categorical_crossentropy"):
        repo.promote("clf", 2, gate=Gate("sparse_categorical_crossentropy", data=(x, y)))
    # One-hot targets mean the same labels.
    assert evaluate(strong, x, np.eye(2)[y], "accuracy") == want["strong"]
    repo.set_label("clf", "stable", 2)
    assert repo.promote("clf", 1, gate=Gate("val_loss", data=holdout)).candidate < evaluate(
        weak, x, y, "loss"
    )
    np.savez(tmp_path / "bad.npz", inputs=x)
    with pytest.raises(GateError, match="must hold arrays 'x' and 'y'"):
        Gate("accuracy", data=tmp_path / "bad.npz").check(artifacts["weak"], artifacts["strong"])


def _cli(argv):
    parser = argparse.ArgumentParser(prog="workbench")
    add_models_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_models_cli_push_list_promote_rollback_rm(tmp_path, artifacts, capsys, monkeypatch):
    monkeypatch.setenv("WORKBENCH_MODELS_DIR", str(tmp_path / "env-models"))
    assert _cli(["models", "push", str(artifacts["weak"]), "--name", "clf"]) == 0
    assert "clf version 1" in capsys.readouterr().out
    assert Repository(tmp_path / "env-models").versions("clf") == [1]

    repo = ["--repo", str(tmp_path / "models")]
    assert (
        _cli(["models", "push", str(artifacts["strong"]), "--name", "clf", "--label", "stable", *repo]) == 0
    )
    assert _cli(["models", "push", str(artifacts["weak"]), "--name", "clf", *repo]) == 0
    assert _cli(["models", "push", str(artifacts["weak"]), "--name", "other", *repo]) == 0
    capsys.readouterr()
    assert _cli(["models", "list", *repo]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "VERSIONS", "LABELS"]
    assert lines[1].split() == ["clf", "1,", "2", "stable=1"] and lines[2].split() == ["other", "1", "-"]

    np.savez(tmp_path / "holdout.npz", x=_data(64, seed=2)[0], y=_data(64, seed=2)[1])
    assert _cli(["models", "promote", "clf", "2", "--validate-on", str(tmp_path / "holdout.npz"), *repo]) == 2
    assert "loss (replayed on 64 examples, lower is better): candidate v2" in capsys.readouterr().err
    assert _cli(["models", "promote", "clf", "2", "--gate-metric", "val_loss", *repo]) == 2
    err = capsys.readouterr().err
    assert err.startswith("workbench models promote: Promotion refused") and err.count("\n") == 1
    assert _cli(["models", "promote", "clf", "2", *repo]) == 0
    assert "stable = 1 -> 2" in capsys.readouterr().out
    assert _cli(["models", "rm", "clf", "2", *repo]) == 2
    assert "point to" in capsys.readouterr().err
    assert _cli(["models", "rollback", "clf", *repo]) == 0
    assert "stable = 2 -> 1" in capsys.readouterr().out
    assert _cli(["models", "rm", "clf", "2", *repo]) == 0
    assert _cli(["models", "rollback", "clf", *repo]) == 2
    assert "no previous version" in capsys.readouterr().err
    assert _cli(["models", "push", str(tmp_path / "missing"), "--name", "clf", *repo]) == 2
    assert "missing" in capsys.readouterr().err

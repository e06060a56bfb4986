"""Run folders for the lab's server tests, and a Jupyter server with the extension on (pytest-jupyter).

One session's worth of real runs, made by `fit` (a functional MLP, a subclassed
model, a model with a Lambda layer), plus folders the lab must cope with: a
copy marked running, a folder without run.json, and a symlink leading out of
the runs root.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

# pytest-jupyter's fixtures (jp_fetch, jp_serverapp, ...) and its hooks for coroutine tests, for the
# tests in this folder only: loaded as a plugin, its autouse event-loop fixture would reach every test
# of the session, the browser tests' Playwright loop included.
from pytest_jupyter.jupyter_server import *  # noqa: E402, F403


def _fit(model, root: Path, name: str, **fit_kwargs) -> Path:
    from workbench import runs

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32") + (x[:, 1] > 0).astype("int32")
    logger = runs.RunLogger(root=root, run_name=name, hparams={"units": 8, "note": name})
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[logger], dashboard=False, **fit_kwargs)
    return logger.path


def _compiled(model):
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture(scope="session")
def made_runs(tmp_path_factory) -> dict:
    """{"root", "outside", and name -> run folder} for mlp, subclassed, lambda, running, bare, escape."""
    import workbench as wb
    from workbench import layers

    base = tmp_path_factory.mktemp("lab-runs")
    root = base / "runs"
    root.mkdir()
    out = {"root": root}

    inputs = wb.Input((4,))
    hidden = layers.Dense(8, activation="relu")(inputs)
    mlp = wb.Model(inputs, layers.Dense(3, activation="softmax")(hidden), name="mlp")
    out["mlp"] = _fit(_compiled(mlp), root, "mlp", validation_split=0.25)
    out["mlp_model"] = mlp

    class Tiny(wb.Model):
        def __init__(self):
            super().__init__(name="tiny")
            self.dense = layers.Dense(3, activation="softmax")

        def call(self, x):
            return self.dense(x)

    out["subclassed"] = _fit(_compiled(Tiny()), root, "subclassed")

    lam = wb.Sequential([wb.Input((4,)), layers.Lambda(lambda t: t * 2.0), layers.Dense(3, activation="softmax")])
    out["lambda"] = _fit(_compiled(lam), root, "lambda")

    running = root / (out["mlp"].name.replace("mlp", "live"))
    shutil.copytree(out["mlp"], running)
    info = json.loads((running / "run.json").read_text())
    info.update(id=running.name, name="live", status="running", ended=None)
    (running / "run.json").write_text(json.dumps(info))
    out["running"] = running

    bare = root / "20200101-000000-bare-0000"
    bare.mkdir()
    (bare / "metrics.jsonl").write_text(
        '{"kind": "epoch", "split": "train", "step": 4, "epoch": 0, "values": {"loss": 1.5}}\n{"kind": "ep'
    )
    out["bare"] = bare

    outside = base / "outside" / "20990101-000000-secret-ffff"
    outside.mkdir(parents=True)
    (outside / "run.json").write_text(json.dumps({"id": outside.name, "name": "secret", "status": "finished"}))
    (root / "escape").symlink_to(outside, target_is_directory=True)
    out["outside"] = outside
    return out


@pytest.fixture
def jp_server_config(made_runs, tmp_path):
    return {
        "ServerApp": {"jpserver_extensions": {"workbench.lab": True}},
        "WorkbenchLab": {"runs_dir": str(made_runs["root"]), "repository": str(tmp_path / "models")},
    }

"""The README's tour runs as written."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_readme_tour_runs(tmp_path, monkeypatch):
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, "README has no python block"
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), scope)
    assert (tmp_path / "model.keras").exists()
    assert set(scope["grads"]) == set(scope["variables"]["trainable"])
    assert scope["same"].count_params() == scope["model"].count_params()


def test_readme_export_block_runs_on_the_tour_model(tmp_path, monkeypatch):
    import numpy as np

    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    export_block = next(b for b in blocks if "model.export(" in b)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), scope)
    exec(compile(export_block, "README.md", "exec"), scope)
    assert (tmp_path / "exported" / "tour" / "manifest.json").exists()
    np.testing.assert_allclose(np.asarray(scope["y"]), np.asarray(scope["model"](scope["x"])), atol=1e-6)

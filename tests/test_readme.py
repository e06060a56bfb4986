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

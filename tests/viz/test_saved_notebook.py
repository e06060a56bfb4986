"""A notebook with five dashboards, executed and saved with widget state, stays small and holds plotly once."""

import base64
import json
import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("anywidget")

from workbench.viz.series import decode_body, decode_snapshot  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
PLOTLY_BANNER = "plotly.js (basic - minified)"

SETUP = """
import time
import numpy as np
import workbench.viz as viz
rng = np.random.default_rng(0)
"""

DASHBOARD = """
dash = viz.LiveDashboard("run-{k}")
dash.feed({{"kind": "run", "run_json": {{"name": "run-{k}", "id": "id{k}", "hyperparameters": {{"lr": 0.001}}}}}})
for i in range(3000):
    dash.feed({{"step": i, "epoch": i // 1000, "wall": time.time(), "split": "train",
               "values": {{"loss": float(np.exp(-i / 800) + 0.05 * rng.random()), "accuracy": float(1 - np.exp(-i / 900)),
                          "learning_rate": 1e-3 * 0.5 ** (i // 1000)}}}})
    if (i + 1) % 1000 == 0:
        dash.feed({{"step": i, "epoch": i // 1000, "wall": time.time(), "split": "val",
                   "values": {{"loss": float(np.exp(-i / 800)), "accuracy": float(1 - np.exp(-i / 900))}}}})
        counts, edges = np.histogram(rng.normal(size=1000), bins=30)
        dash.feed({{"kind": "histogram", "step": i, "epoch": i // 1000, "name": "weights/dense/kernel",
                   "edges": edges.tolist(), "counts": counts.tolist()}})
{finish}dash
"""


def test_five_dashboards_saved_with_widget_state_stay_under_2_mb(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    nb = nbformat.v4.new_notebook()
    # The last dashboard gets no final status record: the end of its cell writes its snapshot.
    finish = 'dash.feed({"kind": "status", "status": "finished"})\n'
    nb.cells = [nbformat.v4.new_code_cell(SETUP)] + [
        nbformat.v4.new_code_cell(DASHBOARD.format(k=k, finish=finish if k < 4 else "")) for k in range(5)
    ]
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=120,
        store_widget_state=True,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    path = tmp_path / "dashboards.ipynb"
    nbformat.write(nb, path)
    text = path.read_text()

    assert path.stat().st_size < 2 * 1024 * 1024, f"{path.stat().st_size / 1e6:.2f} MB"
    assert text.count(PLOTLY_BANNER) == 1
    state = json.loads(text)["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    dashboards = [m for m in state.values() if m["state"].get("_anywidget_id", "").endswith("LiveDashboard")]
    libraries = [m for m in state.values() if m["state"].get("_anywidget_id", "").endswith("PlotlyLibrary")]
    assert len(dashboards) == 5 and len(libraries) == 1
    for model in dashboards:
        assert model["state"]["status"] == (
            "waiting" if model["state"]["run_name"] == "run-4" else "finished"
        )
        (buffer,) = model["buffers"]
        assert buffer["path"] == ["_snapshot"]
        header, body = decode_snapshot(base64.b64decode(buffer["data"]))
        curves = {c["key"]: c for c in header["curves"]}
        assert curves["step:train/loss"]["n"] == 3000 and curves["epoch:val/loss"]["n"] == 3
        assert len(decode_body(header, body)["curves"]["step:train/loss"]["step"]) <= 1000
    shown = [
        o
        for cell in nb.cells
        for o in cell.get("outputs", [])
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert len(shown) == 5

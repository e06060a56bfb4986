"""The profiling panel in JupyterLab, with data from a real run that recompiles mid-run.

A notebook cell fits a token model on batches whose sequence length grows from 10 to 20 to 30, one
length per epoch, so the train step compiles three times; it then shows `ProfilePanel(model, ...)`.
The test reads what plotly drew (the chart divs carry plotly's `data`) and the recompilation table,
clicks Capture trace and waits for the trace's time per layer. Screenshots go to the artifacts folder
(`profile-panel*.png`), with the page's console.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.browser.notebook_page import artifact_path, open_notebook, run_cell, screenshot

pytestmark = pytest.mark.browser

PANEL_CELL = """
import json, os, tempfile
os.environ["WORKBENCH_RUNS_DIR"] = tempfile.mkdtemp()
import numpy as np
import workbench as wb
from workbench import layers

rng = np.random.default_rng(0)

def batch(length):
    x = rng.integers(0, 50, (16, length)).astype("int32")
    return x, (x[:, 0] > 25).astype("int32")

tokens = wb.Input((None,), dtype="int32")
pooled = layers.GlobalAveragePooling1D()(layers.Embedding(50, 8)(tokens))
model = wb.Model(tokens, layers.Dense(2)(pooled), name="tokens")
model.compile("adam", wb.losses.SparseCategoricalCrossentropy(from_logits=True), steps_per_execution=1)
data = [batch(10)] * 3 + [batch(20)] * 3 + [batch(30)] * 3
model.fit(iter(data), epochs=3, steps_per_epoch=3, verbose=0, run_dir=os.path.join(tempfile.mkdtemp(), "run"))
x, y = (np.concatenate([a] * 3) for a in data[-1])  # three batches of the last shape, for the trace
panel = wb.viz.ProfilePanel(model, sample_batch=x[:4], x=x, y=y, trace_steps=3)
print("CAUSES", json.dumps([r["cause"] for r in model.fit_profile["compiles"] if r["function"] == "train step"]))
panel
"""
CATEGORIES = ["data_wait", "compile", "dispatch", "device", "callbacks", "checkpoint", "validation", "other"]

# Each chart of the panel: its slot id, title, and per trace what plotly holds.
CHARTS = """el => Object.fromEntries(Array.from(el.querySelectorAll(".wb-chart.js-plotly-plot")).map(div => [
  div.dataset.chart, {
    title: div.layout?.title?.text ?? null,
    barmode: div.layout?.barmode ?? null,
    traces: (div.data ?? []).map(t => ({ name: t.name, type: t.type, x: Array.from(t.x), y: Array.from(t.y) })),
    bars: div.querySelectorAll(".barlayer .point").length,
  }]))"""
ROWS = """table => Array.from(table.querySelectorAll("tbody tr")).map(tr => ({
  cells: Array.from(tr.cells).map(td => td.textContent), repeated: tr.classList.contains("wb-prof-repeated"),
}))"""


def test_the_panel_draws_a_real_run_that_recompiles(page):
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    page.set_viewport_size({"width": 1280, "height": 2400})  # tall enough for the whole panel on screenshots
    open_notebook(page, "profile_panel.ipynb")
    output = run_cell(page, PANEL_CELL, timeout=90)
    causes = json.loads(output.inner_text().split("CAUSES", 1)[1].splitlines()[0])
    print("train step compilation causes:", causes)
    assert causes == [
        "first call",
        "batch['x']: shape (1, 16, 10) -> (1, 16, 20)",
        "batch['x']: shape (1, 16, 20) -> (1, 16, 30)",
    ]
    panel = output.locator(".wb-prof")
    for chart in ("steps", "layer_costs", "step_memory"):
        expect(panel.locator(f'.wb-chart[data-chart="{chart}"].js-plotly-plot')).to_be_attached(
            timeout=30_000
        )
    expect(panel.locator(".wb-title")).to_have_text("Profile: tokens")
    charts = panel.evaluate(CHARTS)

    steps = charts["steps"]
    assert steps["barmode"] == "stack" and [t["name"] for t in steps["traces"]] == CATEGORIES
    assert all(t["type"] == "bar" and t["x"] == [1, 2, 3] for t in steps["traces"]), steps["traces"]
    compile_seconds = next(t["y"] for t in steps["traces"] if t["name"] == "compile")
    assert all(s > 0 for s in compile_seconds), "every epoch compiled the train step once"
    assert steps["bars"] > 0, "plotly drew no bars"
    legend = panel.locator('.wb-chart[data-chart="steps"] .legend .legendtext').all_text_contents()
    assert legend == CATEGORIES[::-1], "the legend lists the segments as they are stacked, top first"

    layer_names = charts["layer_costs"]["traces"][0]["y"]
    assert any("(Embedding)" in n for n in layer_names) and any("(Dense)" in n for n in layer_names), (
        layer_names
    )
    assert {t["name"] for t in charts["layer_costs"]["traces"]} == {"forward", "forward+backward"}
    assert all(v > 0 for t in charts["layer_costs"]["traces"] for v in t["x"])
    assert charts["step_memory"]["traces"][0]["x"] == [
        "arguments",
        "outputs",
        "temporaries",
        "aliased",
        "peak estimate",
    ]

    rows = panel.locator(".wb-prof-table").first.evaluate(ROWS)
    train = [r for r in rows if r["cells"][0] == "train step"]
    assert [r["cells"][-1] for r in train] == causes and all(r["repeated"] for r in train)
    assert [r["cells"][2] for r in train] == ["1", "2", "3"], "epochs are counted from 1, as fit prints them"
    expect(panel.locator(".wb-prof-warning")).to_contain_text("train step (3 times)")
    missing = panel.locator('.wb-note[data-missing="layer_time"]')
    expect(missing).to_have_text("No device time per layer: no trace captured yet.")
    screenshot(page, "profile-panel")

    capture = panel.locator(".wb-prof-capture")
    expect(capture).to_be_enabled()
    capture.click()
    expect(panel.locator('.wb-chart[data-chart="layer_time"].js-plotly-plot')).to_be_attached(timeout=30_000)
    expect(missing).to_be_hidden()
    times = panel.evaluate(CHARTS)["layer_time"]
    assert {"dense", "embedding"} <= set(times["traces"][0]["y"]), times
    assert times["title"] == "Device time per layer (ms, 3 steps traced)"
    ops = panel.locator(".wb-prof-table").nth(1).evaluate(ROWS)
    assert ops and any(r["cells"][1] == "dense" for r in ops), ops
    expect(capture).to_have_text("Capture trace")
    screenshot(page, "profile-panel-after-trace")
    artifact_path("profile-panel-console.log").write_text("\n".join(console))
    errors = [m for m in console if m.startswith(("error:", "pageerror:"))]
    assert not errors, errors

"""The live dashboard `fit` shows in JupyterLab: curves grow while the cell runs, smoothing redraws, Stop stops.

Each test fits a small MLP in a notebook cell and reads what plotly drew from the page: the chart
divs carry plotly's `data` (the traces, with their x and y arrays) and the SVG paths it rendered.
The loss chart draws each step's loss as a trace named "train"; with smoothing on, that trace is
faint (`showlegend: false`) and a second "train" trace on top holds the smoothed values.
Screenshots of the key moments go to the artifacts folder (`dashboard-*.png`), with the page's console.
"""

from __future__ import annotations

import json
import math
import time

import pytest
from playwright.sync_api import expect

from tests.browser.notebook_page import artifact_path, open_notebook, run_cell, screenshot

pytestmark = pytest.mark.browser

# A callback sleeps after every step, so that training lasts as long as a test needs to watch it,
# whatever the machine: steps_per_execution=1 makes that one sleep per step.
FIT_CELL = """
import os, tempfile, time
os.environ["WORKBENCH_RUNS_DIR"] = tempfile.mkdtemp()
import numpy as np
import workbench as wb

rng = np.random.default_rng(0)
x = rng.normal(size=(512, 16)).astype("float32")
y = (x[:, 0] + x[:, 1] > 0).astype("int32")
model = wb.Sequential(
    [wb.layers.Input((16,)), wb.layers.Dense(32, activation="relu"), wb.layers.Dense(2)], name="mlp"
)
model.compile(
    "adam", wb.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"],
    steps_per_execution=1,
)
pace = wb.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: time.sleep({pause}))
started = time.time()
model.fit(x, y, epochs={epochs}, batch_size=16, callbacks=[pace])
print("fit done", "epochs", len(model.history.epoch), "seconds", round(time.time() - started, 1),
      "status", wb.runs.list_runs()[-1].status)
"""
STEPS_PER_EPOCH = 512 // 16

# Every chart of the dashboard in `el`: its title and, per trace, what plotly holds and drew.
CHARTS = """el => Array.from(el.querySelectorAll(".wb-chart")).map(div => ({
  title: div.layout?.title?.text ?? null,
  traces: (div.data ?? []).map(t => ({
    name: t.name, x: Array.from(t.x), y: Array.from(t.y), width: t.line?.width ?? null,
    opacity: t.opacity ?? 1, showlegend: t.showlegend ?? true,
  })),
  paths: Array.from(div.querySelectorAll(".scatterlayer .trace path.js-line")).map(p => p.getAttribute("d")),
}))"""


def _loss_chart(output) -> dict | None:
    """The loss chart's traces and drawn SVG paths (one path per trace, same order), or None before it exists."""
    for chart in output.evaluate(CHARTS) if output.locator(".wb-dash").count() else []:
        if chart["title"] == "loss":
            return chart
    return None


def _step_traces(chart: dict | None) -> tuple[dict | None, dict | None, int | None]:
    """(raw, smoothed, index of smoothed) per-step train-loss traces; smoothed is None when smoothing is off."""
    if chart is None:
        return None, None, None
    steps = [(i, t) for i, t in enumerate(chart["traces"]) if t["name"] == "train"]
    raw = next((t for _, t in steps if not t["showlegend"] or len(steps) == 1), None)
    smoothed = next(((i, t) for i, t in steps if t is not raw), (None, None))
    return raw, smoothed[1], smoothed[0]


def _chart_with_points(output, count: int, timeout: float = 10.0) -> dict:
    """The loss chart once its per-step trace holds `count` points (the last ones arrive just after the cell ends)."""
    deadline = time.monotonic() + timeout
    while True:
        chart = _loss_chart(output)
        raw, _, _ = _step_traces(chart)
        shown = None if raw is None else len(raw["x"])
        if shown == count:
            return chart
        if time.monotonic() > deadline:
            raise AssertionError(
                f"The loss chart shows {shown} steps after {timeout:.0f}s, expected {count}."
            )
        time.sleep(0.1)


def _cell_running(cell) -> bool:
    """JupyterLab's input prompt reads "[*]:" while the cell runs (the kernel indicator may not)."""
    return "*" in cell.locator(".jp-InputPrompt").inner_text()


def _run_fit(page, epochs: int, pause: float):
    """Run FIT_CELL without waiting; returns the running cell and its output area."""
    cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")
    cell = cells.nth(cells.count() - 1)
    output = run_cell(page, FIT_CELL.format(epochs=epochs, pause=pause), wait=False)
    return cell, output


def _fit_summary(output, timeout: float) -> dict:
    """Wait for FIT_CELL's last line and return its values: epochs, seconds, status."""
    try:
        expect(output).to_contain_text("fit done", timeout=timeout * 1000)
    except AssertionError as error:
        header = output.locator(".wb-head")
        shown = header.inner_text() if header.count() else "no dashboard"
        raise AssertionError(
            f"The fit did not end within {timeout:.0f}s; the dashboard reads {shown!r}."
        ) from error
    words = output.inner_text().split("fit done", 1)[1].split()
    return {"epochs": int(words[1]), "seconds": float(words[3]), "status": words[5]}


def _console(page) -> list[str]:
    """Collect the page's console messages and uncaught errors, for failure messages and the artifacts."""
    messages: list[str] = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))
    return messages


def _errors(messages: list[str]) -> list[str]:
    return [m for m in messages if m.startswith(("error:", "pageerror:"))]


def test_loss_curve_grows_while_the_cell_runs(page):
    console = _console(page)
    open_notebook(page, "dashboard_live.ipynb")
    # 20 epochs x 32 steps, 20 ms each: about 15 s of training, 640 points on the loss chart.
    cell, output = _run_fit(page, epochs=20, pause=0.02)
    dash = output.locator(".wb-dash")
    expect(dash).to_be_visible(timeout=60_000)

    seen: list[int] = []  # points of the per-step loss trace, read while the cell was still running
    badges: set[str] = set()
    headers: list[str] = []
    shot = None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and _cell_running(cell):
        raw, _, _ = _step_traces(_loss_chart(output))
        badge = dash.locator(".wb-status").inner_text()
        header = dash.locator(".wb-progress").inner_text()
        if raw is not None and _cell_running(cell):
            seen.append(len(raw["x"]))
            badges.add(badge)
            headers.append(header)
            if shot is None and len(seen) >= 3 and seen[-1] > seen[0]:
                shot = screenshot(page, "dashboard-mid-training")
        time.sleep(0.5)
    summary = _fit_summary(output, timeout=30)
    artifact_path("dashboard-live-console.log").write_text("\n".join(console))

    assert (summary["epochs"], summary["status"]) == (20, "finished"), summary
    distinct = sorted(set(seen))
    assert seen == sorted(seen), f"the loss trace lost points while training: {seen}"
    assert len(distinct) >= 3, (
        f"expected the loss trace's point count to grow at least 3 times while the cell ran "
        f"({summary['seconds']} s of training), read {seen}. Console: {_errors(console)}"
    )
    assert distinct[0] < 20 * STEPS_PER_EPOCH, f"the chart only appeared complete: {seen}"
    assert "running" in badges, f"the status badge read {badges} while training"
    assert any("ETA" in h for h in headers), f"no time left shown while training: {headers[-3:]}"
    assert shot is not None

    _chart_with_points(output, 20 * STEPS_PER_EPOCH)  # every step's loss, once the cell ended
    expect(dash.locator(".wb-status")).to_have_text("finished")
    expect(dash.locator(".wb-progress")).to_contain_text("epoch 20/20")
    assert not _errors(console), _errors(console)


def test_smoothing_slider_redraws_the_loss_curve(page):
    console = _console(page)
    open_notebook(page, "dashboard_smoothing.ipynb")
    _, output = _run_fit(page, epochs=3, pause=0)
    assert _fit_summary(output, timeout=90)["status"] == "finished"
    logged = json.loads(
        run_cell(
            page,
            "import json\n"
            "run = wb.runs.load_run(wb.runs.list_runs()[-1].path)\n"
            "print(json.dumps(run.metrics(kind='batch')['batch_loss'].tolist()))",
        ).inner_text()
    )
    dash = output.locator(".wb-dash")
    slider = dash.locator(".wb-controls input[type=range]")

    def settled(value: str) -> dict:
        """Set the slider (input and change events, as a drag does); the loss chart once it was redrawn.

        dashboard.js redraws at most every 250 ms; after 5 s without a change the chart is returned as it is.
        """
        shown = _loss_chart(output)
        slider.fill(value)
        expect(dash.locator(".wb-controls .wb-value")).to_have_text(f"{float(value):.3f}")
        deadline = time.monotonic() + 5
        chart = _loss_chart(output)
        while chart["traces"] == shown["traces"] and time.monotonic() < deadline:
            time.sleep(0.1)
            chart = _loss_chart(output)
        return chart

    before = _chart_with_points(output, len(logged))
    raw, smooth_default, index = _step_traces(before)
    assert smooth_default is not None, f"no smoothed trace at the default smoothing: {before['traces']}"
    assert slider.input_value() == "0.6"
    assert len(raw["y"]) == len(logged) == 3 * STEPS_PER_EPOCH
    assert raw["y"] == pytest.approx(logged, rel=1e-5), "the faint trace is the logged per-step loss"
    assert smooth_default["y"] != pytest.approx(raw["y"], rel=1e-3)

    heavy = settled("0.95")
    _, smooth_heavy, heavy_index = _step_traces(heavy)
    screenshot(page, "dashboard-smoothing-0.95")
    assert smooth_heavy is not None
    assert smooth_heavy["y"] != pytest.approx(smooth_default["y"], rel=1e-3), (
        "moving the slider from 0.6 to 0.95 left the smoothed values unchanged"
    )
    assert heavy["paths"][heavy_index] != before["paths"][index], "the drawn smoothed line did not change"
    # Heavier smoothing follows the noisy per-step loss less closely.
    assert _roughness(smooth_heavy["y"]) < _roughness(smooth_default["y"]) < _roughness(raw["y"])

    off = settled("0")
    raw_off, smooth_off, _ = _step_traces(off)
    screenshot(page, "dashboard-smoothing-0")
    assert smooth_off is None, f"smoothing 0 still draws a smoothed trace: {off['traces']}"
    assert raw_off["opacity"] == 1 and raw_off["showlegend"]
    assert raw_off["y"] == pytest.approx(logged, rel=1e-5), "smoothing 0 draws the raw per-step loss"
    assert not _errors(console), _errors(console)


def test_stop_button_ends_a_long_fit(page):
    console = _console(page)
    open_notebook(page, "dashboard_stop.ipynb")
    # 200 epochs x 32 steps, 20 ms each: over two minutes of training unless stopped.
    cell, output = _run_fit(page, epochs=200, pause=0.02)
    dash = output.locator(".wb-dash")
    stop = dash.locator(".wb-stop")
    expect(stop).to_be_enabled(timeout=60_000)
    # Let training get going (a few seconds of steps on the chart) before stopping it.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        raw, _, _ = _step_traces(_loss_chart(output))
        if raw is not None and len(raw["x"]) >= 100:
            break
        time.sleep(0.25)
    assert _cell_running(cell), "the fit ended before Stop was clicked"

    stop.click()
    clicked = time.monotonic()
    summary = _fit_summary(output, timeout=30)
    after_click = time.monotonic() - clicked
    screenshot(page, "dashboard-after-stop")
    artifact_path("dashboard-stop-console.log").write_text("\n".join(console))

    assert after_click < 10, f"the cell went on for {after_click:.1f} s after Stop"
    assert summary["epochs"] < 20, f"Stop was clicked a few seconds in, but the fit ran {summary}"
    assert summary["seconds"] < 30, f"a stopped fit should end in seconds: {summary}"
    # Training ended through model.stop_training, the normal way, so the run finished.
    assert summary["status"] == "finished", summary
    expect(dash.locator(".wb-status")).to_have_text("finished")
    expect(stop).to_be_disabled()
    # The header keeps the step and speed it reached, but a stopped run has no time left to estimate.
    progress = dash.locator(".wb-progress")
    expect(progress).to_contain_text("epoch")
    expect(progress).not_to_contain_text("ETA")
    raw, _, _ = _step_traces(_loss_chart(output))
    assert 100 <= len(raw["x"]) < 200 * STEPS_PER_EPOCH
    assert not _errors(console), _errors(console)


def _roughness(values: list[float]) -> float:
    """Mean absolute step-to-step change: how jagged a curve is."""
    return math.fsum(abs(b - a) for a, b in zip(values, values[1:])) / (len(values) - 1)

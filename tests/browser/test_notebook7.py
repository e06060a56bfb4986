"""The live dashboard in Jupyter Notebook 7: the loss curve grows while the cell runs and the run ends finished.

Notebook 7 runs on the same jupyter_server as JupyterLab and builds its notebook view from the same
components, so the cell and output helpers of notebook_page.py apply; only the page to open
(`/notebooks/<path>`) differs. The module starts its own `python -m notebook` server.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.parse
from collections.abc import Iterator

import nbformat
import pytest
from playwright.sync_api import expect

from tests.browser import test_dashboard as dashboard
from tests.browser.lab_server import KERNEL_NAME, TOKEN, LabServer, start_lab
from tests.browser.notebook_page import artifact_path, run_cell, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def notebook_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A Jupyter Notebook 7 server from this venv, in a temporary directory, stopped at the end."""
    pytest.importorskip(
        "notebook", minversion="7", reason="needs Jupyter Notebook 7 (`pip install 'notebook>=7'`)"
    )
    server = start_lab(tmp_path_factory.mktemp("notebook7"), app="notebook")
    yield server
    server.stop()


@pytest.fixture
def nb7_page(browser, notebook_server: LabServer, request: pytest.FixtureRequest):
    """A new page whose relative URLs point at `notebook_server`; on failure a screenshot and the server log are kept."""
    failed_before = request.session.testsfailed
    context = browser.new_context(base_url=notebook_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    if request.session.testsfailed > failed_before:
        screenshot(page, f"{request.node.name}-failure")
        shutil.copyfile(notebook_server.log_path, artifact_path(f"{request.node.name}-notebook.log"))
    context.close()
    notebook_server.shutdown_kernels()


def open_notebook7(page, path: str, timeout: float = 60.0):
    """Create notebook `path` with one empty cell, open it at `/notebooks/<path>`, wait until its kernel is idle."""
    quoted = urllib.parse.quote(path)
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_code_cell(""))
    notebook.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": KERNEL_NAME, "language": "python"}
    response = page.request.put(
        f"/api/contents/{quoted}",
        data=json.dumps({"type": "notebook", "format": "json", "content": notebook}),
        headers={"Authorization": f"token {TOKEN}"},
    )
    assert response.ok, f"Could not create {path}: HTTP {response.status} {response.text()}"
    page.goto(f"/notebooks/{quoted}?token={TOKEN}")
    page.wait_for_function(
        """path => {
          const widget = window.jupyterapp?.shell.currentWidget;
          const kernel = widget?.sessionContext?.session?.kernel;
          return widget?.context?.path === path && kernel?.connectionStatus === "connected"
            && kernel.status === "idle";
        }""",
        arg=path,
        timeout=timeout * 1000,
    )
    return page.locator(".jp-NotebookPanel")


def _cell_running(page, cell, index: int) -> bool:
    """Whether cell `index` runs: Notebook 7 may keep "[ ]:" in the prompt while it runs, so ask its model too."""
    state = page.evaluate(
        "i => window.jupyterapp.shell.currentWidget.content.widgets[i].model.executionState ?? null", index
    )
    return state == "running" or "*" in cell.locator(".jp-InputPrompt").inner_text()


def test_dashboard_runs_live_in_notebook7(nb7_page):
    page = nb7_page
    panel = open_notebook7(page, "dashboard_nb7.ipynb")
    # Messages from here on: Notebook 7 itself can log a settings error while it loads, before any cell runs.
    console = dashboard._console(page)
    # The Notebook 7 front end, not JupyterLab's: its app is named "Jupyter Notebook".
    assert page.evaluate("() => window.jupyterapp.name") == "Jupyter Notebook"
    assert "/notebooks/" in page.url

    epochs = 10  # 10 epochs x 32 steps, 20 ms each: about 8 s of training.
    cells = panel.locator(".jp-Notebook .jp-Cell")
    index = cells.count() - 1  # Shift+Enter adds a cell below, so keep the index of the one that runs
    cell = cells.nth(index)
    output = run_cell(page, dashboard.FIT_CELL.format(epochs=epochs, pause=0.02), wait=False)
    dash = output.locator(".wb-dash")
    expect(dash).to_be_visible(timeout=60_000)

    seen: list[int] = []  # points of the per-step loss trace, read while the cell was still running
    badges: set[str] = set()
    shot = None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and _cell_running(page, cell, index):
        raw, _, _ = dashboard._step_traces(dashboard._loss_chart(output))
        badge = dash.locator(".wb-status").inner_text()
        if raw is not None and _cell_running(page, cell, index):
            seen.append(len(raw["x"]))
            badges.add(badge)
            if shot is None and len(seen) >= 3 and seen[-1] > seen[0]:
                shot = screenshot(page, "notebook7-dashboard-mid-training")
        time.sleep(0.4)
    summary = dashboard._fit_summary(output, timeout=30)
    artifact_path("notebook7-dashboard-console.log").write_text("\n".join(console))

    assert (summary["epochs"], summary["status"]) == (epochs, "finished"), summary
    distinct = sorted(set(seen))
    assert seen == sorted(seen), f"the loss trace lost points while training: {seen}"
    assert len(distinct) >= 3, (
        f"expected the loss trace's point count to grow at least 3 times while the cell ran "
        f"({summary['seconds']} s of training), read {seen}. Console: {dashboard._errors(console)}"
    )
    assert distinct[0] < epochs * dashboard.STEPS_PER_EPOCH, f"the chart only appeared complete: {seen}"
    assert "running" in badges, f"the status badge read {badges} while training"
    assert shot is not None

    dashboard._chart_with_points(output, epochs * dashboard.STEPS_PER_EPOCH)
    expect(dash.locator(".wb-status")).to_have_text("finished")
    expect(dash.locator(".wb-progress")).to_contain_text(f"epoch {epochs}/{epochs}")
    assert not dashboard._errors(console), dashboard._errors(console)

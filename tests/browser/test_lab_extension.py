"""The Workbench sidebar in JupyterLab, started by `workbench lab`, with a run training beside it.

A training script runs in the background (its runs go to the lab's runs root). The test watches the
run appear in the sidebar as running, opens its run view and sees the loss curve grow while it trains,
waits for it to finish, clicks Export and finds the artifact on disk, loadable with
`workbench.export.load`; it also compares two runs. Screenshots go to the artifacts folder
(`lab-*.png`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import _REPORTS
from tests.browser.lab_server import REPO_ROOT, TOKEN, start_lab
from tests.browser.notebook_page import artifact_path, screenshot

pytestmark = pytest.mark.browser

TRAIN_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    import workbench as wb
    from workbench import callbacks, layers

    epochs = int(sys.argv[1])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int32") + (x[:, 2] > 0.5).astype("int32")
    model = wb.Sequential(
        [wb.Input((8,)), layers.Dense(16, activation="relu"), layers.Dense(3, activation="softmax")],
        name="browser_mlp",
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    slow = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: time.sleep(0.5))
    model.fit(x, y, epochs=epochs, batch_size=32, validation_split=0.25, callbacks=[slow], verbose=0,
              run_name=sys.argv[2])
    """
)


@pytest.fixture(scope="module")
def workbench_lab(tmp_path_factory):
    server = start_lab(tmp_path_factory.mktemp("workbench-lab"), app="workbench")
    yield server
    server.stop()


@pytest.fixture
def lab_page(browser, workbench_lab, request):
    context = browser.new_context(base_url=workbench_lab.url, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    messages = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
    yield page
    artifact_path(f"{request.node.name}-console.txt").write_text("\n".join(messages))
    report = request.node.stash.get(_REPORTS, {}).get("call")
    if report is not None and report.failed:
        screenshot(page, f"{request.node.name}-failure")
    context.close()


def _train(server, epochs: int, name: str) -> subprocess.Popen:
    script = server.root_dir / "train.py"
    script.write_text(TRAIN_SCRIPT)
    env = {**os.environ, "WORKBENCH_RUNS_DIR": str(server.root_dir / "runs"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen([sys.executable, str(script), str(epochs), name], env=env, cwd=server.root_dir,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _open_sidebar(page):
    page.goto(f"/lab?reset&token={TOKEN}")
    page.locator('.lm-TabBar-tab[data-id="workbench-sidebar"]').click()
    expect(page.locator("#workbench-sidebar")).to_be_visible()


def _points(curve) -> int:
    return int(curve.get_attribute("data-points"))


def test_a_training_run_appears_updates_and_exports_from_the_sidebar(lab_page, workbench_lab):
    from workbench.export import load

    page = lab_page
    _open_sidebar(page)
    training = _train(workbench_lab, epochs=30, name="browser-live")
    try:
        row = page.locator('.wb-RunRow[data-status="running"]').filter(has_text="browser-live")
        expect(row).to_be_visible(timeout=90_000)
        screenshot(page, "lab-sidebar-running")
        run_id = row.get_attribute("data-run-id")
        row.locator(".wb-RunName").click()

        view = page.locator(f'.wb-RunView[data-run-id="{run_id}"]')
        expect(view).to_be_visible()
        curve = view.locator('svg.wb-Chart[data-metric="loss"] path.wb-Curve[data-split="train"]')
        expect(curve).to_be_attached(timeout=60_000)
        first = _points(curve)
        page.wait_for_function(
            """([sel, n]) => { const c = document.querySelector(sel); return c && +c.dataset.points > n; }""",
            arg=[f'.wb-RunView[data-run-id="{run_id}"] svg.wb-Chart[data-metric="loss"] '
                 'path.wb-Curve[data-split="train"]', first],
            timeout=60_000,
        )
        assert _points(curve) > first
        screenshot(page, "lab-run-view-live")
        assert training.wait(timeout=120) == 0, training.stdout.read().decode()
    finally:
        training.kill()

    expect(view).to_have_attribute("data-status", "finished", timeout=60_000)
    expect(curve).to_have_attribute("data-points", "30", timeout=30_000)
    expect(view.locator('path.wb-Curve[data-split="val"]').first).to_be_attached()

    view.locator("button.wb-ExportButton").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog.locator("select.wb-Checkpoint")).to_be_visible()
    dialog.locator("input.wb-PushToggle").check()
    dialog.locator("input.wb-PushName").fill("browser-mlp")
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    result = view.locator(".wb-ExportResult")
    expect(result).to_be_visible(timeout=120_000)
    screenshot(page, "lab-exported")
    path = result.get_attribute("data-path")
    assert path.startswith(str(workbench_lab.root_dir / "runs" / run_id / "artifacts"))
    artifact = load(path)
    outputs = np.asarray(artifact(np.zeros((2, 8), "float32")))
    assert outputs.shape == (2, 3) and np.allclose(outputs.sum(axis=1), 1.0, atol=1e-5)
    assert (workbench_lab.root_dir / "models" / "browser-mlp" / "1" / "manifest.json").is_file()
    assert "browser-mlp" in result.inner_text()

    # The rest of the run view: the model and its settings, environment, checkpoints, profile, artifacts.
    import jax

    view.locator("button.wb-RunRefresh").click()
    expect(view.locator(".wb-ConfigSection")).to_contain_text("Dense")
    expect(view.locator(".wb-ConfigSection")).to_contain_text("batch_size")
    expect(view.locator(".wb-EnvironmentSection")).to_contain_text(jax.__version__)
    expect(view.locator(".wb-CheckpointsSection tbody tr").first).to_be_attached()
    expect(view.locator(".wb-ProfileSection")).to_contain_text("data_wait")
    expect(view.locator(".wb-ArtifactsSection")).to_contain_text(path)


def test_two_runs_compare_side_by_side(lab_page, workbench_lab):
    for name in ("browser-a", "browser-b"):
        assert _train(workbench_lab, epochs=3, name=name).wait(timeout=120) == 0
    page = lab_page
    _open_sidebar(page)
    sidebar = page.locator("#workbench-sidebar")
    sidebar.locator(".wb-Filter").fill("browser-")
    for name in ("browser-a", "browser-b"):
        sidebar.locator(".wb-RunRow").filter(has_text=name).locator("input.wb-RunSelect").check()
    sidebar.locator(".wb-CompareButton").click()
    compare = page.locator(".wb-CompareView")
    expect(compare.locator("svg.wb-Chart path.wb-Curve")).to_have_count(2, timeout=30_000)
    expect(compare.locator("table.wb-HparamTable")).to_contain_text("browser-a")
    screenshot(page, "lab-compare")


def test_the_sidebar_says_when_the_server_side_is_missing_or_the_runs_root_unreadable(browser, tmp_path):
    from workbench.lab import DATA_DIR

    # The frontend alone (a plain `jupyter lab` that finds the prebuilt extension, not the server one).
    cases = [
        (start_lab(tmp_path / "plain", extra_env={"JUPYTER_PATH": str(DATA_DIR)}), "server extension"),
        (start_lab(tmp_path / "file-root", app="workbench", extra_args=(f"--runs-dir={tmp_path / 'a-file'}",)),
         "cannot be read"),
    ]
    (tmp_path / "a-file").write_text("not a folder")
    for (server, words), name in zip(cases, ("lab-no-server-extension", "lab-runs-root-unreadable")):
        try:
            context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 800})
            page = context.new_page()
            _open_sidebar(page)
            expect(page.locator("#workbench-sidebar .wb-Message")).to_contain_text(words, timeout=30_000)
            screenshot(page, name)
            context.close()
        finally:
            server.stop()


def test_the_launcher_card_makes_a_workbench_notebook_and_the_palette_has_the_commands(lab_page, workbench_lab):
    page = lab_page
    page.goto(f"/lab?reset&token={TOKEN}")
    commands = ["workbench:open-sidebar", "workbench:refresh-runs", "workbench:new-notebook",
                "workbench:compare-selected", "workbench:open-run", "workbench:export-run"]
    page.wait_for_function("() => window.jupyterapp !== undefined")
    present = page.evaluate(
        "async ids => { await window.jupyterapp.restored; return ids.map(id => window.jupyterapp.commands.hasCommand(id)); }",
        commands,
    )
    assert present == [True] * len(commands)
    page.locator('.jp-LauncherCard[title="New Workbench notebook"]').click()
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget?.context?.path?.startsWith('Workbench')", timeout=60_000
    )
    path = page.evaluate("() => window.jupyterapp.shell.currentWidget.context.path")
    assert (workbench_lab.root_dir / path).is_file()
    expect(page.locator(".jp-NotebookPanel .jp-Cell").first).to_contain_text("Workbench notebook")
    screenshot(page, "lab-new-notebook")

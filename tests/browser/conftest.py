"""Fixtures for browser tests: Debian's Chromium driven by Playwright, against a local JupyterLab.

Session scope: one `jupyter lab` server and one Chromium per test process (per xdist worker).
Function scope: a fresh browser context and page per test; its kernels are shut down afterwards.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.lab_server import LabServer, start_lab
from tests.browser.notebook_page import artifact_path, screenshot

CHROMIUM_NAMES = ("chromium", "chromium-browser")
INSTALL_HINT = (
    "Install Debian's package with `apt-get install -y chromium`, "
    "or set WORKBENCH_CHROMIUM to the path of a Chromium binary."
)
_REPORTS = pytest.StashKey[dict]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives JupyterLab in headless Chromium (needs `chromium`)")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    # Kept on the item so the `page` fixture can screenshot a failed test before closing.
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Path of the Chromium binary: $WORKBENCH_CHROMIUM, else `chromium` or `chromium-browser` on PATH."""
    override = os.environ.get("WORKBENCH_CHROMIUM")
    if override:
        if not (Path(override).is_file() and os.access(override, os.X_OK)):
            pytest.fail(f"WORKBENCH_CHROMIUM={override!r} is not an executable file. {INSTALL_HINT}")
        return override
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(f"Browser tests need Chromium, but none of {CHROMIUM_NAMES} is on PATH. {INSTALL_HINT}")


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A `jupyter lab` server from this venv, in a temporary directory, stopped at the end."""
    server = start_lab(tmp_path_factory.mktemp("jupyterlab"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser(chromium_path: str):
    """Headless Chromium launched by Playwright from `chromium_path` (Playwright's own browsers are not used)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "Browser tests need Playwright for Python: pip install -e '.[test]' (package `playwright`)."
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            # Containers often have a small /dev/shm; Chromium then crashes tabs without this.
            args=["--disable-dev-shm-usage"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, lab_server: LabServer, request: pytest.FixtureRequest):
    """A new page whose relative URLs point at `lab_server`.

    When the test fails, a screenshot and the server log go to the artifacts folder.
    """
    context = browser.new_context(base_url=lab_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    reports = request.node.stash.get(_REPORTS, {})
    if "call" in reports and reports["call"].failed:
        screenshot(page, f"{request.node.name}-failure")
        shutil.copyfile(lab_server.log_path, artifact_path(f"{request.node.name}-jupyterlab.log"))
    context.close()
    lab_server.shutdown_kernels()

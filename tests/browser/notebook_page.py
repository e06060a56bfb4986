"""Drive a JupyterLab 4 notebook from Playwright: open it, run cells, read outputs, take screenshots.

The page must come from a browser context whose `base_url` is the server's URL (the `page` fixture).
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat

from tests.browser.lab_server import KERNEL_NAME, TOKEN

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"

_ACTIVE_NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"
_FINISHED_PROMPT = re.compile(r"^\s*\[\d+\]:\s*$")
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
# CodeMirror 6 inserts a pasted string as it is, replacing the selection. Typing would add
# auto-indentation and closing brackets; keyboard.insertText drops a leading newline and takes
# seconds for a few hundred lines. A synthetic paste event needs no clipboard permission.
_PASTE = """(editor, text) => {
  const data = new DataTransfer();
  data.setData("text/plain", text);
  editor.dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true}));
}"""


def open_notebook(page: Page, path: str = "test.ipynb", timeout: float = 60.0) -> Locator:
    """Open notebook `path` (created empty if missing) and wait until its kernel is idle.

    Returns the notebook panel. A new notebook names the tests' kernel in its metadata, so
    JupyterLab starts it without asking which kernel to use.
    """
    quoted = urllib.parse.quote(path)
    headers = {"Authorization": f"token {TOKEN}"}
    if page.request.get(f"/api/contents/{quoted}?content=0", headers=headers).status == 404:
        notebook = nbformat.v4.new_notebook()
        notebook.cells.append(nbformat.v4.new_code_cell(""))
        notebook.metadata["kernelspec"] = {
            "name": KERNEL_NAME,
            "display_name": KERNEL_NAME,
            "language": "python",
        }
        body = json.dumps({"type": "notebook", "format": "json", "content": notebook})
        response = page.request.put(f"/api/contents/{quoted}", data=body, headers=headers)
        if not response.ok:
            raise AssertionError(f"Could not create {path}: HTTP {response.status} {response.text()}")
    # `reset` starts from an empty workspace, so notebooks from earlier tests do not reopen.
    page.goto(f"/lab/tree/{quoted}?reset&token={TOKEN}")
    # The toolbar's status circle reads "idle" before any kernel exists; ask the session instead.
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
    return page.locator(_ACTIVE_NOTEBOOK)


def run_cell(
    page: Page, code: str, timeout: float = 60.0, wait: bool = True, raise_on_error: bool = True
) -> Locator:
    """Put `code` into the last cell of the open notebook, run it with Shift+Enter, return its output area.

    With `wait=False` it returns as soon as the cell is queued, for watching output while the
    cell runs. Otherwise it waits for the cell to finish and, with `raise_on_error`, turns a
    Python exception in the cell into an AssertionError carrying the traceback.
    """
    cells = page.locator(f"{_ACTIVE_NOTEBOOK} .jp-Notebook .jp-Cell")
    index = cells.count() - 1
    cell = cells.nth(index)
    editor = cell.locator(".cm-content")
    editor.click()
    page.keyboard.press("ControlOrMeta+a")
    editor.evaluate(_PASTE, code)
    source = page.evaluate(
        "i => window.jupyterapp.shell.currentWidget.content.widgets[i].model.sharedModel.getSource()", index
    )
    if source != code:
        raise AssertionError(f"Cell {index} holds {source!r} after pasting, expected {code!r}.")
    page.keyboard.press("Shift+Enter")
    output = cell.locator(".jp-Cell-outputArea")
    if not wait:
        return output

    prompt = cell.locator(".jp-InputPrompt")
    try:
        prompt.filter(has_text=_FINISHED_PROMPT).wait_for(timeout=timeout * 1000)
    except Exception as error:  # Playwright's TimeoutError; the message below says more.
        raise AssertionError(
            f"Cell {index} did not finish within {timeout:.0f}s (prompt {prompt.inner_text()!r}).\n"
            f"Code:\n{code}\nOutput so far:\n{output.inner_text()}"
        ) from error
    if raise_on_error:
        _raise_cell_error(page, index, code)
    return output


def kernel_status(page: Page) -> str:
    """The open notebook's kernel status as JupyterLab shows it: 'idle', 'busy', 'starting', ..."""
    return page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel?.status ?? 'unknown'"
    )


def screenshot(page: Page, name: str) -> Path:
    """Save a PNG of the page as `<artifacts>/<name>.png` and return its path.

    The folder is $WORKBENCH_TEST_ARTIFACTS, or tests/browser/artifacts/ (git-ignored).
    """
    path = artifact_path(f"{name}.png")
    page.screenshot(path=str(path))
    return path


def artifact_path(filename: str) -> Path:
    """Where a test keeps `filename` for people to look at: $WORKBENCH_TEST_ARTIFACTS or tests/browser/artifacts/."""
    directory = Path(os.environ.get("WORKBENCH_TEST_ARTIFACTS") or ARTIFACTS_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    return directory / re.sub(r"[^A-Za-z0-9_.-]+", "_", filename)


def _raise_cell_error(page: Page, index: int, code: str) -> None:
    outputs = page.evaluate(
        "i => window.jupyterapp.shell.currentWidget.content.widgets[i].model.outputs.toJSON()", index
    )
    for output in outputs:
        if output.get("output_type") == "error":
            traceback = _ANSI_ESCAPE.sub("", "\n".join(output.get("traceback", [])))
            raise AssertionError(
                f"Cell {index} raised {output['ename']}: {output['evalue']}\nCode:\n{code}\n{traceback}"
            )

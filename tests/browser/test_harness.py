"""The browser harness itself: cells run, anywidget widgets render, sync both ways, and update live."""

import time

import pytest
from playwright.sync_api import expect

from tests.browser.notebook_page import kernel_status, open_notebook, run_cell, screenshot

pytestmark = pytest.mark.browser

COUNTER_WIDGET = '''
import anywidget
import traitlets


class Counter(anywidget.AnyWidget):
    _esm = """
    function render({ model, el }) {
      const button = document.createElement("button");
      button.className = "counter-button";
      button.textContent = "add one";
      const value = document.createElement("span");
      value.className = "counter-value";
      const show = () => { value.textContent = String(model.get("value")); };
      button.addEventListener("click", () => {
        model.set("value", model.get("value") + 1);
        model.save_changes();
      });
      model.on("change:value", show);
      show();
      el.append(button, value);
    }
    export default { render };
    """
    value = traitlets.Int(0).tag(sync=True)


counter = Counter()
counter
'''


def test_print_shows_output(page):
    open_notebook(page, "print.ipynb")
    output = run_cell(page, "print(1 + 1)")
    expect(output).to_have_text("2")


def test_code_arrives_unchanged(page):
    """Indentation, brackets, a leading blank line and a few hundred lines reach the kernel as written."""
    open_notebook(page, "paste.ipynb")
    appends = "\n".join(f"values.append({i})" for i in range(300))
    pair = 'def pair(x):\n    if x:\n        return [x, {"a": (x, "b")}]\n    return None\n'
    code = f"\nvalues = []\n{appends}\n{pair}\nprint(len(values), pair(3))"
    expect(run_cell(page, code)).to_have_text("300 [3, {'a': (3, 'b')}]")


def test_cell_error_raises_with_traceback(page):
    open_notebook(page, "error.ipynb")
    with pytest.raises(AssertionError, match="ZeroDivisionError"):
        run_cell(page, "1 / 0")


def test_anywidget_syncs_both_ways(page):
    open_notebook(page, "counter.ipynb")
    widget = run_cell(page, COUNTER_WIDGET)
    value = widget.locator(".counter-value")
    expect(value).to_have_text("0")

    widget.locator(".counter-button").click()
    widget.locator(".counter-button").click()
    expect(value).to_have_text("2")
    expect(run_cell(page, "print(counter.value)")).to_have_text("2")

    run_cell(page, "counter.value = 42")
    expect(value).to_have_text("42")
    screenshot(page, "anywidget-counter")


def test_widget_updates_while_cell_runs(page):
    """A cell busy in a Python loop still sends widget updates; the page shows them before it ends."""
    open_notebook(page, "live.ipynb")
    value = run_cell(page, COUNTER_WIDGET).locator(".counter-value")
    loop = "import time\nfor step in range(1, 21):\n    counter.value = step\n    time.sleep(0.25)\nprint('loop done')"
    output = run_cell(page, loop, wait=False)

    seen_while_busy = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "loop done" not in output.inner_text():
        shown = value.inner_text()
        if kernel_status(page) == "busy" and "loop done" not in output.inner_text():
            seen_while_busy.append(int(shown))
        time.sleep(0.1)
    expect(output).to_have_text("loop done")
    expect(value).to_have_text("20")

    distinct = sorted(set(seen_while_busy))
    assert seen_while_busy == sorted(seen_while_busy), f"values went backwards: {seen_while_busy}"
    assert len([v for v in distinct if 0 < v < 20]) >= 5, (
        f"expected at least 5 intermediate values while the cell ran, saw {distinct}"
    )

"""`fit` in a notebook shows the live dashboard instead of the text progress bar, fed by the run."""

import pytest

import workbench as wb

from .conftest import collect_iopub, stdout_of

FIT_CELL = """
import numpy as np, workbench as wb
x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32"); y = (x[:, 0] > 0).astype("int32")
model = wb.Sequential([wb.layers.Input((4,)), wb.layers.Dense(2)], name="kernelfit")
model.compile("adam", wb.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
model.fit(x, y, epochs=2, batch_size=16{extra})
print("status", wb.runs.list_runs()[-1].status, flush=True)
"""


def _run(kc, code):
    msg_id = kc.execute(code)
    return collect_iopub(kc, lambda ms: any(
        m["msg_type"] == "status" and m["content"]["execution_state"] == "idle"
        and m["parent_header"].get("msg_id") == msg_id for m in ms), 120)


def _widget_models(messages):
    return [m["content"]["data"]["state"].get("_model_name") for m in messages if m["msg_type"] == "comm_open"]


def test_fit_in_a_kernel_shows_the_dashboard_fed_by_the_run(kernel, tmp_path):
    messages = _run(kernel, f"import os; os.environ['WORKBENCH_RUNS_DIR'] = {str(tmp_path)!r}\n"
                    + FIT_CELL.format(extra=""))
    out = stdout_of(messages)
    assert "status finished" in out, out
    assert "ms/step" not in out  # no text progress bar
    assert "AnyModel" in _widget_models(messages)
    updates = [m for m in messages if m["msg_type"] == "comm_msg"]
    assert updates, "the dashboard sent nothing while training"


def test_dashboard_false_keeps_the_progress_bar(kernel, tmp_path):
    messages = _run(kernel, f"import os; os.environ['WORKBENCH_RUNS_DIR'] = {str(tmp_path)!r}\n"
                    + FIT_CELL.format(extra=", dashboard=False"))
    out = stdout_of(messages)
    assert "Epoch 1/2" in out and "status finished" in out
    assert "AnyModel" not in _widget_models(messages)


def test_outside_a_notebook_the_dashboard_needs_the_run_log():
    model = wb.Sequential([wb.layers.Input((4,)), wb.layers.Dense(2)])
    model.compile("adam", "mse")
    import numpy as np

    with pytest.raises(ValueError, match="dashboard=True shows the run's records: it needs log=True"):
        model.fit(np.zeros((4, 4)), np.zeros((4, 2)), dashboard=True, log=False, verbose=0)


def test_the_keras_style_callback_makes_and_feeds_a_dashboard(kernel, tmp_path):
    cell = FIT_CELL.format(extra=", callbacks=[dash_cb]").replace(
        "model.fit(", "dash_cb = wb.callbacks.LiveDashboard('named')\nmodel.fit(")
    messages = _run(kernel, f"import os; os.environ['WORKBENCH_RUNS_DIR'] = {str(tmp_path)!r}\n" + cell
                    + "print('curves', sorted(dash_cb.dashboard.curve_names()), dash_cb.dashboard.run_name)\n")
    out = stdout_of(messages)
    assert "status finished" in out and "ms/step" not in out, out
    curves = out.split("curves", 1)[1]
    assert "'train/batch_loss'" in curves and "'train/loss@epoch'" in curves and curves.strip().endswith("named")


def test_without_a_front_end_drawing_it_the_epochs_are_also_printed(kernel, tmp_path, monkeypatch):
    # Nothing in this test draws the dashboard, as in a console kernel: after the grace period the
    # epochs are printed as text; a front end's "ready" message would have kept it quiet.
    cell = ("import workbench.viz.callback as c; c.FRONT_END_GRACE = 0.0\n"
            + FIT_CELL.format(extra=""))
    out = stdout_of(_run(kernel, f"import os; os.environ['WORKBENCH_RUNS_DIR'] = {str(tmp_path)!r}\n" + cell))
    assert "Epoch 1/2 - " in out and "Epoch 2/2 - " in out and "loss: " in out, out

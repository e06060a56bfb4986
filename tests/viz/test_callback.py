"""DashboardCallback in a real fit: progress goes in, the Stop button ends training after the next batch."""

import numpy as np
import pytest

pytest.importorskip("anywidget")

import workbench  # noqa: E402
from workbench.training.callbacks import Callback  # noqa: E402
from workbench.viz import DashboardCallback, LiveDashboard  # noqa: E402


def tiny_model():
    workbench.utils.set_random_seed(0)
    model = workbench.Sequential([workbench.layers.Input((4,)), workbench.layers.Dense(2)])
    # One step per dispatch, so "the next batch" is exactly one step.
    model.compile(
        "adam", workbench.losses.SparseCategoricalCrossentropy(from_logits=True), steps_per_execution=1
    )
    return model


def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(64, 4)).astype("float32"), rng.integers(0, 2, 64)


class Batches(Callback):
    """Records batch ends; at batch `press` it presses Stop (after the dashboard's callback ran)."""

    def __init__(self, dash, press=None):
        super().__init__()
        self.dash, self.press, self.seen = dash, press, []

    def on_train_batch_end(self, batch, logs=None):
        self.seen.append(batch)
        if batch == self.press:
            self.dash.stop_requested = True  # what the browser's click sets


def quiet_dashboard():
    dash = LiveDashboard()
    dash.send = lambda *args, **kwargs: None
    return dash


def test_stop_requested_ends_training_after_the_next_batch():
    dash = quiet_dashboard()
    model = tiny_model()
    batches = Batches(dash, press=2)
    x, y = data()
    history = model.fit(
        x, y, batch_size=8, epochs=3, verbose=0, log=False, callbacks=[dash.callback(), batches]
    )
    assert batches.seen == [0, 1, 2, 3]  # pressed during batch 2; the dashboard saw it at batch 3's end
    assert model.stop_training is True
    assert len(history.history["loss"]) == 1
    assert dash.status == "interrupted"
    assert dash.progress["step"] == 4


def test_a_stale_stop_does_not_end_the_next_fit_and_progress_is_fed():
    dash = quiet_dashboard()
    dash.stop_requested = True  # pressed during an earlier fit
    model = tiny_model()
    batches = Batches(dash)
    x, y = data()
    history = model.fit(
        x, y, batch_size=8, epochs=2, verbose=0, log=False, callbacks=[DashboardCallback(dash), batches]
    )
    assert len(history.history["loss"]) == 2 and len(batches.seen) == 16
    assert dash.status == "finished"
    assert (
        dash.progress["step"] == 16 and dash.progress["epochs"] == 2 and dash.progress["steps_per_epoch"] == 8
    )


def test_the_run_loggers_records_drive_the_dashboard(tmp_path):
    runs = pytest.importorskip("workbench.runs")
    dash = quiet_dashboard()
    logger = runs.RunLogger(root=tmp_path, run_name="tiny", histogram_freq=1, checkpoints=False)
    logger.listeners.append(dash.feed)
    model = tiny_model()
    x, y = data()
    model.fit(
        x, y, batch_size=8, epochs=2, validation_split=0.25, verbose=0, callbacks=[logger, dash.callback()]
    )
    assert dash.status == "finished" and dash.run_name == "tiny"
    names = set(dash.curve_names())
    assert {"train/batch_loss", "train/loss@epoch", "val/loss@epoch", "train/learning_rate@epoch"} <= names
    assert dash.series("train/batch_loss")["step"].tolist() == list(range(1, 13))  # 6 steps an epoch
    assert len(dash.series("val/loss")["value"]) == 2
    kernels = sorted(name for name in dash._dists if name.endswith("/kernel"))
    assert [name.split("/")[0] for name in kernels] == ["gradients", "weights"]
    assert dash.distribution(kernels[1])["values"].shape == (2, 9)  # one histogram an epoch, 9 bands


def test_a_fit_that_raises_leaves_the_dashboard_failed():
    dash = quiet_dashboard()
    model = tiny_model()
    x, y = data()

    class Boom(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, log=False, callbacks=[dash.callback(), Boom()])
    assert dash.status == "failed"


def test_a_front_end_that_drew_the_dashboard_keeps_the_epochs_out_of_the_text(capsys):
    import numpy as np

    import workbench as wb
    import workbench.viz.callback as callback_mod
    from workbench.viz import LiveDashboard

    model = wb.Sequential([wb.layers.Input((4,)), wb.layers.Dense(2)])
    model.compile("adam", wb.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = np.zeros((8, 4), "float32"), np.zeros(8, "int32")
    grace = callback_mod.FRONT_END_GRACE
    callback_mod.FRONT_END_GRACE = 0.0
    try:
        drawn = LiveDashboard("drawn")
        drawn._on_browser_message(drawn, {"type": "ready"}, [])
        model.fit(x, y, epochs=2, log=False, callbacks=[drawn.callback()])
        assert "Epoch" not in capsys.readouterr().out
        model.fit(x, y, epochs=2, log=False, callbacks=[LiveDashboard("undrawn").callback()])
        assert "Epoch 2/2 - loss: " in capsys.readouterr().out
        model.fit(x, y, epochs=2, verbose=0, log=False, callbacks=[LiveDashboard("quiet").callback()])
        assert capsys.readouterr().out == ""
    finally:
        callback_mod.FRONT_END_GRACE = grace

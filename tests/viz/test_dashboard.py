"""LiveDashboard: records in, throttled binary deltas out, a compact snapshot for saved notebooks."""

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("anywidget")

from workbench.viz import LiveDashboard, distribution_bands, in_notebook  # noqa: E402
from workbench.viz.series import decode_body, decode_snapshot  # noqa: E402


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


class Browser:
    """Plays the front end: records the dashboard's deltas, keeps their curves, acknowledges on demand."""

    def __init__(self, dash):
        self.dash, self.sent, self.curves, self.times = dash, [], {}, []
        dash.send = self.receive

    def receive(self, content, buffers=None):
        self.sent.append((content, buffers))
        if content.get("type") != "delta":
            return
        self.times.append(self.dash._clock())
        decoded = decode_body(content, b"".join(bytes(b) for b in buffers))
        for entry in content["curves"]:
            cols = decoded["curves"][entry["key"]]
            old = self.curves.get(entry["key"], {"step": [], "value": []})
            self.curves[entry["key"]] = {
                "step": old["step"][: entry["offset"]] + cols["step"].tolist(),
                "value": old["value"][: entry["offset"]] + cols["value"].tolist(),
            }

    def deltas(self):
        return [c for c, _ in self.sent if c.get("type") == "delta"]

    def ack(self):
        self.dash._on_browser_message(self.dash, {"type": "ack", "seq": self.deltas()[-1]["seq"]}, [])


def loss(step, value, **extra):
    return {
        "step": step,
        "epoch": step // 1000,
        "wall": 1000.0 + step / 100,
        "split": "train",
        "values": {"loss": value},
        **extra,
    }


def test_no_more_than_four_sends_a_second_when_the_browser_keeps_up():
    clock = Clock()
    dash = LiveDashboard(clock=clock)
    browser = Browser(dash)
    for i in range(10_000):  # 1000 records a second for 10 simulated seconds
        clock.t = i / 1000
        dash.feed(loss(i, 1.0 / (i + 1)))
        if browser.deltas() and dash._gate.awaiting is not None:
            browser.ack()
    times = np.array(browser.times)
    assert 35 <= len(times) <= 41
    assert max(np.sum((times >= t) & (times < t + 1.0)) for t in times) <= 4
    assert browser.curves["step:train/loss"]["step"][-1] == 9999 or dash._dirty


def test_unacknowledged_deltas_coalesce_instead_of_queueing():
    clock = Clock()
    dash = LiveDashboard(clock=clock)
    browser = Browser(dash)
    for i in range(100):
        dash.feed(loss(i, float(i)))
    assert len(browser.deltas()) == 1 and browser.deltas()[0]["full"]
    for i in range(100, 600):  # 10 seconds without an acknowledgement: nothing more is sent
        clock.t += 0.02
        dash.feed(loss(i, float(i)))
    assert len(browser.deltas()) == 1
    browser.ack()  # one delta now carries everything fed meanwhile
    assert len(browser.deltas()) == 2
    assert browser.curves["step:train/loss"]["value"] == [float(i) for i in range(600)]


def test_a_front_end_that_connects_late_gets_everything():
    clock = Clock()
    dash = LiveDashboard(clock=clock)
    Browser(dash)
    for i in range(50):
        dash.feed(loss(i, float(i)))
    late = Browser(dash)
    clock.t += 1
    dash._on_browser_message(dash, {"type": "ready"}, [])
    assert late.deltas()[-1]["full"]
    assert late.curves["step:train/loss"]["step"] == [float(i) for i in range(50)]


def test_100k_points_display_at_most_the_cap_and_keep_the_full_data():
    clock = Clock()
    dash = LiveDashboard(clock=clock, max_points=2000)
    browser = Browser(dash)
    values = np.random.default_rng(0).normal(size=100_000).cumsum()
    for i, v in enumerate(values):
        clock.t = i / 2000
        dash.feed(loss(i, float(v)))
        if dash._gate.awaiting is not None:
            assert len(browser.curves["step:train/loss"]["step"]) <= 2000
            browser.ack()
    clock.t += 1
    dash.flush()
    shown = browser.curves["step:train/loss"]
    assert len(shown["step"]) <= 2000 and shown["step"][-1] == 99_999
    assert np.float32(values.max()) in np.float32(shown["value"])  # extremes survive
    full = dash.series("train/loss")
    np.testing.assert_array_equal(full["value"], values)
    np.testing.assert_array_equal(full["step"], np.arange(100_000))
    header, body = decode_snapshot(dash._snapshot)
    assert header["curves"][0]["count"] <= dash.snapshot_points


def test_snapshot_is_written_every_few_seconds_and_at_the_end():
    clock = Clock()
    dash = LiveDashboard(clock=clock, snapshot_interval=5.0)
    Browser(dash)
    writes = []
    dash.observe(lambda change: writes.append(clock.t), names="_snapshot")
    for i in range(2000):
        clock.t = i / 100  # 20 simulated seconds
        dash.feed(loss(i, float(i)))
    assert 4 <= len(writes) <= 5 and np.all(np.diff(writes) >= 5.0)
    dash.feed({"kind": "status", "status": "finished"})
    assert dash.status == "finished"
    header, body = decode_snapshot(dash._snapshot)
    assert header["curves"][0]["n"] == 2000
    assert decode_body(header, body)["curves"]["step:train/loss"]["step"][-1] == 1999


def test_records_route_to_step_and_epoch_curves_histograms_and_header():
    dash = LiveDashboard()
    Browser(dash)
    dash.feed(
        {
            "kind": "run",
            "run_json": {"name": "mlp", "id": "r1", "hyperparameters": {"lr": 0.1, "opt": "adam"}},
        }
    )
    dash.feed(loss(10, 0.5, values={"loss": 0.5, "accuracy": 0.7, "learning_rate": 1e-3, "note": "text"}))
    dash.feed(
        {"step": 10, "epoch": 0, "wall": 1.0, "split": "train", "level": "epoch", "values": {"loss": 0.6}}
    )
    dash.feed({"step": 10, "epoch": 0, "wall": 1.0, "split": "val", "values": {"loss": 0.7}})
    edges, counts = [0.0, 1.0, 2.0, 4.0], [1, 2, 1]
    dash.feed(
        {
            "kind": "histogram",
            "step": 10,
            "epoch": 0,
            "name": "weights/dense/kernel",
            "edges": edges,
            "counts": counts,
        }
    )
    dash.feed({"kind": "something-new"})  # ignored
    assert dash.run_name == "mlp" and dash.run_info == {
        "id": "r1",
        "hyperparameters": {"lr": 0.1, "opt": "adam"},
    }
    assert sorted(dash.curve_names()) == [
        "train/accuracy",
        "train/learning_rate",
        "train/loss",
        "train/loss@epoch",
        "val/loss@epoch",
    ]
    assert dash.series("val/loss")["value"].tolist() == [0.7]
    assert dash.series("train/loss", level="epoch")["value"].tolist() == [0.6]
    np.testing.assert_array_equal(
        dash.distribution("weights/dense/kernel")["values"][0], distribution_bands(edges, counts)
    )
    with pytest.raises(KeyError, match="No curve 'val/acc'"):
        dash.series("val/acc")
    named = LiveDashboard("mine")
    named.feed({"kind": "run", "run_json": {"name": "other"}})
    assert named.run_name == "mine"


def test_throughput_and_eta_from_progress_records():
    dash = LiveDashboard(send_interval=0.0)
    Browser(dash)
    for step in range(0, 101, 10):
        dash.feed(
            {
                "kind": "progress",
                "step": step,
                "epoch": 0,
                "epochs": 2,
                "steps_per_epoch": 100,
                "wall": 500.0 + step / 20,
            }
        )
    assert dash.progress["steps_per_second"] == pytest.approx(20.0)
    assert dash.progress["eta_seconds"] == pytest.approx(100 / 20)
    assert dash.progress["epochs"] == 2


def test_constructing_without_anywidget_says_how_to_install():
    code = (
        "import sys; sys.modules['anywidget'] = None\n"
        "import workbench.viz as viz\n"
        "assert viz.in_notebook() is False\n"
        "try:\n    viz.LiveDashboard()\nexcept ImportError as e:\n    print(e)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "pip install 'anywidget>=0.9' 'ipywidgets>=8'" in done.stdout


def test_not_in_a_notebook_under_pytest():
    assert in_notebook() is False

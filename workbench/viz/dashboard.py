"""LiveDashboard: a notebook widget that charts a training run while it runs.

Records (the run logger's listener contract) go in through `feed`, which appends
them to Python-side buffers and returns. At most every `send_interval` seconds,
and only once the browser acknowledged the previous message, the points fed since
are sent as one binary delta (see `series.py`); the browser keeps at most
`max_points` per curve, the Python side keeps everything. Every
`snapshot_interval` seconds and when a run or a cell ends, a coarser snapshot goes
into the `_snapshot` trait: that is what a notebook saved with widget state shows
offline. The same throttled path handles the browser's messages while the cell
runs (`kernel_messages`), which is how the Stop button reaches a running `fit`.
"""

from __future__ import annotations

import math
import sys
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

import anywidget
import numpy as np
import traitlets

from workbench.viz import assets, kernel_messages
from workbench.viz.distributions import BASIS_POINTS, distribution_bands
from workbench.viz.plotly_library import shared_library
from workbench.viz.send_gate import SendGate
from workbench.viz.series import SeriesBuffer, encode_snapshot
from workbench.viz.throughput import Throughput

if TYPE_CHECKING:
    from workbench.viz.callback import DashboardCallback

_TERMINAL = ("finished", "failed", "interrupted")
_HPARAM_KEYS = ("hyperparameters", "hyper_parameters", "hparams", "params")
_live: weakref.WeakSet = weakref.WeakSet()
_hooked_shells: weakref.WeakSet = weakref.WeakSet()


class LiveDashboard(anywidget.AnyWidget):
    """Live training charts: loss and metrics (train and validation, per step and per epoch), learning rate,
    throughput and ETA, weight and gradient distributions, and a Stop button.

    Show it as a cell's last expression, pass `dash.callback()` to `fit` (progress, Stop) and
    `dash.feed` to a `RunLogger`'s listeners (the curves), or feed records yourself:

        dash = workbench.viz.LiveDashboard("mlp")
        dash.feed({"step": 1, "epoch": 0, "wall": time.time(), "split": "train", "values": {"loss": 0.9}})
        dash

    Args:
        run_name: the header's title (else the name in the run logger's run record).
        max_points: points per curve the browser holds (min/max of equal buckets beyond that).
        snapshot_points: points per curve kept in the saved-notebook snapshot.
        distribution_points: points per histogram, live and saved.
        send_interval: seconds between two sends to the browser, at least.
        snapshot_interval: seconds between two snapshot writes during a run, at least.
        clock: the time source for the intervals (tests pass a fake one).
    """

    _esm = traitlets.Unicode().tag(sync=True)
    _css = traitlets.Unicode().tag(sync=True)
    _uid = traitlets.Unicode().tag(sync=True)
    _snapshot = traitlets.Bytes(b"").tag(sync=True)

    run_name = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("waiting").tag(sync=True)
    run_info = traitlets.Dict().tag(sync=True)
    progress = traitlets.Dict().tag(sync=True)
    smoothing = traitlets.Float(0.6).tag(sync=True)
    log_scale = traitlets.Bool(False).tag(sync=True)
    x_axis = traitlets.Enum(("step", "epoch"), "step").tag(sync=True)
    stop_requested = traitlets.Bool(False).tag(sync=True)

    def __init__(
        self,
        run_name: str = "",
        *,
        max_points: int = 2000,
        snapshot_points: int = 1000,
        distribution_points: int = 250,
        send_interval: float = 0.25,
        snapshot_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        **kwargs,
    ):
        for name, value in (
            ("max_points", max_points),
            ("snapshot_points", snapshot_points),
            ("distribution_points", distribution_points),
        ):
            if value < 4:
                raise ValueError(f"{name} must be at least 4, got {value}.")
        library = shared_library()  # before this widget's comm opens, so front ends create it first
        super().__init__(
            _esm=assets.dashboard_esm(),
            _css=assets.read("dashboard.css"),
            _uid=uuid.uuid4().hex,
            run_name=run_name,
            **kwargs,
        )
        self._library = library
        self.max_points, self.snapshot_points = max_points, snapshot_points
        self.distribution_points = distribution_points
        self.snapshot_interval = snapshot_interval
        self._clock = clock
        self._named = bool(run_name)
        self._lock = threading.RLock()
        self._curves: dict[str, SeriesBuffer] = {}
        self._dists: dict[str, SeriesBuffer] = {}
        self._meta: dict[str, dict] = {}
        self._throughput = Throughput()
        self._gate = SendGate(send_interval, clock)
        self._need_full = True
        self._dirty = False
        self._snapshot_dirty = False
        self._last_snapshot = -math.inf
        self._last_poll = -math.inf
        self._last_progress = -math.inf
        self._timer_at: float | None = None
        self._no_event_loop = False
        self._progress_dirty = False
        self.on_msg(self._on_browser_message)
        _live.add(self)
        _flush_after_each_cell()

    # ------------------------------------------------------------------ public

    front_end_seen = False  # set when a front end has drawn this dashboard (it then talks back)

    def feed_many(self, records: list[dict]) -> None:
        """Take many records at once (what a run logger writes in one go); the same as feeding each, with the
        step-level scalars appended as arrays."""
        rest, groups = [], {}
        for record in records:
            if record.get("kind") == "batch" and record.get("split", "train") == "train" and "level" not in record:
                step, epoch, wall = record.get("step", 0), record.get("epoch", 0), record.get("wall", 0.0)
                for name, value in (record.get("values") or {}).items():
                    if isinstance(value, str):  # "NaN", "Infinity": non-finite values as JSON writes them
                        try:
                            value = float(value)
                        except ValueError:
                            continue
                    if isinstance(value, (int, float)):
                        groups.setdefault(name, ([], [], [], []))
                        cols = groups[name]
                        cols[0].append(step), cols[1].append(epoch), cols[2].append(wall), cols[3].append(value)
            else:
                rest.append(record)
        if groups:
            with self._lock:
                for name, (steps, epochs, walls, values) in groups.items():
                    key = f"step:train/{name}"
                    buf = self._curves.get(key)
                    if buf is None:
                        buf = self._curves[key] = SeriesBuffer()
                        self._meta[key] = {"key": key, "split": "train", "name": str(name), "level": "step",
                                           "label": f"train/{name}"}
                    buf.extend(steps, epochs, walls, values)
                    last_step, last_wall = steps[-1], walls[-1]
                self._throughput.observe(int(last_step), float(last_wall))
                self._progress_dirty = self._dirty = self._snapshot_dirty = True
        for record in rest:
            self._take(record)
        self._after_feed(snapshot_now=False)

    def feed(self, record: dict) -> None:
        """Take one record (scalars, histogram, status, run or progress); never waits for the browser."""
        kind = self._take(record)
        self._after_feed(snapshot_now=kind == "status" and self.status in _TERMINAL)

    def _take(self, record: dict):
        kind = record.get("kind")
        if kind == "histogram":
            self._feed_histogram(record)
        elif kind == "progress":
            with self._lock:
                self._throughput.update(record)
                self._progress_dirty = True
        elif kind == "status":
            self.status = str(record.get("status", self.status))
            if record.get("error"):
                self.run_info = {**self.run_info, "error": str(record["error"])[:500]}
        elif kind == "run":
            self._feed_run(record.get("run_json") or {})
        elif "values" in record:
            self._feed_scalars(record)
        return kind

    def _after_feed(self, snapshot_now: bool) -> None:
        now = self._clock()
        if now - self._last_poll >= self._gate.interval:
            self._last_poll = now
            kernel_messages.handle_pending_comm_messages()  # the Stop button, acknowledgements
        self._pump(snapshot_now=snapshot_now)

    def flush(self) -> None:
        """Send what is buffered as far as the browser allows, and write the saved-notebook snapshot now."""
        self._pump(snapshot_now=True)

    def stop(self) -> None:
        """Ask training to end after its current step, as the Stop button does."""
        self.stop_requested = True

    def callback(self) -> DashboardCallback:
        """A `fit` callback that feeds progress to this dashboard and stops training when asked."""
        from workbench.viz.callback import DashboardCallback

        return DashboardCallback(self)

    def curve_names(self) -> list[str]:
        """The curves fed so far, as "<split>/<name>" (step level) or "<split>/<name>@epoch"."""
        with self._lock:
            return [m["label"] for k, m in self._meta.items() if k in self._curves]

    def series(self, name: str, level: str | None = None) -> dict[str, np.ndarray]:
        """Every point of curve `name` ("train/loss"): arrays step, epoch, wall, value.

        `level` is "step" or "epoch"; by default the step-level curve, else the epoch-level one.
        """
        with self._lock:
            for lv in (level,) if level else ("step", "epoch"):
                buf = self._curves.get(f"{lv}:{name}")
                if buf is not None:
                    return buf.arrays()
            known = sorted(self.curve_names())
        raise KeyError(f"No curve {name!r}{'' if level is None else f' at level {level!r}'}; fed: {known}.")

    def distribution(self, name: str) -> dict[str, np.ndarray]:
        """Every point of histogram `name`: arrays step, epoch, wall, and values (n, 9) at `BASIS_POINTS`."""
        with self._lock:
            if name not in self._dists:
                raise KeyError(f"No histogram {name!r}; fed: {sorted(self._dists)}.")
            return self._dists[name].arrays()

    # ------------------------------------------------------------------ records

    def _feed_scalars(self, record: dict) -> None:
        split = str(record.get("split", "train"))
        # Evaluation splits and "epoch" records (the run logger's kind) are per epoch unless they say otherwise.
        per_epoch = record.get("kind") == "epoch" or split != "train"
        level = record.get("level") or ("epoch" if per_epoch else "step")
        step, epoch = float(record.get("step", 0)), float(record.get("epoch", 0))
        wall = float(record.get("wall", time.time()))
        with self._lock:
            for name, value in (record.get("values") or {}).items():
                try:
                    value = float(value)
                except (TypeError, ValueError):
                    continue  # text or arrays are not points on a curve
                key = f"{level}:{split}/{name}"
                buf = self._curves.get(key)
                if buf is None:
                    buf = self._curves[key] = SeriesBuffer()
                    label = f"{split}/{name}" + ("" if level == "step" else "@epoch")
                    self._meta[key] = {
                        "key": key,
                        "split": split,
                        "name": str(name),
                        "level": level,
                        "label": label,
                    }
                buf.append(step, epoch, wall, value)
            if split == "train" and level == "step" and "step" in record:
                self._throughput.observe(int(step), wall)
                self._progress_dirty = True
            self._dirty = self._snapshot_dirty = True

    def _feed_histogram(self, record: dict) -> None:
        name, source = str(record.get("name", "histogram")), record.get("source")
        if source and not name.startswith(f"{source}/"):  # the run logger's "weights" | "gradients"
            name = f"{source}/{name}"
        bands = distribution_bands(record.get("edges", []), record.get("counts", []))
        with self._lock:
            buf = self._dists.get(name)
            if buf is None:
                buf = self._dists[name] = SeriesBuffer(width=len(BASIS_POINTS), decimate="first")
            buf.append(
                float(record.get("step", 0)),
                float(record.get("epoch", 0)),
                float(record.get("wall", time.time())),
                bands,
            )
            self._dirty = self._snapshot_dirty = True

    def _feed_run(self, run_json: dict) -> None:
        if not self._named and run_json.get("name"):
            self.run_name = str(run_json["name"])
        if run_json.get("status") and self.status == "waiting":
            self.status = str(run_json["status"])
        info = {"id": str(run_json.get("id", ""))}
        for key in _HPARAM_KEYS:
            if isinstance(run_json.get(key), dict):
                info["hyperparameters"] = _compact(run_json[key])
                break
        self.run_info = info

    # ------------------------------------------------------------------ sending

    def _pump(self, snapshot_now: bool = False) -> None:
        with self._lock:
            if self._dirty:
                if self._gate.is_open():
                    self._send_delta()
                elif self._gate.wait() is not None:  # else the acknowledgement's handler sends
                    self._wake_in(self._gate.wait())
            if self._snapshot_dirty:
                due = self._last_snapshot + self.snapshot_interval - self._clock()
                if snapshot_now or due <= 0:
                    self._write_snapshot()
                else:
                    self._wake_in(due)
            if self._progress_dirty:
                due = self._last_progress + self._gate.interval - self._clock()
                if snapshot_now or due <= 0:
                    self._progress_dirty = False
                    self._last_progress = self._clock()
                    self.progress = _finite(self._throughput.summary())
                else:
                    self._wake_in(due)

    def _entries(self, full: bool):
        curves, dists, chunks = [], [], []
        for out, buffers, cap in (
            (curves, self._curves, self.max_points),
            (dists, self._dists, self.distribution_points),
        ):
            for key, buf in buffers.items():
                delta = buf.take_delta(cap, full)
                if delta is None:
                    continue
                offset, b, idx = delta
                meta = self._meta.get(key, {"key": key, "name": key, "width": buf.width})
                out.append({**meta, "n": buf.n, "b": b, "offset": offset, "count": int(idx.size)})
                chunks += buf.columns(idx)
        return curves, dists, chunks

    def _send_delta(self) -> None:
        full, self._need_full, self._dirty = self._need_full, False, False
        curves, dists, chunks = self._entries(full)
        if not (curves or dists or full):
            return
        seq = self._gate.sent()
        self.send(
            {"type": "delta", "seq": seq, "full": full, "curves": curves, "dists": dists}, [b"".join(chunks)]
        )

    def _write_snapshot(self) -> None:
        self._snapshot_dirty = False
        self._last_snapshot = self._clock()
        header: dict = {"curves": [], "dists": []}
        chunks: list[bytes] = []
        for section, buffers, cap in (
            ("curves", self._curves, self.snapshot_points),
            ("dists", self._dists, self.distribution_points),
        ):
            for key, buf in buffers.items():
                b, idx = buf.shown(cap)
                meta = self._meta.get(key, {"key": key, "name": key, "width": buf.width})
                header[section].append({**meta, "n": buf.n, "b": b, "offset": 0, "count": int(idx.size)})
                chunks += buf.columns(idx)
        self._snapshot = encode_snapshot(header, b"".join(chunks))

    def _wake_in(self, delay: float) -> None:
        """Pump again after `delay` seconds, on the kernel's event loop (once the running cell lets it run).

        Times only grow while a cell blocks the loop, so a timer is added only when it is due before the
        earliest one pending: a handful at most, however long training runs.
        """
        at = self._clock() + delay
        if self._no_event_loop or (self._timer_at is not None and self._timer_at <= at):
            return
        if kernel_messages.call_later(max(delay, 0.0), self._on_timer):
            self._timer_at = at
        else:
            self._no_event_loop = True  # plain Python: feeds and flush() do all the sending

    def _on_timer(self) -> None:
        self._timer_at = None
        self._pump()

    def _on_browser_message(self, _widget, content: dict, buffers) -> None:
        # JupyterLab may send widget messages to a kernel subshell: this can run on another thread than feed.
        kind = content.get("type") if isinstance(content, dict) else None
        if kind in ("ack", "ready", "plotly"):
            self.front_end_seen = True
        with self._lock:
            if kind == "ack":
                self._gate.acknowledged(int(content.get("seq", -1)))
            elif kind == "ready":  # a front end (re)built its copy from the snapshot: send it everything
                self._gate.reopen()
                self._need_full = self._dirty = True
        if kind == "plotly":  # a front end without the shared library (an isolated output frame)
            self.send({"type": "plotly_source"}, [assets.plotly_library_esm().encode()])
        self._pump()


def _flush_after_each_cell() -> None:
    """Send what every dashboard holds when a cell ends, so that a notebook saved then is complete."""
    if "IPython" not in sys.modules:
        return
    shell = sys.modules["IPython"].get_ipython()
    if shell is None or shell in _hooked_shells:
        return
    _hooked_shells.add(shell)
    shell.events.register("post_run_cell", _flush_live_dashboards)


def _flush_live_dashboards(*_) -> None:
    for dash in list(_live):
        if dash._dirty or dash._snapshot_dirty or dash._progress_dirty:
            dash.flush()


def _compact(params: dict, limit: int = 40) -> dict:
    """At most `limit` hyper-parameters, scalars only, text shortened: the header shows them, the snapshot keeps them."""
    out = {}
    for key, value in list(params.items())[:limit]:
        if isinstance(value, (bool, int, float)) or value is None:
            out[str(key)] = value if not isinstance(value, float) or math.isfinite(value) else str(value)
        else:
            out[str(key)] = str(value)[:80]
    return out


def _finite(info: dict) -> dict:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in info.items()}

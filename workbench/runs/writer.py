"""`RunLogger`: the callback that writes a fit into a run folder `runs/<run-id>/`.

What a run folder holds is described in `workbench.runs`. Per-step values
arrive from the trainer as device arrays whose steps may not have run yet;
the logger keeps them pending and writes them once `is_ready()` says they are
computed, so logging never makes training wait. At the end of an epoch and of
training, where waiting costs nothing, everything pending is written.
"""

from __future__ import annotations

import collections
import json
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np

from workbench.profiling import timing
from workbench.runs import histograms as hist_mod
from workbench.runs import provenance
from workbench.runs.events import EventWriter
from workbench.runs.location import create_run_folder, runs_dir
from workbench.runs.records import (
    host_floats,
    is_ready,
    json_lines,
    now_iso,
    number,
    to_host,
    write_json_atomic,
)
from workbench.training.callbacks import Callback

FORMAT = 1
PROFILE_FILES = {"steps": "profile/steps.jsonl", "compile": "profile/compiles.jsonl"}
STATUSES = ("running", "finished", "failed", "interrupted")


def _scalars(logs: dict) -> dict:
    return {k: v for k, v in (logs or {}).items() if np.ndim(v) == 0}


RUNNING_EVERY = 0.5  # seconds between records of the running epoch means during an epoch


class _Dispatch:
    """One dispatch's per-step losses and running metrics, still on the device."""

    __slots__ = ("epoch", "first", "n", "losses", "logs", "global_step")

    def __init__(self, epoch, first, n, losses, logs, global_step):
        self.epoch, self.first, self.n, self.losses, self.logs = epoch, first, n, losses, logs
        self.global_step = global_step

    def arrays(self) -> list:
        return ([] if self.losses is None else [self.losses]) + list(self.logs.values())


class RunLogger(Callback):
    """Write a fit into `runs/<run-id>/`: run.json, metrics.jsonl, histograms.jsonl, TensorBoard events
    and checkpoints.

    Args:
        root: the runs folder; `workbench.runs.runs_dir()` by default.
        run_name: a name for the run, part of its id (default: the model's name).
        run_dir: write into exactly this folder instead (continuing a run that is already there).
        histogram_freq: write weight and gradient histograms every this many epochs (0: never).
        histogram_steps: also write them every this many steps.
        hparams: the fit's hyper-parameters, recorded in run.json and in TensorBoard's HParams.
        data: the data's fingerprint (`workbench.runs.fingerprint(x, y)`), recorded in run.json.
        checkpoints: save the train state under `<run>/checkpoints` (two kept) when training ends, and at
            an epoch's end once `checkpoint_interval` seconds have passed since the last save (a save
            takes a noticeable fraction of a second, too much for every epoch of a small model).
        checkpoint_interval: seconds between checkpoints during training (0: every epoch).
        update_freq: as Keras' TensorBoard callback: "epoch" writes TensorBoard scalars per epoch; an
            int N also writes the batch-level ones (`batch_loss`, ...) every N steps. metrics.jsonl has
            every step's loss either way.

    `logger.listeners` is a list of callables, each called with every record as it
    is written (see `workbench.runs` for the records). A listener that raises is
    removed with a warning; training goes on.

    Gradient histograms are of the loss on the batch given to
    `set_gradient_batch(x, y)`, else on the last batch trained when the trainer
    exposes it (`model._last_batch = (stacked batches, valid count)`); with
    neither, only weight histograms are written.

    >>> from workbench.runs import RunLogger
    >>> logger = RunLogger(run_name="baseline", histogram_freq=1)
    >>> model.fit(x, y, epochs=3, callbacks=[logger])  # doctest: +SKIP
    >>> logger.path  # doctest: +SKIP
    PosixPath('.../runs/20250131-120000-baseline-3f2a')
    """

    def __init__(
        self,
        root=None,
        run_name: str | None = None,
        run_dir=None,
        histogram_freq: int = 0,
        histogram_steps: int | None = None,
        hparams: dict | None = None,
        data: dict | None = None,
        checkpoints: bool = True,
        checkpoint_interval: float = 300.0,
        update_freq="epoch",
    ):
        super().__init__()
        if not isinstance(histogram_freq, int) or isinstance(histogram_freq, bool) or histogram_freq < 0:
            raise ValueError(f"histogram_freq must be a whole number of epochs >= 0, got {histogram_freq!r}.")
        if histogram_steps is not None and (not isinstance(histogram_steps, int) or histogram_steps < 1):
            raise ValueError(
                f"histogram_steps must be None or a positive number of steps, got {histogram_steps!r}."
            )
        if hparams is not None and not isinstance(hparams, dict):
            raise TypeError(f"hparams must be a dict of name -> value, got {type(hparams).__name__}.")
        self.root, self.run_name, self.run_dir = root, run_name, run_dir
        self.histogram_freq, self.histogram_steps = histogram_freq, histogram_steps
        self.hparams, self.data, self.checkpoints = dict(hparams or {}), data, checkpoints
        self.listeners: list[Callable[[dict], Any]] = []
        self.path: Path | None = None
        self.run_id: str | None = None
        self._run: dict = {}
        self._files: dict = {}
        self._events: EventWriter | None = None
        self._pending: collections.deque = collections.deque()
        self._pending_hist: collections.deque = collections.deque()
        self._gradient_batch = None
        self._gradients = None
        self._checkpointer = None
        self.checkpoint_interval = float(checkpoint_interval)
        if update_freq != "epoch" and (not isinstance(update_freq, int) or isinstance(update_freq, bool)
                                       or update_freq < 1):
            raise ValueError(f"update_freq must be 'epoch' or a positive number of steps, got {update_freq!r}.")
        self.update_freq = update_freq
        self._last_save = time.monotonic()
        self._saved_epoch = None
        self._last_running = -float("inf")
        self._open = False
        self._epoch = 0
        self._step = 0
        self._seen_losses = None
        self._hist_mark = 0
        self._warned_no_batch = False

    # ------------------------------------------------------------------ public
    @property
    def run_json(self) -> dict:
        """A copy of what run.json holds now (empty before training starts)."""
        return json.loads(json.dumps(self._run))

    def set_gradient_batch(self, x, y, sample_weight=None) -> None:
        """Compute gradient histograms on this batch (kept on the device) rather than the last one trained."""
        self._gradient_batch = jax.device_put({"x": x, "y": y, "sample_weight": sample_weight})

    def mark(self, status: str, error: str | None = None) -> None:
        """Set the run's status ("running", "finished", "failed" or "interrupted") and record it now."""
        if status not in STATUSES:
            raise ValueError(f"A run's status is one of {list(STATUSES)}, got {status!r}.")
        self._run["status"] = status
        self._run["ended"] = None if status == "running" else now_iso()
        if error is not None:
            self._run["error"] = error
        if self.path is not None:
            self._write_run_json()
        record = {
            "kind": "status",
            "status": status,
            "wall": round(time.time(), 3),
            "step": self._step,
            "epoch": self._epoch,
        }
        if error is not None:
            record["error"] = error
        self._emit([record])

    # ------------------------------------------------------------------ hooks
    def on_train_begin(self, logs=None):
        model = self.model
        if self.path is None:
            if self.run_dir is not None:
                self.path = Path(self.run_dir).expanduser().absolute()
                self.path.mkdir(parents=True, exist_ok=True)
            else:
                root = Path(self.root).expanduser().absolute() if self.root is not None else runs_dir()
                self.path = create_run_folder(root, self.run_name or getattr(model, "name", None) or "run")
            self.run_id = self.path.name
        previous = self._previous_run_json()
        position = getattr(model, "_fit_position", None) or {}
        self._step = int(position.get("global_step", self._step))
        self._epoch = int(position.get("epoch", 0))
        self._run = {
            "format": FORMAT,
            "id": self.run_id,
            "name": self.run_name or previous.get("name") or getattr(model, "name", None),
            "status": "running",
            "created": previous.get("created") or now_iso(),
            "ended": None,
            "error": None,
            "model": provenance.describe_model(model),
            "compile": provenance.describe_compile(model),
            "hparams": provenance.describe_hparams(model, self.hparams, self.params),
            "environment": provenance.environment(),
            "data": provenance.jsonable(self.data),
            "summary": previous.get("summary") or {"epochs": 0, "steps": self._step, "train": {}, "val": {}},
            "files": {
                "metrics": "metrics.jsonl",
                "histograms": "histograms.jsonl",
                "tensorboard": ["train", "validation"],
                "checkpoints": "checkpoints" if self.checkpoints else None,
                "profile": "profile",
            },
        }
        (self.path / "profile").mkdir(exist_ok=True)
        self._files = {
            name: open(self.path / name, "a", encoding="utf-8")
            for name in ("metrics.jsonl", "histograms.jsonl", *PROFILE_FILES.values())
        }
        self._events = EventWriter(self.path)
        self._open = True
        self._hist_mark = self._step // self.histogram_steps if self.histogram_steps else 0
        self._seen_losses = getattr(model, "_step_losses", None)  # a previous fit's last dispatch
        self._write_run_json()
        self._emit([{"kind": "run", "run_json": self.run_json}])
        self._events.session_start(self._run["hparams"], group=self.run_id)
        self.mark("running")

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._drain(block=False)

    def on_train_batch_begin(self, batch, logs=None):
        self._drain(block=False)

    def on_train_batch_end(self, batch, logs=None):
        model = self.model
        step_losses = getattr(model, "_step_losses", None)
        position = getattr(model, "_fit_position", None) or {}
        if step_losses is not None and step_losses is not self._seen_losses:
            self._seen_losses = step_losses
            losses, n, first = step_losses
            global_step = first + n
        else:  # a trainer that does not expose per-step losses: one record per call
            losses, n = None, 0
            global_step = int(position.get("global_step", self._step + 1))
            first = global_step - 1
        self._step = global_step
        # The running epoch means travel as several device scalars, each costing a transfer to read: they
        # are kept with an epoch's last step and otherwise at most every RUNNING_EVERY seconds (per-step
        # losses are kept for every step).
        now = time.monotonic()
        running = {}
        steps = (getattr(self, "params", None) or {}).get("steps")
        ends_epoch = bool(steps) and int(position.get("step", 0)) >= steps
        if losses is None or ends_epoch or now - self._last_running >= RUNNING_EVERY:
            self._last_running = now
            running = _scalars(logs)
        self._pending.append(_Dispatch(self._epoch, first, n, losses, running, global_step))
        if self.histogram_steps and global_step // self.histogram_steps > self._hist_mark:
            self._hist_mark = global_step // self.histogram_steps
            self._start_histograms()
        self._drain(block=False)

    def on_epoch_end(self, epoch, logs=None):
        self._epoch = epoch
        self._drain(block=True)
        position = getattr(self.model, "_fit_position", None) or {}
        self._step = int(position.get("global_step", self._step))
        logs = {k: host_floats(v)[0] for k, v in to_host(_scalars(logs)).items()}
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        if "learning_rate" not in train:
            rate = self._learning_rate()
            if rate is not None:
                train["learning_rate"] = rate
        wall = round(time.time(), 3)
        records = [
            self._scalar_record("epoch", split, self._step, epoch, wall, values)
            for split, values in (("train", train), ("val", val))
            if values
        ]
        for record in records:
            for name, value in record["values"].items():
                self._events.scalar(record["split"], f"epoch_{name}", float(value), epoch, wall)
        self._write("metrics.jsonl", records)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._start_histograms()
        self._drain(block=True)
        summary = self._run["summary"]
        summary.update(epochs=summary.get("epochs", 0) + 1, steps=self._step, last_epoch=epoch)
        summary["train"] = {k: number(v) for k, v in train.items()}
        summary["val"] = {k: number(v) for k, v in val.items()}
        self._write_run_json()
        if self.checkpoints and time.monotonic() - self._last_save >= self.checkpoint_interval:
            self._save_checkpoint(logs)
        self._events.flush()

    def on_train_end(self, logs=None):
        self._drain(block=True)
        if self.checkpoints and self._saved_epoch != self._epoch:
            self._save_checkpoint(logs or {})
        self.mark("finished")

    def on_fit_exit(self):
        if not self._open:
            return
        error = sys.exc_info()[1]  # fit calls this from its `finally`, while the error propagates
        try:
            try:
                self._drain(block=True)
            except Exception as e:  # noqa: BLE001 - the device may be what failed; keep what was written
                warnings.warn(
                    f"Run {self.run_id}: values of the last steps could not be read ({e}); "
                    "they are not in the run.",
                    stacklevel=2,
                )
                self._pending.clear()
                self._pending_hist.clear()
            if self._run.get("status") == "running":  # training neither finished nor was marked
                self.mark("failed", None if error is None else f"{type(error).__name__}: {error}")
        finally:
            self._close()

    # ------------------------------------------------------------------ internals
    def _previous_run_json(self) -> dict:
        """The run.json already in the folder (a continued run), or {}."""
        try:
            with open(self.path / "run.json", encoding="utf-8") as f:
                data = json.load(f)
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def _learning_rate(self) -> float | None:
        optimizer = getattr(self.model, "optimizer", None)
        try:
            rate = optimizer.learning_rate
            return None if callable(rate) else host_floats(to_host(rate))[0]
        except Exception:  # noqa: BLE001 - an optimizer without a readable rate: no learning_rate scalar
            return None

    def _scalar_record(self, kind, split, step, epoch, wall, values) -> dict:
        return {
            "kind": kind,
            "step": int(step),
            "epoch": int(epoch),
            "wall": wall,
            "split": split,
            "values": {k: number(v) for k, v in values.items()},
        }

    def _drain(self, block: bool) -> None:
        """Write the pending values that are computed (all of them when `block`), oldest first."""
        records = []
        while self._pending and (block or is_ready(self._pending[0].arrays())):
            records.extend(self._dispatch_records(self._pending.popleft()))
        self._write("metrics.jsonl", records)
        records = []
        while self._pending_hist and (block or is_ready(self._pending_hist[0][-1])):
            source, step, epoch, summaries = self._pending_hist.popleft()
            records.extend(hist_mod.to_records(to_host(summaries), source, step, epoch, time.time()))
        for record in records:
            self._events.histogram(record, record["step"] if self.histogram_steps else record["epoch"])
        self._write("histograms.jsonl", records)

    def _dispatch_records(self, d: _Dispatch) -> list[dict]:
        wall = round(time.time(), 3)
        host_losses, host_logs = to_host((d.losses, d.logs))
        running = {k: host_floats(v)[0] for k, v in host_logs.items()}
        if d.losses is None:
            values = [running]
        else:
            losses = host_floats(host_losses)[: d.n]
            values = [{"batch_loss": v} for v in losses]
            if values:
                values[-1].update(running)  # the epoch-to-date means, as the batch logs give them
        records = []
        every = self.update_freq if isinstance(self.update_freq, int) else 0
        for i, vals in enumerate(values):
            step = (d.first + i + 1) if d.losses is not None else d.global_step
            records.append(self._scalar_record("batch", "train", step, d.epoch, wall, vals))
            if not every or step % every:
                continue
            for name, value in vals.items():
                if name != "loss":  # `batch_loss` is the step's own loss; "loss" is the epoch's mean so far
                    tag = name if name == "batch_loss" else f"batch_{name}"
                    self._events.scalar("train", tag, value, step, wall)
        return records

    def _start_histograms(self) -> None:
        """Start computing weight (and gradient) histograms on the device; they are written when ready."""
        variables = self.model.get_variables()
        self._pending_hist.append(("weights", self._step, self._epoch, hist_mod.weight_summaries(variables)))
        batch, index = self._gradient_batch, None
        if batch is None and getattr(self.model, "_last_batch", None) is not None:
            batch, n = self.model._last_batch
            index = n - 1
        if batch is None:
            if not self._warned_no_batch:
                self._warned_no_batch = True
                warnings.warn(
                    f"Run {self.run_id}: no batch to compute gradient histograms on; writing weight "
                    "histograms only. Call set_gradient_batch(x, y) on the RunLogger.",
                    stacklevel=3,
                )
            return
        if getattr(self.model, "_compile_spec", None) is None:
            return
        if self._gradients is None:
            self._gradients = hist_mod.GradientSummaries(self.model)
        self._pending_hist.append(
            ("gradients", self._step, self._epoch, self._gradients(variables, batch, index))
        )

    def on_profile(self, record: dict):
        if self._open:
            name = PROFILE_FILES.get(record.get("kind"))
            if name is not None:
                self._write(name, [record])

    def _save_checkpoint(self, epoch_logs: dict) -> None:
        with timing.current(self.model).measure("checkpoint"):
            self._save_checkpoint_now(epoch_logs)

    def _save_checkpoint_now(self, epoch_logs: dict) -> None:
        self._last_save = time.monotonic()
        self._saved_epoch = self._epoch
        from workbench.training.checkpoint_callbacks import _history_of, _record
        from workbench.training.checkpoints import TrainCheckpointer, variable_order

        model = self.model
        if getattr(model, "_train_state", None) is None or getattr(model, "_fit_position", None) is None:
            return
        if self._checkpointer is None:
            self._checkpointer = TrainCheckpointer(self.path / "checkpoints", max_to_keep=2)
        record = {
            **_record(model, _history_of(model, epoch_logs)),
            "run": self.run_id,
            "logs": {k: float(v) for k, v in epoch_logs.items()},
        }
        self._checkpointer.save(model._train_state, record, variable_order(model))

    def _write(self, name: str, records: list[dict]) -> None:
        if not records:
            return
        f = self._files.get(name)
        if f is not None:
            f.write(json_lines(records))
            f.flush()
        self._emit(records)

    def _emit(self, records: list[dict]) -> None:
        for listener in list(self.listeners):
            # A listener that is a dashboard's `feed` takes the whole list at once, as arrays.
            many = getattr(getattr(listener, "__self__", None), "feed_many", None) \
                if getattr(listener, "__name__", None) == "feed" else None
            for record in [records] if many is not None else records:
                try:
                    many(record) if many is not None else listener(record)
                except Exception as e:  # noqa: BLE001 - a broken chart must not stop training
                    warnings.warn(
                        f"Run listener {listener!r} raised {type(e).__name__}: {e}; it is removed "
                        "and gets no more records.",
                        stacklevel=3,
                    )
                    if listener in self.listeners:
                        self.listeners.remove(listener)
                    break

    def _write_run_json(self) -> None:
        write_json_atomic(self.path / "run.json", self._run)

    def _close(self) -> None:
        self._open = False
        if self._checkpointer is not None:
            self._checkpointer.wait()
            self._checkpointer.close()
            self._checkpointer = None
        if self._events is not None:
            self._events.session_end(self._run.get("status", "failed"))
            self._events.close()
            self._events = None
        for f in self._files.values():
            f.close()
        self._files = {}

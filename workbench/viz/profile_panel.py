"""ProfilePanel: where a fit's time and memory went, in one notebook widget.

The panel reads what `workbench.profiling` records, from a run folder's `profile/` or from a model
after `fit` (`model.fit_profile`), and shows

1. per-layer costs: forward and forward+backward FLOPs per layer (`layer_costs.json`), and each
   layer's device time when a trace was captured (`trace/trace_summary.json`);
2. memory: the train step's arguments, outputs, temporaries, aliased bytes and peak estimate
   (`memory.json`), and the device's bytes in use at the end of each epoch (`steps.jsonl`);
3. step time: one stacked bar per epoch, one segment per category (`steps.jsonl`);
4. the recompilation log (`compiles.jsonl`), functions compiled 3 times or more highlighted;
5. a trace's most expensive operations, with a Capture trace button for a model given data.

Run folders are only read, except that costs the panel computes for a model go into the model's
run folder. A section without data says so in one line (`missing`); a file that cannot be read,
or a last line still being written, is named in `notes` and never raises.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import anywidget
import jax
import traitlets

from workbench.profiling.timing import REPEATED_COMPILES
from workbench.runs import Run, RunError, load_run
from workbench.runs.reader import read_jsonl
from workbench.training.callbacks import Callback
from workbench.viz import assets, kernel_messages
from workbench.viz.plotly_library import shared_library

_MAX_COMPILES = 200  # rows of the recompilation log sent to the browser (the latest); counts cover all
_DEFAULT_BATCH = 32  # fit's default batch size: the batch of the memory analysis and the trace


@functools.cache
def _esm() -> str:
    return "\n".join(assets.read(name) for name in ("plotly_client.js", "profile_panel.js"))


class ProfilePanel(anywidget.AnyWidget):
    """Where training's time and memory go: per-layer FLOPs and device time, the train step's memory,
    step time per epoch, the recompilation log and a trace's top operations, in one widget.

        panel = workbench.viz.ProfilePanel(model, sample_batch=x[:8], x=x, y=y)
        panel                                  # a cell's last expression shows it
        workbench.viz.ProfilePanel("20250101-120000-mlp-3f2a")    # a run, read from its folder

    Args:
        target: a run (its id, its folder, or a `workbench.runs.Run`), or a model, usually after `fit`.
        sample_batch: for a model, inputs shaped like a batch: the panel computes `layer_costs` on them.
        x, y: for a model, training data: the panel computes `train_step_memory` on a batch of them, and
            the Capture trace button trains `trace_steps` steps on them under the profiler (this
            changes the model's weights).
        trace_steps: the steps a captured trace holds.

    What the panel computes is also written into the model's run folder (`profile/layer_costs.json`,
    `profile/memory.json`, `profile/trace/`). `refresh()` reads everything again; `callback()` gives
    a `fit` callback that shows a fit's step times and compilations as they are recorded.

    Synced state, for reading from Python: `steps` and `compiles` (fit's profile records, without
    their "kind"), `repeated` (functions compiled 3 times or more), `layer_costs`
    (`LayerCosts.to_dict()`), `memory` (`train_step_memory`'s dict), `trace_summary` (a trace's
    `top_ops`, `by_layer`, `steps`, `wall_s`, `total_us`, `planes`, `notes`), `missing` (chart ->
    the line shown instead of it: "layer_costs", "layer_time", "step_memory", "device_memory",
    "steps", "compiles", "trace"), `notes` (what could not be read), and `trace_hint` (why Capture
    trace is unavailable; empty when it is).
    """

    _esm = traitlets.Unicode().tag(sync=True)
    _css = traitlets.Unicode().tag(sync=True)

    title = traitlets.Unicode("").tag(sync=True)
    source = traitlets.Unicode("").tag(sync=True)
    steps = traitlets.List(traitlets.Dict()).tag(sync=True)
    compiles = traitlets.List(traitlets.Dict()).tag(sync=True)
    compile_count = traitlets.Int(0).tag(sync=True)
    repeated = traitlets.Dict().tag(sync=True)
    layer_costs = traitlets.Dict().tag(sync=True)
    memory = traitlets.Dict().tag(sync=True)
    trace_summary = traitlets.Dict().tag(sync=True)
    missing = traitlets.Dict().tag(sync=True)
    notes = traitlets.List(traitlets.Unicode()).tag(sync=True)
    trace_hint = traitlets.Unicode("").tag(sync=True)
    tracing = traitlets.Bool(False).tag(sync=True)
    trace_steps = traitlets.Int(10).tag(sync=True)

    sync_interval = 0.5  # seconds between two updates of the browser while a fit feeds records, at least

    def __init__(self, target, *, sample_batch=None, x=None, y=None, trace_steps: int = 10, **kwargs):
        model, run = _resolve(target)
        if model is None and any(v is not None for v in (sample_batch, x, y)):
            given = ", ".join(
                n for n, v in (("sample_batch", sample_batch), ("x", x), ("y", y)) if v is not None
            )
            raise TypeError(
                f"ProfilePanel: {given} are for a model target, whose costs the panel computes; a run folder is "
                f"only read. Got the run {run.id!r}: pass the model instead, or leave {given} out."
            )
        if y is not None and x is None:
            raise ValueError("ProfilePanel: y was given without x; pass the inputs as x= as well.")
        if isinstance(trace_steps, bool) or not isinstance(trace_steps, int) or trace_steps < 1:
            raise ValueError(f"trace_steps must be a whole number of steps, at least 1; got {trace_steps!r}.")
        library = shared_library()  # before this widget's comm opens, so front ends create it first
        super().__init__(
            _esm=_esm(), _css=assets.read("dashboard.css") + assets.read("profile_panel.css"), **kwargs
        )
        self._library = library
        self._model, self._run = model, run
        self._x, self._y = x, y
        self.trace_steps = trace_steps
        self._lock = threading.RLock()
        self._steps: list[dict] = []
        self._compiles: list[dict] = []
        self._fit_profile = None  # the model's fit_profile shown, kept while a trace's own fits replace it
        self._trace_profiles: list[dict] = []
        self._computed: dict[str, dict | str] = {}  # "layer_costs" / "memory" -> the result, or why it failed
        self._captured: dict | None = None
        self._clock = time.monotonic
        self._last_sync = -float("inf")
        self._timer_due = False
        self._dirty = False
        self._live = False
        self.on_msg(self._on_browser_message)
        if model is not None:
            self._compute(sample_batch, x, y)
        self.refresh()

    # ------------------------------------------------------------------ public

    def refresh(self) -> None:
        """Read everything again: the model's last fit or the run's files, and what was computed or traced."""
        notes: list[str] = []
        run_path = self._run_path()
        run = None
        if run_path is not None:
            try:
                run = load_run(run_path)
            except RunError as e:
                notes.append(f"{run_path}: {e.problem}")
        if run is not None:
            notes += [f"run {run.id}: {note}" for note in run.notes]
        profile = run.path / "profile" if run is not None else None
        if self._model is not None and self._model_profile() is not None:
            fit = self._model_profile()
            steps, compiles = list(fit.get("steps", [])), list(fit.get("compiles", []))
        elif profile is not None:
            steps = _read_records(profile / "steps.jsonl", "steps", notes)
            compiles = _read_records(profile / "compiles.jsonl", "compile", notes)
        else:
            steps, compiles = [], []
        found = {}
        for name, file in (("layer_costs", "layer_costs.json"), ("memory", "memory.json")):
            computed = self._computed.get(name)
            found[name] = computed if isinstance(computed, dict) else _read_json(profile, file, notes)
        trace = self._captured or _read_json(profile, "trace/trace_summary.json", notes)
        with self._lock:
            self._steps, self._compiles = steps, compiles
            self._live = False
        with self.hold_sync():
            self.title = (
                self._model.name
                if self._model is not None
                else ((run.info.get("name") if run is not None else None) or self._run.id)
            )
            self.source = self._describe(run)
            self.layer_costs = found["layer_costs"] or {}
            self.memory = found["memory"] or {}
            self.trace_summary = _trace_view(trace) if trace else {}
            self.trace_hint = self._trace_hint()
            self.notes = notes
            self._sync_records()

    def callback(self) -> ProfileCallback:
        """A `fit` callback that shows the fit's step times and compilations here as `fit` records them."""
        return ProfileCallback(self)

    def add_record(self, record: dict) -> None:
        """Take one of fit's profile records (`{"kind": "steps", ...}` or `{"kind": "compile", ...}`).

        It is appended and returns; the browser is updated at most every `sync_interval` seconds.
        """
        kind = record.get("kind") if isinstance(record, dict) else None
        with self._lock:
            if kind == "steps":
                self._steps.append(record)
            elif kind == "compile":
                self._compiles.append(record)
            else:
                return
            self._dirty = True
        due = self._last_sync + self.sync_interval - self._clock()
        if due <= 0:
            self.flush()
        elif not self._timer_due:
            # While a cell runs fit the event loop waits; the callback's flush() at the fit's end sends the rest.
            self._timer_due = kernel_messages.call_later(due, self._on_timer)

    def flush(self) -> None:
        """Send the records taken so far to the browser now."""
        with self._lock, self.hold_sync():
            self._sync_records()

    def capture_trace(self):
        """Train the model `trace_steps` steps on x (and y) under the profiler and show the trace.

        The trace goes into the model's run folder (`profile/trace/`), else into a new run folder;
        the model's weights change by those steps. Returns the `TraceSummary`.
        """
        hint = self._trace_hint()
        if hint:
            raise RuntimeError(f"Cannot capture a trace: {hint}")
        from workbench.profiling import trace

        model = self._model
        shown = self._model_profile()
        self.tracing = True
        try:
            summary = trace(
                model,
                steps=self.trace_steps,
                x=self._x,
                y=self._y,
                batch_size=self._batch() if _is_arrays(self._x) else None,
                run=self._run_path(),
            )
        finally:
            self.tracing = False
            # trace() trains through fit, whose profile replaces the model's: the panel keeps showing the user's.
            if getattr(model, "fit_profile", None) is not shown:
                self._trace_profiles.append(model.fit_profile)
        self._captured = summary.to_dict()
        self.refresh()
        return summary

    # ------------------------------------------------------------------ computing

    def _compute(self, sample_batch, x, y) -> None:
        """Layer costs and the train step's memory of the model, written into its run folder."""
        from workbench.profiling import layer_costs, train_step_memory

        run_path = self._run_path()
        jobs = []
        if sample_batch is not None:
            jobs.append(("layer_costs", lambda: layer_costs(self._model, sample_batch).to_dict()))
        if x is not None:
            batch = self._batch()
            jobs.append(("memory", lambda: train_step_memory(self._model, _head(x, batch), _head(y, batch))))
        for name, job in jobs:
            try:
                result = job()
            except (ValueError, TypeError, RuntimeError) as e:
                self._computed[name] = str(e)
                continue
            self._computed[name] = result
            if run_path is not None:
                _write_json(run_path / "profile" / f"{name}.json", result)

    def _batch(self) -> int:
        """The batch size of the model's last fit, as its run recorded it; else fit's default."""
        path = self._run_path()
        try:
            hparams = load_run(path).info.get("hparams") if path is not None else None
        except RunError:
            hparams = None
        size = hparams.get("batch_size") if isinstance(hparams, dict) else None
        return size if isinstance(size, int) and size > 0 else _DEFAULT_BATCH

    # ------------------------------------------------------------------ state

    def _run_path(self) -> Path | None:
        if self._model is None:
            return self._run.path
        path = getattr(self._model, "_run_path", None)
        return Path(path) if path is not None and Path(path).is_dir() else None

    def _model_profile(self) -> dict | None:
        current = getattr(self._model, "fit_profile", None)
        if isinstance(current, dict) and not any(current is p for p in self._trace_profiles):
            self._fit_profile = current
        return self._fit_profile

    def _describe(self, run: Run | None) -> str:
        if self._model is None:
            return f"run {self._run.id} · {self._run.path}"
        where = f"run {run.id}" if run is not None else "no run folder"
        return f"model '{self._model.name}' ({type(self._model).__name__}) · {where}"

    def _trace_hint(self) -> str:
        if self._model is None:
            return (
                "traces are captured from a model: open the panel on the model, with x= (and y=) to train on."
            )
        if not getattr(self._model, "compiled", False):
            return f"model '{self._model.name}' is not compiled: call model.compile(optimizer=..., loss=...) first."
        if self._x is None:
            return "pass x= (and y=) to ProfilePanel: a trace records training steps on them."
        return ""

    def _sync_records(self) -> None:
        """Set the traits that follow fit's records (steps, compiles, their notes) from the Python lists."""
        with self._lock:
            steps = [_without_kind(r) for r in self._steps]
            compiles = [_without_kind(r) for r in self._compiles]
            self._dirty = False
            self._last_sync = self._clock()
        counts: dict[str, int] = {}
        for r in compiles:
            counts[str(r.get("function"))] = counts.get(str(r.get("function")), 0) + 1
        self.steps = steps
        self.compiles = compiles[-_MAX_COMPILES:]
        self.compile_count = len(compiles)
        self.repeated = {f: n for f, n in counts.items() if n >= REPEATED_COMPILES}
        self.missing = self._missing(steps, compiles)

    def _missing(self, steps: list[dict], compiles: list[dict]) -> dict[str, str]:
        """The line each chart without data shows instead."""
        model, lacks = self._model is not None, "this run has no profile/"
        out = {}
        failed = self._computed.get("layer_costs")
        if isinstance(failed, str):
            out["layer_costs"] = f"No per-layer FLOPs: {failed}"
        elif not self.layer_costs:
            out["layer_costs"] = "No per-layer FLOPs: " + (
                "pass sample_batch= (a few inputs) to compute them."
                if model
                else f"{lacks}layer_costs.json (the panel of its model, given sample_batch=, writes one)."
            )
        failed = self._computed.get("memory")
        if isinstance(failed, str):
            out["step_memory"] = f"No train step memory: {failed}"
        elif not self.memory:
            out["step_memory"] = "No train step memory: " + (
                "pass x= and y= to compute it."
                if model
                else f"{lacks}memory.json (the panel of its model, given x= and y=, writes one)."
            )
        if not (self.trace_summary or {}).get("by_layer"):
            out["layer_time"] = "No device time per layer: " + (
                "the trace attributes no operation to a layer."
                if self.trace_summary
                else "no trace captured yet."
            )
        if not any(
            isinstance(r.get("memory"), dict) and r["memory"].get("bytes_in_use") is not None for r in steps
        ):
            out["device_memory"] = "No device memory per epoch: " + (
                "the device does not report bytes in use (CPUs do not; GPUs and TPUs do)."
                if steps
                else "no epochs recorded."
            )
        if not steps:
            if self._live or (model and self._model_profile() is not None):
                out["steps"] = (
                    "No step times yet: they are recorded at the end of each epoch, when step timing is on."
                )
            elif model:
                out["steps"] = "No step times: the model has not been fit yet (pass panel.callback() to fit)."
            else:
                out["steps"] = f"No step times: {lacks}steps.jsonl."
        if not compiles:
            out["compiles"] = "No compilations recorded" + (
                "." if model or self._live else f": {lacks}compiles.jsonl."
            )
        if not self.trace_summary:
            out["trace"] = "No trace yet." + ("" if self.trace_hint else " Capture trace records one.")
        return out

    def _begin_fit(self) -> None:
        """A fit this panel watches starts: its records replace those shown."""
        with self._lock:
            self._steps, self._compiles = [], []
            self._live = True
        self.flush()

    def _on_timer(self) -> None:
        self._timer_due = False
        if self._dirty:
            self.flush()

    def _on_browser_message(self, _widget, content: dict, buffers) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "refresh":
            self.refresh()
        elif kind == "capture_trace":
            try:
                self.capture_trace()
            except Exception as e:  # shown in the panel: a button has nowhere else to report to
                self.notes = [*self.notes, f"Capture trace failed: {type(e).__name__}: {e}"]
        elif kind == "plotly":  # a front end without the shared library (an isolated output frame)
            self.send({"type": "plotly_source"}, [assets.plotly_library_esm().encode()])


class ProfileCallback(Callback):
    """Shows a fit's profile records in a `ProfilePanel` as `fit` makes them: `panel.callback()` gives one.

    When training starts the panel's step times and compilations are cleared; each record then is
    appended without waiting for anything (the browser is updated at most every half second, and
    when the fit ends). `panel.refresh()` goes back to reading the panel's target.

        model.fit(x, y, epochs=5, callbacks=[panel.callback()])
    """

    def __init__(self, panel: ProfilePanel):
        super().__init__()
        self.panel = panel

    def on_train_begin(self, logs=None):
        self.panel._begin_fit()

    def on_profile(self, record: dict):
        self.panel.add_record(record)

    def on_fit_exit(self):
        self.panel.flush()


# ---------------------------------------------------------------------- reading and writing


def _resolve(target) -> tuple[object | None, Run | None]:
    """(model, None) for a model, (None, run) for a run id, folder or Run; TypeError for anything else."""
    from workbench.core.layer import Layer
    from workbench.core.model import Model

    if isinstance(target, Model):
        return target, None
    if isinstance(target, Run):
        return None, target
    if isinstance(target, (str, os.PathLike)):
        return None, load_run(target)
    expected = (
        "ProfilePanel shows a run (its id, its folder path, or a workbench.runs.Run) or a model "
        "(usually after fit)"
    )
    if isinstance(target, Layer):
        raise TypeError(
            f"{expected}; got the layer '{target.name}' ({type(target).__name__}). Put it in a "
            "model and fit that."
        )
    raise TypeError(f"{expected}; got {type(target).__name__}: {target!r:.60}.")


def _read_records(path: Path, kind: str, notes: list[str]) -> list[dict]:
    """The records of `kind` in a profile JSON-lines file; a missing file has none, a cut last line is left out."""
    try:
        records, problems = read_jsonl(path)
    except RunError as e:
        notes.append(f"profile/{path.name}: {e.problem}")
        return []
    notes += [f"profile/{p}" for p in problems]
    return [r for r in records if r.get("kind", kind) == kind]


def _read_json(profile: Path | None, name: str, notes: list[str]) -> dict | None:
    """`profile/<name>` as a dict; None when it is missing, and a note when it cannot be read."""
    if profile is None:
        return None
    path = profile / name
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        notes.append(f"profile/{name}: cannot be read ({getattr(e, 'strerror', None) or e}).")
        return None
    except ValueError as e:
        notes.append(
            f"profile/{name}: is not valid JSON ({e}), so it is left out; it may still be being written."
        )
        return None
    if not isinstance(data, dict):
        notes.append(f"profile/{name}: holds a {type(data).__name__}, not a JSON object, so it is left out.")
        return None
    return data


def _write_json(path: Path, data: dict) -> None:
    """Replace `path` atomically: readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _trace_view(summary: dict) -> dict:
    """What the panel shows of a `TraceSummary.to_dict()`: the top ops, time per layer and totals."""
    keys = ("path", "top_ops", "by_layer", "steps", "wall_s", "total_us", "planes", "notes")
    return {k: summary.get(k) for k in keys}


def _without_kind(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "kind"}


def _is_arrays(tree) -> bool:
    leaves = jax.tree_util.tree_leaves(tree)
    return bool(leaves) and all(hasattr(leaf, "shape") and len(leaf.shape) >= 1 for leaf in leaves)


def _head(tree, n: int):
    """The first `n` rows of every array in `tree` (None stays None)."""
    return jax.tree_util.tree_map(lambda a: a[:n] if getattr(a, "ndim", 0) >= 1 else a, tree)

"""RunComparison: runs read back from their folders, side by side in one widget.

`compare(runs)` opens each run folder for reading only (through `workbench.runs`) and shows

- the epoch-level train and val curves of every run, one chart per metric, one color per run;
- a table: one row per run (id, name, status, hyper-parameters, final metrics);
- parallel coordinates: one axis per hyper-parameter that differs between the runs, and one for
  the chosen final metric (`metric`), one line per run, colored by that metric.

A run that cannot be read, or only in part, is named in `notes` (shown under the table) and
never raises. `refresh()` reads everything again, so runs still being written show their new
epochs. The curves travel as one binary blob in the format of `series.py`, so NaN and infinite
values arrive as they are.
"""

from __future__ import annotations

import functools
import json
import math
import os
from pathlib import Path

import anywidget
import numpy as np
import traitlets

from workbench.runs import RunError, list_runs, load_run, runs_dir
from workbench.runs import compare as compare_runs
from workbench.viz import assets
from workbench.viz.plotly_library import shared_library
from workbench.viz.series import encode_snapshot

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
_RUN_COLUMNS = ("id", "name", "status")
_LOG_RATIO = 100.0  # a positive axis spanning this factor or more is drawn on a log scale
_MAX_TICKS = 6

_CSS = """
.wb-cmp-bar { display: flex; align-items: center; gap: 12px; flex-wrap: wrap; margin-bottom: 6px; }
.wb-cmp-bar button { padding: 1px 10px; cursor: pointer; }
.wb-cmp-key { color: var(--jp-ui-font-color2, #666); font-size: 11px; }
.wb-cmp-section { font-weight: 600; margin: 10px 0 4px; }
.wb-cmp-scroll { overflow-x: auto; max-height: 360px; overflow-y: auto; }
.wb-cmp-table { border-collapse: collapse; font-variant-numeric: tabular-nums; white-space: nowrap; }
.wb-cmp-table th, .wb-cmp-table td {
  padding: 2px 8px; border-bottom: 1px solid var(--jp-border-color2, #e0e0e0); text-align: left;
}
.wb-cmp-table th { position: sticky; top: 0; background: var(--jp-layout-color1, #fff); font-weight: 600; }
.wb-cmp-table td.wb-cmp-num { text-align: right; }
.wb-cmp-table th.wb-cmp-metric { color: var(--jp-ui-font-color2, #555); cursor: pointer; }
.wb-cmp-table .wb-cmp-chosen { background: var(--jp-layout-color2, #f3f3f3); }
.wb-cmp-swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; }
.wb-cmp-notes { margin: 6px 0; padding-left: 18px; color: #8a4b00; }
.wb-cmp-parallel svg { display: block; width: 100%; height: auto; }
.wb-cmp-parallel text { fill: var(--jp-ui-font-color1, #333); font-size: 10px; }
.wb-cmp-parallel polyline { fill: none; stroke-width: 1.6; opacity: 0.85; }
.wb-cmp-parallel polyline:hover { stroke-width: 3.5; opacity: 1; }
"""


@functools.cache
def _esm() -> str:
    # series_store.js decodes the curves blob; both files share one module scope.
    return "\n".join(assets.read(name) for name in ("series_store.js", "plotly_client.js", "compare.js"))


class RunComparison(anywidget.AnyWidget):
    """Runs side by side: curves, a hyper-parameter table and parallel coordinates, read from disk.

    Made by `workbench.viz.compare`; see there. Synced state, for reading from Python:

    - `rows`: one dict per run read, as `workbench.runs.compare` gives it (a metric named like any
      run's hyper-parameter as `final_<name>`; NaN, infinities and non-scalar values as text), and
      `columns`: `{"hparams": [...], "metrics": [...]}`, the table's columns after id, name, status;
    - `colors`: the curve color of each row's run;
    - `parallel`: the parallel coordinates, `{"metric", "axes", "lines", "message"}`: each axis has
      a `name`, a `kind` ("number", "category" or "metric"), a `scale` and `ticks` (position in
      0..1 from the bottom, label); each line has its row index `run` and one position per axis
      (None where the run has no value), and `value`, the metric's position (None when missing);
    - `notes`: what could not be read, one line per problem, naming the run;
    - `metric`: the final metric the parallel coordinates show; `x_axis`: "epoch" or "step".

    `series(run_id, "val/loss")` gives a curve's arrays at full precision.
    """

    _esm = traitlets.Unicode().tag(sync=True)
    _css = traitlets.Unicode().tag(sync=True)
    _curves = traitlets.Bytes(b"").tag(sync=True)

    rows = traitlets.List(traitlets.Dict()).tag(sync=True)
    columns = traitlets.Dict({"hparams": [], "metrics": []}).tag(sync=True)
    colors = traitlets.List(traitlets.Unicode()).tag(sync=True)
    parallel = traitlets.Dict().tag(sync=True)
    notes = traitlets.List(traitlets.Unicode()).tag(sync=True)
    metric = traitlets.Unicode("val_loss").tag(sync=True)
    x_axis = traitlets.Enum(("epoch", "step"), "epoch").tag(sync=True)

    def __init__(self, runs=None, root=None, metric: str = "val_loss", **kwargs):
        if isinstance(runs, (str, os.PathLike)):
            runs = [runs]
        library = shared_library()  # before this widget's comm opens, so front ends create it first
        super().__init__(_esm=_esm(), _css=assets.read("dashboard.css") + _CSS, **kwargs)
        self._library = library
        self._runs = None if runs is None else list(runs)
        self._root = root
        self._raw_rows: list[dict] = []
        self._series: dict[tuple[int, str], dict[str, np.ndarray]] = {}
        self.metric = metric
        self.on_msg(self._on_browser_message)
        self.refresh()

    def refresh(self) -> None:
        """Read every run again: new epochs, new notes and, when no list of runs was given, new runs."""
        targets, notes = self._targets()
        read = []
        for label, target in targets:
            found = _read_run(label, target, self._root)
            notes += found["notes"]
            if found["row"] is not None:
                read.append(found)
        rows, hparams, metrics = _table(read)
        series = {
            (index, name): arrays
            for index, found in enumerate(read)
            for name, arrays in found["series"].items()
        }
        self._raw_rows, self._series = rows, series
        with self.hold_sync():
            self.rows = [{k: _jsonable(v) for k, v in row.items()} for row in rows]
            self.columns = {"hparams": hparams, "metrics": metrics}
            self.colors = [PALETTE[i % len(PALETTE)] for i in range(len(rows))]
            self._curves = _encode_curves(series)
            self.parallel = parallel_coordinates(rows, hparams, self.metric)
            self.notes = notes

    def series(self, run: str, name: str) -> dict[str, np.ndarray]:
        """The epoch-level curve `name` ("train/loss", "val/accuracy") of the run with id `run`, as read by
        the last refresh: arrays step, epoch (0-based) and value."""
        ids = [row["id"] for row in self._raw_rows]
        if run not in ids:
            raise KeyError(f"No run {run!r} among the runs read: {ids}.")
        key = (ids.index(run), name)
        if key not in self._series:
            names = sorted(n for i, n in self._series if i == key[0])
            raise KeyError(f"Run {run!r} has no curve {name!r}; it has: {names}.")
        return {k: v.copy() for k, v in self._series[key].items()}

    @traitlets.observe("metric")
    def _on_metric(self, change) -> None:
        self.parallel = parallel_coordinates(self._raw_rows, list(self.columns["hparams"]), change["new"])

    def _targets(self) -> tuple[list[tuple[str, object]], list[str]]:
        """(label, id or path) of each run to read, and notes about the runs folder."""
        if self._runs is not None:
            return [(Path(os.fspath(r)).name or os.fspath(r), r) for r in self._runs], []
        try:
            infos = list_runs(self._root)
        except RunError as e:
            return [], [str(e)]
        if not infos:
            root = self._root if self._root is not None else runs_dir()
            return [], [f"There are no runs in {root} yet: train with a RunLogger callback, then refresh."]
        return [(info.path.name, info.path) for info in infos], []

    def _on_browser_message(self, _widget, content: dict, buffers) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "refresh":
            self.refresh()
        elif kind == "plotly":  # a front end without the shared library (an isolated output frame)
            self.send({"type": "plotly_source"}, [assets.plotly_library_esm().encode()])


def compare(runs=None, root=None, metric: str = "val_loss") -> RunComparison:
    """Compare runs in a notebook: their curves, hyper-parameters and final metrics, read from disk.

    Args:
        runs: run ids (or unique starts of them) in `root`, or run folder paths; None: every run in `root`.
        root: the runs folder (default: `workbench.runs.runs_dir()`).
        metric: the final metric of the parallel coordinates ("val_loss", "accuracy", ...); the widget's
            menu, or setting `.metric`, changes it.

    Runs are only read. A run cut short, without run.json, or that cannot be read at all is
    named in the widget's notes instead of raising. Call `.refresh()` to read the runs again.

    >>> import workbench as wb
    >>> wb.viz.compare()                                       # doctest: +SKIP
    >>> wb.viz.compare(["20250101-120000-mlp-3f2a", "runs/20250101-130000-mlp-9c1d"])  # doctest: +SKIP
    """
    return RunComparison(runs=runs, root=root, metric=metric)


# ---------------------------------------------------------------------- reading


def _read_run(label: str, target, root) -> dict:
    """A run's table row, its hyper-parameter columns, its epoch curves and the notes about it.

    A run that opens gets a row even when its metrics cannot be read (the row then has what
    run.json says); one that does not open gets only a note.
    """
    found = {"row": None, "hparams": [], "series": {}, "notes": []}
    try:
        run = load_run(target, root)
    except RunError as e:
        found["notes"].append(_problem(label, e))
        return found
    problems = []
    try:
        for split in ("train", "val"):
            columns = run.metrics(split)
            for name, values in columns.items():
                if name not in ("step", "epoch", "wall"):
                    found["series"][f"{split}/{name}"] = {
                        "step": columns["step"],
                        "epoch": columns["epoch"],
                        "value": values,
                    }
        (found["row"],) = compare_runs([run.path])
    except RunError as e:
        problems.append(_problem(label, e))
        found["row"] = found["row"] or {"id": run.id, "name": run.info.get("name"), "status": run.status}
    hparams = run.info.get("hparams")
    found["hparams"] = [
        f"hparam:{k}" if k in _RUN_COLUMNS else k for k in (hparams if isinstance(hparams, dict) else {})
    ]
    found["notes"] = [f"run {label}: {note}" for note in run.notes] + problems
    return found


def _problem(label: str, error: RunError) -> str:
    # Name the file when the problem is in one of the run's files rather than in its folder.
    where = f"{error.path.name}: " if error.path.suffix in (".json", ".jsonl") else ""
    return f"run {label}: {where}{error.problem}"


def _table(read: list[dict]) -> tuple[list[dict], list[str], list[str]]:
    """The rows of the runs read, and the hyper-parameter and metric columns over all of them.

    As in `workbench.runs.compare`, a metric named like a hyper-parameter is shown as `final_<name>`:
    here like a hyper-parameter of any run, so that a column means one thing in every row.
    """
    hparams: list[str] = []
    for found in read:
        hparams += [h for h in found["hparams"] if h not in hparams]
    rows, metrics = [], []
    for found in read:
        row = {}
        for key, value in found["row"].items():
            if key not in _RUN_COLUMNS and key not in found["hparams"]:
                key = f"final_{key}" if key in hparams else key
                metrics += [key] if key not in metrics else []
            row[key] = value
        rows.append(row)
    return rows, hparams, metrics


def _jsonable(value):
    """A table cell JSON can carry: non-finite numbers and anything but scalars as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(value, default=str)[:80]


def _encode_curves(series: dict[tuple[int, str], dict[str, np.ndarray]]) -> bytes:
    header: dict = {"curves": [], "dists": []}
    chunks: list[bytes] = []
    for (index, name), arrays in series.items():
        split, metric = name.split("/", 1)
        count = len(arrays["step"])
        header["curves"].append(
            {
                "key": f"{index}:{name}",
                "run": index,
                "split": split,
                "name": metric,
                "level": "epoch",
                "n": count,
                "b": 1,
                "offset": 0,
                "count": count,
            }
        )
        chunks += [
            arrays["step"].astype("<f8").tobytes(),
            arrays["epoch"].astype("<f4").tobytes(),
            arrays["value"].astype("<f4").tobytes(),
        ]
    return encode_snapshot(header, b"".join(chunks))


# ---------------------------------------------------------------------- parallel coordinates


def _number(value) -> float | None:
    """The value as a finite float, None for a non-number (bools are categories, not numbers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _key(value) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _label(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)[:24]


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _axis(name: str, values: list, is_metric: bool = False) -> tuple[dict, list]:
    """An axis of the parallel coordinates and each run's position on it (0 bottom, 1 top; None: no value)."""
    numbers = [_number(v) for v in values]
    if is_metric or all(n is not None for n, v in zip(numbers, values) if not _missing(v)):
        return _numeric_axis(name, numbers, "metric" if is_metric else "number")
    labels = [None if _missing(v) else _label(v) for v in values]
    categories = sorted({c for c in labels if c is not None})
    spread = {c: i / (len(categories) - 1) if len(categories) > 1 else 0.5 for i, c in enumerate(categories)}
    axis = {
        "name": name,
        "kind": "category",
        "scale": "category",
        "ticks": [[p, c] for c, p in spread.items()],
    }
    return axis, [None if c is None else spread[c] for c in labels]


def _numeric_axis(name: str, values: list[float | None], kind: str) -> tuple[dict, list]:
    known = [v for v in values if v is not None]
    if not known:
        return {"name": name, "kind": kind, "scale": "linear", "ticks": []}, [None] * len(values)
    lo, hi = min(known), max(known)
    log = lo > 0 and hi / lo >= _LOG_RATIO
    f = math.log10 if log else float
    span = f(hi) - f(lo)

    def position(v):
        return 0.5 if span == 0 else (f(v) - f(lo)) / span

    distinct = sorted(set(known))
    if len(distinct) > _MAX_TICKS:
        steps = [f(lo) + span * k / (_MAX_TICKS - 1) for k in range(_MAX_TICKS)]
        distinct = [10**s if log else s for s in steps]
    ticks = [[position(v), _label(float(v))] for v in distinct]
    axis = {"name": name, "kind": kind, "scale": "log" if log else "linear", "ticks": ticks}
    return axis, [None if v is None else position(v) for v in values]


def parallel_coordinates(rows: list[dict], hparams: list[str], metric: str) -> dict:
    """The parallel coordinates of `rows` (as `workbench.runs.compare` gives them) against final `metric`.

    One axis per hyper-parameter with more than one value among the runs (every hyper-parameter
    when none has), then the metric's. Numbers are placed by value (log scale where positive values
    span a factor of 100 or more), anything else as categories spread evenly on their axis.
    """
    differing = [h for h in hparams if len({_key(r[h]) for r in rows if not _missing(r.get(h))}) > 1]
    axes, columns = [], []
    for name in differing or hparams:
        axis, positions = _axis(name, [row.get(name) for row in rows])
        axes.append(axis)
        columns.append(positions)
    axis, values = _axis(metric, [row.get(metric) for row in rows], is_metric=True)
    axes.append(axis)
    columns.append(values)
    lines = [
        {"run": i, "id": row["id"], "positions": [column[i] for column in columns], "value": values[i]}
        for i, row in enumerate(rows)
    ]
    message = ""
    if rows and all(v is None for v in values):
        message = f"No run has a final {metric!r}: choose another metric."
    return {"metric": metric, "axes": axes, "lines": lines, "message": message}

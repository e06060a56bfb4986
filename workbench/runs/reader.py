"""Reading run folders: `list_runs`, `load_run` and `compare`.

Readers only open files for reading. They accept a run that is still being
written: a last line without its end is left out, and a note says so. A run
folder without run.json is listed with status "unknown". Anything else that
cannot be read raises `RunError`, which names the path and the problem.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from workbench.runs.location import runs_dir

_RUN_MARKERS = ("run.json", "metrics.jsonl", "histograms.jsonl", "train", "validation", "checkpoints")


class RunError(Exception):
    """A run (or the runs folder) cannot be read: `path` is where, `problem` what is wrong."""

    def __init__(self, path, problem: str):
        self.path, self.problem = Path(path), problem
        super().__init__(f"{path}: {problem}")


def _root(root) -> Path:
    path = Path(root).expanduser() if root is not None else runs_dir()
    if not path.exists():
        raise RunError(
            path,
            "there is no runs folder here. Train with a RunLogger callback first, "
            "or pass the folder that holds the runs (--root).",
        )
    if not path.is_dir():
        raise RunError(path, "this is a file, not a runs folder.")
    return path


def _read_text(path: Path) -> str | None:
    """The file's text, None if it does not exist; RunError if it cannot be read."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise RunError(path, "a folder is where a file was expected.") from None
    except NotADirectoryError:
        raise RunError(path.parent, "this is a file, not a run folder.") from None
    except OSError as e:
        raise RunError(path, f"cannot be read ({e.strerror or e}).") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RunError(path, f"is not UTF-8 text (byte {e.start}); the file is damaged.") from None


def read_run_json(folder: Path) -> dict | None:
    """run.json of `folder` as a dict, None when there is none; RunError when it is not a run record."""
    path = folder / "run.json"
    text = _read_text(path)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError as e:
        raise RunError(path, f"is not valid JSON ({e}); the run record is damaged.") from None
    if not isinstance(data, dict):
        raise RunError(path, f"holds a {type(data).__name__}, not a run record (a JSON object).")
    return data


def read_jsonl(path: Path) -> tuple[list[dict], list[str]]:
    """The records of a JSON-lines file and notes about it; a missing file has none.

    A last line without its newline that does not parse is a record still being
    written: it is left out, with a note. Any other broken line raises RunError.
    """
    text = _read_text(path)
    if text is None:
        return [], []
    lines = text.split("\n")
    tail = lines.pop()  # "" when the file ends with a newline
    records, notes = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as e:
            raise RunError(path, f"line {number} is not valid JSON ({e}); the file is damaged.") from None
        if not isinstance(record, dict):
            raise RunError(path, f"line {number} is not a JSON object; the file is damaged.")
        records.append(record)
    if tail.strip():
        try:
            record = json.loads(tail)
            if not isinstance(record, dict):
                raise ValueError("not an object")
            records.append(record)
        except ValueError:
            notes.append(
                f"{path.name}: the last line (line {len(lines) + 1}) is incomplete, so it is left out; "
                "the run is still being written or was cut short."
            )
    return records, notes


def _cut_tail_note(path: Path, tail_bytes: int = 65536) -> str | None:
    """The note `read_jsonl` would give about a cut last line, from the file's end alone (a listing does
    not read whole metrics files); None when the end is whole or cannot be read."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - tail_bytes))
            tail = f.read()
    except OSError:
        return None
    last = tail.rsplit(b"\n", 1)[-1]
    if not last.strip() or (len(last) == len(tail) and size > tail_bytes):
        return None  # ends with a newline, or with a line too long to judge from its end
    try:
        if isinstance(json.loads(last), dict):
            return None
    except ValueError:
        pass
    return f"{path.name}: the last line is incomplete, so it is left out; the run was cut short."


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


class MetricColumns(dict):
    """Columns of metric records: name -> numpy array; `.notes` says what was left out while reading."""

    notes: list[str]


def _values(record: dict) -> dict:
    values = record.get("values")
    return values if isinstance(values, dict) else {}


def _columns(records: list[dict], notes: list[str]) -> MetricColumns:
    names: list[str] = []
    for r in records:
        for k in _values(r):
            if k not in names:
                names.append(k)
    out = MetricColumns(
        step=np.asarray([_int(r.get("step")) for r in records], np.int64),
        epoch=np.asarray([_int(r.get("epoch")) for r in records], np.int64),
        wall=np.asarray([_float(r.get("wall")) for r in records], np.float64),
    )
    for name in names:
        out[name] = np.asarray([_float(_values(r).get(name, math.nan)) for r in records], np.float64)
    out.notes = list(notes)
    return out


def _last_values(records: list[dict]) -> dict:
    last: dict[str, dict] = {}
    for r in records:
        if r.get("kind") == "epoch" and r.get("split") in ("train", "val"):
            last[r["split"]] = dict(_values(r))
    return last


@dataclasses.dataclass(frozen=True)
class RunInfo:
    """One line of `list_runs`: what a run is and where it stands."""

    id: str
    name: str | None
    status: str
    created: str | None
    path: Path
    steps: int | None
    epochs: int | None
    last: dict  # split ("train", "val") -> the values of the last epoch
    message: str | None = None  # why the run is listed as "unknown", or a note about it
    ended: str | None = None  # UTC, ISO 8601, once the run stopped being written


class Run:
    """A run folder opened for reading: `.info` (run.json), `.metrics()`, `.histograms()`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.notes: list[str] = []
        if not self.path.is_dir():
            raise RunError(
                self.path,
                "this is a file, not a run folder." if self.path.exists() else "there is no run folder here.",
            )
        try:
            os.listdir(self.path)
        except OSError as e:
            raise RunError(self.path, f"the run folder cannot be read ({e.strerror or e}).") from None
        info = read_run_json(self.path)
        if info is None:
            self.notes.append("run.json is missing: the run's status, model and settings are unknown.")
            info = {"id": self.path.name, "name": None, "status": "unknown", "created": None}
        self.info: dict = info

    @property
    def id(self) -> str:
        return str(self.info.get("id") or self.path.name)

    @property
    def status(self) -> str:
        return str(self.info.get("status") or "unknown")

    def records(self) -> list[dict]:
        """Every record of metrics.jsonl, in the order written."""
        records, notes = read_jsonl(self.path / "metrics.jsonl")
        self._note(notes)
        return records

    def metrics(self, split: str = "train", kind: str | None = "epoch", as_frame: bool = False):
        """The metrics of `split` ("train" or "val") as columns: step, epoch, wall and one per value.

        `kind` is "epoch" (one row per epoch), "batch" (one row per step: `batch_loss`,
        and the running means where the step ended a dispatch) or None (both). A
        missing value is NaN. With `as_frame=True`, a pandas DataFrame (notes in `.attrs`).
        """
        if split not in ("train", "val"):
            raise ValueError(f"split must be 'train' or 'val', got {split!r}.")
        if kind not in ("epoch", "batch", None):
            raise ValueError(f"kind must be 'epoch', 'batch' or None, got {kind!r}.")
        records, notes = read_jsonl(self.path / "metrics.jsonl")
        self._note(notes)
        chosen = [r for r in records if r.get("split") == split and (kind is None or r.get("kind") == kind)]
        columns = _columns(chosen, notes)
        if not as_frame:
            return columns
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(
                "as_frame=True needs pandas: pip install pandas (or use the default dict of numpy columns)."
            ) from None
        frame = pd.DataFrame(dict(columns))
        frame.attrs["notes"] = columns.notes
        return frame

    def last_metrics(self) -> dict:
        """split -> the values of the last epoch written (from metrics.jsonl)."""
        return _last_values(self.records())

    def histograms(self, name: str | None = None, source: str | None = None) -> list[dict]:
        """Histogram records from histograms.jsonl, optionally of one variable `name` and `source`
        ("weights" or "gradients"), in the order written."""
        records, notes = read_jsonl(self.path / "histograms.jsonl")
        self._note(notes)
        return [
            r
            for r in records
            if (name is None or r.get("name") == name) and (source is None or r.get("source") == source)
        ]

    def _note(self, notes: list[str]) -> None:
        self.notes.extend(n for n in notes if n not in self.notes)

    def __repr__(self) -> str:
        return f"<Run {self.id} status={self.status} at {self.path}>"


def _find(id_or_path, root) -> Path:
    text = os.fspath(id_or_path)
    if isinstance(id_or_path, os.PathLike) or os.sep in text or (os.altsep and os.altsep in text):
        return Path(text).expanduser()
    base = _root(root)
    exact = base / text
    if exact.exists():
        return exact
    try:
        names = sorted(n for n in os.listdir(base) if n.startswith(text) and not n.startswith("."))
    except OSError as e:
        raise RunError(base, f"the runs folder cannot be read ({e.strerror or e}).") from None
    if len(names) == 1:
        return base / names[0]
    if names:
        raise RunError(
            base, f"{text!r} matches {len(names)} runs ({', '.join(names[:5])}); give more of the id."
        )
    raise RunError(base, f"there is no run {text!r}; `workbench runs list` shows the runs.")


def load_run(id_or_path, root=None) -> Run:
    """Open a run by id (or a unique start of one) in `root`, or by its folder path.

    >>> run = load_run("20250101-120000-mnist-3f2a")        # doctest: +SKIP
    >>> run.metrics("val")["loss"]                           # doctest: +SKIP
    """
    return Run(_find(id_or_path, root))


def _info(path: Path) -> RunInfo:
    def unknown(message):
        return RunInfo(
            id=path.name,
            name=None,
            status="unknown",
            created=None,
            path=path,
            steps=None,
            epochs=None,
            last={},
            message=message,
        )

    try:
        run = Run(path)
    except RunError as e:
        return unknown(e.problem)
    info = run.info
    summary = info.get("summary") if isinstance(info.get("summary"), dict) else None
    last = {k: summary[k] for k in ("train", "val") if summary and isinstance(summary.get(k), dict)} \
        if summary else {}
    steps, epochs = (summary.get("steps"), summary.get("epochs")) if summary else (None, None)
    message = " ".join(run.notes) or None
    if summary is not None and run.status != "running":  # metrics.jsonl is not read: look at its end only
        message = " ".join(filter(None, [message, _cut_tail_note(path / "metrics.jsonl")])) or None
    if summary is None:  # no run.json (or one from before any epoch): what metrics.jsonl says
        try:
            records = run.records()
            last = _last_values(records)
            steps = max((_int(r.get("step")) for r in records), default=None)
            epochs = len([r for r in records if r.get("kind") == "epoch" and r.get("split") == "train"])
        except RunError as e:
            message = " ".join(filter(None, [message, e.problem]))
    return RunInfo(
        id=run.id,
        name=info.get("name"),
        status=run.status,
        created=info.get("created"),
        path=path,
        steps=steps,
        epochs=epochs,
        last=last,
        message=message,
        ended=info.get("ended"),
    )


def list_runs(root=None) -> list[RunInfo]:
    """Every run in `root` (default: `runs_dir()`), oldest first.

    Folders that cannot be read or have no run.json are listed with status
    "unknown" and a `message` saying why; other folders are not runs and are skipped. A run that
    is no longer written but whose metrics.jsonl ends in a cut line gets a `message` too.
    """
    base = _root(root)
    try:
        entries = sorted(os.listdir(base))
    except OSError as e:
        raise RunError(base, f"the runs folder cannot be read ({e.strerror or e}).") from None
    infos = []
    for name in entries:
        path = base / name
        if name.startswith(".") or not path.is_dir():
            continue
        try:
            inside = set(os.listdir(path))
        except OSError as e:
            infos.append(
                RunInfo(
                    id=name,
                    name=None,
                    status="unknown",
                    created=None,
                    path=path,
                    steps=None,
                    epochs=None,
                    last={},
                    message=f"the folder cannot be read ({e.strerror or e}).",
                )
            )
            continue
        if inside & set(_RUN_MARKERS):
            infos.append(_info(path))
    return sorted(infos, key=lambda i: (i.created or "", i.id))


def _final_metrics(run: Run) -> dict:
    summary = run.info.get("summary")
    last = (
        {k: summary.get(k) or {} for k in ("train", "val")}
        if isinstance(summary, dict)
        else run.last_metrics()
    )
    out = {}
    for split, values in last.items():
        if not isinstance(values, dict):  # a hand-edited or foreign run.json: nothing to read there
            continue
        for k, v in values.items():
            out[("val_" if split == "val" else "") + k] = _float(v)
    return out


def compare(ids, root=None, as_frame: bool = False):
    """One row per run: id, name, status, the hyper-parameters and the final metrics (`loss`, `val_loss`, ...).

    A metric named like a hyper-parameter is shown as `final_<name>` (e.g. `final_learning_rate`).
    Returns a list of dicts, or a pandas DataFrame with `as_frame=True`.
    """
    if isinstance(ids, (str, os.PathLike)):
        ids = [ids]
    rows = []
    for id_ in ids:
        run = load_run(id_, root)
        metrics = _final_metrics(run)
        row: dict[str, Any] = {"id": run.id, "name": run.info.get("name"), "status": run.status}
        hparams = run.info.get("hparams")
        for k, v in (hparams if isinstance(hparams, dict) else {}).items():
            row[f"hparam:{k}" if k in row else k] = v
        for k, v in metrics.items():
            row[f"final_{k}" if k in row else k] = v
        rows.append(row)
    if not as_frame:
        return rows
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(
            "as_frame=True needs pandas: pip install pandas (or use the default list of dicts)."
        ) from None
    return pd.DataFrame(rows)

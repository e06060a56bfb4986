"""The JSON the lab's REST API returns about runs: list rows, one run's detail, metrics, comparisons.

Everything here reads run folders through `workbench.runs` and returns plain
dicts ready for `json.dumps(..., allow_nan=False)`: values that are not finite
become None. Nothing here imports jax's compiled parts or writes anything.

Run ids come from URLs, so `resolve_run` is the one way from an id to a
folder: an id is a plain folder name (no separators, not "." or ".."), and
the folder, symlinks followed, must lie inside the runs root.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import re
from pathlib import Path
from typing import Any

from workbench.runs import reader
from workbench.runs.reader import RunError

MAX_POINTS = 2000
_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$")
_STEP_PARTS = ("data_wait", "compile", "dispatch", "device", "callbacks", "checkpoint", "validation", "other")
# Words in a metric's name that say which way is better; anything else gets no "best" value.
_LOWER_IS_BETTER = ("loss", "error", "crossentropy", "hinge", "divergence", "logcosh", "perplexity", "mse",
                    "mae", "mape", "msle")
_HIGHER_IS_BETTER = ("accuracy", "auc", "precision", "recall", "f1", "fbeta", "r2", "iou")


class NotFound(Exception):
    """The id names no run in the root (or one that leads out of it)."""


class BadRequest(ValueError):
    """A request argument that is not what the API takes; the message says what was expected."""


def finite(value: Any) -> Any:
    """`value` with every non-finite float (and NaN-like string) replaced by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
        return None
    if isinstance(value, dict):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return finite(value.tolist())
    return value


def check_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not _ID.match(run_id) or run_id in (".", ".."):
        raise BadRequest(
            f"A run id is a run folder's name (letters, digits, '_', '-' and '.', not starting with '.' "
            f"or '-'), got {run_id!r:.80}."
        )
    return run_id


def inside(path: Path, root: Path) -> bool:
    """Whether `path`, symlinks followed, is `root` itself or lies under it."""
    try:
        return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))
    except OSError:
        return False


def resolve_run(root: Path, run_id: str) -> Path:
    """The folder of run `run_id` under `root`; NotFound unless it exists and stays inside `root`."""
    path = Path(root) / check_run_id(run_id)
    if not path.is_dir() or not inside(path, root) or Path(os.path.realpath(path)) == Path(
        os.path.realpath(root)
    ):
        raise NotFound(f"There is no run {run_id!r} in {root}.")
    return path


# ------------------------------------------------------------------------------------------------ lists
def _parse_time(text) -> datetime.datetime | None:
    if not isinstance(text, str):
        return None
    try:
        stamp = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=datetime.UTC)


def duration(created, ended, status: str) -> float | None:
    """Seconds from `created` to `ended` (ISO 8601 times), or to now while the run is running."""
    start = _parse_time(created)
    end = _parse_time(ended)
    if start is None:
        return None
    if end is None:
        if status != "running":
            return None
        end = datetime.datetime.now(datetime.UTC)
    return max(0.0, (end - start).total_seconds())


def direction(metric: str) -> str | None:
    """"min" or "max" for a metric name whose words say which way is better, else None."""
    name = metric.removeprefix("val_").lower()
    if name == "learning_rate":
        return None
    if any(word in name for word in _LOWER_IS_BETTER):
        return "min"
    if any(word in name for word in _HIGHER_IS_BETTER):
        return "max"
    return None


def best_values(records: list[dict]) -> dict:
    """metric (val_ prefixed for validation) -> {"value", "epoch", "mode"} over the epoch records."""
    best: dict[str, dict] = {}
    for record in records:
        if record.get("kind") != "epoch" or record.get("split") not in ("train", "val"):
            continue
        prefix = "val_" if record["split"] == "val" else ""
        values = record.get("values")
        for name, value in (values if isinstance(values, dict) else {}).items():
            key = prefix + str(name)
            mode = direction(key)
            try:
                value = float(value)
            except (TypeError, ValueError):
                continue
            if mode is None or not math.isfinite(value):
                continue
            current = best.get(key)
            if current is None or (value < current["value"] if mode == "min" else value > current["value"]):
                best[key] = {"value": value, "epoch": record.get("epoch"), "mode": mode}
    return best


class _BestCache:
    """Best values per metrics file, recomputed only when the file's size or mtime changes."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[tuple[int, int], dict]] = {}

    def get(self, folder: Path) -> dict:
        path = folder / "metrics.jsonl"
        try:
            stat = path.stat()
        except OSError:
            return {}
        key = (stat.st_size, stat.st_mtime_ns)
        cached = self._entries.get(str(path))
        if cached and cached[0] == key:
            return cached[1]
        try:
            records, _ = reader.read_jsonl(path)
        except RunError:
            records = []
        best = best_values(records)
        self._entries[str(path)] = (key, best)
        return best


_best_cache = _BestCache()


def list_rows(root: Path) -> dict:
    """GET runs: every run in `root`, newest first; `error` says why when the root cannot be read."""
    root = Path(root)
    if not root.exists():
        return {"root": str(root), "error": None, "runs": []}
    try:
        infos = reader.list_runs(root)
    except RunError as e:
        return {"root": str(root), "error": f"The runs folder {root} cannot be read: {e.problem}", "runs": []}
    rows = []
    for info in reversed(infos):
        if not inside(info.path, root):  # a symlink leading out of the root is not shown or served
            continue
        rows.append(
            {
                "id": info.path.name,
                "name": info.name,
                "status": info.status,
                "created": info.created,
                "ended": info.ended,
                "duration_s": duration(info.created, info.ended, info.status),
                "steps": info.steps,
                "epochs": info.epochs,
                "last": info.last,
                "best": _best_cache.get(info.path),
                "message": info.message,
            }
        )
    return finite({"root": str(root), "error": None, "runs": rows})


# ----------------------------------------------------------------------------------------------- detail
def _checkpoints(folder: Path) -> list[dict]:
    out = []
    try:
        entries = os.listdir(folder / "checkpoints")
    except OSError:
        return out
    for name in entries:
        path = folder / "checkpoints" / name
        if name.isdigit() and path.is_dir():
            created = datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.UTC)
            out.append({"step": int(name), "created": created.isoformat(timespec="seconds")})
    return sorted(out, key=lambda c: c["step"])


def _artifacts(folder: Path) -> list[dict]:
    out = []
    base = folder / "artifacts"
    try:
        entries = sorted(os.listdir(base), key=lambda n: (not n.isdigit(), int(n) if n.isdigit() else 0, n))
    except OSError:
        return out
    for name in entries:
        path = base / name
        if name.startswith(".") or not path.is_dir():
            continue
        entry = {"name": name, "path": str(path), "created": None, "signatures": [], "parameters": None,
                 "error": None}
        try:
            manifest = json.loads((path / "manifest.json").read_text())
            entry["created"] = manifest.get("created")
            entry["signatures"] = sorted(manifest.get("signatures") or {})
            entry["parameters"] = (manifest.get("weights") or {}).get("parameters")
        except (OSError, ValueError, AttributeError) as e:
            entry["error"] = f"manifest.json cannot be read ({e})."
        out.append(entry)
    return out


def _profile(folder: Path) -> dict | None:
    steps_path, compiles_path = folder / "profile" / "steps.jsonl", folder / "profile" / "compiles.jsonl"
    if not steps_path.exists() and not compiles_path.exists():
        return None
    try:
        steps, _ = reader.read_jsonl(steps_path)
        compiles, _ = reader.read_jsonl(compiles_path)
    except RunError as e:
        return {"steps": [], "compiles": [], "error": e.problem}
    rows = []
    for record in steps:
        seconds = record.get("seconds") if isinstance(record.get("seconds"), dict) else {}
        parts = {k: seconds.get(k, 0.0) for k in _STEP_PARTS}
        rows.append({"epoch": record.get("epoch"), "steps": record.get("steps"), "parts": parts,
                     "elapsed": sum(v for v in parts.values() if isinstance(v, (int, float))),
                     "memory": record.get("memory")})
    return {"steps": rows, "compiles": compiles, "error": None}


def exportable(info: dict) -> dict:
    """Whether the lab can rebuild this run's model for export, and if not, why."""
    model = info.get("model") if isinstance(info.get("model"), dict) else {}
    if not model:
        return {"ok": False, "reason": "run.json does not describe the model, so it cannot be rebuilt here."}
    if not isinstance(model.get("config"), dict):
        return {"ok": False, "reason": (
            f"The model ({model.get('class') or 'unknown class'}) has no JSON config (subclassed models do "
            "not), so it cannot be rebuilt from the run. Export it from the notebook with model.export()."
        )}
    foreign = sorted(_foreign_classes(model["config"]))
    if foreign:
        return {"ok": False, "reason": (
            f"The model uses classes defined outside workbench ({', '.join(foreign[:4])}), such as a subclassed "
            "model or a custom layer, whose code the lab does not import. Export it from the notebook with "
            "model.export()."
        )}
    if _has_lambda(model["config"]):
        return {"ok": False, "reason": (
            "The model has a Lambda layer, whose code the lab never runs. Export it from the notebook "
            "with model.export()."
        )}
    if not isinstance(info.get("compile"), dict) or not isinstance(info["compile"].get("optimizer"), dict):
        return {"ok": False, "reason": (
            "The run's compile settings were not recorded in a form that can be rebuilt (a raw optax "
            "optimizer or a custom loss). Export it from the notebook with model.export()."
        )}
    return {"ok": True, "reason": None}


def _serialized_objects(config):
    """Every dict in a nested config that describes a serialised object (it has a "class_name")."""
    if isinstance(config, dict):
        if "class_name" in config:
            yield config
        for value in config.values():
            yield from _serialized_objects(value)
    elif isinstance(config, list):
        for value in config:
            yield from _serialized_objects(value)


def _foreign_classes(config) -> set[str]:
    """"Class from module" of every serialised object in `config` whose module is not workbench's."""
    return {
        f"{o['class_name']} from {o['module']}"
        for o in _serialized_objects(config)
        if isinstance(o.get("module"), str) and not o["module"].startswith("workbench")
    }


def _has_lambda(config) -> bool:
    return any(o.get("class_name") == "Lambda" for o in _serialized_objects(config))


def run_detail(root: Path, run_id: str) -> dict:
    """GET runs/<id>: run.json, notes, checkpoints, artifacts, profile records and exportability."""
    folder = resolve_run(root, run_id)
    try:
        run = reader.load_run(folder)
    except RunError as e:
        raise NotFound(f"Run {run_id!r} cannot be read: {e.problem}") from None
    info = run.info
    checkpoints = _checkpoints(folder)
    verdict = exportable(info)
    if verdict["ok"] and not checkpoints:
        verdict = {"ok": False, "reason": "The run has no checkpoint yet (one is written at the end of each "
                                          "epoch)."}
    return finite(
        {
            "id": folder.name,
            "name": info.get("name"),
            "status": run.status,
            "created": info.get("created"),
            "ended": info.get("ended"),
            "duration_s": duration(info.get("created"), info.get("ended"), run.status),
            "path": str(folder),
            "info": info,
            "notes": run.notes,
            "checkpoints": checkpoints,
            "artifacts": _artifacts(folder),
            "profile": _profile(folder),
            "exportable": verdict,
        }
    )


# ---------------------------------------------------------------------------------------------- metrics
def _downsample(columns: dict, limit: int) -> dict:
    n = len(columns.get("step", []))
    if n <= limit:
        return columns
    # Evenly spaced rows, always keeping the last one (the newest value is what a live view watches).
    picks = sorted({round(i * (n - 1) / (limit - 1)) for i in range(limit)})
    return {k: [v[i] for i in picks] for k, v in columns.items()}


def _split_columns(run, split: str, kind: str) -> dict:
    columns = run.metrics(split, kind=kind)
    return {k: v.tolist() for k, v in columns.items()}


def run_metrics(root: Path, run_id: str, kind: str = "epoch") -> dict:
    """GET runs/<id>/metrics?kind=epoch|batch: columns per split, batch columns at most MAX_POINTS long."""
    if kind not in ("epoch", "batch"):
        raise BadRequest(f"kind is 'epoch' or 'batch', got {kind!r:.40}.")
    folder = resolve_run(root, run_id)
    try:
        run = reader.load_run(folder)
        out = {"kind": kind}
        for split in ("train", "val"):
            out[split] = _downsample(_split_columns(run, split, kind), MAX_POINTS)
    except RunError as e:
        raise NotFound(f"The metrics of run {run_id!r} cannot be read: {e.problem}") from None
    out["notes"] = run.notes
    return finite(out)


def compare_runs(root: Path, ids: list[str]) -> dict:
    """GET compare?ids=a,b: the compare table (hyper-parameters, final metrics) and each run's epoch curves."""
    ids = [i for i in ids if i]
    if len(ids) < 1:
        raise BadRequest("compare takes ids=<id>,<id>,... naming at least one run.")
    if len(ids) > 50:
        raise BadRequest(f"compare takes at most 50 runs, got {len(ids)}.")
    folders = [resolve_run(root, i) for i in ids]
    try:
        rows = reader.compare(folders)
    except RunError as e:
        raise NotFound(f"A run cannot be read: {e.problem}") from None
    hparams, metrics, curves = [], [], {}
    for folder, row in zip(folders, rows):
        row["id"] = folder.name
        run = reader.load_run(folder)
        declared = run.info.get("hparams") if isinstance(run.info.get("hparams"), dict) else {}
        for key in row:
            if key in ("id", "name", "status"):
                continue
            target = hparams if (key in declared or key.removeprefix("hparam:") in declared) else metrics
            if key not in target:
                target.append(key)
        curves[folder.name] = {s: _split_columns(run, s, "epoch") for s in ("train", "val")}
    return finite({"rows": rows, "hparams": hparams, "metrics": metrics, "curves": curves})

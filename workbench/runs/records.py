"""How values become records and files: device reads, JSON numbers, JSON-lines and atomic JSON writes."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import jax
import numpy as np


def to_host(tree):
    """Copy device arrays in `tree` to the host. Every read of a device value by the run writer goes
    through here; on the training path it is only called once `is_ready(tree)` is true."""
    return jax.tree_util.tree_map(np.asarray, tree)  # cheaper per array than jax.device_get


def is_ready(tree) -> bool:
    """Whether every array in `tree` has been computed (reading it now would not wait)."""
    return all(getattr(leaf, "is_ready", lambda: True)() for leaf in jax.tree_util.tree_leaves(tree))


def now_iso() -> str:
    """The UTC time now, as run.json writes it: `2025-01-31T12:00:00Z`."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def number(value) -> float | str:
    """A metric value as JSON: a float, or "NaN" / "Infinity" / "-Infinity" (which `float()` reads back)."""
    value = float(value)
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def host_floats(value) -> list[float]:
    """A host array's values as floats. A float32 value (or a float64 one that is exactly a float32, as
    the trainer's epoch logs are) keeps its shortest float32 text: 0.001, not 0.0010000000474974513."""
    array = np.asarray(value)
    if array.dtype.kind != "f" or array.dtype.itemsize > 4:
        array = array.astype(np.float64).reshape(-1)
        single = array.astype(np.float32)
        return [float(str(s)) if s == d else float(d) for s, d in zip(single, array)]
    return [float(str(v)) for v in array.astype(np.float32).reshape(-1)]


_KEYS: dict[str, str] = {}


def _fast_line(r: dict) -> str | None:
    """A per-step record's JSON line, formatted directly (json.dumps per step costs more than the step's
    share of the trainer's time); None for records that need the general encoder."""
    if r.get("kind") != "batch" or len(r) != 6:
        return None
    parts = []
    for k, v in r["values"].items():
        key = _KEYS.get(k)
        if key is None:
            key = _KEYS[k] = json.dumps(k)
        if type(v) is float:
            text = repr(v)
            if text in ("nan", "inf", "-inf"):
                return None
        elif type(v) is str:
            text = json.dumps(v)
        else:
            return None
        parts.append(f"{key}:{text}")
    return (f'{{"kind":"batch","step":{int(r["step"])},"epoch":{int(r["epoch"])},"wall":{r["wall"]!r},'
            f'"split":{json.dumps(r["split"])},"values":{{{",".join(parts)}}}}}\n')


def json_lines(records: list[dict]) -> str:
    out = []
    for r in records:
        line = _fast_line(r)
        out.append(line if line is not None else json.dumps(r, separators=(",", ":"), allow_nan=False) + "\n")
    return "".join(out)


def write_json_atomic(path: Path, data: dict) -> None:
    """Write `data` to `path` so that a reader sees the old file or the new one, never a part."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, allow_nan=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)

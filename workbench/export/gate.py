"""The promotion gate: a candidate version replaces the current one only when it is no worse.

The gate reads one metric for both versions, either the figure each recorded
at export (the manifest's `provenance.metrics`) or, with `data`, a fresh
evaluation of both artifacts on the same held-out arrays (a "replay").

>>> by_record = Gate("val_loss")  # lower is better; the figures in the manifests
>>> by_replay = Gate("accuracy", data="holdout.npz", tolerance=0.01)  # may lose at most 0.01
>>> Repository("models").promote("digits", 4, gate=by_replay)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import zipfile
from pathlib import Path

import numpy as np

from workbench.export.artifact import load

_HIGHER_IS_BETTER = re.compile(r"acc|auc|precision|recall|f1", re.IGNORECASE)
_MODES = ("auto", "min", "max")
_CHUNK = 256


class GateError(ValueError):
    """A promotion refused by the gate: the candidate is worse, or the metric cannot be compared."""


@dataclasses.dataclass(frozen=True)
class GateResult:
    """The gate's comparison of a candidate with the current version."""

    metric: str
    mode: str
    candidate: float
    current: float
    candidate_version: int | None = None
    current_version: int | None = None
    source: str = "recorded"
    tolerance: float = 0.0

    @property
    def passed(self) -> bool:
        """Whether the candidate is no worse than the current version, within the tolerance."""
        return _no_worse(self.candidate, self.current, self.mode, self.tolerance)

    def __str__(self) -> str:
        better = "lower" if self.mode == "min" else "higher"
        return (
            f"{self.metric} ({self.source}, {better} is better): candidate{_v(self.candidate_version)} "
            f"{self.candidate:.6g} vs current{_v(self.current_version)} {self.current:.6g}"
        )


def _v(version) -> str:
    return "" if version is None else f" v{version}"


@dataclasses.dataclass(frozen=True)
class Gate:
    """Refuse a promotion when the candidate's `metric` is worse than the current version's.

    Args:
        metric: a metric name, e.g. "val_loss" or "accuracy".
        mode: "min" (lower is better), "max", or "auto": max for names containing
            acc, auc, precision, recall or f1, else min (Keras' rule).
        tolerance: how much worse the candidate may be and still pass.
        data: None to compare the figures recorded at export; else `(x, y)`
            arrays or the path of an .npz holding arrays `x` and `y`, on which
            both versions are evaluated. Replayed metrics: "accuracy" (integer
            or one-hot labels), "mse" / "mean_squared_error", "mae",
            "sparse_categorical_crossentropy" (logits or probabilities), and
            "loss": the crossentropy for integer class labels, else the mse.
            A `val_` prefix is ignored, since the replay data is held out.
    """

    metric: str = "val_loss"
    mode: str = "auto"
    tolerance: float = 0.0
    data: tuple | str | os.PathLike | None = None

    def __post_init__(self):
        if self.mode not in _MODES:
            raise ValueError(f"Gate mode is one of {_MODES}; got {self.mode!r}.")
        if not (isinstance(self.tolerance, (int, float)) and self.tolerance >= 0):
            raise ValueError(f"Gate tolerance is a number >= 0; got {self.tolerance!r}.")
        if self.data is not None and not isinstance(self.data, (tuple, list, str, os.PathLike)):
            raise ValueError(
                f"Gate data is (x, y) or the path of an .npz with x and y; got {type(self.data).__name__}."
            )

    @property
    def direction(self) -> str:
        """Which way is better, "min" or "max", with "auto" resolved from the metric's name."""
        if self.mode != "auto":
            return self.mode
        return "max" if _HIGHER_IS_BETTER.search(self.metric) else "min"

    def check(self, candidate, current, candidate_version=None, current_version=None) -> GateResult:
        """Compare two artifacts (paths or loaded artifacts); raise GateError when the candidate is worse."""
        candidate = load(candidate) if isinstance(candidate, (str, os.PathLike)) else candidate
        current = load(current) if isinstance(current, (str, os.PathLike)) else current
        if self.data is None:
            figures = [
                _recorded(a, self.metric, v)
                for a, v in ((candidate, candidate_version), (current, current_version))
            ]
            source = "recorded at export"
        else:
            x, y = _replay_data(self.data)
            figures = [evaluate(a, x, y, self.metric) for a in (candidate, current)]
            source = f"replayed on {len(y)} examples"
        result = GateResult(
            self.metric,
            self.direction,
            figures[0],
            figures[1],
            candidate_version,
            current_version,
            source,
            self.tolerance,
        )
        if not result.passed:
            allowed = f" (tolerance {self.tolerance:g})" if self.tolerance else ""
            raise GateError(f"Promotion refused, the candidate is worse{allowed}: {result}.")
        return result


def _no_worse(candidate: float, current: float, mode: str, tolerance: float) -> bool:
    if math.isnan(candidate):
        return math.isnan(current)
    if math.isnan(current):
        return True
    if mode == "min":
        return candidate <= current + tolerance
    return candidate >= current - tolerance


def _recorded(artifact, metric: str, version) -> float:
    provenance = artifact.manifest.get("provenance") or {}
    metrics = provenance.get("metrics") or {}
    value = metrics.get(metric)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        recorded = ", ".join(sorted(metrics)) or "none"
        raise GateError(
            f"Version{_v(version)} ({artifact.path}) recorded no '{metric}' at export (it recorded: {recorded}). "
            "Gate on a recorded metric, or replay both versions on held-out data (--validate-on FILE.npz)."
        )
    return float(value)


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise GateError(f"Cannot read the replay data {path}: {e}") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise GateError(
            f"The replay data {path} is a single array; expected an .npz with arrays 'x' and 'y'."
        )
    with npz:
        missing = [k for k in ("x", "y") if k not in npz.files]
        if missing:
            raise GateError(f"{path} must hold arrays 'x' and 'y'; it holds {sorted(npz.files)}.")
        try:
            return npz["x"], npz["y"]
        except (OSError, ValueError, zipfile.BadZipFile) as e:
            raise GateError(f"Cannot read the replay data {path}: {e}") from None


def _replay_data(data) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(data, (str, os.PathLike)):
        x, y = _read_npz(Path(data))
    else:
        if len(data) != 2:
            raise GateError(f"Gate data is a pair (x, y); got {len(data)} items.")
        x, y = (np.asarray(a) for a in data)
    if x.dtype == object or y.dtype == object or x.ndim == 0:
        raise GateError(
            f"Replay data x and y are numeric arrays with a row per example; got {x.dtype} and {y.dtype}."
        )
    if len(x) != len(y) or len(x) == 0:
        raise GateError(
            f"Replay data needs as many rows in x as in y, at least one; got x {x.shape}, y {y.shape}."
        )
    return x, y


def predict(artifact, x: np.ndarray) -> np.ndarray:
    """The default signature's single output on `x`, in chunks of 256 rows."""
    outputs = [artifact(x[i : i + _CHUNK]) for i in range(0, len(x), _CHUNK)]
    if isinstance(outputs[0], dict):
        names = sorted(outputs[0])
        raise GateError(
            f"{artifact.path} returns several outputs {names}; the replay gate compares single-output models."
        )
    return np.concatenate([np.asarray(o, dtype=np.float64) for o in outputs])


def evaluate(artifact, x: np.ndarray, y: np.ndarray, metric: str) -> float:
    """`metric` of `artifact`'s predictions on `x` against `y` (see `Gate` for the metrics)."""
    name = metric.lower().removeprefix("val_")
    pred = predict(artifact, x)
    labels = _class_labels(y, pred)
    if name in ("accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy"):
        if labels is None:
            raise GateError(
                f"accuracy needs class labels (integers or one-hot) matching predictions {pred.shape}; got y {y.shape}."
            )
        return float(np.mean(np.argmax(pred, axis=-1) == labels))
    if name in ("sparse_categorical_crossentropy", "crossentropy") or (
        name == "loss" and labels is not None and y.ndim < pred.ndim
    ):
        if labels is None:
            raise GateError(
                f"crossentropy needs class labels matching predictions {pred.shape}; got y {y.shape}."
            )
        return _crossentropy(pred, labels)
    if name in ("loss", "mse", "mean_squared_error", "mae", "mean_absolute_error"):
        target = np.asarray(y, dtype=np.float64)
        if target.size != pred.size:
            raise GateError(
                f"{metric} compares y {y.shape} with predictions {pred.shape}; their sizes differ."
            )
        diff = pred - target.reshape(pred.shape)
        return float(np.mean(np.abs(diff)) if name.endswith(("mae", "absolute_error")) else np.mean(diff**2))
    raise GateError(
        f"The replay gate does not know metric '{metric}'; use accuracy, loss, mse, mae or "
        "sparse_categorical_crossentropy."
    )


def _class_labels(y: np.ndarray, pred: np.ndarray) -> np.ndarray | None:
    """Integer labels from `y` (integers, or one-hot of the prediction's shape), else None."""
    if pred.ndim < 2:
        return None
    if y.shape == pred.shape and y.ndim >= 2:
        return np.argmax(y, axis=-1)
    if y.shape == pred.shape[:-1] and np.issubdtype(y.dtype, np.integer):
        if y.min() < 0 or y.max() >= pred.shape[-1]:
            raise GateError(
                f"Class labels run from 0 to {pred.shape[-1] - 1} for predictions {pred.shape}; y holds {y.min()}..{y.max()}."
            )
        return y.astype(np.int64)
    return None


def _crossentropy(pred: np.ndarray, labels: np.ndarray) -> float:
    probabilities = np.all(pred >= 0) and np.allclose(pred.sum(axis=-1), 1.0, atol=1e-3)
    if probabilities:
        logp = np.log(np.clip(pred, 1e-12, 1.0))
    else:
        shifted = pred - pred.max(axis=-1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(logp, labels[..., None], axis=-1)
    return float(-np.mean(picked))

"""What run.json records about where a run came from: the model, its compile arguments, the
hyper-parameters, and the environment (versions, devices, git commit)."""

from __future__ import annotations

import json
import math
import platform
import subprocess
import sys
from importlib import metadata
from typing import Any


def jsonable(value: Any, depth: int = 0) -> Any:
    """`value` as JSON data: containers kept, numbers and strings as they are, anything else as its repr."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if depth > 8:
        return repr(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, depth + 1) for v in value]
    if hasattr(value, "dtype") and hasattr(value, "shape"):  # numpy and JAX arrays and scalars
        import numpy as np

        array = np.asarray(value)
        if array.size <= 64 and array.dtype.kind in "biuf":
            return jsonable(array.tolist(), depth + 1)
    return repr(value)


def describe_model(model) -> dict:
    """The model's class, name and JSON config (None when it has none, e.g. a subclassed model)."""
    config = None
    try:
        config = json.loads(model.to_json())
    except Exception:  # noqa: BLE001 - a model without a config is still a run worth recording
        config = None
    return {"class": type(model).__name__, "name": getattr(model, "name", None), "config": config}


def describe_compile(model) -> dict | None:
    """`compile()`'s arguments as JSON: the full serialised form when there is one, else their reprs."""
    args = getattr(model, "_compile_args", None)
    if args is None:
        return None
    try:
        from workbench.training.saved_training import compile_config

        return compile_config(model)
    except Exception:  # noqa: BLE001 - custom losses or a raw optax optimizer: record what they are
        return {**jsonable(dict(args)), "optimizer": repr(getattr(model, "optimizer", args.get("optimizer")))}


def learning_rate_of(optimizer) -> Any:
    """The optimizer's configured learning rate: a float, or a schedule's config or repr."""
    rate = getattr(optimizer, "_learning_rate", None)
    if rate is None:
        return None
    if isinstance(rate, (int, float)):
        return float(rate)
    get_config = getattr(rate, "get_config", None)
    if get_config is not None:
        try:
            return {"class": type(rate).__name__, "config": jsonable(get_config())}
        except Exception:  # noqa: BLE001
            pass
    return repr(rate)


def describe_hparams(model, hparams: dict | None, params: dict) -> dict:
    """The hyper-parameters of a run: the given ones, the epoch count, and the optimizer's name and rate."""
    out = jsonable(dict(hparams or {}))
    if params.get("epochs") is not None:
        out.setdefault("epochs", params["epochs"])
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        out.setdefault("optimizer", getattr(optimizer, "name", type(optimizer).__name__))
        out.setdefault("learning_rate", learning_rate_of(optimizer))
    return out


def package_version(dist: str) -> str | None:
    """The installed version of distribution `dist`, or None when it is not installed."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def git_state(cwd: str | None = None, timeout: float = 2.0) -> dict | None:
    """`{"commit", "dirty"}` of the git repository holding `cwd`; None outside one or without git."""

    def git(*args):
        return subprocess.run(
            ("git", "--no-optional-locks") + args,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty}


def environment() -> dict:
    """Versions, platform, devices and git state of this process."""
    import jax
    import numpy as np

    import workbench

    try:
        devices = [str(d) for d in jax.devices()]
    except RuntimeError as e:  # no backend could start; still a run worth recording
        devices = [f"unavailable: {e}"]
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "jax": jax.__version__,
        "jaxlib": package_version("jaxlib"),
        "numpy": np.__version__,
        "workbench": workbench.__version__,
        "backend": jax.default_backend(),
        "devices": devices,
        "git": git_state(),
    }

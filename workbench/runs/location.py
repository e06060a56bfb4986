"""Where runs are written: `runs_dir()` and `set_runs_dir(path)`, and how a new run is named."""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path

_ENV = "WORKBENCH_RUNS_DIR"
_chosen: Path | None = None


def set_runs_dir(path: str | os.PathLike | None) -> None:
    """Write new runs under `path` (and read them from there); None goes back to the default.

    >>> import workbench.runs as runs
    >>> runs.set_runs_dir("/tmp/my-runs"); str(runs.runs_dir())
    '/tmp/my-runs'
    >>> runs.set_runs_dir(None)
    """
    global _chosen
    _chosen = None if path is None else Path(path).expanduser().absolute()


def runs_dir() -> Path:
    """The runs folder: the `set_runs_dir` value, else $WORKBENCH_RUNS_DIR, else `./runs`."""
    if _chosen is not None:
        return _chosen
    env = os.environ.get(_ENV, "").strip()
    return Path(env).expanduser().absolute() if env else Path("runs").absolute()


def _slug(name: str) -> str:
    # Folder names that every file system and a URL accept.
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.")
    return slug[:64] or "run"


def create_run_folder(root: Path, name: str) -> Path:
    """Create and return `root/<UTC YYYYmmdd-HHMMSS>-<name>-<4 hex>`, a folder no other run has."""
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    while True:
        path = root / f"{stamp}-{_slug(name)}-{secrets.token_hex(2)}"
        try:
            path.mkdir()  # atomic: two processes starting a run at once get different folders
            return path
        except FileExistsError:
            continue

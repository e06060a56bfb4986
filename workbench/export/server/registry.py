"""The versions a server holds: loaded from the repository, swapped in and out while requests run.

A background thread rescans the repository every `poll_seconds`. A new
version is loaded and warmed up on that thread, off the request path, and
then published with the model's other versions in one new snapshot. A
request takes a lease on the version it uses; a version that leaves the
repository is retired and unloaded once its last lease is released, so no
request in flight loses its model. A version that fails to load is reported
(state END, with the error) and the others keep serving.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
import os
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from workbench.export.artifact import load
from workbench.export.repository import Repository, read_labels, version_folders
from workbench.export.server.batching import Batcher

log = logging.getLogger("workbench.serve")


@dataclasses.dataclass(frozen=True)
class VersionStatus:
    """One entry of TF Serving's model_version_status."""

    version: int
    state: str  # LOADING, AVAILABLE or END
    error_code: str = "OK"
    error_message: str = ""

    def to_json(self) -> dict:
        return {
            "version": str(self.version),
            "state": self.state,
            "status": {"error_code": self.error_code, "error_message": self.error_message},
        }


class ServedVersion:
    """A loaded artifact plus what serving it needs: leases, and one batcher per signature."""

    def __init__(self, name: str, version: int, artifact, identity: tuple):
        self.name = name
        self.version = version
        self.artifact = artifact
        self.identity = identity
        self.batchers: dict[str, Batcher] = {}  # by signature name, made on first use
        self._leases = 0
        self._retired = False
        self._lock = threading.Lock()
        self.unloaded = threading.Event()

    def acquire(self) -> bool:
        """Take a lease; False once the version has been unloaded."""
        with self._lock:
            if self.unloaded.is_set():
                return False
            self._leases += 1
            return True

    def release(self) -> None:
        """Give a lease back; the last one out of a retired version unloads it."""
        with self._lock:
            self._leases -= 1
            if self._retired and self._leases == 0:
                self._unload()

    def retire(self) -> None:
        """Unload now if idle, else when the last lease is released."""
        with self._lock:
            self._retired = True
            if self._leases == 0:
                self._unload()

    def _unload(self) -> None:
        self.artifact = None
        self.batchers = {}
        self.unloaded.set()


@dataclasses.dataclass(frozen=True)
class ModelState:
    """One model's versions as the server sees them at one moment; replaced whole, never changed."""

    served: dict[int, ServedVersion]
    status: dict[int, VersionStatus]
    labels: dict[str, int]

    def available(self) -> list[int]:
        return sorted(self.served)


def folder_identity(folder: Path) -> tuple:
    """What changes when a version folder is replaced or edited: its inode and every file's size and mtime."""
    files = []
    for dirpath, _, names in os.walk(folder):
        for n in names:
            st = os.stat(os.path.join(dirpath, n))
            files.append((os.path.relpath(os.path.join(dirpath, n), folder), st.st_size, st.st_mtime_ns))
    return (os.stat(folder).st_ino, tuple(sorted(files)))


class ModelRegistry:
    """Every model and version under `root`, kept in step with the repository by `poll()`.

    Args:
        root: the model repository (see `workbench.export.repository`).
        warmup_sizes: batch sizes each batched signature is called with once after
            loading, so the first requests do not pay for compiling.
        on_change: called with (model name, loaded version count) after each change.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        poll_seconds: float = 2.0,
        warmup_sizes: tuple[int, ...] = (1,),
        on_change: Callable[[str, int], None] | None = None,
    ):
        self.root = Path(root)
        self.poll_seconds = poll_seconds
        self.warmup_sizes = warmup_sizes
        self._on_change = on_change or (lambda name, count: None)
        self._models: dict[str, ModelState] = {}
        self._poll_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._counters: dict[str, itertools.count] = {}
        # (name, version) -> identity of the folder that failed to load, so it is retried only once changed
        self._failed: dict[tuple[str, int], tuple] = {}

    # -- reading (request path) ------------------------------------------------------------------------

    def models(self) -> list[str]:
        """The names of the models served, sorted."""
        return sorted(self._models)

    def state(self, name: str) -> ModelState | None:
        """Model `name`'s current snapshot, or None for a model not in the repository."""
        return self._models.get(name)

    def default_version(self, name: str, state: ModelState, canary_share: float = 0.0) -> int | None:
        """The version a request without version or label goes to: stable, else the highest available.

        With `canary_share` > 0 and a `canary` label on another available
        version, that share of the calls (counted exactly, not drawn) goes to the canary.
        """
        stable = state.labels.get("stable")
        chosen = stable if stable in state.served else (state.available() or [None])[-1]
        canary = state.labels.get("canary")
        if canary_share > 0 and canary in state.served and canary != chosen:
            n = next(self._counters.setdefault(name, itertools.count()))
            if math.floor((n + 1) * canary_share) > math.floor(n * canary_share):
                return canary
        return chosen

    # -- polling ---------------------------------------------------------------------------------------

    def start(self) -> None:
        """Poll on a background thread until `stop()`."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._poll_forever, name="workbench-serve-poll", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop polling (after the load in progress, if any)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _poll_forever(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.poll()
            except Exception:  # noqa: BLE001 - the server keeps serving what it has
                log.exception("Polling the model repository %s failed", self.root)

    def poll(self) -> None:
        """Bring the served versions in line with the repository: load new versions, retire removed ones."""
        with self._poll_lock:
            for name in sorted(set(Repository(self.root).models()) | set(self._models)):
                self._poll_model(name)

    def _poll_model(self, name: str) -> None:
        model_dir = self.root / name
        old = self._models.get(name)
        if old is not None and not model_dir.is_dir():
            self._models = {k: v for k, v in self._models.items() if k != name}
            self._failed = {k: v for k, v in self._failed.items() if k[0] != name}
            self._on_change(name, 0)
            for version in old.served.values():
                version.retire()
            return
        old = old or ModelState({}, {}, {})
        folders = version_folders(model_dir)
        labels = old.labels
        try:
            labels = read_labels(model_dir)["labels"]
        except (ValueError, OSError) as e:
            log.warning("Model %s: keeping the labels it had: %s", name, e)
        served = {v: s for v, s in old.served.items() if v in folders}
        status = {v: s for v, s in old.status.items() if v in folders}
        retired = [s for v, s in old.served.items() if v not in folders]
        for version, folder in folders.items():
            try:
                identity = folder_identity(folder)
            except OSError:
                continue  # vanished while scanned: the next poll sees the outcome
            current = served.get(version)
            if identity == (current.identity if current else self._failed.get((name, version))):
                continue
            self._publish(name, served, {**status, version: VersionStatus(version, "LOADING")}, labels)
            loaded, status[version] = self._load(name, version, folder, identity)
            if current is not None:
                retired.append(served.pop(version))
            if loaded is not None:
                served[version] = loaded
                self._failed.pop((name, version), None)
            else:
                self._failed[(name, version)] = identity
        if ModelState(served, dict(sorted(status.items())), labels) != self._models.get(name):
            self._publish(name, served, status, labels)
        for version in retired:
            version.retire()

    def _publish(self, name: str, served: dict, status: dict, labels: dict) -> None:
        self._models = {
            **self._models,
            name: ModelState(dict(served), dict(sorted(status.items())), dict(labels)),
        }
        self._on_change(name, len(served))

    def _load(self, name: str, version: int, folder: Path, identity: tuple):
        try:
            artifact = load(folder)
            for signature in artifact.signatures.values():
                for size in self.warmup_sizes if signature.batched else (1,):
                    signature.call_dict(_zeros(signature, size))
        except Exception as e:  # noqa: BLE001 - any failure is reported in the version's status
            code = "INVALID_ARGUMENT" if isinstance(e, ValueError) else "UNKNOWN"
            log.warning("Model %s version %d failed to load: %s", name, version, e)
            return None, VersionStatus(version, "END", code, str(e) or type(e).__name__)
        log.info("Model %s version %d is available", name, version)
        return ServedVersion(name, version, artifact, identity), VersionStatus(version, "AVAILABLE")


def _zeros(signature, batch: int) -> dict[str, np.ndarray]:
    """Inputs of zeros: symbolic sizes 1, the batch dimension `batch`."""
    out = {}
    for spec in signature.inputs:
        shape = [d if isinstance(d, int) else 1 for d in spec.shape]
        if signature.batched:
            shape[0] = batch
        out[spec.name] = np.zeros(shape, spec.dtype)
    return out

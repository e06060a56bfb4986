"""A model repository laid out as TensorFlow Serving expects: numbered versions and labels per model.

    models/                      the repository root
      digits/                    one model
        1/  2/  3/               one exported artifact per version
        labels.json              {"format": "workbench.labels/1",
                                  "labels": {"stable": 2, "canary": 3},
                                  "history": {"stable": [1]}}

Every change is safe against a server reading the folder at the same time and
against other writers: a pushed artifact is copied into a hidden folder and
renamed to its version number in one step, and labels.json is replaced
atomically while an exclusive lock on `NAME/.lock` is held.

>>> repo = Repository("models")
>>> repo.push("exports/digits", "digits")           # doctest: +SKIP
1
>>> repo.promote("digits", 1)                       # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from workbench.export.artifact import load
from workbench.export.gate import Gate, GateResult

LABELS_FORMAT = "workbench.labels/1"
LABELS_FILE = "labels.json"
LOCK_FILE = ".lock"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_VERSION = re.compile(r"^[1-9][0-9]{0,17}$")


class RepositoryError(ValueError):
    """A repository operation that cannot be done as asked: unknown model, version or label, bad name."""


def check_name(name: str, what: str = "model name") -> str:
    """`name` if it is URL-safe (letters, digits, `_ . -`, starting with a letter or digit), else an error."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise RepositoryError(
            f"A {what} uses letters, digits and _ . - only (it becomes part of a URL), starts with a "
            f"letter or digit and has at most 128 characters; got {name!r}."
        )
    return name


def version_folders(model_dir: Path) -> dict[int, Path]:
    """The folders of `model_dir` named like versions (1, 2, ...), by version number."""
    out = {}
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for entry in os.scandir(model_dir):
            if _VERSION.match(entry.name) and entry.is_dir():
                out[int(entry.name)] = Path(entry.path)
    return dict(sorted(out.items()))


def read_labels(model_dir: Path) -> dict:
    """The parsed labels.json of `model_dir` (empty labels when there is none); refuses a damaged file."""
    path = Path(model_dir) / LABELS_FILE
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {"format": LABELS_FORMAT, "labels": {}, "history": {}}
    try:
        data = json.loads(text)
    except ValueError as e:
        raise RepositoryError(_damaged(path, f"it is not valid JSON ({e})")) from None
    if not isinstance(data, dict) or data.get("format") != LABELS_FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise RepositoryError(_damaged(path, f"expected format {LABELS_FORMAT!r}, found {found!r}"))
    labels, history = data.get("labels", {}), data.get("history", {})
    if not isinstance(labels, dict) or not all(_is_version(v) for v in labels.values()):
        raise RepositoryError(_damaged(path, f"'labels' must map names to versions, found {labels!r}"[:300]))
    if not isinstance(history, dict) or not all(
        isinstance(h, list) and all(_is_version(v) for v in h) for h in history.values()
    ):
        raise RepositoryError(
            _damaged(path, f"'history' must map names to lists of versions, found {history!r}"[:300])
        )
    return {
        "format": LABELS_FORMAT,
        "labels": dict(labels),
        "history": {k: list(v) for k, v in history.items()},
    }


def _is_version(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _damaged(path: Path, why: str) -> str:
    return f"{path} is damaged: {why}. It was left as it is; fix it or delete it to start the labels afresh."


class Repository:
    """Numbered versions of named models under `root`, with labels such as `stable` and `canary`.

    Args:
        root: the repository folder; created on the first push.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"Repository({str(self.root)!r})"

    # -- reading ---------------------------------------------------------------------------------------

    def models(self) -> list[str]:
        """The names of the models in the repository, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(e.name for e in os.scandir(self.root) if e.is_dir() and _NAME.match(e.name))

    def versions(self, name: str) -> list[int]:
        """The versions of model `name`, ascending."""
        return list(version_folders(self._model_dir(name)))

    def labels(self, name: str) -> dict[str, int]:
        """The labels of model `name`, e.g. {"stable": 3, "canary": 4}."""
        return read_labels(self._model_dir(name))["labels"]

    def history(self, name: str) -> dict[str, list[int]]:
        """The versions each label pointed to before, oldest first."""
        return read_labels(self._model_dir(name))["history"]

    def path(self, name: str, version: int) -> Path:
        """The folder of one version; an error when there is no such version."""
        folders = version_folders(self._model_dir(name))
        if version not in folders:
            raise RepositoryError(self._no_version(name, version, list(folders)))
        return folders[version]

    def resolve(self, name: str, version: int | None = None, label: str | None = None) -> int:
        """The version a request for `name` means: `version`, else `label`'s, else stable's, else the highest."""
        versions = self.versions(name)
        if version is not None:
            if version not in versions:
                raise RepositoryError(self._no_version(name, version, versions))
            return version
        labels = self.labels(name)
        if label is not None:
            if label not in labels:
                raise RepositoryError(
                    f"Model '{name}' has no label '{label}'; its labels are {labels or 'none'}."
                )
            return labels[label]
        if "stable" in labels:
            return labels["stable"]
        if not versions:
            raise RepositoryError(f"Model '{name}' has no versions yet in {self.root}; push one first.")
        return versions[-1]

    # -- writing ---------------------------------------------------------------------------------------

    def push(self, artifact_path: str | os.PathLike, name: str, label: str | None = None) -> int:
        """Copy the artifact at `artifact_path` in as the next version of `name`; returns the version.

        The artifact is verified first (`workbench.export.load`), so a damaged
        one is never pushed. With `label`, that label then points to the new version.
        """
        check_name(name)
        if label is not None:
            check_name(label, "label")
        source = Path(artifact_path)
        load(source)
        model_dir = self.root / name
        model_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".push-", dir=model_dir))
        try:
            shutil.copytree(source, staging / "artifact")
            with self._locked(name):
                version = max(version_folders(model_dir), default=0) + 1
                os.rename(staging / "artifact", model_dir / str(version))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        if label is not None:
            self.set_label(name, label, version)
        return version

    def set_label(self, name: str, label: str, version: int) -> None:
        """Point `label` at `version`; the version it pointed to before is kept for `rollback`."""
        check_name(label, "label")

        def change(state: dict) -> None:
            _move_label(state, label, version)

        self._update_labels(name, change, needs=version)

    def promote(
        self, name: str, version: int, label: str = "stable", gate: Gate | None = None
    ) -> GateResult | None:
        """Point `label` (default `stable`) at `version`, after the promotion `gate` (if any) agrees.

        The gate compares the candidate with the version the label points to
        now and raises `GateError`, showing both figures, when it is worse.
        Returns the gate's comparison, or None without a gate or a current version.
        """
        check_name(label, "label")
        candidate = self.path(name, version)
        current = self.labels(name).get(label)
        result = None
        if gate is not None and current is not None and current != version:
            result = gate.check(
                candidate, self.path(name, current), candidate_version=version, current_version=current
            )

        def change(state: dict) -> None:
            now = state["labels"].get(label)
            if result is not None and now != current:
                raise RepositoryError(
                    f"Label '{label}' of model '{name}' moved from {current} to {now} while the gate ran; "
                    "promote again to compare against the new version."
                )
            _move_label(state, label, version)

        self._update_labels(name, change, needs=version)
        return result

    def rollback(self, name: str, label: str = "stable") -> int:
        """Move `label` back to the version it pointed to before; returns that version."""
        moved = {}

        def change(state: dict) -> None:
            history = state["history"].get(label) or []
            if not history:
                now = state["labels"].get(label)
                where = f"points to version {now}" if now is not None else "is not set"
                raise RepositoryError(
                    f"Cannot roll back label '{label}' of model '{name}': it {where} and has no previous version."
                )
            moved["version"] = history.pop()
            state["labels"][label] = moved["version"]
            if not history:
                del state["history"][label]

        self._update_labels(name, change)
        return moved["version"]

    def remove_label(self, name: str, label: str) -> None:
        """Delete `label` and its history."""

        def change(state: dict) -> None:
            if label not in state["labels"]:
                raise RepositoryError(
                    f"Model '{name}' has no label '{label}'; its labels are {state['labels'] or 'none'}."
                )
            del state["labels"][label]
            state["history"].pop(label, None)

        self._update_labels(name, change)

    def remove(self, name: str, version: int, force: bool = False) -> None:
        """Delete one version; refuses one a label points to unless `force` (which drops those labels).

        The version also leaves every label's history, so a rollback never
        lands on a deleted version.
        """
        model_dir = self._model_dir(name)
        trash = None

        def change(state: dict) -> None:
            nonlocal trash
            folders = version_folders(model_dir)
            if version not in folders:
                raise RepositoryError(self._no_version(name, version, list(folders)))
            pointing = sorted(k for k, v in state["labels"].items() if v == version)
            if pointing and not force:
                raise RepositoryError(
                    f"Version {version} of model '{name}' is what label(s) {pointing} point to; promote or roll "
                    "back those labels first, or force the removal (which deletes the labels too)."
                )
            for key in pointing:
                del state["labels"][key]
                state["history"].pop(key, None)
            for key in list(state["history"]):
                state["history"][key] = [v for v in state["history"][key] if v != version]
                if not state["history"][key]:
                    del state["history"][key]
            # Renaming first makes the version vanish in one step for a server scanning the folder.
            trash = Path(tempfile.mkdtemp(prefix=".remove-", dir=model_dir))
            os.rename(folders[version], trash / "artifact")

        try:
            self._update_labels(name, change)
        finally:
            if trash is not None:
                shutil.rmtree(trash, ignore_errors=True)

    # -- internals -------------------------------------------------------------------------------------

    def _model_dir(self, name: str) -> Path:
        check_name(name)
        path = self.root / name
        if not path.is_dir():
            known = ", ".join(self.models()) or "none"
            raise RepositoryError(f"There is no model '{name}' in {self.root} (models: {known}).")
        return path

    def _no_version(self, name: str, version, versions: list[int]) -> str:
        return f"Model '{name}' has no version {version}; its versions are {versions or 'none yet'}."

    @contextlib.contextmanager
    def _locked(self, name: str) -> Iterator[None]:
        """An exclusive lock on model `name`, shared by every process that changes it."""
        with open(self.root / name / LOCK_FILE, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _update_labels(self, name: str, change: Callable[[dict], None], needs: int | None = None) -> None:
        """Read labels.json, apply `change` and write it back atomically, all under the model's lock."""
        model_dir = self._model_dir(name)
        with self._locked(name):
            if needs is not None and needs not in version_folders(model_dir):
                raise RepositoryError(self._no_version(name, needs, self.versions(name)))
            state = read_labels(model_dir)
            before = json.dumps(state, sort_keys=True)
            change(state)
            if json.dumps(state, sort_keys=True) != before:
                _write_atomically(model_dir / LABELS_FILE, json.dumps(state, indent=2, sort_keys=True) + "\n")


def _move_label(state: dict, label: str, version: int) -> None:
    previous = state["labels"].get(label)
    if previous == version:
        return
    if previous is not None:
        state["history"].setdefault(label, []).append(previous)
    state["labels"][label] = version


def _write_atomically(path: Path, text: str) -> None:
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise

"""The on-disk form of `Dataset.cache(path)`: plain .npy files and JSON, never pickle.

A cache is a folder holding `cache.json` (format, element count, which elements a
filter dropped, the element structure) and either one `leafK.npy` per leaf with
every element stacked (memory-mapped when read), or, when elements differ in
shape, `elements.npz` with one array per element and leaf. It is written under a
temporary name and renamed into place, so a reader sees the whole cache or none.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import numpy as np

from workbench.data import structure

FORMAT = "workbench-dataset-cache-1"


def _describe(element):
    """The nesting of an element as JSON: tuples, dicts with str keys, and leaf markers."""
    if isinstance(element, tuple):
        return {"tuple": [_describe(e) for e in element]}
    if isinstance(element, dict):
        for key in element:
            if not isinstance(key, str):
                raise TypeError(f"Dataset.cache(path) stores dicts with str keys only; got key {key!r}.")
        return {"dict": [[k, _describe(v)] for k, v in element.items()]}
    return {"leaf": "str" if isinstance(element, str) else "array"}


def _template(description):
    """An element shaped like the description, leaves marked by their kind (for `_rebuild`)."""
    if "tuple" in description:
        return tuple(_template(d) for d in description["tuple"])
    if "dict" in description:
        return {k: _template(d) for k, d in description["dict"]}
    return description["leaf"]


def _leaf_kinds(description) -> list[str]:
    return structure.flatten(_template(description))


def _restore_leaf(value: np.ndarray, kind: str):
    return str(value) if kind == "str" else value


def write_cache(path: str, elements: list) -> None:
    """Store `elements` (None for ones a filter dropped) under the folder `path`, atomically."""
    final = Path(path)
    if final.exists():
        return
    kept = [e for e in elements if e is not None]
    meta = {"format": FORMAT, "count": len(elements), "kept": [e is not None for e in elements],
            "structure": _describe(kept[0]) if kept else {"leaf": "array"}}
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        try:
            stacked = structure.stack(kept) if kept else None
        except ValueError:
            stacked = None
        if stacked is not None:
            leaves = structure.flatten(stacked)
            for k, leaf in enumerate(leaves):
                np.save(tmp / f"leaf{k}.npy", np.asarray(leaf), allow_pickle=False)
            meta["layout"] = "stacked"
        else:
            arrays = {f"e{i}_{k}": np.asarray(leaf) for i, e in enumerate(kept)
                      for k, leaf in enumerate(structure.flatten(e))}
            np.savez(tmp / "elements.npz", **arrays)
            meta["layout"] = "elements"
        (tmp / "cache.json").write_text(json.dumps(meta))
        os.replace(tmp, final)
    except OSError:  # another writer finished first, or the disk refused: no partial cache is left
        shutil.rmtree(tmp, ignore_errors=True)
        if not final.exists():
            raise


class StoredElements:
    """Element `j` of a stored cache (None where a filter dropped it)."""

    def __init__(self, folder: Path, meta: dict):
        self.count = meta["count"]
        positions = np.cumsum(meta["kept"]) - 1
        self._position = [int(p) if k else None for p, k in zip(positions, meta["kept"])]
        self._template = _template(meta["structure"])
        self._kinds = _leaf_kinds(meta["structure"])
        if meta["layout"] == "stacked":
            self._leaves = [np.load(folder / f"leaf{k}.npy", mmap_mode="r", allow_pickle=False)
                            for k in range(len(self._kinds))]
            self._archive = None
        else:
            self._leaves = None
            self._archive = np.load(folder / "elements.npz", allow_pickle=False)
            self._lock = threading.Lock()

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, j: int):
        p = self._position[j]
        if p is None:
            return None
        if self._leaves is not None:
            values = [np.array(leaf[p]) for leaf in self._leaves]
        else:
            with self._lock:
                values = [self._archive[f"e{p}_{k}"] for k in range(len(self._kinds))]
        leaves = [_restore_leaf(v, kind) for v, kind in zip(values, self._kinds)]
        return structure._rebuild(self._template, leaves)


def load_cache(path: str, expected: int | None) -> StoredElements | None:
    """The cache stored under `path`, or None if there is none; refuses one of another size or format."""
    folder = Path(path)
    meta_file = folder / "cache.json"
    if not meta_file.exists():
        return None
    meta = json.loads(meta_file.read_text())
    if meta.get("format") != FORMAT:
        raise ValueError(f"Dataset.cache: {folder} is not a dataset cache written by this library "
                         f"(format {meta.get('format')!r}); give cache() a new path or delete that folder.")
    if expected is not None and expected >= 0 and meta["count"] != expected:
        raise ValueError(f"Dataset.cache: the cache at {folder} holds {meta['count']} elements but this dataset "
                         f"has {expected}; it was written for a different dataset. Delete it or use a new path.")
    return StoredElements(folder, meta)

"""A fingerprint of a fit's data, for run.json: shapes, dtypes and a sha256 of the bytes.

Two runs with the same fingerprint trained on the same arrays. Arrays larger
than `LIMIT_BYTES` together are hashed on a deterministic sample of rows
(evenly spaced, always including the first and last), and the result says so.
A `workbench.data.Dataset` is described by its repr and cardinality only:
reading it would consume it or take as long as an epoch.
"""

from __future__ import annotations

import collections.abc
import hashlib
from typing import Any

import jax
import numpy as np

LIMIT_BYTES = 64 * 2**20


def _is_leaf(value) -> bool:
    # [0, 1, 2] or [[0.5, 1.0], ...] is one array of labels or values, not a list of inputs; a generator or
    # other one-shot iterator is one opaque source.
    if isinstance(value, list):
        return bool(value) and isinstance(value[0], (bool, int, float, list))
    return isinstance(value, collections.abc.Iterator)


def _leaves(name: str, tree) -> list[tuple[str, Any]]:
    pairs = jax.tree_util.tree_flatten_with_path(tree, is_leaf=_is_leaf)[0]
    return [(name + jax.tree_util.keystr(path), leaf) for path, leaf in pairs]


def _bytes_of(a: np.ndarray) -> bytes:
    if a.dtype == object:  # the pointers are meaningless; hash the values' text
        return "\x00".join(map(str, a.ravel().tolist())).encode()
    return np.ascontiguousarray(a).tobytes()


def _describe_other(value) -> dict:
    from workbench.data import Dataset

    if isinstance(value, Dataset):
        return {"kind": "dataset", "repr": repr(value), "cardinality": int(value.cardinality())}
    return {"kind": "other", "type": type(value).__name__, "repr": repr(value)[:200]}


def fingerprint(x, y=None) -> dict:
    """Describe `x` (and `y`) well enough to tell whether two runs saw the same data.

    `x` and `y` are arrays or nested dicts/lists/tuples of arrays, or a
    `workbench.data.Dataset` (or another iterable, which is not read).

    >>> import numpy as np
    >>> fp = fingerprint(np.zeros((4, 2), "float32"), np.arange(4))
    >>> fp["arrays"]["x"], fp["sampled"]
    ({'shape': [4, 2], 'dtype': 'float32'}, False)
    >>> fp == fingerprint(np.zeros((4, 2), "float32"), np.arange(4))
    True
    """
    parts = [("x", x)] + ([] if y is None else [("y", y)])
    leaves = []
    for name, tree in parts:
        for path, leaf in _leaves(name, tree):
            if not isinstance(leaf, (np.ndarray, np.generic, jax.Array, int, float, bool, list)):
                return _describe_other(x)
            leaves.append((path, np.asarray(leaf)))
    total = sum(a.nbytes for _, a in leaves)
    sampled = total > LIMIT_BYTES
    digest = hashlib.sha256()
    rows, hashed = None, None
    for path, a in leaves:
        digest.update(f"{path}|{a.shape}|{a.dtype.str}\n".encode())
        if sampled and a.ndim >= 1 and len(a) > 1:
            keep = max(2, int(len(a) * LIMIT_BYTES / total))
            index = np.unique(np.linspace(0, len(a) - 1, keep).astype(np.int64))
            rows, hashed = len(a), len(index)
            digest.update(f"rows {len(index)} of {len(a)}\n".encode())
            a = a[index]
        digest.update(_bytes_of(a))
    out = {
        "kind": "arrays",
        "arrays": {path: {"shape": list(a.shape), "dtype": str(a.dtype)} for path, a in leaves},
        "bytes": int(total),
        "sha256": digest.hexdigest(),
        "sampled": sampled,
    }
    if sampled:
        out["note"] = (
            f"the arrays hold {total / 2**20:.0f} MB, over {LIMIT_BYTES // 2**20} MB: the hash "
            f"covers {hashed} evenly spaced rows of {rows}"
        )
        out["rows"], out["rows_hashed"] = rows, hashed
    return out

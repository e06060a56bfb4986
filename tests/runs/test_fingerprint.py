"""fingerprint: the same data gives the same fingerprint, different data a different one."""

from __future__ import annotations

import importlib

import numpy as np

from workbench.data import Dataset
from workbench.runs import fingerprint

fingerprint_mod = importlib.import_module("workbench.runs.fingerprint")  # the module, not the function


def test_same_data_same_fingerprint_and_any_change_shows():
    x = np.arange(24, dtype="float32").reshape(6, 4)
    y = np.arange(6)
    fp = fingerprint(x, y)
    assert fp["kind"] == "arrays" and fp["sampled"] is False and fp["bytes"] == x.nbytes + y.nbytes
    assert fp["arrays"] == {"x": {"shape": [6, 4], "dtype": "float32"}, "y": {"shape": [6], "dtype": "int64"}}
    assert fingerprint(x.copy(), y.copy()) == fp
    changed = x.copy()
    changed[3, 1] += 1
    assert fingerprint(changed, y)["sha256"] != fp["sha256"]
    assert fingerprint(x.astype("float64"), y)["sha256"] != fp["sha256"]
    assert fingerprint(x.reshape(4, 6), y)["sha256"] != fp["sha256"]
    assert fingerprint(x)["sha256"] != fp["sha256"]


def test_nested_inputs_are_named_by_path():
    fp = fingerprint({"image": np.zeros((2, 3)), "label": [np.ones(2), np.zeros(2)]})
    assert sorted(fp["arrays"]) == ["x['image']", "x['label'][0]", "x['label'][1]"]
    labels = fingerprint(np.zeros((3, 2)), [0, 2, 1])  # a plain list of labels is one array
    assert labels["arrays"]["y"] == {"shape": [3], "dtype": "int64"}


def test_large_arrays_are_hashed_on_a_sample_of_rows(monkeypatch):
    monkeypatch.setattr(fingerprint_mod, "LIMIT_BYTES", 4000)
    x = np.arange(10_000, dtype="float32").reshape(1000, 10)
    fp = fingerprint(x)
    assert fp["sampled"] is True and fp["rows"] == 1000 and fp["rows_hashed"] == 100
    assert "100 evenly spaced rows of 1000" in fp["note"]
    assert fingerprint(x.copy()) == fp
    sampled_row, other_row = x.copy(), x.copy()
    sampled_row[0, 0] = -1  # the first row is always in the sample
    other_row[1, 0] = -1  # the second is not, with 100 of 1000 rows kept
    assert fingerprint(sampled_row)["sha256"] != fp["sha256"]
    assert fingerprint(other_row)["sha256"] == fp["sha256"]


def test_a_dataset_is_described_not_read():
    ds = Dataset.range(10).batch(4)
    fp = fingerprint(ds)
    assert fp == {"kind": "dataset", "repr": repr(ds), "cardinality": 3}

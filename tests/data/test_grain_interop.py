"""grain datasets plug into a Dataset; a grain stream's own state is what the iterator saves."""

from __future__ import annotations

import json

import grain
import pytest

from workbench.data import Dataset


def test_a_grain_map_dataset_is_a_random_access_source():
    source = grain.MapDataset.range(10).map(lambda i: i * 3)
    ds = Dataset.from_grain(source).shuffle(10, seed=0).batch(4)
    out = [b.tolist() for b in ds]
    assert sorted(v for b in out for v in b) == [i * 3 for i in range(10)] and [len(b) for b in out] == [4, 4, 2]


def test_a_grain_iter_dataset_resumes_from_its_saved_state():
    stream = grain.MapDataset.range(12).shuffle(seed=4).to_iter_dataset()
    ds = Dataset.from_grain(stream).map(lambda i: i + 100)
    reference = [int(v) for v in ds.iterator(0)]
    it = ds.iterator(0)
    head = [int(next(it)) for _ in range(5)]
    state = json.loads(json.dumps(it.get_state()))
    resumed = ds.iterator(0)
    resumed.set_state(state)
    assert head + [int(v) for v in resumed] == reference


def test_other_objects_are_refused():
    with pytest.raises(TypeError, match="grain.MapDataset or grain.IterDataset, got list"):
        Dataset.from_grain([1, 2])

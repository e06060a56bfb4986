"""Worker processes compute a random-access pipeline with the same order, results and states."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.data import Dataset


def _python_heavy(v):
    total = 0
    for i in range(2000):
        total += i % 7
    return v * 2 + total


def _fails_on_five(v):
    if v == 5:
        raise ArithmeticError("element five is bad")
    return v


def test_worker_processes_give_the_same_elements_and_resumable_states():
    ds = Dataset.range(60).map(_python_heavy).random_map(lambda v, rng: v + rng.integers(10), seed=3)
    ds = ds.shuffle(20, seed=1).batch(4)
    reference = [b.tolist() for b in ds.iterator(0)]
    parallel = ds.with_workers(2)
    it = parallel.iterator(0)
    head = [next(it).tolist() for _ in range(5)]
    state = it.get_state()
    assert head + [b.tolist() for b in it] == reference
    again = parallel.iterator(3)
    again.set_state(state)
    assert [b.tolist() for b in again] == reference[5:]
    with pytest.raises(ArithmeticError, match="element five is bad"):
        list(Dataset.range(8).map(_fails_on_five).with_workers(2))


def test_streams_cannot_be_split_across_processes():
    with pytest.raises(ValueError, match="with_workers needs a random-access pipeline .* a stream"):
        Dataset.from_generator(lambda: iter(range(3))).with_workers(2)
    with pytest.raises(ValueError, match="num_workers must be >= 1"):
        Dataset.range(3).with_workers(0)
    assert np.array_equal(list(Dataset.range(3).prefetch(1)), [0, 1, 2])

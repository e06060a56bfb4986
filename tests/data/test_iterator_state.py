"""Iterator states: saved after any element, restored in a new iterator (even in a new process's
dataset, through JSON), the rest of the pass is exactly the same."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

from workbench.data import Dataset


def _noise(x, rng):
    return x + rng.integers(0, 1000)


def _pipelines():
    x = np.arange(40)
    tensors = Dataset.from_tensor_slices(x)
    stream = Dataset.from_generator(lambda: iter(range(40)))
    return {
        "slices-shuffle-random_map-batch": tensors.shuffle(16, seed=1).random_map(_noise, seed=2).batch(3),
        "parallel-map": tensors.map(lambda v: v * 2, num_parallel_calls=3).batch(4),
        "filter-batch": tensors.filter(lambda v: v % 3 != 0).batch(4),
        "repeat-shuffle": tensors.repeat(3).shuffle(30, seed=5).take(70),
        "shuffle-repeat": tensors.shuffle(40, seed=5).repeat(3),
        "stream-shuffle-map": stream.shuffle(8, seed=3).map(lambda v: v + 1, num_parallel_calls=2).batch(5),
        "stream-random_map-repeat": stream.random_map(_noise, seed=4).repeat(2),
        "interleave": Dataset.range(6).interleave(lambda i: Dataset.range(i * 10, i * 10 + i), cycle_length=3,
                                                  block_length=2),
        "bucket": stream.map(lambda v: np.arange(v % 7)).bucket_by_sequence_length(
            len, [2, 4], [3, 2, 2]),
        "zip-concat": Dataset.zip(tensors, stream).concatenate(Dataset.zip(tensors.take(3), stream.take(3))),
        "prefetch": tensors.map(lambda v: v * v).batch(3).prefetch(2),
        "skip-shard": stream.skip(3).shard(2, 1),
        "cache": tensors.random_map(_noise, seed=9).cache().shuffle(10, seed=1),
    }


def _same(a, b) -> bool:
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    return len(la) == len(lb) and all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(la, lb))


@pytest.mark.parametrize("name", sorted(_pipelines()))
def test_restored_iterator_continues_exactly(name):
    ds = _pipelines()[name]
    reference = list(ds.iterator(1))
    assert len(reference) > 4
    for cut in (0, 1, len(reference) // 2, len(reference) - 1, len(reference)):
        it = ds.iterator(1)
        for _ in range(cut):
            next(it)
        state = json.loads(json.dumps(it.get_state()))
        rest_in_place = list(it)
        fresh = _pipelines()[name].iterator(0)  # another pass: set_state moves it to the saved pass
        fresh.set_state(state)
        rest = list(fresh)
        assert len(rest) == len(reference) - cut, (name, cut)
        assert all(_same(a, b) for a, b in zip(rest, reference[cut:])), (name, cut)
        assert all(_same(a, b) for a, b in zip(rest_in_place, reference[cut:])), (name, cut)


def test_pass_number_is_part_of_the_state():
    ds = Dataset.range(20).shuffle(20, seed=0)
    first = iter(ds)
    next(first)
    state = first.get_state()
    second = iter(ds)  # the next pass, with another order
    assert list(second) != list(ds.iterator(0))
    second.set_state(state)
    assert list(second) == list(ds.iterator(0))[1:]


def test_a_malformed_state_is_refused():
    it = iter(Dataset.range(3))
    with pytest.raises(ValueError, match="expects a state from get_state"):
        it.set_state({"next": 1})

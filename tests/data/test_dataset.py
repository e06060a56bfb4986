"""Each Dataset transformation against tf.data's meaning, on small cases worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.data import INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, Dataset, TensorSpec


def ints(ds) -> list:
    return [int(e) for e in ds]


def rows(ds) -> list:
    return [np.asarray(e).tolist() for e in ds]


def gen(elements):
    return Dataset.from_generator(lambda: iter(elements))


def test_from_tensor_slices_structures():
    x, y = np.arange(6).reshape(3, 2), np.array([7, 8, 9])
    assert [(a.tolist(), int(b)) for a, b in Dataset.from_tensor_slices((x, y))] == [
        ([0, 1], 7), ([2, 3], 8), ([4, 5], 9)]
    out = list(Dataset.from_tensor_slices({"b": y, "a": x}))
    assert list(out[0]) == ["b", "a"] and out[1]["a"].tolist() == [2, 3] and int(out[2]["b"]) == 9
    assert rows(Dataset.from_tensor_slices([[1, 2], [3, 4]])) == [[1, 2], [3, 4]]
    assert rows(Dataset.from_tensors(np.arange(3))) == [[0, 1, 2]]


def test_range_forms_and_cardinality():
    assert ints(Dataset.range(4)) == [0, 1, 2, 3]
    assert ints(Dataset.range(2, 8, 3)) == [2, 5]
    assert ints(Dataset.range(5, 0, -2)) == [5, 3, 1]
    assert Dataset.range(10).cardinality() == 10 and len(Dataset.range(10)) == 10


def test_batch_remainder_and_drop_remainder():
    assert rows(Dataset.range(10).batch(3)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert rows(Dataset.range(10).batch(3, drop_remainder=True)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert Dataset.range(10).batch(3).cardinality() == 4
    assert Dataset.range(10).batch(3, drop_remainder=True).cardinality() == 3
    # the same through the streaming path
    assert rows(gen(range(10)).batch(3)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert rows(gen(range(10)).batch(3, drop_remainder=True)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]


def test_batch_of_dicts_keeps_each_key_with_its_values():
    ds = Dataset.range(3).map(lambda i: {"x": i, "name": str(i)}).batch(2)
    first = next(iter(ds))
    assert first["x"].tolist() == [0, 1] and first["name"].tolist() == ["0", "1"]
    assert list(first) == ["x", "name"]


def test_padded_batch_pads_to_longest_or_given_shape_with_values():
    elements = [np.array([1]), np.array([2, 2]), np.array([3, 3, 3])]
    assert rows(gen(elements).padded_batch(3)) == [[[1, 0, 0], [2, 2, 0], [3, 3, 3]]]
    assert rows(gen(elements).padded_batch(2)) == [[[1, 0], [2, 2]], [[3, 3, 3]]]
    assert rows(gen(elements).padded_batch(2, padded_shapes=[4], padding_values=-1)) == [
        [[1, -1, -1, -1], [2, 2, -1, -1]], [[3, 3, 3, -1]]]
    strings = [("a", np.array([1.0])), ("bb", np.array([1.0, 2.0]))]
    text, values = next(iter(gen(strings).padded_batch(2, padding_values=("", 9.0))))
    assert text.tolist() == ["a", "bb"] and values.tolist() == [[1.0, 9.0], [1.0, 2.0]]
    with pytest.raises(ValueError, match="longer than the padded shape"):
        list(gen(elements).padded_batch(3, padded_shapes=[2]))


def test_bucket_by_sequence_length_as_tf_data_documents():
    elements = [[0], [1, 2, 3, 4], [5, 6, 7], [7, 8, 9, 10, 11], [13, 14, 15, 16, 19, 20], [21, 22]]
    ds = gen([np.array(e) for e in elements]).bucket_by_sequence_length(
        lambda e: len(e), bucket_boundaries=[3, 5], bucket_batch_sizes=[2, 2, 2])
    assert rows(ds) == [[[1, 2, 3, 4], [5, 6, 7, 0]], [[7, 8, 9, 10, 11, 0], [13, 14, 15, 16, 19, 20]],
                        [[0, 0], [21, 22]]]
    padded = gen([np.array(e) for e in elements]).bucket_by_sequence_length(
        lambda e: len(e), bucket_boundaries=[4, 7], bucket_batch_sizes=[2, 2, 2], pad_to_bucket_boundary=True,
        padding_values=-1)
    assert rows(padded) == [[[0, -1, -1], [5, 6, 7]], [[1, 2, 3, 4, -1, -1], [7, 8, 9, 10, 11, -1]],
                            [[21, 22, -1]], [[13, 14, 15, 16, 19, 20]]]
    with pytest.raises(ValueError, match="len\\(bucket_boundaries\\) \\+ 1"):
        gen([]).bucket_by_sequence_length(len, [3, 5], [2, 2])


def test_repeat_take_skip_interplay():
    assert ints(Dataset.range(5).repeat(2).take(7)) == [0, 1, 2, 3, 4, 0, 1]
    assert ints(Dataset.range(5).take(3).repeat(2)) == [0, 1, 2, 0, 1, 2]
    assert ints(Dataset.range(5).skip(3).repeat(2)) == [3, 4, 3, 4]
    assert ints(Dataset.range(5).repeat().skip(3).take(4)) == [3, 4, 0, 1]
    assert ints(Dataset.range(5).take(-1)) == [0, 1, 2, 3, 4]
    assert ints(Dataset.range(5).skip(-1)) == [] and Dataset.range(5).skip(-1).cardinality() == 0
    assert ints(Dataset.range(3).repeat(0)) == []
    assert Dataset.range(5).repeat().cardinality() == INFINITE_CARDINALITY
    assert Dataset.range(5).repeat().take(12).cardinality() == 12
    assert ints(gen(range(3)).repeat(2).take(5)) == [0, 1, 2, 0, 1]
    assert ints(gen(range(5)).skip(2).take(2)) == [2, 3]
    assert rows(Dataset.range(4).repeat().batch(3).take(3)) == [[0, 1, 2], [3, 0, 1], [2, 3, 0]]


def test_shard_keeps_every_nth_from_index():
    assert ints(Dataset.range(10).shard(3, 1)) == [1, 4, 7]
    assert Dataset.range(10).shard(3, 0).cardinality() == 4
    assert ints(gen(range(10)).shard(3, 2)) == [2, 5, 8]
    with pytest.raises(ValueError, match="shard index"):
        Dataset.range(3).shard(2, 2)


def test_filter_map_and_tuple_arguments():
    assert rows(Dataset.range(10).filter(lambda i: i % 2 == 0).batch(2)) == [[0, 2], [4, 6], [8]]
    assert Dataset.range(10).filter(lambda i: i > 3).cardinality() == UNKNOWN_CARDINALITY
    pairs = Dataset.from_tensor_slices((np.arange(4), np.arange(4) * 10)).map(lambda a, b: a + b)
    assert ints(pairs) == [0, 11, 22, 33]
    assert ints(Dataset.range(6).filter(lambda i: i % 3 == 0).take(1)) == [0]
    assert ints(Dataset.range(6).map(lambda i: i * 2, num_parallel_calls=3)) == [0, 2, 4, 6, 8, 10]
    assert ints(gen(range(6)).map(lambda i: i + 1, num_parallel_calls=2)) == [1, 2, 3, 4, 5, 6]


def test_zip_and_concatenate():
    assert [(int(a), int(b)) for a, b in Dataset.zip(Dataset.range(3), Dataset.range(10, 15))] == [
        (0, 10), (1, 11), (2, 12)]
    nested = list(Dataset.zip({"a": Dataset.range(2), "b": gen([5, 6, 7])}))
    assert [(int(e["a"]), int(e["b"])) for e in nested] == [(0, 5), (1, 6)]
    assert ints(Dataset.range(3).concatenate(Dataset.range(7, 9))) == [0, 1, 2, 7, 8]
    assert Dataset.range(3).concatenate(Dataset.range(7, 9)).cardinality() == 5
    assert ints(gen([1]).concatenate(Dataset.range(2))) == [1, 0, 1]


def test_interleave_follows_tf_data_cycle_and_block_order():
    ds = Dataset.range(1, 6).interleave(lambda x: Dataset.from_tensors(x).repeat(6), cycle_length=2,
                                        block_length=4)
    assert ints(ds) == [1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 3, 3, 4, 4,
                        5, 5, 5, 5, 5, 5]
    assert ints(Dataset.range(3).flat_map(lambda x: Dataset.range(x))) == [0, 0, 1]
    with pytest.raises(TypeError, match="must return a Dataset"):
        list(Dataset.range(2).interleave(lambda x: [x], cycle_length=1))


def test_shuffle_is_a_buffer_shuffle_deterministic_per_seed():
    def order(ds):
        return ints(ds)

    base = Dataset.range(50)
    a = order(base.shuffle(10, seed=4))
    assert sorted(a) == list(range(50)) and a != list(range(50))
    assert a == order(base.shuffle(10, seed=4)) and a != order(base.shuffle(10, seed=5))
    # tf.data's buffer: the k-th output was among the first k + buffer_size inputs
    assert all(v < k + 10 for k, v in enumerate(a))
    assert order(base.shuffle(1, seed=0)) == list(range(50))
    # streams and arrays with the same elements and seed shuffle the same way (buffer below the size)
    assert order(gen(range(50)).shuffle(10, seed=4)) == a
    full = order(base.shuffle(50, seed=4))
    assert sorted(full) == list(range(50)) and full == order(base.shuffle(1000, seed=4))


def test_shuffle_reshuffles_each_pass_unless_told_not_to():
    ds = Dataset.range(20).shuffle(20, seed=1)
    first, second = ints(ds), ints(ds)
    assert first != second and sorted(first) == sorted(second)
    fixed = Dataset.range(20).shuffle(20, seed=1, reshuffle_each_iteration=False)
    assert ints(fixed) == ints(fixed)
    # a repeat after a shuffle reshuffles within each repetition; epochs never mix
    out = ints(Dataset.range(6).shuffle(6, seed=2).repeat(3))
    assert [sorted(out[i:i + 6]) for i in (0, 6, 12)] == [list(range(6))] * 3
    assert len({tuple(out[i:i + 6]) for i in (0, 6, 12)}) > 1
    assert ints(Dataset.range(6).shuffle(6, seed=2, reshuffle_each_iteration=False).repeat(2))[:6] == \
        ints(Dataset.range(6).shuffle(6, seed=2, reshuffle_each_iteration=False).repeat(2))[6:]


def test_unseeded_shuffle_follows_numpy_global_seed():
    np.random.seed(3)
    a = ints(Dataset.range(30).shuffle(30))
    np.random.seed(3)
    assert ints(Dataset.range(30).shuffle(30)) == a


def test_random_map_is_reproducible_new_each_pass_and_the_same_in_streams():
    def noisy(i, rng):
        return i * 1000 + int(rng.integers(0, 1000))

    ds = Dataset.range(8).random_map(noisy, seed=11)
    one, two = ints(ds), ints(ds)
    assert one != two
    assert ints(Dataset.range(8).random_map(noisy, seed=11)) == one
    assert [v // 1000 for v in one] == list(range(8))
    repeated = ints(Dataset.range(8).random_map(noisy, seed=11).repeat(2))
    assert repeated[:8] == one and repeated[8:] != one


def test_cache_in_memory_freezes_random_stages_and_on_disk_serves_a_later_run(tmp_path):
    calls = []

    def counted(i, rng):
        calls.append(int(i))
        return i * 100 + int(rng.integers(0, 100))

    cached = Dataset.range(5).random_map(counted, seed=0).cache()
    assert ints(cached) == ints(cached) and len(calls) == 5

    path = tmp_path / "cache"
    first = ints(Dataset.range(6).random_map(counted, seed=1).cache(str(path)))
    assert (path / "cache.json").exists()
    calls.clear()
    again = ints(Dataset.range(6).random_map(counted, seed=1).cache(str(path)))
    assert again == first and calls == []
    with pytest.raises(ValueError, match="holds 6 elements but this dataset has 4"):
        ints(Dataset.range(4).cache(str(path)))
    mixed = tmp_path / "mixed"  # varying shapes, strings and dicts are stored without pickle
    elements = [{"text": "ab", "ids": np.arange(2)}, {"text": "c", "ids": np.arange(3)}]
    written = list(gen(elements).cache(str(mixed)))
    again = list(gen([]).cache(str(mixed)))
    assert [e["text"] for e in again] == ["ab", "c"] and [e["ids"].tolist() for e in again] == [[0, 1], [0, 1, 2]]
    assert len(written) == 2 and (mixed / "elements.npz").exists()
    assert ints(Dataset.range(6).filter(lambda i: i % 2 == 1).cache(str(tmp_path / "odd"))) == [1, 3, 5]
    assert ints(Dataset.range(6).filter(lambda i: False).cache(str(tmp_path / "odd"))) == [1, 3, 5]
    stream_path = tmp_path / "stream-cache"
    streamed = ints(gen(range(4)).map(lambda i: i + 1).cache(str(stream_path)))
    assert streamed == [1, 2, 3, 4] and ints(gen([]).cache(str(stream_path))) == [1, 2, 3, 4]


def test_prefetch_gives_the_same_elements():
    assert ints(Dataset.range(20).map(lambda i: i * 3).prefetch(4)) == [i * 3 for i in range(20)]
    assert ints(gen(range(7)).prefetch(2)) == list(range(7))


def test_element_spec_and_cardinality_after_transformations():
    x = np.zeros((10, 3), "float32")
    ds = Dataset.from_tensor_slices((x, np.arange(10)))
    assert ds.element_spec == (TensorSpec((3,), "float32"), TensorSpec((), "int64"))
    assert ds.batch(4).element_spec[0] == TensorSpec((None, 3), "float32")
    assert ds.batch(4, drop_remainder=True).element_spec[0] == TensorSpec((4, 3), "float32")
    assert ds.batch(4).cardinality() == 3 and ds.repeat(3).cardinality() == 30
    assert gen(range(3)).cardinality() == UNKNOWN_CARDINALITY
    with pytest.raises(TypeError, match="unknown"):
        len(gen(range(3)))
    assert list(ds.take(2).as_numpy_iterator())[1][1] == 1


def test_from_generator_infers_and_checks_the_signature():
    def good():
        yield np.zeros(2, "float32"), 1
        yield np.ones(2, "float32"), 0

    ds = Dataset.from_generator(good)
    assert ds.element_spec == (TensorSpec((2,), "float32"), TensorSpec((), "int64"))
    ragged = Dataset.from_generator(lambda: iter([np.zeros(2), np.zeros(3)]))
    assert [e.shape for e in ragged] == [(2,), (3,)]
    with pytest.raises(ValueError, match=r"Element 1 from the generator has a leaf of dtype float64 and shape "
                                         r"\(2, 2\), where TensorSpec\(shape=\(None,\), dtype=float64\)"):
        list(Dataset.from_generator(lambda: iter([np.zeros(2), np.zeros((2, 2))])))
    assert len(list(ds)) == 2

    def wrong_structure():
        yield np.zeros(2), 1
        yield np.zeros(2), 1, 5

    with pytest.raises(ValueError, match=r"Element 1 from the generator has structure .*float64\[2\].*int64"):
        list(Dataset.from_generator(wrong_structure))
    signature = (TensorSpec((None,), "float32"), TensorSpec((), "int64"))
    with pytest.raises(ValueError, match="Element 0 from the generator has a leaf of dtype float64"):
        list(Dataset.from_generator(lambda: iter([(np.zeros(2), 1)]), output_signature=signature))
    assert Dataset.from_generator(good, output_signature=signature).element_spec == signature
    with pytest.raises(TypeError, match="not a generator object"):
        Dataset.from_generator(good())
    assert ints(Dataset.from_generator(lambda n: iter(range(n)), args=(3,))) == [0, 1, 2]


def test_ragged_input_is_refused_with_the_way_out():
    with pytest.raises(ValueError, match="ragged .*padded_batch"):
        Dataset.from_tensor_slices([[1, 2], [3]])
    with pytest.raises(ValueError, match="same number of rows"):
        Dataset.from_tensor_slices((np.zeros(3), np.zeros(4)))
    ragged = gen([np.arange(2), np.arange(3)])
    with pytest.raises(ValueError, match=r"different shapes: element 0 has shape \(2,\) and element 1 has "
                                         r"shape \(3,\).*padded_batch"):
        list(ragged.batch(2))


def test_a_failing_map_function_raises_its_own_error_and_traceback():
    def explode(i):
        if i == 3:
            raise KeyError("no such record")
        return i

    for ds in (Dataset.range(6).map(explode), Dataset.range(6).map(explode, num_parallel_calls=2),
               gen(range(6)).map(explode), gen(range(6)).map(explode, num_parallel_calls=2).prefetch(2)):
        with pytest.raises(KeyError, match="no such record") as info:
            list(ds)
        assert any(entry.name == "explode" for entry in info.traceback)
        assert any("Dataset.map()" in note for note in getattr(info.value, "__notes__", []))


def test_bad_arguments_say_what_was_expected():
    ds = Dataset.range(3)
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        ds.batch(0)
    with pytest.raises(TypeError, match="batch_size must be an int, got float"):
        ds.batch(2.5)
    with pytest.raises(ValueError, match="buffer_size must be >= 1"):
        ds.shuffle(0)
    with pytest.raises(TypeError, match="needs a function"):
        ds.map(3)
    with pytest.raises(ValueError, match="infinite"):
        ds.repeat().cache()
    with pytest.raises(TypeError, match="zip takes Datasets"):
        Dataset.zip(ds, [1, 2])

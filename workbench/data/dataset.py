"""`Dataset`: tf.data's input pipeline API, deterministic per seed and checkpointable at every element.

>>> import numpy as np
>>> from workbench.data import Dataset
>>> ds = (Dataset.from_tensor_slices((np.arange(10.0), np.arange(10) % 2))
...       .shuffle(10, seed=0).batch(4).prefetch(2))
>>> [x.shape for x, y in ds]
[(4,), (4,), (2,)]

A pipeline is random-access for as long as its stages allow (sources, map,
random_map, filter, shuffle, take/skip/shard, repeat, batch, zip, concatenate,
cache): element `i` is computed on demand, in parallel when `map` asked for
`num_parallel_calls`, and an iterator's position is one integer. Stages that
consume a stream (from_generator, interleave, bucket_by_sequence_length, and
anything after a filter that must count kept elements) continue as checkpointable
iterators. Either way `iter(ds)` gives an iterator whose `get_state()` /
`set_state()` resume at exactly the next element.

Each `iter(ds)` is a new pass: `shuffle` (unless `reshuffle_each_iteration=False`)
and `random_map` draw anew per pass, and the draws of pass `e` depend only on the
seeds and `e`.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import numbers
import os
import threading

import numpy as np

from workbench.data import buffered, structure, workers
from workbench.data import iterators as it_mod
from workbench.data import random_access as ra_mod
from workbench.data.structure import TensorSpec

AUTOTUNE = -1
INFINITE_CARDINALITY = -1
UNKNOWN_CARDINALITY = -2
_INHERIT = object()


def _count(value, name: str, *, minimum: int = 0, allow_minus_one: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}: {value!r}.")
    value = int(value)
    if allow_minus_one and value == -1:
        return value
    if value < minimum:
        extra = " (or -1 for all)" if allow_minus_one else ""
        raise ValueError(f"{name} must be >= {minimum}{extra}, got {value}.")
    return value


def _threads(num_parallel_calls) -> int:
    if num_parallel_calls is None:
        return 1
    if num_parallel_calls == AUTOTUNE:
        return it_mod.default_threads()
    return _count(num_parallel_calls, "num_parallel_calls", minimum=1)


def _seed(seed) -> int:
    if seed is None:
        # NumPy's global generator (seeded by workbench.utils.set_random_seed), so seeded scripts repeat.
        return int(np.random.randint(2**31))
    return _count(seed, "seed")


def _call(fn, element, *extra):
    """tf.data's calling convention: a tuple element is passed as separate arguments."""
    if type(element) is tuple:
        return fn(*element, *extra)
    return fn(element, *extra)


def _check_callable(fn, name: str):
    if not callable(fn):
        raise TypeError(f"Dataset.{name} needs a function, got {type(fn).__name__}: {fn!r}.")


def _make_structure(template):
    """Turn a list of children values into the nest (tuple or dict) `template` describes."""
    if isinstance(template, dict):
        keys = list(template)
        return lambda values: dict(zip(keys, values))
    return tuple


class DatasetIterator:
    """An iterator over one pass of a Dataset, with `get_state()` / `set_state()` for exact resume.

    The state is a small JSON-able dict; restoring it into an iterator of the same
    dataset (in this process or a later one) continues at the next element.
    """

    def __init__(self, dataset: Dataset, key: int):
        self._dataset = dataset
        self._key = key
        self._it = dataset._open(key)

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._it)

    def get_state(self) -> dict:
        return {"pass": self._key, "position": self._it.get_state()}

    def set_state(self, state: dict) -> None:
        if not isinstance(state, dict) or "pass" not in state or "position" not in state:
            raise ValueError(f"DatasetIterator.set_state expects a state from get_state() (a dict with 'pass' "
                             f"and 'position'), got {state!r}.")
        if state["pass"] != self._key:
            self._it.close()
            self._key = int(state["pass"])
            self._it = self._dataset._open(self._key)
        self._it.set_state(state["position"])

    def close(self) -> None:
        self._it.close()

    def __del__(self):
        try:
            self._it.close()
        except Exception:
            pass


class Dataset:
    """A tf.data-shaped input pipeline. Build one with a `from_*` constructor or `range`, chain
    transformations, and iterate it (or pass it to `fit`, `evaluate` and `predict`)."""

    def __init__(self, *, stage=None, make=None, cardinality: int, spec=None, threads: int = 1,
                 batch_dim=False, sharded: bool = False, stream_spec=None):
        self._stage = stage  # random-access pipeline, or None
        self._make = make  # key -> StateIterator, for streaming pipelines
        self._cardinality = cardinality
        self._spec_fn = spec  # first element -> element spec (None: the element's own spec)
        self._fixed_spec = stream_spec
        self._threads = threads
        self._batch_dim = batch_dim  # False: unbatched; an int or None: the leading dimension of batches
        self._sharded = sharded
        self._passes = itertools.count()
        self._spec_cache = None
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- construction
    @staticmethod
    def from_tensor_slices(tensors) -> Dataset:
        """One element per row of `tensors` (an array, or a tuple / dict nesting of arrays with the same
        number of rows), as tf.data does: `from_tensor_slices((x, y))` yields `(x[i], y[i])`."""
        if tensors is None:
            raise ValueError("from_tensor_slices needs arrays (or a tuple / dict of arrays), got None.")
        tree = _to_arrays(tensors)
        stage = ra_mod.TensorSlices(tree)
        return Dataset(stage=stage, cardinality=stage.length)

    @staticmethod
    def from_tensors(tensors) -> Dataset:
        """A dataset of exactly one element, `tensors`."""
        tree = _to_arrays(tensors)
        stage = ra_mod.TensorSlices(structure.map_structure(lambda a: a[None], tree))
        return Dataset(stage=stage, cardinality=1)

    @staticmethod
    def range(*args) -> Dataset:
        """`range(stop)`, `range(start, stop)` or `range(start, stop, step)` of int64 scalars."""
        if not 1 <= len(args) <= 3:
            raise TypeError(f"Dataset.range takes 1 to 3 ints (stop; start, stop; or start, stop, step), "
                            f"got {len(args)} arguments.")
        for a in args:
            _count(a, "Dataset.range arguments", minimum=-(2**62))
        r = range(*args)
        if r.step == 0:
            raise ValueError("Dataset.range: step must not be 0.")
        return Dataset(stage=ra_mod.Range(r.start, r.stop, r.step), cardinality=len(r))

    @staticmethod
    def from_generator(generator, output_signature=None, args=None) -> Dataset:
        """Elements of `generator(*args)`, a function returning an iterable (called anew for each pass).

        `output_signature` is a structure of `TensorSpec`s (or objects with `.shape` and `.dtype`); when
        it is not given, the first element's structure, dtypes and shapes are the signature. Every
        element is checked against it, so a wrong element fails with its index and both structures.
        Restoring an iterator replays the generator up to the saved position.
        """
        if inspect.isgenerator(generator) or (hasattr(generator, "__next__") and not callable(generator)):
            raise TypeError("from_generator needs a function that returns an iterator (e.g. a generator "
                            "function), not a generator object: a generator object can be iterated once, "
                            "and a Dataset iterates once per pass.")
        _check_callable(generator, "from_generator")
        args = tuple(args or ())
        signature = None if output_signature is None else _as_signature(output_signature)
        box = {"spec": signature}

        def check(element, index):
            if box["spec"] is None:  # structure, dtypes and ranks of the first element; lengths may vary
                box["spec"] = structure.map_structure(lambda s: TensorSpec((None,) * len(s.shape), s.dtype),
                                                      structure.spec_of(element))
                return element
            structure.check_against_spec(element, box["spec"], f"Element {index} from the generator")
            return element

        def make(key):
            return it_mod.Generator(generator, args, check)

        return Dataset(make=make, cardinality=UNKNOWN_CARDINALITY, stream_spec=signature)

    @staticmethod
    def _from_source(source, *, skips: bool = False, threads: int = 1) -> Dataset:
        """A random-access source: `len(source)` elements, `source[i]` thread-safe (None drops i when
        `skips`), read `threads` elements at a time."""
        if not hasattr(source, "__len__") or not hasattr(source, "__getitem__"):
            raise TypeError(f"A dataset source needs __len__ and __getitem__; got {type(source).__name__}.")
        stage = ra_mod.Source(source, skips)
        return Dataset(stage=stage, cardinality=UNKNOWN_CARDINALITY if skips else stage.length,
                       threads=_threads(threads))

    @staticmethod
    def from_npy(path, mmap: bool = True) -> Dataset:
        """Rows of a .npy file (memory-mapped by default); see `workbench.data.from_npy`."""
        from workbench.data import sources

        return sources.from_npy(path, mmap=mmap)

    @staticmethod
    def from_npz(path, keys=None) -> Dataset:
        """Rows of the arrays in a .npz file; see `workbench.data.from_npz`."""
        from workbench.data import sources

        return sources.from_npz(path, keys=keys)

    @staticmethod
    def from_csv(paths, **kwargs) -> Dataset:
        """Records of CSV files as dicts of columns; see `workbench.data.from_csv` for the options."""
        from workbench.data import csv_source

        return csv_source.from_csv(paths, **kwargs)

    @staticmethod
    def from_text_lines(paths, encoding: str = "utf-8") -> Dataset:
        """One `str` per line of the text files, as tf.data's TextLineDataset."""
        from workbench.data import sources

        return sources.from_text_lines(paths, encoding=encoding)

    @staticmethod
    def from_grain(dataset) -> Dataset:
        """Wrap a `grain.MapDataset` (random access) or `grain.IterDataset` (a stream; its iterator's grain
        state is saved and restored)."""
        import grain

        if isinstance(dataset, grain.MapDataset):
            return Dataset._from_source(dataset, skips=True)
        if isinstance(dataset, grain.IterDataset):
            return Dataset(make=lambda key: _GrainStream(dataset), cardinality=UNKNOWN_CARDINALITY)
        raise TypeError(f"from_grain expects a grain.MapDataset or grain.IterDataset, got "
                        f"{type(dataset).__name__}.")

    @staticmethod
    def zip(*datasets) -> Dataset:
        """Elements of several datasets side by side, stopping at the shortest. Pass datasets as
        arguments, or one tuple / dict of datasets (the element then has that structure)."""
        nest = datasets[0] if len(datasets) == 1 and isinstance(datasets[0], (tuple, dict)) else datasets
        children = list(nest.values()) if isinstance(nest, dict) else list(nest)
        if not children:
            raise ValueError("Dataset.zip needs at least one dataset.")
        for c in children:
            if not isinstance(c, Dataset):
                raise TypeError(f"Dataset.zip takes Datasets, got {type(c).__name__}.")
        make_nest = _make_structure(nest)
        cards = [c._cardinality for c in children]
        finite = [c for c in cards if c >= 0]
        card = min(finite) if finite else (INFINITE_CARDINALITY if all(c == -1 for c in cards)
                                           else UNKNOWN_CARDINALITY)
        if UNKNOWN_CARDINALITY in cards:
            card = UNKNOWN_CARDINALITY
        if all(c._dense() for c in children) and all(c._stage.length != ra_mod.INFINITE for c in children):
            stage = ra_mod.Zip([c._stage for c in children], make_nest)
            return Dataset(stage=stage, cardinality=stage.length, threads=max(c._threads for c in children))
        return Dataset(make=lambda key: it_mod.Zip([c._open(key) for c in children], make_nest),
                       cardinality=card)

    # ----------------------------------------------------------------- transformations
    def map(self, map_func, num_parallel_calls=None, deterministic=None, name=None) -> Dataset:
        """Apply `map_func` to every element (a tuple element's parts are separate arguments).
        `num_parallel_calls` (or AUTOTUNE) computes that many elements at once in threads; the output
        order is always the input order."""
        _check_callable(map_func, "map")
        threads = _threads(num_parallel_calls)

        def fn(element):
            return structure.normalize(_call(map_func, element))

        if self._stage is not None:
            return self._derive(stage=ra_mod.Map(self._stage, fn), threads=max(self._threads, threads),
                                keep_spec=False)
        return self._stream(lambda key: it_mod.Map(self._open(key), fn, threads), self._cardinality,
                            keep_spec=False)

    def random_map(self, map_func, seed=None) -> Dataset:
        """Like `map`, with a NumPy `Generator` as the last argument: `map_func(element, rng)`. The draws
        for element `i` of pass `e` depend only on (seed, e, i): reproducible, resumable, new each pass."""
        _check_callable(map_func, "random_map")
        seed = _seed(seed)

        def fn(element, rng):
            return structure.normalize(_call(map_func, element, rng))

        if self._stage is not None:
            return self._derive(stage=ra_mod.RandomMap(self._stage, fn, seed), keep_spec=False)
        return self._stream(lambda key: it_mod.RandomMap(self._open(key), fn, seed, key), self._cardinality,
                            keep_spec=False)

    def filter(self, predicate) -> Dataset:
        """Keep the elements for which `predicate` is true."""
        _check_callable(predicate, "filter")

        def pred(element):
            return _call(predicate, element)

        card = INFINITE_CARDINALITY if self._cardinality == INFINITE_CARDINALITY else UNKNOWN_CARDINALITY
        if self._stage is not None:
            return self._derive(stage=ra_mod.Filter(self._stage, pred), cardinality=card)
        return self._stream(lambda key: it_mod.Filter(self._open(key), pred), card)

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True) -> Dataset:
        """tf.data's buffer shuffle: each element is drawn uniformly from a buffer of the next
        `buffer_size` elements (a buffer at least the dataset's size is a uniform shuffle)."""
        buffer_size = _count(buffer_size, "shuffle buffer_size", minimum=1)
        seed = _seed(seed)
        reshuffle = bool(reshuffle_each_iteration)
        if self._stage is not None and self._stage.length != ra_mod.INFINITE:
            return self._derive(stage=ra_mod.Shuffle(self._stage, buffer_size, seed, reshuffle))
        return self._stream(lambda key: buffered.Shuffle(self._open(key), buffer_size, seed, key, reshuffle),
                            self._cardinality)

    def batch(self, batch_size, drop_remainder=False, num_parallel_calls=None, deterministic=None) -> Dataset:
        """Stack `batch_size` consecutive elements into one (the last may be smaller unless
        `drop_remainder`). Elements must agree in shape; see `padded_batch` for ones that do not."""
        batch_size = _count(batch_size, "batch_size", minimum=1)
        return self._batched(batch_size, bool(drop_remainder), None)

    def padded_batch(self, batch_size, padded_shapes=None, padding_values=None, drop_remainder=False) -> Dataset:
        """Batch elements of varying shapes, padding every leaf to `padded_shapes` (None dimensions, or
        no `padded_shapes`: the longest in the batch) with `padding_values` (default 0, '' for strings)."""
        batch_size = _count(batch_size, "batch_size", minimum=1)
        combine = functools.partial(structure.padded_stack, padded_shapes=padded_shapes,
                                    padding_values=padding_values)
        return self._batched(batch_size, bool(drop_remainder), combine)

    def _batched(self, batch_size: int, drop: bool, combine) -> Dataset:
        card = _batched_cardinality(self._cardinality, batch_size, drop)
        batch_dim = batch_size if drop else None
        if self._dense():
            stage = ra_mod.Batch(self._stage, batch_size, drop, combine)
            return self._derive(stage=stage, cardinality=stage.length, batch_dim=batch_dim)
        return self._stream(lambda key: it_mod.Batch(self._open(key), batch_size, drop,
                                                     combine or structure.stack), card, batch_dim=batch_dim)

    def bucket_by_sequence_length(self, element_length_func, bucket_boundaries, bucket_batch_sizes,
                                  padded_shapes=None, padding_values=None, pad_to_bucket_boundary=False,
                                  no_padding=False, drop_remainder=False) -> Dataset:
        """Batch elements of similar length together: an element of length L goes to the bucket `b` with
        `bucket_boundaries[b-1] <= L < bucket_boundaries[b]`, batched `bucket_batch_sizes[b]` at a time
        and padded to the batch's longest (or to `bucket_boundaries[b] - 1` with
        `pad_to_bucket_boundary`)."""
        _check_callable(element_length_func, "bucket_by_sequence_length")
        bounds = [_count(b, "bucket_boundaries entries", minimum=1) for b in bucket_boundaries]
        if bounds != sorted(set(bounds)):
            raise ValueError(f"bucket_boundaries must increase strictly, got {list(bucket_boundaries)}.")
        sizes = [_count(s, "bucket_batch_sizes entries", minimum=1) for s in bucket_batch_sizes]
        if len(sizes) != len(bounds) + 1:
            raise ValueError(f"bucket_batch_sizes needs len(bucket_boundaries) + 1 = {len(bounds) + 1} entries "
                             f"(one per bucket), got {len(sizes)}.")

        def length_of(element):
            return _call(element_length_func, element)

        def combine_for(b):
            if no_padding:
                return structure.stack
            shapes = padded_shapes
            if pad_to_bucket_boundary:
                if b == len(bounds):
                    def last(elements):
                        raise ValueError(
                            f"bucket_by_sequence_length: with pad_to_bucket_boundary=True every element must "
                            f"be shorter than the last boundary {bounds[-1]}; an element of length "
                            f"{max(length_of(e) for e in elements)} arrived.")
                    return last
                return functools.partial(_pad_to_boundary, boundary=bounds[b] - 1, padding_values=padding_values)
            return functools.partial(structure.padded_stack, padded_shapes=shapes, padding_values=padding_values)

        return self._stream(lambda key: buffered.Bucket(self._open(key), length_of, bounds, sizes, combine_for,
                                                      bool(drop_remainder)),
                            UNKNOWN_CARDINALITY, batch_dim=None)

    def repeat(self, count=None) -> Dataset:
        """Repeat the dataset `count` times (None or -1: forever). Each repetition reshuffles and redraws
        random maps, as a new pass would."""
        if count is not None:
            count = _count(count, "repeat count", minimum=0, allow_minus_one=True)
            if count == -1:
                count = None
        if count == 0:
            return self.take(0)
        if count is None:
            card = 0 if self._cardinality == 0 else INFINITE_CARDINALITY
        else:
            card = self._cardinality * count if self._cardinality >= 0 else self._cardinality
        if self._stage is not None and self._stage.length != ra_mod.INFINITE:
            return self._derive(stage=ra_mod.Repeat(self._stage, count), cardinality=card)
        return self._stream(lambda key: it_mod.Repeat(self._open, key, count), card)

    def take(self, count) -> Dataset:
        """The first `count` elements (-1: all)."""
        count = _count(count, "take count", allow_minus_one=True)
        if count == -1:
            return self
        card = min(count, self._cardinality) if self._cardinality >= 0 else (
            count if self._cardinality == INFINITE_CARDINALITY else UNKNOWN_CARDINALITY)
        if self._dense() and self._stage.length != ra_mod.INFINITE:
            return self._derive(stage=ra_mod.Slice(self._stage, 0, count, 1), cardinality=card)
        return self._stream(lambda key: it_mod.Take(self._open(key), count), card)

    def skip(self, count) -> Dataset:
        """All but the first `count` elements (-1: none)."""
        count = _count(count, "skip count", allow_minus_one=True)
        if self._cardinality >= 0:
            card = 0 if count == -1 else max(0, self._cardinality - count)
        else:
            card = self._cardinality
        if self._dense() and self._stage.length != ra_mod.INFINITE:
            start = self._stage.length if count == -1 else count
            return self._derive(stage=ra_mod.Slice(self._stage, start, None, 1), cardinality=card)
        return self._stream(lambda key: it_mod.Skip(self._open(key), count), card)

    def shard(self, num_shards, index) -> Dataset:
        """Every `num_shards`-th element starting at `index` (what worker `index` of `num_shards` reads)."""
        num_shards = _count(num_shards, "num_shards", minimum=1)
        index = _count(index, "shard index")
        if index >= num_shards:
            raise ValueError(f"shard index must be in [0, num_shards={num_shards}), got {index}.")
        card = len(range(index, self._cardinality, num_shards)) if self._cardinality >= 0 else self._cardinality
        if self._dense() and self._stage.length != ra_mod.INFINITE:
            out = self._derive(stage=ra_mod.Slice(self._stage, index, None, num_shards), cardinality=card)
        else:
            out = self._stream(lambda key: it_mod.Shard(self._open(key), num_shards, index), card)
        out._sharded = True
        return out

    def cache(self, filename: str = "") -> Dataset:
        """Keep every element after it is first computed: in memory, or (with `filename`) in that folder,
        written once the first pass completes and read by later passes and later runs. Random stages
        before the cache are drawn once."""
        if not isinstance(filename, (str, os.PathLike)):
            raise TypeError(f"cache filename must be a str path ('' for memory), got {type(filename).__name__}.")
        path = os.fspath(filename) or None
        if self._stage is not None and self._stage.length != ra_mod.INFINITE:
            return self._derive(stage=ra_mod.Cache(self._stage, path))
        if self._cardinality == INFINITE_CARDINALITY:
            raise ValueError("cache() of an infinite dataset would never complete; cache before repeat().")
        store = _StreamCache(path)

        def make(key):
            done = store.elements()
            if done is not None:
                return it_mod.Elements(done)
            return it_mod.RecordingCache(self._open(0), store.complete)

        return self._stream(make, self._cardinality)

    def prefetch(self, buffer_size) -> Dataset:
        """Compute up to `buffer_size` elements ahead in a background thread (AUTOTUNE: 4), overlapping
        the pipeline with the consumer (in `fit`, the device step)."""
        size = 4 if buffer_size == AUTOTUNE else _count(buffer_size, "prefetch buffer_size", minimum=0)
        if size == 0:
            return self
        out = self._stream(lambda key: workers.Prefetch(self._open(key), size), self._cardinality)
        out._before_prefetch = self  # a consumer that prefetches on its own reads this instead
        return out

    _before_prefetch = None

    def interleave(self, map_func, cycle_length=None, block_length=1, num_parallel_calls=None,
                   deterministic=None) -> Dataset:
        """`map_func(element)` returns a Dataset for each input element; their elements are interleaved,
        `block_length` at a time from each of `cycle_length` open datasets, in tf.data's order."""
        _check_callable(map_func, "interleave")
        cycle = it_mod.default_threads() if cycle_length in (None, AUTOTUNE) else _count(
            cycle_length, "cycle_length", minimum=1)
        block = _count(block_length, "block_length", minimum=1)

        def make_child(key):
            def child(element, n):
                ds = _call(map_func, element)
                if not isinstance(ds, Dataset):
                    raise TypeError(f"interleave: map_func must return a Dataset, returned "
                                    f"{type(ds).__name__}.")
                return ds._open(it_mod.child_key(key, n))
            return child

        return self._stream(lambda key: buffered.Interleave(self._open(key), make_child(key), cycle, block),
                            UNKNOWN_CARDINALITY, keep_spec=False)

    def flat_map(self, map_func) -> Dataset:
        """The elements of `map_func(element)` for each element, in order."""
        return self.interleave(map_func, cycle_length=1, block_length=1)

    def concatenate(self, dataset: Dataset) -> Dataset:
        """This dataset's elements, then `dataset`'s."""
        if not isinstance(dataset, Dataset):
            raise TypeError(f"concatenate takes a Dataset, got {type(dataset).__name__}.")
        a, b = self._cardinality, dataset._cardinality
        card = a + b if a >= 0 and b >= 0 else (INFINITE_CARDINALITY if -1 in (a, b) else UNKNOWN_CARDINALITY)
        if self._dense() and dataset._dense() and ra_mod.INFINITE not in (self._stage.length,
                                                                           dataset._stage.length):
            return self._derive(stage=ra_mod.Concatenate(self._stage, dataset._stage), cardinality=card,
                                threads=max(self._threads, dataset._threads))
        return self._stream(lambda key: it_mod.Concatenate(self._open(key), lambda: dataset._open(key)), card)

    def apply(self, transformation_func) -> Dataset:
        """`transformation_func(self)`, for chaining reusable pipeline pieces."""
        out = transformation_func(self)
        if not isinstance(out, Dataset):
            raise TypeError(f"apply: the function must return a Dataset, returned {type(out).__name__}.")
        return out

    # ----------------------------------------------------------------- inspection and iteration
    def cardinality(self) -> int:
        """The number of elements: INFINITE_CARDINALITY (-1), or UNKNOWN_CARDINALITY (-2) after filters
        and generators."""
        return self._cardinality

    def __len__(self) -> int:
        if self._cardinality == INFINITE_CARDINALITY:
            raise TypeError("The dataset is infinite.")
        if self._cardinality == UNKNOWN_CARDINALITY:
            raise TypeError("The dataset's length is unknown (it has a filter or a generator); "
                            "use cardinality().")
        return self._cardinality

    @property
    def element_spec(self):
        """The structure of `TensorSpec`s every element has (batch dimensions that vary are None)."""
        if self._fixed_spec is not None and self._batch_dim is False:
            return self._fixed_spec
        if self._spec_cache is None:
            iterator = self._open(0)
            try:
                first = next(iterator)
            except StopIteration:
                raise ValueError("The dataset is empty, so its element_spec is unknown.") from None
            finally:
                iterator.close()
            if self._batch_dim is False:
                self._spec_cache = structure.spec_of(first)
            else:
                self._spec_cache = structure.map_structure(
                    lambda s: TensorSpec((self._batch_dim,) + s.shape[1:], s.dtype) if s.shape else s,
                    structure.spec_of(first))
        return self._spec_cache

    def __iter__(self) -> DatasetIterator:
        return DatasetIterator(self, next(self._passes))

    def iterator(self, pass_index: int = 0) -> DatasetIterator:
        """An iterator over pass `pass_index` (what the `pass_index`-th `iter()` of this dataset gives)."""
        return DatasetIterator(self, _count(pass_index, "pass_index"))

    def as_numpy_iterator(self):
        """The elements as numpy arrays (they already are; kept for tf.data's spelling)."""
        return iter(self)

    def __repr__(self) -> str:
        card = {INFINITE_CARDINALITY: "infinite", UNKNOWN_CARDINALITY: "unknown"}.get(self._cardinality,
                                                                                  self._cardinality)
        kind = "random-access" if self._stage is not None else "stream"
        return f"<Dataset {kind}, cardinality={card}>"

    # ----------------------------------------------------------------- internals
    def _dense(self) -> bool:
        """Random access with no dropped elements: positions can be computed, not counted."""
        return self._stage is not None and not self._stage.sparse

    def _open(self, key: int) -> it_mod.StateIterator:
        if self._stage is not None:
            return it_mod.Read(self._stage, key, self._threads, workers=self._workers)
        return self._make(key)

    _workers = None

    def with_workers(self, num_workers: int) -> Dataset:
        """Compute the elements in `num_workers` worker processes instead of threads: for Python-heavy
        maps that hold the GIL. Only a random-access pipeline can be split this way (apply it before
        stages that consume a stream, such as from_generator, interleave or prefetch); its functions
        are sent to the workers with cloudpickle. Order, determinism and iterator states are the same
        as in one process."""
        num_workers = _count(num_workers, "num_workers", minimum=1)
        if self._stage is None:
            raise ValueError("with_workers needs a random-access pipeline (sources, map, random_map, filter, "
                             "shuffle, batch, ...); this one is a stream (from_generator, interleave, "
                             "bucket_by_sequence_length, prefetch, or a stage after a filter). Apply "
                             "with_workers before those stages.")
        out = self._derive(stage=self._stage)
        out._workers = workers.WorkerPool(self._stage, num_workers)
        return out

    def _derive(self, *, stage, cardinality=None, threads=None, batch_dim=_INHERIT, keep_spec=True) -> Dataset:
        batched = batch_dim is not _INHERIT
        return Dataset(stage=stage, cardinality=self._cardinality if cardinality is None else cardinality,
                       threads=self._threads if threads is None else threads,
                       batch_dim=batch_dim if batched else self._batch_dim, sharded=self._sharded,
                       stream_spec=self._fixed_spec if keep_spec and not batched else None)

    def _stream(self, make, cardinality: int, batch_dim=_INHERIT, keep_spec=True) -> Dataset:
        batched = batch_dim is not _INHERIT
        return Dataset(make=make, cardinality=cardinality, batch_dim=batch_dim if batched else self._batch_dim,
                       sharded=self._sharded, stream_spec=self._fixed_spec if keep_spec and not batched else None)


def _batched_cardinality(card: int, batch_size: int, drop: bool) -> int:
    if card < 0:
        return card
    return card // batch_size if drop else -(-card // batch_size)


def _pad_to_boundary(elements, boundary: int, padding_values):
    def shape_of(leaf):
        shape = np.shape(leaf)
        return (boundary,) + tuple(None for _ in shape[1:]) if len(shape) else ()

    first = elements[0]
    shapes = structure.map_structure(shape_of, first)
    if not structure.is_structure(first):
        shapes = shape_of(first)
    return structure.padded_stack(elements, padded_shapes=shapes, padding_values=padding_values)


def _to_arrays(tensors):
    leaves = [structure.to_array_leaf(leaf, path)
              for path, leaf in zip(structure.element_paths(tensors), structure.flatten(tensors))]
    return structure._rebuild(tensors, leaves)


def _as_signature(signature):
    def convert(s):
        if isinstance(s, TensorSpec):
            return s
        if hasattr(s, "shape") and hasattr(s, "dtype"):
            shape = tuple(None if d is None else int(d) for d in s.shape)
            return TensorSpec(shape, np.dtype(getattr(s.dtype, "as_numpy_dtype", s.dtype)))
        raise TypeError(f"output_signature leaves must be TensorSpec (or have .shape and .dtype), got "
                        f"{type(s).__name__}: {s!r}.")
    return structure.map_structure(convert, signature)


class _StreamCache:
    def __init__(self, path: str | None):
        self.path = path
        self._elements = None
        self._lock = threading.Lock()

    def elements(self):
        with self._lock:
            if self._elements is None and self.path:
                stored = ra_mod.load_cache(self.path, None)
                if stored is not None:
                    self._elements = [stored[j] for j in range(len(stored))]
            return self._elements

    def complete(self, elements: list) -> None:
        with self._lock:
            if self._elements is None:
                self._elements = list(elements)
                if self.path:
                    ra_mod.write_cache(self.path, self._elements)


class _GrainStream(it_mod.StateIterator):
    def __init__(self, dataset):
        self.it = iter(dataset)

    def __next__(self):
        return structure.normalize(next(self.it))

    def get_state(self):
        return self.it.get_state()

    def set_state(self, state):
        self.it.set_state(state)

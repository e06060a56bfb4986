"""Random-access pipeline stages: element `i` of a stage is computed from its parents' elements alone.

A random-access stage has a length `n` and answers `get(i)` for any `i >= 0`: index
`i` is element `i % n` of pass `i // n`. Passes differ only in their random choices
(a reshuffled order, new random-map draws), so pass `e` of a pipeline is simply
indices `e*n .. e*n+n-1`, and a checkpoint of a reader is one integer.

Stages whose elements come straight from arrays (`TensorSlices`, `Range`) and the
index-only stages above them (shuffle, slice, repeat, concatenate, zip) also answer
`gather(indices)` with one vectorized numpy gather, so `batch` of such a pipeline
costs one fancy-index per batch instead of one Python call per element.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from workbench.data import structure
from workbench.data.cache_files import load_cache, write_cache

INFINITE = -1
# Index stride between passes over an infinite stage (passes still never overlap in practice).
_INFINITE_PASS_STRIDE = 2**40


def seed_rng(*words: int) -> np.random.Generator:
    return np.random.Generator(np.random.Philox(np.random.SeedSequence([int(w) % 2**63 for w in words])))


def annotate(error: BaseException, what: str) -> BaseException:
    """Add, once, a note saying which pipeline stage and element raised `error` (the traceback is kept)."""
    notes = getattr(error, "__notes__", [])
    if not any(n.startswith("Raised by") for n in notes):
        error.add_note(f"Raised by {what}.")
    return error


class Stage:
    """A random-access stage. Subclasses set `length`, `sparse` (may yield None) and implement `get`."""

    length: int = 0
    sparse: bool = False
    gatherable: bool = False

    def get(self, index: int):
        raise NotImplementedError

    def gather(self, indices: np.ndarray):
        """Rows `indices` as one batched structure; only when `gatherable`."""
        raise NotImplementedError

    def pass_offset(self, epoch: int) -> int:
        return epoch * (_INFINITE_PASS_STRIDE if self.length == INFINITE else self.length)

    def _split(self, index: int) -> tuple[int, int]:
        if self.length == INFINITE:
            return 0, index
        return divmod(index, self.length) if self.length else (0, index)


class TensorSlices(Stage):
    gatherable = True

    def __init__(self, tree):
        self.tree = tree
        self.length = structure.num_rows(tree)

    def get(self, index):
        return structure.gather(self.tree, index % self.length)

    def gather(self, indices):
        return structure.gather(self.tree, np.asarray(indices) % self.length)


class Range(Stage):
    gatherable = True

    def __init__(self, start: int, stop: int, step: int):
        self.start, self.step = start, step
        self.length = len(range(start, stop, step))

    def get(self, index):
        return np.int64(self.start + (index % self.length) * self.step)

    def gather(self, indices):
        return (self.start + (np.asarray(indices, np.int64) % self.length) * self.step).astype(np.int64)


class Source(Stage):
    """Any object with `__len__` and a thread-safe `__getitem__` (file readers, user sources)."""

    def __init__(self, source, skips: bool = False):
        self.source = source
        self.length = len(source)
        self.sparse = bool(skips)

    def get(self, index):
        element = self.source[index % self.length]
        return None if element is None else structure.normalize(element)


class Map(Stage):
    def __init__(self, parent: Stage, fn: Callable, name: str = "map"):
        self.parent, self.fn, self.name = parent, fn, name
        self.length, self.sparse = parent.length, parent.sparse

    def get(self, index):
        element = self.parent.get(index)
        if element is None:
            return None
        try:
            return self.fn(element)
        except Exception as e:
            annotate(e, f"the function given to Dataset.{self.name}() on element {self._split(index)[1]}")
            raise


class RandomMap(Stage):
    """`fn(element, rng)`: the generator is seeded by (seed, index), so pass `e` draws anew and a resumed
    pass draws exactly what the interrupted one did."""

    def __init__(self, parent: Stage, fn: Callable, seed: int):
        self.parent, self.fn, self.seed = parent, fn, seed
        self.length, self.sparse = parent.length, parent.sparse

    def get(self, index):
        element = self.parent.get(index)
        if element is None:
            return None
        try:
            return self.fn(element, seed_rng(self.seed, index))
        except Exception as e:
            annotate(e, f"the function given to Dataset.random_map() on element {self._split(index)[1]}")
            raise


class Filter(Stage):
    sparse = True

    def __init__(self, parent: Stage, predicate: Callable):
        self.parent, self.predicate = parent, predicate
        self.length = parent.length

    def get(self, index):
        element = self.parent.get(index)
        if element is None:
            return None
        try:
            keep = self.predicate(element)
        except Exception as e:
            annotate(e, f"the predicate given to Dataset.filter() on element {self._split(index)[1]}")
            raise
        return element if bool(np.asarray(keep)) else None


def buffer_permutation(n: int, buffer_size: int, rng: np.random.Generator) -> np.ndarray:
    """The order tf.data's `shuffle(buffer_size)` produces: keep a buffer of the next `buffer_size`
    elements, emit a uniformly chosen one and refill its slot with the next element. A buffer that
    holds every element is a uniform shuffle, drawn in one vectorized permutation."""
    if buffer_size >= n:
        return rng.permutation(n)
    out = np.empty(n, np.int64)
    buf = list(range(min(buffer_size, n)))
    draws = rng.random(n)
    nxt = len(buf)
    for k in range(n):
        j = int(draws[k] * len(buf))
        out[k] = buf[j]
        if nxt < n:
            buf[j] = nxt
            nxt += 1
        else:
            buf[j] = buf[-1]
            buf.pop()
    return out


class _Locked:
    """Stages holding a lock and memoised values travel to worker processes without them."""

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_lock"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()


class Shuffle(_Locked, Stage):
    def __init__(self, parent: Stage, buffer_size: int, seed: int, reshuffle: bool):
        self.parent, self.buffer_size, self.seed, self.reshuffle = parent, buffer_size, seed, reshuffle
        self.length, self.sparse, self.gatherable = parent.length, parent.sparse, parent.gatherable
        self._orders: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def order(self, epoch: int) -> np.ndarray:
        key = epoch if self.reshuffle else 0
        last = self._last
        if last is not None and last[0] == key:
            return last[1]
        with self._lock:
            if key in self._orders:
                self._orders.move_to_end(key)
                return self._orders[key]
        perm = buffer_permutation(self.length, self.buffer_size, seed_rng(self.seed, key))
        with self._lock:
            self._orders[key] = perm
            while len(self._orders) > 2:
                self._orders.popitem(last=False)
        self._last = (key, perm)
        return perm

    _last = None

    def _parent_index(self, index):
        epoch, j = divmod(index, self.length)
        return epoch * self.length + self.order(int(epoch))[j]

    def get(self, index):
        return self.parent.get(int(self._parent_index(index)))

    def gather(self, indices):
        indices = np.asarray(indices, np.int64)
        epochs, within = np.divmod(indices, self.length)
        if (epochs == epochs[0]).all():
            return self.parent.gather(epochs * self.length + self.order(int(epochs[0]))[within])
        return self.parent.gather(np.array([self._parent_index(int(i)) for i in indices], np.int64))


class Slice(Stage):
    """Elements `start, start+step, ...` below `stop` of each pass of the parent (take, skip, shard)."""

    def __init__(self, parent: Stage, start: int, stop: int | None, step: int):
        self.parent, self.start, self.step = parent, start, step
        n = parent.length
        self.length = len(range(start, n if stop is None else min(stop, n), step))
        self.sparse, self.gatherable = parent.sparse, parent.gatherable

    def get(self, index):
        epoch, j = self._split(index)
        return self.parent.get(epoch * self.parent.length + self.start + j * self.step)

    def gather(self, indices):
        epochs, within = np.divmod(np.asarray(indices, np.int64), self.length)
        return self.parent.gather(epochs * self.parent.length + self.start + within * self.step)


class Repeat(Stage):
    def __init__(self, parent: Stage, count: int | None):
        self.parent, self.count = parent, count
        self.length = INFINITE if count is None else parent.length * count
        self.sparse, self.gatherable = parent.sparse, parent.gatherable

    def get(self, index):
        # Index i of pass e is e*count*n + i: the parent's pass (e*count + i // n), element i % n.
        return self.parent.get(index)

    def gather(self, indices):
        return self.parent.gather(np.asarray(indices, np.int64))


class Batch(Stage):
    """Consecutive runs of `batch_size` elements of one pass, stacked (or padded) into one element."""

    def __init__(self, parent: Stage, batch_size: int, drop_remainder: bool, combine: Callable | None = None):
        self.parent, self.batch_size, self.drop_remainder = parent, batch_size, drop_remainder
        self.combine = combine or structure.stack
        n = parent.length
        if n == INFINITE:
            self.length = INFINITE
        else:
            self.length = n // batch_size if drop_remainder else -(-n // batch_size)
        self.use_gather = parent.gatherable and combine is None

    def rows(self, index) -> np.ndarray:
        if self.length == INFINITE:  # one endless stream of elements, cut into batches
            return np.arange(index * self.batch_size, (index + 1) * self.batch_size, dtype=np.int64)
        epoch, j = self._split(index)
        n = self.parent.length
        start = j * self.batch_size
        return np.arange(epoch * n + start, epoch * n + min(n, start + self.batch_size), dtype=np.int64)

    def get(self, index):
        rows = self.rows(index)
        if self.use_gather:
            return self.parent.gather(rows)
        return self.combine([self.parent.get(int(r)) for r in rows])


class Concatenate(Stage):
    def __init__(self, first: Stage, second: Stage):
        self.first, self.second = first, second
        self.length = first.length + second.length
        self.sparse = first.sparse or second.sparse

    def get(self, index):
        epoch, j = self._split(index)
        if j < self.first.length:
            return self.first.get(epoch * self.first.length + j)
        return self.second.get(epoch * self.second.length + j - self.first.length)


class Zip(Stage):
    def __init__(self, children: list[Stage], make):
        self.children, self.make = children, make
        self.length = min(c.length for c in children)
        self.gatherable = all(c.gatherable for c in children)

    def _indices(self, epoch_within):
        epoch, j = epoch_within
        return [epoch * c.length + j for c in self.children]

    def get(self, index):
        return self.make([c.get(i) for c, i in zip(self.children, self._indices(self._split(index)))])

    def gather(self, indices):
        epochs, within = np.divmod(np.asarray(indices, np.int64), self.length)
        return self.make([c.gather(epochs * c.length + within) for c in self.children])


class Cache(_Locked, Stage):
    """Each element computed once (from the parent's first pass) and kept: in memory, and on disk under
    `path` once every element has been computed, from where later runs read it."""

    def __init__(self, parent: Stage, path: str | None):
        self.parent, self.path = parent, path
        self.length = parent.length
        self.sparse = parent.sparse
        self._items: dict[int, object] = {}
        self._lock = threading.Lock()
        self._stored = load_cache(path, self.length) if path else None

    def get(self, index):
        j = index % self.length
        if self._stored is not None:
            return self._stored[j]
        with self._lock:
            if j in self._items:
                return self._items[j]
        value = self.parent.get(j)
        with self._lock:
            self._items.setdefault(j, value)
            complete = len(self._items) == self.length
        if complete and self.path:
            write_cache(self.path, [self._items[i] for i in range(self.length)])
            self._stored = load_cache(self.path, self.length)
        return value

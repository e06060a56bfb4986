"""Streaming pipeline stages: iterators that can save and restore their position.

Every iterator here has `get_state()` (a small JSON-able dict) and `set_state(state)`;
an iterator restored from a state yields exactly what the saved one would have
yielded next. Stages with a simple position store it directly (a reader's next
index, a counter); stages with internal buffers (shuffle, interleave, bucketing)
store where their input stood when they started and how many elements they have
given out, and restore by replaying that many: exact, and costing one pass over
the replayed part.
"""

from __future__ import annotations

import collections
import concurrent.futures
import os
from collections.abc import Callable

import numpy as np

from workbench.data import structure
from workbench.data.random_access import INFINITE, annotate, seed_rng

_PASS_MODULUS = 2**20


def child_key(key: int, *parts: int) -> int:
    """A key for a nested iteration (repetition `r` of iteration `key`, ...), kept small."""
    out = int(key)
    for p in parts:
        out = (out * 1_000_003 + int(p) + 1) % _PASS_MODULUS
    return out


class StateIterator:
    """Base of the iterators: `__next__`, `get_state`, `set_state`, `close`."""

    def __iter__(self):
        return self

    def __next__(self):
        raise NotImplementedError

    def get_state(self) -> dict:
        raise NotImplementedError

    def set_state(self, state: dict) -> None:
        raise NotImplementedError

    def close(self) -> None:
        for child in getattr(self, "children", ()):
            child.close()


class Read(StateIterator):
    """Pass `key` of a random-access stage, computed `threads` elements at a time in a thread pool
    (`threads` <= 1 computes in the caller). Dropped (None) elements are skipped."""

    def __init__(self, stage, key: int, threads: int = 1, buffer: int = 0, workers=None):
        self.stage = stage
        self.offset = stage.pass_offset(key % _PASS_MODULUS)
        self.n = None if stage.length == INFINITE else stage.length
        self.workers = workers  # a WorkerPool: elements are computed in its processes
        self.threads = workers.size if workers is not None else threads
        self.buffer = max(buffer, 4 * self.threads) if self.threads > 1 or workers is not None else 0
        self.pool = None
        self.position = 0  # the next index to hand out
        self.pending: collections.deque = collections.deque()
        self.submitted = 0

    def _fetch(self, i):
        return self.stage.get(self.offset + i)

    def _fill(self):
        if self.workers is not None:
            submit = self.workers.submit_get
        else:
            if self.pool is None:
                self.pool = concurrent.futures.ThreadPoolExecutor(self.threads)

            def submit(i):
                return self.pool.submit(self._fetch, i)
        limit = self.position + self.buffer if self.n is None else min(self.n, self.position + self.buffer)
        while self.submitted < limit:
            if self.workers is not None:
                self.pending.append(submit(self.offset + self.submitted))
            else:
                self.pending.append(submit(self.submitted))
            self.submitted += 1

    def __next__(self):
        while True:
            if self.n is not None and self.position >= self.n:
                raise StopIteration
            if self.threads > 1 or self.workers is not None:
                self._fill()
                value = self.pending.popleft().result()
            else:
                value = self._fetch(self.position)
            self.position += 1
            if value is not None:
                return value

    def get_state(self):
        return {"next": self.position}

    def set_state(self, state):
        for f in self.pending:
            f.cancel()
        self.pending.clear()
        self.position = self.submitted = int(state["next"])

    def close(self):
        for f in self.pending:
            f.cancel()
        self.pending.clear()
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None


class Generator(StateIterator):
    """Elements of `fn(*args)`, each checked against the expected spec. Restoring replays the generator,
    so a restored position is exact when the generator yields the same sequence each call."""

    def __init__(self, fn: Callable, args: tuple, check: Callable):
        self.fn, self.args, self.check = fn, args, check
        self.count = 0
        self._it = None

    def _open(self):
        it = self.fn(*self.args)
        try:
            return iter(it)
        except TypeError:
            raise TypeError(f"from_generator: the function must return an iterable (e.g. be a generator "
                            f"function); it returned {type(it).__name__}.") from None

    def __next__(self):
        if self._it is None:
            self._it = self._open()
        element = next(self._it)
        element = self.check(structure.normalize(element), self.count)
        self.count += 1
        return element

    def get_state(self):
        return {"emitted": self.count}

    def set_state(self, state):
        self._it = self._open()
        for _ in range(int(state["emitted"])):
            next(self._it)
        self.count = int(state["emitted"])


class Elements(StateIterator):
    """A list of elements already in memory (a completed cache)."""

    def __init__(self, elements: list):
        self.elements = elements
        self.position = 0

    def __next__(self):
        while self.position < len(self.elements):
            e = self.elements[self.position]
            self.position += 1
            if e is not None:
                return e
        raise StopIteration

    def get_state(self):
        return {"next": self.position}

    def set_state(self, state):
        self.position = int(state["next"])


class OneParent(StateIterator):
    def __init__(self, parent: StateIterator):
        self.parent = parent
        self.children = (parent,)


class Counted(OneParent):
    """A stage whose position is its input's plus how many elements it has handled."""

    def __init__(self, parent: StateIterator):
        super().__init__(parent)
        self.count = 0

    def get_state(self):
        return {"parent": self.parent.get_state(), "count": self.count}

    def set_state(self, state):
        self.parent.set_state(state["parent"])
        self.count = int(state["count"])


class Map(OneParent):
    """`fn` on each element; with `threads` > 1, up to 2*threads elements are mapped ahead in a pool."""

    def __init__(self, parent, fn, threads: int = 1, name: str = "map"):
        super().__init__(parent)
        self.fn, self.threads, self.name = fn, threads, name
        self.count = 0
        self.pool = None
        self.pending: collections.deque = collections.deque()  # (future, parent state after its element)
        self._state = None

    def _apply(self, element, index):
        try:
            return self.fn(element)
        except Exception as e:
            annotate(e, f"the function given to Dataset.{self.name}() on element {index}")
            raise

    def __next__(self):
        if self.threads <= 1:
            out = self._apply(next(self.parent), self.count)
            self.count += 1
            return out
        if self.pool is None:
            self._state = self.parent.get_state()
            self.pool = concurrent.futures.ThreadPoolExecutor(self.threads)
        while len(self.pending) < 2 * self.threads:
            try:
                element = next(self.parent)
            except StopIteration:
                break
            self.pending.append((self.pool.submit(self._apply, element, self.count + len(self.pending)),
                                 self.parent.get_state()))
        if not self.pending:
            raise StopIteration
        future, state = self.pending.popleft()
        out = future.result()
        self._state = state
        self.count += 1
        return out

    def get_state(self):
        parent = self._state if self.pending or self._state is not None else self.parent.get_state()
        return {"parent": parent, "count": self.count}

    def set_state(self, state):
        for f, _ in self.pending:
            f.cancel()
        self.pending.clear()
        self.parent.set_state(state["parent"])
        self._state = state["parent"] if self.threads > 1 else None
        self.count = int(state["count"])

    def close(self):
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
        super().close()


class RandomMap(Counted):
    def __init__(self, parent, fn, seed: int, key: int):
        super().__init__(parent)
        self.fn, self.seed, self.key = fn, seed, key

    def __next__(self):
        element = next(self.parent)
        try:
            out = self.fn(element, seed_rng(self.seed, self.key, self.count))
        except Exception as e:
            annotate(e, f"the function given to Dataset.random_map() on element {self.count}")
            raise
        self.count += 1
        return out


class Filter(OneParent):
    def __init__(self, parent, predicate):
        super().__init__(parent)
        self.predicate = predicate

    def __next__(self):
        while True:
            element = next(self.parent)
            try:
                keep = self.predicate(element)
            except Exception as e:
                annotate(e, "the predicate given to Dataset.filter()")
                raise
            if bool(np.asarray(keep)):
                return element

    def get_state(self):
        return self.parent.get_state()

    def set_state(self, state):
        self.parent.set_state(state)


class Batch(OneParent):
    def __init__(self, parent, batch_size: int, drop_remainder: bool, combine: Callable):
        super().__init__(parent)
        self.batch_size, self.drop_remainder, self.combine = batch_size, drop_remainder, combine

    def __next__(self):
        elements = []
        for element in self.parent:
            elements.append(element)
            if len(elements) == self.batch_size:
                break
        if not elements or (self.drop_remainder and len(elements) < self.batch_size):
            raise StopIteration
        return self.combine(elements)

    def get_state(self):
        return self.parent.get_state()

    def set_state(self, state):
        self.parent.set_state(state)


class Take(Counted):
    def __init__(self, parent, count: int):
        super().__init__(parent)
        self.limit = count

    def __next__(self):
        if self.limit >= 0 and self.count >= self.limit:
            raise StopIteration
        element = next(self.parent)
        self.count += 1
        return element


class Skip(Take):
    def __next__(self):
        while self.limit < 0 or self.count < self.limit:
            next(self.parent)
            self.count += 1
        return next(self.parent)


class Shard(OneParent):
    def __init__(self, parent, num_shards: int, index: int):
        super().__init__(parent)
        self.num_shards, self.index, self.position = num_shards, index, 0

    def __next__(self):
        while True:
            element = next(self.parent)
            self.position += 1
            if (self.position - 1) % self.num_shards == self.index:
                return element

    def get_state(self):
        return {"parent": self.parent.get_state(), "position": self.position}

    def set_state(self, state):
        self.parent.set_state(state["parent"])
        self.position = int(state["position"])


class Repeat(StateIterator):
    """`count` passes (None: forever) of a stream; pass `r` is built with its own key, so shuffles and
    random maps inside draw anew each time, as tf.data's `repeat` does."""

    def __init__(self, make: Callable[[int], StateIterator], key: int, count: int | None):
        self.make, self.key, self.count = make, key, count
        self.rep = 0
        self.current = make(child_key(key, 0))
        self.children = (self.current,)
        self.empty_passes = 0

    def __next__(self):
        while self.count is None or self.rep < self.count:
            try:
                element = next(self.current)
                self.empty_passes = 0
                return element
            except StopIteration:
                self.empty_passes += 1
                if self.empty_passes > 1:  # an empty input repeated forever is empty
                    raise
                self.current.close()
                self.rep += 1
                self.current = self.make(child_key(self.key, self.rep))
                self.children = (self.current,)
        raise StopIteration

    def get_state(self):
        return {"rep": self.rep, "current": self.current.get_state()}

    def set_state(self, state):
        self.current.close()
        self.rep = int(state["rep"])
        self.current = self.make(child_key(self.key, self.rep))
        self.children = (self.current,)
        self.current.set_state(state["current"])


class Concatenate(StateIterator):
    def __init__(self, first: StateIterator, make_second: Callable[[], StateIterator]):
        self.current, self.make_second, self.which = first, make_second, 0
        self.children = (first,)

    def __next__(self):
        while True:
            try:
                return next(self.current)
            except StopIteration:
                if self.which == 1:
                    raise
                self.current.close()
                self.current, self.which = self.make_second(), 1
                self.children = (self.current,)

    def get_state(self):
        return {"which": self.which, "current": self.current.get_state()}

    def set_state(self, state):
        if int(state["which"]) == 1 and self.which == 0:
            self.current.close()
            self.current, self.which = self.make_second(), 1
            self.children = (self.current,)
        self.current.set_state(state["current"])


class Zip(StateIterator):
    def __init__(self, children: list[StateIterator], make: Callable):
        self.children, self.make = children, make

    def __next__(self):
        return self.make([next(c) for c in self.children])

    def get_state(self):
        return {"children": [c.get_state() for c in self.children]}

    def set_state(self, state):
        for c, s in zip(self.children, state["children"]):
            c.set_state(s)


class RecordingCache(Counted):
    """Passes the stream through and, when one pass runs from its start to its end, hands the elements
    to `complete` (the stage keeps them for later passes)."""

    def __init__(self, parent, complete: Callable[[list], None]):
        super().__init__(parent)
        self.complete = complete
        self.recorded: list | None = []

    def __next__(self):
        try:
            element = next(self.parent)
        except StopIteration:
            if self.recorded is not None:
                self.complete(self.recorded)
                self.recorded = None
            raise
        if self.recorded is not None:
            self.recorded.append(element)
        self.count += 1
        return element

    def set_state(self, state):
        super().set_state(state)
        self.recorded = None  # a pass that did not start at its beginning is not recorded


def default_threads() -> int:
    return max(1, os.cpu_count() or 1)


"""Stream stages with internal buffers: tf.data's buffer shuffle, interleave and bucketing.

Their state is where their input stood when they started plus how many elements
they have given out; restoring replays that many, which is exact and costs one
pass over the replayed part.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from workbench.data.iterators import StateIterator
from workbench.data.random_access import annotate, seed_rng


class Replayed(StateIterator):
    """Base for stages with internal buffers: state = (input state at the start, elements given out)."""

    def __init__(self, parent: StateIterator):
        self.parent = parent
        self.children = (parent,)
        self.start = parent.get_state()
        self.emitted = 0

    def reset(self) -> None:
        raise NotImplementedError

    def produce(self):
        raise NotImplementedError

    def __next__(self):
        element = self.produce()
        self.emitted += 1
        return element

    def get_state(self):
        return {"start": self.start, "emitted": self.emitted}

    def set_state(self, state):
        self.start = state["start"]
        self.parent.set_state(self.start)
        self.reset()
        self.emitted = 0
        for _ in range(int(state["emitted"])):
            next(self)


class Shuffle(Replayed):
    """tf.data's buffer shuffle over a stream."""

    def __init__(self, parent, buffer_size: int, seed: int, key: int, reshuffle: bool):
        super().__init__(parent)
        self.buffer_size, self.seed, self.key, self.reshuffle = buffer_size, seed, key, reshuffle
        self.reset()

    def reset(self):
        self.rng = seed_rng(self.seed, self.key if self.reshuffle else 0)
        self.buffer: list = []
        self.exhausted = False

    def _pull(self):
        try:
            return next(self.parent)
        except StopIteration:
            self.exhausted = True
            return None

    def produce(self):
        # The same draws and slot updates as random_access.buffer_permutation, so a stream and an array
        # with the same elements and seed shuffle identically when the buffer is smaller than the data.
        while not self.exhausted and len(self.buffer) < self.buffer_size:
            element = self._pull()
            if not self.exhausted:
                self.buffer.append(element)
        if not self.buffer:
            raise StopIteration
        j = int(self.rng.random() * len(self.buffer))
        out = self.buffer[j]
        element = None if self.exhausted else self._pull()
        if not self.exhausted:
            self.buffer[j] = element
        else:
            self.buffer[j] = self.buffer[-1]
            self.buffer.pop()
        return out


class Interleave(Replayed):
    """tf.data's deterministic `interleave`: `cycle_length` open inputs, `block_length` elements from each
    in turn; an exhausted input's slot takes the next input element's dataset."""

    def __init__(self, parent, make_child: Callable, cycle_length: int, block_length: int):
        super().__init__(parent)
        self.make_child, self.cycle_length, self.block_length = make_child, cycle_length, block_length
        self.reset()

    def reset(self):
        self.slots: list = [None] * self.cycle_length
        self.cycle = self.block = self.opened = 0
        self.end_of_input = False

    def _advance(self):
        self.block = 0
        self.cycle = (self.cycle + 1) % self.cycle_length

    def produce(self):
        while not self.end_of_input or any(s is not None for s in self.slots):
            slot = self.slots[self.cycle]
            if slot is not None:
                try:
                    element = next(slot)
                except StopIteration:
                    slot.close()
                    self.slots[self.cycle] = None
                    self._advance()
                    continue
                self.block += 1
                if self.block == self.block_length:
                    self._advance()
                return element
            if not self.end_of_input:
                try:
                    source = next(self.parent)
                except StopIteration:
                    self.end_of_input = True
                    continue
                self.slots[self.cycle] = self.make_child(source, self.opened)
                self.opened += 1
            else:
                self._advance()
        raise StopIteration

    def close(self):
        for s in self.slots:
            if s is not None:
                s.close()
        super().close()


class Bucket(Replayed):
    """tf.data's `bucket_by_sequence_length`: elements go to the bucket of their length; a bucket that
    holds its batch size is emitted, and at the end the partly filled buckets are, in bucket order."""

    def __init__(self, parent, length_fn, boundaries, batch_sizes, combine_for: Callable, drop_remainder: bool):
        super().__init__(parent)
        self.length_fn, self.boundaries, self.batch_sizes = length_fn, list(boundaries), list(batch_sizes)
        self.combine_for, self.drop_remainder = combine_for, drop_remainder
        self.reset()

    def reset(self):
        self.buckets: list[list] = [[] for _ in self.batch_sizes]
        self.flush: list[int] = []
        self.exhausted = False

    def produce(self):
        while not self.exhausted:
            try:
                element = next(self.parent)
            except StopIteration:
                self.exhausted = True
                self.flush = [b for b, items in enumerate(self.buckets) if items]
                break
            try:
                length = int(self.length_fn(element))
            except Exception as e:
                annotate(e, "the element_length_func given to Dataset.bucket_by_sequence_length()")
                raise
            b = int(np.searchsorted(self.boundaries, length, side="right"))
            self.buckets[b].append(element)
            if len(self.buckets[b]) == self.batch_sizes[b]:
                items, self.buckets[b] = self.buckets[b], []
                return self.combine_for(b)(items)
        while self.flush:
            b = self.flush.pop(0)
            items, self.buckets[b] = self.buckets[b], []
            if not self.drop_remainder:
                return self.combine_for(b)(items)
        raise StopIteration

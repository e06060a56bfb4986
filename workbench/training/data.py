"""Turning what `fit` / `evaluate` / `predict` receive into fixed-shape batches.

Every batch has the same shape: a last partial batch is padded and carries a
`mask` (1 for real samples, 0 for padding) that the loss and the metrics use as
a weight, so one compiled step serves the whole epoch. Batches are grouped
`steps` at a time (stacked on a new leading axis) for the scanned train function;
a last short group is padded with fully-masked batches, which the step skips.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Iterator

import jax
import numpy as np


def _leaves(tree) -> list:
    return jax.tree_util.tree_leaves(tree)


def _as_numpy(tree):
    def convert(x):
        if isinstance(x, (np.ndarray, np.generic)):
            return x
        if isinstance(x, jax.Array):
            return np.asarray(x)
        if isinstance(x, (list, tuple)) and x and not hasattr(x[0], "shape"):
            return np.asarray(x)
        if isinstance(x, (int, float)):
            return np.asarray(x)
        return np.asarray(x)

    if isinstance(tree, (list, tuple)) and tree and all(isinstance(v, (int, float)) for v in tree):
        return np.asarray(tree)
    return jax.tree_util.tree_map(convert, tree)


def check_lengths(x, y=None, sample_weight=None) -> int:
    """The number of samples, after checking every array agrees on it."""
    sizes = {}
    for name, tree in (("x", x), ("y", y), ("sample_weight", sample_weight)):
        for i, leaf in enumerate(_leaves(tree)):
            if np.ndim(leaf) == 0:
                raise ValueError(f"{name} must hold arrays with a batch dimension; got a scalar.")
            sizes[f"{name}[{i}]" if len(_leaves(tree)) > 1 else name] = int(np.shape(leaf)[0])
    if not sizes:
        raise ValueError("fit/evaluate/predict received no data: pass x (and y).")
    if len(set(sizes.values())) > 1:
        listing = ", ".join(f"{k}: {v}" for k, v in sizes.items())
        raise ValueError(f"Data cardinality is ambiguous: the arrays have different numbers of samples ({listing}).")
    return next(iter(sizes.values()))


class ArrayBatches:
    """Batches of in-memory arrays: `(x, y, sample_weight)` pytrees sharing a first dimension."""

    def __init__(self, x, y=None, sample_weight=None, batch_size: int = 32, shuffle: bool = False,
                 seed: int = 0):
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
        self.x, self.y, self.sample_weight = _as_numpy(x), _as_numpy(y), _as_numpy(sample_weight)
        self.num_samples = check_lengths(self.x, self.y, self.sample_weight)
        self.batch_size = min(batch_size, self.num_samples) if self.num_samples else batch_size
        self.shuffle = shuffle
        self.seed = seed

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.num_samples / self.batch_size)

    def order(self, epoch: int) -> np.ndarray:
        """The sample order of an epoch: a function of (seed, epoch) only, so resume can replay it."""
        if not self.shuffle:
            return np.arange(self.num_samples)
        return np.random.default_rng([self.seed, epoch]).permutation(self.num_samples)

    def batch(self, epoch: int, step: int, order: np.ndarray | None = None) -> dict:
        order = self.order(epoch) if order is None else order
        idx = order[step * self.batch_size : (step + 1) * self.batch_size]
        n = len(idx)
        rows = padding_rows(n, self.batch_size)

        def take(a):
            return None if a is None else a[idx[rows]]

        mask = np.zeros(self.batch_size, "float32")
        mask[:n] = 1.0
        return {
            "x": jax.tree_util.tree_map(take, self.x),
            "y": jax.tree_util.tree_map(take, self.y),
            "sample_weight": jax.tree_util.tree_map(take, self.sample_weight),
            "mask": mask,
        }

    def epoch(self, epoch: int, steps: int | None = None, start: int = 0) -> Iterator[dict]:
        """The batches of an epoch, from batch `start` on (a resumed epoch starts where it stopped)."""
        order = self.order(epoch)
        for step in range(start, self.steps_per_epoch if steps is None else min(steps, self.steps_per_epoch)):
            yield self.batch(epoch, step, order)

    def split(self, fraction: float) -> tuple[ArrayBatches, ArrayBatches]:
        """Keras' validation_split: the last `fraction` of the samples (before shuffling) validate."""
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"validation_split must be in (0, 1), got {fraction!r}.")
        cut = int(self.num_samples * (1.0 - fraction))
        if cut == 0 or cut == self.num_samples:
            raise ValueError(
                f"validation_split={fraction} leaves no samples on one side of {self.num_samples} samples."
            )

        def part(tree, sl):
            return None if tree is None else jax.tree_util.tree_map(lambda a: a[sl], tree)

        head = ArrayBatches(part(self.x, slice(0, cut)), part(self.y, slice(0, cut)),
                            part(self.sample_weight, slice(0, cut)), self.batch_size, self.shuffle, self.seed)
        tail = ArrayBatches(part(self.x, slice(cut, None)), part(self.y, slice(cut, None)),
                            part(self.sample_weight, slice(cut, None)), self.batch_size, False, self.seed)
        return head, tail


class IterableBatches:
    """Batches from a generator or iterable yielding `x`, `(x, y)` or `(x, y, sample_weight)`.

    Batches must share one batch size except possibly the last, which is padded.
    """

    def __init__(self, data, steps: int | None = None):
        self.data = data
        self.steps = steps
        self.batch_size = None
        self._peeked: list = []  # a one-shot iterator's first item, read by `first` and still to be trained on

    def first(self) -> dict:
        """The first batch. A generator's is kept and yielded again by the next epoch, so it is not lost."""
        one_shot = iter(self.data) is self.data
        if one_shot and not self._peeked:
            self._peeked = list(itertools.islice(self.data, 1))
        for item in self._peeked if one_shot else itertools.islice(self.data, 1):
            return self.to_batch(item, 0)
        raise ValueError("The data yielded no batches.")

    @property
    def steps_per_epoch(self) -> int | None:
        if self.steps is not None:
            return self.steps
        try:
            return len(self.data)
        except TypeError:
            return None

    def epoch(self, epoch: int, steps: int | None = None, start: int = 0) -> Iterator[dict]:
        """The iterable's batches; with `start`, the first `start` are read and dropped (a resumed epoch
        continues at the same batch only if the iterable yields the same sequence again)."""
        limit = steps if steps is not None else self.steps
        items = itertools.chain(self._peeked, self.data)
        self._peeked = []
        # islice stops before reading past the limit: a generator's next item stays for the next epoch.
        for i, item in enumerate(itertools.islice(items, limit)):
            if i < start:
                continue
            yield self.to_batch(item, i)

    def to_batch(self, item, i: int) -> dict:
        """One yielded `x`, `(x, y)` or `(x, y, sample_weight)`, padded to the first batch's size."""
        if isinstance(item, tuple) and len(item) in (2, 3):
            x, y = item[0], item[1]
            sw = item[2] if len(item) == 3 else None
        else:
            x, y, sw = item, None, None
        x, y, sw = _as_numpy(x), _as_numpy(y), _as_numpy(sw)
        n = check_lengths(x, y, sw)
        if self.batch_size is None:
            self.batch_size = n
        if n > self.batch_size:
            raise ValueError(
                f"Batch {i} from the data has {n} samples, more than the first batch's "
                f"{self.batch_size}; give batches of one size (the last may be smaller)."
            )
        return _pad_batch(x, y, sw, n, self.batch_size)


class DatasetBatches(IterableBatches):
    """Batches from a `workbench.data.Dataset`, with the dataset iterator's position kept per step.

    Without `steps` every epoch is a new pass over the dataset (pass number = epoch,
    so a shuffle reshuffles each epoch); with `steps` (steps_per_epoch) the epochs
    share one stream that continues where the previous epoch stopped, as in Keras.
    `state_at(epoch, step)` is the iterator state after that step, saved with
    checkpoints; `resume` hands a saved state back before the resumed epoch starts.
    When training runs in several JAX processes, each reads every P-th batch from
    its process index, unless the dataset was sharded by hand.
    """

    _KEEP = 8192

    def __init__(self, dataset, steps: int | None = None):
        super().__init__(dataset, steps)
        card = dataset.cardinality()
        if card == -1 and steps is None:
            raise ValueError("The Dataset is infinite (it repeats forever): pass steps_per_epoch (and "
                             "validation_steps for validation data) to say how many batches an epoch has.")
        while dataset._before_prefetch is not None:
            # fit's own background thread already computes batches ahead: a trailing prefetch would only
            # hand each batch across one more thread (its iterator states are the same either way)
            dataset = dataset._before_prefetch
        if jax.process_count() > 1 and not dataset._sharded:
            dataset = dataset.shard(jax.process_count(), jax.process_index())
            card = dataset.cardinality()
        # Each process's batches are its part of the global ones (a distribution joins them).
        self.process_local = jax.process_count() > 1
        self.dataset = dataset
        self.cardinality = card
        self.states: dict = {}
        self.resume: dict | None = None
        self._stream = None

    @property
    def steps_per_epoch(self) -> int | None:
        if self.steps is not None:
            return self.steps
        return self.cardinality if self.cardinality >= 0 else None

    def _iterator(self, epoch: int, start: int):
        saved = self.resume
        self.resume = None
        if self.steps is None:
            iterator = self.dataset.iterator(epoch)
            if saved is not None:
                iterator.set_state(saved)
            elif start:
                for _ in range(start):
                    next(iterator)
            return iterator
        if self._stream is None or saved is not None:
            self._stream = self.dataset.iterator(0)
            if saved is not None:
                self._stream.set_state(saved)
        return self._stream

    def epoch(self, epoch: int, steps: int | None = None, start: int = 0) -> Iterator[dict]:
        limit = steps if steps is not None else self.steps
        iterator = self._iterator(epoch, start)
        self.states[(epoch, start)] = None if self.steps is None and start == 0 else iterator.get_state()
        i = start
        while limit is None or i < limit:
            try:
                item = next(iterator)
            except StopIteration:
                if self.steps is not None:
                    warnings.warn(f"The Dataset ran out of data after {i} of the {self.steps} steps of epoch "
                                  f"{epoch}: make sure it can give steps_per_epoch * epochs batches (e.g. "
                                  "with .repeat()).", stacklevel=2)
                    self.exhausted = True
                break
            batch = self.to_batch(item, i)
            i += 1
            self.states[(epoch, i)] = iterator.get_state()
            if len(self.states) > self._KEEP:
                del self.states[next(iter(self.states))]
            yield batch

    exhausted = False

    def first(self) -> dict:
        """The first batch, read from an iterator of its own (the training stream is left untouched)."""
        iterator = self.dataset.iterator(0)
        try:
            return self.to_batch(next(iterator), 0)
        except StopIteration:
            raise ValueError("The Dataset is empty: it gave no batches.") from None
        finally:
            iterator.close()

    def state_at(self, epoch: int, step: int):
        """The iterator state after `step` steps of `epoch` (None: a fresh pass), for checkpoints."""
        if (epoch, step) in self.states:
            return self.states[(epoch, step)]
        if step == 0 and self.steps is not None:  # an epoch boundary of the continuing stream
            return self.states.get((epoch - 1, self.steps))
        return None


def padding_rows(n: int, batch_size: int) -> np.ndarray:
    """Row indices that fill a batch of `n` real rows up to `batch_size`: the real rows, then repeats.

    Padded rows are masked out of losses and metrics, but the model still computes them. Repeating
    real rows keeps them valid inputs: all-zero rows can make a model produce NaN (a fully masked
    sequence averages 0/0), and NaN times a zero weight is still NaN in the loss and its gradient.
    """
    return np.arange(batch_size) % n


def _pad_batch(x, y, sw, n, batch_size) -> dict:
    rows = padding_rows(n, batch_size)

    def fill(a):
        return a if a is None or n == batch_size else a[rows]

    mask = np.zeros(batch_size, "float32")
    mask[:n] = 1.0
    return {"x": jax.tree_util.tree_map(fill, x), "y": jax.tree_util.tree_map(fill, y),
            "sample_weight": jax.tree_util.tree_map(fill, sw), "mask": mask}


def adapter(x, y=None, sample_weight=None, batch_size=None, shuffle=False, seed=0, steps=None):
    """Choose the batching for the arguments Keras' `fit`/`evaluate`/`predict` accept."""
    if x is None:
        raise ValueError("No data: pass x (arrays, a list/dict of arrays, a Dataset or a generator of batches).")
    from workbench.data import Dataset

    if isinstance(x, Dataset):
        if y is not None or sample_weight is not None:
            raise ValueError("When x is a Dataset, y and sample_weight must be None: the dataset's elements "
                             "are (x, y) or (x, y, sample_weight) tuples.")
        if batch_size is not None:
            raise ValueError(f"batch_size={batch_size} was given with a Dataset, which is already batched: "
                             "batch it with .batch(n) and leave batch_size out.")
        return DatasetBatches(x, steps)
    if not (hasattr(x, "__next__") or (hasattr(x, "__iter__") and not isinstance(
            x, (list, tuple, dict, np.ndarray, jax.Array)))):
        return ArrayBatches(x, y, sample_weight, batch_size or 32, shuffle, seed)
    if y is not None or sample_weight is not None:
        raise ValueError("When x is a generator or iterable of batches, y and sample_weight must be None: "
                         "yield (x, y) or (x, y, sample_weight) tuples instead.")
    return IterableBatches(x, steps)


def stack(batches: list[dict], steps: int) -> tuple[dict, np.ndarray]:
    """Stack up to `steps` batches on a new leading axis, padding with empty (fully-masked) batches.

    Returns the stacked batches and a per-step validity flag.
    """
    valid = np.zeros(steps, bool)
    valid[: len(batches)] = True
    filler = jax.tree_util.tree_map(np.zeros_like, batches[0])
    full = batches + [filler] * (steps - len(batches))
    stacked = jax.tree_util.tree_map(lambda *xs: np.stack(xs), *full)
    return stacked, valid

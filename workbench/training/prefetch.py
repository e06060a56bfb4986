"""Preparing the next dispatches' batches while the device runs the current one.

A background thread takes batches from the source, groups them K at a time,
stacks them and starts their transfer to the device, keeping `depth` groups
ready. The order of batches is exactly the source's: prefetching changes when
work happens, never what is computed.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Iterator

import jax

from workbench.training import data as data_mod

_DONE = object()
_DEPTH_ENV = "WORKBENCH_PREFETCH"


def prefetch_depth() -> int:
    """Groups of batches prepared ahead of the device: $WORKBENCH_PREFETCH, default 2; 0 prepares each
    group only when the step asks for it (no overlap, for measuring what prefetching saves)."""
    value = os.environ.get(_DEPTH_ENV, "2")
    try:
        depth = int(value)
    except ValueError:
        raise ValueError(f"{_DEPTH_ENV} must be a non-negative integer, got {value!r}.") from None
    if depth < 0:
        raise ValueError(f"{_DEPTH_ENV} must be a non-negative integer, got {value!r}.")
    return depth


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


class Prefetcher:
    """Iterate `(stacked, valid, n)` groups of `k` batches from `batches`, prepared `depth` groups ahead.

    `n` is the number of real batches in the group (the last group of an epoch
    may be short; `stack` pads it with empty batches that the step skips).
    Errors raised by the source are raised again, unchanged, from `__next__`.
    """

    def __init__(self, batches: Iterator[dict], k: int, depth: int | None = None, to_device: bool = True):
        if k < 1:
            raise ValueError(f"Prefetcher needs k >= 1, got {k}.")
        self._batches = batches
        self._k = k
        self._to_device = to_device
        depth = prefetch_depth() if depth is None else depth
        self._sync = depth == 0  # no background thread: each group is prepared when asked for
        self._pending_error: Exception | None = None
        self.wait_seconds = 0.0  # time the consumer spent waiting for batches
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._finished = False
        self._thread = None
        if not self._sync:
            self._thread = threading.Thread(target=self._fill, name="workbench-prefetch", daemon=True)
            self._thread.start()

    def _group(self):
        """The next group `(stacked, valid, n)`, or None when the source is done.

        When the source fails part-way through a group, the batches read before the failure still make
        a (short) group, and the error is raised by the next call: every good batch is trained on.
        """
        if self._pending_error is not None:
            error, self._pending_error = self._pending_error, None
            raise error
        group = []
        try:
            for batch in self._batches:
                group.append(batch)
                if len(group) == self._k:
                    break
        except Exception as e:
            if not group:
                raise
            self._pending_error = e
        if not group:
            return None
        stacked, valid = data_mod.stack(group, self._k)
        if self._to_device:
            stacked = jax.device_put(stacked)
        return stacked, valid, len(group)

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _fill(self) -> None:
        try:
            while not self._stop.is_set():
                item = self._group()
                if item is None or not self._put(item) or (item[2] < self._k and self._pending_error is None):
                    break
        except BaseException as e:  # handed to the consumer, which raises it
            self._put(_Failure(e))
            return
        self._put(_DONE)

    def __iter__(self):
        return self

    def __next__(self):
        if self._finished:
            raise StopIteration
        started = time.perf_counter()
        try:
            if self._sync:
                item = self._group()
                if item is None or (item[2] < self._k and self._pending_error is None):
                    self._finished = True
                if item is None:
                    raise StopIteration
                return item
            item = self._queue.get()
        finally:
            self.wait_seconds += time.perf_counter() - started
        if item is _DONE:
            self._finished = True
            raise StopIteration
        if isinstance(item, _Failure):
            self._finished = True
            raise item.error
        return item

    def close(self) -> None:
        """Stop the background thread (after an early stop); safe to call more than once."""
        self._stop.set()
        self._finished = True
        if self._thread is not None:
            self._thread.join(timeout=5.0)

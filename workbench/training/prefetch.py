"""Preparing the next dispatches' batches while the device runs the current one.

A background thread takes batches from the source, groups them K at a time,
stacks them and starts their transfer to the device, keeping `depth` groups
ready. The order of batches is exactly the source's: prefetching changes when
work happens, never what is computed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

import jax

from workbench.training import data as data_mod

_DONE = object()


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


class Prefetcher:
    """Iterate `(stacked, valid, n)` groups of `k` batches from `batches`, prepared `depth` groups ahead.

    `n` is the number of real batches in the group (the last group of an epoch
    may be short; `stack` pads it with empty batches that the step skips).
    Errors raised by the source are raised again, unchanged, from `__next__`.
    """

    def __init__(self, batches: Iterator[dict], k: int, depth: int = 2, to_device: bool = True):
        if k < 1:
            raise ValueError(f"Prefetcher needs k >= 1, got {k}.")
        self._batches = batches
        self._k = k
        self._to_device = to_device
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._finished = False
        self._thread = threading.Thread(target=self._fill, name="workbench-prefetch", daemon=True)
        self._thread.start()

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
                group = []
                for batch in self._batches:
                    group.append(batch)
                    if len(group) == self._k:
                        break
                if not group:
                    break
                stacked, valid = data_mod.stack(group, self._k)
                if self._to_device:
                    stacked = jax.device_put(stacked)
                if not self._put((stacked, valid, len(group))) or len(group) < self._k:
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
        item = self._queue.get()
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
        self._thread.join(timeout=5.0)

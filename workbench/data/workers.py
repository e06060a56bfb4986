"""Computing elements ahead: a background prefetch thread, and worker processes.

The worker processes receive the pipeline's random-access stage once, serialised
with cloudpickle (so lambdas and closures work) straight from this process; they
compute elements by index and send them back. Nothing is read from files here.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import queue
import threading

from workbench.data.iterators import OneParent


class Prefetch(OneParent):
    """Computes up to `size` elements ahead in a background thread. Each element travels with the input's
    state after it, so `get_state` is exactly the position of what the consumer has taken."""

    _END = object()

    def __init__(self, parent, size: int):
        super().__init__(parent)
        self.size = max(1, size)
        self.state = parent.get_state()
        self.thread = None

    def _start(self):
        self.queue: queue.Queue = queue.Queue(self.size)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="workbench-dataset-prefetch", daemon=True)
        self.thread.start()

    def _put(self, item):
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self):
        try:
            while not self.stop.is_set():
                element = next(self.parent)
                if not self._put((element, self.parent.get_state())):
                    return
        except StopIteration:
            self._put(self._END)
        except BaseException as e:  # raised again, with its traceback, in the consumer
            self._put(e)

    def __next__(self):
        if self.thread is None:
            self._start()
        item = self.queue.get()
        if item is self._END:
            self.queue.put(self._END)
            raise StopIteration
        if isinstance(item, BaseException):
            self.queue.put(item)
            raise item
        element, self.state = item
        return element

    def _halt(self):
        if self.thread is not None:
            self.stop.set()
            self.thread.join(timeout=10.0)
            self.thread = None

    def get_state(self):
        return self.state

    def set_state(self, state):
        self._halt()
        self.parent.set_state(state)
        self.state = state

    def close(self):
        self._halt()
        super().close()


class WorkerPool:
    """Processes that compute elements of one random-access stage, sent to them once (with cloudpickle,
    so lambdas work). Started on first use with the 'spawn' method (safe next to JAX's threads) and
    shared by every pass; `close` (or the end of the interpreter) stops them."""

    def __init__(self, stage, size: int):
        self.stage, self.size = stage, size
        self._executor = None
        self._lock = threading.Lock()

    def submit_get(self, index: int) -> concurrent.futures.Future:
        with self._lock:
            if self._executor is None:
                import multiprocessing

                import cloudpickle

                self._executor = concurrent.futures.ProcessPoolExecutor(
                    self.size, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_start,
                    initargs=(cloudpickle.dumps(self.stage),))
                atexit.register(self.close)
        return self._executor.submit(_worker_get, index)

    def close(self) -> None:
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
                self._executor = None
                atexit.unregister(self.close)

    def __getstate__(self):
        raise TypeError("A dataset read by worker processes cannot itself be sent to worker processes.")


_WORKER_STAGE = None


def _worker_start(payload: bytes) -> None:
    import cloudpickle

    global _WORKER_STAGE
    _WORKER_STAGE = cloudpickle.loads(payload)


def _worker_get(index: int):
    return _WORKER_STAGE.get(index)

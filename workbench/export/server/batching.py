"""Dynamic batching: concurrent requests to one signature stacked into one program call.

Requests queue up while a batch runs, and the next batch takes what has
queued (up to `max_batch_size` rows); with `timeout_s` > 0 the first request
also waits that long for company. Measured on 2 cores (benchmarks/serving.py),
a 2 ms wait halves a lone client's throughput, while under load batches form
without it (32 clients: within about 10% either way), hence the default of 0. The rows are concatenated along
the batch axis and padded to the next of a few fixed sizes (powers of two up
to the maximum), so the program compiles for a bounded set of shapes. Each
request then gets back its own slice of the outputs.

>>> padding_sizes(64)
(1, 2, 4, 8, 16, 32, 64)
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
from collections.abc import Callable
from concurrent.futures import Executor

import numpy as np


def padding_sizes(max_batch_size: int) -> tuple[int, ...]:
    """The batch sizes a batched call is padded to: powers of two below `max_batch_size`, then it."""
    if max_batch_size < 1:
        raise ValueError(f"max_batch_size is at least 1; got {max_batch_size}.")
    sizes = []
    size = 1
    while size < max_batch_size:
        sizes.append(size)
        size *= 2
    return (*sizes, max_batch_size)


@dataclasses.dataclass
class _Request:
    inputs: dict[str, np.ndarray]
    rows: int
    shapes: tuple  # per-row shapes: only requests that agree on them are stacked
    future: asyncio.Future
    arrived: float


class Batcher:
    """Stacks concurrent calls of `run` ({input: array} -> {output: array}) into padded batches.

    Args:
        run: the program call; runs on `executor`, one batch at a time.
        executor: where `run` and the stacking happen, off the event loop.
        max_batch_size: most rows per call; a bigger request runs on its own, in chunks of
            this many rows, so the program still sees only the padding sizes.
        timeout_s: how long the first waiting request waits for others.
        on_batch: called with (rows, padded size) after each call, e.g. for metrics.
    """

    def __init__(
        self,
        run: Callable[[dict], dict],
        executor: Executor,
        max_batch_size: int = 64,
        timeout_s: float = 0.0,
        on_batch: Callable[[int, int], None] | None = None,
    ):
        self.sizes = padding_sizes(max_batch_size)
        self.max_batch_size = max_batch_size
        self.timeout_s = timeout_s
        self._run = run
        self._executor = executor
        self._on_batch = on_batch or (lambda rows, size: None)
        self._queue: collections.deque[_Request] = collections.deque()
        self._queued_rows = 0
        self._arrived = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def submit(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The outputs for `inputs` (validated arrays sharing a leading batch size), computed in a batch."""
        loop = asyncio.get_running_loop()
        rows = len(next(iter(inputs.values())))
        if rows > self.max_batch_size:
            return await loop.run_in_executor(self._executor, self._execute_alone, inputs, rows)
        shapes = tuple((name, a.shape[1:]) for name, a in inputs.items())
        request = _Request(inputs, rows, shapes, loop.create_future(), loop.time())
        self._queue.append(request)
        self._queued_rows += rows
        if self._task is None:
            self._task = loop.create_task(self._drain())
        else:
            self._arrived.set()
        return await request.future

    async def _drain(self) -> None:
        """Run batches while requests wait; the task ends when the queue is empty."""
        loop = asyncio.get_running_loop()
        try:
            while self._queue:
                deadline = self._queue[0].arrived + self.timeout_s
                while self._queued_rows < self.max_batch_size:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    self._arrived.clear()
                    try:
                        await asyncio.wait_for(self._arrived.wait(), remaining)
                    except TimeoutError:
                        break
                batch = self._take()
                if batch:
                    await self._dispatch(batch)
        finally:
            self._task = None

    def _take(self) -> list[_Request]:
        """The first waiting requests with one row shape, up to max_batch_size rows; drops abandoned ones."""
        batch: list[_Request] = []
        rows = 0
        while self._queue:
            head = self._queue[0]
            if head.future.done():
                self._queue.popleft()
                self._queued_rows -= head.rows
                continue
            if batch and (head.shapes != batch[0].shapes or rows + head.rows > self.max_batch_size):
                break
            self._queue.popleft()
            self._queued_rows -= head.rows
            batch.append(head)
            rows += head.rows
        return batch

    async def _dispatch(self, batch: list[_Request]) -> None:
        loop = asyncio.get_running_loop()
        rows = sum(r.rows for r in batch)
        try:
            results = await loop.run_in_executor(
                self._executor, self._execute, [r.inputs for r in batch], rows
            )
        except Exception as e:  # noqa: BLE001 - every waiting request gets the failure
            for r in batch:
                if not r.future.done():
                    r.future.set_exception(e)
            return
        for r, result in zip(batch, results):
            if not r.future.done():
                r.future.set_result(result)

    def _execute(self, parts: list[dict[str, np.ndarray]], rows: int) -> list[dict[str, np.ndarray]]:
        """Stack, pad, run and split (on the executor)."""
        size = next((s for s in self.sizes if s >= rows), rows)
        if len(parts) == 1 and size == rows:
            stacked = parts[0]
        else:
            stacked = {name: _pad(np.concatenate([p[name] for p in parts]), size) for name in parts[0]}
        outputs = {name: np.asarray(value) for name, value in self._run(stacked).items()}
        self._on_batch(rows, size)
        results = []
        start = 0
        for p in parts:
            n = len(next(iter(p.values())))
            results.append({name: value[start : start + n] for name, value in outputs.items()})
            start += n
        return results

    def _execute_alone(self, inputs: dict[str, np.ndarray], rows: int) -> dict[str, np.ndarray]:
        """A request bigger than max_batch_size, in chunks of at most that many rows (on the executor)."""
        step = self.max_batch_size
        chunks = [
            self._execute(
                [{name: a[start : start + step] for name, a in inputs.items()}], min(step, rows - start)
            )[0]
            for start in range(0, rows, step)
        ]
        return {name: np.concatenate([c[name] for c in chunks]) for name in chunks[0]}


def _pad(array: np.ndarray, size: int) -> np.ndarray:
    """`array` grown to `size` rows by repeating its last row (real data, so the padding cannot fail)."""
    missing = size - len(array)
    if missing <= 0:
        return array
    return np.concatenate([array, np.repeat(array[-1:], missing, axis=0)])

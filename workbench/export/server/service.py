"""What the server does for each TF Serving request, apart from HTTP: status, metadata and predict.

`ModelService` owns the registry of loaded versions, the metrics, the
thread pool that runs the programs, and a batcher per (version, signature).
Every method raises `ServingError` with the HTTP status for what the client
got wrong; anything else is the server's own failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from workbench.export.server.batching import Batcher, padding_sizes
from workbench.export.server.metrics import ServerMetrics
from workbench.export.server.protocol import (
    PredictRequest,
    ServingError,
    metadata_response,
    parse_predict,
    predict_response,
    validated_inputs,
)
from workbench.export.server.registry import ModelRegistry, ServedVersion

# Bodies and answers above this size are encoded and decoded on a worker thread, not the event loop.
_OFF_LOOP_BYTES = 64 * 1024
_OFF_LOOP_VALUES = 16 * 1024


@dataclasses.dataclass(frozen=True)
class ServingOptions:
    """How a server runs; see `workbench serve --help` for each one."""

    poll_seconds: float = 2.0
    canary_share: float = 0.0
    max_batch_size: int = 64
    batch_timeout_ms: float = 0.0
    batching: bool = True
    max_body_mb: float = 32.0
    threads: int = 4

    def __post_init__(self):
        checks = [
            ("poll_seconds", self.poll_seconds > 0, "a number of seconds > 0"),
            ("canary_share", 0.0 <= self.canary_share <= 1.0, "a fraction from 0 to 1"),
            (
                "max_batch_size",
                isinstance(self.max_batch_size, int) and self.max_batch_size >= 1,
                "a whole number >= 1",
            ),
            ("batch_timeout_ms", self.batch_timeout_ms >= 0, "a number of milliseconds >= 0"),
            ("max_body_mb", self.max_body_mb > 0, "a number of megabytes > 0"),
            ("threads", isinstance(self.threads, int) and self.threads >= 1, "a whole number >= 1"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise ValueError(f"Serving option {name} is {expected}; got {getattr(self, name)!r}.")

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)


@dataclasses.dataclass(frozen=True)
class Target:
    """What a request names: a model, and at most one of a version and a label."""

    name: str
    version: int | None = None
    label: str | None = None


class ModelService:
    """Answers status, metadata and predict requests for the models of one repository."""

    def __init__(self, repo_dir: str | os.PathLike, options: ServingOptions):
        self.options = options
        self.sizes = padding_sizes(options.max_batch_size)
        self.metrics = ServerMetrics(self.sizes)
        self.registry = ModelRegistry(
            repo_dir,
            poll_seconds=options.poll_seconds,
            warmup_sizes=self.sizes if options.batching else (1,),
            on_change=lambda name, count: self.metrics.loaded.labels(name).set(count),
        )
        self.executor = ThreadPoolExecutor(max_workers=options.threads, thread_name_prefix="workbench-serve")

    def close(self) -> None:
        self.registry.stop()
        self.executor.shutdown(wait=False, cancel_futures=True)

    # -- status and metadata ---------------------------------------------------------------------------

    def status(self, target: Target) -> dict:
        """TF Serving's model_version_status: every version, or the one the target names."""
        state = self._state(target.name)
        if target.version is None and target.label is None:
            if not state.status:
                raise ServingError(404, f"Model '{target.name}' has no versions in the repository yet.")
            return {"model_version_status": [s.to_json() for s in state.status.values()]}
        version = target.version if target.version is not None else self._labelled(target, state)
        if version not in state.status:
            raise ServingError(404, self._no_version(target.name, version, state))
        return {"model_version_status": [state.status[version].to_json()]}

    def metadata(self, target: Target) -> dict:
        with self.lease(target) as served:
            return metadata_response(target.name, served.version, served.artifact)

    # -- predict ---------------------------------------------------------------------------------------

    async def predict(self, target: Target, body: bytes, answered_by: list | None = None) -> dict:
        """The :predict answer for `body`; the version that answers is appended to `answered_by`."""
        loop = asyncio.get_running_loop()
        big = len(body) > _OFF_LOOP_BYTES
        request = (
            await loop.run_in_executor(self.executor, parse_predict, body) if big else parse_predict(body)
        )
        with self.lease(target) as served:
            if answered_by is not None:
                answered_by.append(served.version)
            signature = self._signature(served, request)
            if big:
                inputs = await loop.run_in_executor(self.executor, validated_inputs, request, signature)
            else:
                inputs = validated_inputs(request, signature)
            outputs = await self._run(served, signature, inputs)
        if sum(o.size for o in outputs.values()) > _OFF_LOOP_VALUES:
            return await loop.run_in_executor(self.executor, predict_response, outputs, request.rows)
        return predict_response(outputs, request.rows)

    async def _run(
        self, served: ServedVersion, signature, inputs: dict[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        if self.options.batching and signature.batched:
            batcher = served.batchers.get(signature.name)
            if batcher is None:
                batcher = served.batchers[signature.name] = Batcher(
                    signature.call_dict,
                    self.executor,
                    self.options.max_batch_size,
                    self.options.batch_timeout_ms / 1000,
                    on_batch=self._counter(served, signature.name),
                )
            return await batcher.submit(inputs)
        rows = len(next(iter(inputs.values()))) if signature.batched else 1
        count = self._counter(served, signature.name)

        def call() -> dict[str, np.ndarray]:
            outputs = {name: np.asarray(value) for name, value in signature.call_dict(inputs).items()}
            count(rows, rows)
            return outputs

        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    def _counter(self, served: ServedVersion, signature: str):
        def count(rows: int, size: int) -> None:
            self.metrics.program_call(served.name, served.version, signature, rows, size)

        return count

    def _signature(self, served: ServedVersion, request: PredictRequest):
        signatures = served.artifact.signatures
        name = request.signature_name or served.artifact.default_signature
        if name not in signatures:
            raise ServingError(
                404,
                f"Model '{served.name}' version {served.version} has no signature '{name}'; "
                f"its signatures are {sorted(signatures)}.",
            )
        return signatures[name]

    # -- choosing the version --------------------------------------------------------------------------

    @contextlib.contextmanager
    def lease(self, target: Target) -> Iterator[ServedVersion]:
        """The version that serves `target`, held (not unloaded) until the block ends."""
        for _ in range(10):
            state = self._state(target.name)
            if target.version is not None:
                version = target.version
            elif target.label is not None:
                version = self._labelled(target, state)
            else:
                version = self.registry.default_version(target.name, state, self.options.canary_share)
                if version is None:
                    raise ServingError(
                        404, f"Model '{target.name}' has no available version; {self._listing(state)}."
                    )
            served = state.served.get(version)
            if served is None:
                raise ServingError(404, self._no_version(target.name, version, state))
            if served.acquire():
                break
        else:  # pragma: no cover - needs ten swaps between reading a snapshot and leasing from it
            raise ServingError(503, f"Model '{target.name}' is being reloaded; try again.")
        try:
            yield served
        finally:
            served.release()

    def _state(self, name: str):
        state = self.registry.state(name)
        if state is None:
            models = self.registry.models()
            raise ServingError(
                404, f"Model '{name}' is not served here; models: {', '.join(models) or 'none'}."
            )
        return state

    def _labelled(self, target: Target, state) -> int:
        if target.label not in state.labels:
            raise ServingError(
                404,
                f"Model '{target.name}' has no label '{target.label}'; its labels are {state.labels or 'none'}.",
            )
        return state.labels[target.label]

    def _no_version(self, name: str, version: int, state) -> str:
        status = state.status.get(version)
        if status is None:
            return f"Model '{name}' has no version {version}; {self._listing(state)}."
        if status.state == "END":
            return f"Version {version} of model '{name}' failed to load: {status.error_message}"
        return f"Version {version} of model '{name}' is still loading; {self._listing(state)}."

    def _listing(self, state) -> str:
        return f"available versions: {state.available() or 'none'}"

"""Starting a multi-process run on JAX's distributed runtime (`jax.distributed`).

Each process calls `initialize()` before anything else touches jax; afterwards
`jax.devices()` lists every process's devices and a distribution's mesh spans
them all. Every process runs the same program on the same data: the batches
are laid out over the global mesh, each process transferring only the pieces
its own devices hold. Only process 0 writes the run folder.
"""

from __future__ import annotations

import os

import jax

ENVIRONMENT = ("WORKBENCH_COORDINATOR", "WORKBENCH_NUM_PROCESSES", "WORKBENCH_PROCESS_ID")


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, *, local_device_count: int | None = None,
               initialization_timeout: int = 300, heartbeat_timeout: int = 100) -> None:
    """Join this process to a multi-process run.

    Arguments not given come from $WORKBENCH_COORDINATOR ("host:port" of process 0),
    $WORKBENCH_NUM_PROCESSES and $WORKBENCH_PROCESS_ID; when none are set either, jax's
    cluster auto-detection (SLURM, Open MPI, Kubernetes, Cloud TPU) fills them in.
    On CPU-only machines the collectives go over gloo, and `local_device_count`
    (default: $WORKBENCH_LOCAL_DEVICES, else 1) is how many CPU devices this process
    has. A process that stops answering is noticed by the others within
    `heartbeat_timeout` seconds, and they fail instead of waiting on it.
    """
    env = os.environ
    coordinator_address = coordinator_address or env.get("WORKBENCH_COORDINATOR") or None
    num_processes = _int_setting("num_processes", num_processes, "WORKBENCH_NUM_PROCESSES")
    process_id = _int_setting("process_id", process_id, "WORKBENCH_PROCESS_ID")
    given = [coordinator_address is not None, num_processes is not None, process_id is not None]
    if any(given) and not all(given):
        raise ValueError(
            "initialize() needs the coordinator address, the number of processes and this process's id "
            "together (or none of them, for jax's cluster auto-detection); got "
            f"coordinator_address={coordinator_address!r}, num_processes={num_processes!r}, "
            f"process_id={process_id!r}."
        )
    if num_processes is not None and not 0 <= process_id < num_processes:
        raise ValueError(f"process_id must be in [0, {num_processes}); got {process_id}.")
    if _cpu_only():
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        count = _int_setting("local_device_count", local_device_count, "WORKBENCH_LOCAL_DEVICES") or 1
        jax.config.update("jax_num_cpu_devices", count)
    jax.distributed.initialize(coordinator_address=coordinator_address, num_processes=num_processes,
                               process_id=process_id, initialization_timeout=initialization_timeout,
                               heartbeat_timeout_seconds=heartbeat_timeout)


def is_main_process() -> bool:
    """Whether this process writes what a run writes once (the run folder, logs): process 0."""
    return jax.process_index() == 0


def _int_setting(name: str, value, variable: str) -> int | None:
    if value is None:
        text = os.environ.get(variable, "").strip()
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"${variable} must be a whole number for {name}; got {text!r}.") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number; got {value!r}.")
    return value


def _cpu_only() -> bool:
    """No accelerator plugin is installed (asked without starting a backend, which initialize must precede)."""
    import importlib.util

    if os.environ.get("JAX_PLATFORMS", "").strip().lower() == "cpu":
        return True
    return not any(importlib.util.find_spec(name) for name in ("jax_cuda12_plugin", "jax_cuda13_plugin",
                                                               "libtpu", "jax_rocm60_plugin"))

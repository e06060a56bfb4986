"""Choosing an implementation for each kernel call: "auto", or one forced by `implementation=`.

Every op registers its implementations here: the XLA reference (always
there, the oracle), Pallas, and cuDNN where JAX offers it. Each comes with a
`supports(*args, **kwargs)` that returns None when it can take the call, or
the reason it cannot (a dtype, a head size, a platform).

`implementation="auto"` picks:

- the reference on CPU, and whenever a program is traced to be portable
  (`model.export()`), or the shapes are symbolic;
- elsewhere the winner in the autotune table for (device kind, op, shape
  bucket, dtype). A missing entry is measured on first use (each candidate
  timed on the call's own shapes) and the table is written to
  `~/.cache/workbench/kernels/autotune.json` ($WORKBENCH_KERNEL_CACHE moves it).

A forced implementation that cannot take the call falls back to the
reference with a debug log line saying why; forcing "pallas" on a CPU runs
the kernel in Pallas' interpret mode (and logs that it does).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import jax

log = logging.getLogger("workbench.kernels")

IMPLEMENTATIONS = ("xla", "pallas", "cudnn")
_PLATFORM = {"gpu": "cuda"}


@dataclasses.dataclass(frozen=True)
class Implementation:
    """One way to compute an op. `fn(*args, interpret=bool, **kwargs)` for Pallas, `fn(*args, **kwargs)` otherwise."""

    op: str
    name: str
    fn: Callable
    platforms: tuple[str, ...]  # "cpu", "cuda", "rocm", "tpu"; the reference lists all of them
    supports: Callable[..., str | None] = lambda *a, **k: None


_registry: dict[str, dict[str, Implementation]] = {}


def register(op: str, name: str, fn: Callable, platforms=("cpu", "cuda", "rocm", "tpu"),
             supports: Callable[..., str | None] | None = None) -> None:
    """Add an implementation of `op`; `name` is one of IMPLEMENTATIONS."""
    if name not in IMPLEMENTATIONS:
        raise ValueError(f"An implementation is one of {IMPLEMENTATIONS}; got {name!r}.")
    _registry.setdefault(op, {})[name] = Implementation(op, name, fn, tuple(platforms),
                                                        supports or (lambda *a, **k: None))


_default: str | None = None


def set_default_implementation(name: str | None) -> None:
    """What `implementation=None` (the layers' calls) means: "auto", "xla", "pallas" or "cudnn"; None resets."""
    global _default
    if name is not None and name not in ("auto", *IMPLEMENTATIONS):
        raise ValueError(f"A kernel implementation is 'auto' or one of {IMPLEMENTATIONS}; got {name!r}.")
    _default = name


def default_implementation() -> str:
    """`set_default_implementation`'s value, else $WORKBENCH_KERNELS, else "auto"."""
    if _default is not None:
        return _default
    env = os.environ.get("WORKBENCH_KERNELS", "").strip().lower()
    return env if env in ("auto", *IMPLEMENTATIONS) else "auto"


def implementations(op: str) -> dict[str, Implementation]:
    return dict(_registry.get(op, {}))


def platform() -> str:
    """The platform programs run on now: "cpu", "cuda", "rocm" or "tpu"."""
    backend = jax.default_backend()
    if backend == "gpu":
        try:
            version = jax.devices()[0].client.platform_version.lower()
        except AttributeError:
            version = ""
        return "rocm" if "rocm" in version else "cuda"
    return _PLATFORM.get(backend, backend)


def _symbolic(args) -> bool:
    for leaf in jax.tree_util.tree_leaves(args):
        shape = getattr(leaf, "shape", ())
        if any(not isinstance(d, int) for d in shape):
            return True
    return False


def _portable() -> bool:
    try:
        from workbench.core.context import portable
    except ImportError:  # the kernels used on their own
        return False
    return portable()


def choose(op: str, implementation: str, args: tuple, kwargs: dict) -> tuple[Implementation, bool]:
    """The implementation that runs this call, and whether a Pallas kernel runs in interpret mode."""
    impls = _registry.get(op)
    if not impls:
        raise KeyError(f"No kernel op {op!r}; registered: {sorted(_registry)}.")
    reference = impls["xla"]
    if implementation is None:
        implementation = default_implementation()
    if implementation not in ("auto", *IMPLEMENTATIONS):
        raise ValueError(f"implementation is 'auto' or one of {IMPLEMENTATIONS}; got {implementation!r}.")
    here = platform()
    if _symbolic(args):
        log.debug("%s: symbolic shapes, using the XLA reference", op)
        return reference, False
    if implementation == "auto":
        if here == "cpu" or _portable():
            return reference, False
        impl = impls.get(autotuned(op, args, kwargs), reference)
        # The winner of a shape bucket may still refuse this very call (an odd length, a mask it cannot take).
        reason = impl.supports(*args, **kwargs) if here in impl.platforms else f"it does not run on {here}"
        if reason is not None:
            log.debug("%s: the autotuned %s cannot take this call (%s), using the XLA reference", op, impl.name,
                      reason)
            return reference, False
        return impl, False
    if implementation == "xla":
        return reference, False
    impl = impls.get(implementation)
    if impl is None:
        log.debug("%s: no %s implementation, using the XLA reference", op, implementation)
        return reference, False
    if _portable():
        log.debug("%s: tracing a portable program (export), using the XLA reference", op)
        return reference, False
    interpret = implementation == "pallas" and here == "cpu"
    if here not in impl.platforms and not interpret:
        log.debug("%s: %s does not run on %s, using the XLA reference", op, implementation, here)
        return reference, False
    reason = impl.supports(*args, **kwargs)
    if reason is not None:
        log.debug("%s: %s cannot take this call (%s), using the XLA reference", op, implementation, reason)
        return reference, False
    if interpret:
        log.info("%s: running the Pallas kernel in interpret mode on CPU (slow; for checking, not speed)", op)
    return impl, interpret


def uses_kernel(op: str, *args, **kwargs) -> bool:
    """Whether a call with the default implementation would run something other than the XLA reference.

    Layers ask this first and keep their own arithmetic otherwise, so their numbers on the reference
    path stay exactly what they were.
    """
    return choose(op, None, args, kwargs)[0].name != "xla"


def call(op: str, implementation: str, *args, **kwargs):
    """Run `op` with the implementation `choose` picks."""
    impl, interpret = choose(op, implementation, args, kwargs)
    if impl.name == "pallas":
        return impl.fn(*args, interpret=interpret, **kwargs)
    return impl.fn(*args, **kwargs)


# ------------------------------------------------------------------------------------------ autotuning


def shape_bucket(args) -> str:
    """Shapes rounded up to powers of two, with dtypes: calls in one bucket share a winner."""
    parts = []
    for leaf in jax.tree_util.tree_leaves(args):
        shape = getattr(leaf, "shape", None)
        if shape is None:
            continue
        dims = "x".join(str(1 << max(0, math.ceil(math.log2(max(d, 1))))) for d in shape)
        parts.append(f"{dims}:{leaf.dtype}")
    return ",".join(parts)


def cache_path() -> Path:
    root = os.environ.get("WORKBENCH_KERNEL_CACHE", "").strip()
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "workbench" / "kernels"
    return base / "autotune.json"


_table_lock = threading.Lock()
_table: dict | None = None


def _load_table() -> dict:
    global _table
    if _table is None:
        try:
            _table = json.loads(cache_path().read_text())
            if not isinstance(_table, dict):
                raise ValueError("not a JSON object")
        except FileNotFoundError:
            _table = {}
        except (OSError, ValueError) as e:
            log.warning("Ignoring the unreadable autotune table %s (%s); it will be measured again.", cache_path(), e)
            _table = {}
    return _table


def _save_table(table: dict) -> None:
    path = cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".autotune.")
        with os.fdopen(fd, "w") as f:
            json.dump(table, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except OSError as e:  # a read-only home: the table lives for this process only
        log.debug("Could not write the autotune table %s: %s", path, e)


def _key(op: str, args, kwargs: dict) -> str:
    static = ",".join(f"{k}={kwargs[k]!r}" for k in sorted(kwargs))  # causal, eps, activation: other programs
    return f"{jax.devices()[0].device_kind}|{op}|{shape_bucket(args)}|{static}"


def autotuned(op: str, args: tuple, kwargs: dict) -> str:
    """The fastest implementation of `op` for calls like this one on this device, measured once."""
    key = _key(op, args, kwargs)
    with _table_lock:
        table = _load_table()
        if key in table:
            return table[key]["winner"]
    if any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(args)):
        # Inside a trace there is nothing to time: measure on concrete arrays of the same shapes.
        args = jax.tree_util.tree_map(_concrete_like, args)
    timings = measure(op, args, kwargs)
    winner = min(timings, key=timings.get)
    with _table_lock:
        table = _load_table()
        table[key] = {"winner": winner, "seconds": timings}
        _save_table(table)
    log.info("%s: autotuned %s -> %s %s", op, key, winner, {k: f"{v * 1e6:.0f}us" for k, v in timings.items()})
    return winner


def _concrete_like(leaf):
    if not hasattr(leaf, "shape") or not hasattr(leaf, "dtype"):
        return leaf
    import jax.numpy as jnp

    if jnp.issubdtype(leaf.dtype, jnp.integer) or leaf.dtype == jnp.bool_:
        return jnp.zeros(leaf.shape, leaf.dtype)
    return jax.random.normal(jax.random.key(0), leaf.shape, jnp.float32).astype(leaf.dtype)


def measure(op: str, args: tuple, kwargs: dict, repeats: int = 5) -> dict[str, float]:
    """Seconds per call (best of `repeats`, after compiling) of every implementation that can take this call."""
    here = platform()
    out = {}
    for name, impl in _registry[op].items():
        if here not in impl.platforms or impl.supports(*args, **kwargs) is not None:
            continue
        extra = {"interpret": False} if name == "pallas" else {}
        fn = jax.jit(lambda *a, _impl=impl, _extra=extra: _impl.fn(*a, **_extra, **kwargs))
        try:
            jax.block_until_ready(fn(*args))
            best = math.inf
            for _ in range(repeats):
                start = time.perf_counter()
                jax.block_until_ready(fn(*args))
                best = min(best, time.perf_counter() - start)
        except Exception as e:  # noqa: BLE001 - a kernel that fails to compile here simply does not compete
            log.debug("%s: %s failed while autotuning: %s", op, name, e)
            continue
        out[name] = best
    return out

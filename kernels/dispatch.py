"""Choosing an implementation for each kernel call: "auto", or one forced by `implementation=`.

Every op registers its implementations here: the XLA reference (always
there, the oracle), Pallas, and cuDNN where JAX offers it. Each comes with a
`supports(*args, **kwargs)` that returns None when it can take the call, or
the reason it cannot (a dtype, a head size, a platform).

`implementation="auto"` picks:

- the reference on CPU, and whenever a program is traced to be portable
  (`model.export()`), or the shapes are symbolic;
- elsewhere the winner in the autotune table for (device kind, op, whether
  the call is being differentiated, shape bucket and dtypes, static
  arguments): an implementation and its tuning (block sizes). A missing entry
  is measured on first use: every implementation that can take the call, with
  each of the tunings it proposes for these shapes, timed on the call's own
  shapes (forward alone, or forward and backward when the call sits under
  `jax.grad`). The table is written to `~/.cache/workbench/kernels/autotune.json`
  ($WORKBENCH_KERNEL_CACHE moves it).

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
from typing import NamedTuple

import jax

log = logging.getLogger("workbench.kernels")

IMPLEMENTATIONS = ("xla", "pallas", "cudnn")
_PLATFORM = {"gpu": "cuda"}


@dataclasses.dataclass(frozen=True)
class Implementation:
    """One way to compute an op. `fn(*args, interpret=bool, **kwargs)` for Pallas, `fn(*args, **kwargs)` otherwise.

    `tunings(*args, **kwargs)` lists keyword sets worth timing for a call
    (block sizes, as plain JSON values): autotuning passes each to `fn` on
    top of the call's own keywords and keeps the fastest. `{}`, the
    implementation's own choice, is always timed too.
    """

    op: str
    name: str
    fn: Callable
    platforms: tuple[str, ...]  # "cpu", "cuda", "rocm", "tpu"; the reference lists all of them
    supports: Callable[..., str | None] = lambda *a, **k: None
    tunings: Callable[..., list[dict]] = lambda *a, **k: []


class Choice(NamedTuple):
    """What runs a call: the implementation, whether in interpret mode, and the tuning keywords it gets."""

    impl: Implementation
    interpret: bool
    tuning: dict


_registry: dict[str, dict[str, Implementation]] = {}


def register(op: str, name: str, fn: Callable, platforms=("cpu", "cuda", "rocm", "tpu"),
             supports: Callable[..., str | None] | None = None,
             tunings: Callable[..., list[dict]] | None = None) -> None:
    """Add an implementation of `op`; `name` is one of IMPLEMENTATIONS."""
    if name not in IMPLEMENTATIONS:
        raise ValueError(f"An implementation is one of {IMPLEMENTATIONS}; got {name!r}.")
    _registry.setdefault(op, {})[name] = Implementation(
        op, name, fn, tuple(platforms), supports or (lambda *a, **k: None), tunings or (lambda *a, **k: [])
    )


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


def choose(op: str, implementation: str, args: tuple, kwargs: dict) -> Choice:
    """The implementation that runs this call, whether a Pallas kernel runs in interpret mode, and its tuning."""
    impls = _registry.get(op)
    if not impls:
        raise KeyError(f"No kernel op {op!r}; registered: {sorted(_registry)}.")
    reference = Choice(impls["xla"], False, {})
    if implementation is None:
        implementation = default_implementation()
    if implementation not in ("auto", *IMPLEMENTATIONS):
        raise ValueError(f"implementation is 'auto' or one of {IMPLEMENTATIONS}; got {implementation!r}.")
    here = platform()
    if _symbolic(args):
        log.debug("%s: symbolic shapes, using the XLA reference", op)
        return reference
    if implementation == "auto":
        if here == "cpu" or _portable():
            return reference
        name, tuning = autotuned(op, args, kwargs)
        impl = impls.get(name, reference.impl)
        # The winner of a shape bucket may still refuse this very call (an odd length, a mask it cannot take).
        reason = impl.supports(*args, **kwargs) if here in impl.platforms else f"it does not run on {here}"
        if reason is not None:
            log.debug("%s: the autotuned %s cannot take this call (%s), using the XLA reference", op, impl.name,
                      reason)
            return reference
        return Choice(impl, False, tuning if impl.name == name else {})
    if implementation == "xla":
        return reference
    impl = impls.get(implementation)
    if impl is None:
        log.debug("%s: no %s implementation, using the XLA reference", op, implementation)
        return reference
    if _portable():
        log.debug("%s: tracing a portable program (export), using the XLA reference", op)
        return reference
    interpret = implementation == "pallas" and here == "cpu"
    if here not in impl.platforms and not interpret:
        log.debug("%s: %s does not run on %s, using the XLA reference", op, implementation, here)
        return reference
    reason = impl.supports(*args, **kwargs)
    if reason is not None:
        log.debug("%s: %s cannot take this call (%s), using the XLA reference", op, implementation, reason)
        return reference
    if interpret:
        log.info("%s: running the Pallas kernel in interpret mode on CPU (slow; for checking, not speed)", op)
    return Choice(impl, interpret, {})


def uses_kernel(op: str, *args, **kwargs) -> bool:
    """Whether a call with the default implementation would run something other than the XLA reference.

    Layers ask this first and keep their own arithmetic otherwise, so their numbers on the reference
    path stay exactly what they were.
    """
    return choose(op, None, args, kwargs).impl.name != "xla"


def call(op: str, implementation: str, *args, **kwargs):
    """Run `op` with the implementation `choose` picks, and the tuning autotuning found for it."""
    impl, interpret, tuning = choose(op, implementation, args, kwargs)
    extra = {"interpret": interpret} if impl.name == "pallas" else {}
    return impl.fn(*args, **extra, **tuning, **kwargs)


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


def differentiated(args) -> bool:
    """Whether these arguments are being traced by `jax.grad` / `jax.vjp` (so a backward pass will follow)."""
    return any(type(leaf).__name__ in ("JVPTracer", "LinearizeTracer") for leaf in jax.tree_util.tree_leaves(args))


def _key(op: str, args, kwargs: dict, mode: str) -> str:
    static = ",".join(f"{k}={kwargs[k]!r}" for k in sorted(kwargs))  # causal, eps, activation: other programs
    return f"{jax.devices()[0].device_kind}|{op}|{mode}|{shape_bucket(args)}|{static}"


def _entry(table: dict, key: str) -> tuple[str, dict] | None:
    entry = table.get(key)
    if not isinstance(entry, dict) or not isinstance(entry.get("winner"), str):
        return None
    tuning = entry.get("tuning", {})
    return entry["winner"], tuning if isinstance(tuning, dict) else {}


def autotuned(op: str, args: tuple, kwargs: dict) -> tuple[str, dict]:
    """The fastest implementation of `op` and its tuning, for calls like this one on this device; measured once."""
    mode = "grad" if differentiated(args) else "forward"
    key = _key(op, args, kwargs, mode)
    with _table_lock:
        found = _entry(_load_table(), key)
    if found is not None:
        return found
    if any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(args)):
        # Inside a trace there is nothing to time: measure on concrete arrays of the same shapes.
        args = jax.tree_util.tree_map(_concrete_like, args)
    results = measure(op, args, kwargs, backward=mode == "grad")
    winner = min(results, key=lambda name: results[name][0])
    tuning = results[winner][1]
    with _table_lock:
        table = _load_table()
        table[key] = {
            "winner": winner,
            "tuning": tuning,
            "seconds": {name: seconds for name, (seconds, _) in results.items()},
            "tunings": {name: best for name, (_, best) in results.items()},
        }
        _save_table(table)
    log.info("%s: autotuned %s -> %s %s %s", op, key, winner, tuning,
             {name: f"{seconds * 1e6:.0f}us" for name, (seconds, _) in results.items()})
    return winner, tuning


def _concrete_like(leaf):
    if not hasattr(leaf, "shape") or not hasattr(leaf, "dtype"):
        return leaf
    import jax.numpy as jnp

    if jnp.issubdtype(leaf.dtype, jnp.integer) or leaf.dtype == jnp.bool_:
        return jnp.zeros(leaf.shape, leaf.dtype)
    return jax.random.normal(jax.random.key(0), leaf.shape, jnp.float32).astype(leaf.dtype)


def measure(op: str, args: tuple, kwargs: dict, repeats: int = 5, backward: bool = False
            ) -> dict[str, tuple[float, dict]]:
    """For every implementation that can take this call: its best seconds per call and the tuning that gave them.

    Each tuning is compiled, run once, then timed `repeats` times (the best counts). With `backward`, a
    call is the forward and the backward pass with respect to every floating-point argument.
    """
    here = platform()
    out = {}
    for name, impl in _registry[op].items():
        if here not in impl.platforms or impl.supports(*args, **kwargs) is not None:
            continue
        extra = {"interpret": False} if name == "pallas" else {}
        candidates = [{}]
        candidates += [t for t in impl.tunings(*args, **kwargs) if t and t not in candidates]
        for tuning in candidates:
            fn = _timed_function(impl, {**extra, **tuning, **kwargs}, args, backward)
            try:
                seconds = _best_time(fn, args, repeats)
            except Exception as e:  # noqa: BLE001 - a kernel that fails to compile here simply does not compete
                log.debug("%s: %s %s failed while autotuning: %s", op, name, tuning, e)
                continue
            if name not in out or seconds < out[name][0]:
                out[name] = (seconds, tuning)
    if not out:
        raise RuntimeError(f"{op}: no implementation ran while autotuning for this call.")
    return out


def _timed_function(impl: Implementation, keywords: dict, args: tuple, backward: bool):
    forward = lambda *a: impl.fn(*a, **keywords)
    if not backward:
        return jax.jit(forward)
    import jax.numpy as jnp

    wrt = [i for i, a in enumerate(args) if hasattr(a, "dtype") and jnp.issubdtype(a.dtype, jnp.floating)]

    def forward_and_backward(*a):
        def of_floats(*floats):
            full = list(a)
            for i, f in zip(wrt, floats):
                full[i] = f
            return forward(*full)

        out, pullback = jax.vjp(of_floats, *(a[i] for i in wrt))
        return out, pullback(jnp.ones_like(out))

    return jax.jit(forward_and_backward)


def _best_time(fn, args: tuple, repeats: int) -> float:
    jax.block_until_ready(fn(*args))
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - start)
    return best

"""Where a fit's wall time goes, and every compilation it triggers with its cause.

`fit` keeps a `StepTimer` while it runs. Each span of the training loop is
measured into one category:

- `data_wait`: the loop waiting for the input pipeline to hand over batches;
- `compile`: a call of a compiled function that traced and compiled it first;
- `dispatch`: host time handing steps to the device (which returns before they run);
- `device`: the host waiting for the device to finish queued steps;
- `callbacks`: callbacks and logging (a callback reading a device value waits for it here);
- `checkpoint`: writing checkpoints (inside callbacks; taken out of `callbacks`);
- `validation`: evaluating the validation data at the end of an epoch.

What no span covers (the loop's own bookkeeping) is `other`. Spans nest: an
inner span's time counts for its own category only. Because steps run
asynchronously, a device-bound fit shows up as `device` (the host waits) and
a host-bound one as `data_wait`, `dispatch` or `callbacks`.

`CompileLog` notices a compilation by jax's own compile events (tracing,
lowering, the backend compiler: `jax.monitoring`) arriving during a call, and
names the cause by comparing the call's argument shapes, dtypes and layouts
with those of the function's previous compilation.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import warnings
from typing import Any

import jax
import numpy as np

CATEGORIES = ("data_wait", "compile", "dispatch", "device", "callbacks", "checkpoint", "validation")
REPEATED_COMPILES = 3  # a function compiled this often in one fit gets a warning

_enabled: bool | None = None

# jax.monitoring's events for the stages of compiling a function (a persistent-cache hit still traces and lowers).
_COMPILE_EVENTS = ("/jax/core/compile/jaxpr_trace_duration", "/jax/core/compile/jaxpr_to_mlir_module_duration",
                   "/jax/core/compile/backend_compile_duration")
_events = threading.local()
_listening = False


def _on_event(event: str, duration: float, *args, **kwargs) -> None:
    if event in _COMPILE_EVENTS:
        _events.count = getattr(_events, "count", 0) + 1


def _compile_events() -> int:
    """Compile events seen so far in this thread (listening from the first call on)."""
    global _listening
    if not _listening:
        jax.monitoring.register_event_duration_secs_listener(_on_event)
        _listening = True
    return getattr(_events, "count", 0)


def set_enabled(on: bool | None) -> None:
    """Turn fit's step-time breakdown on or off (None: back to $WORKBENCH_STEP_TIMING, default on).

    Compilations are logged either way."""
    global _enabled
    _enabled = on


def enabled() -> bool:
    if _enabled is not None:
        return _enabled
    return os.environ.get("WORKBENCH_STEP_TIMING", "1").strip().lower() not in ("0", "false", "off", "no")


class StepTimer:
    """Seconds per category since the last `take()`; see the module docstring for the categories."""

    def __init__(self):
        self._open: list[list] = []  # [category, seconds of spans nested inside]
        self._reset()

    def _reset(self) -> None:
        self.seconds = dict.fromkeys(CATEGORIES, 0.0)
        self.steps = 0
        self._since = time.perf_counter()

    @contextlib.contextmanager
    def measure(self, category: str):
        """Count the time spent in the block as `category`, minus spans nested inside it.

        It yields the span, `[category, nested seconds]`: setting `span[0]` recategorises the block.
        """
        start = time.perf_counter()
        span = [category, 0.0]
        self._open.append(span)
        try:
            yield span
        finally:
            self._open.pop()
            elapsed = time.perf_counter() - start
            self.seconds[span[0]] += elapsed - span[1]
            if self._open:  # the enclosing span did not spend this time on its own category
                self._open[-1][1] += elapsed

    def add(self, category: str, seconds: float) -> None:
        """Count `seconds` measured elsewhere (the input pipeline's waits) as `category`."""
        self.seconds[category] += seconds
        if self._open:
            self._open[-1][1] += seconds

    def take(self) -> dict:
        """The breakdown since the last take, `{"elapsed", "steps", "seconds": {category: s, "other": s}}`;
        resets."""
        elapsed = time.perf_counter() - self._since
        seconds = {k: round(v, 6) for k, v in self.seconds.items()}
        seconds["other"] = round(max(0.0, elapsed - sum(self.seconds.values())), 6)
        out = {"elapsed": round(elapsed, 6), "steps": self.steps, "seconds": seconds}
        self._reset()
        return out


class _NullTimer:
    """What `current()` gives a model that is not fitting: every span is free."""

    seconds: dict = {}

    @contextlib.contextmanager
    def measure(self, category: str):
        yield [category, 0.0]

    def add(self, category: str, seconds: float) -> None:
        pass


_NULL = _NullTimer()


def current(model) -> StepTimer | _NullTimer:
    """The timer of the fit `model` is in, else one that measures nothing."""
    return getattr(model, "_step_timer", None) or _NULL


# ------------------------------------------------------------------------------------------- compiles


def signature(args) -> tuple:
    """The structure and each leaf's (path, shape, dtype) of a call's arguments: what a recompile depends on."""
    leaves, treedef = jax.tree_util.tree_flatten_with_path(args)
    return treedef, tuple(
        (jax.tree_util.keystr(path), tuple(np.shape(leaf)), _dtype_and_layout(leaf)) for path, leaf in leaves
    )


def _dtype_and_layout(leaf) -> str:
    text = str(getattr(leaf, "dtype", type(leaf).__name__))
    spec = getattr(getattr(leaf, "sharding", None), "spec", None)  # a NamedSharding's layout over a mesh
    return text if spec is None else f"{text} laid out {spec}"


def cause(previous: tuple | None, now: tuple, names: tuple[str, ...] = (), axis0: str | None = None) -> str:
    """Why a call with signature `now` compiled again after `previous`, in words.

    `names` name the positional arguments; `axis0` names what the leading axis of arrays means when
    it alone changed, the same way, in every changed array (fit's steps per dispatch).
    """
    if previous is None:
        return "first call"
    if previous[0] != now[0]:
        return "the arguments' structure changed"
    changes = [(_label(path, names), old_shape, shape, old_dtype, dtype)
               for (path, shape, dtype), (_, old_shape, old_dtype) in zip(now[1], previous[1])
               if shape != old_shape or dtype != old_dtype]
    if not changes:
        return "same shapes and dtypes (a new setting, or the compiled function was evicted)"
    leading = {(old[0], new[0]) for _, old, new, a, b in changes if old and new and old[1:] == new[1:] and a == b}
    if axis0 and len(leading) == 1 and len(changes) == sum(1 for _, old, new, a, b in changes
                                                             if old and new and old[1:] == new[1:] and a == b):
        (before, after), = leading
        return f"{axis0}: {before} -> {after}"
    words = []
    for label, old_shape, shape, old_dtype, dtype in changes:
        if shape != old_shape:
            words.append(f"{label}: shape {old_shape} -> {shape}")
        if dtype != old_dtype:
            words.append(f"{label}: dtype {old_dtype} -> {dtype}")
    more = f" (and {len(words) - 4} more)" if len(words) > 4 else ""
    return "; ".join(words[:4]) + more


def _label(path: str, names: tuple[str, ...]) -> str:
    # "[1]['x']" -> "batch['x']" when the second positional argument is called "batch".
    if names and path.startswith("["):
        index, _, rest = path[1:].partition("]")
        if index.isdigit() and int(index) < len(names):
            return names[int(index)] + rest
    return path


class CompileLog:
    """Calls jitted functions and records each compilation they go through: when, how long, and why.

    `records` are `{"kind": "compile", "function", "wall", "seconds", "count", "cause"}`; `listeners`
    get each one as it is made (the run logger writes them into the run folder).
    """

    def __init__(self, timer: StepTimer | _NullTimer | None = None):
        self.timer = timer or _NULL
        self.records: list[dict] = []
        self.listeners: list = []
        self._last: dict[str, tuple] = {}
        self._counts: dict[str, int] = {}
        self._warned: set[str] = set()

    def call(self, name: str, fn, *args, arg_names: tuple[str, ...] = (), axis0: str | None = None,
             category: str = "dispatch", context: dict | None = None):
        """`fn(*args)`, timed as `category`, or as "compile" when the call compiled `fn` first.

        `arg_names` and `axis0` word the cause of a compilation (see `cause`); `context` is added to its record.
        """
        before = _compile_events()
        with self.timer.measure(category) as span:
            start = time.perf_counter()
            out = fn(*args)
            elapsed = time.perf_counter() - start
            compiled = _compile_events() > before
            if compiled:
                span[0] = "compile"
        if compiled:
            self._record(name, args, arg_names, axis0, elapsed, context or {})
        return out

    def _record(self, name: str, args, arg_names, axis0, seconds: float, context: dict) -> None:
        now = signature(args)
        count = self._counts[name] = self._counts.get(name, 0) + 1
        record = {"kind": "compile", "function": name, "wall": time.time(), "seconds": round(seconds, 6),
                  "count": count, "cause": cause(self._last.get(name), now, arg_names, axis0), **context}
        self._last[name] = now
        self.records.append(record)
        for listener in self.listeners:
            listener(record)
        if count >= REPEATED_COMPILES and name not in self._warned:
            self._warned.add(name)
            warnings.warn(
                f"The {name} function compiled {count} times in this fit (last cause: {record['cause']}); each "
                "compilation stalls training. Give every batch the same shape (a fixed batch size, padding, or "
                "drop_remainder=True on a Dataset).",
                # Shown at the user's model.fit: _record < call < fit's dispatcher < trainer.fit < Model.fit.
                RecompilationWarning, stacklevel=6,
            )

    def summary(self) -> dict[str, Any]:
        """Compilations and their seconds per function."""
        out: dict[str, Any] = {}
        for r in self.records:
            entry = out.setdefault(r["function"], {"count": 0, "seconds": 0.0})
            entry["count"] += 1
            entry["seconds"] += r["seconds"]
        return out


class RecompilationWarning(UserWarning):
    """A compiled function of a fit keeps compiling again (its arguments keep changing shape)."""

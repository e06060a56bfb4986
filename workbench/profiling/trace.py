"""Profiler traces: capture one of training (or of any function) and summarise where the time went.

`trace(model, steps=10, x=x, y=y)` trains the compiled model for `steps` steps under `jax.profiler`
and writes the trace into a run folder, `runs/<run-id>/profile/trace/`, in the layout that
TensorBoard's profile plugin and Perfetto open (`plugins/profile/<timestamp>/<host>.xplane.pb`,
`<host>.trace.json.gz`). It returns a `TraceSummary`, also written there as `trace_summary.json`:
the XLA operations that took the most time (matmuls, fusions, copies, ...) and the time per layer.
`read_trace(path)` summarises a trace written before.

Operations are the events that carry an `hlo_op` stat: the ops' executions on a device's plane
("/device:GPU:0"), or on the host's plane where there is no device (the CPU runs XLA's thunks on
its thread pools). Layers come from the HLO the trace holds for every program it ran: each
instruction's `op_name` metadata is the name stack it was traced under, e.g.
`jit(train_multi)/while/body/transpose(jvp(sequential))/dense_1/dot_general`, and layers name their
ops with `jax.named_scope(layer.name)`, so the innermost named scope (`dense_1`) is the layer.

>>> summary = trace(model, steps=20, x=x_train, y=y_train, batch_size=64)   # doctest: +SKIP
>>> print(summary)                                                          # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import gzip
import inspect
import json
import os
import re
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import jax

from workbench.profiling.hlo_protos import HloOp, Program, as_int, hlo_programs

_SUMMARY_FILE = "trace_summary.json"
_TRACE_SUFFIXES = (".xplane.pb", ".trace.json.gz", "perfetto_trace.json.gz")
# Ops that run other ops: their time is the time of what they contain.
_CONTROL_FLOW = {"while", "conditional", "call"}


@dataclasses.dataclass
class TraceSummary:
    """What a profiler trace says: the most expensive XLA operations and the time per layer.

    `top_ops` rows: `name` (the HLO instruction, e.g. "dot.3", "fusion.2"), `module` (the program
    it belongs to), `layer` (its innermost named scope, or None), `scope` (all its named scopes),
    `category` ("matmul", "convolution", "fusion", else the HLO opcode; None without HLO), `count`,
    `total_us`, `mean_us` and `share` (of all op time). Op times are summed over threads and
    devices: on a CPU that runs ops side by side they can add up to more than `wall_s`.
    """

    path: Path  # the trace folder: the log_dir jax.profiler wrote under
    files: list[Path]  # the files of the session summarised
    top_ops: list[dict[str, Any]]
    by_layer: dict[str, float]  # layer -> total_us, most expensive first
    steps: int | None  # steps (or calls) traced; None for a trace written by something else
    wall_s: float | None  # the wall time of those steps
    total_us: float  # all op time: what `share` divides by
    planes: list[str]  # where the ops ran: ["/host:CPU"], ["/device:GPU:0"], ...
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types; `session` (the folder of `files`) and `files` are relative to `path`."""
        return {
            "path": str(self.path),
            "session": os.path.relpath(self.files[0].parent, self.path),
            "files": [os.path.relpath(f, self.path) for f in self.files],
            "top_ops": self.top_ops,
            "by_layer": self.by_layer,
            "steps": self.steps,
            "wall_s": self.wall_s,
            "total_us": self.total_us,
            "planes": self.planes,
            "notes": self.notes,
        }

    def __str__(self) -> str:
        header = ["Operation", "Layer", "Category", "Count", "Total ms", "Mean us", "Share"]
        body = [[r["name"], r["layer"] or "", r["category"] or "", str(r["count"]),
                 f"{r['total_us'] / 1e3:.3f}", f"{r['mean_us']:.1f}", _percent(r["total_us"], self.total_us)]
                for r in self.top_ops]
        widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]

        def line(row):
            cells = (c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
            return "  ".join(cells).rstrip()

        ran = f"{self.steps} steps in {self.wall_s:.3f} s" if self.steps and self.wall_s else "a trace"
        lines = [f"Profile of {ran}: {self.total_us / 1e3:.3f} ms of XLA ops on {', '.join(self.planes)}",
                 f"  {self.path}", line(header), "-" * len(line(header)), *map(line, body)]
        if self.by_layer:
            rows = [*self.by_layer.items(), ("(outside layers)", self.total_us - sum(self.by_layer.values()))]
            width = max(len(name) for name, _ in rows)
            lines += ["", "Time per layer"]
            lines += [f"{name.ljust(width)}  {us / 1e3:9.3f} ms  {_percent(us, self.total_us)}"
                      for name, us in rows]
        return "\n".join(lines + [f"Note: {n}" for n in self.notes])


def trace(target, steps: int = 10, *, x=None, y=None, batch_size: int | None = None, run=None,
          top: int = 20, create_perfetto_trace: bool = False, **fit_kwargs) -> TraceSummary:
    """Profile `steps` training steps of a compiled model, or `steps` calls of a function; summarise them.

    `target` is a compiled model, trained by `model.fit(x, y, batch_size=..., steps_per_epoch=steps)`
    with `fit_kwargs` passed on (its weights change), or a function of no arguments, called `steps`
    times and waited for. One untimed round runs first, so that compiling is not in the trace. The
    trace goes to `<run>/profile/trace/`, where `run` is a run id or a run folder; by default the
    model's last run (where its fit logged one), else a new `runs/<stamp>-profile-<hex>/` folder.
    `top` is how many operations `top_ops` lists.

    >>> summary = trace(model, steps=10, x=x, y=y, batch_size=32)   # doctest: +SKIP
    >>> summary.top_ops[0]["name"], summary.by_layer                  # doctest: +SKIP
    """
    from workbench.core.layer import Layer
    from workbench.core.model import Model

    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a whole number of steps, at least 1; got {steps!r}.")
    expected = "trace() profiles a compiled model or a function of no arguments"
    if isinstance(target, Model):
        run_once = _fit_round(target, steps, x, y, batch_size, fit_kwargs)
        default_run = getattr(target, "_run_path", None)
    elif isinstance(target, Layer):
        raise TypeError(f"{expected}; got the layer '{target.name}' ({type(target).__name__}). Put it in a "
                        "model, or pass a function that calls it.")
    elif callable(target):
        if fit_kwargs or x is not None or y is not None or batch_size is not None:
            raise TypeError("x, y, batch_size and fit arguments are for a model; a function is called "
                            "with no arguments.")
        run_once = _call_round(target, steps)
        default_run = None
    else:
        raise TypeError(f"{expected}; got {type(target).__name__}.")

    folder = _trace_folder(run, default_run)
    before = {f: f.stat().st_mtime_ns for f in _trace_files(folder)}
    run_once()  # compiles, outside the trace
    with jax.profiler.trace(folder, create_perfetto_trace=create_perfetto_trace):
        started = time.perf_counter()
        steps = run_once()
        wall_s = time.perf_counter() - started
    # jax names a session by the second it ended, so a trace soon after another may rewrite its files.
    written = [f for f in _trace_files(folder) if before.get(f) != f.stat().st_mtime_ns]
    if not written:
        raise RuntimeError(f"jax.profiler wrote no trace files under {folder}.")
    summary = _summarise(folder, written[0].parent, top, steps=steps, wall_s=wall_s)
    (folder / _SUMMARY_FILE).write_text(json.dumps(summary.to_dict(), indent=1))
    return summary


def read_trace(path: str | os.PathLike, *, top: int = 20) -> TraceSummary:
    """Summarise a trace written before: from a run folder, its `profile/trace/` folder or any other
    `log_dir` of `jax.profiler.trace` (the latest session in it), or one session's folder or file.

    >>> read_trace("runs/20250101-120000-profile-3f2a")     # doctest: +SKIP
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path}: there is no such file or folder.")
    if path.is_file():
        session = path.parent
    else:
        sessions = _sessions(path)
        if not sessions:
            raise FileNotFoundError(
                f"{path}: no profiler trace here. Expected plugins/profile/<timestamp>/<host>.xplane.pb "
                "(or a *.trace.json.gz) as jax.profiler.trace writes them; workbench.profiling.trace() "
                "writes one.")
        session = sessions[-1]
    # jax writes a session into <log_dir>/plugins/profile/<timestamp>/; the log_dir is the trace folder.
    folder = session.parents[2] if session.parent.parent.name == "plugins" else session
    saved = _read_json(folder / _SUMMARY_FILE)
    if saved.get("session") != os.path.relpath(session, folder):  # that summary is of another session
        saved = {}
    return _summarise(folder, session, top, steps=saved.get("steps"), wall_s=saved.get("wall_s"))


# --- capture ---------------------------------------------------------------------------------------------


def _fit_round(model, steps, x, y, batch_size, fit_kwargs) -> Callable[[], None]:
    if not getattr(model, "compiled", False):
        raise RuntimeError(f"Model '{model.name}' must be compiled before it is traced: call "
                           "model.compile(optimizer=..., loss=...).")
    if x is None:
        raise ValueError(f"trace() trains model '{model.name}': pass its data as x= (and y=, batch_size=).")
    fixed = {"epochs", "steps_per_epoch", "verbose", "log"} & set(fit_kwargs)
    if fixed:
        raise ValueError(f"trace() sets {sorted(fixed)} of the fit itself; leave them out.")

    def run_once() -> int:
        """Train; returns the steps run (fewer than `steps` when the data runs out first)."""
        before = _global_step(model)
        # The same steps each round, so the traced round runs the programs the warm-up compiled.
        model.fit(x, y, batch_size=batch_size, epochs=1, steps_per_epoch=steps, verbose=0, log=False,
                  **fit_kwargs)
        jax.block_until_ready(model.get_variables())
        return _global_step(model) - before

    return run_once


def _call_round(fn, steps) -> Callable[[], None]:
    try:
        inspect.signature(fn).bind()
    except TypeError:
        raise TypeError(f"trace() calls the function with no arguments, but {fn!r} needs some; wrap it, "
                        "e.g. trace(lambda: step(x), steps=...).") from None
    except ValueError:  # no signature to check (some builtins): calling it will tell
        pass

    def run_once() -> int:
        for _ in range(steps):
            jax.block_until_ready(fn())
        return steps

    return run_once


def _global_step(model) -> int:
    return int((getattr(model, "_fit_position", None) or {}).get("global_step", 0))


def _trace_folder(run, default_run) -> Path:
    """`<run folder>/profile/trace`, made if missing."""
    from workbench import runs
    from workbench.runs.location import create_run_folder

    if run is not None:
        base = runs.load_run(run).path
    elif default_run is not None and Path(default_run).is_dir():
        base = Path(default_run)
    else:
        base = create_run_folder(runs.runs_dir(), "profile")
    folder = base / "profile" / "trace"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _trace_files(folder: Path) -> list[Path]:
    return [f for f in folder.rglob("*") if f.name.endswith(_TRACE_SUFFIXES) and f.is_file()]


def _sessions(folder: Path) -> list[Path]:
    """Folders holding trace files under `folder`, oldest first (jax names them by time)."""
    return sorted({f.parent for f in _trace_files(folder)}, key=lambda d: (d.name, d.stat().st_mtime))


# --- reading ---------------------------------------------------------------------------------------------


class _OpEvent(NamedTuple):
    plane: str
    line: str
    op: str
    module: str | None
    program_id: int | None
    duration_ns: float


def _summarise(folder: Path, session: Path, top: int, *, steps, wall_s) -> TraceSummary:
    files = sorted(f for f in session.iterdir() if f.is_file())
    xplanes = [f for f in files if f.name.endswith(".xplane.pb")]
    notes, programs = [], []
    try:
        programs = [p for f in xplanes for p in hlo_programs(f.read_bytes())]
    except (ValueError, IndexError, UnicodeDecodeError):  # a format this reader does not know
        programs = []
    if xplanes and hasattr(jax.profiler, "ProfileData"):
        events = [e for f in xplanes for e in _xplane_events(f)]
    else:  # the same events in JSON: one file per host, else the Perfetto file of the session
        jsons = [f for f in files if f.name.endswith(".trace.json.gz")] or \
            [f for f in files if f.name == "perfetto_trace.json.gz"]
        events = [e for f in jsons for e in _json_events(f)]
    events = _executed_ops(events)
    if not events:
        raise ValueError(f"{session}: the trace holds no XLA operations (events with an hlo_op). Did "
                         "anything run while it was recording?")
    if not programs:
        notes.append("The trace holds no HLO metadata: operations are grouped by name only, without layers.")

    hlo_of = _hlo_of_ops(programs, events)
    groups: dict[tuple, list] = {}  # (module, op) -> [count, nanoseconds]
    for e in events:
        hlo = hlo_of.get((e.module, e.op))
        if (hlo.opcode if hlo else e.op.partition(".")[0]) in _CONTROL_FLOW:
            continue
        group = groups.setdefault((e.module, e.op), [0, 0.0])
        group[0] += 1
        group[1] += e.duration_ns
    total_us = sum(ns for _, ns in groups.values()) / 1e3
    rows, by_layer = [], {}
    for (module, op), (count, ns) in sorted(groups.items(), key=lambda kv: -kv[1][1]):
        hlo = hlo_of.get((module, op))
        scopes = _scopes(hlo.op_name) if hlo else []
        layer = scopes[-1] if scopes else None
        if layer is not None:
            by_layer[layer] = by_layer.get(layer, 0.0) + ns / 1e3
        rows.append({"name": op, "module": module, "layer": layer, "scope": "/".join(scopes) or None,
                     "category": hlo.category if hlo else None, "count": count, "total_us": ns / 1e3,
                     "mean_us": ns / 1e3 / count, "share": ns / 1e3 / total_us if total_us else 0.0})
    if programs and not by_layer:
        notes.append("No operation ran under a named scope, so none is attributed to a layer.")
    return TraceSummary(path=folder, files=files, top_ops=rows[:top],
                        by_layer=dict(sorted(by_layer.items(), key=lambda kv: -kv[1])), steps=steps,
                        wall_s=wall_s, total_us=total_us, planes=sorted({e.plane for e in events}),
                        notes=notes)


def _xplane_events(file: Path) -> Iterator[_OpEvent]:
    """Op events of an XSpace file, read with jax's own reader."""
    data = jax.profiler.ProfileData.from_file(str(file))
    with warnings.catch_warnings():
        # jaxlib's stat iterators warn once on Python 3.12, which -W error would make fatal
        warnings.simplefilter("ignore", DeprecationWarning)
        for plane in data.planes:
            for line in plane.lines:
                ops_line = line.name == "XLA Ops"
                for event in line.events:
                    if event.name.startswith(("$", "end: ")):  # Python tracer frames and flow markers
                        continue
                    stats = dict(event.stats)
                    if "hlo_op" in stats or ops_line:
                        yield _OpEvent(plane.name, line.name, str(stats.get("hlo_op", event.name)),
                                       stats.get("hlo_module"), as_int(stats.get("program_id")),
                                       float(event.duration_ns))


def _json_events(file: Path) -> Iterator[_OpEvent]:
    """Op events of a Chrome/Perfetto trace JSON (what jax writes beside the XSpace)."""
    with gzip.open(file, "rt") as f:
        events = json.load(f)
    events = events.get("traceEvents", []) if isinstance(events, dict) else events
    processes = {e.get("pid"): e["args"].get("name", "") for e in events
                 if e.get("ph") == "M" and e.get("name") == "process_name"}
    threads = {(e.get("pid"), e.get("tid")): e["args"].get("name", "") for e in events
               if e.get("ph") == "M" and e.get("name") == "thread_name"}
    for e in events:
        args = e.get("args") or {}
        line = threads.get((e.get("pid"), e.get("tid")), "")
        if e.get("ph") == "X" and ("hlo_op" in args or line == "XLA Ops"):
            yield _OpEvent(processes.get(e.get("pid"), ""), line, str(args.get("hlo_op", e.get("name"))),
                           args.get("hlo_module"), as_int(args.get("program_id")), float(e.get("dur", 0)) * 1e3)


def _executed_ops(events: list[_OpEvent]) -> list[_OpEvent]:
    """The events that are op executions, from the devices where there are any, else from the host.

    With a device, the host's events with an hlo_op are its launches of those ops. A device plane
    with an "XLA Ops" line (TPUs) also has the lower-level events under it; only that line counts.
    """
    device = [e for e in events if e.plane.startswith("/device:")]
    chosen = device or events
    with_ops_line = {e.plane for e in chosen if e.line == "XLA Ops"}
    return [e for e in chosen if e.plane not in with_ops_line or e.line == "XLA Ops"]


def _hlo_of_ops(programs: list[Program], events: list[_OpEvent]) -> dict[tuple, HloOp]:
    """The HLO instruction of each (module, op) the events ran.

    Events name their module, but one name often has several programs (fit's K-step and single-step
    functions, or one function compiled for new shapes), and on the CPU an event's program_id need
    not be the id the metadata gives. The program meant is the one of that name holding every op the
    events name; where several do, an op's instruction is taken only where they agree on it.
    """
    ran: dict[str | None, tuple[set, set]] = {}
    for e in events:
        ops, ids = ran.setdefault(e.module, (set(), set()))
        ops.add(e.op)
        ids.add(e.program_id)
    out = {}
    for module, (ops, ids) in ran.items():
        candidates = [p for p in programs if p.name == module] or programs
        covering = [p for p in candidates if ops <= p.ops.keys()] or candidates
        covering = [p for p in covering if p.id in ids] or covering
        for op in ops:
            found = {p.ops[op] for p in covering if op in p.ops}
            if len(found) == 1:
                out[module, op] = found.pop()
    return out


_WRAPPER = re.compile(r"([\w.-]+)\((.*)\)")
_NOT_SCOPES = re.compile(r"while|body|cond|branch_\d+|scan|checkpoint|remat|rematted_computation|closed_call|"
                         r"core_call|custom_jvp_call|custom_vjp_call|shard_map")


def _scopes(op_name: str) -> list[str]:
    """The named scopes in an op's name stack, outermost first.

    `jit(train)/while/body/transpose(jvp(sequential))/dense_1/jit(relu)/max` -> ["sequential", "dense_1"]:
    the first part names the program and the last the primitive; transformations wrap a scope's name
    (`jvp(...)`), nested jitted functions appear as `jit(fn)`, and control flow adds its own parts.
    """
    parts = op_name.split("/")
    if len(parts) < 3 or not _WRAPPER.fullmatch(parts[0]):  # not a name stack (an argument's name, say)
        return []
    scopes = []
    for part in parts[1:-1]:
        while (m := _WRAPPER.fullmatch(part)) and m.group(1) not in ("jit", "pjit"):
            part = m.group(2)
        if part and not _WRAPPER.fullmatch(part) and not _NOT_SCOPES.fullmatch(part):
            scopes.append(part)
    return scopes


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _percent(part: float, whole: float) -> str:
    return f"{100 * part / whole:5.1f}%" if whole else "    -"

"""Training throughput: workbench `fit` against Keras 3 `fit`, a hand-written `jax.jit` loop and Flax NNX.

The contenders (`contenders.py`) train the same models on the same random data
with Adam(1e-3), the same batch sizes and the same number of steps; the tables
are made in `throughput_tables.py`.

- Steady steps/s: all contenders live in this one process; each runs one
  untimed warm-up epoch, then the timed epochs are interleaved round-robin
  (the order rotating each round) so machine noise hits them alike; the best
  epoch of `--repeats` is kept.
- Time to first step: a fresh process per contender and model, with no
  persistent compilation cache, times build + compile + one step (for `fit`,
  a `fit` call on one batch). Reported from after the imports, and from
  process start (imports included).
- Peak memory: in the same process, after `--mem-steps` more steps: the peak
  resident set size, and the device's peak bytes where the backend reports them.
- Compile cache: two fresh workbench processes share an empty cache folder;
  the first fills it (cold), the second reads it (warm).

    python benchmarks/train_throughput.py --steps 300 --repeats 3
    python benchmarks/train_throughput.py --quick        # smoke test, meaningless numbers
    python benchmarks/train_throughput.py --write        # also rewrite benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
from contenders import MODELS, contenders, make_data, steps_for  # noqa: E402
from throughput_tables import LABELS, describe, number, tables, write_results  # noqa: E402

SPAWN_ENV = "TRAIN_THROUGHPUT_SPAWN_TIME"
CACHE_ENV = ("JAX_COMPILATION_CACHE_DIR", "WORKBENCH_COMPILATION_CACHE", "WORKBENCH_COMPILATION_CACHE_DIR")
RESULTS = Path(__file__).with_name("RESULTS.md")


# ---------------------------------------------------------------- steady state (this process)
def steady_state(name: str, steps: int, repeats: int) -> tuple[dict, dict]:
    """Best-epoch steps/s per contender, and diagnostics (workbench's automatic steps per dispatch)."""
    x, y = make_data(name, steps)
    trainers = {}
    for label, contender in contenders().items():
        contender.load()
        trainers[label] = contender.trainer(name)
        trainers[label](x, y)  # warm-up: compiles, and lets workbench pick its steps per dispatch
    times = {label: [] for label in trainers}
    for r in range(repeats):
        for label in LABELS[r % len(LABELS) :] + LABELS[: r % len(LABELS)]:
            gc.collect()
            t0 = time.perf_counter()
            trainers[label](x, y)
            times[label].append(time.perf_counter() - t0)
    notes = {"workbench_auto_k": getattr(trainers["workbench"].model, "_auto_k", None)}
    return {label: steps / min(ts) for label, ts in times.items()}, notes


# ---------------------------------------------------------------- fresh processes
def peak_rss_mib() -> float:
    """This process's resident-set high-water mark.

    Linux's `ru_maxrss` carries the parent's peak across fork + exec, so a child
    started by a big parent would report the parent's size; VmHWM belongs to this
    process image alone.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    scale = 2**20 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB elsewhere
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def child(label: str, names: list[str], mem_steps: int, timed_pass: bool) -> None:
    """Runs in a fresh process: import, then per model build + compile + one step, then `mem_steps` more.

    Prints one JSON line per model. Only `--quick` passes several models (only
    the first meets a cold process) and asks for `timed_pass`: steps/s of one
    more pass over the `mem_steps` batches, in place of the interleaved runs.
    """
    spawned = float(os.environ[SPAWN_ENV])
    t0 = time.time()
    data = {name: make_data(name, steps_for(name, mem_steps)) for name in names}
    making_data = time.time() - t0  # the user's data, not the library's cost: left out of import time
    device = jax.devices()[0]  # backend start-up counts as import time, for every contender alike
    contender = contenders()[label]
    contender.load()
    imported = time.time()
    import_s = imported - spawned - making_data
    rss_import = peak_rss_mib()
    for name in names:
        (x, y), batch = data[name], MODELS[name][1]
        start = time.time()
        train = contender.trainer(name)
        train(x[:batch], y[:batch])
        first = time.time()
        train(x, y)
        stats = device.memory_stats() or {}
        steps_per_s = None
        if timed_pass:
            t0 = time.perf_counter()
            train(x, y)
            steps_per_s = len(x) // batch / (time.perf_counter() - t0)
        print(
            json.dumps(
                {
                    "contender": label,
                    "model": name,
                    "first_step_s": first - start,
                    "first_step_with_imports_s": first - start + import_s,
                    "import_s": import_s,
                    "rss_after_import_mib": rss_import,
                    "peak_rss_mib": peak_rss_mib(),
                    "device_peak_bytes": stats.get("peak_bytes_in_use"),
                    "cache_dir": jax.config.jax_compilation_cache_dir,
                    "steps_per_s": steps_per_s,
                }
            ),
            flush=True,
        )


def spawn(label: str, names: list[str], mem_steps: int, quick: bool, cache_dir: str | None = None) -> dict:
    """Runs `child` in a fresh interpreter; with `cache_dir`, workbench's compilation cache is on there."""
    env = {k: v for k, v in os.environ.items() if k not in CACHE_ENV}
    env["KERAS_BACKEND"] = "jax"
    if cache_dir is None:
        env["WORKBENCH_COMPILATION_CACHE"] = "0"
    else:
        env["WORKBENCH_COMPILATION_CACHE_DIR"] = cache_dir
    env[SPAWN_ENV] = repr(time.time())
    cmd = [sys.executable, __file__, "--child", label, *names, "--mem-steps", str(mem_steps)]
    cmd += ["--quick"] if quick else []
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(
            f"{label} on {names} failed in its own process (exit {out.returncode}):\n{out.stderr}"
        )
    results = {}
    for line in out.stdout.splitlines():
        if line.startswith("{"):
            result = json.loads(line)
            results[result["model"]] = result
            if result["cache_dir"] != cache_dir:
                raise RuntimeError(
                    f"{label} on {result['model']}: expected the compilation cache {cache_dir!r}, "
                    f"the process had {result['cache_dir']!r}."
                )
    return results


def cache_pair(names: list[str], mem_steps: int, quick: bool) -> dict:
    """Two workbench processes in turn on one empty cache folder: the first fills it, the second reads it."""
    folder = tempfile.mkdtemp(prefix="workbench-cache-")
    try:
        filling = spawn("workbench", names, mem_steps, quick, cache_dir=folder)
        entries = sum(len(files) for _, _, files in os.walk(folder))
        warm = spawn("workbench", names, mem_steps, quick, cache_dir=folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {name: {"cold": filling[name], "warm": warm[name], "entries": entries} for name in names}


def fresh_processes(names: list[str], mem_steps: int, repeats: int, quick: bool) -> tuple[dict, dict]:
    """Cold first steps ({model: {contender: fastest of `repeats`}}) and workbench's cache pairs ({model: ...}).

    A process per contender and model, one at a time. `quick` shares a process
    between models, runs processes side by side and times a pass in each: fast,
    and only a smoke test.
    """
    groups = [names] if quick else [[name] for name in names]
    cold: dict = {name: {} for name in names}
    cache: dict = {}
    with ThreadPoolExecutor(max_workers=(os.cpu_count() or 1) if quick else 1) as pool:
        jobs = []
        for group in groups:
            jobs += [
                ("cold", pool.submit(spawn, label, group, mem_steps, quick))
                for _ in range(repeats)
                for label in LABELS
            ]
            jobs.append(("cache", pool.submit(cache_pair, group, mem_steps, quick)))
        for kind, job in jobs:
            for name, result in job.result().items():
                if kind == "cache":
                    cache[name] = result
                    continue
                best = cold[name].get(result["contender"])
                if best is None or result["first_step_s"] < best["first_step_s"]:
                    cold[name][result["contender"]] = result
    return cold, cache


def machine() -> str:
    device = jax.devices()[0]
    kind = "CPU" if device.platform == "cpu" else device.device_kind
    return f"{platform.machine()} {os.cpu_count()}-core host, {kind}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steps", type=int, default=300, help="steps per timed epoch (a fifth for the convnet)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs per contender; the best is kept")
    parser.add_argument(
        "--mem-steps", type=int, default=50, help="steps after the first one, for peak memory"
    )
    parser.add_argument(
        "--first-step-repeats",
        type=int,
        default=1,
        help="fresh processes per contender and model; the fastest first step is kept",
    )
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    parser.add_argument(
        "--quick", action="store_true", help="tiny step counts: a smoke test, not a measurement"
    )
    parser.add_argument("--write", action="store_true", help="rewrite the tables in benchmarks/RESULTS.md")
    parser.add_argument("--results", type=Path, default=RESULTS, help=argparse.SUPPRESS)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)  # CONTENDER MODEL [MODEL ...]
    args = parser.parse_args(argv)
    if args.quick and args.write:
        parser.error("--write with --quick would record numbers that measure nothing.")
    if args.child:
        child(args.child[0], args.child[1:], args.mem_steps, args.quick)
        return
    # The steady-state contenders share this process: keep workbench from turning the disk cache on for all.
    os.environ["WORKBENCH_COMPILATION_CACHE"] = "0"
    if args.quick:
        args.repeats, args.mem_steps, args.first_step_repeats = 1, 3, 1

    import flax
    import keras
    import optax

    load_before = os.getloadavg()[0]
    rows = {name: {} for name in args.models}
    if not args.quick:  # --quick takes steps/s from its fresh processes instead
        for name in args.models:
            speed, notes = steady_state(name, steps_for(name, args.steps), args.repeats)
            rows[name]["steps_per_s"] = speed
            print(
                f"{name}: "
                + ", ".join(f"{label} {number(speed[label])}" for label in LABELS)
                + f" steps/s (workbench's automatic steps per dispatch: {notes['workbench_auto_k']})",
                flush=True,
            )
    cold, cache = fresh_processes(args.models, args.mem_steps, args.first_step_repeats, args.quick)
    for name in args.models:
        rows[name].update(cold=cold[name], cache=cache[name])
        rows[name].setdefault("steps_per_s", {label: cold[name][label]["steps_per_s"] for label in LABELS})
        print(
            f"{name}: first step "
            + ", ".join(f"{label} {cold[name][label]['first_step_s']:.2f}s" for label in LABELS)
            + f"; workbench with a warm cache {cache[name]['warm']['first_step_s']:.2f}s, cold "
            f"{cache[name]['cold']['first_step_s']:.2f}s ({cache[name]['entries']} cache entries)",
            flush=True,
        )
    meta = {
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "jax": jax.__version__,
        "keras": keras.__version__,
        "flax": flax.__version__,
        "optax": optax.__version__,
        "load": (load_before, os.getloadavg()[0]),
    }
    text = describe(args, meta) + "\n\n" + tables(rows)
    print()
    print(text)
    if args.write:
        write_results(args.results, text)
        print(f"\nwrote {args.results}; the prose under its tables is hand-written: check it against them.")


if __name__ == "__main__":
    main()

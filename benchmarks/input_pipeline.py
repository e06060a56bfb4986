"""Input pipeline: `workbench.data.Dataset` against grain and a plain numpy loop, and how long `fit` waits for data.

A. Pipeline throughput, examples/s. Every contender yields the same batches of 32
   mapped examples (checked on the untimed warm-up pass). Each pass is timed from
   `iter()` to the last batch; the passes are interleaved round-robin (the order
   rotating each round) and the median of `--repeats` is kept.
   - heavy map: 64 quantiles of a few thousand numbers per example, found with
     `np.sort` (which releases the GIL), sized to cost about 0.3 ms per example;
   - cheap map: a float64 -> float32 cast (about a microsecond);
   - no map: a shuffled pass, `from_tensor_slices((x, y)).shuffle(n).batch(32)`
     against fancy-indexing a fresh permutation.
   Contenders: a Python loop that maps and `np.stack`s (the no-framework baseline);
   grain's `MapDataset.source(...).map(...).batch(32).to_iter_dataset(ReadOptions(
   num_threads=t, prefetch_buffer_size=8))`; and `Dataset.from_tensor_slices(...)
   .map(fn, num_parallel_calls=t).batch(32).prefetch(2)`.

B. How long `fit` waits for input. A three-layer MLP trains for `--steps` steps per
   `fit` on a Dataset whose map is cheap, costs somewhat less than the model's step
   (pipeline alone about 1.25x the model alone), or more (about 0.7x). For each, with the
   trainer's prefetching on (default) or off (WORKBENCH_PREFETCH=0) and with
   `Dataset.prefetch(2)` or without: the fit time and `model._fit_data_wait`, the
   seconds the training loop waited for batches. The pipeline's own rate (iterated
   alone) and the model's (`fit` on in-memory arrays) say which side is faster.
   Target: with prefetching, data wait < 5% of the fit time whenever the pipeline
   alone is faster than the model alone.

    python benchmarks/input_pipeline.py                  # about five minutes on 2 cores
    python benchmarks/input_pipeline.py --quick          # smoke test, meaningless numbers
    python benchmarks/input_pipeline.py --write          # also rewrite "## Input pipeline" in RESULTS.md
"""

from __future__ import annotations

import argparse
import datetime
import gc
import os
import platform
import re
import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import grain
import jax
import numpy as np

import workbench as wb
from workbench.data import Dataset

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADING = "## Input pipeline (`benchmarks/input_pipeline.py`)"
BEGIN, END = "<!-- input_pipeline: begin -->", "<!-- input_pipeline: end -->"
PREFETCH_ENV = "WORKBENCH_PREFETCH"
BATCH = 32
FEATURES = 64
GRAIN_BUFFER = 8  # batches grain computes ahead (at least 2 per thread up to 4 threads)
HEAVY_MAP_S = 3e-4  # target cost of one heavy-map example, single-threaded
TARGET_SHARE = 0.05
WIDTH = 1024  # the MLP's hidden width in part B (32 with --quick)
FASTER, SLOWER = 1.25, 0.7  # part B's pipelines alone against the model alone: the heavy and heavier maps


# ---------------------------------------------------------------- the maps
class SortFeatures:
    """Map `(x, y)` to 64 quantiles of `size` numbers spread from `x`, found with `np.sort`.

    The work is numpy calls that release the GIL (an outer sum, a sort), so
    threads can compute several examples at once.
    """

    def __init__(self, size: int):
        rng = np.random.default_rng(0)
        self.offsets = rng.standard_normal(max(1, size // FEATURES))
        self.size = FEATURES * len(self.offsets)
        self.picks = np.linspace(0, self.size - 1, FEATURES).astype(np.int64)

    def __call__(self, x, y):
        spread = np.add.outer(x, self.offsets).ravel()
        spread.sort()
        return spread[self.picks].astype(np.float32), y


def cast(x, y):
    return x.astype(np.float32), y


def map_cost(fn, x, y, n: int = 300) -> float:
    """Seconds per example of `fn` in a plain loop on this thread (median of 3 runs)."""
    n = min(n, len(x))
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        for i in range(n):
            fn(x[i], y[i])
        runs.append((time.perf_counter() - t0) / n)
    return statistics.median(runs)


def sized_sort(x, y, seconds: float) -> SortFeatures:
    """A SortFeatures map whose example costs about `seconds` here (cost grows about linearly with size)."""
    size = 4096
    for _ in range(3):
        size = max(FEATURES, round(size * seconds / map_cost(SortFeatures(size), x, y) / FEATURES) * FEATURES)
    return SortFeatures(size)


# ---------------------------------------------------------------- part A contenders
class Rows:
    """grain's data source: `(x[i], y[i])`."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


def numpy_loop(x, y, fn) -> Callable[[], Iterable]:
    def one_pass():
        for start in range(0, len(x), BATCH):
            mapped = [fn(x[i], y[i]) for i in range(start, min(start + BATCH, len(x)))]
            yield np.stack([m[0] for m in mapped]), np.stack([m[1] for m in mapped])

    return one_pass


def grain_pipeline(x, y, fn, threads: int) -> Callable[[], Iterable]:
    options = grain.ReadOptions(num_threads=threads, prefetch_buffer_size=GRAIN_BUFFER)
    ds = grain.MapDataset.source(Rows(x, y)).map(lambda e: fn(*e)).batch(BATCH).to_iter_dataset(options)
    return lambda: iter(ds)


def dataset_pipeline(x, y, fn, threads: int) -> Callable[[], Iterable]:
    ds = Dataset.from_tensor_slices((x, y)).map(fn, num_parallel_calls=threads).batch(BATCH).prefetch(2)
    return lambda: iter(ds)


def numpy_shuffled(x, y) -> Callable[[], Iterable]:
    rng = np.random.default_rng(0)

    def one_pass():
        order = rng.permutation(len(x))
        for start in range(0, len(x), BATCH):
            rows = order[start : start + BATCH]
            yield x[rows], y[rows]

    return one_pass


def dataset_shuffled(x, y) -> Callable[[], Iterable]:
    ds = Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=0).batch(BATCH)
    return lambda: iter(ds)


def drain(iterator, keep: list | None = None) -> int:
    """Examples in one pass of `iterator` (closed at the end); `keep` collects the batches."""
    n = 0
    for xb, yb in iterator:
        n += len(yb)
        if keep is not None:
            keep.append((np.asarray(xb), np.asarray(yb)))
    if hasattr(iterator, "close"):
        iterator.close()
    return n


def same_examples(got: list, want: list, ordered: bool) -> bool:
    gx, gy = (np.concatenate([b[i] for b in got]) for i in (0, 1))
    wx, wy = (np.concatenate([b[i] for b in want]) for i in (0, 1))
    if gx.dtype != wx.dtype or gx.shape != wx.shape or len(got) != len(want):
        return False
    if ordered:
        return np.array_equal(gx, wx) and np.array_equal(gy, wy)
    return np.array_equal(np.sort(gx[:, 0]), np.sort(wx[:, 0])) and np.array_equal(np.sort(gy), np.sort(wy))


def race(contenders: dict, repeats: int, ordered: bool = True) -> dict:
    """Median examples/s of each contender; the first one's warm-up batches are the reference."""
    reference = None
    for label, one_pass in contenders.items():
        batches: list = []
        drain(one_pass(), batches)  # warm-up
        if reference is None:
            reference = batches
        elif not same_examples(batches, reference, ordered):
            raise RuntimeError(f"{label} yields other batches than {next(iter(contenders))}.")
    labels = list(contenders)
    seconds: dict = {label: [] for label in labels}
    for r in range(repeats):
        for label in labels[r % len(labels) :] + labels[: r % len(labels)]:
            gc.collect()
            t0 = time.perf_counter()
            n = drain(contenders[label]())
            seconds[label].append(time.perf_counter() - t0)
    return {label: n / statistics.median(ts) for label, ts in seconds.items()}


def pipelines(n: int, repeats: int, quick: bool) -> tuple[list, dict]:
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((n, FEATURES)), rng.integers(0, 10, n).astype(np.int32)
    heavy = SortFeatures(512) if quick else sized_sort(x, y, HEAVY_MAP_S)
    costs = {"heavy": map_cost(heavy, x, y), "cheap": map_cost(cast, x, y, 2000), "sort_size": heavy.size}
    rows = []

    def add(case, speeds, threads):
        base = speeds["numpy loop"]
        for label, speed in speeds.items():
            rows.append(
                {
                    "case": case,
                    "pipeline": label,
                    "threads": threads.get(label, "-"),
                    "examples_per_s": speed,
                    "vs_numpy": speed / base,
                }
            )

    threads = (1, 2, 4)
    heavy_contenders = {"numpy loop": numpy_loop(x, y, heavy)}
    heavy_contenders.update({f"grain t={t}": grain_pipeline(x, y, heavy, t) for t in threads})
    heavy_contenders.update({f"Dataset t={t}": dataset_pipeline(x, y, heavy, t) for t in threads})
    add(
        "heavy map",
        race(heavy_contenders, repeats),
        {f"{k} t={t}": t for t in threads for k in ("grain", "Dataset")},
    )
    cheap = {
        "numpy loop": numpy_loop(x, y, cast),
        "grain t=1": grain_pipeline(x, y, cast, 1),
        "Dataset t=1": dataset_pipeline(x, y, cast, 1),
    }
    add("cheap map", race(cheap, repeats), {"grain t=1": 1, "Dataset t=1": 1})
    xf = x.astype(np.float32)
    unmapped = {"numpy loop": numpy_shuffled(xf, y), "Dataset": dataset_shuffled(xf, y)}
    add("no map, shuffled", race(unmapped, repeats, ordered=False), {})
    for row in rows:
        print(
            f"A {row['case']:17s} {row['pipeline']:12s} {row['examples_per_s']:10.0f} examples/s "
            f"{row['vs_numpy']:5.2f}x numpy",
            flush=True,
        )
    return rows, costs


# ---------------------------------------------------------------- part B: the trainer's wait
def mlp(width: int):
    model = wb.Sequential(
        [
            wb.Input((FEATURES,)),
            wb.layers.Dense(width, activation="relu"),
            wb.layers.Dense(width, activation="relu"),
            wb.layers.Dense(10),
        ]
    )
    model.compile(optimizer="adam", loss=wb.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def timed_fit(model, fit: Callable[[], object], trainer_prefetch: bool) -> tuple[float, float]:
    """(seconds, data wait) of one `fit`; the trainer reads WORKBENCH_PREFETCH when it starts."""
    if trainer_prefetch:
        os.environ.pop(PREFETCH_ENV, None)
    else:
        os.environ[PREFETCH_ENV] = "0"
    gc.collect()
    t0 = time.perf_counter()
    fit()
    return time.perf_counter() - t0, model._fit_data_wait


def batches_per_s(ds: Dataset, repeats: int) -> float:
    drain(iter(ds))
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        n = drain(iter(ds))
        runs.append(n / BATCH / (time.perf_counter() - t0))
    return statistics.median(runs)


def fit_rounds(model, configs: dict, repeats: int) -> dict:
    """Per config: each timed (seconds, wait) fit, after one untimed warm-up fit; interleaved rounds."""
    for fit, trainer_prefetch in configs.values():
        timed_fit(model, fit, trainer_prefetch)
    runs: dict = {label: [] for label in configs}
    labels = list(configs)
    for r in range(repeats):
        for label in labels[r % len(labels) :] + labels[: r % len(labels)]:
            runs[label].append(timed_fit(model, *configs[label]))
    return runs


def median_run(runs: list) -> tuple[float, float, float]:
    """The run with the median fit time: (seconds, wait), and the largest wait share of all runs."""
    seconds, wait = sorted(runs)[len(runs) // 2]
    return seconds, wait, max(w / s for s, w in runs)


def sized_pipeline(x, y, rate: float, probe: int = 48) -> SortFeatures:
    """A SortFeatures map with which `from_tensor_slices(...).map(fn).batch(32)` gives about `rate` batches/s."""
    fn = sized_sort(x, y, 1 / (rate * BATCH))
    for _ in range(2):  # the batching adds a little per batch: correct against the pipeline itself
        measured = batches_per_s(Dataset.from_tensor_slices((x, y)).map(fn).batch(BATCH).take(probe), 1)
        fn = SortFeatures(max(FEATURES, round(fn.size * measured / rate / FEATURES) * FEATURES))
    return fn


MAX_WIDTH = 32768
WORKERS = 2
MODEL_WIDTH = [WIDTH]  # the width part B ended up using


def trainer_wait(steps: int, repeats: int, quick: bool, max_model_rate: float = float("inf")) -> list:
    rng = np.random.default_rng(1)
    n = steps * BATCH
    x, y = rng.standard_normal((n, FEATURES)), rng.integers(0, 10, n).astype(np.int32)
    xf = x.astype(np.float32)
    width = 32 if quick else WIDTH
    while True:
        model = mlp(width)
        fit_arrays = lambda model=model: model.fit(xf, y, batch_size=BATCH, shuffle=False, verbose=0)
        for _ in range(2):  # the first compiles and picks the steps per dispatch
            timed_fit(model, fit_arrays, True)
        arrays = [timed_fit(model, fit_arrays, True) for _ in range(repeats)]
        model_rate = steps / median_run(arrays)[0]
        # an accelerator runs the MLP faster than a Python pipeline can feed it: widen it until the model
        # is slow enough for a pipeline to outrun it, so the target can be tested there too
        if quick or model_rate <= max_model_rate or width >= MAX_WIDTH:
            break
        width *= 2
    MODEL_WIDTH[0] = width
    rows = [
        {
            "case": "in-memory arrays",
            "dataset_prefetch": "-",
            "trainer_prefetch": "on",
            "pipeline_bps": None,
            "model_sps": model_rate,
            **_fit_numbers(arrays, steps),
        }
    ]
    print(f"B model alone: {model_rate:.0f} steps/s; steps per dispatch {model._auto_k}", flush=True)
    if quick:
        maps = {"cheap map (cast)": cast, "heavy map": SortFeatures(256), "heavier map": SortFeatures(1024)}
    else:
        maps = {
            "cheap map (cast)": cast,
            "heavy map": sized_pipeline(x, y, FASTER * model_rate),
            "heavier map": sized_pipeline(x, y, SLOWER * model_rate),
        }
    for case, fn in maps.items():
        name = case if fn is cast else f"{case} (sort of {fn.size})"
        mapped = Dataset.from_tensor_slices((x, y)).map(fn).batch(BATCH)
        datasets = {"on": mapped.prefetch(2), "off": mapped}
        if fn is not cast:  # the map in worker processes: off the interpreter that dispatches the steps
            datasets[f"off, {WORKERS} worker processes"] = mapped.with_workers(WORKERS)
        rates = {k: batches_per_s(ds, repeats) for k, ds in datasets.items()}
        configs = {"arrays": (fit_arrays, True)}
        for dp, ds in datasets.items():
            for tp in ("on", "off") if dp in ("on", "off") else ("on",):
                configs[(dp, tp)] = ((lambda ds=ds: model.fit(ds, verbose=0)), tp == "on")
        runs = fit_rounds(model, configs, repeats)
        case_model = steps / median_run(runs.pop("arrays"))[0]
        for (dp, tp), fits in runs.items():
            row = {
                "case": name,
                "dataset_prefetch": dp,
                "trainer_prefetch": tp,
                "pipeline_bps": rates[dp],
                "model_sps": case_model,
                **_fit_numbers(fits, steps),
            }
            rows.append(row)
            print(
                f"B {name:30s} Dataset.prefetch {dp:3s} trainer prefetch {tp:3s}: pipeline "
                f"{rates[dp]:.0f} batches/s, model {case_model:.0f} steps/s, fit {row['fit_s']:.2f}s, "
                f"wait {row['wait_s']:.3f}s ({100 * row['share']:.1f}%)",
                flush=True,
            )
    os.environ.pop(PREFETCH_ENV, None)
    return rows


def _fit_numbers(runs: list, steps: int) -> dict:
    seconds, wait, worst = median_run(runs)
    return {
        "fit_s": seconds,
        "fit_sps": steps / seconds,
        "wait_s": wait,
        "share": wait / seconds,
        "worst_share": worst,
    }


# ---------------------------------------------------------------- tables
def pipeline_table(rows: list) -> str:
    out = [
        "| case | pipeline | threads | examples/s | vs numpy loop | µs per example |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r['case']} | {r['pipeline']} | {r['threads']} | {r['examples_per_s']:.0f} | "
            f"{r['vs_numpy']:.2f}x | {1e6 / r['examples_per_s']:.1f} |"
        )
    return "\n".join(out)


def wait_table(rows: list) -> str:
    out = [
        "| case | Dataset.prefetch(2) | trainer prefetch | pipeline alone, batches/s | model alone, steps/s "
        "| pipeline / model | fit, s | steps/s in fit | data wait, s | wait share | worst run's share |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        bps = "-" if r["pipeline_bps"] is None else f"{r['pipeline_bps']:.0f}"
        ratio = "-" if r["pipeline_bps"] is None else f"{r['pipeline_bps'] / r['model_sps']:.2f}x"
        out.append(
            f"| {r['case']} | {r['dataset_prefetch']} | {r['trainer_prefetch']} | {bps} | "
            f"{r['model_sps']:.0f} | {ratio} | {r['fit_s']:.2f} | {r['fit_sps']:.0f} | "
            f"{r['wait_s']:.3f} | {100 * r['share']:.1f}% | {100 * r['worst_share']:.1f}% |"
        )
    return "\n".join(out)


def target_table(rows: list) -> tuple[str, bool | None]:
    out = [
        "| target: data wait < 5% of fit time, trainer prefetch on | pipeline / model | wait share | met |",
        "|---|---|---|---|",
    ]
    held = None  # no case with the pipeline faster than the model: nothing to check
    for r in rows:
        if r["pipeline_bps"] is None or r["trainer_prefetch"] != "on":
            continue
        ratio = r["pipeline_bps"] / r["model_sps"]
        verdict = "n/a: pipeline slower"
        if ratio > 1:
            met = r["share"] < TARGET_SHARE
            held = met and held is not False
            verdict = "yes" if met else "no"
        out.append(
            f"| {r['case']}, Dataset.prefetch {r['dataset_prefetch']} | {ratio:.2f}x | "
            f"{100 * r['share']:.1f}% | {verdict} |"
        )
    return "\n".join(out), held


def describe(args, meta: dict, costs: dict, width: int) -> str:
    flags = f"--examples {args.examples} --steps {args.steps} --repeats {args.repeats}"
    if args.max_model_rate != float("inf"):
        flags += f" --max-model-rate {args.max_model_rate:g}"
    if args.trainer_only:
        flags += " --trainer-only"
    head = (
        f"`python benchmarks/input_pipeline.py {flags}`, {meta['date']}, {meta['machine']}; Python "
        f"{meta['python']}, jax {meta['jax']}, grain {meta['grain']}, numpy {meta['numpy']}; load average "
        f"before / after {meta['load'][0]:.1f} / {meta['load'][1]:.1f}.\n\n"
    )
    part_a = "" if args.trainer_only else (
        f"Pipeline throughput: {args.examples} examples in batches of {BATCH}, median of {args.repeats} "
        f"passes after a warm-up pass, contenders interleaved; every contender yields the same batches. The "
        f"heavy map (an outer sum and `np.sort` of {costs['sort_size']} float64 per example, 64 quantiles "
        f"kept) costs {1e3 * costs['heavy']:.3f} ms per example in a plain loop; the cheap map (a cast to "
        f"float32) {1e6 * costs['cheap']:.1f} µs. grain is `MapDataset.source(...).map(...).batch(32)."
        f"to_iter_dataset(ReadOptions(num_threads=t, prefetch_buffer_size={GRAIN_BUFFER}))`; Dataset is "
        "`from_tensor_slices(...).map(fn, num_parallel_calls=t).batch(32).prefetch(2)`; the no-map rows "
        "are `from_tensor_slices((x, y)).shuffle(n).batch(32)` against fancy-indexing a new permutation "
        "per pass.\n\n"
    )
    return head + part_a + (
        f"Trainer data wait: MLP {FEATURES}-{width}-{width}-10 (Adam), {args.steps} steps of {BATCH} per `fit`, "
        "after a warm-up fit per configuration; shown is the fit with the median time of "
        f"{args.repeats} interleaved rounds, and the largest wait share of all its rounds. Pipelines are "
        "`from_tensor_slices((x, y)).map(fn).batch(32)`, one thread, with or without `.prefetch(2)`, or "
        f"computed in {WORKERS} worker processes (`.with_workers({WORKERS})`); the "
        f"sort maps are sized so that the pipeline alone gives about {FASTER}x (heavy) and {SLOWER}x "
        '(heavier) the model\'s steps/s. "trainer prefetch off" is WORKBENCH_PREFETCH=0; data wait is '
        "`model._fit_data_wait`. Pipeline alone: batches/s of iterating the dataset by itself (median of "
        f"{args.repeats}); model alone: `fit` on in-memory arrays of the same shapes, measured in the same "
        "rounds. Both use the whole machine when alone; in `fit` they share its cores."
    )


def write_results(path: Path, text: str, platform_name: str = "cpu") -> None:
    """Replace the generated part of the "## Input pipeline" section (the whole section the first time).

    A run on an accelerator has its own block (after the CPU one), so both stay on record."""
    doc = path.read_text()
    if platform_name != "cpu":
        begin, end = BEGIN.replace(":", f" {platform_name}:"), END.replace(":", f" {platform_name}:")
        block = f"{begin}\n{text}\n{end}"
        if begin in doc and end in doc:
            doc = doc[: doc.index(begin)] + block + doc[doc.index(end) + len(end) :]
        elif END in doc:
            cut = doc.index(END) + len(END)
            doc = doc[:cut] + f"\n\n### With the model on {platform_name.upper()}\n\n" + block + doc[cut:]
        else:
            raise SystemExit("Write the CPU results first: the accelerator block goes after them.")
        path.write_text(doc)
        return
    block = f"{BEGIN}\n{text}\n{END}"
    if BEGIN in doc and END in doc:
        doc = doc[: doc.index(BEGIN)] + block + doc[doc.index(END) + len(END) :]
    else:
        match = re.search(r"^## Input pipeline.*$", doc, re.MULTILINE)
        section = f"{HEADING}\n\n{block}\n"
        if match is None:
            doc = doc.rstrip("\n") + "\n\n" + section
        else:
            following = re.compile(r"^## ", re.MULTILINE).search(doc, match.end())
            end = following.start() if following else len(doc)
            doc = doc[: match.start()] + section + ("\n" + doc[end:] if following else "")
    path.write_text(doc)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=4096, help="examples per pipeline pass")
    parser.add_argument("--steps", type=int, default=256, help="training steps per timed fit")
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed passes / fits per contender; median kept"
    )
    parser.add_argument(
        "--max-model-rate", type=float, default=float("inf"),
        help="double the MLP's width (from 1024) until it trains at most this many steps/s",
    )
    parser.add_argument("--trainer-only", action="store_true", help="measure the trainer's data wait only")
    parser.add_argument("--quick", action="store_true", help="a tiny run: a smoke test, not a measurement")
    parser.add_argument(
        "--write", action="store_true", help="rewrite the '## Input pipeline' section of RESULTS.md"
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick and args.write:
        parser.error("--write with --quick would record numbers that measure nothing.")
    if args.quick:
        args.examples, args.steps, args.repeats = 256, 8, 1
    # the user's setting of the trainer's prefetching, restored at the end
    saved_env = os.environ.get(PREFETCH_ENV)
    load_before = os.getloadavg()[0]
    try:
        pipeline_rows, costs = ([], {}) if args.trainer_only else pipelines(args.examples, args.repeats, args.quick)
        wait_rows = trainer_wait(args.steps, args.repeats, args.quick, args.max_model_rate)
    finally:
        if saved_env is None:
            os.environ.pop(PREFETCH_ENV, None)
        else:
            os.environ[PREFETCH_ENV] = saved_env
    meta = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()} host, os.cpu_count() = {os.cpu_count()}, jax on {jax.devices()[0].platform}",
        "python": platform.python_version(),
        "jax": jax.__version__,
        "grain": _version("grain"),
        "numpy": np.__version__,
        "load": (load_before, os.getloadavg()[0]),
    }
    targets, held = target_table(wait_rows)
    text = "\n\n".join(
        [
            describe(args, meta, costs, 32 if args.quick else MODEL_WIDTH[0]),
            *([] if args.trainer_only else [pipeline_table(pipeline_rows)]),
            wait_table(wait_rows),
            targets,
            "Target held: "
            + {
                True: "yes.",
                False: "no.",
                None: "not tested (the pipeline was never faster than the model).",
            }[held],
        ]
    )
    print()
    print(text)
    if args.write:
        write_results(args.results, text, jax.devices()[0].platform)
        print(f"\nwrote {args.results}; the prose under its tables is hand-written: check it against them.")


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


if __name__ == "__main__":
    main()

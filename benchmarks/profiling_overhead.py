"""What fit's always-on step-time breakdown and compilation log cost: steady-state steps/s with timing on vs off.

Timing adds host work per dispatch (a few clock reads, one jit cache-size
query per compiled call), so the worst case is a small model that the host
dispatches one step at a time: `steps_per_execution=1`. The automatic
setting (several steps per dispatch) is measured too. Both settings train the
same compiled model on the same data in interleaved rounds, in one process;
the fastest round of each counts (noise on a shared machine only adds time)
and the medians are reported beside it.

    python benchmarks/profiling_overhead.py            # about two minutes on 2 cores
    python benchmarks/profiling_overhead.py --quick    # smoke test, meaningless numbers
    python benchmarks/profiling_overhead.py --write    # also rewrite its section of RESULTS.md
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from results_section import write_section  # noqa: E402

import workbench as wb  # noqa: E402
from workbench.profiling import timing  # noqa: E402

HEADING = "## Step-time breakdown overhead (`benchmarks/profiling_overhead.py`)"
TARGET = 0.02


class _EpochClock(wb.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.ends = [time.perf_counter()]

    def on_epoch_end(self, epoch, logs=None):
        self.ends.append(time.perf_counter())


def _model(steps_per_execution):
    wb.utils.set_random_seed(0)
    model = wb.Sequential([wb.layers.Input((32,)), wb.layers.Dense(64, activation="relu"), wb.layers.Dense(10)])
    model.compile("adam", wb.losses.SparseCategoricalCrossentropy(from_logits=True),
                  steps_per_execution=steps_per_execution)
    return model


def _steady_seconds(model, x, y, epochs: int, on: bool) -> float:
    """Seconds from the end of the first epoch to the end of the last (no compile, no set-up)."""
    timing.set_enabled(on)
    try:
        clock = _EpochClock()
        model.fit(x, y, batch_size=32, epochs=epochs, verbose=0, log=False, callbacks=[clock], shuffle=False)
        return clock.ends[-1] - clock.ends[1]
    finally:
        timing.set_enabled(None)


def measure(setting, rounds: int, n: int, epochs: int) -> dict:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 32)).astype("float32")
    y = rng.integers(0, 10, n).astype("int32")
    model = _model(setting)
    for on in (False, True):  # compile, pick the steps per dispatch
        _steady_seconds(model, x, y, 2, on)
    times = {"on": [], "off": []}
    for r in range(rounds):
        for on in ((False, True) if r % 2 == 0 else (True, False)):
            times["on" if on else "off"].append(_steady_seconds(model, x, y, epochs, on))
    steps = (epochs - 1) * -(-n // 32)
    off, on = min(times["off"]), min(times["on"])
    return {"setting": setting, "steps": steps, "off_s": off, "on_s": on, "off_sps": steps / off,
            "on_sps": steps / on, "overhead": on / off - 1.0,
            "median_overhead": statistics.median(times["on"]) / statistics.median(times["off"]) - 1.0}


def table(results: list[dict]) -> str:
    lines = ["| steps per dispatch | steps timed | off: steps/s | on: steps/s | on vs off (fastest) | medians | met |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['setting']} | {r['steps']} | {r['off_sps']:.0f} | {r['on_sps']:.0f} | "
                     f"{100 * r['overhead']:+.1f}% | {100 * r['median_overhead']:+.1f}% | "
                     f"{'yes' if r['overhead'] <= TARGET else 'no'} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny run: a smoke test, numbers mean nothing")
    parser.add_argument("--write", action="store_true", help="write the table into benchmarks/RESULTS.md")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--examples", type=int, default=16384, help="per epoch with one step per dispatch")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.examples, args.epochs = 1, 256, 2
    load = os.getloadavg()[0]
    # Many steps per dispatch run about ten times faster: eight times the data keeps their timed span long.
    results = [measure(1, args.rounds, args.examples, args.epochs),
               measure("auto", args.rounds, 8 * args.examples, args.epochs)]
    header = (f"`python benchmarks/profiling_overhead.py --rounds {args.rounds} --examples {args.examples} "
              f"--epochs {args.epochs}`, {datetime.date.today()}, {platform.machine()} host, "
              f"os.cpu_count() = {os.cpu_count()}, jax {jax.__version__} on {jax.default_backend()}, Python "
              f"{platform.python_version()}; load average before {load:.1f}. MLP 32-64-10, batch 32 (8x the examples "
              "with automatic steps per dispatch); each round "
              "fits once with step timing off and once on, order alternating; steady state is every epoch after "
              "the first. Target: on costs <= 2% of steps/s.")
    text = f"{header}\n\n{table(results)}"
    print(text)
    if args.write and not args.quick:
        write_section("profiling_overhead", HEADING, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

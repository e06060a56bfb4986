"""Smoke test: `benchmarks/train_throughput.py --quick` still runs end to end.

It checks that the benchmark works (every contender trains every model, in this
process and in fresh ones, and the tables come out), not how fast anything is:
`--quick` numbers measure nothing. About a minute on an idle 2-core machine.
"""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "train_throughput.py"
MODELS = ("small_mlp_64_128_10_b32", "large_mlp_784_512_512_10_b128", "convnet_28x28x1_b128")
NUMBER = r"(\d+(?:\.\d+)?)"


@pytest.mark.skipif(
    importlib.util.find_spec("keras") is None or importlib.util.find_spec("flax") is None,
    reason="the benchmark compares against Keras 3 and Flax NNX (pip install '.[bench]')",
)
def test_smoke_train_throughput_quick_prints_a_row_of_positive_numbers_per_model():
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, env=env, timeout=900
    )
    assert out.returncode == 0, out.stderr[-3000:]
    for name in MODELS:
        # | model | 4 x steps/s | 3 x ratio | first steps (4, "/"-separated) | peak RSS (4) |
        row = re.search(rf"^\| {name} \| (.+) \|$", out.stdout, re.MULTILINE)
        assert row is not None, f"no throughput row for {name} in:\n{out.stdout}"
        cells = [cell.strip() for cell in row.group(1).split("|")]
        assert len(cells) == 9, cells
        numbers = [float(n) for cell in cells for n in re.findall(NUMBER, cell)]
        assert len(numbers) == 4 + 3 + 4 + 4, cells
        assert all(n > 0 for n in numbers), cells
    assert "warm-cache first step" in out.stdout


INPUT_PIPELINE = SCRIPT.with_name("input_pipeline.py")
PIPELINE_ROWS = [
    ("heavy map", "numpy loop"),
    *[("heavy map", f"{name} t={t}") for name in ("grain", "Dataset") for t in (1, 2, 4)],
    ("cheap map", "numpy loop"),
    ("cheap map", "grain t=1"),
    ("cheap map", "Dataset t=1"),
    ("no map, shuffled", "numpy loop"),
    ("no map, shuffled", "Dataset"),
]


def test_smoke_input_pipeline_quick_prints_every_row_with_positive_numbers():
    env = {k: v for k, v in os.environ.items() if k != "WORKBENCH_PREFETCH"}
    out = subprocess.run(
        [sys.executable, str(INPUT_PIPELINE), "--quick"], capture_output=True, text=True, env=env, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    for case, pipeline in PIPELINE_ROWS:
        # | case | pipeline | threads | examples/s | vs numpy loop | µs per example |
        row = re.search(
            rf"^\| {re.escape(case)} \| {re.escape(pipeline)} \| (.+) \|$", out.stdout, re.MULTILINE
        )
        assert row is not None, f"no row for {case} / {pipeline} in:\n{out.stdout}"
        numbers = [float(n) for n in re.findall(NUMBER, row.group(1))]
        assert len(numbers) in (3, 4), row.group(0)  # the threads column is "-" for the numpy loop
        assert all(n > 0 for n in numbers), row.group(0)
    for case in ("cheap map (cast)", "heavy map (sort of", "heavier map (sort of"):
        for dataset_prefetch in ("on", "off"):
            for trainer_prefetch in ("on", "off"):
                # | case | Dataset.prefetch | trainer prefetch | pipeline | model | ratio | fit s | steps/s | wait s | share | worst |
                row = re.search(
                    rf"^\| {re.escape(case)}[^|]* \| {dataset_prefetch} \| {trainer_prefetch} \| (.+) \|$",
                    out.stdout,
                    re.MULTILINE,
                )
                assert row is not None, (
                    f"no row for {case} {dataset_prefetch}/{trainer_prefetch} in:\n{out.stdout}"
                )
                cells = [cell.strip() for cell in row.group(1).split("|")]
                assert len(cells) == 8, cells
                numbers = [float(re.match(NUMBER, cell).group(1)) for cell in cells]
                assert all(n > 0 for n in numbers[:5]), cells  # rates, ratio, fit time, steps/s
                assert all(n >= 0 for n in numbers[5:]), cells  # the data wait may round to 0
    assert re.search(r"^\| in-memory arrays \| - \| on \| - \|", out.stdout, re.MULTILINE), out.stdout
    assert re.search(r"^Target held: (yes|no|not tested)", out.stdout, re.MULTILINE), out.stdout


SERVING = SCRIPT.with_name("serving.py")


def test_smoke_serving_quick_prints_call_times_and_server_rows_without_errors():
    out = subprocess.run([sys.executable, str(SERVING), "--quick"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    for model in ("mlp_784_512_512_10", "digits_convnet_8x8x1"):
        for batch in (1, 64):
            row = re.search(rf"^\| {model} \| {batch} \| (.+) \|$", out.stdout, re.MULTILINE)
            assert row is not None, out.stdout
            numbers = [float(n) for n in re.findall(NUMBER, row.group(1))]
            assert len(numbers) >= 2 * 3 + 2 and all(n > 0 for n in numbers), row.group(0)
    server_rows = re.findall(r"^\| (off|on, --batch-timeout-ms \d+) \| (\d+) \| (\d+) \| (\d+) \| .* \| (\d+) \|$",
                             out.stdout, re.MULTILINE)
    assert len(server_rows) == 9, out.stdout
    assert all(int(r[3]) > 0 and r[4] == "0" for r in server_rows), server_rows


KERNELS = SCRIPT.with_name("kernels.py")


def test_smoke_kernels_quick_checks_and_times_every_op_and_implementation_on_cpu():
    out = subprocess.run([sys.executable, str(KERNELS), "--quick"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    for op in ("attention", "layer_norm", "rms_norm", "linear_softmax_cross_entropy"):
        for impl in ("xla", "pallas", "auto"):
            rows = re.findall(rf"^\| {op} \| [^|]+ \| {impl} \| yes \(([^)]+)\) \| {NUMBER} \| {NUMBER} \|",
                              out.stdout, re.MULTILINE)
            assert rows, f"no checked {impl} row for {op}:\n{out.stdout}"
            assert all(float(r[1]) > 0 and float(r[2]) > 0 for r in rows), rows


PROFILING = SCRIPT.with_name("profiling_overhead.py")


def test_smoke_profiling_overhead_quick_times_both_settings_on_and_off():
    out = subprocess.run([sys.executable, str(PROFILING), "--quick"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    for setting in ("1", "auto"):
        row = re.search(rf"^\| {setting} \| (\d+) \| {NUMBER} \| {NUMBER} \|", out.stdout, re.MULTILINE)
        assert row and all(float(v) > 0 for v in row.groups()), out.stdout

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

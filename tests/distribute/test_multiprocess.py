"""Two processes on localhost, two CPU devices each, joined by `workbench.distribute.initialize` (gloo)."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import workbench as wb

SCRIPT = Path(__file__).with_name("multiprocess_script.py")
REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _launch(tmp_path, *args, timeout=240):
    port = _free_port()
    procs = []
    for process_id in range(2):
        env = {**os.environ, "WORKBENCH_COORDINATOR": f"localhost:{port}", "WORKBENCH_NUM_PROCESSES": "2",
               "WORKBENCH_PROCESS_ID": str(process_id), "WORKBENCH_LOCAL_DEVICES": "2", "JAX_PLATFORMS": "cpu",
               "WORKBENCH_RUNS_DIR": str(tmp_path / f"runs{process_id}"),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        procs.append(subprocess.Popen([sys.executable, str(SCRIPT), *args], env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    started, results = time.monotonic(), []
    try:
        for p in procs:
            out, err = p.communicate(timeout=max(1, timeout - (time.monotonic() - started)))
            results.append((p.returncode, out, err))
    finally:
        for p in procs:
            p.kill()
    return results, time.monotonic() - started


def _single_process_fit():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(288, 16)).astype("float32"), rng.integers(0, 4, 288).astype("int32")
    wb.utils.set_random_seed(0)
    model = wb.Sequential([wb.layers.Input((16,)), wb.layers.Dense(64, activation="relu"), wb.layers.Dense(4)])
    model.compile("adam", wb.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, y, batch_size=48, epochs=2, shuffle=False, verbose=0, log=False)
    return history.history["loss"], model.get_weights()


@pytest.mark.parametrize("mode", ["data_parallel", "fsdp", "dataset"])
def test_two_processes_train_the_single_process_model(tmp_path, mode):
    """Arrays (every process holds them all) under DataParallel and FSDP, and a Dataset whose batches of 24
    each process reads its own of (batches 0, 2, 4, ... and 1, 3, 5, ...): global batches of 48 each time."""
    results, _ = _launch(tmp_path, *([] if mode == "data_parallel" else [mode]))
    for code, _, err in results:
        assert code == 0, err[-3000:]
    first, second = (json.loads(out.strip().splitlines()[-1]) for _, out, _ in results)
    assert (first["devices"], first["local_devices"], second["process"]) == (4, 2, 1)
    for a, b in zip(first["weights"], second["weights"]):
        np.testing.assert_array_equal(a, b)  # one program over one global mesh: the same numbers everywhere
    loss, weights = _single_process_fit()
    np.testing.assert_allclose(first["loss"], loss, rtol=1e-5)
    for got, expected in zip(first["weights"], weights):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    # Process 0 writes the run; process 1 writes nothing.
    assert first["run_path"] and Path(first["run_path"], "run.json").exists()
    assert second["run_path"] is None and not (tmp_path / "runs1").exists()


def test_a_process_that_dies_makes_the_other_fail_soon(tmp_path):
    results, elapsed = _launch(tmp_path, "die", timeout=150)
    (survivor, _, message), (dead, _, _) = results
    assert dead == 3 and survivor != 0
    assert "stopped sending heartbeats" in message, message[-2000:]  # says which process went away
    assert elapsed < 120, f"the surviving process took {elapsed:.0f} s to fail"


def test_a_two_process_checkpoint_restores_in_one_process_on_three_devices(tmp_path):
    backup = tmp_path / "backup"
    results, _ = _launch(tmp_path, "backup", str(backup))
    for code, _, err in results:
        assert code == 0, err[-3000:]
    trained = json.loads(results[0][1].strip().splitlines()[-1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, str(SCRIPT.with_name("restore_script.py")), str(backup)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    resumed = json.loads(out.stdout.strip().splitlines()[-1])
    assert resumed["devices"] == 3 and resumed["layout_devices"] == 3
    for got, expected in zip(resumed["restored"], trained["weights"]):
        np.testing.assert_array_equal(got, expected)  # the state the two processes saved, now on 3 devices
    # The history continues the saved one: epochs 0 and 1 from the checkpoint, epoch 2 trained here.
    assert resumed["epochs"] == [0, 1, 2] and resumed["step"] == 3 * 6
    np.testing.assert_allclose(resumed["loss"][:2], trained["loss"], rtol=1e-6)
    assert np.isfinite(resumed["loss"][2])

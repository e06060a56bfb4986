"""Distributions: layouts and errors in this process, and training on 8 simulated CPU devices in a subprocess."""

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

import workbench as wb
from workbench import distribute

SCRIPT = Path(__file__).with_name("multidevice_script.py")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def eight_devices():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-W", "error::workbench.profiling.RecompilationWarning", str(SCRIPT)],
                         capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout)


@pytest.mark.parametrize("kind", ["data_parallel", "fsdp", "model_parallel"])
def test_distributed_training_gives_the_single_device_parameters(eight_devices, kind):
    assert eight_devices["device_count"] == 8
    single, run = eight_devices["single"], eight_devices[kind]
    for path, weights in single["weights"].items():
        # Sums over the batch run in another order across devices: float32 rounding, which Adam's
        # division by small second moments can grow a little over 16 steps.
        np.testing.assert_allclose(run["weights"][path], weights, rtol=1e-4, atol=1e-5, err_msg=path)
    np.testing.assert_allclose(run["loss"], single["loss"], rtol=1e-5)
    for name, value in single["evaluate"].items():
        np.testing.assert_allclose(run["evaluate"][name], value, rtol=1e-4)
    assert set(run["devices"].values()) == {8}
    # One step alone, then (unless one step already takes long enough) K steps per dispatch: a layout the
    # step keeps costs no further compilation.
    assert 1 <= run["train_compiles"] <= 2


def test_the_variables_are_laid_out_as_the_distribution_says(eight_devices):
    assert all(spec == [] for spec in eight_devices["data_parallel"]["shardings"].values())
    # FSDP: the largest dimension the 8 devices divide, for variables of at least 64 elements.
    assert eight_devices["fsdp"]["shardings"] == {
        "hidden/kernel": [None, "data"], "hidden/bias": ["data"], "logits/kernel": ["data"], "logits/bias": [],
    }
    assert eight_devices["model_parallel"]["shardings"] == {
        "hidden/kernel": [None, "model"], "hidden/bias": ["model"], "logits/kernel": ["model"], "logits/bias": [],
    }


def test_a_batch_or_layout_the_mesh_cannot_take_fails_before_compiling(eight_devices):
    errors = eight_devices["errors"]
    assert errors["batch"] == ("DataParallel: the batch of 30 samples does not split over the 8 devices of mesh "
                               "axis 'batch'; use a batch size that is a multiple of 8.")
    assert errors["axis"] == ("LayoutMap['hidden/kernel'] = (None, 'tensor') names ['tensor'], which the mesh "
                              "('batch', 'model') does not have.")
    assert errors["divide"] == ("'logits/kernel' (shape (64, 4)) cannot be split along dimension 1 (4) over the "
                                "8 devices of mesh axis 'model'.")


def test_meshes_and_layout_maps_check_their_arguments():
    with pytest.raises(ValueError, match=r"shape \(2, 4\) holds 8 devices, but 1 were given"):
        distribute.DeviceMesh((2, 4), ("batch", "model"))
    with pytest.raises(ValueError, match="axis names must differ"):
        distribute.DeviceMesh((1, 1), ("batch", "batch"), jax.devices()[:1] * 1)
    with pytest.raises(ValueError, match="2 sizes"):
        distribute.DeviceMesh((1, 1), ("batch",))
    mesh = distribute.DeviceMesh((1,), ("batch",))
    layout = distribute.LayoutMap(mesh)
    layout["dense.*/kernel"] = (None, "batch")
    assert layout["dense_3/kernel"] == (None, "batch") and layout["dense_3/bias"] is None
    with pytest.raises(ValueError, match="batch axis 'data' is not an axis"):
        distribute.ModelParallel(mesh, layout, batch_dim_name="data")


def test_the_default_distribution_follows_set_and_scope():
    d = distribute.DataParallel()
    assert distribute.distribution() is None
    with d.scope():
        assert distribute.distribution() is d
        model = wb.Sequential([wb.layers.Dense(2, input_shape=(3,))])
        model.compile("sgd", "mse")
    assert distribute.distribution() is None and model._distribution is d
    distribute.set_distribution(d)
    try:
        assert distribute.distribution() is d
    finally:
        distribute.set_distribution(None)
    with pytest.raises(TypeError, match="takes a DataParallel, ModelParallel or FSDP"):
        distribute.set_distribution("mirrored")
    with pytest.raises(TypeError, match=r"compile\(distribution=...\) takes"):
        model.compile("sgd", "mse", distribution="mirrored")


def test_a_one_device_distribution_trains_like_none():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 3)).astype("float32"), rng.normal(size=(64, 2)).astype("float32")
    results = []
    for distribution in (None, distribute.FSDP(min_size=1)):
        wb.utils.set_random_seed(0)
        model = wb.Sequential([wb.layers.Dense(2, input_shape=(3,))])
        model.compile("adam", "mse", distribution=distribution)
        results.append(model.fit(x, y, batch_size=16, epochs=2, verbose=0, log=False).history["loss"])
    np.testing.assert_allclose(results[1], results[0], rtol=1e-6)

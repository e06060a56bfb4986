"""Run in a subprocess with 8 CPU devices: single-device, DataParallel, FSDP and ModelParallel fits of one model
on the same global batches; prints the results as JSON for tests/distribute/test_distribution.py."""

import json
import os
import sys

os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"

import jax  # noqa: E402
import numpy as np  # noqa: E402

import workbench as wb  # noqa: E402
from workbench import distribute  # noqa: E402


def model():
    wb.utils.set_random_seed(0)
    m = wb.Sequential([wb.layers.Input((16,)), wb.layers.Dense(64, activation="relu", name="hidden"),
                       wb.layers.Dense(4, name="logits")])
    return m


def fit(distribution):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 16)).astype("float32")
    y = rng.integers(0, 4, 256).astype("int32")
    m = model()
    m.compile("adam", wb.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"],
              distribution=distribution)
    history = m.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0, log=False)
    weights = {path: np.asarray(v).tolist() for path, v in m.get_variables()["trainable"].items()}
    shardings = {path: list(v.sharding.spec) if hasattr(v.sharding, "spec") else "single"
                 for path, v in m.get_variables()["trainable"].items()}
    devices = {path: len(v.sharding.device_set) for path, v in m.get_variables()["trainable"].items()}
    evaluation = m.evaluate(x, y, batch_size=32, verbose=0, return_dict=True)
    compiles = sum(1 for r in m.fit_profile["compiles"] if r["function"] == "train step")
    return {"weights": weights, "loss": history.history["loss"], "shardings": shardings, "devices": devices,
            "evaluate": evaluation, "train_compiles": compiles}


def main():
    mesh = distribute.DeviceMesh((2, 4), ("batch", "model"))
    layout = distribute.LayoutMap(mesh)
    layout["hidden/kernel"] = (None, "model")
    layout["hidden/bias"] = ("model",)
    layout["logits/kernel"] = ("model", None)
    out = {
        "device_count": jax.device_count(),
        "single": fit(None),
        "data_parallel": fit(distribute.DataParallel()),
        "fsdp": fit(distribute.FSDP(min_size=64)),
        "model_parallel": fit(distribute.ModelParallel(mesh, layout)),
    }
    errors = {}
    try:
        rng = np.random.default_rng(0)
        m = model()
        m.compile("sgd", "mse", distribution=distribute.DataParallel())
        m.fit(rng.normal(size=(30, 16)).astype("float32"), rng.normal(size=(30, 4)).astype("float32"),
              batch_size=30, verbose=0, log=False)
    except ValueError as e:
        errors["batch"] = str(e)
    try:
        bad = distribute.LayoutMap(mesh)
        bad["hidden/kernel"] = (None, "tensor")
        distribute.ModelParallel(mesh, bad)
    except ValueError as e:
        errors["axis"] = str(e)
    try:  # 4 output units cannot be split over 8 devices
        odd = distribute.DeviceMesh((1, 8), ("batch", "model"))
        bad8 = distribute.LayoutMap(odd)
        bad8["logits/kernel"] = (None, "model")
        m = model()
        m.compile("sgd", "mse", distribution=distribute.ModelParallel(odd, bad8))
    except ValueError as e:
        errors["divide"] = str(e)
    out["errors"] = errors
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

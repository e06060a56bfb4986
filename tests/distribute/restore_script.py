"""Run in a subprocess with 3 CPU devices: restore the train state a two-process run backed up, check it,
and train on (tests/distribute/test_multiprocess.py)."""

import json
import os
import sys

os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=3"

import jax  # noqa: E402
import numpy as np  # noqa: E402

import workbench as wb  # noqa: E402
from workbench import distribute  # noqa: E402


def main():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(288, 16)).astype("float32")
    y = rng.integers(0, 4, 288).astype("int32")
    wb.utils.set_random_seed(1)  # other initial weights: what the model ends with comes from the checkpoint
    model = wb.Sequential([wb.layers.Input((16,)), wb.layers.Dense(64, activation="relu"), wb.layers.Dense(4)])
    model.compile("adam", wb.losses.SparseCategoricalCrossentropy(from_logits=True),
                  distribution=distribute.DataParallel())
    backup = wb.callbacks.BackupAndRestore(sys.argv[1], delete_checkpoint=False)
    model.fit(x, y, batch_size=48, epochs=2, shuffle=False, verbose=0, log=False, callbacks=[backup])
    restored = [np.asarray(w).tolist() for w in model.get_weights()]
    first = next(iter(model.get_variables()["trainable"].values()))
    devices = len(first.sharding.device_set)
    history = model.fit(x, y, batch_size=48, epochs=3, shuffle=False, verbose=0, log=False, callbacks=[backup])
    print(json.dumps({"devices": jax.device_count(), "restored": restored, "layout_devices": devices,
                      "epochs": history.epoch, "loss": history.history["loss"],
                      "step": model._fit_position["global_step"]}))


if __name__ == "__main__":
    main()

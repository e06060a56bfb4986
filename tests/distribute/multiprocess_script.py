"""One process of a two-process run on localhost (started by tests/distribute/test_multiprocess.py).

Settings come from the environment, as on a cluster: WORKBENCH_COORDINATOR, WORKBENCH_NUM_PROCESSES,
WORKBENCH_PROCESS_ID, WORKBENCH_LOCAL_DEVICES. With argument "die", process 1 exits right after joining;
"fsdp" splits the variables over both processes; "dataset" trains on a Dataset that each process reads
its own batches of; "backup DIR" backs the train state up into DIR.
"""

import json
import os
import sys

from workbench import distribute

distribute.initialize(heartbeat_timeout=10, initialization_timeout=60)

import jax  # noqa: E402
import numpy as np  # noqa: E402

import workbench as wb  # noqa: E402


def main():
    if sys.argv[1:2] == ["die"] and jax.process_index() == 1:
        os._exit(3)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(288, 16)).astype("float32")
    y = rng.integers(0, 4, 288).astype("int32")
    wb.utils.set_random_seed(0)
    model = wb.Sequential([wb.layers.Input((16,)), wb.layers.Dense(64, activation="relu"), wb.layers.Dense(4)])
    # With "fsdp", the variables are split over the four devices of both processes.
    distribution = distribute.FSDP(min_size=64) if sys.argv[1:2] == ["fsdp"] else distribute.DataParallel()
    model.compile("adam", wb.losses.SparseCategoricalCrossentropy(from_logits=True), distribution=distribution)
    # With "backup DIR", every process takes part in saving the train state after each epoch.
    callbacks = [wb.callbacks.BackupAndRestore(sys.argv[2], delete_checkpoint=False)] \
        if sys.argv[1:2] == ["backup"] else []
    if sys.argv[1:2] == ["dataset"]:  # each process reads every other batch of 24: its half of a global 48
        data = wb.data.Dataset.from_tensor_slices((x, y)).batch(24)
        history = model.fit(data, epochs=2, verbose=0, callbacks=callbacks)
    else:
        history = model.fit(x, y, batch_size=48, epochs=2, shuffle=False, verbose=0, callbacks=callbacks)
    print(json.dumps({
        "process": jax.process_index(), "devices": jax.device_count(), "local_devices": jax.local_device_count(),
        "loss": history.history["loss"], "weights": [np.asarray(w).tolist() for w in model.get_weights()],
        "run_path": None if getattr(model, "_run_path", None) is None else str(model._run_path),
    }))


if __name__ == "__main__":
    main()

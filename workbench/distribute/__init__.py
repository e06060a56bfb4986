"""Training on many devices with JAX's own sharding: Keras 3's distribution API.

    mesh = workbench.distribute.DeviceMesh((8,), ("batch",))
    model.compile("adam", loss, distribution=workbench.distribute.DataParallel())
    model.fit(x, y, batch_size=256)          # each of the 8 devices takes 32 samples of every batch

A distribution lays the train state out over a mesh (replicated, or split by a
`LayoutMap` / `FSDP`) and splits every batch along the mesh's batch axis; the
compiled step is partitioned by XLA, which inserts the collectives.
`set_distribution(d)` or `with d.scope():` makes `d` the default of models compiled meanwhile.
Several processes (hosts) join one run with `initialize()`, called first in each.
"""

from workbench.distribute.distribution import (
    FSDP,
    DataParallel,
    DeviceMesh,
    Distribution,
    LayoutMap,
    ModelParallel,
    distribution,
    set_distribution,
)
from workbench.distribute.runtime import initialize, is_main_process

__all__ = [
    "FSDP",
    "DataParallel",
    "DeviceMesh",
    "Distribution",
    "LayoutMap",
    "ModelParallel",
    "distribution",
    "initialize",
    "is_main_process",
    "set_distribution",
]

"""Putting the train state and batches where a distribution lays them out."""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from workbench.distribute.distribution import Distribution


def put(value, sharding: NamedSharding):
    """`value` laid out by `sharding`. Where the sharding spans other processes' devices too (multi-process
    training), every process passes the same value and keeps the pieces its own devices hold."""
    if sharding.is_fully_addressable:
        return jax.device_put(value, sharding)
    if jax.dtypes.issubdtype(getattr(value, "dtype", None), jax.dtypes.prng_key):  # the dropout key
        return jax.random.wrap_key_data(put(jax.random.key_data(value), sharding), impl=jax.random.key_impl(value))
    host = np.asarray(value)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def variable_shardings(distribution: Distribution, variables: dict) -> dict:
    """`{"trainable": {path: sharding}, "non_trainable": {...}}` for a `get_variables()` pytree."""
    return {section: {path: distribution.variable_sharding(path, tuple(np.shape(v))) for path, v in values.items()}
            for section, values in variables.items()}


def place_variables(distribution: Distribution, variables: dict) -> dict:
    shardings = variable_shardings(distribution, variables)
    return {section: {path: put(v, shardings[section][path]) for path, v in values.items()}
            for section, values in variables.items()}


def place_state(distribution: Distribution, state: dict) -> dict:
    """The train state with its variables laid out by the distribution; optimizer slots that mirror a
    variable (Adam's moments, momentum) follow it, everything else is replicated."""
    variables = place_variables(distribution, {"trainable": state["trainable"],
                                               "non_trainable": state["non_trainable"]})
    by_path = {path: (np.shape(v), v.sharding) for path, v in variables["trainable"].items()}
    replicated = NamedSharding(distribution.mesh, PartitionSpec())

    def place(key_path, leaf):
        for key in key_path:
            name = getattr(key, "key", None)
            if name in by_path and by_path[name][0] == np.shape(leaf):
                return put(leaf, by_path[name][1])
        return put(leaf, replicated)

    rest = {k: v for k, v in state.items() if k not in ("trainable", "non_trainable")}
    placed = jax.tree_util.tree_map_with_path(place, rest)
    return {**placed, **variables}


def place_batch(distribution: Distribution, batch, leading: int = 1, process_local: bool = False):
    """Every array of a batch split along its axis `leading` (fit stacks steps on axis 0 before the batch).

    With `process_local`, each process holds its own part of the global batch (a Dataset read in
    shards, one per process): the global batch is the processes' parts one after another.
    """
    processes = jax.process_count() if process_local else 1

    def place(leaf):
        if leaf is None or np.ndim(leaf) <= leading:
            return put(leaf, NamedSharding(distribution.mesh, PartitionSpec()))
        shape = list(np.shape(leaf))
        shape[leading] *= processes
        distribution.check_batch_size(shape[leading])
        sharding = distribution.batch_sharding(np.ndim(leaf), leading)
        if processes > 1:
            return jax.make_array_from_process_local_data(sharding, np.asarray(leaf), tuple(shape))
        return put(leaf, sharding)

    return jax.tree_util.tree_map(place, batch)


# ------------------------------------------------------------------ what fit and evaluate call


def model_state(model, state: dict) -> dict:
    """The train state laid out by the model's distribution (as it is, without one)."""
    dist = getattr(model, "_distribution", None)
    return state if dist is None else place_state(dist, state)


def model_variables(model, variables: dict) -> dict:
    """A `get_variables()` pytree laid out by the model's distribution (as it is, without one)."""
    dist = getattr(model, "_distribution", None)
    return variables if dist is None else place_variables(dist, variables)


def model_batch(model, stacked, source):
    """Fit's stacked batches split by the model's distribution; `source` says whether they are process-local."""
    dist = getattr(model, "_distribution", None)
    if dist is None:
        return stacked
    return place_batch(dist, stacked, process_local=getattr(source, "process_local", False))


def check_layouts(model, distribution: Distribution) -> None:
    """Every variable's layout fits the mesh and the variable (a clear error before anything compiles)."""
    variable_shardings(distribution, model.get_variables())

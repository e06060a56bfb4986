"""Checkpoints of the whole train state on orbax's CheckpointManager (the callbacks built on them are in
`checkpoint_callbacks.py`).

A checkpoint holds every leaf of the train state (weights, layer state,
optimizer state, metric accumulators, the dropout key, the step counter) and a
JSON record of where training stands: the epoch and batch the next step
starts at, the seed that orders the data, the history so far, and a checksum
of every leaf. Saving is asynchronous (the device-to-host copy happens before
`save` returns, so the next step may reuse the buffers) and atomic (orbax
writes into a temporary folder and renames it). On restore, a checkpoint that
cannot be read or whose checksums do not match is skipped with a warning
naming it, and the one before it is used.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

FORMAT = 1
_STATE, _RECORD = "state", "record"


def _ocp():
    import orbax.checkpoint as ocp  # imported when first needed: it is slow to import

    return ocp


# ---------------------------------------------------------------- leaves and checksums
def _is_key(x) -> bool:
    return isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jax.dtypes.prng_key)


def _flatten(state: dict) -> tuple[list[str], list[jax.Array]]:
    """The state's leaf paths and arrays; typed PRNG keys become their raw key data."""
    pairs = jax.tree_util.tree_flatten_with_path(state)[0]
    paths = [jax.tree_util.keystr(path) for path, _ in pairs]
    leaves = [jax.random.key_data(x) if _is_key(x) else jnp.asarray(x) for _, x in pairs]
    return paths, leaves


def _rename(tree, mapping: dict):
    """`tree` with every dict key found in `mapping` replaced (through dicts, lists, tuples, namedtuples)."""
    if isinstance(tree, dict):
        return {mapping.get(k, k): _rename(v, mapping) for k, v in tree.items()}
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return type(tree)(*[_rename(v, mapping) for v in tree])
    if isinstance(tree, (list, tuple)):
        return type(tree)(_rename(v, mapping) for v in tree)
    return tree


def variable_order(model) -> list[str]:
    """The model's variable paths in its weight order: checkpoints key variables by position in it,
    so a model rebuilt in the same notebook (where layers get new automatic names) still restores."""
    return [path for path, _ in model._variable_paths()]


def _leaf_checksum(x: jax.Array) -> jax.Array:
    """A position-weighted sum of the leaf's bits, modulo 2**32 (exact, so the same on every device)."""
    if x.dtype == jnp.bool_:
        x = x.astype(jnp.uint8)
    width = {1: jnp.uint8, 2: jnp.uint16, 4: jnp.uint32, 8: jnp.uint32}[x.dtype.itemsize]
    bits = jax.lax.bitcast_convert_type(x, width).reshape(-1).astype(jnp.uint32)
    weights = jnp.arange(bits.size, dtype=jnp.uint32) * jnp.uint32(2654435761) + jnp.uint32(1)
    return jnp.sum(bits * weights, dtype=jnp.uint32) ^ jnp.uint32(bits.size)


@jax.jit
def _checksums(leaves: list[jax.Array]) -> jax.Array:
    return jnp.stack([_leaf_checksum(x) for x in leaves]) if leaves else jnp.zeros((0,), jnp.uint32)


def _as_items(leaves: list) -> dict:
    # orbax keys name folders: plain zero-padded indices; the paths live in the record.
    return {f"{i:06d}": leaf for i, leaf in enumerate(leaves)}


def _positions(names) -> dict:
    return {name: f"v{i:05d}" for i, name in enumerate(names)}


class CheckpointMismatchError(ValueError):
    """A checkpoint was written for another model or optimizer than the one restoring it."""


# ---------------------------------------------------------------- the manager
class TrainCheckpointer:
    """Train-state checkpoints in `directory`, one sub-folder per global step, the newest `max_to_keep` kept.

    >>> ckpt = TrainCheckpointer("ckpts", max_to_keep=3)        # doctest: +SKIP
    >>> ckpt.save(model._train_state, {"position": {...}})      # doctest: +SKIP
    >>> state, record = ckpt.restore(template_state)            # doctest: +SKIP
    """

    def __init__(self, directory, max_to_keep: int | None = 2, async_save: bool = True):
        if max_to_keep is not None and (not isinstance(max_to_keep, int) or max_to_keep < 1):
            raise ValueError(f"max_to_keep must be a positive int or None (keep all), got {max_to_keep!r}.")
        self.directory = Path(directory).absolute()
        if self.directory.exists() and not self.directory.is_dir():
            raise ValueError(f"Checkpoint directory {self.directory} exists and is not a folder.")
        self.max_to_keep = max_to_keep
        self.async_save = async_save
        self._manager = None

    @property
    def manager(self):
        if self._manager is None:
            ocp = _ocp()
            options = ocp.CheckpointManagerOptions(
                max_to_keep=self.max_to_keep,
                enable_async_checkpointing=self.async_save,
                create=True,
                cleanup_tmp_directories=True,
            )
            self._manager = ocp.CheckpointManager(
                self.directory, item_names=(_STATE, _RECORD), options=options
            )
        return self._manager

    def steps(self) -> list[int]:
        """The global steps of the committed checkpoints, oldest first."""
        return sorted(self.manager.all_steps())

    def save(self, state: dict, record: dict, names: list[str] = (), step: int | None = None) -> bool:
        """Start saving `state` with `record` (JSON-able); returns False when `step` is already saved.

        `names` (the model's variable paths in weight order, `variable_order(model)`)
        are stored by position, so a model whose layers were renamed restores too.
        """
        ocp = _ocp()
        step = int(state["step"]) if step is None else int(step)
        if step in self.manager.all_steps():
            return False
        paths, leaves = _flatten(_rename(state, _positions(names)))
        sums = np.asarray(_checksums(leaves)).tolist()
        full = {
            **record,
            "format": FORMAT,
            "variables": list(names),
            "paths": paths,
            "checksums": sums,
            "shapes": [list(x.shape) for x in leaves],
            "dtypes": [str(x.dtype) for x in leaves],
        }
        self.manager.save(
            step,
            args=ocp.args.Composite(
                **{
                    _STATE: ocp.args.StandardSave(_as_items(leaves)),
                    _RECORD: ocp.args.JsonSave(full),
                }
            ),
        )
        return True

    def restore(
        self, template: dict, names: list[str] = (), step: int | None = None
    ) -> tuple[dict, dict] | None:
        """The newest readable checkpoint (or `step`) as `(state, record)` shaped like `template`; None if none.

        Unreadable or corrupted checkpoints are skipped with a warning naming them;
        one written for a different model raises CheckpointMismatchError.
        """
        candidates = [step] if step is not None else sorted(self.manager.all_steps(), reverse=True)
        for s in candidates:
            try:
                state, record = self._restore_step(_rename(template, _positions(names)), s)
                return _rename(state, {v: k for k, v in _positions(names).items()}), record
            except CheckpointMismatchError:
                raise
            except Exception as e:  # noqa: BLE001 - any failure to read means: try the one before
                where = self.directory / str(s)
                if step is not None:
                    raise ValueError(f"Checkpoint {where} cannot be restored: {e}") from e
                warnings.warn(f"Skipping checkpoint {where}: {e}. Trying an earlier one.", stacklevel=3)
        return None

    def _restore_step(self, template: dict, step: int) -> tuple[dict, dict]:
        ocp = _ocp()
        paths, leaves = _flatten(template)
        record = self.manager.restore(step, args=ocp.args.Composite(**{_RECORD: ocp.args.JsonRestore()}))[
            _RECORD
        ]
        if not isinstance(record, dict) or record.get("format") != FORMAT:
            raise ValueError(f"its record is not a workbench checkpoint record of format {FORMAT}")
        index = {p: i for i, p in enumerate(record["paths"])}
        missing = [p for p in paths if p not in index]
        # Metric accumulators of a model that has not trained yet are not needed to continue.
        extra = [p for p in record["paths"] if p not in set(paths) and not p.startswith("['metrics']")]
        if missing or extra:
            raise CheckpointMismatchError(
                f"Checkpoint {self.directory / str(step)} was written for a different model or optimizer: "
                f"its state lacks {missing[:3]} and has {extra[:3]} that this one does not."
            )
        for path, leaf in zip(paths, leaves):
            shape, dtype = record["shapes"][index[path]], record["dtypes"][index[path]]
            if list(leaf.shape) != shape or str(leaf.dtype) != dtype:
                raise CheckpointMismatchError(
                    f"Checkpoint {self.directory / str(step)} holds {path} as {dtype}{tuple(shape)}, "
                    f"but this model's is {leaf.dtype}{tuple(leaf.shape)}."
                )
        sharding = {index[p]: x.sharding for p, x in zip(paths, leaves)}
        default = jax.sharding.SingleDeviceSharding(jax.devices()[0])
        abstract = _as_items(
            [
                jax.ShapeDtypeStruct(tuple(shape), dtype, sharding=sharding.get(i, default))
                for i, (shape, dtype) in enumerate(zip(record["shapes"], record["dtypes"]))
            ]
        )
        items = self.manager.restore(
            step,
            args=ocp.args.Composite(
                **{
                    _STATE: ocp.args.StandardRestore(abstract),
                }
            ),
        )[_STATE]
        everything = [items[f"{i:06d}"] for i in range(len(record["paths"]))]
        sums = np.asarray(_checksums(everything)).tolist()
        bad = [p for p, a, b in zip(record["paths"], sums, record["checksums"]) if a != b]
        if bad:
            raise ValueError(
                f"its data failed the checksum for {len(bad)} of {len(sums)} arrays (first: {bad[0]})"
            )
        restored = [everything[index[p]] for p in paths]
        template_leaves, treedef = jax.tree_util.tree_flatten(template)
        out = [
            jax.random.wrap_key_data(r, impl=jax.random.key_impl(t)) if _is_key(t) else r
            for r, t in zip(restored, template_leaves)
        ]
        return jax.tree_util.tree_unflatten(treedef, out), record

    def wait(self) -> None:
        """Block until every started save is committed."""
        if self._manager is not None:
            self._manager.wait_until_finished()

    def close(self) -> None:
        if self._manager is not None:
            self._manager.close()
            self._manager = None


# ---------------------------------------------------------------- callbacks
def restore_model(model, directory, step: int | None = None) -> dict:
    """Load a checkpoint written by `ModelCheckpoint` or `BackupAndRestore` into a compiled model.

    Weights, optimizer state and the step counter are restored, so `fit`
    continues from there. Returns the checkpoint's record (position, history,
    logs). `step` picks one checkpoint; by default the newest readable one.
    """
    from workbench.training import steps as steps_mod
    from workbench.training import trainer

    spec = trainer._spec(model)
    if not Path(directory).is_dir():
        raise FileNotFoundError(f"No checkpoint folder at {directory}.")
    if not model.built:
        raise ValueError(
            f"Model '{model.name}' must be built (called on data once) before restoring into it."
        )
    template = model._train_state or steps_mod.init_state(model, spec, model._tx)
    checkpointer = TrainCheckpointer(directory, max_to_keep=None, async_save=False)
    try:
        restored = checkpointer.restore(template, variable_order(model), step)
    finally:
        checkpointer.close()
    if restored is None:
        raise FileNotFoundError(f"No readable checkpoint in {directory}.")
    state, record = restored
    model._train_state = state
    trainer._write_back(model, state)
    return record

"""The training half of a `.keras` file: compile config and optimizer state, so a loaded model trains on.

`model.save("m.keras")` adds two members to the zip that `workbench.core.saving`
writes (both covered by its per-member sha256):

- `compile.json`: the `compile()` arguments in Keras' spirit: the optimizer as
  its serialised config, losses and metrics as names or serialised objects
  (per-output dicts and lists kept), `loss_weights`, `weighted_metrics`,
  `steps_per_execution`; and, once the model has trained, `train_state`: the
  name, dtype and shape of every saved tensor.
- `optimizer.safetensors`: every leaf of the optax state, named
  `"opt_state" + jax.tree_util.keystr(path)` (e.g.
  `opt_state.inner_state[0][0].inner_state.mu['dense/kernel']`), plus the train
  state's `step` counter and `rng` key (as key data). No pickle.

`load_model(path)` recompiles the model with that config and installs a train
state made of the loaded weights and the saved optimizer state, step and key,
so the next `fit` takes exactly the steps the uninterrupted run would have
taken. A model that cannot be saved compiled (a raw optax transformation, a
lambda as loss) is saved without its compile config, with a warning, and comes
back uncompiled, with a warning naming why; its weights and architecture are
always saved.
"""

from __future__ import annotations

import inspect
import json
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from workbench import losses as losses_mod
from workbench import optimizers as optimizers_mod
from workbench.core import saving, serialization
from workbench.metrics.base import Metric
from workbench.metrics.reduction import METRIC_FUNCTIONS
from workbench.metrics.registry import NAMES as METRIC_CLASSES
from workbench.optimizers.base import OptaxOptimizer
from workbench.training import steps as steps_mod

COMPILE_MEMBER = "compile.json"
OPTIMIZER_MEMBER = "optimizer.safetensors"
COMPILE_FORMAT = "workbench.compile/1"
OPTIMIZER_FORMAT = "workbench.optimizer/1"


class NotSerializableError(ValueError):
    """A compile argument that cannot be written as JSON (a raw optax transformation, a lambda...)."""


# ---------------------------------------------------------------------------------------------- saving
def members_to_save(model) -> dict[str, bytes]:
    """The members `model.save` adds for a compiled model: `compile.json`, and after training
    `optimizer.safetensors`. Empty for an uncompiled model.

    Never raises for an unserialisable compile argument: it warns, and records
    in `compile.json` why the model was saved without its compile config.
    """
    if getattr(model, "_compile_spec", None) is None:
        return {}
    try:
        config = compile_config(model)
    except NotSerializableError as e:
        warnings.warn(
            f"Model '{model.name}' is saved without its compile config, because {e} Its architecture and "
            "weights are saved; the loaded model will be uncompiled: call compile() on it again.",
            stacklevel=5,
        )
        doc = {"format": COMPILE_FORMAT, "compile_config": None, "not_saved_because": str(e)}
        return {COMPILE_MEMBER: json.dumps(doc, indent=1).encode()}
    doc = {"format": COMPILE_FORMAT, "compile_config": config, "train_state": None}
    members = {}
    state = getattr(model, "_train_state", None)
    if state is not None:
        tensors, doc["train_state"] = _train_state_tensors(state)
        members[OPTIMIZER_MEMBER] = saving.arrays_to_bytes(tensors, OPTIMIZER_FORMAT)
    members[COMPILE_MEMBER] = json.dumps(doc, indent=1).encode()
    return members


def compile_config(model) -> dict[str, Any]:
    """The model's `compile()` arguments as JSON-ready values; raises NotSerializableError."""
    args, spec = model._compile_args, model._compile_spec
    config = {
        "optimizer": _serialize_optimizer(model.optimizer),
        "loss": _serialize_tree(args.get("loss"), "loss", _serialize_loss),
        "loss_weights": _serialize_tree(args.get("loss_weights"), "loss_weights", _serialize_number),
        "metrics": _serialize_tree(args.get("metrics"), "metrics", _serialize_metric),
        "weighted_metrics": _serialize_tree(
            args.get("weighted_metrics"), "weighted_metrics", _serialize_metric
        ),
        "run_eagerly": bool(getattr(spec, "run_eagerly", False)),
        "steps_per_execution": args.get("steps_per_execution", "auto"),
        "jit_compile": args.get("jit_compile", True),
    }
    _check_json(config, "the compile config")
    return config


def _check_json(value, what: str) -> None:
    try:
        json.dumps(value)
    except (TypeError, ValueError) as e:
        raise NotSerializableError(f"{what} is not JSON ({e}).") from None


def _serialize_optimizer(optimizer) -> dict:
    if isinstance(optimizer, OptaxOptimizer):
        raise NotSerializableError(
            "its optimizer is a raw optax transformation, which has no config. Compile with a workbench "
            "optimizer (e.g. workbench.optimizers.Adam) to save it with the model."
        )
    config = optimizers_mod.serialize(optimizer)
    config["registered_name"] = serialization._registered_name(type(optimizer))
    _check_json(config, f"the config of optimizer {optimizer!r}")
    return config


def _serialize_tree(value, what: str, leaf):
    # Per-output dicts and lists keep their shape; leaves become names or serialised objects.
    if value is None:
        return None
    if isinstance(value, dict):
        return {str(k): _serialize_tree(v, what, leaf) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_serialize_tree(v, what, leaf) for v in value]
    return leaf(value, what)


def _serialize_number(value, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise NotSerializableError(f"{what} holds {value!r}, which is not a number.") from None


def _check_named_function(fn, what: str) -> None:
    qualname = getattr(fn, "__qualname__", "") or ""
    if "<lambda>" in qualname or "<locals>" in qualname or not getattr(fn, "__name__", None):
        raise NotSerializableError(
            f"the {what} function {fn!r} has no importable name (a lambda or a nested function). "
            "Use a module-level function or a registered class (workbench.saving.register_serializable)."
        )


def _function_config(fn) -> dict:
    registered = getattr(fn, "_registered_name", None)
    return {
        "module": getattr(fn, "__module__", None),
        "class_name": "function",
        "config": registered or fn.__name__,
        "registered_name": registered or "function",
    }


def _serialize_loss(loss, what: str):
    if isinstance(loss, str):
        return loss
    if inspect.isclass(loss):
        loss = loss()
    if not isinstance(loss, losses_mod.Loss):
        if not callable(loss):
            raise NotSerializableError(f"the {what} entry {loss!r} is neither a loss nor a function.")
        _check_named_function(loss, what)
        return _function_config(loss)
    if isinstance(loss, losses_mod.LossFunctionWrapper):
        _check_named_function(loss.fn, what)
    try:
        config = losses_mod.serialize(loss)
    except (TypeError, ValueError) as e:
        raise NotSerializableError(f"the {what} {loss!r} cannot be serialised ({e}).") from None
    _check_json(config, f"the config of {what} {loss!r}")
    return config


def _serialize_metric(metric, what: str):
    if isinstance(metric, str):
        return metric
    if inspect.isclass(metric):
        metric = metric()
    if not isinstance(metric, Metric):
        if not callable(metric):
            raise NotSerializableError(f"the {what} entry {metric!r} is neither a metric nor a function.")
        _check_named_function(metric, what)
        return _function_config(metric)
    cls = type(metric)
    try:
        config = {
            "module": cls.__module__,
            "class_name": cls.__name__,
            "config": metric.get_config(),
            "registered_name": serialization._registered_name(cls),
        }
    except (TypeError, ValueError, NotImplementedError) as e:
        raise NotSerializableError(f"the {what} {metric!r} cannot be serialised ({e}).") from None
    _check_json(config, f"the config of {what} {metric!r}")
    return config


def _train_state_tensors(state: dict) -> tuple[dict[str, np.ndarray], dict]:
    """The optimizer state, step and RNG key data as named arrays, and their listing for compile.json."""
    tensors: dict[str, np.ndarray] = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(state["opt_state"])[0]:
        tensors["opt_state" + jax.tree_util.keystr(path)] = np.asarray(leaf)
    rng = state["rng"]
    typed_key = jnp.issubdtype(rng.dtype, jax.dtypes.prng_key)
    tensors["step"] = np.asarray(state["step"])
    tensors["rng"] = np.asarray(jax.random.key_data(rng) if typed_key else rng)
    listing = {
        "member": OPTIMIZER_MEMBER,
        "step": int(tensors["step"]),
        "rng_impl": str(jax.random.key_impl(rng)) if typed_key else None,
        "tensors": [{"name": n, "dtype": a.dtype.name, "shape": list(a.shape)} for n, a in tensors.items()],
    }
    return tensors, listing


# --------------------------------------------------------------------------------------------- loading
def restore(model, members: dict[str, bytes], custom_objects=None, source: str = "the model file") -> None:
    """Compile `model` as it was saved and install its saved train state (see the module docstring).

    A model saved uncompiled stays uncompiled. A compile config that cannot be
    rebuilt here (a custom loss not passed in `custom_objects`) leaves the model
    uncompiled, with a warning naming why. When the saved optimizer state has
    other leaves than this optimizer's state (an optimizer whose optax chain
    changed between versions), the model is compiled with a fresh optimizer
    state and a warning. When the leaves match by name but one differs in shape
    or dtype, the optimizer state was made for other weights than the file's
    (a grafted or hand-edited file): that is a ValueError naming the leaf,
    since no version difference explains it and guessing would hide it.
    """
    if COMPILE_MEMBER not in members:
        return
    try:
        doc = json.loads(members[COMPILE_MEMBER])
    except ValueError as e:
        raise saving.CorruptFileError(f"{source}: {COMPILE_MEMBER} is unreadable ({e}).") from None
    if doc.get("format") != COMPILE_FORMAT:
        raise saving.CorruptFileError(
            f"{source}: expected {COMPILE_MEMBER} of format {COMPILE_FORMAT!r}, found {doc.get('format')!r}."
        )
    config = doc.get("compile_config")
    if config is None:
        warnings.warn(
            f"{source}: model '{model.name}' comes back uncompiled, because it was saved without its compile "
            f"config: {doc.get('not_saved_because', 'no reason recorded')} Call compile() on it to train it.",
            stacklevel=4,
        )
        return
    try:
        args = compile_arguments(config, custom_objects)
        model.compile(**args)
    except (ValueError, TypeError, KeyError) as e:
        warnings.warn(
            f"{source}: model '{model.name}' comes back uncompiled: its saved compile config could not be "
            f"rebuilt ({e}). Pass your own classes and functions in load_model(custom_objects=...), or call "
            "compile() on the loaded model.",
            stacklevel=4,
        )
        return
    if doc.get("train_state"):
        _restore_train_state(model, doc["train_state"], members, source)


def compile_arguments(config: dict, custom_objects=None) -> dict[str, Any]:
    """Keyword arguments for `model.compile(...)` from a `compile_config` dict."""
    return {
        "optimizer": _deserialize_optimizer(config["optimizer"], custom_objects),
        "loss": _deserialize_tree(config.get("loss"), lambda c: losses_mod.deserialize(c, custom_objects)),
        "loss_weights": config.get("loss_weights"),
        "metrics": _deserialize_tree(config.get("metrics"), lambda c: _deserialize_metric(c, custom_objects)),
        "weighted_metrics": _deserialize_tree(
            config.get("weighted_metrics"), lambda c: _deserialize_metric(c, custom_objects)
        ),
        "run_eagerly": config.get("run_eagerly", False),
        "steps_per_execution": config.get("steps_per_execution", "auto"),
        "jit_compile": config.get("jit_compile", True),
    }


def _is_serialized_object(value) -> bool:
    return isinstance(value, dict) and "class_name" in value and "config" in value


def _deserialize_tree(value, leaf):
    if _is_serialized_object(value):
        return leaf(value)
    if isinstance(value, dict):
        return {k: _deserialize_tree(v, leaf) for k, v in value.items()}
    if isinstance(value, list):
        return [_deserialize_tree(v, leaf) for v in value]
    return value  # a name or None: compile() resolves it as it did when saving


def _custom_class(config: dict, custom_objects):
    for key in (config.get("registered_name"), config["class_name"]):
        if key and custom_objects and key in custom_objects:
            return custom_objects[key]
    registered = config.get("registered_name")
    return serialization._REGISTRY.get(registered) if registered else None


def _deserialize_optimizer(config: dict, custom_objects):
    cls = _custom_class(config, custom_objects)
    if cls is not None:
        return cls.from_config(dict(config.get("config") or {}))
    return optimizers_mod.deserialize(config, custom_objects)


def _deserialize_metric(config: dict, custom_objects):
    if config["class_name"] == "function":
        name = config["config"]
        for table in (custom_objects or {}, serialization._REGISTRY, METRIC_FUNCTIONS):
            if name in table:
                return table[name]
        return losses_mod.deserialize(config, custom_objects)  # a loss function used as a metric
    cls = _custom_class(config, custom_objects) or METRIC_CLASSES.get(config["class_name"])
    if cls is None:
        raise ValueError(
            f"unknown metric class {config['class_name']!r}; pass it in custom_objects or register it "
            "with workbench.saving.register_serializable()"
        )
    return cls.from_config(dict(config.get("config") or {}))


def _restore_train_state(model, listing: dict, members: dict[str, bytes], source: str) -> None:
    where = f"{source}:{OPTIMIZER_MEMBER}"
    if OPTIMIZER_MEMBER not in members:
        raise saving.CorruptFileError(
            f"{source} lists an optimizer state but has no {OPTIMIZER_MEMBER} member."
        )
    tensors = saving.arrays_from_bytes(
        members[OPTIMIZER_MEMBER], where, OPTIMIZER_FORMAT, "optimizer state file"
    )
    listed = {e["name"]: (e["dtype"], tuple(e["shape"])) for e in listing["tensors"]}
    held = {name: (a.dtype.name, tuple(a.shape)) for name, a in tensors.items()}
    if listed != held:
        raise saving.CorruptFileError(
            f"{where} does not hold the tensors compile.json lists (name, dtype, shape): "
            f"{_first_difference(sorted(held.items()), sorted(listed.items()))}."
        )

    spec, tx = model._compile_spec, model._tx
    trainable = model.get_variables()["trainable"]
    expected, treedef = jax.tree_util.tree_flatten_with_path(jax.eval_shape(tx.init, trainable))
    expected = [("opt_state" + jax.tree_util.keystr(path), leaf) for path, leaf in expected]
    saved_names = [n for n in listed if n.startswith("opt_state")]
    if [n for n, _ in expected] != saved_names:
        warnings.warn(
            f"{where}: the saved optimizer state does not fit optimizer {model.optimizer!r} of model "
            f"'{model.name}': {_first_difference(saved_names, [n for n, _ in expected])}. The model is compiled with a "
            "fresh optimizer state: training starts its moments and step count over.",
            stacklevel=5,
        )
        return
    leaves = []
    for name, leaf in expected:
        saved = tensors[name]
        if saved.shape != leaf.shape or saved.dtype != leaf.dtype:
            raise ValueError(
                f"{where}: optimizer state leaf {name} was saved with shape {saved.shape} and dtype {saved.dtype}, "
                f"but model '{model.name}' with optimizer {model.optimizer!r} expects shape {leaf.shape} and "
                f"dtype {leaf.dtype}. The file's optimizer state does not belong to this model; load with "
                "compile=False and compile it again to train from a fresh optimizer state."
            )
        leaves.append(jnp.asarray(saved))
    opt_state = jax.tree_util.tree_unflatten(treedef, leaves)
    if listing.get("rng_impl"):
        rng = jax.random.wrap_key_data(jnp.asarray(tensors["rng"]), impl=listing["rng_impl"])
    else:
        rng = jnp.asarray(tensors["rng"])
    state = steps_mod.init_state(model, spec, tx, opt_state=opt_state, rng=rng)
    fresh_step = state["step"]
    if tensors["step"].shape != fresh_step.shape or tensors["step"].dtype != fresh_step.dtype:
        raise ValueError(
            f"{where}: the step counter was saved with shape {tensors['step'].shape} and dtype "
            f"{tensors['step'].dtype}; this version of workbench expects {fresh_step.shape} and {fresh_step.dtype}."
        )
    state["step"] = jnp.asarray(tensors["step"])
    model._train_state = state


def _first_difference(saved: list, expected: list) -> str:
    for got, want in zip(saved, expected):
        if got != want:
            return f"the file has {got!r} where {want!r} is expected"
    if len(saved) > len(expected):
        return f"the file has an extra {saved[len(expected)]!r}"
    if len(saved) < len(expected):
        return f"the file lacks {expected[len(saved)]!r}"
    return "none"

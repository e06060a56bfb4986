"""Optimizers from names, configs and optax transformations, and back to configs."""

from __future__ import annotations

import difflib
from typing import Any

import optax

from workbench.optimizers.adagrad import Adagrad
from workbench.optimizers.adam import Adam, Adamax, AdamW, Nadam
from workbench.optimizers.base import OptaxOptimizer, Optimizer
from workbench.optimizers.lion import Lion
from workbench.optimizers.rmsprop import RMSprop
from workbench.optimizers.sgd import SGD

# Keras' identifiers: the lower-cased class names.
ALL_OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.__name__.lower(): cls for cls in (Adam, AdamW, SGD, RMSprop, Adagrad, Adamax, Nadam, Lion)
}


def _lookup(name: str, custom_objects: dict[str, type] | None) -> type[Optimizer]:
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if isinstance(name, str) and name.lower() in ALL_OPTIMIZERS:
        return ALL_OPTIMIZERS[name.lower()]
    close = difflib.get_close_matches(str(name).lower(), ALL_OPTIMIZERS, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise ValueError(f"Unknown optimizer '{name}'.{hint} Valid names: {sorted(ALL_OPTIMIZERS)}.")


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """`{"module", "class_name", "config", "registered_name"}`, the layout of Keras' optimizer configs."""
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"serialize expects a workbench optimizer; got {type(optimizer).__name__}.")
    return {
        "module": "workbench.optimizers",
        "class_name": type(optimizer).__name__,
        "config": optimizer.get_config(),
        "registered_name": None,
    }


def deserialize(config: dict[str, Any], custom_objects: dict[str, type] | None = None) -> Optimizer:
    """An optimizer from `serialize` output (Keras' optimizer configs load too; class names
    are matched case-insensitively, as Keras does)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"Expected an optimizer config dict with 'class_name' and 'config'; got {config!r:.200}."
        )
    cls = _lookup(config["class_name"], custom_objects)
    return cls.from_config(dict(config.get("config", {})))


def get(identifier: Any) -> Optimizer | None:
    """An optimizer from a Keras name ("adam", "sgd", ...), a config dict, an optimizer, or an
    optax `GradientTransformation` (wrapped in `OptaxOptimizer`, so `to_optax()` works on all).

    >>> from workbench import optimizers
    >>> optimizers.get("adam").learning_rate
    0.001
    """
    if identifier is None:
        return None
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, optax.GradientTransformation):
        return OptaxOptimizer(identifier)
    if isinstance(identifier, str):
        return _lookup(identifier, None)()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(
        "Could not interpret optimizer identifier: expected a name "
        f"({', '.join(sorted(ALL_OPTIMIZERS))}), a config dict, a workbench optimizer or an optax "
        f"GradientTransformation; got {identifier!r:.100} of type {type(identifier).__name__}."
    )

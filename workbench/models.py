"""Model classes and loaders: `Sequential`, `Model`, `model_from_json`, `load_model`, `clone_model`."""

from __future__ import annotations

import json

from workbench.core import serialization
from workbench.core.functional import Functional
from workbench.core.model import Model
from workbench.core.saving import load_model
from workbench.core.sequential import Sequential


def model_from_json(json_string: str, custom_objects=None, safe_mode: bool = True):
    """Rebuild a model (fresh weights) from `model.to_json()`."""
    try:
        config = json.loads(json_string)
    except (TypeError, ValueError) as e:
        raise ValueError(f"model_from_json expects the JSON text from model.to_json(): {e}") from None
    return serialization.deserialize_layer(config, custom_objects, safe_mode)


def model_from_config(config: dict, custom_objects=None, safe_mode: bool = True):
    return serialization.deserialize_layer(config, custom_objects, safe_mode)


def clone_model(model, custom_objects=None):
    """A new model with the same architecture and freshly initialised weights."""
    return serialization.deserialize_layer(serialization.serialize_layer(model), custom_objects, True)


__all__ = ["Functional", "Model", "Sequential", "clone_model", "load_model", "model_from_config", "model_from_json"]

"""Saving and loading: whole models, weights, and registration of custom classes."""

from workbench.core.saving import CorruptFileError, load_model, load_weights, save_model, save_weights
from workbench.core.serialization import deserialize_layer, register_serializable, serialize_layer

register_keras_serializable = register_serializable

__all__ = [
    "CorruptFileError",
    "deserialize_layer",
    "load_model",
    "load_weights",
    "register_keras_serializable",
    "register_serializable",
    "save_model",
    "save_weights",
    "serialize_layer",
]

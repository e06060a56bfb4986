"""Finding a loss by name or config (`get`), and turning one back into JSON (`serialize`)."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from typing import Any

from workbench.core import serialization
from workbench.losses import _functions as F
from workbench.losses._base import Loss, LossFunctionWrapper
from workbench.losses._classes import BUILTIN_CLASSES

_FUNCTIONS: tuple[Callable, ...] = (
    F.binary_crossentropy, F.binary_focal_crossentropy, F.categorical_crossentropy,
    F.categorical_focal_crossentropy, F.sparse_categorical_crossentropy, F.mean_squared_error,
    F.mean_absolute_error, F.mean_absolute_percentage_error, F.mean_squared_logarithmic_error,
    F.huber, F.log_cosh, F.kl_divergence, F.poisson, F.cosine_similarity, F.hinge, F.squared_hinge,
    F.categorical_hinge,
)  # fmt: skip

# Keras' ALL_OBJECTS_DICT (class and function names plus its short aliases), and the legacy
# aliases Keras 2 accepted, which Keras 3 still exports for functions.
_BY_NAME: dict[str, Any] = {
    **{cls.__name__: cls for cls in (Loss, LossFunctionWrapper, *BUILTIN_CLASSES)},
    **{fn.__name__: fn for fn in _FUNCTIONS},
    "bce": F.binary_crossentropy,
    "BCE": F.binary_crossentropy,
    "kld": F.kl_divergence,
    "KLD": F.kl_divergence,
    "kullback_leibler_divergence": F.kl_divergence,
    "mae": F.mean_absolute_error,
    "MAE": F.mean_absolute_error,
    "mse": F.mean_squared_error,
    "MSE": F.mean_squared_error,
    "mape": F.mean_absolute_percentage_error,
    "MAPE": F.mean_absolute_percentage_error,
    "msle": F.mean_squared_logarithmic_error,
    "MSLE": F.mean_squared_logarithmic_error,
    "logcosh": F.log_cosh,
}
_BUILTIN_FUNCTIONS = {fn.__name__: fn for fn in _FUNCTIONS}


def _lookup(name: str, custom_objects: dict[str, Any] | None = None) -> Any:
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if name in _BY_NAME:
        return _BY_NAME[name]
    if name in serialization._REGISTRY:
        return serialization._REGISTRY[name]
    close = difflib.get_close_matches(name, _BY_NAME, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    valid = ", ".join(
        sorted((n for n in _BY_NAME if n not in ("Loss", "LossFunctionWrapper")), key=str.lower)
    )
    raise ValueError(f"Unknown loss {name!r}.{hint} Valid names: {valid}.")


def get(identifier: Any) -> Loss | Callable | None:
    """A loss from a name, a config dict, a `Loss` class or instance, or a function.

    A function's name gives the function (per-sample values); a class name gives an instance
    with default arguments (a reduced scalar), as in Keras:

    >>> get("categorical_crossentropy").__name__
    'categorical_crossentropy'
    >>> get("CategoricalCrossentropy")
    CategoricalCrossentropy(name='categorical_crossentropy', reduction='sum_over_batch_size', from_logits=False, label_smoothing=0.0, axis=-1)
    >>> get({"class_name": "Huber", "config": {"delta": 2.0}}).delta
    2.0
    """  # noqa: E501
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    obj = _lookup(identifier) if isinstance(identifier, str) else identifier
    if inspect.isclass(obj):
        if not issubclass(obj, Loss):
            raise ValueError(f"A loss class must subclass workbench.losses.Loss; got {obj.__name__}.")
        return obj()
    if callable(obj):
        return obj
    raise ValueError(
        "A loss must be a name such as 'categorical_crossentropy', a config dict, a Loss instance, or "
        f"a function (y_true, y_pred) -> per-sample values; got {type(identifier).__name__}: {identifier!r}."
    )


def serialize(loss: Loss | Callable | None) -> dict[str, Any] | None:
    """Keras' serialized form of a loss: {"module", "class_name", "config", "registered_name"}.

    `get` (or `deserialize`) turns it back into the loss.

    >>> serialize(get("MeanSquaredError"))["config"]
    {'name': 'mean_squared_error', 'reduction': 'sum_over_batch_size'}
    """
    if loss is None:
        return None
    if isinstance(loss, Loss):
        cls = type(loss)
        builtin = cls.__module__.startswith("workbench.losses")
        return {
            "module": "workbench.losses" if builtin else cls.__module__,
            "class_name": cls.__name__,
            "config": loss.get_config(),
            "registered_name": serialization._registered_name(cls),
        }
    if callable(loss):
        name = getattr(loss, "__name__", None)
        registered = getattr(loss, "_registered_name", None)
        if name is None:
            raise ValueError(
                f"Cannot serialize the loss {loss!r}: it is neither a Loss nor a named function."
            )
        if _BUILTIN_FUNCTIONS.get(name) is loss:
            return {
                "module": "builtins",
                "class_name": "function",
                "config": name,
                "registered_name": "function",
            }
        return {
            "module": getattr(loss, "__module__", None),
            "class_name": "function",
            "config": registered or name,
            "registered_name": registered or "function",
        }
    raise ValueError(f"Cannot serialize {loss!r}: expected a Loss instance or a loss function.")


def deserialize(config: dict[str, Any] | str, custom_objects: dict[str, Any] | None = None) -> Any:
    """The loss `serialize` described; `custom_objects` maps names to your own classes and functions."""
    if isinstance(config, str):
        obj = _lookup(config, custom_objects)
        return obj() if inspect.isclass(obj) else obj
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f'A loss config must be a dict with "class_name" and "config"; got {config!r}.')
    class_name, inner = config["class_name"], config.get("config")
    if class_name == "function":
        if not isinstance(inner, str):
            raise ValueError(f'A serialized loss function needs its name as "config"; got {inner!r}.')
        return _lookup(inner, custom_objects)
    registered = config.get("registered_name")
    key = registered if registered and registered in serialization._REGISTRY else class_name
    cls = _lookup(key, custom_objects)
    if not (inspect.isclass(cls) and issubclass(cls, Loss)):
        raise ValueError(f"{class_name!r} is not a Loss class, so it cannot be built from a config.")
    return cls.from_config(dict(inner or {}))

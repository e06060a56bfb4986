"""Global settings, named as in `keras.config`."""

from __future__ import annotations

from workbench.core.dtype_policy import DTypePolicy, dtype_policy, set_dtype_policy

_settings = {"floatx": "float32", "epsilon": 1e-7, "image_data_format": "channels_last"}


def floatx() -> str:
    """The default float dtype name ('float32')."""
    return _settings["floatx"]


def set_floatx(value: str) -> None:
    if value not in ("float16", "bfloat16", "float32", "float64"):
        raise ValueError(f"floatx must be one of float16, bfloat16, float32, float64; got {value!r}.")
    _settings["floatx"] = value


def epsilon() -> float:
    """The fuzz factor used in numeric expressions (1e-7)."""
    return _settings["epsilon"]


def set_epsilon(value: float) -> None:
    _settings["epsilon"] = float(value)


def image_data_format() -> str:
    """'channels_last' (the default) or 'channels_first'."""
    return _settings["image_data_format"]


def set_image_data_format(value: str) -> None:
    if value not in ("channels_last", "channels_first"):
        raise ValueError(f"image_data_format must be 'channels_last' or 'channels_first'; got {value!r}.")
    _settings["image_data_format"] = value


__all__ = [
    "DTypePolicy",
    "dtype_policy",
    "epsilon",
    "floatx",
    "image_data_format",
    "set_dtype_policy",
    "set_epsilon",
    "set_floatx",
    "set_image_data_format",
]

"""Global settings, named as in `keras.config`."""

from __future__ import annotations

import os
from pathlib import Path

import jax

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


# ---------------------------------------------------------------- compilation cache
_CACHE_ENV = "WORKBENCH_COMPILATION_CACHE"  # "0" / "off" / "false" turns the cache off
_CACHE_DIR_ENV = "WORKBENCH_COMPILATION_CACHE_DIR"


def default_compilation_cache_dir() -> Path:
    """The per-user cache folder: `$XDG_CACHE_HOME/workbench/jax` (or `~/.cache/workbench/jax`)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "workbench" / "jax"


def enable_compilation_cache(directory: str | os.PathLike | None = None) -> Path:
    """Keep compiled XLA programs on disk, so a new process (a restarted kernel) skips compiling.

    Every program is cached, however quick its compilation: the small steps of
    teaching models are exactly the ones whose compile time dominates a run.
    """
    path = Path(directory) if directory is not None else default_compilation_cache_dir()
    path.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path


def disable_compilation_cache() -> None:
    jax.config.update("jax_compilation_cache_dir", None)


def compilation_cache_dir() -> str | None:
    """The folder compiled programs are cached in, or None when the cache is off."""
    return jax.config.jax_compilation_cache_dir or None


def _init_compilation_cache() -> None:
    """On by default; off with WORKBENCH_COMPILATION_CACHE=0; a cache dir JAX was given is kept."""
    if os.environ.get(_CACHE_ENV, "1").strip().lower() in ("0", "off", "false", "no"):
        return
    if jax.config.jax_compilation_cache_dir:
        return
    try:
        enable_compilation_cache(os.environ.get(_CACHE_DIR_ENV) or None)
    except OSError:  # a read-only home: run without the cache rather than fail at import
        pass


_init_compilation_cache()


# ---------------------------------------------------------------- runs folder
def runs_dir() -> Path:
    """The folder runs are written to: `set_runs_dir`'s value, else $WORKBENCH_RUNS_DIR, else `./runs`."""
    from workbench.runs import location

    return location.runs_dir()


def set_runs_dir(path: str | os.PathLike | None) -> None:
    """Write and read runs under `path`; None goes back to the default."""
    from workbench.runs import location

    location.set_runs_dir(path)


# ---------------------------------------------------------------- kernels
def kernel_implementation() -> str:
    """Which kernels the layers use: "auto" (measured per device; the XLA reference on CPU), "xla",
    "pallas" or "cudnn". Set with `set_kernel_implementation` or $WORKBENCH_KERNELS."""
    from workbench.kernels import dispatch

    return dispatch.default_implementation()


def set_kernel_implementation(name: str | None) -> None:
    """Make the layers use `name` ("auto", "xla", "pallas", "cudnn"); None goes back to the default.

    Forcing "pallas" on a CPU runs the kernels in Pallas' interpret mode: slow, for checking them.
    """
    from workbench.kernels import dispatch

    dispatch.set_default_implementation(name)


__all__ = [
    "DTypePolicy",
    "compilation_cache_dir",
    "default_compilation_cache_dir",
    "disable_compilation_cache",
    "dtype_policy",
    "enable_compilation_cache",
    "epsilon",
    "floatx",
    "image_data_format",
    "kernel_implementation",
    "runs_dir",
    "set_dtype_policy",
    "set_epsilon",
    "set_floatx",
    "set_image_data_format",
    "set_kernel_implementation",
    "set_runs_dir",
]

"""Weight initializers with the names, arguments and fan rules of `keras.initializers`.

An initializer is a callable `init(shape, dtype=None) -> jax.Array`. Random
ones follow Keras' seeding: an int seed gives the same values on every call
(`jax.random.key(seed)`), while `seed=None` draws a fresh key from
`workbench.core.rng.next_key()` each call, so two layers built from one
unseeded initializer get different weights, and `set_global_seed` makes a
whole run reproducible.

>>> from workbench import initializers
>>> w = initializers.get("glorot_uniform")((3, 4))
>>> w.shape, str(w.dtype)
((3, 4), 'float32')
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from workbench import ops
from workbench.core import rng

Shape = Sequence[int]


def _float_dtype(dtype: Any, name: str) -> str:
    dtype = ops.standardize_dtype(dtype)
    if not jnp.issubdtype(jnp.dtype(dtype), jnp.floating):
        raise ValueError(f"{name} draws random floats, so dtype must be a float dtype; got dtype={dtype!r}.")
    return dtype


def _generator(words: list[int]) -> np.random.Generator:
    """A NumPy generator seeded by the initializer's seed words.

    Initial values are drawn on the host: a jitted `jax.random` draw compiles once
    per weight shape (about a second each on CPU), which would dominate building a
    model, while the host draw costs microseconds and is just as reproducible.
    """
    return np.random.default_rng(words)


def _sample(key: list[int], distribution: str, shape: tuple[int, ...], dtype: str, a: float, b: float) -> jax.Array:
    """Draws `shape` samples: a + b * N(0, 1) ("normal"), the same truncated to +-2 standard
    deviations ("truncated_normal"), or U[a, b) ("uniform")."""
    gen = _generator(key)
    shape = tuple(int(d) for d in shape)
    if distribution == "uniform":
        x = gen.uniform(a, b, size=shape)
    else:
        x = gen.standard_normal(size=shape)
        if distribution == "truncated_normal":
            out = np.abs(x) > 2.0
            while out.any():
                x[out] = gen.standard_normal(size=int(out.sum()))
                out = np.abs(x) > 2.0
        x = x * b + a
    return _to_device(x, dtype)


def _to_device(x: np.ndarray, dtype) -> jax.Array:
    """Convert on the host, then transfer: an eager jnp conversion would compile once per shape."""
    return jax.device_put(np.asarray(x).astype(jnp.dtype(dtype)))


def compute_fans(
    shape: Shape, input_axes: Sequence[int] | None = None, output_axes: Sequence[int] | None = None
) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight shape, as Keras computes them.

    Dense kernels (in, out) give (in, out); conv kernels (*window, in, out) multiply
    both by the window size, e.g. (3, 3, 16, 32) -> (144, 288).
    """
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return int(math.prod(shape[a] for a in input_axes)), int(math.prod(shape[a] for a in output_axes))
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return int(shape[0]), int(shape[0])
    if len(shape) == 2:
        return int(shape[0]), int(shape[1])
    receptive_field = math.prod(shape[:-2])
    return int(shape[-2] * receptive_field), int(shape[-1] * receptive_field)


class Initializer:
    """Base class: subclasses implement `__call__(shape, dtype=None)` and `get_config()`."""

    def __call__(self, shape: Shape, dtype: Any = None) -> jax.Array:
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(shape, dtype=None).")

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this initializer."""
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Initializer:
        """An initializer rebuilt from `get_config()` output."""
        return cls(**config)

    def clone(self) -> Initializer:
        """A fresh initializer with the same config."""
        return type(self).from_config(self.get_config())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


# --------------------------------------------------------------------------- constant initializers


class Constant(Initializer):
    """Every entry equal to `value` (a scalar, or an array that broadcasts to the shape)."""

    def __init__(self, value: Any = 0.0):
        self.value = value

    def __call__(self, shape: Shape, dtype: Any = None) -> jax.Array:
        dtype = ops.standardize_dtype(dtype)
        return _to_device(np.broadcast_to(np.asarray(self.value), tuple(shape)), dtype)

    def get_config(self) -> dict[str, Any]:
        value = self.value.tolist() if isinstance(self.value, (np.ndarray, jax.Array)) else self.value
        return {"value": value}


class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape: Shape, dtype: Any = None) -> jax.Array:
        return _to_device(np.zeros(tuple(shape)), ops.standardize_dtype(dtype))


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape: Shape, dtype: Any = None) -> jax.Array:
        return _to_device(np.ones(tuple(shape)), ops.standardize_dtype(dtype))


class Identity(Initializer):
    """`gain` times the identity matrix; 2-D shapes only."""

    def __init__(self, gain: float = 1.0):
        self.gain = gain

    def __call__(self, shape: Shape, dtype: Any = None) -> jax.Array:
        if len(shape) != 2:
            raise ValueError(
                f"Identity only fills 2-D matrices; got shape={tuple(shape)} of rank {len(shape)}."
            )
        dtype = ops.standardize_dtype(dtype)
        return self.gain * jnp.eye(*shape, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain}


# --------------------------------------------------------------------------- random initializers


class RandomInitializer(Initializer):
    """Base for random initializers: an int `seed` repeats values, None draws fresh ones each call."""

    def __init__(self, seed: int | None = None):
        if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool)):
            raise TypeError(
                f"{type(self).__name__} expects seed to be an int or None; "
                f"got {type(seed).__name__}: {seed!r}."
            )
        self.seed = None if seed is None else int(seed)

    def _key(self) -> list[int]:
        # Seed words for the host draw; an explicit seed gives the words of jax.random.key(seed).
        return rng.next_host_seed() if self.seed is None else rng.seed_words(self.seed)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed}


class RandomNormal(RandomInitializer):
    """Samples from N(mean, stddev**2)."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        self.mean, self.stddev = mean, stddev
        super().__init__(seed)

    def __call__(self, shape: Shape, dtype: Any = None) -> jax.Array:
        dtype = _float_dtype(dtype, type(self).__name__)
        return _sample(self._key(), "normal", tuple(shape), dtype, self.mean, self.stddev)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed, "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomInitializer):
    """Samples from N(mean, stddev**2), redrawn beyond two standard deviations."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        self.mean, self.stddev = mean, stddev
        super().__init__(seed)

    def __call__(self, shape: Shape, dtype: Any = None) -> jax.Array:
        dtype = _float_dtype(dtype, type(self).__name__)
        return _sample(self._key(), "truncated_normal", tuple(shape), dtype, self.mean, self.stddev)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed, "mean": self.mean, "stddev": self.stddev}


class RandomUniform(RandomInitializer):
    """Samples uniformly from [minval, maxval)."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        self.minval, self.maxval = minval, maxval
        super().__init__(seed)

    def __call__(self, shape: Shape, dtype: Any = None) -> jax.Array:
        dtype = _float_dtype(dtype, type(self).__name__)
        return _sample(self._key(), "uniform", tuple(shape), dtype, self.minval, self.maxval)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed, "minval": self.minval, "maxval": self.maxval}


class VarianceScaling(RandomInitializer):
    """Samples with variance `scale / n`, n being fan_in, fan_out or their mean (`mode`).

    `distribution` is "truncated_normal" (alias "normal"; the stddev is corrected for
    the truncation), "untruncated_normal", or "uniform" (limit sqrt(3 * scale / n)).
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(
        self,
        scale: float = 1.0,
        mode: str = "fan_in",
        distribution: str = "truncated_normal",
        seed: int | None = None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ):
        if scale <= 0.0:
            raise ValueError(f"VarianceScaling expects a positive scale; got scale={scale}.")
        if mode not in self._MODES:
            raise ValueError(f"VarianceScaling expects mode to be one of {self._MODES}; got mode={mode!r}.")
        distribution = "truncated_normal" if distribution.lower() == "normal" else distribution.lower()
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(
                f"VarianceScaling expects distribution to be one of {self._DISTRIBUTIONS} (or 'normal'); "
                f"got distribution={distribution!r}."
            )
        self.scale, self.mode, self.distribution = scale, mode, distribution
        self.input_axes, self.output_axes = input_axes, output_axes
        super().__init__(seed)

    def __call__(self, shape: Shape, dtype: Any = None) -> jax.Array:
        dtype = _float_dtype(dtype, type(self).__name__)
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        shape = tuple(shape)
        if self.distribution == "truncated_normal":
            # 0.8796... is the stddev of a unit normal truncated to [-2, 2].
            stddev = math.sqrt(scale) / 0.87962566103423978
            return _sample(self._key(), "truncated_normal", shape, dtype, 0.0, stddev)
        if self.distribution == "untruncated_normal":
            return _sample(self._key(), "normal", shape, dtype, 0.0, math.sqrt(scale))
        limit = math.sqrt(3.0 * scale)
        return _sample(self._key(), "uniform", shape, dtype, -limit, limit)

    def get_config(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "input_axes": self.input_axes,
            "output_axes": self.output_axes,
        }


class _PresetVarianceScaling(VarianceScaling):
    """VarianceScaling with (scale, mode, distribution) fixed by the subclass."""

    _PRESET: tuple[float, str, str]

    def __init__(
        self,
        seed: int | None = None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ):
        scale, mode, distribution = self._PRESET
        super().__init__(scale, mode, distribution, seed, input_axes, output_axes)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}


class GlorotUniform(_PresetVarianceScaling):
    """Uniform in [-limit, limit], limit = sqrt(6 / (fan_in + fan_out)); the Keras default kernel init."""

    _PRESET = (1.0, "fan_avg", "uniform")


class GlorotNormal(_PresetVarianceScaling):
    """Truncated normal with stddev sqrt(2 / (fan_in + fan_out))."""

    _PRESET = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_PresetVarianceScaling):
    """Uniform in [-limit, limit], limit = sqrt(6 / fan_in); suits relu layers."""

    _PRESET = (2.0, "fan_in", "uniform")


class HeNormal(_PresetVarianceScaling):
    """Truncated normal with stddev sqrt(2 / fan_in); suits relu layers."""

    _PRESET = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_PresetVarianceScaling):
    """Uniform in [-limit, limit], limit = sqrt(3 / fan_in)."""

    _PRESET = (1.0, "fan_in", "uniform")


class LecunNormal(_PresetVarianceScaling):
    """Truncated normal with stddev sqrt(1 / fan_in); pairs with selu."""

    _PRESET = (1.0, "fan_in", "truncated_normal")


class Orthogonal(RandomInitializer):
    """`gain` times a random orthogonal matrix (rows or columns orthonormal), reshaped to `shape`."""

    def __init__(self, gain: float = 1.0, seed: int | None = None):
        self.gain = gain
        super().__init__(seed)

    def __call__(self, shape: Shape, dtype: Any = None) -> jax.Array:
        if len(shape) < 2:
            raise ValueError(
                f"Orthogonal needs a shape of rank >= 2; got shape={tuple(shape)} of rank {len(shape)}."
            )
        dtype = _float_dtype(dtype, type(self).__name__)
        return _orthogonal(self._key(), tuple(shape), dtype, self.gain)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed, "gain": self.gain}


def _orthogonal(key: list[int], shape: tuple[int, ...], dtype: str, gain: float) -> jax.Array:
    rows, cols = math.prod(shape[:-1]), shape[-1]
    # QR of a tall Gaussian matrix; fixing the signs by diag(r) makes q uniformly distributed.
    a = _generator(key).standard_normal(size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _to_device(gain * q.reshape(shape), dtype)


# --------------------------------------------------------------------------- lookup & serialization


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


_CLASSES: tuple[type[Initializer], ...] = (
    Constant, Zeros, Ones, Identity, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling,
    GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal, Orthogonal,
)  # fmt: skip
_BY_NAME: dict[str, type[Initializer]] = {
    **{cls.__name__: cls for cls in _CLASSES},
    **{_snake_case(cls.__name__): cls for cls in _CLASSES},
    # Aliases Keras accepts.
    "normal": RandomNormal,
    "uniform": RandomUniform,
    "one": Ones,
    "zero": Zeros,
    "IdentityInitializer": Identity,
    "OrthogonalInitializer": Orthogonal,
}


def _lookup(name: str) -> type[Initializer]:
    if name not in _BY_NAME:
        close = difflib.get_close_matches(name, _BY_NAME, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown initializer {name!r}.{hint} Valid names: {', '.join(sorted(_BY_NAME))}.")
    return _BY_NAME[name]


def get(identifier: Any) -> Callable[..., jax.Array] | None:
    """An initializer from a name, a {"class_name", "config"} dict, a class, an instance or a callable.

    Arrays are accepted too: the result returns that array (for the matching shape).

    >>> get("he_normal")
    HeNormal(seed=None, input_axes=None, output_axes=None)
    """
    if identifier is None:
        return None
    if isinstance(identifier, str):
        return _lookup(identifier)()
    if isinstance(identifier, dict):
        if "class_name" not in identifier:
            raise ValueError(
                'An initializer given as a dict needs a "class_name" (and optional "config"); '
                f"got {identifier!r}."
            )
        return _lookup(identifier["class_name"]).from_config(dict(identifier.get("config") or {}))
    if isinstance(identifier, (np.ndarray, jax.Array)):
        return _from_array(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(
        "An initializer must be a name such as 'glorot_uniform', a dict, an Initializer, or a callable "
        f"(shape, dtype=None) -> array; got {type(identifier).__name__}: {identifier!r}."
    )


def _from_array(value: np.ndarray | jax.Array) -> Callable[..., jax.Array]:
    def initialize(shape: Shape, dtype: Any = None) -> jax.Array:
        if tuple(shape) != tuple(value.shape):
            raise ValueError(
                f"This initializer returns a fixed array of shape {tuple(value.shape)}; "
                f"got shape={tuple(shape)}."
            )
        return jnp.asarray(value, dtype=ops.standardize_dtype(dtype))

    return initialize


def serialize(initializer: Initializer | None) -> dict[str, Any] | None:
    """{"class_name": ..., "config": ...} for an Initializer (None for None); `get` turns it back into one."""
    if initializer is None:
        return None
    if not isinstance(initializer, Initializer):
        raise TypeError(
            "serialize expects an Initializer instance (e.g. GlorotUniform()); "
            f"got {type(initializer).__name__}: {initializer!r}. Plain functions have no config to save."
        )
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}


def deserialize(config: dict[str, Any] | str) -> Callable[..., jax.Array] | None:
    """The initializer saved by `serialize` (the inverse of `serialize`)."""
    return get(config)

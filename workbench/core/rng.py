"""Random keys for initializers and stochastic layers.

Two sources exist. Outside any traced call a host-side global key is split on
every draw (seeded by `workbench.utils.set_random_seed`). Inside a
`stateless_call` the caller passes an explicit key and layers draw from it, so
the call stays a pure function of its arguments.
"""

from __future__ import annotations

import contextlib
import random as _py_random
import threading

import jax
import numpy as np

_state = threading.local()
_global = {"key": None, "host": None, "seed": None}


def set_global_seed(seed: int) -> None:
    """Seed Python, NumPy and the workbench's global JAX key."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"set_random_seed expects an int, got {type(seed).__name__}: {seed!r}")
    _py_random.seed(int(seed))
    np.random.seed(int(seed) % (2**32))
    _global["key"] = jax.random.key(int(seed))
    _global["host"] = np.random.default_rng(int(seed) % (2**64))
    _global["seed"] = int(seed)


def global_seed() -> int | None:
    """The seed last given to `set_random_seed`, or None when it was never called."""
    return _global["seed"]


def _global_next() -> jax.Array:
    if _global["key"] is None:
        _global["key"] = jax.random.key(np.random.SeedSequence().entropy % (2**63))
    _global["key"], sub = jax.random.split(_global["key"])
    return sub


class KeyScope:
    """Holds a (possibly traced) key that draws split deterministically."""

    def __init__(self, key: jax.Array | None):
        self.key = key

    def next(self) -> jax.Array:
        if self.key is None:
            raise ValueError(
                "A stochastic layer ran in training mode inside stateless_call without a key: "
                "pass rng=jax.random.key(seed) to stateless_call."
            )
        self.key, sub = jax.random.split(self.key)
        return sub


@contextlib.contextmanager
def key_scope(key: jax.Array | None):
    """Draws inside this block come from `key` instead of the global key."""
    stack = getattr(_state, "stack", None)
    if stack is None:
        stack = _state.stack = []
    scope = KeyScope(key)
    stack.append(scope)
    try:
        yield scope
    finally:
        stack.pop()


def next_key() -> jax.Array:
    """A fresh key: from the innermost `key_scope`, else from the global key."""
    stack = getattr(_state, "stack", None)
    if stack:
        return stack[-1].next()
    return _global_next()


def next_host_seed() -> list[int]:
    """Seed words for a host-side (NumPy) draw: from the innermost `key_scope`'s key, else from a
    host stream seeded with the global key, so building a model compiles no JAX random functions."""
    stack = getattr(_state, "stack", None)
    if stack:
        key = stack[-1].next()
        if isinstance(key, jax.core.Tracer):
            raise RuntimeError("Initializers run eagerly, when a layer is built; they cannot run inside jax.jit.")
        return [int(b) for b in np.asarray(jax.random.key_data(key)).ravel()]
    if _global["host"] is None:
        _global["host"] = np.random.default_rng()
    return [int(b) for b in _global["host"].integers(0, 2**32, size=4)]


def seed_words(seed: int) -> list[int]:
    """The seed words of `jax.random.key(seed)` (threefry's: high and low 32 bits), computed on the host."""
    seed = int(seed) % (2**64)
    return [(seed >> 32) & 0xFFFFFFFF, seed & 0xFFFFFFFF]


def key_from_seed(seed: int | None) -> jax.Array:
    """A key for an explicit int seed, or a fresh global draw for None."""
    if seed is None:
        return next_key()
    return jax.random.key(int(seed))

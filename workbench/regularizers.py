"""Weight regularizers (Keras names): penalties added to the training loss."""

from __future__ import annotations

import jax.numpy as jnp

from workbench.core.variable import Variable


def _value(x):
    return x.value if isinstance(x, Variable) else jnp.asarray(x)


class Regularizer:
    """Base class: `reg(weight) -> scalar penalty`."""

    def __call__(self, x):
        return 0.0

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        x = _value(x)
        out = 0.0
        if self.l1:
            out = out + self.l1 * jnp.sum(jnp.abs(x))
        if self.l2:
            out = out + self.l2 * jnp.sum(jnp.square(x))
        return out

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1: float = 0.01):
        super().__init__(l1=l1)

    def get_config(self) -> dict:
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2: float = 0.01):
        super().__init__(l2=l2)

    def get_config(self) -> dict:
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Penalises non-orthogonality of the rows (or columns) of a 2-D weight."""

    def __init__(self, factor: float = 0.01, mode: str = "rows"):
        if mode not in ("rows", "columns"):
            raise ValueError(f"mode must be 'rows' or 'columns', got {mode!r}.")
        self.factor, self.mode = float(factor), mode

    def __call__(self, x):
        x = _value(x)
        if x.ndim != 2:
            raise ValueError(f"OrthogonalRegularizer expects a 2-D weight, got shape {x.shape}.")
        if self.mode == "columns":
            x = x.T
        x = x / jnp.maximum(jnp.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        size = x.shape[0]
        prod = x @ x.T
        off = prod - jnp.eye(size, dtype=x.dtype)
        return self.factor * jnp.sum(jnp.abs(off)) / (size * (size - 1))

    def get_config(self) -> dict:
        return {"factor": self.factor, "mode": self.mode}


l1, l2, l1_l2 = L1, L2, L1L2
_NAMES = {"l1": L1, "l2": L2, "l1_l2": L1L2, "orthogonal_regularizer": OrthogonalRegularizer}
_CLASSES = {c.__name__: c for c in (L1, L2, L1L2, OrthogonalRegularizer)}


def get(identifier):
    """Resolve None, a name ('l2'), a config dict or a callable into a regularizer."""
    if identifier is None or callable(identifier):
        return identifier
    if isinstance(identifier, str):
        if identifier not in _NAMES:
            raise ValueError(f"Unknown regularizer {identifier!r}; expected one of {sorted(_NAMES)}.")
        return _NAMES[identifier]()
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        if name not in _CLASSES:
            raise ValueError(f"Unknown regularizer class {name!r}; expected one of {sorted(_CLASSES)}.")
        return _CLASSES[name].from_config(identifier.get("config", {}))
    raise TypeError(f"Cannot interpret {identifier!r} as a regularizer.")


def serialize(reg):
    if reg is None:
        return None
    if not isinstance(reg, Regularizer):
        raise ValueError(f"Cannot serialise regularizer {reg!r}: only workbench.regularizers classes are.")
    return {"class_name": type(reg).__name__, "config": reg.get_config()}

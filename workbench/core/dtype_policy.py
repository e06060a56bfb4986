"""Dtype policies: the dtype variables are stored in and the dtype layers compute in.

`"mixed_bfloat16"` keeps float32 variables and computes in bfloat16, as Keras does.
"""

from __future__ import annotations

import jax.numpy as jnp

_FLOATS = ("float16", "bfloat16", "float32", "float64")


class DTypePolicy:
    """A named pair (variable_dtype, compute_dtype).

    >>> DTypePolicy("mixed_bfloat16").compute_dtype
    'bfloat16'
    """

    def __init__(self, name: str = "float32"):
        if isinstance(name, DTypePolicy):
            name = name.name
        if not isinstance(name, str):
            name = jnp.dtype(name).name
        if name.startswith("mixed_"):
            compute = name[len("mixed_") :]
            if compute not in ("float16", "bfloat16"):
                raise ValueError(
                    f"Mixed dtype policy must be 'mixed_float16' or 'mixed_bfloat16', got {name!r}."
                )
            self._variable, self._compute = "float32", compute
        else:
            try:
                canonical = jnp.dtype(name).name
            except TypeError as e:
                raise ValueError(
                    f"Unknown dtype policy {name!r}: expected a dtype name such as 'float32', "
                    "or 'mixed_float16' / 'mixed_bfloat16'."
                ) from e
            self._variable = self._compute = canonical
        self.name = name

    @property
    def variable_dtype(self) -> str:
        return self._variable

    @property
    def compute_dtype(self) -> str:
        return self._compute

    def get_config(self) -> dict:
        return {"name": self.name}

    def __eq__(self, other) -> bool:
        return isinstance(other, DTypePolicy) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self.name}">'


_global_policy = {"policy": DTypePolicy("float32")}


def set_dtype_policy(policy: str | DTypePolicy) -> None:
    """Set the policy every new layer gets when it is not given `dtype=`."""
    _global_policy["policy"] = DTypePolicy(policy)


def dtype_policy() -> DTypePolicy:
    """The global dtype policy."""
    return _global_policy["policy"]


def get(dtype) -> DTypePolicy:
    """Resolve a layer's `dtype=` argument (None, name, DTypePolicy or config dict)."""
    if dtype is None:
        return dtype_policy()
    if isinstance(dtype, DTypePolicy):
        return dtype
    if isinstance(dtype, dict):
        cfg = dtype.get("config", dtype)
        return DTypePolicy(cfg["name"])
    return DTypePolicy(dtype)


def is_float(dtype) -> bool:
    return jnp.issubdtype(jnp.dtype(dtype), jnp.floating)

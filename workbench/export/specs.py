"""What an exported signature takes and returns: `TensorSpec` and `Signature`.

A shape entry is an int (a fixed size), None (a size chosen at call time) or
a string naming a size shared between tensors ("seq" in two inputs means
both have the same length). With `batch="dynamic"` the leading None of every
input is the symbolic dimension "batch".
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import numpy as np

_SYMBOL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NAME = re.compile(r"^[A-Za-z0-9_.\-/:]+$")


def _dtype_name(dtype) -> str:
    import jax.numpy as jnp

    try:
        return jnp.dtype(dtype).name
    except TypeError:
        raise TypeError(f"Expected a dtype such as 'float32' or 'int32', got {dtype!r}.") from None


@dataclasses.dataclass(frozen=True)
class TensorSpec:
    """The shape and dtype of one named input or output.

    >>> TensorSpec((None, 8), "float32", name="x")
    TensorSpec(shape=(None, 8), dtype='float32', name='x')
    """

    shape: tuple
    dtype: str = "float32"
    name: str | None = None

    def __post_init__(self):
        shape = []
        for d in tuple(self.shape):
            if d is None or isinstance(d, str):
                if isinstance(d, str) and not _SYMBOL.match(d):
                    raise ValueError(f"A symbolic dimension is named like a Python identifier; got {d!r}.")
                shape.append(d)
            elif isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 0:
                shape.append(int(d))
            else:
                raise ValueError(f"A shape entry is an int >= 0, None or a dimension name; got {d!r} in {self.shape}.")
        object.__setattr__(self, "shape", tuple(shape))
        object.__setattr__(self, "dtype", _dtype_name(self.dtype))
        if self.name is not None and not _NAME.match(self.name):
            raise ValueError(
                f"Tensor names use letters, digits and _ . - / : only (they become JSON keys and URLs); "
                f"got {self.name!r}."
            )

    def to_json(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}

    @classmethod
    def from_json(cls, data: dict) -> TensorSpec:
        return cls(tuple(data["shape"]), data["dtype"], data["name"])

    @property
    def batched(self) -> bool:
        return bool(self.shape) and self.shape[0] == "batch"


@dataclasses.dataclass(frozen=True)
class Signature:
    """One exported entry point: `fn(model, *inputs)` over inputs of the given specs.

    `fn=None` calls the model itself (inference mode); `inputs=None` takes the
    model's own inputs; `output_names` names the outputs in the order `fn`
    returns them (flattened), else they are named after the model's output
    layers, or `output_0`, `output_1`, ...

    >>> import jax
    >>> probs = Signature(fn=lambda model, x: jax.nn.softmax(model(x)))
    """

    inputs: Any = None
    fn: Callable | None = None
    output_names: tuple[str, ...] | None = None


def as_signature(value) -> Signature:
    """A `signatures=` entry as a Signature: a Signature, a callable, or input specs."""
    if isinstance(value, Signature):
        return value
    if callable(value) and not isinstance(value, TensorSpec):
        return Signature(fn=value)
    if isinstance(value, (TensorSpec, list, tuple, dict)):
        return Signature(inputs=value)
    raise TypeError(
        "Each signatures= entry is a workbench.export.Signature, a function fn(model, *inputs) or the "
        f"input TensorSpecs; got {type(value).__name__}."
    )


def flatten_specs(inputs) -> tuple[list[TensorSpec], Any]:
    """The specs of `inputs` (a spec, list or dict of specs) in order, named, and how to rebuild the structure.

    The structure is "single", a list length, or the dict keys; unnamed specs
    are named `input_0`, `input_1`, ... and dict entries by their key.
    """
    if isinstance(inputs, TensorSpec):
        return [inputs if inputs.name else dataclasses.replace(inputs, name="input_0")], "single"
    if isinstance(inputs, dict):
        specs = []
        for key, spec in inputs.items():
            _check_spec(spec, key)
            specs.append(dataclasses.replace(spec, name=str(key)))
        return specs, list(inputs)
    if isinstance(inputs, (list, tuple)):
        specs = []
        for i, spec in enumerate(inputs):
            _check_spec(spec, i)
            specs.append(spec if spec.name else dataclasses.replace(spec, name=f"input_{i}"))
        return specs, len(specs)
    raise TypeError(f"Signature inputs are a TensorSpec, or a list or dict of them; got {type(inputs).__name__}.")


def _check_spec(spec, where) -> None:
    if not isinstance(spec, TensorSpec):
        raise TypeError(f"Signature input {where!r} must be a workbench.export.TensorSpec, got {type(spec).__name__}.")


def rebuild(structure, arrays: list):
    """Arrays in spec order back in the structure `flatten_specs` reported."""
    if structure == "single":
        return arrays[0]
    if isinstance(structure, list):
        return dict(zip(structure, arrays))
    return list(arrays)


def check_unique(specs: list[TensorSpec], what: str, signature: str) -> None:
    names = [s.name for s in specs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"Signature '{signature}' has {what} names that repeat: {repeated}. Names must be unique.")

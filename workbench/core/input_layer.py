"""InputLayer and `Input`: the entry points of a functional graph."""

from __future__ import annotations

import jax.numpy as jnp

from workbench.core import symbolic
from workbench.core.layer import Layer


class InputLayer(Layer):
    """Holds the symbolic tensor that `Input(shape)` returns; has no weights."""

    def __init__(self, shape=None, batch_size=None, dtype=None, batch_shape=None, name=None,
                 sparse=None, input_tensor=None, optional=False, **kwargs):
        kwargs.pop("input_shape", None)
        super().__init__(name=name, **kwargs)
        if sparse:
            raise ValueError("Sparse inputs are not supported: pass dense arrays.")
        if shape is not None and batch_shape is not None:
            raise ValueError(
                f"InputLayer takes `shape` or `batch_shape`, not both (got shape={shape}, "
                f"batch_shape={batch_shape})."
            )
        if batch_shape is None:
            if shape is None:
                raise ValueError("InputLayer needs `shape` (without the batch dimension) or `batch_shape`.")
            if isinstance(shape, int):
                shape = (shape,)
            batch_shape = (batch_size,) + tuple(shape)
        self.batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self._input_dtype = jnp.dtype(dtype or "float32").name
        self.optional = optional
        self.built = True
        tensor = symbolic.KerasTensor(self.batch_shape, self._input_dtype, name=self.name)
        tensor._history = (self, 0, 0)
        self._inbound_nodes.append(symbolic.Node(self, (), {}, tensor))
        self.output = tensor

    @property
    def dtype(self) -> str:
        return self._input_dtype

    def call(self, inputs):
        return inputs

    def get_config(self) -> dict:
        return {
            "batch_shape": list(self.batch_shape),
            "dtype": self._input_dtype,
            "sparse": False,
            "name": self.name,
        }


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None,
          tensor=None, optional=False):
    """A symbolic input for the functional API: `x = Input(shape=(784,))`.

    `shape` excludes the batch dimension; None marks a dimension of any size.
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse,
                       batch_shape=batch_shape, name=name, optional=optional)
    return layer.output

"""Symbolic tensors for the functional API.

`Input(shape)` returns a `KerasTensor`: a shape and dtype with a history that
says which layer call produced it. Calling a layer on KerasTensors records a
`Node`; a Functional model is the graph of nodes between its inputs and outputs.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


class KerasTensor:
    """A placeholder with `shape` (None for unknown dims) and `dtype`."""

    def __init__(self, shape, dtype="float32", *, name: str | None = None, history=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = jnp.dtype(dtype).name
        self.name = name
        self._history = history  # (layer, node_index, tensor_index)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __array__(self, *a, **k):
        raise TypeError(
            "A symbolic KerasTensor (from workbench.Input) cannot be converted to an array. "
            "Use it only to build models: pass it to layers or workbench.ops functions."
        )

    def __bool__(self):
        raise TypeError("A symbolic KerasTensor has no truth value; use it to build a model.")

    def __hash__(self):
        return id(self)

    # Arithmetic on symbolic tensors records op layers in the graph.
    def _op(self, name, *args):
        from workbench.core.op_layer import symbolic_op

        return symbolic_op(name, *args)

    def __add__(self, o): return self._op("add", self, o)  # noqa: E704
    def __radd__(self, o): return self._op("add", o, self)  # noqa: E704
    def __sub__(self, o): return self._op("subtract", self, o)  # noqa: E704
    def __rsub__(self, o): return self._op("subtract", o, self)  # noqa: E704
    def __mul__(self, o): return self._op("multiply", self, o)  # noqa: E704
    def __rmul__(self, o): return self._op("multiply", o, self)  # noqa: E704
    def __truediv__(self, o): return self._op("divide", self, o)  # noqa: E704
    def __rtruediv__(self, o): return self._op("divide", o, self)  # noqa: E704
    def __matmul__(self, o): return self._op("matmul", self, o)  # noqa: E704
    def __rmatmul__(self, o): return self._op("matmul", o, self)  # noqa: E704
    def __pow__(self, o): return self._op("power", self, o)  # noqa: E704
    def __neg__(self): return self._op("negative", self)  # noqa: E704
    def __abs__(self): return self._op("abs", self)  # noqa: E704
    def __getitem__(self, idx): return self._op("getitem", self, idx)  # noqa: E704


class Node:
    """One call of `layer` on symbolic arguments, producing `outputs`."""

    def __init__(self, layer, args: tuple, kwargs: dict, outputs):
        self.layer = layer
        self.args = args
        self.kwargs = kwargs
        self.outputs = outputs
        self.output_tensors = tree_keras_tensors(outputs)
        self.input_tensors = tree_keras_tensors((args, kwargs))

    @property
    def parent_nodes(self) -> list[Node]:
        out = []
        for t in self.input_tensors:
            layer, node_index, _ = t._history
            out.append(layer._inbound_nodes[node_index])
        return out


def is_keras_tensor(x) -> bool:
    return isinstance(x, KerasTensor)


def _is_leaf(x):
    return isinstance(x, KerasTensor) or x is None


def tree_keras_tensors(tree) -> list[KerasTensor]:
    return [x for x in jax.tree_util.tree_leaves(tree, is_leaf=_is_leaf) if isinstance(x, KerasTensor)]


def any_symbolic(tree) -> bool:
    return bool(tree_keras_tensors(tree))


def map_keras_tensors(fn, tree):
    """Apply fn to every KerasTensor in a pytree, leaving other leaves as they are."""
    return jax.tree_util.tree_map(lambda x: fn(x) if isinstance(x, KerasTensor) else x, tree, is_leaf=_is_leaf)


_PROBE_SIZES = (83, 89)  # two sizes stand in for unknown dims; dims that follow them stay unknown


def _struct(kt: KerasTensor, fill: int):
    return jax.ShapeDtypeStruct(tuple(fill if d is None else d for d in kt.shape), kt.dtype)


def eval_output_spec(fn, args, kwargs):
    """Output KerasTensors of fn(*args, **kwargs) with KerasTensor arguments, by tracing only.

    Unknown (None) dims are traced at two different sizes; an output dim that
    differs between the two traces is unknown in the result.
    """
    # Only the KerasTensors are traced; every other argument (flags such as
    # use_causal_mask=True, Python numbers) is passed through as it is.
    leaves, treedef = jax.tree_util.tree_flatten((args, kwargs), is_leaf=_is_leaf)
    positions = [i for i, x in enumerate(leaves) if isinstance(x, KerasTensor)]

    def call(*traced):
        full = list(leaves)
        for i, x in zip(positions, traced):
            full[i] = x
        a, k = jax.tree_util.tree_unflatten(treedef, full)
        return fn(*a, **k)

    unknown = any(d is None for i in positions for d in leaves[i].shape)
    sizes = _PROBE_SIZES if unknown else _PROBE_SIZES[:1]
    outs = [jax.eval_shape(call, *[_struct(leaves[i], fill) for i in positions]) for fill in sizes]

    def merge(*structs):
        shapes = [s.shape for s in structs]
        dims = tuple(d if all(s[i] == d for s in shapes) else None for i, d in enumerate(shapes[0]))
        return KerasTensor(dims, structs[0].dtype)

    return jax.tree_util.tree_map(merge, *outs)


def concrete_zeros(kt: KerasTensor, fill: int = 1):
    shape = tuple(fill if d is None else d for d in kt.shape)
    return jnp.zeros(shape, kt.dtype)


def shape_of(x) -> tuple:
    if isinstance(x, (KerasTensor, jax.ShapeDtypeStruct)):
        return tuple(x.shape)
    return tuple(np.shape(x))

"""OpLayer: records a `workbench.ops` function applied to symbolic tensors.

`x + y`, `x[:, 0]` or `ops.mean(x, axis=1)` on functional-API tensors become
OpLayer nodes, so such graphs serialise by op name (never by code).
"""

from __future__ import annotations

from workbench.core import symbolic
from workbench.core.layer import Layer


def _encode_index(idx):
    if isinstance(idx, tuple):
        return {"tuple": [_encode_index(i) for i in idx]}
    if isinstance(idx, slice):
        return {"slice": [idx.start, idx.stop, idx.step]}
    if idx is None:
        return {"newaxis": True}
    if idx is Ellipsis:
        return {"ellipsis": True}
    if isinstance(idx, int):
        return idx
    raise TypeError(f"Symbolic tensors support indexing by ints, slices, None and ..., got {idx!r}.")


def _decode_index(idx):
    if isinstance(idx, dict):
        if "tuple" in idx:
            return tuple(_decode_index(i) for i in idx["tuple"])
        if "slice" in idx:
            return slice(*idx["slice"])
        if "newaxis" in idx:
            return None
        if "ellipsis" in idx:
            return Ellipsis
    return idx


class OpLayer(Layer):
    """Applies `workbench.ops.<op>` to its tensor arguments; constant arguments live in the config."""

    def __init__(self, op: str, arguments=None, **kwargs):
        super().__init__(**kwargs)
        from workbench import ops

        if op != "getitem" and not callable(getattr(ops, op, None)):
            raise ValueError(f"OpLayer: unknown op {op!r}; it must name a function in workbench.ops.")
        self.op = op
        self.arguments = arguments or {}
        self.built = True

    def call(self, *tensors, **kwargs):
        from workbench import ops

        if self.op == "getitem":
            return tensors[0][_decode_index(self.arguments["index"])]
        return getattr(ops, self.op)(*tensors, **self.arguments)

    def get_config(self):
        return {**super().get_config(), "op": self.op, "arguments": self.arguments}


def _tensor_arg(a) -> bool:
    if symbolic.is_keras_tensor(a):
        return True
    return isinstance(a, (list, tuple)) and bool(a) and all(symbolic.is_keras_tensor(t) for t in a)


def symbolic_op(name: str, *args, **kwargs):
    """Apply ops.<name> to args containing KerasTensors by adding an OpLayer node."""
    from workbench.core import naming

    if name == "getitem":
        tensor, index = args
        layer = OpLayer("getitem", {"index": _encode_index(index)}, name=naming.unique_name("getitem"))
        return layer(tensor)
    if symbolic.any_symbolic(kwargs):
        raise TypeError(
            f"ops.{name}: pass symbolic tensors as positional arguments when building a model; "
            f"got them in keyword arguments {sorted(k for k, v in kwargs.items() if symbolic.any_symbolic(v))}."
        )
    consts = {}
    for i, a in enumerate(args):
        if _tensor_arg(a):
            continue
        if isinstance(a, (int, float, bool)) or a is None:
            consts[str(i)] = a
            continue
        raise TypeError(
            f"ops.{name} on symbolic tensors takes tensors, lists of tensors or Python numbers as "
            f"positional arguments; argument {i} is {type(a).__name__}."
        )
    tensors = [a for a in args if _tensor_arg(a)]
    if consts:
        layer = _ConstOpLayer(name, {"constants": consts, "kwargs": kwargs}, name=naming.unique_name(name))
    else:
        layer = OpLayer(name, kwargs, name=naming.unique_name(name))
    return layer(*tensors)


class _ConstOpLayer(OpLayer):
    """An OpLayer whose op also takes Python-number arguments at fixed positions."""

    def call(self, *tensors):
        from workbench import ops

        consts = {int(k): v for k, v in self.arguments["constants"].items()}
        it = iter(tensors)
        n = len(tensors) + len(consts)
        args = [consts[i] if i in consts else next(it) for i in range(n)]
        return getattr(ops, self.op)(*args, **self.arguments.get("kwargs", {}))

"""Symbolic dispatch: an op called on functional-API tensors records a graph node instead of computing.

On the `KerasTensor`s that `workbench.Input` makes, `ops.mean(x, axis=1)` adds an
`OpLayer` node (see `workbench.core.op_layer`), so a model built with ops works
and serialises by op name. `workbench/ops/__init__.py` installs the dispatch once
every op is imported.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

from workbench.core import symbolic as _symbolic

# Never recorded as graph nodes: questions about an input (its dtype, its shape) and
# control flow, whose arguments are Python callables.
_NOT_SYMBOLIC = {
    "standardize_dtype",
    "dtype",
    "result_type",
    "convert_to_numpy",
    "is_tensor",
    "shape",
    "ndim",
    "size",
    "cond",
    "scan",
    "fori_loop",
    "while_loop",
}


def symbolic_aware(fn: Callable) -> Callable:
    """`fn`, except that a call with a symbolic tensor among its arguments records an OpLayer node."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if _symbolic.any_symbolic((args, kwargs)):
            from workbench.core.op_layer import symbolic_op

            return symbolic_op(fn.__name__, *args, **kwargs)
        return fn(*args, **kwargs)

    return wrapper


def install(namespace: dict[str, Any], modules: Iterable[ModuleType]) -> None:
    """Wrap every public op in `namespace` (that of `workbench.ops`) with `symbolic_aware`.

    An op is a public function whose `__module__` is the package itself. Each
    function is wrapped once, so aliases (`swish = silu`) keep sharing one
    function. The wrappers also replace the ops in `modules`, where they are
    written, so that an op calling another (`dtype` calls `convert_to_tensor`)
    goes through the dispatch as it did when the ops were one module.
    """
    wrapped: dict[int, Callable] = {}  # id of the original function -> its wrapper
    for name, fn in list(namespace.items()):
        if (
            not name.startswith("_")
            and name not in _NOT_SYMBOLIC
            and inspect.isfunction(fn)
            and fn.__module__ == namespace["__name__"]
        ):
            if id(fn) not in wrapped:
                wrapped[id(fn)] = symbolic_aware(fn)
            namespace[name] = wrapped[id(fn)]
    for module in modules:
        for name, value in list(vars(module).items()):
            if id(value) in wrapped:
                setattr(module, name, wrapped[id(value)])

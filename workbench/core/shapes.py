"""Shapes of call arguments, as `build` receives them and build configs store them."""

from __future__ import annotations

import inspect

from workbench.core import symbolic


def shape_tree(x):
    """Shapes of the arrays in x, with the same nesting (a tuple for one array)."""
    if isinstance(x, (list, tuple)) and not hasattr(x, "shape"):
        return type(x)(shape_tree(v) for v in x) if isinstance(x, list) else tuple(shape_tree(v) for v in x)
    if isinstance(x, dict):
        return {k: shape_tree(v) for k, v in x.items()}
    if x is None:
        return None
    return symbolic.shape_of(x)



PARAMS_CACHE: dict = {}


def call_params(cls) -> tuple:
    params = PARAMS_CACHE.get(cls)
    if params is None:
        params = PARAMS_CACHE[cls] = tuple(inspect.signature(cls.call).parameters)
    return params


def build_shapes(layer, args, kwargs):
    """Shapes for `build`: the first argument's, or a `<name>_shape` dict for multi-input builds."""
    build_params = [
        p for p in inspect.signature(type(layer).build).parameters.values()
        if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    if len(build_params) > 1 and all(p.name.endswith("_shape") for p in build_params):
        call_names = [p for p in call_params(type(layer)) if p != "self"]
        bound = dict(zip(call_names, args))
        bound.update(kwargs)
        shapes = {}
        for p in build_params:
            arg = bound.get(p.name[: -len("_shape")])
            if arg is not None:
                shapes[p.name] = shape_tree(arg)
        return shapes
    return shape_tree(args[0]) if args else None


def jsonable_shapes(shapes):
    if isinstance(shapes, dict):
        return {k: jsonable_shapes(v) for k, v in shapes.items()}
    if isinstance(shapes, (list, tuple)) and shapes and isinstance(shapes[0], (list, tuple, dict)):
        return [jsonable_shapes(s) for s in shapes]
    return None if shapes is None else list(shapes)


def tuple_shapes(shapes):
    if isinstance(shapes, dict):
        return {k: tuple_shapes(v) for k, v in shapes.items()}
    if isinstance(shapes, list) and shapes and isinstance(shapes[0], (list, dict)):
        return [tuple_shapes(s) for s in shapes]
    return None if shapes is None else tuple(shapes)


def spec(shapes):
    if isinstance(shapes, list):
        return [spec(s) for s in shapes]
    if isinstance(shapes, dict):
        return {k: spec(v) for k, v in shapes.items()}
    return symbolic.KerasTensor(shapes)


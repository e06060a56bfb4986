"""One signature of a model as a `jax.export` program: `program(weights, *inputs) -> outputs`.

The weights are the program's first argument, a list in the manifest's order,
never constants folded into it: the program stays small, the weights stay
in a file that runs no code, and one program serves any weights of the same
shapes. Symbolic dimensions (the batch, or any named size) make one program
serve every size; each new size compiles once when it is first called.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import jax
import numpy as np
from jax import export as jax_export

from workbench.export.specs import Signature, TensorSpec, check_unique, flatten_specs, rebuild


@dataclasses.dataclass
class BuiltSignature:
    name: str
    fn: Callable  # fn(weights list, *inputs) -> tuple of outputs, a pure JAX function
    exported: jax_export.Exported
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    batch: object

    @property
    def serialized(self) -> bytes:
        return bytes(self.exported.serialize())

    @property
    def calling_convention_version(self) -> int:
        return int(self.exported.calling_convention_version)

    def run(self, weights: list, inputs: dict) -> dict:
        """The exported program (not the Python model) on `inputs`, as {output name: array}."""
        out = jax.jit(self.exported.call)(weights, *[inputs[s.name] for s in self.inputs])
        return {s.name: np.asarray(v) for s, v in zip(self.outputs, out)}


def flat_weights(model) -> list[tuple[str, np.ndarray]]:
    """The model's variables as (name, array) in a fixed order: 'trainable/<path>', then 'non_trainable/<path>'."""
    variables = model.get_variables()
    out = []
    for section in ("trainable", "non_trainable"):
        for path, value in variables[section].items():
            out.append((f"{section}/{path}", np.asarray(value)))
    return out


def _default_inputs(model):
    """The model's own inputs as TensorSpecs: Input() tensors, or the shapes it was built with."""
    inputs = getattr(model, "_inputs_struct", None)
    if inputs is None and getattr(model, "_functional", None) is not None:
        inputs = model._functional._inputs_struct
    if inputs is not None:
        def spec(t):
            return TensorSpec(t.shape, t.dtype, t.name)

        from workbench.core import symbolic

        return jax.tree_util.tree_map(spec, inputs, is_leaf=symbolic.is_keras_tensor)
    shapes = getattr(model, "_build_shapes", None)
    if shapes is None:
        raise ValueError(
            f"Model '{model.name}' has no known input shapes: call it on data before export(), or pass "
            "signatures={'serving_default': workbench.export.TensorSpec((None, ...), 'float32')}."
        )
    if isinstance(shapes, dict):  # a subclassed model built from keyword arguments
        shapes = shapes.get("inputs", shapes.get("input_shape", shapes))
    is_shape = lambda s: isinstance(s, tuple) and all(d is None or isinstance(d, int) for d in s)  # noqa: E731
    specs = jax.tree_util.tree_map(lambda s: TensorSpec((None,) + tuple(s)[1:]), shapes, is_leaf=is_shape)
    return specs


def _output_names(model, out, given) -> list[str]:
    leaves_with_path = jax.tree_util.tree_flatten_with_path(out)[0]
    if given is not None:
        if len(given) != len(leaves_with_path):
            raise ValueError(f"output_names has {len(given)} names, but the signature returns {len(leaves_with_path)} "
                             "arrays.")
        return [str(n) for n in given]
    if isinstance(out, dict):
        return [jax.tree_util.keystr(p).strip("[]'\"").replace("']['", "/") for p, _ in leaves_with_path]
    tensors = getattr(model, "_output_tensors", None)
    if tensors is None and getattr(model, "_functional", None) is not None:
        tensors = model._functional._output_tensors
    if tensors is not None and len(tensors) == len(leaves_with_path):
        names = [t._history[0].name for t in tensors]
        if len(set(names)) == len(names):
            return names
    return [f"output_{i}" for i in range(len(leaves_with_path))]


def _symbolic_specs(specs: list[TensorSpec], batch) -> list[TensorSpec]:
    """Every None size named: the leading one 'batch' (or fixed to `batch`), the others '<input>_<axis>'."""
    out = []
    for spec in specs:
        shape = list(spec.shape)
        for axis, d in enumerate(shape):
            if d is None:
                if axis == 0:
                    shape[0] = "batch" if batch == "dynamic" else int(batch)
                else:  # a Python identifier: input names may hold / . - : and start with a digit
                    name = re.sub(r"\W", "_", f"{spec.name}_{axis}")
                    shape[axis] = name if name[0].isalpha() else f"d_{name}"
        out.append(dataclasses.replace(spec, shape=tuple(shape)))
    return out


def _abstract(specs: list[TensorSpec]) -> list[jax.ShapeDtypeStruct]:
    names = sorted({d for s in specs for d in s.shape if isinstance(d, str)})
    symbols = dict(zip(names, jax_export.symbolic_shape(", ".join(names)))) if names else {}
    return [jax.ShapeDtypeStruct(tuple(symbols.get(d, d) for d in s.shape), s.dtype) for s in specs]


def _output_spec(name: str, aval) -> TensorSpec:
    shape = []
    for d in aval.shape:
        if isinstance(d, int):
            shape.append(d)
        else:
            text = str(d)
            shape.append(text if text.isidentifier() else None)
    return TensorSpec(tuple(shape), aval.dtype.name, name)


def export_signature(model, name: str, sig: Signature, weights: list, platforms, batch) -> BuiltSignature:
    """Trace and export one signature; the weights become the program's first argument."""
    from workbench.core import context
    from workbench.core.rng import key_scope
    from workbench.core.variable import stateless_scope

    specs, structure = flatten_specs(sig.inputs if sig.inputs is not None else _default_inputs(model))
    specs = _symbolic_specs(specs, batch)
    check_unique(specs, "input", name)
    names = [n for n, _ in weights]
    by_path = dict(model._variable_paths())
    traced = {}

    def fn(values, *inputs):
        variables = {"trainable": {}, "non_trainable": {}}
        for n, v in zip(names, values):
            section, _, path = n.partition("/")
            variables[section][path] = v
        x = rebuild(structure, list(inputs))
        if sig.fn is None:
            out = model.stateless_call(variables, x, training=False)[0]
        else:
            mapping = {id(by_path[n.partition("/")[2]]): v for n, v in zip(names, values)}
            with stateless_scope(mapping), key_scope(None), context.call_context(False):
                if structure == "single":
                    out = sig.fn(model, x)
                elif isinstance(structure, list):
                    out = sig.fn(model, **x)
                else:
                    out = sig.fn(model, *x)
        traced["out"] = jax.tree_util.tree_map(lambda a: 0, out)
        return tuple(jax.tree_util.tree_leaves(out))

    weight_avals = [jax.ShapeDtypeStruct(np.shape(w), np.asarray(w).dtype) for _, w in weights]
    try:
        with context.portable_scope():
            exported = jax_export.export(jax.jit(fn), platforms=tuple(platforms))(weight_avals, *_abstract(specs))
    except Exception as e:
        e.add_note(f"While exporting signature '{name}' for platforms {list(platforms)}; "
                   "platforms=('cpu',) narrows the export when only one platform fails.")
        raise
    out_names = _output_names(model, traced["out"], sig.output_names)
    outputs = [_output_spec(n, aval) for n, aval in zip(out_names, exported.out_avals)]
    check_unique(outputs, "output", name)
    return BuiltSignature(name, fn, exported, specs, outputs, batch)

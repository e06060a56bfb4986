"""Per-layer costs: the FLOPs and bytes XLA counts for each layer's computation.

`layer_costs(model, sample_batch)` traces the model once, abstractly, to see
what each top-level layer is called with; then it lowers and compiles every
such call on its own, forward and forward+backward, and reads XLA's cost
analysis. The whole model is costed the same way, as one computation, so the
sum of the layers can be checked against it: a gap is work done outside
layer calls (ops a subclassed model's `call` applies itself) or work XLA
simplifies away across layer boundaries.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from workbench.core import context


class Cost(NamedTuple):
    """XLA's cost analysis of one compiled computation."""

    flops: float
    bytes_accessed: float


class Costs(NamedTuple):
    """A forward pass, and the forward pass together with its backward pass."""

    forward: Cost
    forward_backward: Cost


class LayerCost(NamedTuple):
    """One layer call. `name` is the layer's name, with "(call n)" added for a layer called more than once;
    the shares are fractions of the layers' total FLOPs."""

    name: str
    layer_name: str
    class_name: str
    params: int
    output_shape: Any
    forward: Cost
    forward_backward: Cost
    forward_share: float
    forward_backward_share: float


@dataclasses.dataclass
class LayerCosts:
    """What `layer_costs` measured: a row per top-level layer call, their sum, and the whole model.

    `print(costs)` shows a table; `costs.to_dict()` is JSON for a run folder or a notebook panel.
    """

    model_name: str
    batch_size: int | None
    training: bool
    rows: list[LayerCost]
    total: Costs
    model: Costs

    def to_dict(self) -> dict:
        """The rows, the sum of the layers ("total") and the whole model ("model") as plain JSON types."""

        def costs(c):
            return {"forward": c.forward._asdict(), "forward_backward": c.forward_backward._asdict()}

        return {
            "model_name": self.model_name,
            "batch_size": self.batch_size,
            "training": self.training,
            "rows": [
                {**r._asdict(), "output_shape": _jsonable(r.output_shape), "forward": r.forward._asdict(),
                 "forward_backward": r.forward_backward._asdict()}
                for r in self.rows
            ],
            "total": costs(self.total),
            "model": costs(self.model),
        }

    def __str__(self) -> str:
        mode = "training" if self.training else "inference"
        header = ["Layer (type)", "Output shape", "Params", "Fwd FLOPs", "%", "Fwd bytes",
                  "Fwd+bwd FLOPs", "%", "Fwd+bwd bytes"]

        def cells(label, shape, params, c, share_f=None, share_fb=None):
            forward, both = c.forward, c.forward_backward
            return [label, shape, params,
                    _si(forward.flops), _percent(share_f), _si(forward.bytes_accessed, "B"),
                    _si(both.flops), _percent(share_fb), _si(both.bytes_accessed, "B")]

        body = [
            cells(f"{r.name} ({r.class_name})", _shape_str(r.output_shape), f"{r.params:,}",
                  Costs(r.forward, r.forward_backward), r.forward_share, r.forward_backward_share)
            for r in self.rows
        ]
        foot = [cells("Sum of layers", "", "", self.total, 1.0, 1.0),
                cells("Whole model", "", "", self.model)]
        widths = [max(len(row[i]) for row in [header, *body, *foot]) for i in range(len(header))]

        def line(row):
            aligned = (c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
            return "  ".join(aligned).rstrip()

        rule = "-" * len(line(header))
        lines = [f'Costs of model "{self.model_name}" per batch of {self.batch_size}, {mode} '
                 "(XLA's cost analysis)", line(header), rule, *map(line, body), rule, *map(line, foot)]
        return "\n".join(lines)


def layer_costs(model, sample_batch=None, *, training: bool = False) -> LayerCosts:
    """FLOPs and bytes accessed of each top-level layer call of `model`, forward and forward+backward.

    `sample_batch` is an array, or a pytree of arrays, shaped like the model's inputs; only shapes and
    dtypes are read, so `jax.ShapeDtypeStruct`s do as well. Costs grow with the batch, so a few samples
    suffice and the batch size used is reported. Left out, it is a batch of one built from the model's
    input shapes.

    Top-level layers are the ones the model's own `call` invokes (for Sequential and functional models,
    `model.layers`); a layer called twice gives two rows. Forward+backward differentiates with respect to
    the layer's trainable weights and its floating-point inputs. Figures are XLA's own counts for the
    default backend, e.g. 2*M*N*K FLOPs for an (M, K) @ (K, N) matmul and one per element for an add;
    transcendental functions (exp, tanh) are not in the FLOPs. Layers with hand-written kernels are costed
    on their XLA reference path, since a kernel is opaque to XLA's cost analysis.

    >>> costs = layer_costs(model, x_train[:8])          # doctest: +SKIP
    >>> print(costs)                                     # doctest: +SKIP
    """
    batch = _batch_of_one(model) if sample_batch is None else _specs(sample_batch, strict=True)
    if not model.built:
        raise ValueError(
            f"layer_costs: model '{model.name}' is not built yet, so it has no weights to cost: call it once "
            "on data (model(sample_batch)) first."
        )
    variables = _specs(model.get_variables())
    with context.portable_scope():
        calls = _top_level_calls(model, variables, batch, training)
        model_costs = _call_costs(model, (batch,), {}, training)
        measured = [_call_costs(c.layer, c.args, c.kwargs, training) for c in calls]

    total = Costs(_sum(m.forward for m in measured), _sum(m.forward_backward for m in measured))
    n_calls = Counter(id(c.layer) for c in calls)
    seen: Counter = Counter()
    rows = []
    for call, costs in zip(calls, measured):
        seen[id(call.layer)] += 1
        name = call.layer.name
        if n_calls[id(call.layer)] > 1:
            name = f"{name} (call {seen[id(call.layer)]})"
        rows.append(LayerCost(
            name=name,
            layer_name=call.layer.name,
            class_name=type(call.layer).__name__,
            params=int(sum(w.size for w in call.layer.weights)),
            output_shape=_shape_tree(call.outputs),
            forward=costs.forward,
            forward_backward=costs.forward_backward,
            forward_share=_fraction(costs.forward.flops, total.forward.flops),
            forward_backward_share=_fraction(costs.forward_backward.flops, total.forward_backward.flops),
        ))
    leaves = jax.tree_util.tree_leaves(batch)
    batch_size = leaves[0].shape[0] if leaves and leaves[0].shape else None
    return LayerCosts(model.name, batch_size, training, rows, total, model_costs)


def _input_shapes(model):
    """(shape, dtype) for each of the model's inputs, in the structure of its inputs; batch size None."""
    from workbench.core.functional import Functional
    from workbench.core.sequential import Sequential

    graph = model._functional if isinstance(model, Sequential) else model
    if isinstance(graph, Functional):
        return jax.tree_util.tree_map(lambda t: (t.shape, t.dtype), graph._inputs_struct)
    if not model.built or model._build_shapes is None:
        raise ValueError(
            f"Model '{model.name}' does not know its input shape yet, so there is no batch to cost it on: "
            "pass sample_batch= (an array shaped like a batch of inputs), or call the model on data first."
        )
    shapes = model._build_shapes
    return jax.tree_util.tree_map(lambda s: ((None, *s[1:]), "float32"), shapes, is_leaf=_is_shape)


def _batch_of_one(model):
    """`jax.ShapeDtypeStruct`s for one sample of the model's inputs."""

    def one(entry):
        shape, dtype = entry
        if any(d is None for d in shape[1:]):
            raise ValueError(
                f"Model '{model.name}' has an input of shape {shape}, whose sizes beyond the batch are not "
                "all known: pass sample_batch= (an array shaped like a batch of inputs) to cost it."
            )
        return jax.ShapeDtypeStruct((1, *shape[1:]), jnp.dtype(dtype))

    return jax.tree_util.tree_map(one, _input_shapes(model), is_leaf=_is_input_entry)


def _top_level_calls(model, variables, batch, training) -> list[context.LayerCall]:
    """The layer calls the model's own call makes, with their arguments and outputs as ShapeDtypeStructs."""
    found: list = []

    def run(variables, batch):
        with context.capture_layer_calls() as calls:
            outputs, _ = model.stateless_call(variables, batch, training=training, rng=jax.random.key(0))
        found.extend(c._replace(args=_specs(c.args), kwargs=_specs(c.kwargs), outputs=_specs(c.outputs))
                     for c in calls if c.depth == 1)
        return outputs

    try:
        jax.eval_shape(run, variables, batch)
    except Exception as e:
        raise ValueError(
            f"layer_costs: model '{model.name}' could not run on the sample batch "
            f"{_shape_str(_shape_tree(batch))}{_expected_inputs(model)}: {e}"
        ) from e
    return found


def _call_costs(layer, args, kwargs, training) -> Costs:
    """Lower and compile `layer.stateless_call` on these argument specs, forward and forward+backward."""
    leaves, treedef = jax.tree_util.tree_flatten((args, kwargs))
    arrays = [i for i, x in enumerate(leaves) if isinstance(x, jax.ShapeDtypeStruct)]
    floats = [i for i in arrays if jnp.issubdtype(leaves[i].dtype, jnp.floating)]
    others = [i for i in arrays if i not in floats]
    variables = _specs(layer.get_variables())

    def forward(trainable, non_trainable, float_inputs, other_inputs):
        filled = list(leaves)
        for i, x in zip(floats + others, list(float_inputs) + list(other_inputs)):
            filled[i] = x
        call_args, call_kwargs = jax.tree_util.tree_unflatten(treedef, filled)
        call_kwargs = dict(call_kwargs)
        call_training = call_kwargs.pop("training", training)
        outputs, updated = layer.stateless_call({"trainable": trainable, "non_trainable": non_trainable},
                                                *call_args, training=call_training, rng=jax.random.key(0),
                                                **call_kwargs)
        # Returning an unchanged weight would cost a copy the layer never makes.
        return outputs, {k: v for k, v in updated.items() if v is not non_trainable.get(k)}

    def forward_backward(trainable, non_trainable, float_inputs, other_inputs, cotangents):
        def differentiable(trainable, float_inputs):
            outputs = forward(trainable, non_trainable, float_inputs, other_inputs)
            return [x for x in jax.tree_util.tree_leaves(outputs[0]) if _is_float(x)], outputs

        _, pullback, outputs = jax.vjp(differentiable, trainable, float_inputs, has_aux=True)
        return outputs, pullback(cotangents)

    inputs = (variables["trainable"], variables["non_trainable"], [leaves[i] for i in floats],
              [leaves[i] for i in others])
    forward_cost = _cost(forward, *inputs)
    out_specs = jax.eval_shape(forward, *inputs)[0]
    cotangents = [x for x in jax.tree_util.tree_leaves(out_specs) if _is_float(x)]
    if not cotangents or not (variables["trainable"] or floats):
        return Costs(forward_cost, forward_cost)  # nothing to differentiate: no backward pass
    return Costs(forward_cost, _cost(forward_backward, *inputs, cotangents))


def _cost(fn, *specs) -> Cost:
    analysis = jax.jit(fn).lower(*specs).compile().cost_analysis()
    if isinstance(analysis, (list, tuple)):  # a list of one dict per program on older jax
        analysis = analysis[0] if analysis else None
    analysis = analysis or {}
    return Cost(float(analysis.get("flops", 0.0)), float(analysis.get("bytes accessed", 0.0)))


def _specs(tree, strict: bool = False):
    """Arrays in `tree` as ShapeDtypeStructs; other leaves (Python values) kept as they are."""

    def spec(x):
        if isinstance(x, jax.ShapeDtypeStruct):
            return x
        if isinstance(x, (jax.Array, np.ndarray, np.generic)):
            return jax.ShapeDtypeStruct(np.shape(x), jax.dtypes.canonicalize_dtype(x.dtype))
        if strict:
            raise TypeError(
                "layer_costs: sample_batch should be an array, or a list/tuple/dict of arrays, shaped like "
                f"the model's inputs; it holds a {type(x).__name__}: {x!r:.80}."
            )
        return x

    return jax.tree_util.tree_map(spec, tree)


def _expected_inputs(model) -> str:
    try:
        shapes = jax.tree_util.tree_map(lambda e: e[0], _input_shapes(model), is_leaf=_is_input_entry)
    except ValueError:
        return ""
    return f" (the model expects {_shape_str(shapes)})"


def _shape_tree(tree):
    """Shapes of the arrays in `tree`: a tuple for one array, in lists and dicts for nested outputs."""
    if isinstance(tree, jax.ShapeDtypeStruct):
        return tuple(tree.shape)
    if isinstance(tree, dict):
        return {str(k): _shape_tree(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return [_shape_tree(v) for v in tree]
    return None


def _shape_str(shapes) -> str:
    if _is_shape(shapes):
        return "(" + ", ".join(map(str, shapes)) + (",)" if len(shapes) == 1 else ")")
    if isinstance(shapes, dict):
        return "{" + ", ".join(f"{k}: {_shape_str(v)}" for k, v in shapes.items()) + "}"
    if isinstance(shapes, (list, tuple)):
        return "[" + ", ".join(_shape_str(s) for s in shapes) + "]"
    return "-"


def _jsonable(shapes):
    if isinstance(shapes, dict):
        return {k: _jsonable(v) for k, v in shapes.items()}
    if isinstance(shapes, (list, tuple)):
        return [_jsonable(v) for v in shapes]
    return shapes


def _is_shape(s) -> bool:
    return isinstance(s, tuple) and all(d is None or isinstance(d, int) for d in s)


def _is_input_entry(e) -> bool:
    return isinstance(e, tuple) and len(e) == 2 and _is_shape(e[0])


def _is_float(x) -> bool:
    return jnp.issubdtype(x.dtype, jnp.floating)


def _sum(costs) -> Cost:
    costs = list(costs)
    return Cost(sum(c.flops for c in costs), sum(c.bytes_accessed for c in costs))


def _fraction(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def _si(value: float, unit: str = "") -> str:
    """1234567 -> "1.23 M": three significant figures with an SI prefix."""
    for prefix in ("", "K", "M", "G", "T"):
        if abs(value) < 1000 or prefix == "T":
            text = f"{value:.0f}" if prefix == "" else f"{value:.3g}"
            return f"{text} {prefix}{unit}".rstrip()
        value /= 1000
    return ""


def _percent(share: float | None) -> str:
    return "" if share is None else f"{100 * share:.1f}%"

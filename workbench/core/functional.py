"""Functional models: a graph of layer calls between Input tensors and outputs."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from workbench.core import symbolic
from workbench.core.input_layer import InputLayer
from workbench.core.layer import Layer, _call_params
from workbench.core.model import Model


def _flatten_struct(struct) -> list:
    return symbolic.tree_keras_tensors(struct)


def _map_graph(inputs: list, outputs: list):
    """The nodes between `inputs` and `outputs` (parents first) and the layers in Keras' order.

    Layers are ordered as Keras orders them (by decreasing depth from the
    outputs, ties broken by depth-first discovery), which fixes the order of
    `model.weights` and so of `get_weights()`.
    """
    input_ids = {id(t) for t in inputs}
    order, state, discovery = [], {}, {}

    def visit(tensor, path):
        layer, node_index, _ = tensor._history
        node = layer._inbound_nodes[node_index]
        if state.get(id(node)) == "done":
            return
        if id(tensor) in input_ids or isinstance(layer, InputLayer):
            if id(tensor) not in input_ids:
                raise ValueError(
                    f"Graph disconnected: the output depends on input '{layer.name}' "
                    f"(shape {layer.batch_shape}), which is not among the model's inputs "
                    f"{[t.name for t in inputs]}. Path to it: {' <- '.join(path + [layer.name])}."
                )
            discovery.setdefault(layer, len(discovery))
            state[id(node)] = "done"
            order.append(node)
            return
        if state.get(id(node)) == "active":
            raise ValueError(f"The graph has a cycle through layer '{layer.name}'.")
        discovery.setdefault(layer, len(discovery))
        state[id(node)] = "active"
        for parent in node.input_tensors:
            visit(parent, path + [layer.name])
        state[id(node)] = "done"
        order.append(node)

    for t in outputs:
        if not symbolic.is_keras_tensor(t) or t._history is None:
            raise TypeError(
                f"Model outputs must be symbolic tensors produced by layers called on Input(), got {t!r}."
            )
        visit(t, [])
    for t in inputs:
        layer = t._history[0]
        if layer not in discovery:
            discovery[layer] = -1
            order.insert(0, layer._inbound_nodes[t._history[1]])

    in_graph = {id(n) for n in order}
    node_depth: dict[int, int] = {}
    layer_depth: dict = {}
    for node in reversed(order):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(node.layer, 0))
        layer_depth[node.layer] = depth
        node_depth[id(node)] = depth
        if isinstance(node.layer, InputLayer):
            continue
        for parent in node.parent_nodes:
            if id(parent) in in_graph:
                node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    layers = sorted(layer_depth, key=lambda layer: (-layer_depth[layer], discovery[layer]))
    nodes = [n for n in order if not isinstance(n.layer, InputLayer)]
    return nodes, layers


class Functional(Model):
    """A model defined by `Model(inputs, outputs)`.

    >>> x = Input(shape=(4,)); y = Dense(2)(x)
    >>> model = Model(x, y)
    """

    def __init__(self, inputs, outputs, name: str | None = None, trainable: bool = True, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self._input_tensors = _flatten_struct(inputs)
        self._output_tensors = _flatten_struct(outputs)
        if not self._input_tensors:
            raise ValueError("Model(inputs, outputs) needs at least one Input() tensor as input.")
        for t in self._input_tensors:
            if not isinstance(t._history[0], InputLayer):
                raise ValueError(
                    f"Model inputs must come from workbench.Input(), but '{t.name}' is the output of "
                    f"layer '{t._history[0].name}'. Use the Input tensor itself."
                )
        self._nodes, layers = _map_graph(self._input_tensors, self._output_tensors)
        names = [layer.name for layer in layers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"All layers in a model must have unique names; repeated: {dupes}.")
        self._layers = layers
        self.built = True
        self._build_shapes = jax.tree_util.tree_map(
            lambda t: t.shape, inputs, is_leaf=symbolic.is_keras_tensor
        )

    # ------------------------------------------------------------------ graph facts
    @property
    def inputs(self) -> list:
        return list(self._input_tensors)

    @property
    def outputs(self) -> list:
        return list(self._output_tensors)

    @property
    def input_shape(self):
        shapes = [t.shape for t in self._input_tensors]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self._output_tensors]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def layers(self) -> list:
        return list(self._layers)

    def _node_index_in_model(self, node) -> int:
        own = [n for n in node.layer._inbound_nodes if n in self._node_set]
        return own.index(node)

    @property
    def _node_set(self) -> list:
        return self._nodes + [t._history[0]._inbound_nodes[0] for t in self._input_tensors]

    # ------------------------------------------------------------------ running
    def _standardize_inputs(self, inputs) -> list:
        struct = self._inputs_struct
        if isinstance(struct, dict):
            if not isinstance(inputs, dict):
                if len(struct) == 1 and not isinstance(inputs, (list, tuple)):
                    inputs = {next(iter(struct)): inputs}
                elif isinstance(inputs, (list, tuple)) and len(inputs) == len(struct):
                    inputs = dict(zip(struct, inputs))
                else:
                    raise ValueError(
                        f"Model '{self.name}' expects a dict with keys {sorted(struct)}, got {type(inputs).__name__}."
                    )
            missing = [k for k in struct if k not in inputs]
            if missing:
                raise ValueError(f"Model '{self.name}' is missing inputs {missing}; got keys {sorted(inputs)}.")
            flat = [inputs[k] for k in struct]
        elif isinstance(inputs, dict):
            names = [t.name for t in self._input_tensors]
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ValueError(f"Model '{self.name}' inputs are named {names}; the dict lacks {missing}.")
            flat = [inputs[n] for n in names]
        elif len(self._input_tensors) == 1:
            if isinstance(inputs, (list, tuple)) and len(inputs) == 1 and hasattr(inputs[0], "shape"):
                inputs = inputs[0]
            flat = [inputs]
        else:
            if not isinstance(inputs, (list, tuple)) or len(inputs) != len(self._input_tensors):
                got = len(inputs) if isinstance(inputs, (list, tuple)) else 1
                raise ValueError(
                    f"Model '{self.name}' expects {len(self._input_tensors)} inputs "
                    f"{[t.name for t in self._input_tensors]}, got {got}."
                )
            flat = list(inputs)
        out = []
        for t, x in zip(self._input_tensors, flat):
            x = jnp.asarray(x) if not isinstance(x, jax.Array) else x
            if len(x.shape) != len(t.shape) or any(
                d is not None and d != xd for d, xd in zip(t.shape, x.shape)
            ):
                raise ValueError(
                    f"Input '{t.name}' of model '{self.name}' is incompatible: expected shape "
                    f"{t.shape}, got {tuple(x.shape)}."
                )
            want = jnp.dtype(t.dtype)
            if x.dtype != want and not (
                jnp.issubdtype(want, jnp.floating) and jnp.issubdtype(x.dtype, jnp.floating)
            ):
                x = x.astype(want)
            out.append(x)
        return out

    def call(self, inputs, training=None, mask=None):
        flat = self._standardize_inputs(inputs)
        values = {id(t): x for t, x in zip(self._input_tensors, flat)}
        masks: dict = {}
        if mask is not None:
            flat_masks = mask if isinstance(mask, (list, tuple)) else [mask]
            for t, m in zip(self._input_tensors, flat_masks):
                masks[id(t)] = m
        for node in self._nodes:
            self._run_node(node, values, masks, training)
        return jax.tree_util.tree_map(
            lambda t: values[id(t)], self._outputs_struct, is_leaf=symbolic.is_keras_tensor
        )

    @staticmethod
    def _run_node(node, values, masks, training):
        layer = node.layer
        params = _call_params(type(layer))
        args, kwargs = symbolic.map_keras_tensors(lambda t: values[id(t)], (node.args, node.kwargs))
        first = node.args[0] if node.args else None
        in_mask = symbolic.map_keras_tensors(lambda t: masks.get(id(t)), first)
        has_mask = any(m is not None for m in jax.tree_util.tree_leaves(in_mask))
        # Keras' rule: with one tensor argument its mask goes to `mask`; with several, each
        # argument `<arg>` with a mask goes to a `<arg>_mask` parameter (MultiHeadAttention).
        bound = dict(zip([p for p in params if p != "self"], node.args))
        bound.update(node.kwargs)
        tensor_args = {k: v for k, v in bound.items() if symbolic.any_symbolic(v)}
        if len(tensor_args) == 1:
            if has_mask and "mask" in params and "mask" not in node.kwargs:
                kwargs["mask"] = in_mask
        else:
            for name, arg in tensor_args.items():
                mask_name = f"{name}_mask"
                if mask_name in params and mask_name not in node.kwargs:
                    m = symbolic.map_keras_tensors(lambda t: masks.get(id(t)), arg)
                    if any(x is not None for x in jax.tree_util.tree_leaves(m)):
                        kwargs[mask_name] = m
        if "training" not in node.kwargs:
            kwargs["training"] = training
        outputs = layer(*args, **kwargs)
        for t, v in zip(node.output_tensors, jax.tree_util.tree_leaves(outputs)):
            values[id(t)] = v
        if has_mask or type(layer).compute_mask is not Layer.compute_mask:
            out_mask = layer.compute_mask(args[0] if args else None, in_mask if has_mask else None)
            if out_mask is not None:
                out_masks = out_mask if isinstance(out_mask, (list, tuple)) else [out_mask]
                for t, m in zip(node.output_tensors, out_masks):
                    masks[id(t)] = m

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict:
        from workbench.core import serialization

        return serialization.functional_config(self)

    @classmethod
    def from_config(cls, config: dict, custom_objects=None, safe_mode=None):
        from workbench.core import serialization

        return serialization.functional_from_config(cls, config, custom_objects, safe_mode)


"""Layer and model configs as JSON-ready dicts, and back.

The format follows Keras 3: `{"module", "class_name", "config", "registered_name",
"build_config"}` per layer; functional models list their layers with
`inbound_nodes` whose arguments reference tensors by
`[layer_name, node_index, tensor_index]`.
"""

from __future__ import annotations

import jax

from workbench.core import symbolic

_REGISTRY: dict[str, type] = {}


def register_serializable(package: str = "Custom", name: str | None = None):
    """Class decorator: make a custom layer or model loadable by `model_from_json`/`load_model`.

    >>> @register_serializable()
    ... class MyBlock(Layer): ...
    """

    def decorator(cls):
        key = f"{package}>{name or cls.__name__}"
        _REGISTRY[key] = cls
        cls._registered_name = key
        return cls

    return decorator


def register_builtin(cls) -> type:
    _REGISTRY[cls.__name__] = cls
    return cls


def _registered_name(cls) -> str | None:
    return cls.__dict__.get("_registered_name")


def serialize_layer(layer) -> dict:
    cls = type(layer)
    config = layer.get_config()
    out = {
        "module": cls.__module__.rsplit(".", 1)[0] if cls.__module__.startswith("workbench") else cls.__module__,
        "class_name": cls.__name__,
        "config": config,
        "registered_name": _registered_name(cls),
    }
    build = layer.get_build_config() if hasattr(layer, "get_build_config") else None
    if build is not None:
        out["build_config"] = build
    return out


def _lookup(class_name: str, registered_name, custom_objects) -> type:
    custom_objects = custom_objects or {}
    for key in (registered_name, class_name):
        if key and key in custom_objects:
            return custom_objects[key]
    for key in (registered_name, class_name):
        if key and key in _REGISTRY:
            return _REGISTRY[key]
    raise ValueError(
        f"Could not deserialise class '{class_name}': it is not a workbench layer or model. "
        "For a custom class, decorate it with @workbench.saving.register_serializable() or pass "
        f"custom_objects={{'{class_name}': {class_name}}}."
    )


def deserialize_layer(config: dict, custom_objects=None, safe_mode=None):
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Expected a layer config dict with 'class_name' and 'config', got {config!r:.200}.")
    cls = _lookup(config["class_name"], config.get("registered_name"), custom_objects)
    inner = dict(config.get("config", {}))
    if hasattr(cls, "from_config") and "safe_mode" in cls.from_config.__code__.co_varnames:
        layer = cls.from_config(inner, custom_objects=custom_objects, safe_mode=safe_mode)
    else:
        layer = cls.from_config(inner)
    build = config.get("build_config")
    if build and not layer.built:
        layer.build_from_config(build)
    return layer


# --------------------------------------------------------------------- functional
def _tensor_ref(model, t) -> dict:
    layer, node_index, tensor_index = t._history
    node = layer._inbound_nodes[node_index]
    return {
        "class_name": "__keras_tensor__",
        "config": {
            "shape": list(t.shape),
            "dtype": t.dtype,
            "keras_history": [layer.name, model._node_index_in_model(node), tensor_index],
        },
    }


def _encode(model, tree):
    return jax.tree_util.tree_map(
        lambda x: _tensor_ref(model, x) if symbolic.is_keras_tensor(x) else x,
        tree,
        is_leaf=lambda x: symbolic.is_keras_tensor(x) or x is None,
    )


def _history(model, t) -> list:
    layer, node_index, tensor_index = t._history
    return [layer.name, model._node_index_in_model(layer._inbound_nodes[node_index]), tensor_index]


def _struct_refs(model, struct):
    return jax.tree_util.tree_map(lambda t: _history(model, t), struct, is_leaf=symbolic.is_keras_tensor)


def functional_config(model) -> dict:
    node_set = {id(n) for n in model._node_set}
    layers = []
    for layer in model._layers:
        entry = serialize_layer(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = [
            {"args": _encode(model, list(node.args)), "kwargs": _encode(model, node.kwargs)}
            for node in layer._inbound_nodes
            if id(node) in node_set and node.args
        ]
        layers.append(entry)
    config = {
        "name": model.name,
        "trainable": model.trainable,
        "layers": layers,
        "input_layers": _struct_refs(model, model._inputs_struct),
        "output_layers": _struct_refs(model, model._outputs_struct),
    }
    return config


def _is_ref(x) -> bool:
    return isinstance(x, dict) and x.get("class_name") == "__keras_tensor__"


def _is_history(x) -> bool:
    return (
        isinstance(x, list) and len(x) == 3 and isinstance(x[0], str)
        and isinstance(x[1], int) and isinstance(x[2], int)
    )


def functional_from_config(cls, config: dict, custom_objects=None, safe_mode=None):
    from workbench.core.input_layer import InputLayer

    created: dict[str, object] = {}
    outputs: dict[tuple, list] = {}  # (layer name, node index) -> flat output tensors
    pending = []
    for entry in config["layers"]:
        layer = deserialize_layer(entry, custom_objects, safe_mode)
        created[entry.get("name", layer.name)] = layer
        if isinstance(layer, InputLayer):
            outputs[(layer.name, 0)] = [layer.output]
        for node_data in entry.get("inbound_nodes", []):
            pending.append((layer, node_data))
    node_counts: dict[str, int] = {}

    def resolve(x):
        if _is_ref(x):
            name, node_index, tensor_index = x["config"]["keras_history"]
            key = (name, node_index)
            if key not in outputs:
                raise KeyError(key)
            return outputs[key][tensor_index]
        return x

    progress = True
    while pending and progress:
        progress = False
        remaining = []
        for layer, node_data in pending:
            if remaining and any(layer is waiting for waiting, _ in remaining):
                remaining.append((layer, node_data))  # keep each layer's nodes in order
                continue
            try:
                args, kwargs = jax.tree_util.tree_map(
                    resolve, (node_data["args"], node_data.get("kwargs", {})), is_leaf=_is_ref
                )
            except KeyError:
                remaining.append((layer, node_data))
                continue
            result = layer(*args, **kwargs)
            index = node_counts.get(layer.name, 0)
            node_counts[layer.name] = index + 1
            outputs[(layer.name, index)] = symbolic.tree_keras_tensors(result)
            progress = True
        pending = remaining
    if pending:
        names = sorted({layer.name for layer, _ in pending})
        raise ValueError(f"Model config is inconsistent: could not connect layers {names}.")

    def lookup(ref):
        name, node_index, tensor_index = ref
        if (name, node_index) not in outputs:
            raise ValueError(f"Model config names output/input tensor {ref}, which no layer produces.")
        return outputs[(name, node_index)][tensor_index]

    def rebuild(struct):
        if _is_history(struct):
            return lookup(struct)
        if isinstance(struct, dict):
            return {k: rebuild(v) for k, v in struct.items()}
        return [rebuild(v) for v in struct]

    inputs = rebuild(config["input_layers"])
    outs = rebuild(config["output_layers"])
    return cls(inputs, outs, name=config.get("name"), trainable=config.get("trainable", True))

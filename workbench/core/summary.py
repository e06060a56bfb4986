"""`model.summary()`: Keras' table of layers, output shapes and parameter counts, and optionally FLOPs."""

from __future__ import annotations

import textwrap

from workbench.core import symbolic


def _format_size(n_bytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n_bytes < 1024 or unit == "TB":
            return f"{n_bytes:.2f} {unit}"
        n_bytes /= 1024
    return ""


def _shape_str(shapes) -> str:
    if shapes is None:
        return "?"
    if isinstance(shapes, tuple) and all(d is None or isinstance(d, int) for d in shapes):
        return "(" + ", ".join("None" if d is None else str(d) for d in shapes) + (",)" if len(shapes) == 1 else ")")
    if isinstance(shapes, dict):
        return "{" + ", ".join(f"{k}: {_shape_str(v)}" for k, v in shapes.items()) + "}"
    return "[" + ", ".join(_shape_str(s) for s in shapes) + "]"


def _output_shape(layer, model):
    nodes = layer._inbound_nodes
    if model is not None and hasattr(model, "_node_set"):
        own = {id(n) for n in model._node_set}
        nodes = [n for n in nodes if id(n) in own] or nodes
    if nodes:
        outs = nodes[0].outputs
        return _struct_shapes(outs)
    return layer._output_shape_seen


def _struct_shapes(outs):
    if symbolic.is_keras_tensor(outs):
        return outs.shape
    if isinstance(outs, dict):
        return {k: _struct_shapes(v) for k, v in outs.items()}
    if isinstance(outs, (list, tuple)):
        return [_struct_shapes(v) for v in outs]
    return None


def _params(layer) -> int:
    return int(sum(w.size for w in layer.weights)) if layer.built or layer.weights else 0


def _weights_bytes(weights) -> int:
    return int(sum(w.size * w.dtype.itemsize for w in weights))


def _flops_unit(flops: float) -> tuple[float, str]:
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M")):
        if flops >= scale:
            return scale, prefix
    return 1e3, "K"


def _flops_str(flops: float) -> str:
    scale, prefix = _flops_unit(flops)
    return f"{flops / scale:,.2f} {prefix}FLOPs"


def print_summary(model, line_length=None, print_fn=None, expand_nested=False, show_trainable=False,
                  costs=None):
    """Print the table; `costs` (a `workbench.profiling.costs.LayerCosts`) adds each layer's forward FLOPs."""
    from workbench.core.functional import Functional
    from workbench.core.input_layer import InputLayer
    from workbench.core.sequential import Sequential

    print_fn = print_fn or print
    graph = model._functional if isinstance(model, Sequential) else model
    connected = isinstance(graph, Functional) and not _is_linear(graph)
    if isinstance(model, Sequential):
        layers = model.layers
    elif isinstance(model, Functional):
        layers = model.layers
    else:
        layers = model._sublayers

    headers = ["Layer (type)", "Output Shape", "Param #"]
    widths = [33, 24, 15]
    numeric = {2}
    if connected:
        headers.append("Connected to")
        widths = [21, 19, 12, 19]
    if costs is not None:
        flops: dict[str, float] = {}
        for row in costs.rows:
            flops[row.layer_name] = flops.get(row.layer_name, 0.0) + row.forward.flops
        scale, prefix = _flops_unit(max(flops.values(), default=0.0))
        headers[3:3] = [f"Fwd {prefix}FLOPs", "FLOPs %"]
        widths[3:3] = [13, 9]
        numeric |= {3, 4}
    if show_trainable:
        headers.append("Trainable")
        widths.append(9)
    if line_length:
        scale = line_length / (sum(widths) + len(widths) + 1)
        widths = [max(8, int(w * scale)) for w in widths]

    rows = []
    for layer in layers:
        row = [
            f"{layer.name} ({type(layer).__name__})",
            _shape_str(_output_shape(layer, graph if isinstance(graph, Functional) else None)),
            f"{_params(layer):,}",
        ]
        if costs is not None:
            if layer.name in flops:
                share = flops[layer.name] / costs.total.forward.flops if costs.total.forward.flops else 0.0
                row += [f"{flops[layer.name] / scale:,.2f}", f"{100 * share:.1f}%"]
            else:
                row += ["-", "-"]
        if connected:
            refs = []
            nodes = [n for n in layer._inbound_nodes if n in graph._node_set]
            for node in nodes:
                for t in node.input_tensors:
                    src, node_index, tensor_index = t._history
                    refs.append(f"{src.name}[{node_index}][{tensor_index}]")
            row.append(", ".join(refs) if refs and not isinstance(layer, InputLayer) else "-")
        if show_trainable:
            row.append("Y" if layer.trainable else "N")
        rows.append(row)

    def wrap(cell, width, right=False):
        lines = textwrap.wrap(cell, width - 2, break_on_hyphens=False) or [""]
        return [(f"{line:>{width - 2}}" if right else f"{line:<{width - 2}}") for line in lines]

    def render(cells, left, sep, right):
        wrapped = [wrap(c, w, right=(i in numeric)) for i, (c, w) in enumerate(zip(cells, widths))]
        height = max(len(w) for w in wrapped)
        out = []
        for i in range(height):
            parts = [(w[i] if i < len(w) else " " * (widths[j] - 2)) for j, w in enumerate(wrapped)]
            out.append(left + " " + f" {sep} ".join(parts) + " " + right)
        return out

    def rule(left, mid, right, fill):
        return left + mid.join(fill * w for w in widths) + right

    lines = [f'Model: "{model.name}"', rule("┏", "┳", "┓", "━")]
    lines += render(headers, "┃", "┃", "┃")
    lines.append(rule("┡", "╇", "┩", "━"))
    for i, row in enumerate(rows):
        lines += render(row, "│", "│", "│")
        if i < len(rows) - 1:
            lines.append(rule("├", "┼", "┤", "─"))
    lines.append(rule("└", "┴", "┘", "─"))

    built = model.built and bool(layers) or bool(model.weights)
    trainable, non_trainable = model.trainable_weights, model.non_trainable_weights
    n_train = sum(w.size for w in trainable)
    n_non = sum(w.size for w in non_trainable)
    if built:
        lines.append(f" Total params: {n_train + n_non:,} ({_format_size(_weights_bytes(model.weights))})")
        lines.append(f" Trainable params: {n_train:,} ({_format_size(_weights_bytes(trainable))})")
        lines.append(f" Non-trainable params: {n_non:,} ({_format_size(_weights_bytes(non_trainable))})")
    else:
        lines.append(" Total params: 0 (unbuilt)")
    if costs is not None:
        forward, both = costs.model.forward.flops, costs.model.forward_backward.flops
        lines.append(
            f" FLOPs per batch of {costs.batch_size}: {_flops_str(forward)} forward, {_flops_str(both)} "
            "forward+backward (XLA's cost analysis)"
        )
    for line in lines:
        print_fn(line)


def _is_linear(model) -> bool:
    """True when every layer is called once on exactly the previous layer's output."""
    if len(model._input_tensors) != 1 or len(model._output_tensors) != 1:
        return False
    for node in model._nodes:
        if len(node.input_tensors) != 1 or len(node.layer._inbound_nodes) > 2:
            return False
    produced = set()
    for node in model._nodes:
        src = node.input_tensors[0]._history[0]
        if id(src) in produced:
            return False
        produced.add(id(src))
    return True

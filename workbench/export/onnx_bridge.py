"""ONNX bridge: one signature as `model.onnx` (converted by jax2onnx) and checked with onnxruntime.

The graph's inputs and outputs carry the signature's names; dimension names
("batch") stay symbolic `dim_param`s, so one file serves every batch size.
The weights are folded in as initializers. Past 1 GiB of them they go to a
`model.onnx.data` sidecar (a protobuf file stops at 2 GiB), which must
travel with the `.onnx` file.

Two fixes to what jax2onnx emits: MaxPooling2D/3D become 4-5 d MaxPools that
onnxruntime refuses, so they are rewritten into 2-3 d ones
(`_fold_unit_pool_axes`). Reverse scans (`Bidirectional` RNNs) do not
convert; write() raises BridgeConversionError naming the signature.

Needs the onnx extra: pip install "jax-workbench[onnx]".

>>> import pathlib, numpy as np
>>> out_dir = pathlib.Path("exported/onnx")
>>> sig = {"name": "serving_default",
...        "inputs": [{"name": "x", "dtype": "float32", "shape": ["batch", 2]}],
...        "outputs": [{"name": "y", "dtype": "float32", "shape": ["batch", 2]}]}
>>> fn = lambda weights, x: (x * weights[0],)
>>> files = write(fn, [np.ones(2, np.float32)], sig, out_dir)      # doctest: +SKIP
>>> check(out_dir, sig, {"x": np.ones((3, 2), np.float32)},
...       {"y": np.ones((3, 2), np.float32)})["max_abs_diff"]         # doctest: +SKIP
0.0
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable

import numpy as np

from workbench.export import bridge_contract as contract
from workbench.export.bridge_contract import BridgeCheckError, BridgeConversionError

__all__ = ["MODEL_FILE", "BridgeCheckError", "BridgeConversionError", "check", "write"]

MODEL_FILE = "model.onnx"
DATA_FILE = "model.onnx.data"
OPSET = 23
# Past this many bytes of weights the initializers go to DATA_FILE (a protobuf file stops at 2 GiB).
EXTERNAL_DATA_BYTES = 1 << 30


def _require_jax2onnx():
    return contract.require("jax2onnx", package="jax2onnx", extra="onnx")


def _require_onnxruntime():
    return contract.require("onnxruntime", package="onnxruntime", extra="onnx")


def write(
    fn: Callable, weights: list[np.ndarray], signature: dict, out_dir: pathlib.Path, *, batch="dynamic"
) -> list[str]:
    """Convert `fn(weights, *inputs)` to `out_dir/model.onnx`; return the files written, relative to `out_dir`."""
    jax2onnx = _require_jax2onnx()
    import jax
    import jax.numpy as jnp

    name = contract.signature_name(signature)
    inputs = contract.tensors(signature, "inputs")
    outputs = contract.tensors(signature, "outputs")
    weights = [jnp.asarray(w) for w in weights]
    contract.check_outputs_match(fn, weights, signature, batch)
    specs = [jax.ShapeDtypeStruct(contract.resolved_shape(e, batch), jnp.dtype(e["dtype"])) for e in inputs]
    wants_f64 = any(jnp.dtype(e["dtype"]) == jnp.float64 for e in [*inputs, *outputs])

    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [MODEL_FILE, DATA_FILE]
    for stale in files:  # a sidecar left by an earlier export would be listed as ours
        (out_dir / stale).unlink(missing_ok=True)
    try:
        model = jax2onnx.to_onnx(
            lambda *xs: tuple(fn(weights, *xs)),
            specs,
            model_name=name,
            opset=OPSET,
            enable_double_precision=wants_f64,
            input_names=[e["name"] for e in inputs],
            output_names=[e["name"] for e in outputs],
        )
    except Exception as err:  # noqa: BLE001 - any converter failure is reported with the signature's name
        raise BridgeConversionError(
            f"jax2onnx {_version(jax2onnx)} could not convert signature '{name}' to ONNX: "
            f"{type(err).__name__}: {err}"
        ) from err
    _fold_unit_pool_axes(model)
    _save(model, out_dir / MODEL_FILE)
    return [f for f in files if (out_dir / f).is_file()]


def check(
    out_dir: pathlib.Path,
    signature: dict,
    inputs: dict[str, np.ndarray],
    expected: dict[str, np.ndarray],
    *,
    rtol: float = 1e-5,
    atol: float = 1e-5,
) -> dict:
    """Run `out_dir/model.onnx` with onnxruntime on `inputs` and compare with `expected`.

    Returns {"runtime", "max_abs_diff", "outputs": [{"name", "shape", "max_abs_diff"}],
    "inputs": [{"name", "shape"}] as the model declares them, "rtol", "atol"}; raises
    BridgeCheckError when an output differs or onnxruntime fails on the inputs.
    """
    ort = _require_onnxruntime()
    name = contract.signature_name(signature)
    runtime = f"onnxruntime {ort.__version__}"
    path = pathlib.Path(out_dir) / MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"No ONNX model for signature '{name}' at {path}; write() it first.")
    feeds = contract.as_inputs(signature, inputs)
    try:
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: notes about initializers it drops are not for the user
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as err:  # noqa: BLE001 - onnxruntime raises its own exception types
        hint = ""
        if "NOT_IMPLEMENTED" in str(err):
            hint = (
                " onnxruntime's CPU provider has no kernel for an operator at this dtype (bfloat16 matmuls, "
                "for one); export with float32 weights and compute."
            )
        raise BridgeCheckError(
            f"{runtime} could not load {path} for signature '{name}': {err}.{hint}"
        ) from err
    output_names = [o.name for o in session.get_outputs()]
    try:
        results = session.run(output_names, feeds)
    except Exception as err:  # noqa: BLE001 - onnxruntime raises its own exception types
        shapes = {k: list(v.shape) for k, v in feeds.items()}
        declared = {i.name: i.shape for i in session.get_inputs()}
        raise BridgeCheckError(
            f"{runtime} failed on inputs {shapes} for signature '{name}' (the model declares {declared}): {err}"
        ) from err
    report = contract.compare(
        signature, dict(zip(output_names, results)), expected, rtol=rtol, atol=atol, runtime=runtime
    )
    report["inputs"] = [{"name": i.name, "shape": list(i.shape)} for i in session.get_inputs()]
    return report


def _version(module) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module.__name__)
    except PackageNotFoundError:
        return "(unknown version)"


def _save(model, path: pathlib.Path) -> None:
    import onnx

    weight_bytes = sum(t.ByteSize() for t in model.graph.initializer)
    if weight_bytes < EXTERNAL_DATA_BYTES:
        onnx.save_model(model, str(path))
    else:
        onnx.save_model(
            model,
            str(path),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=DATA_FILE,
            size_threshold=1024,
        )


def _fold_unit_pool_axes(model) -> None:
    """Rewrite N-d MaxPools over NHWC-style tensors into the 1-3 d MaxPools onnxruntime runs.

    jax2onnx lowers `lax.reduce_window(max)` on a rank-r tensor as
    Unsqueeze(0) -> Unsqueeze(1) -> MaxPool(r-d kernel) -> Squeeze(0, 1). For
    MaxPooling2D (window (1, 2, 2, 1)) that is a 4-d MaxPool, which onnxruntime
    refuses ("Unsupported pooling size"). The axes with a unit window (batch,
    channels) are moved to the front instead and become MaxPool's N and C.
    """
    from onnx import helper, numpy_helper

    graph = model.graph
    producer = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            consts[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)

    def axes(node) -> list | None:
        value = consts.get(node.input[1]) if len(node.input) > 1 else None
        return None if value is None else [int(v) for v in np.ravel(value)]

    def only_use(name: str, op: str):
        users = consumers.get(name, [])
        return users[0] if len(users) == 1 and users[0].op_type == op else None

    replaced, removed, orphans = {}, set(), set()
    for pool in graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in pool.attribute}
        kernel = list(attrs.get("kernel_shape", ()))
        if pool.op_type != "MaxPool" or len(kernel) <= 3 or len(pool.output) != 1:
            continue
        inner = producer.get(pool.input[0])
        outer = producer.get(inner.input[0]) if inner is not None and inner.op_type == "Unsqueeze" else None
        squeeze = only_use(pool.output[0], "Squeeze")
        if (
            outer is None
            or outer.op_type != "Unsqueeze"
            or axes(outer) != [0]
            or axes(inner) != [1]
            or only_use(outer.output[0], "Unsqueeze") is not inner
            or squeeze is None
            or axes(squeeze) != [0, 1]
            or attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET")
        ):
            continue
        k = len(kernel)
        strides = list(attrs.get("strides", [1] * k))
        dilations = list(attrs.get("dilations", [1] * k))
        pads = list(attrs.get("pads", [0] * 2 * k))
        unit = [
            i
            for i in range(k)
            if kernel[i] == 1 and strides[i] == 1 and dilations[i] == 1 and pads[i] == pads[i + k] == 0
        ]
        window = [i for i in range(k) if i not in unit]
        if not (1 <= len(unit) <= 2 and 1 <= len(window) <= 3):
            continue
        perm = unit + window
        tag = pool.name or pool.output[0]
        one = f"{tag}__axis1"
        moved, pooled = f"{tag}__nc_first", f"{tag}__pooled"
        chain = [helper.make_node("Transpose", [outer.input[0]], [moved], perm=perm)]
        if len(unit) == 1:  # MaxPool needs a C axis; a unit one does
            graph.initializer.append(numpy_helper.from_array(np.asarray([1], np.int64), one))
            chain.append(helper.make_node("Unsqueeze", [moved, one], [moved + "_c"]))
            moved = moved + "_c"
        chain.append(
            helper.make_node(
                "MaxPool",
                [moved],
                [pooled],
                kernel_shape=[kernel[i] for i in window],
                strides=[strides[i] for i in window],
                dilations=[dilations[i] for i in window],
                pads=[pads[i] for i in window] + [pads[i + k] for i in window],
                ceil_mode=int(attrs.get("ceil_mode", 0)),
            )
        )
        if len(unit) == 1:
            chain.append(helper.make_node("Squeeze", [pooled, one], [pooled + "_c"]))
            pooled = pooled + "_c"
        chain.append(
            helper.make_node("Transpose", [pooled], [squeeze.output[0]], perm=list(np.argsort(perm)))
        )
        replaced[id(pool)] = chain
        removed.update({id(outer), id(inner), id(squeeze)})
        orphans.update((*outer.input[1:], *inner.input[1:], *squeeze.input[1:]))  # their axes constants
    if not replaced:
        return
    nodes = []
    for node in graph.node:
        if id(node) in replaced:
            nodes.extend(replaced[id(node)])
        elif id(node) not in removed:
            nodes.append(_copy(node))
    used = {name for node in nodes for name in node.input} | {out.name for out in graph.output}
    dead = orphans - used
    nodes = [n for n in nodes if not (n.op_type == "Constant" and n.output[0] in dead)]
    initializers = [_copy(t) for t in graph.initializer if t.name not in dead]
    live = {name for node in nodes for name in (*node.input, *node.output)}
    value_info = [_copy(v) for v in graph.value_info if v.name in live]
    for field, items in (
        (graph.node, nodes),
        (graph.initializer, initializers),
        (graph.value_info, value_info),
    ):
        del field[:]
        field.extend(items)


def _copy(message):
    duplicate = type(message)()
    duplicate.CopyFrom(message)
    return duplicate

"""What every export bridge (ONNX, TensorFlow SavedModel) speaks: the signature dict, output checks, errors.

A bridge is a module with two functions:

    write(fn, weights, signature, out_dir, *, batch="dynamic") -> list[str]
    check(out_dir, signature, inputs, expected, *, rtol=1e-5, atol=1e-5) -> dict

`fn(weights, *inputs)` is a pure JAX function returning one array per
signature output. `signature` is a plain dict:

    {"name": "serving_default",
     "inputs": [{"name": "x", "dtype": "float32", "shape": ["batch", 8]}],
     "outputs": [{"name": "probs", "dtype": "float32", "shape": ["batch", 3]}]}

In a shape an int is a fixed size and a string a symbolic one; a None is
named `<tensor>_<axis>`. With an int `batch`, a "batch" dimension is fixed to
that size.
"""

from __future__ import annotations

import importlib
import re
from types import ModuleType

import numpy as np


class BridgeCheckError(ValueError):
    """The converted model does not reproduce the JAX outputs, or its runtime refused the inputs."""


class BridgeConversionError(RuntimeError):
    """A converter (jax2onnx, jax2tf) could not convert a signature's function."""


def require(module: str, *, package: str, extra: str) -> ModuleType:
    """Import `module`, or raise ImportError naming the pip extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"This export format needs the '{package}' package, which could not be imported ({err}). "
            f'Install it with: pip install "jax-workbench[{extra}]"'
        ) from err


def tensors(signature: dict, which: str) -> list[dict]:
    """The `which` ("inputs" or "outputs") entries of `signature`, each with a name, a dtype and a shape."""
    if not isinstance(signature, dict) or not isinstance(signature.get(which), list):
        raise ValueError(
            f"A bridge signature is a dict with 'name', 'inputs' and 'outputs' lists; got {signature!r}."
        )
    for i, entry in enumerate(signature[which]):
        if not isinstance(entry, dict) or not {"name", "dtype", "shape"} <= set(entry):
            raise ValueError(
                f"Signature '{signature.get('name')}' {which}[{i}] needs 'name', 'dtype' and 'shape'; got {entry!r}."
            )
    return signature[which]


def signature_name(signature: dict) -> str:
    return str(signature.get("name") or "serving_default")


def resolved_shape(entry: dict, batch) -> tuple:
    """`entry`'s shape with ints and dimension names only: None named, "batch" fixed when `batch` is an int."""
    shape = []
    for axis, dim in enumerate(entry["shape"]):
        if dim is None:
            dim = re.sub(r"\W", "_", f"{entry['name']}_{axis}")
        elif dim == "batch" and batch != "dynamic":
            dim = int(batch)
        elif not isinstance(dim, str):
            dim = int(dim)
        shape.append(dim)
    return tuple(shape)


def symbolic_specs(entries: list[dict], batch) -> list:
    """`jax.ShapeDtypeStruct`s for `entries`, with one shared symbol per dimension name (for `jax.export`)."""
    import jax
    import jax.numpy as jnp

    shapes = [resolved_shape(e, batch) for e in entries]
    names = sorted({d for shape in shapes for d in shape if isinstance(d, str)})
    symbols = {}
    if names:
        scope = jax.export.SymbolicScope()
        symbols = dict(zip(names, jax.export.symbolic_shape(", ".join(names), scope=scope)))
    return [
        jax.ShapeDtypeStruct(tuple(symbols.get(d, d) for d in shape), jnp.dtype(e["dtype"]))
        for e, shape in zip(entries, shapes)
    ]


def check_outputs_match(fn, weights: list, signature: dict, batch) -> None:
    """Trace `fn` abstractly and refuse outputs whose count, dtype or rank differ from the signature's."""
    import jax

    name = signature_name(signature)
    specs = symbolic_specs(tensors(signature, "inputs"), batch)
    weight_specs = [jax.ShapeDtypeStruct(np.shape(w), w.dtype) for w in weights]
    result = jax.eval_shape(fn, weight_specs, *specs)
    if not isinstance(result, (tuple, list)):
        raise ValueError(
            f"Signature '{name}': fn(weights, *inputs) must return a tuple with one array per output; "
            f"got {type(result).__name__}."
        )
    outputs = tensors(signature, "outputs")
    if len(result) != len(outputs):
        raise ValueError(
            f"Signature '{name}' declares {len(outputs)} output(s) {[o['name'] for o in outputs]}; "
            f"fn returned {len(result)}."
        )
    for entry, got in zip(outputs, result):
        want = resolved_shape(entry, batch)
        fixed_differ = any(
            isinstance(w, int) and isinstance(g, int) and w != g for w, g in zip(want, got.shape)
        )
        if (
            np.dtype(got.dtype) != np.dtype(_dtype(entry["dtype"]))
            or len(want) != len(got.shape)
            or fixed_differ
        ):
            raise ValueError(
                f"Signature '{name}' output '{entry['name']}' is declared {entry['dtype']}{list(want)}; "
                f"fn returned {got.dtype}{[str(d) for d in got.shape]}."
            )


def as_inputs(signature: dict, inputs: dict) -> dict[str, np.ndarray]:
    """`inputs` in signature order and dtype, refusing missing and unknown names."""
    entries = tensors(signature, "inputs")
    names = [e["name"] for e in entries]
    missing = [n for n in names if n not in inputs]
    unknown = sorted(set(inputs) - set(names))
    if missing or unknown:
        raise ValueError(
            f"Signature '{signature_name(signature)}' takes inputs {names}; "
            f"missing {missing}, unknown {unknown}."
        )
    return {
        e["name"]: np.ascontiguousarray(np.asarray(inputs[e["name"]], dtype=_dtype(e["dtype"])))
        for e in entries
    }


def compare(signature: dict, got: dict, expected: dict, *, rtol: float, atol: float, runtime: str) -> dict:
    """Compare the runtime's outputs with `expected`; return a report or raise BridgeCheckError."""
    name = signature_name(signature)
    report = {"runtime": runtime, "rtol": rtol, "atol": atol, "max_abs_diff": 0.0, "outputs": []}
    failures = []
    for entry in tensors(signature, "outputs"):
        out = entry["name"]
        if out not in expected:
            raise ValueError(f"check: no expected value for output '{out}' of signature '{name}'.")
        if out not in got:
            raise BridgeCheckError(
                f"{runtime} gave no output '{out}' for signature '{name}'; it gave {sorted(got)}."
            )
        want, have = np.asarray(expected[out]), np.asarray(got[out])
        if want.shape != have.shape:
            raise BridgeCheckError(
                f"{runtime}: output '{out}' of signature '{name}' has shape {have.shape}, expected {want.shape}."
            )
        want64, have64 = want.astype(np.float64), have.astype(np.float64)
        diff = float(np.max(np.abs(want64 - have64))) if want.size else 0.0
        report["outputs"].append({"name": out, "shape": list(have.shape), "max_abs_diff": diff})
        report["max_abs_diff"] = max(report["max_abs_diff"], diff)
        if not np.allclose(have64, want64, rtol=rtol, atol=atol, equal_nan=True):
            failures.append(f"'{out}' (largest difference {diff:.3g})")
    if failures:
        raise BridgeCheckError(
            f"{runtime} outputs of signature '{name}' differ from the JAX outputs beyond rtol={rtol}, "
            f"atol={atol}: {', '.join(failures)}."
        )
    return report


def _dtype(name: str) -> np.dtype:
    import jax.numpy as jnp

    return jnp.dtype(name)

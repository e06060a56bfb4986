"""TensorFlow Serving's REST JSON: predict requests to arrays, outputs and metadata back to JSON.

Row ("instances") format, one item per example:

    {"signature_name": "serving_default", "instances": [[1, 2, 3, 4], [5, 6, 7, 8]]}
    {"instances": [{"image": [...], "mask": [...]}, ...]}          several inputs
    -> {"predictions": [[...], [...]]}   or [{"probs": [...], "logits": [...]}, ...] for several outputs

Columnar ("inputs") format, one value per input:

    {"inputs": [[1, 2, 3, 4]]}   or   {"inputs": {"image": [...], "mask": [...]}}
    -> {"outputs": [[...]]}      or   {"outputs": {"probs": [...], "logits": [...]}}
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np

_KEYS = ("signature_name", "instances", "inputs")
_TF_DTYPES = {
    "float32": "DT_FLOAT",
    "float64": "DT_DOUBLE",
    "float16": "DT_HALF",
    "bfloat16": "DT_BFLOAT16",
    "int8": "DT_INT8",
    "int16": "DT_INT16",
    "int32": "DT_INT32",
    "int64": "DT_INT64",
    "uint8": "DT_UINT8",
    "uint16": "DT_UINT16",
    "uint32": "DT_UINT32",
    "uint64": "DT_UINT64",
    "bool": "DT_BOOL",
    "complex64": "DT_COMPLEX64",
    "complex128": "DT_COMPLEX128",
}


class ServingError(Exception):
    """A request the server answers with `{"error": message}` and HTTP `status`."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclasses.dataclass(frozen=True)
class PredictRequest:
    """A parsed :predict body: the signature asked for (None: the default) and the inputs, rows or columns."""

    signature_name: str | None
    rows: bool
    payload: object


def parse_predict(body: bytes) -> PredictRequest:
    """The :predict body as a PredictRequest; ServingError(400) for anything else."""
    if not body:
        raise ServingError(400, 'The request body is empty; expected JSON such as {"instances": [...]}.')
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as e:
        raise ServingError(400, f"The request body is not valid JSON: {str(e)[:200]}") from None
    if not isinstance(data, dict):
        raise ServingError(
            400,
            f'The request body must be a JSON object such as {{"instances": [...]}}; got {_json_type(data)}.',
        )
    extra = [k for k in data if k not in _KEYS]
    if extra:
        raise ServingError(400, f"Unknown key(s) {extra[:5]} in the request; expected {list(_KEYS)}.")
    if ("instances" in data) == ("inputs" in data):
        raise ServingError(400, 'The request needs exactly one of "instances" (rows) and "inputs" (columns).')
    name = data.get("signature_name")
    if name is not None and not isinstance(name, str):
        raise ServingError(400, f'"signature_name" is a string; got {_json_type(name)}.')
    if "instances" in data:
        instances = data["instances"]
        if not isinstance(instances, list) or not instances:
            what = "an empty list" if instances == [] else _json_type(instances)
            raise ServingError(400, f'"instances" is a non-empty list with one item per example; got {what}.')
        return PredictRequest(name or None, True, instances)
    return PredictRequest(name or None, False, data["inputs"])


def input_values(request: PredictRequest, signature) -> dict:
    """{input name: nested lists} for `signature` from a parsed request (arrays come from `signature.validate`)."""
    names = [s.name for s in signature.inputs]
    if not request.rows:
        payload = request.payload
        if isinstance(payload, dict):
            return payload
        if len(names) != 1:
            raise ServingError(
                400,
                f"Signature '{signature.name}' takes inputs {names}; send \"inputs\" as an object with those keys.",
            )
        return {names[0]: payload}
    if not signature.batched:
        raise ServingError(
            400,
            f"Signature '{signature.name}' has no batch dimension, so it cannot take rows (\"instances\"); "
            'send its inputs in the columnar "inputs" format.',
        )
    instances = request.payload
    named = [isinstance(item, dict) for item in instances]
    if not any(named):
        if len(names) != 1:
            raise ServingError(
                400,
                f"Signature '{signature.name}' takes inputs {names}; each instance must be an object with "
                "those keys.",
            )
        return {names[0]: instances}
    if not all(named):
        first = named.index(not named[0])
        raise ServingError(
            400, f"Instances mix objects and plain values (instance {first} differs from instance 0)."
        )
    for i, item in enumerate(instances):
        if set(item) != set(names):
            missing = [n for n in names if n not in item]
            extra = [k for k in item if k not in names]
            raise ServingError(
                400,
                f"Instance {i} of signature '{signature.name}' has "
                + "; ".join(
                    p
                    for p in (
                        f"missing input(s) {missing}" if missing else "",
                        f"unknown input(s) {extra[:5]}" if extra else "",
                    )
                    if p
                )
                + f". Its inputs are {names}.",
            )
    return {n: [item[n] for item in instances] for n in names}


def validated_inputs(request: PredictRequest, signature) -> dict[str, np.ndarray]:
    """The request's inputs checked and converted by `signature.validate`; ServingError(400) naming the input."""
    values = input_values(request, signature)
    try:
        return signature.validate(values)
    except Exception as e:  # noqa: BLE001 - whatever converting client data raises is the client's error
        message = str(e) if isinstance(e, ValueError) else f"{type(e).__name__}: {e}"
        raise ServingError(400, message[:1000]) from None


def _jsonable(array) -> list | float | int | bool:
    array = np.asarray(array)
    if array.dtype.kind == "f" and array.dtype not in (np.float32, np.float64):
        array = array.astype(np.float32)  # float16, bfloat16: JSON numbers either way
    return array.tolist()


def predict_response(outputs: dict[str, np.ndarray], rows: bool) -> dict:
    """TF Serving's answer: {"predictions": [...]} for rows, {"outputs": ...} for columns."""
    if not rows:
        if len(outputs) == 1:
            return {"outputs": _jsonable(next(iter(outputs.values())))}
        return {"outputs": {name: _jsonable(value) for name, value in outputs.items()}}
    if len(outputs) == 1:
        return {"predictions": _jsonable(next(iter(outputs.values())))}
    columns = {name: _jsonable(value) for name, value in outputs.items()}
    count = len(next(iter(columns.values())))
    return {"predictions": [{name: column[i] for name, column in columns.items()} for i in range(count)]}


def _tensor_info(spec) -> dict:
    dims = [{"size": str(d) if isinstance(d, int) else "-1", "name": ""} for d in spec.shape]
    return {
        "dtype": _TF_DTYPES.get(spec.dtype, "DT_INVALID"),
        "tensor_shape": {"dim": dims, "unknown_rank": False},
        "name": spec.name,
    }


def metadata_response(name: str, version: int, artifact) -> dict:
    """TF Serving's GET .../metadata answer: the signature_def of every signature."""
    signature_def = {
        sig_name: {
            "inputs": {s.name: _tensor_info(s) for s in sig.inputs},
            "outputs": {s.name: _tensor_info(s) for s in sig.outputs},
            "method_name": "tensorflow/serving/predict",
        }
        for sig_name, sig in artifact.signatures.items()
    }
    return {
        "model_spec": {"name": name, "signature_name": "", "version": str(version)},
        "metadata": {"signature_def": {"signature_def": signature_def}},
    }


def _json_type(value) -> str:
    """What a JSON value is, with its article: "an object", "a list", "null", ..."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return {dict: "an object", list: "a list", str: "a string", type(None): "null"}.get(
        type(value), type(value).__name__
    )

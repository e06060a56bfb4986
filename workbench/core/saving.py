"""Saving weights and whole models in formats that execute no code when loaded.

Weights are a safetensors file: tensors named by their position in
`model.weights` (Keras' order), with the variable paths, dtypes and a sha256
of the tensor bytes in the header. A whole model (`model.save("m.keras")`) is a
zip holding `config.json`, `metadata.json` (format version and the sha256 of
every member) and `model.weights.safetensors`; a compiled model adds
`compile.json` and, once it has trained, `optimizer.safetensors` (written and
read by `workbench.training.saved_training`, through the model's
`_compile_members` and `_restore_compile_from_members`). Loading checks
structure and hashes before any weight is assigned, and never unpickles.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import os
import struct
import tempfile
import zipfile

import jax.numpy as jnp
import ml_dtypes
import numpy as np
import safetensors.numpy

WEIGHTS_FORMAT = "workbench.weights/1"
MODEL_FORMAT = "workbench.model/1"
_WEIGHTS_MEMBER = "model.weights.safetensors"
# dtypes safetensors' NumPy bridge lacks travel as same-width integers.
_VIEW_AS = {"bfloat16": np.uint16, "float8_e4m3fn": np.uint8, "float8_e5m2": np.uint8}


class CorruptFileError(ValueError):
    """A weights or model file that is truncated, tampered with or of the wrong format."""


def _key(i: int) -> str:
    return f"w{i:05d}"


def _digest(arrays: list[np.ndarray]) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def weights_to_bytes(model) -> bytes:
    paths = [p for p, _ in model._variable_paths()]
    arrays, dtypes = [], []
    for var in model.weights:
        a = np.asarray(var._value)
        dtypes.append(a.dtype.name)
        if a.dtype.name in _VIEW_AS:
            a = a.view(_VIEW_AS[a.dtype.name])
        arrays.append(np.ascontiguousarray(a).reshape(a.shape))  # keeps 0-d weights 0-d
    metadata = {
        "format": WEIGHTS_FORMAT,
        "paths": json.dumps(paths),
        "dtypes": json.dumps(dtypes),
        "sha256": _digest(arrays),
    }
    return safetensors.numpy.save({_key(i): a for i, a in enumerate(arrays)}, metadata=metadata)


def _read_header(data: bytes, source: str, fmt: str = WEIGHTS_FORMAT, what: str = "weights file") -> dict:
    if len(data) < 8:
        raise CorruptFileError(f"{source} is not a {what}: only {len(data)} bytes.")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise CorruptFileError(
            f"{source} is truncated or not a workbench {what}: its header claims {n} bytes, "
            f"but only {len(data) - 8} follow."
        )
    try:
        header = json.loads(data[8 : 8 + n])
    except ValueError as e:
        raise CorruptFileError(
            f"{source} has an unreadable header ({e}); it is not a workbench {what}."
        ) from None
    meta = header.get("__metadata__") or {}
    if meta.get("format") != fmt:
        raise CorruptFileError(
            f"{source} is not a workbench {what}: expected format {fmt!r}, found {meta.get('format')!r}."
        )
    return meta


def arrays_to_bytes(arrays: dict[str, np.ndarray], fmt: str) -> bytes:
    """A safetensors file of named arrays, its format and the arrays' dtypes in the header.

    Dtypes NumPy's safetensors bridge lacks (bfloat16, float8) travel as
    same-width integers and come back as themselves in `arrays_from_bytes`.
    """
    stored, dtypes = {}, {}
    for name, a in arrays.items():
        a = np.asarray(a)
        dtypes[name] = a.dtype.name
        if a.dtype.name in _VIEW_AS:
            a = a.view(_VIEW_AS[a.dtype.name])
        stored[name] = np.ascontiguousarray(a).reshape(a.shape)  # keeps 0-d arrays 0-d
    return safetensors.numpy.save(stored, metadata={"format": fmt, "dtypes": json.dumps(dtypes)})


def arrays_from_bytes(data: bytes, source: str, fmt: str, what: str = "tensor file") -> dict[str, np.ndarray]:
    """The named arrays of an `arrays_to_bytes` file, after checking its format; never unpickles."""
    meta = _read_header(data, source, fmt, what)
    try:
        tensors = safetensors.numpy.load(data)
        dtypes = json.loads(meta["dtypes"])
    except Exception as e:  # safetensors raises its own error type for short or bad buffers
        raise CorruptFileError(f"{source} is truncated or damaged: {e}") from None
    if set(dtypes) != set(tensors):
        raise CorruptFileError(f"{source} lists tensors {sorted(dtypes)} but holds {sorted(tensors)}.")
    return {
        name: a.view(getattr(ml_dtypes, dtypes[name])) if dtypes[name] in _VIEW_AS else a
        for name, a in tensors.items()
    }


def weights_from_bytes(data: bytes, source: str) -> tuple[list[np.ndarray], list[str]]:
    """Parse and verify a weights file; returns the arrays (in order) and their paths."""
    meta = _read_header(data, source)
    try:
        tensors = safetensors.numpy.load(data)
    except Exception as e:  # safetensors raises its own error type for short or bad buffers
        raise CorruptFileError(f"{source} is truncated or damaged: {e}") from None
    paths, dtypes = json.loads(meta["paths"]), json.loads(meta["dtypes"])
    if len(tensors) != len(paths):
        raise CorruptFileError(f"{source} lists {len(paths)} weights but holds {len(tensors)} tensors.")
    arrays = [tensors[_key(i)] for i in range(len(paths))]
    if _digest(arrays) != meta["sha256"]:
        raise CorruptFileError(
            f"{source} failed its checksum: the weight bytes were changed after saving. Refusing to load."
        )
    out = []
    for a, dtype in zip(arrays, dtypes):
        if dtype in _VIEW_AS:
            a = a.view(getattr(ml_dtypes, dtype))
        out.append(a)
    return out, paths


def _assign(model, arrays, paths, source, skip_mismatch=False) -> None:
    weights = model.weights
    if len(arrays) != len(weights):
        raise ValueError(
            f"{source} holds {len(arrays)} weights, but model '{model.name}' has {len(weights)}. "
            f"File: {paths[:6]}{'...' if len(paths) > 6 else ''}; model: "
            f"{[p for p, _ in model._variable_paths()][:6]}..."
        )
    pairs = []
    for var, a, path in zip(weights, arrays, paths):
        if tuple(a.shape) != var.shape:
            if skip_mismatch:
                continue
            raise ValueError(
                f"{source}: weight {path} has shape {tuple(a.shape)}, but model weight "
                f"'{var.path}' has shape {var.shape}."
            )
        pairs.append((var, a))
    for var, a in pairs:
        var._value = jnp.asarray(a, dtype=var.dtype)


def _atomic_write(path: str, data: bytes, overwrite: bool) -> None:
    path = os.fspath(path)
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path} exists and overwrite=False.")
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the mode open() would
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_weights(model, filepath, overwrite: bool = True) -> None:
    if not model.built:
        raise ValueError(f"Model '{model.name}' has no weights yet: build it or call it on data first.")
    _atomic_write(filepath, weights_to_bytes(model), overwrite)


def load_weights(model, filepath, skip_mismatch: bool = False) -> None:
    filepath = os.fspath(filepath)
    if filepath.endswith(".keras"):
        with _open_model_zip(filepath) as (_, weights_bytes, _meta):
            arrays, paths = weights_from_bytes(weights_bytes, filepath)
    else:
        with open(filepath, "rb") as f:
            data = f.read()
        arrays, paths = weights_from_bytes(data, filepath)
    _assign(model, arrays, paths, filepath, skip_mismatch)


def save_model(model, filepath, overwrite: bool = True, zipped=None, **extra_members) -> None:
    from workbench.core import serialization

    filepath = os.fspath(filepath)
    if not filepath.endswith(".keras"):
        raise ValueError(
            f"model.save expects a path ending in '.keras' (e.g. 'model.keras'), got {filepath!r}. "
            "Use save_weights() for weights alone."
        )
    if not model.built:
        raise ValueError(f"Model '{model.name}' is not built: call it on data or build it before saving.")
    config = json.dumps(serialization.serialize_layer(model)).encode()
    weights = weights_to_bytes(model)
    members = {"config.json": config, _WEIGHTS_MEMBER: weights}
    if hasattr(model, "_compile_members"):  # compile config and optimizer state, when there are any
        members.update(model._compile_members())
    members.update({name: data for name, data in extra_members.items() if data is not None})
    from workbench import __version__

    metadata = {
        "format": MODEL_FORMAT,
        "workbench_version": __version__,
        "date_saved": datetime.datetime.now(datetime.UTC).isoformat(),
        "sha256": {name: hashlib.sha256(data).hexdigest() for name, data in members.items()},
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("metadata.json", json.dumps(metadata, indent=1))
        for name, data in members.items():
            zf.writestr(name, data)
    _atomic_write(filepath, buf.getvalue(), overwrite)


class _open_model_zip:
    """Open and verify a `.keras` file: yields (config dict, weights bytes, metadata)."""

    def __init__(self, filepath: str):
        self.filepath = filepath

    def __enter__(self):
        path = self.filepath
        if not os.path.exists(path):
            raise FileNotFoundError(f"No model file at {path}.")
        try:
            zf = zipfile.ZipFile(path)
            members = {name: zf.read(name) for name in zf.namelist()}
        except (zipfile.BadZipFile, EOFError, OSError, zipfile.LargeZipFile) as e:
            raise CorruptFileError(f"{path} is truncated or not a model file written by model.save: {e}") from None
        if "metadata.json" not in members:
            raise CorruptFileError(f"{path} has no metadata.json: it was not written by workbench's model.save.")
        try:
            meta = json.loads(members["metadata.json"])
        except ValueError as e:
            raise CorruptFileError(f"{path}: metadata.json is unreadable ({e}).") from None
        if meta.get("format") != MODEL_FORMAT:
            raise CorruptFileError(
                f"{path}: expected model format {MODEL_FORMAT!r}, found {meta.get('format')!r}."
            )
        for name, digest in meta.get("sha256", {}).items():
            if name not in members:
                raise CorruptFileError(f"{path} is missing its member {name}.")
            if hashlib.sha256(members[name]).hexdigest() != digest:
                raise CorruptFileError(f"{path}: {name} failed its checksum; the file was changed after saving.")
        self.members = members
        return json.loads(members["config.json"]), members[_WEIGHTS_MEMBER], meta

    def __exit__(self, *exc):
        return False


def load_model(filepath, custom_objects=None, compile: bool = True, safe_mode: bool = True):
    """Rebuild a model saved with `model.save(...)`, weights included.

    With `compile=True` a model saved compiled comes back compiled with the same
    optimizer, losses and metrics, and one saved after training also gets its
    optimizer state, step counter and RNG key back, so `fit` continues where it
    stopped (see `workbench.training.saved_training`). `compile=False` gives the
    uncompiled model. `custom_objects` maps names to your own classes and
    functions (layers, losses, metrics, optimizers).
    """
    from workbench.core import serialization

    filepath = os.fspath(filepath)
    opener = _open_model_zip(filepath)
    with opener as (config, weights_bytes, _meta):
        arrays, paths = weights_from_bytes(weights_bytes, filepath)
        model = serialization.deserialize_layer(config, custom_objects, safe_mode)
        _assign(model, arrays, paths, filepath)
        model._loaded_members = {k: v for k, v in opener.members.items()
                                 if k not in ("config.json", "metadata.json", _WEIGHTS_MEMBER)}
    if compile and hasattr(model, "_restore_compile_from_members"):
        model._restore_compile_from_members(
            model._loaded_members, custom_objects=custom_objects, source=filepath
        )
    return model

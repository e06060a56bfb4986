"""`load(path)`: an exported artifact as callables, without the model's Python code.

Loading checks the manifest's own checksum, then every file's size and sha256,
then the format and program versions, and only then reads the weights
(safetensors) and deserialises the programs. Nothing is unpickled and no
Python from the artifact is run.

>>> art = load("runs/20260101-120000-mnist-1a2b/artifacts/1")   # doctest: +SKIP
>>> art.signatures["serving_default"].inputs                      # doctest: +SKIP
[TensorSpec(shape=(None, 28, 28, 1), dtype='float32', name='image')]
>>> probs = art(images)                                           # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from pathlib import Path

import jax
import numpy as np

from workbench.export import integrity
from workbench.export.inputs import gather, validate
from workbench.export.integrity import ArtifactError
from workbench.export.specs import TensorSpec

_PLATFORM = {"gpu": "cuda"}


def _public(spec: TensorSpec) -> TensorSpec:
    """The spec as callers see it: symbolic sizes as None."""
    return dataclasses.replace(spec, shape=tuple(d if isinstance(d, int) else None for d in spec.shape))


class Signature:
    """One entry point of an artifact: call it with arrays, positionally or by input name."""

    def __init__(self, name: str, entry: dict, exported, weights: list):
        self.name = name
        self._specs = [TensorSpec.from_json(s) for s in entry["inputs"]]
        self._out_specs = [TensorSpec.from_json(s) for s in entry["outputs"]]
        self.inputs = [_public(s) for s in self._specs]
        self.outputs = [_public(s) for s in self._out_specs]
        self._exported = exported
        self._weights = weights
        self._call = jax.jit(exported.call)

    @property
    def batched(self) -> bool:
        """Every input and output has the symbolic batch dimension first, so requests can be stacked."""
        return all(s.batched for s in self._specs) and all(s.batched for s in self._out_specs)

    def validate(self, inputs: dict) -> dict:
        """`inputs` ({name: array-like}) checked and converted to the signature's dtypes; raises InputError."""
        return validate(self._specs, gather(self._specs, (), dict(inputs), self.name), self.name)

    def _run(self, given: dict) -> tuple:
        arrays = validate(self._specs, given, self.name)
        return self._call(self._weights, *[arrays[s.name] for s in self._specs])

    def call_dict(self, inputs: dict) -> dict:
        """Run on `{input name: array}`; returns `{output name: jax.Array}`."""
        out = self._run(gather(self._specs, (), dict(inputs), self.name))
        return {s.name: v for s, v in zip(self._out_specs, out)}

    def __call__(self, *args, **kwargs):
        """Outputs for the inputs given by position or name: one array, or {name: array} for several."""
        out = self._run(gather(self._specs, args, kwargs, self.name))
        return out[0] if len(out) == 1 else {s.name: v for s, v in zip(self._out_specs, out)}

    def __repr__(self) -> str:
        def spec(s: TensorSpec) -> str:
            return f"{s.name}: {s.dtype}[{', '.join(str(d) for d in s.shape)}]"

        ins = ", ".join(spec(s) for s in self._specs)
        outs = ", ".join(spec(s) for s in self._out_specs)
        return f"<Signature {self.name}({ins}) -> ({outs})>"


class Artifact:
    """A loaded artifact: `.signatures`, `.manifest`, and a call per signature (`art(x)` is the default one)."""

    def __init__(self, path: Path, manifest: dict, signatures: dict):
        self.path = path
        self.manifest = manifest
        self.signatures: Mapping[str, Signature] = _ReadOnly(signatures)
        self.default_signature = manifest["default_signature"]

    def __call__(self, *args, **kwargs):
        return self.signatures[self.default_signature](*args, **kwargs)

    def __getattr__(self, name: str):
        signatures = self.__dict__.get("signatures")
        if signatures is not None and name in signatures:
            return signatures[name]
        raise AttributeError(f"{type(self).__name__} has no attribute or signature {name!r}.")

    def __repr__(self) -> str:
        return f"<Artifact {self.path} signatures={list(self.signatures)}>"


class _ReadOnly(Mapping):
    def __init__(self, data: dict):
        self._data = data

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{k!r}: {v!r}" for k, v in self._data.items()) + "}"

    def __getitem__(self, key):
        try:
            return self._data[key]
        except KeyError:
            raise KeyError(f"No signature {key!r}; this artifact has {list(self._data)}.") from None

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)


_lock = threading.Lock()


def load(path, *, device=None) -> Artifact:
    """Verify and load the artifact at `path`; raises ArtifactError naming the first file that fails a check."""
    from jax import export as jax_export

    from workbench.core.saving import CorruptFileError, arrays_from_bytes
    from workbench.export.writer import WEIGHTS_FORMAT

    root = Path(path).expanduser().absolute()
    manifest = integrity.read_manifest(root)
    _check_runtime(root, manifest)
    weights_file = root / manifest["weights"]["file"]
    try:
        stored = arrays_from_bytes(weights_file.read_bytes(), str(weights_file), WEIGHTS_FORMAT, "weights file")
    except CorruptFileError as e:
        raise ArtifactError(str(e)) from None
    names = manifest["weights"]["names"]
    if sorted(stored) != sorted(names):
        raise ArtifactError(f"{weights_file} holds weights {sorted(stored)[:5]}..., the manifest lists "
                            f"{sorted(names)[:5]}...; they must match.")
    device = device if device is not None else jax.devices()[0]
    weights = [jax.device_put(stored[n], device) for n in names]
    signatures = {}
    for name, entry in manifest["signatures"].items():
        program = root / entry["program"]
        with _lock:  # deserialisation registers custom calls process-wide
            try:
                exported = jax_export.deserialize(bytearray(program.read_bytes()))
            except Exception as e:  # noqa: BLE001 - flatbuffers raises assorted errors on damaged input
                raise ArtifactError(f"{program} could not be read as a jax.export program: {e}") from None
        if len(exported.in_avals) != len(names) + len(entry["inputs"]):
            raise ArtifactError(f"{program} takes {len(exported.in_avals)} arguments; the manifest describes "
                                f"{len(names)} weights and {len(entry['inputs'])} inputs.")
        signatures[name] = Signature(name, entry, exported, weights)
    return Artifact(root, manifest, signatures)


def _check_runtime(root: Path, manifest: dict) -> None:
    """Refuse, before any program is deserialised, what this jax cannot run."""
    from jax import export as jax_export

    lo = jax_export.minimum_supported_calling_convention_version
    hi = jax_export.maximum_supported_calling_convention_version
    for name, entry in manifest["signatures"].items():
        version = entry.get("calling_convention_version")
        if not isinstance(version, int) or not lo <= version <= hi:
            raise ArtifactError(
                f"{root / entry['program']}: signature '{name}' was exported with calling convention {version} "
                f"(jax {manifest['versions'].get('jax')}); this jax {jax.__version__} runs versions {lo}..{hi}."
            )
    platform = _PLATFORM.get(jax.default_backend(), jax.default_backend())
    if platform not in manifest["platforms"]:
        raise ArtifactError(
            f"{root} was exported for {manifest['platforms']}, not for this machine's {platform}. "
            f"Export again with platforms=({platform!r}, ...)."
        )


def verify(path, *, rtol: float | None = None, atol: float | None = None) -> dict:
    """Recheck every file's hash and replay the golden vectors; returns a report, raises ArtifactError on a mismatch.

    On the platform the artifact was exported on the outputs must agree to
    rtol=1e-5, atol=1e-6; elsewhere (another backend's kernels) to 1e-3.
    """
    from workbench.core.saving import CorruptFileError
    from workbench.export.golden import read_golden

    art = load(path)
    same = art.manifest["golden"]["platform"] == jax.default_backend()
    rtol = rtol if rtol is not None else (1e-5 if same else 1e-3)
    atol = atol if atol is not None else (1e-6 if same else 1e-3)
    report = {"path": str(art.path), "files": len(art.manifest["files"]) + 2, "signatures": {}}
    for name, sig in art.signatures.items():
        entry = art.manifest["signatures"][name]
        golden = art.path / entry["golden"]
        try:
            inputs, expected = read_golden(golden)
        except CorruptFileError as e:
            raise ArtifactError(str(e)) from None
        got = sig.call_dict(inputs)
        worst = 0.0
        for out_name, want in expected.items():
            have = np.asarray(got[out_name])
            if have.shape != want.shape:
                raise ArtifactError(f"{golden}: output '{out_name}' of '{name}' has shape {have.shape}, "
                                    f"the golden vectors {want.shape}.")
            diff = np.abs(have.astype(np.float64) - want.astype(np.float64))
            worst = max(worst, float(diff.max(initial=0.0)))
            if not np.allclose(have, want, rtol=rtol, atol=atol, equal_nan=True):
                raise ArtifactError(
                    f"{golden}: signature '{name}', output '{out_name}' differs from the golden vectors by up to "
                    f"{float(diff.max()):.3g} (allowed: rtol={rtol}, atol={atol})."
                )
        report["signatures"][name] = {"rows": int(next(iter(inputs.values())).shape[0]) if inputs else 0,
                                      "max_abs_diff": worst}
    report["ok"] = True
    return report

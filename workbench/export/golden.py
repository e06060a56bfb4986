"""Golden vectors: a few sample inputs and the outputs the exported program gave for them.

`workbench export verify` replays them, so a copy of an artifact on another
machine (or another jax version) can be checked to compute what it computed
when it was exported.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workbench.export.specs import TensorSpec

GOLDEN_FORMAT = "workbench.artifact-golden/1"
_ROWS = 3  # the batch of the generated samples
_FREE = 5  # the size of any other symbolic dimension in generated samples


def sample_inputs(specs: list[TensorSpec], given, signature: str) -> dict:
    """`given` (an array, a list or a dict of arrays) named by the specs, or seeded samples when it is None."""
    if given is not None:
        if isinstance(given, dict):
            return dict(given)
        if isinstance(given, (list, tuple)) and len(specs) > 1:
            return dict(zip([s.name for s in specs], given))
        if len(specs) != 1:
            raise ValueError(f"samples= for signature '{signature}' needs {len(specs)} inputs "
                             f"{[s.name for s in specs]}: pass a list or dict.")
        return {specs[0].name: given}
    rng = np.random.default_rng(0)
    out = {}
    for spec in specs:
        shape = tuple(d if isinstance(d, int) else (_ROWS if d == "batch" else _FREE) for d in spec.shape)
        dtype = np.dtype(spec.dtype)
        if dtype.kind == "f" or dtype.name in ("bfloat16",):
            out[spec.name] = rng.standard_normal(shape).astype(dtype)
        elif dtype.kind == "b":
            out[spec.name] = rng.random(shape) < 0.5
        else:  # token ids and class indices: small ones, valid for any vocabulary
            out[spec.name] = rng.integers(0, 2, shape).astype(dtype)
    return out


def write_golden(path: Path, inputs: dict, outputs: dict) -> None:
    from workbench.core.saving import arrays_to_bytes

    arrays = {f"input/{k}": np.asarray(v) for k, v in inputs.items()}
    arrays.update({f"output/{k}": np.asarray(v) for k, v in outputs.items()})
    path.write_bytes(arrays_to_bytes(arrays, GOLDEN_FORMAT))


def read_golden(path: Path) -> tuple[dict, dict]:
    from workbench.core.saving import arrays_from_bytes

    arrays = arrays_from_bytes(path.read_bytes(), str(path), GOLDEN_FORMAT, "golden vectors file")
    inputs = {k[len("input/"):]: v for k, v in arrays.items() if k.startswith("input/")}
    outputs = {k[len("output/"):]: v for k, v in arrays.items() if k.startswith("output/")}
    return inputs, outputs

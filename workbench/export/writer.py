"""`model.export()`: a self-contained artifact that runs without the model's Python code.

The artifact is a folder:

    manifest.json        format, signatures, platforms, versions, provenance, every file's size and sha256
    manifest.sha256      the manifest's own sha256 (`sha256sum -c manifest.sha256` checks it)
    programs/<sig>.jaxexport   one jax.export program per signature; the weights are its first argument
    weights.safetensors  the weights, by name (safetensors: loading runs no code)
    golden/<sig>.safetensors   sample inputs and the outputs the program gave for them at export
    model.json           the model's config, when it has one
    assets/              files the model needs at serving time (a vocabulary, labels)
    onnx/<sig>/, saved_model/<sig>/   extra formats, when asked for

It is written into a temporary folder beside `path` and renamed into place,
so a crash leaves no half-written artifact and never touches an existing one.
"""

from __future__ import annotations

import datetime
import os
import shutil
import tempfile
from pathlib import Path

import jax
import numpy as np

from workbench.export import integrity, programs
from workbench.export.golden import sample_inputs, write_golden
from workbench.export.inputs import gather, validate
from workbench.export.specs import Signature, TensorSpec, as_signature

PLATFORMS = ("cpu", "cuda", "rocm", "tpu")
FORMATS = ("onnx", "saved_model")
WEIGHTS_FILE = "weights.safetensors"
WEIGHTS_FORMAT = "workbench.artifact-weights/1"


def export_model(model, path=None, signatures=None, platforms=("cpu", "cuda", "tpu"), batch="dynamic", *,
                 samples=None, assets=None, formats=(), overwrite: bool = False) -> Path:
    """Write `model` as an artifact folder and return its path; see `Model.export` for the arguments."""
    if not getattr(model, "built", False):
        raise ValueError(f"Model '{model.name}' is not built yet: call it on data (or fit it) before export().")
    platforms = _check_platforms(platforms)
    if batch != "dynamic" and not (isinstance(batch, int) and not isinstance(batch, bool) and batch >= 1):
        raise ValueError(f"batch is 'dynamic' or a fixed batch size >= 1; got {batch!r}.")
    formats = tuple(formats or ())
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"formats= takes any of {list(FORMATS)}; got {unknown}.")
    target = _target(model, path, overwrite)
    sigs = _signatures(model, signatures)

    weights = programs.flat_weights(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        from workbench.core.saving import arrays_to_bytes

        (tmp / WEIGHTS_FILE).write_bytes(arrays_to_bytes(dict(weights), WEIGHTS_FORMAT))
        (tmp / "programs").mkdir()
        (tmp / "golden").mkdir()
        entries, extra = {}, {}
        for name, sig in sigs.items():
            built = programs.export_signature(model, name, sig, weights, platforms, batch)
            (tmp / "programs" / f"{name}.jaxexport").write_bytes(built.serialized)
            given = samples if (samples is not None and sig.inputs is None) else None
            inputs = sample_inputs(built.inputs, given, name)
            inputs = validate(built.inputs, gather(built.inputs, (), inputs, name), name)
            outputs = built.run([w for _, w in weights], inputs)
            write_golden(tmp / "golden" / f"{name}.safetensors", inputs, outputs)
            entries[name] = {
                "program": f"programs/{name}.jaxexport",
                "golden": f"golden/{name}.safetensors",
                "inputs": [s.to_json() for s in built.inputs],
                "outputs": [s.to_json() for s in built.outputs],
                "calling_convention_version": built.calling_convention_version,
            }
            for fmt in formats:
                extra.setdefault(fmt, {})[name] = _bridge(fmt, built, weights, tmp, entries[name], inputs, outputs)
        _config(model, tmp)
        _assets(assets, tmp / "assets")
        manifest = {
            "format": integrity.FORMAT,
            "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "model": {"class": type(model).__name__, "name": model.name,
                      "config": "model.json" if (tmp / "model.json").exists() else None},
            "signatures": entries,
            "default_signature": "serving_default" if "serving_default" in entries else next(iter(entries)),
            "platforms": list(platforms),
            "batch": batch,
            "weights": {"file": WEIGHTS_FILE, "names": [n for n, _ in weights],
                        "parameters": int(sum(np.size(w) for _, w in weights))},
            "golden": {"platform": jax.default_backend()},
            "formats": extra,
            "versions": _versions(),
            "provenance": _provenance(model),
            "files": integrity.file_table(tmp),
        }
        integrity.write_manifest(tmp, manifest)
        _move_into_place(tmp, target, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _check_platforms(platforms) -> tuple[str, ...]:
    if isinstance(platforms, str):
        platforms = (platforms,)
    platforms = tuple(dict.fromkeys(p.lower() for p in platforms))
    bad = [p for p in platforms if p not in PLATFORMS]
    if bad or not platforms:
        raise ValueError(f"platforms= takes one or more of {list(PLATFORMS)}; got {bad or 'none'}.")
    return platforms


def _target(model, path, overwrite: bool) -> Path:
    if path is None:
        run = getattr(model, "_run_path", None)
        if run is None:
            raise ValueError(
                f"Model '{model.name}' has no run to export into: export(path) needs a path unless the model "
                "was trained with fit() logging a run (the default)."
            )
        return _next_numbered(Path(run) / "artifacts")
    target = Path(path).expanduser().absolute()
    if target.exists() and not overwrite:
        if not target.is_dir() or any(target.iterdir()):
            raise FileExistsError(f"{target} already exists; pass overwrite=True to replace it, or another path.")
    if target.exists() and overwrite and target.is_dir() and any(target.iterdir()):
        if not (target / integrity.MANIFEST).exists():
            raise FileExistsError(
                f"{target} holds files but no artifact; overwrite=True replaces only an artifact folder."
            )
    return target


def _next_numbered(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    taken = [int(p.name) for p in root.iterdir() if p.name.isdigit()]
    return root / str(max(taken, default=0) + 1)


def _move_into_place(tmp: Path, target: Path, overwrite: bool) -> None:
    if target.exists() and not any(target.iterdir()):
        target.rmdir()
    if not target.exists():
        os.rename(tmp, target)
        return
    assert overwrite
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
    old.rmdir()
    os.rename(target, old)
    os.rename(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


def _signatures(model, signatures) -> dict[str, Signature]:
    if signatures is None:
        return {"serving_default": Signature()}
    if not isinstance(signatures, dict) or not signatures:
        raise TypeError(
            "signatures= is a dict {name: Signature | fn(model, *inputs) | input TensorSpecs}; "
            f"got {type(signatures).__name__}."
        )
    out = {}
    for name, value in signatures.items():
        TensorSpec((), name=str(name))  # the same naming rule as tensors: it becomes a file name and a URL
        out[str(name)] = as_signature(value)
    return out


def _bridge(fmt, built, weights, tmp: Path, entry: dict, inputs: dict, outputs: dict) -> dict:
    if fmt == "onnx":
        from workbench.export import onnx_bridge as bridge
    else:
        from workbench.export import tf_bridge as bridge
    out_dir = tmp / fmt / built.name
    signature = {"name": built.name, "inputs": entry["inputs"], "outputs": entry["outputs"]}
    written = bridge.write(built.fn, [w for _, w in weights], signature, out_dir, batch=built.batch)
    report = bridge.check(out_dir, signature, {k: np.asarray(v) for k, v in inputs.items()},
                          {k: np.asarray(v) for k, v in outputs.items()})
    return {"path": f"{fmt}/{built.name}", "files": sorted(written), "check": report}


def _config(model, tmp: Path) -> None:
    try:
        text = model.to_json()
    except Exception:  # noqa: BLE001 - subclassed models have no config; the program does not need one
        return
    (tmp / "model.json").write_text(text)


def _assets(assets, folder: Path) -> None:
    folder.mkdir()
    if assets is None:
        return
    if isinstance(assets, (str, os.PathLike)) and Path(assets).is_dir():
        shutil.copytree(assets, folder, dirs_exist_ok=True)
        return
    if not isinstance(assets, dict):
        raise TypeError(f"assets= is a folder or a dict {{file name: bytes | str | path}}; got {type(assets).__name__}.")
    for name, value in assets.items():
        rel = Path(name)
        if rel.is_absolute() or ".." in rel.parts:
            raise ValueError(f"Asset names are relative paths inside assets/; got {name!r}.")
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(value, bytes):
            (folder / rel).write_bytes(value)
        elif isinstance(value, os.PathLike) or (isinstance(value, str) and Path(value).is_file()):
            shutil.copyfile(value, folder / rel)
        elif isinstance(value, str):
            (folder / rel).write_text(value)
        else:
            raise TypeError(f"Asset {name!r} is bytes, text or a file path; got {type(value).__name__}.")


def _versions() -> dict:
    import jaxlib

    from workbench.runs.provenance import package_version

    return {"jax": jax.__version__, "jaxlib": jaxlib.__version__, "workbench": package_version("jax-workbench"),
            "numpy": np.__version__}


def _provenance(model) -> dict:
    from workbench.core.rng import global_seed
    from workbench.runs.provenance import git_state, jsonable

    out = {"run_id": None, "metrics": {}, "git": git_state(), "data": None, "seed": global_seed()}
    run = getattr(model, "_run_path", None)
    if run is not None:
        import json

        try:
            info = json.loads((Path(run) / "run.json").read_text())
        except (OSError, ValueError):
            info = {}
        summary = info.get("summary") or {}
        out.update(run_id=info.get("id", Path(run).name), data=info.get("data"),
                   git=(info.get("environment") or {}).get("git") or out["git"],
                   epochs=summary.get("epochs"), steps=summary.get("steps"))
        out["metrics"] = {**summary.get("train", {}), **{f"val_{k}": v for k, v in summary.get("val", {}).items()}}
        seed = (info.get("hparams") or {}).get("seed")
        if seed is not None:
            out["seed"] = seed
    history = getattr(getattr(model, "history", None), "history", None)
    if not out["metrics"] and history:
        out["metrics"] = {k: v[-1] for k, v in history.items() if v}
    out["metrics"] = jsonable(out["metrics"])
    return out

"""Export a run from its folder alone: rebuild the model from run.json, restore a checkpoint, export.

The lab's Export button runs this in a child process (`python -m
workbench.lab.export_run RUN_FOLDER ...`), so the server never holds a model or
an accelerator, and a failing export cannot take the server down. The model is
rebuilt only from its JSON config through the layer registry (`safe_mode`:
Lambda layers are refused); nothing is unpickled or evaluated. The artifact is
written into the run's `artifacts/<n>/` with the run's provenance, and may be
pushed to a model repository.

The child prints one JSON object as its last line of output: the result
(`path`, `manifest`, `pushed`), or `{"error": message}` with exit status 1 for a
refusal the user can act on and 2 for anything else.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


class ExportRefused(Exception):
    """The run cannot be exported from the lab; the message says why and what to do instead."""


def export_run(folder: str | Path, checkpoint: int | None = None, push: dict | None = None) -> dict:
    """Rebuild the model of the run at `folder`, load `checkpoint` (the newest when None) and export it.

    `push`: None, or {"name": model name, "repository": folder} to push the
    artifact to a model repository as the next version of that name.
    Returns {"path", "manifest", "pushed"}.
    """
    from workbench.lab.runs_view import exportable
    from workbench.runs.reader import read_run_json

    folder = Path(folder).absolute()
    info = read_run_json(folder)
    if info is None:
        raise ExportRefused(f"{folder} has no readable run.json, so the model cannot be rebuilt.")
    verdict = exportable(info)
    if not verdict["ok"]:
        raise ExportRefused(verdict["reason"])
    if push is not None:
        from workbench.export.repository import RepositoryError, check_name

        try:
            check_name(push.get("name"))
        except RepositoryError as e:
            raise ExportRefused(str(e)) from None
        if not push.get("repository"):
            raise ExportRefused("push needs a model repository folder.")

    model = _rebuild(info, folder)
    _restore(model, folder / "checkpoints", checkpoint)
    model._run_path = folder  # the artifact goes to the run's artifacts/ with its provenance

    from workbench.export.writer import export_model

    path = export_model(model)
    manifest = json.loads((path / "manifest.json").read_text())
    pushed = None
    if push is not None:
        from workbench.export.repository import Repository

        repository = Repository(push["repository"])
        version = repository.push(path, push["name"])
        pushed = {"name": push["name"], "version": version, "path": str(repository.path(push["name"], version))}
    return {"path": str(path), "manifest": manifest, "pushed": pushed}


def _rebuild(info: dict, folder: Path):
    from workbench import models
    from workbench.training.saved_training import compile_arguments

    try:
        model = models.model_from_config(info["model"]["config"], safe_mode=True)
    except (ValueError, TypeError, KeyError) as e:
        raise ExportRefused(f"The model cannot be rebuilt from the config in {folder / 'run.json'}: {e}") from None
    if not model.built:
        raise ExportRefused(
            f"The model '{model.name}' rebuilt from its config has no input shape, so its weights cannot be "
            "restored. Give the model an Input (or input_shape=) or export it from the notebook."
        )
    try:
        model.compile(**compile_arguments(info["compile"]))
    except (ValueError, TypeError, KeyError) as e:
        raise ExportRefused(f"The run's compile settings cannot be rebuilt: {e}") from None
    return model


def _restore(model, directory: Path, step: int | None) -> None:
    from workbench.training.checkpoints import CheckpointMismatchError, restore_model

    try:
        restore_model(model, directory, step=step)
    except FileNotFoundError as e:
        raise ExportRefused(f"The run has no checkpoint to export: {e}") from None
    except CheckpointMismatchError as e:
        raise ExportRefused(str(e)) from None
    except ValueError as e:
        raise ExportRefused(f"Checkpoint {step} cannot be restored: {e}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workbench.lab.export_run", description=__doc__.split("\n")[0])
    parser.add_argument("folder", help="the run folder")
    parser.add_argument("--checkpoint", type=int, default=None, help="checkpoint step (default: the newest)")
    parser.add_argument("--push-name", default=None, help="push the artifact to a repository under this name")
    parser.add_argument("--repository", default=None, help="the model repository folder for --push-name")
    args = parser.parse_args(argv)
    push = {"name": args.push_name, "repository": args.repository} if args.push_name is not None else None
    try:
        result = export_run(args.folder, args.checkpoint, push)
    except ExportRefused as e:
        print(json.dumps({"error": str(e)}))
        return 1
    except Exception as e:  # noqa: BLE001 - reported to the lab as the failure's message
        print(json.dumps({"error": f"The export failed: {type(e).__name__}: {e}"}))
        return 2
    from workbench.lab.runs_view import finite

    print(json.dumps(finite(result), allow_nan=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`workbench models ...`: push, list, promote, roll back and remove versions in a model repository."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from workbench.export.gate import Gate
from workbench.export.repository import Repository

REPO_HELP = "the model repository (default: $WORKBENCH_MODELS_DIR or ./models)"


def models_dir(repo: str | None = None) -> Path:
    """The repository folder: `repo`, else $WORKBENCH_MODELS_DIR, else ./models."""
    return Path(repo or os.environ.get("WORKBENCH_MODELS_DIR") or "models")


def _version(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a version number (1, 2, ...), got {text!r}")
    return value


def _tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def _fails(command: str, error: Exception) -> int:
    print(f"workbench models {command}: {error}", file=sys.stderr)
    return 2


def _push(args) -> int:
    repo = Repository(models_dir(args.repo))
    try:
        version = repo.push(args.artifact, args.name, label=args.label)
    except (ValueError, OSError) as e:
        return _fails("push", e)
    where = repo.root / args.name / str(version)
    print(
        f"Pushed {args.artifact} as {args.name} version {version} ({where})"
        + (f", labelled {args.label}" if args.label else "")
    )
    return 0


def _list(args) -> int:
    repo = Repository(models_dir(args.repo))
    try:
        names = [args.name] if args.name else repo.models()
        rows = [["NAME", "VERSIONS", "LABELS"]]
        for name in names:
            versions = repo.versions(name)
            labels = repo.labels(name)
            rows.append(
                [
                    name,
                    ", ".join(map(str, versions)) or "-",
                    ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "-",
                ]
            )
    except (ValueError, OSError) as e:
        return _fails("list", e)
    if len(rows) == 1:
        print(f"No models in {repo.root}.")
        return 0
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    return 0


def _promote(args) -> int:
    repo = Repository(models_dir(args.repo))
    try:
        gate = None
        if args.gate_metric or args.validate_on:
            metric = args.gate_metric or "loss"
            gate = Gate(metric, mode=args.mode, tolerance=args.tolerance, data=args.validate_on)
        before = repo.labels(args.name).get(args.label)
        result = repo.promote(args.name, args.version, label=args.label, gate=gate)
    except (ValueError, OSError) as e:
        return _fails("promote", e)
    moved = f"{before} -> {args.version}" if before not in (None, args.version) else str(args.version)
    note = ""
    if result is not None:
        note = f" ({result})"
    elif gate is not None and before is None:
        note = " (no current version to compare with, so the gate was not run)"
    print(f"{args.name}: {args.label} = {moved}{note}")
    return 0


def _rollback(args) -> int:
    repo = Repository(models_dir(args.repo))
    try:
        before = repo.labels(args.name).get(args.label)
        version = repo.rollback(args.name, label=args.label)
    except (ValueError, OSError) as e:
        return _fails("rollback", e)
    print(f"{args.name}: {args.label} = {before} -> {version}")
    return 0


def _remove(args) -> int:
    repo = Repository(models_dir(args.repo))
    try:
        repo.remove(args.name, args.version, force=args.force)
    except (ValueError, OSError) as e:
        return _fails("rm", e)
    print(f"Removed {args.name} version {args.version}")
    return 0


def add_models_parser(subparsers) -> argparse.ArgumentParser:
    """Register `workbench models {push,list,promote,rollback,rm}` on the CLI's subparsers."""
    models = subparsers.add_parser(
        "models", help="a repository of model versions: push, list, promote, rollback, rm"
    )
    sub = models.add_subparsers(dest="models_command")

    push = sub.add_parser("push", help="copy an exported artifact in as the next version of a model")
    push.add_argument("artifact", help="the artifact folder written by model.export(...)")
    push.add_argument("--name", required=True, help="the model's name (letters, digits, _ . -)")
    push.add_argument("--label", default=None, help="point this label (e.g. canary) at the new version")
    push.set_defaults(func=_push)

    listing = sub.add_parser("list", help="one line per model: versions and labels")
    listing.add_argument("name", nargs="?", default=None, help="only this model")
    listing.set_defaults(func=_list)

    promote = sub.add_parser(
        "promote", help="point a label (default stable) at a version, behind an optional gate"
    )
    promote.add_argument("name", help="the model's name")
    promote.add_argument("version", type=_version, help="the version to promote")
    promote.add_argument("--label", default="stable", help="the label to move (default: %(default)s)")
    promote.add_argument(
        "--gate-metric",
        default=None,
        help="refuse when this metric is worse than the current version's (with --validate-on, default: loss)",
    )
    promote.add_argument(
        "--mode", choices=("auto", "min", "max"), default="auto", help="which way is better (default: auto)"
    )
    promote.add_argument(
        "--tolerance", type=_tolerance, default=0.0, help="how much worse may still pass (default: 0)"
    )
    promote.add_argument(
        "--validate-on",
        default=None,
        metavar="FILE.npz",
        help="replay both versions on arrays x and y of this file",
    )
    promote.set_defaults(func=_promote)

    rollback = sub.add_parser("rollback", help="move a label back to the version it pointed to before")
    rollback.add_argument("name", help="the model's name")
    rollback.add_argument("--label", default="stable", help="the label to move back (default: %(default)s)")
    rollback.set_defaults(func=_rollback)

    remove = sub.add_parser("rm", help="delete a version (refused while a label points to it)")
    remove.add_argument("name", help="the model's name")
    remove.add_argument("version", type=_version, help="the version to delete")
    remove.add_argument(
        "--force", action="store_true", help="delete it even when labels point to it (drops them)"
    )
    remove.set_defaults(func=_remove)

    for parser in (push, listing, promote, rollback, remove):
        parser.add_argument("--repo", default=None, help=REPO_HELP)
    models.set_defaults(func=lambda args: _usage(models))
    return models


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2

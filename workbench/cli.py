"""The `workbench` command."""

from __future__ import annotations

import argparse
import sys


def _tour(args) -> int:
    from workbench.examples import tour

    tour.run(print_fn=print)
    return 0


def _quickstart(args) -> int:
    from workbench.examples import quickstart

    try:
        quickstart.output_path(args.output)
    except ValueError as e:
        print(f"workbench {e}", file=sys.stderr)
        return 2
    quickstart.run(output=args.output, epochs=args.epochs, print_fn=print)
    return 0


def _fmt(value) -> str:
    if isinstance(value, float) or isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
        return f"{float(value):.5g}"
    return "-" if value is None else str(value)


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def _runs_list(args) -> int:
    from workbench.runs import RunError, list_runs, runs_dir

    try:
        infos = list_runs(args.root)
    except RunError as e:
        print(f"workbench runs list: {e}", file=sys.stderr)
        return 2
    if not infos:
        print(f"No runs in {args.root or runs_dir()}.")
        return 0
    rows = [["ID", "NAME", "STATUS", "CREATED", "STEPS", "LOSS", "VAL_LOSS"]]
    for i in infos:
        rows.append(
            [
                i.id,
                _fmt(i.name),
                i.status,
                _fmt(i.created),
                _fmt(i.steps),
                _fmt(i.last.get("train", {}).get("loss")),
                _fmt(i.last.get("val", {}).get("loss")),
            ]
        )
    print(_table(rows))
    for i in infos:
        if i.message:
            print(f"{i.id}: {i.message}")
    return 0


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def _describe(info: dict) -> list[tuple[str, str]]:
    """The lines of `workbench runs show` from a run.json (fields of an unexpected type are skipped)."""
    lines = [
        ("Name", _fmt(info.get("name"))),
        ("Status", _fmt(info.get("status"))),
        ("Created", _fmt(info.get("created"))),
        ("Ended", _fmt(info.get("ended"))),
    ]
    if info.get("error"):
        lines.append(("Error", info["error"]))
    model = _mapping(info.get("model"))
    if model:
        saved = "config saved" if model.get("config") is not None else "no config"
        lines.append(("Model", f"{model.get('class')} '{model.get('name')}' ({saved})"))
    hparams = _mapping(info.get("hparams"))
    if hparams:
        lines.append(("Hparams", ", ".join(f"{k}={_fmt(v)}" for k, v in hparams.items())))
    env = _mapping(info.get("environment"))
    if env:
        lines.append(
            (
                "Versions",
                f"python {env.get('python')}, jax {env.get('jax')}, jaxlib {env.get('jaxlib')}, "
                f"workbench {env.get('workbench')}",
            )
        )
        lines.append(("Devices", ", ".join(map(str, env.get("devices") or [])) or "-"))
        git = _mapping(env.get("git"))
        if git:
            lines.append(
                (
                    "Git",
                    f"{str(git.get('commit', ''))[:12]}{' (uncommitted changes)' if git.get('dirty') else ''}",
                )
            )
    data = info.get("data")
    if isinstance(data, dict):
        if data.get("kind") == "arrays":
            arrays = ", ".join(
                f"{k} {_mapping(v).get('dtype')}{tuple(_mapping(v).get('shape') or [])}"
                for k, v in _mapping(data.get("arrays")).items()
            )
            lines.append(
                (
                    "Data",
                    f"{arrays}; sha256 {str(data.get('sha256', ''))[:16]}"
                    f"{' (sampled rows)' if data.get('sampled') else ''}",
                )
            )
        else:
            lines.append(("Data", data.get("repr") or data.get("type") or "-"))
    summary = _mapping(info.get("summary"))
    if summary:
        lines.append(
            ("Progress", f"{_fmt(summary.get('epochs'))} epochs, {_fmt(summary.get('steps'))} steps")
        )
    return lines


def _runs_show(args) -> int:
    from workbench.runs import RunError, load_run

    try:
        run = load_run(args.id, args.root)
        last = {}
        for split in ("train", "val"):
            columns = run.metrics(split)
            if len(columns["step"]):
                last[split] = {k: v[-1] for k, v in columns.items() if k != "wall"}
    except RunError as e:
        print(f"workbench runs show: {e}", file=sys.stderr)
        return 2
    lines = [("Run", run.id), ("Path", str(run.path))] + _describe(run.info)
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        print(f"{key.ljust(width)}  {value}")
    print("Last metrics" if last else "Last metrics  none yet")
    for split, values in last.items():
        where = f"epoch {int(values.pop('epoch')) + 1}, step {int(values.pop('step'))}"
        shown = "  ".join(f"{k}={_fmt(float(v))}" for k, v in values.items())
        print(f"  {split:<5}  {where}: {shown}")
    for note in run.notes:
        print(f"Note: {note}")
    return 0


def _tensorboard(args) -> int:
    import importlib.util
    import subprocess
    from pathlib import Path

    from workbench.runs import runs_dir

    root = Path(args.root) if args.root else runs_dir()
    if not root.is_dir():
        print(
            f"workbench tensorboard: {root}: there is no runs folder here. Train with a RunLogger callback "
            "first, or pass the folder that holds the runs (--root).",
            file=sys.stderr,
        )
        return 2
    if importlib.util.find_spec("tensorboard") is None:
        print(
            "workbench tensorboard: TensorBoard is not installed. Install it with `pip install tensorboard`.",
            file=sys.stderr,
        )
        return 1
    print(f"TensorBoard on {root}: http://localhost:{args.port}/ (Ctrl+C stops it)")
    command = [sys.executable, "-m", "tensorboard.main", "--logdir", str(root), "--port", str(args.port)]
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="workbench", description="Workbench: Keras-shaped deep learning on JAX."
    )
    sub = parser.add_subparsers(dest="command")
    tour = sub.add_parser("tour", help="build a few models and print their summaries")
    tour.set_defaults(func=_tour)
    quick = sub.add_parser(
        "quickstart", help="train a small convnet on the bundled digits, test it and save it"
    )
    quick.add_argument(
        "--output", default="quickstart.keras", help="where to save the model (default: %(default)s)"
    )
    quick.add_argument(
        "--epochs", type=_positive_int, default=12, help="training epochs (default: %(default)s)"
    )
    quick.set_defaults(func=_quickstart)
    runs = sub.add_parser("runs", help="list the runs and show one (see workbench.runs)")
    runs_sub = runs.add_subparsers(dest="runs_command")
    root_help = "the runs folder (default: $WORKBENCH_RUNS_DIR or ./runs)"
    runs_list = runs_sub.add_parser("list", help="one line per run: id, name, status, steps, last losses")
    runs_list.add_argument("--root", default=None, help=root_help)
    runs_list.set_defaults(func=_runs_list)
    runs_show = runs_sub.add_parser("show", help="a run's settings, environment and last metrics")
    runs_show.add_argument("id", help="the run's id, a unique start of it, or its folder")
    runs_show.add_argument("--root", default=None, help=root_help)
    runs_show.set_defaults(func=_runs_show)
    board = sub.add_parser("tensorboard", help="start TensorBoard on the runs folder")
    board.add_argument("--root", default=None, help=root_help)
    board.add_argument("--port", type=_positive_int, default=6006, help="the port (default: %(default)s)")
    board.set_defaults(func=_tensorboard)
    from workbench.export.cli import add_export_parser
    from workbench.export.repository_cli import add_models_parser
    from workbench.export.server.cli import add_serve_parser
    from workbench.lab.launch import add_lab_parser

    add_export_parser(sub)
    add_models_parser(sub)
    add_serve_parser(sub)
    add_lab_parser(sub)
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    args, unknown = parser.parse_known_args(argv)
    if getattr(args, "passes_unknown", False):
        return args.func(args, unknown)
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.version:
        from workbench import __version__

        print(__version__)
        return 0
    if not getattr(args, "func", None):
        (runs if args.command == "runs" else parser).print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

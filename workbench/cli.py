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
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    args = parser.parse_args(argv)
    if args.version:
        from workbench import __version__

        print(__version__)
        return 0
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

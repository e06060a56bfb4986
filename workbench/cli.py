"""The `workbench` command."""

from __future__ import annotations

import argparse
import sys


def _tour(args) -> int:
    from workbench.examples import tour

    tour.run(print_fn=print)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="workbench", description="Workbench: Keras-shaped deep learning on JAX.")
    sub = parser.add_subparsers(dest="command")
    tour = sub.add_parser("tour", help="build a few models and print their summaries")
    tour.set_defaults(func=_tour)
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

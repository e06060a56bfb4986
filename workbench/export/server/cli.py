"""`workbench serve DIR`: serve a model repository over TensorFlow Serving's REST API."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _number(kind, minimum, what: str):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


def _fraction(text: str) -> float:
    value = _number(float, 0.0, "a fraction from 0 to 1")(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"expected a fraction from 0 to 1, got {text!r}")
    return value


def _serve(args) -> int:
    from workbench.export.server.app import create_app
    from workbench.export.server.runner import run_server

    root = Path(args.dir)
    if not root.is_dir():
        print(
            f"workbench serve: {root} is not a folder; expected a model repository (workbench models push ... "
            "--repo DIR creates one).",
            file=sys.stderr,
        )
        return 2
    try:
        app = create_app(
            root,
            poll_seconds=args.poll_seconds,
            canary_share=args.canary_share,
            max_batch_size=args.max_batch_size,
            batch_timeout_ms=args.batch_timeout_ms,
            batching=not args.no_batching,
            max_body_mb=args.max_body_mb,
        )
    except ValueError as e:
        print(f"workbench serve: {e}", file=sys.stderr)
        return 2
    print(f"Serving {root} on http://{args.host}:{args.port}/v1/models/... (Ctrl+C stops it)", flush=True)
    try:
        run_server(app, args.host, args.port)
    except KeyboardInterrupt:
        pass
    return 0


def add_serve_parser(subparsers) -> argparse.ArgumentParser:
    """Register `workbench serve DIR [--port ...]` on the CLI's subparsers."""
    serve = subparsers.add_parser("serve", help="serve a model repository over TensorFlow Serving's REST API")
    serve.add_argument(
        "dir", help="the model repository (NAME/VERSION/ folders, as `workbench models` writes)"
    )
    serve.add_argument(
        "--port", type=_number(int, 1, "a port number"), default=8501, help="default: %(default)s"
    )
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: %(default)s)")
    serve.add_argument(
        "--poll-seconds",
        type=_number(float, 0.01, "a number of seconds"),
        default=2.0,
        help="how often the repository is rescanned for new versions and labels (default: %(default)s)",
    )
    serve.add_argument(
        "--canary-share",
        type=_fraction,
        default=0.0,
        help="the share of default-route requests sent to the 'canary' label's version (default: %(default)s)",
    )
    serve.add_argument(
        "--max-batch-size",
        type=_number(int, 1, "a whole number >= 1"),
        default=64,
        help="most rows per batched program call (default: %(default)s)",
    )
    serve.add_argument(
        "--batch-timeout-ms",
        type=_number(float, 0.0, "a number of milliseconds"),
        default=0.0,
        help="how long a request waits for others to batch with; with 0 a batch runs as soon as the previous "
        "one is done, so requests that arrive meanwhile are batched (default: %(default)s)",
    )
    serve.add_argument("--no-batching", action="store_true", help="run every request on its own")
    serve.add_argument(
        "--max-body-mb",
        type=_number(float, 0.001, "a number of megabytes"),
        default=32.0,
        help="larger request bodies are refused with 413 (default: %(default)s)",
    )
    serve.set_defaults(func=_serve)
    return serve

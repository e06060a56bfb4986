"""A TensorFlow-Serving-compatible REST server for a model repository.

>>> from workbench.export.server import create_app, serve_in_thread
>>> with serve_in_thread(create_app("models")) as url:          # doctest: +SKIP
...     httpx.post(f"{url}/v1/models/digits:predict", json={"instances": x.tolist()}).json()
"""

from workbench.export.server.app import create_app
from workbench.export.server.batching import Batcher, padding_sizes
from workbench.export.server.cli import add_serve_parser
from workbench.export.server.protocol import ServingError
from workbench.export.server.registry import ModelRegistry
from workbench.export.server.runner import run_server, serve_in_thread
from workbench.export.server.service import ModelService, ServingOptions

__all__ = [
    "Batcher",
    "ModelRegistry",
    "ModelService",
    "ServingError",
    "ServingOptions",
    "add_serve_parser",
    "create_app",
    "padding_sizes",
    "run_server",
    "serve_in_thread",
]

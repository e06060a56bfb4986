"""Running the server: in the foreground for `workbench serve`, or on a thread for tests and notebooks."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn


def _config(app, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
        server_header=False,
    )


def run_server(app, host: str = "127.0.0.1", port: int = 8501, log_level: str = "info") -> None:
    """Serve `app` on host:port until interrupted (Ctrl+C)."""
    config = _config(app, log_level)
    config.host, config.port = host, port
    uvicorn.Server(config).run()


@contextlib.contextmanager
def serve_in_thread(app, host: str = "127.0.0.1", port: int = 0, timeout: float = 120.0) -> Iterator[str]:
    """Serve `app` on a background thread for the duration of a `with` block; yields the base URL.

    `port=0` picks a free port. The block starts once the app has started
    (the repository has been scanned and its versions loaded).

    >>> with serve_in_thread(create_app("models")) as url:     # doctest: +SKIP
    ...     httpx.get(f"{url}/v1/models/digits").json()
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    server = uvicorn.Server(_config(app, "warning"))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="workbench-serve", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"The server did not start within {timeout:.0f} s; see the log above for why.")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()

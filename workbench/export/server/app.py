"""The HTTP side of the server: TensorFlow Serving's REST routes on Starlette.

    GET  /v1/models/NAME[/versions/V | /labels/L]              version status
    GET  /v1/models/NAME[/versions/V | /labels/L]/metadata     signatures
    POST /v1/models/NAME[/versions/V | /labels/L]:predict      predictions
    GET  /healthz                                              200 while the server runs
    GET  /metrics                                              Prometheus metrics

Every error is TF Serving's `{"error": "..."}` with a 4xx status for what the
client sent, and 500 (counted in /metrics) only for the server's own failures.

>>> app = create_app("models", max_batch_size=32)      # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import time

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from workbench.export.server.protocol import ServingError
from workbench.export.server.service import ModelService, ServingOptions, Target

log = logging.getLogger("workbench.serve")

_ROUTE = re.compile(
    r"^(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+)|/labels/(?P<label>[^/:]+))?"
    r"(?:(?P<metadata>/metadata)|:(?P<verb>[^/:]*))?$"
)
# Past the size limit a body is still read (and thrown away) up to this much more, so the client
# gets to read the 413 instead of a reset connection; anything bigger is cut off.
_DRAIN_BYTES = 64 * 1024 * 1024


class JSONAnswer(Response):
    """A JSON response that, like TF Serving, writes NaN and Infinity rather than failing on them."""

    media_type = "application/json"

    def render(self, content) -> bytes:
        return json.dumps(content, separators=(",", ":")).encode()


def parse_route(path: str) -> tuple[Target, str]:
    """The target and action ("status", "metadata" or "predict") of a path after /v1/models/."""
    match = _ROUTE.match(path)
    if not match:
        raise ServingError(
            404,
            f"No route /v1/models/{path[:200]}; expected /v1/models/NAME[/versions/V|/labels/L] followed "
            "by nothing, /metadata or :predict.",
        )
    version = match["version"]
    if version is not None and not (version.isdigit() and int(version) >= 1):
        raise ServingError(400, f"A version in the URL is a whole number >= 1; got {version!r}.")
    action = "metadata" if match["metadata"] else "status"
    if match["verb"] is not None:
        if match["verb"] != "predict":
            raise ServingError(
                404, f"Unknown method ':{match['verb'][:50]}'; this server answers ':predict'."
            )
        action = "predict"
    return Target(match["name"], int(version) if version else None, match["label"]), action


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) one over `limit` bytes without ever holding more than that."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ServingError(400, f"Content-Length is a whole number of bytes; got {declared[:50]!r}.")
        if int(declared) > limit:
            if int(declared) <= limit + _DRAIN_BYTES:
                await _discard(request.stream(), 0, int(declared))
            raise ServingError(413, _too_big(int(declared), limit))
    chunks, size = [], 0
    stream = request.stream()
    try:
        async for chunk in stream:
            size += len(chunk)
            if size > limit:
                size = await _discard(stream, size, limit + _DRAIN_BYTES)
                raise ServingError(413, _too_big(size, limit, more=True))
            chunks.append(chunk)
    except ClientDisconnect:
        raise ServingError(400, "The client went away before sending the whole body.") from None
    return b"".join(chunks)


async def _discard(stream, size: int, until: int) -> int:
    with contextlib.suppress(ClientDisconnect):
        async for chunk in stream:
            size += len(chunk)
            if size >= until:
                break
    return size


def _too_big(size: int, limit: int, more: bool = False) -> str:
    mb = 1024 * 1024
    return (
        f"The request body is {'over ' if more else ''}{size / mb:.1f} MB; this server takes at most "
        f"{limit / mb:.1f} MB (workbench serve --max-body-mb). Send fewer instances per request."
    )


def create_app(repo_dir: str | os.PathLike, **options) -> Starlette:
    """A Starlette app serving the model repository at `repo_dir` over TF Serving's REST API.

    Options (see `ServingOptions`): poll_seconds=2, canary_share=0, max_batch_size=64,
    batch_timeout_ms=0, batching=True, max_body_mb=32, threads=4. The repository
    is scanned once at startup and then every `poll_seconds` on a background thread.
    A request without version or label goes to the `stable` label's version when it
    is available, else to the highest available version (and, with canary_share,
    that share of them to the `canary` label's version).
    `app.state.service` is the `ModelService`, with `.registry` and `.metrics`.
    """
    service = ModelService(repo_dir, ServingOptions(**options))

    async def models(request: Request) -> Response:
        started = time.perf_counter()
        model, answered_by, allowed = "", [], "GET"
        try:
            target, action = parse_route(request.path_params["path"])
            if service.registry.state(target.name) is not None:
                model = target.name
            allowed = "POST" if action == "predict" else "GET"
            if request.method != allowed and not (request.method == "HEAD" and allowed == "GET"):
                raise ServingError(405, f"This route takes {allowed}, not {request.method}.")
            if action == "status":
                answer = service.status(target)
            elif action == "metadata":
                answer = service.metadata(target)
            else:
                body = await read_body(request, service.options.max_body_bytes)
                answer = await service.predict(target, body, answered_by)
            code = 200
        except ServingError as e:
            answer, code = {"error": e.message}, e.status
        except Exception as e:  # noqa: BLE001 - the server's own failure: say so, count it, keep serving
            log.exception("Request %s %s failed", request.method, request.url.path)
            answer, code = {"error": f"Internal server error: {type(e).__name__}: {e}"}, 500
        service.metrics.request(
            model, str(answered_by[0]) if answered_by else "", code, time.perf_counter() - started
        )
        return JSONAnswer(answer, code, headers={"Allow": allowed} if code == 405 else None)

    async def healthz(request: Request) -> Response:
        return JSONAnswer({"status": "ok", "models": service.registry.models()})

    async def metrics(request: Request) -> Response:
        return Response(service.metrics.render(), media_type=service.metrics.content_type)

    async def http_error(request: Request, exc: HTTPException) -> Response:
        service.metrics.request("", "", exc.status_code, 0.0)
        path = request.url.path[:200]
        message = {
            404: f"No route {path}; the routes are /v1/models/..., /healthz and /metrics.",
            405: f"{request.method} is not allowed on {path}; it takes {(exc.headers or {}).get('Allow', 'GET')}.",
        }.get(exc.status_code, exc.detail)
        return JSONAnswer({"error": message}, exc.status_code, headers=exc.headers)

    async def internal_error(request: Request, exc: Exception) -> Response:
        service.metrics.request("", "", 500, 0.0)
        return JSONAnswer({"error": f"Internal server error: {type(exc).__name__}: {exc}"}, 500)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        import anyio.to_thread

        await anyio.to_thread.run_sync(service.registry.poll)
        service.registry.start()
        try:
            yield
        finally:
            service.close()

    app = Starlette(
        routes=[
            Route("/v1/models/{path:path}", models, methods=["GET", "POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error, Exception: internal_error},
        lifespan=lifespan,
    )
    app.state.service = service
    return app

"""The REST side of the lab extension: jupyter_server handlers under `<base_url>workbench/api/`.

Every handler requires an authenticated user (`tornado.web.authenticated`: a
request without the server's token or login cookie gets 403) and answers
JSON. Errors are `{"message": ...}` with a 4xx status saying what was expected
and what arrived; an unexpected failure is a 500 with the same shape.

Routes (see docs/lab.md):

    GET  status                      version, runs root, model repository
    GET  runs                        the runs, newest first
    GET  runs/<id>                   one run: run.json, checkpoints, artifacts, profile, exportability
    GET  runs/<id>/metrics?kind=     metric columns (epoch or batch) per split
    GET  compare?ids=a,b             hyper-parameters, final metrics and curves of several runs
    POST runs/<id>/export            rebuild, restore a checkpoint, export (and push) in a child process
    POST notebooks                   a new notebook from the Workbench template
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import tornado
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import ensure_async, url_path_join

from workbench.lab import runs_view
from workbench.lab.runs_view import BadRequest, NotFound

MAX_BODY = 64 * 1024
_RUN = r"(?P<run_id>[^/]+)"


class _Handler(APIHandler):
    """JSON in and out, with the lab's settings at hand and errors as {"message"}."""

    @property
    def lab(self):
        return self.settings["workbench_lab"]

    def reply(self, payload: dict, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(payload, allow_nan=False))

    def fail(self, status: int, message: str) -> None:
        self.reply({"message": message}, status)

    def body_json(self) -> dict:
        if len(self.request.body) > MAX_BODY:
            raise BadRequest(f"The request body is {len(self.request.body)} bytes; at most {MAX_BODY} are read.")
        if not self.request.body.strip():
            return {}
        try:
            body = json.loads(self.request.body)
        except ValueError as e:
            raise BadRequest(f"The request body is not valid JSON ({e}).") from None
        if not isinstance(body, dict):
            raise BadRequest(f"The request body is a JSON object, got {type(body).__name__}.")
        return body

    def write_error(self, status_code: int, **kwargs) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, BadRequest):
            status_code, message = 400, str(exc)
        elif isinstance(exc, NotFound):
            status_code, message = 404, str(exc)
        elif isinstance(exc, tornado.web.HTTPError):
            message = exc.log_message or self._reason
        else:
            message = f"The Workbench server extension failed: {type(exc).__name__}: {exc}" if exc else self._reason
        self.clear()
        self.set_status(status_code)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": message}))

    def log_exception(self, typ, value, tb) -> None:
        if isinstance(value, (BadRequest, NotFound)):  # the client's mistake, answered with a 4xx
            return
        super().log_exception(typ, value, tb)


class StatusHandler(_Handler):
    @tornado.web.authenticated
    def get(self) -> None:
        from workbench import __version__

        root = self.lab.runs_root
        readable = root.is_dir() and os.access(root, os.R_OK | os.X_OK)
        message = None
        if not root.exists():
            message = f"No runs yet: training writes them to {root}."
        elif not readable:
            message = f"The runs folder {root} cannot be read."
        self.reply({"version": __version__, "runs_root": str(root), "runs_root_readable": readable,
                    "message": message, "repository": str(self.lab.repository_root)})


class RunsHandler(_Handler):
    @tornado.web.authenticated
    async def get(self) -> None:
        self.reply(await _in_thread(runs_view.list_rows, self.lab.runs_root))


class RunHandler(_Handler):
    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        self.reply(await _in_thread(runs_view.run_detail, self.lab.runs_root, run_id))


class MetricsHandler(_Handler):
    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        kind = self.get_query_argument("kind", "epoch")
        self.reply(await _in_thread(runs_view.run_metrics, self.lab.runs_root, run_id, kind))


class CompareHandler(_Handler):
    @tornado.web.authenticated
    async def get(self) -> None:
        ids = [i.strip() for i in self.get_query_argument("ids", "").split(",")]
        self.reply(await _in_thread(runs_view.compare_runs, self.lab.runs_root, ids))


class ExportHandler(_Handler):
    @tornado.web.authenticated
    async def post(self, run_id: str) -> None:
        body = self.body_json()
        folder = runs_view.resolve_run(self.lab.runs_root, run_id)
        checkpoint = body.get("checkpoint")
        if checkpoint is not None and (isinstance(checkpoint, bool) or not isinstance(checkpoint, int)
                                       or checkpoint < 0):
            raise BadRequest(f"checkpoint is a step number >= 0 or null (the newest), got {checkpoint!r:.40}.")
        push = body.get("push")
        if push is not None and not (isinstance(push, dict) and isinstance(push.get("name"), str)):
            raise BadRequest(f'push is null or {{"name": str, "repository": str|null}}, got {push!r:.80}.')
        command = [sys.executable, "-m", "workbench.lab.export_run", str(folder)]
        if checkpoint is not None:
            command += ["--checkpoint", str(checkpoint)]
        if push is not None:
            repository = push.get("repository") or str(self.lab.repository_root)
            if not isinstance(repository, str):
                raise BadRequest(f"push.repository is a folder path or null, got {repository!r:.80}.")
            command += ["--push-name", push["name"], "--repository", str(self.lab.resolve(repository))]
        status, result = await self.lab.run_export(command, run_id)
        if status == 0:
            self.reply(result)
        elif status == 1:
            self.fail(409, result.get("error", "The export was refused."))
        else:
            self.fail(500, result.get("error", "The export failed."))


class NotebookHandler(_Handler):
    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.body_json()
        directory = body.get("directory", "")
        if not isinstance(directory, str) or ".." in Path(directory).parts or directory.startswith("/"):
            raise BadRequest(
                f"directory is a folder relative to the lab's root (no '..', not absolute), got {directory!r:.80}."
            )
        directory = directory.strip("/")
        manager = self.contents_manager
        if not await ensure_async(manager.dir_exists(directory)):
            raise NotFound(f"There is no folder {directory!r} in the lab's root.")
        name = await ensure_async(manager.increment_filename("Workbench.ipynb", directory, insert="-"))
        path = f"{directory}/{name}" if directory else name
        notebook = json.loads(template_path().read_text())
        await ensure_async(manager.save({"type": "notebook", "format": "json", "content": notebook}, path))
        self.reply({"path": path}, 201)


def template_path() -> Path:
    return Path(__file__).parent / "templates" / "Workbench.ipynb"


async def _in_thread(fn, *args):
    # Reading run folders is file I/O that may be slow on network disks: keep the event loop free.
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


def routes(base_url: str) -> list[tuple[str, type]]:
    api = url_path_join(base_url, "workbench", "api")
    return [
        (url_path_join(api, "status"), StatusHandler),
        (url_path_join(api, "runs"), RunsHandler),
        (url_path_join(api, "runs", _RUN), RunHandler),
        (url_path_join(api, "runs", _RUN, "metrics"), MetricsHandler),
        (url_path_join(api, "runs", _RUN, "export"), ExportHandler),
        (url_path_join(api, "compare"), CompareHandler),
        (url_path_join(api, "notebooks"), NotebookHandler),
    ]

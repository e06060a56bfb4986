"""The Jupyter server extension: its settings, and how it runs exports.

Settings (traitlets config, e.g. `--WorkbenchLab.runs_dir=...` on the
`jupyter lab` command line or in jupyter_server_config.py):

- `runs_dir`: the runs root the sidebar shows. Default: $WORKBENCH_RUNS_DIR,
  else `runs/` under the server's root directory. A relative path is taken
  from the root directory.
- `repository`: the default model repository for "Export and push".
  Default: `models/` under the root directory.
- `export_timeout`: seconds an export may take before it is stopped.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from traitlets import Float, Int, Unicode
from traitlets.config import Configurable


class WorkbenchLab(Configurable):
    """Settings of the Workbench lab extension."""

    runs_dir = Unicode("", help="Runs root shown in the sidebar ($WORKBENCH_RUNS_DIR, else <root>/runs).").tag(
        config=True
    )
    repository = Unicode("", help="Default model repository for exports (<root>/models when empty).").tag(
        config=True
    )
    export_timeout = Float(600.0, help="Seconds an export may run before it is stopped.").tag(config=True)
    max_exports = Int(2, help="Exports run at the same time; more wait their turn.").tag(config=True)

    def __init__(self, root_dir: str, **kwargs):
        super().__init__(**kwargs)
        self.root_dir = Path(root_dir).expanduser().absolute()
        self._exports = asyncio.Semaphore(max(1, self.max_exports))

    def resolve(self, path: str) -> Path:
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else self.root_dir / candidate

    @property
    def runs_root(self) -> Path:
        chosen = self.runs_dir or os.environ.get("WORKBENCH_RUNS_DIR", "").strip() or "runs"
        return self.resolve(chosen)

    @property
    def repository_root(self) -> Path:
        return self.resolve(self.repository or "models")

    async def run_export(self, command: list[str], run_id: str) -> tuple[int, dict]:
        """Run the export child process; returns (exit status, its JSON result or {"error"})."""
        async with self._exports:
            process = await asyncio.create_subprocess_exec(
                *command,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=str(self.root_dir),
            )
            try:
                out, err = await asyncio.wait_for(process.communicate(), self.export_timeout)
            except TimeoutError:
                process.kill()
                await process.wait()
                return 2, {"error": f"The export of run {run_id} took longer than {self.export_timeout:.0f} s "
                                    "and was stopped (WorkbenchLab.export_timeout)."}
        lines = out.decode(errors="replace").strip().splitlines()
        try:
            result = json.loads(lines[-1]) if lines else None
        except ValueError:
            result = None
        if not isinstance(result, dict):
            tail = err.decode(errors="replace").strip().splitlines()[-5:]
            return 2, {"error": f"The export process ended with status {process.returncode} without a result: "
                                + (" / ".join(tail) or "no output.")}
        return process.returncode, result


def load(serverapp) -> None:
    """Register the handlers on the server's web application."""
    from workbench.lab.handlers import routes

    lab = WorkbenchLab(root_dir=serverapp.root_dir, parent=serverapp)
    web_app = serverapp.web_app
    web_app.settings["workbench_lab"] = lab
    web_app.add_handlers(".*$", routes(web_app.settings["base_url"]))
    serverapp.log.info("Workbench lab extension: runs from %s, model repository %s", lab.runs_root,
                       lab.repository_root)

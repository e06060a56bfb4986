"""A JupyterLab server for browser tests: isolated directories, the venv's kernel, a fixed token."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

TOKEN = "workbench-browser-tests"
KERNEL_NAME = "workbench-test"
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class LabServer:
    """A running `jupyter lab` process. `url` has no trailing slash; notebooks live in `root_dir`."""

    process: subprocess.Popen
    url: str
    root_dir: Path
    log_path: Path

    def api(self, method: str, path: str) -> object:
        """Call the server's REST API with the token; returns the decoded JSON body (or None)."""
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {TOKEN}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Stop every kernel so one test's kernel does not hold memory during the next."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        # SIGTERM lets the server shut its kernels down; kill only if it hangs.
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# Per front end: the name in messages, the log file, and the options that differ between them.
_APPS = {
    "jupyterlab": (
        "jupyter lab",
        "jupyterlab.log",
        [
            # Tests read cell sources and outputs through `window.jupyterapp`.
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],
    ),
    "notebook": (
        "jupyter notebook",
        "notebook.log",
        ["--JupyterNotebookApp.expose_app_in_browser=True"],
    ),
    # JupyterLab as `workbench lab DIR` starts it: the Workbench extension on, runs under DIR/runs.
    "workbench": (
        "workbench lab",
        "workbench-lab.log",
        [
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],
    ),
}


def start_lab(base_dir: Path, startup_timeout: float = 60.0, app: str = "jupyterlab",
              extra_args: tuple[str, ...] = (), extra_env: dict | None = None) -> LabServer:
    """Start `python -m <app>` from this venv under `base_dir` and wait until its API answers.

    `app` is "jupyterlab" (JupyterLab 4), "notebook" (Jupyter Notebook 7) or "workbench"
    (JupyterLab through `workbench lab`); all run on jupyter_server and serve the same REST API. Every Jupyter directory (config, data, runtime,
    settings, workspaces) lives under `base_dir`, so the user's own Jupyter setup cannot change
    what the tests see. `extra_args` are added to the command line, `extra_env` to the environment.
    """
    if app not in _APPS:
        raise ValueError(f"app must be one of {sorted(_APPS)}, not {app!r}")
    name, log_name, app_options = _APPS[app]
    dirs = {
        name: base_dir / name for name in ("notebooks", "config", "data", "runtime", "settings", "workspaces")
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    _write_kernelspec(dirs["data"])
    _write_lab_settings(dirs["settings"])

    port = _free_port()
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_DATA_DIR": str(dirs["data"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
        "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"]),
        "IPYTHONDIR": str(base_dir / "ipython"),
        **(extra_env or {}),
    }
    if app == "workbench":
        env.pop("WORKBENCH_RUNS_DIR", None)  # the lab's own default: <root>/runs, shared with its kernels
        start = [sys.executable, "-m", "workbench.cli", "lab", str(dirs["notebooks"])]
    else:
        start = [sys.executable, "-m", app, f"--ServerApp.root_dir={dirs['notebooks']}"]
    command = [
        *start,
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={TOKEN}",
        f"--MappingKernelManager.default_kernel_name={KERNEL_NAME}",
        *app_options,
        *extra_args,
    ]
    log_path = base_dir / log_name
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=dirs["notebooks"]
        )
    server = LabServer(process, f"http://127.0.0.1:{port}", dirs["notebooks"], log_path)

    deadline = time.monotonic() + startup_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{name} exited with code {process.returncode} before answering.\n"
                f"Command: {' '.join(command)}\nLog ({log_path}):\n{server.log_tail()}"
            )
        try:
            server.api("GET", "/api/status")
            return server
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(
        f"{name} did not answer on {server.url} within {startup_timeout:.0f}s.\n"
        f"Log ({log_path}):\n{server.log_tail()}"
    )


def _write_kernelspec(data_dir: Path) -> None:
    # The kernel is this venv's python, with the repository importable even without `pip install -e`.
    python_path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (workbench tests)",
        "language": "python",
        "env": {"PYTHONPATH": python_path},
    }
    kernel_dir = data_dir / "kernels" / KERNEL_NAME
    kernel_dir.mkdir(parents=True, exist_ok=True)
    (kernel_dir / "kernel.json").write_text(json.dumps(spec, indent=1))


def _write_lab_settings(settings_dir: Path) -> None:
    # Toasts (the "get notified about Jupyter news?" question first) cover the lower right of the page.
    notification = settings_dir / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True, exist_ok=True)
    notification.write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True})
    )
    # Keep every cell attached to the DOM, so the n-th `.jp-Cell` element is the n-th cell of the notebook.
    tracker = settings_dir / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True, exist_ok=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

"""JupyterLab integration: the server extension behind the Workbench sidebar, and `workbench lab`.

The frontend (TypeScript, in the repository's `extensions/`) ships prebuilt in
`workbench/lab/data/labextensions/jax-workbench-lab/`; installing the wheel puts
it in `share/jupyter/labextensions/` and enables this server extension through
`etc/jupyter/jupyter_server_config.d/workbench.json`. `workbench lab [DIR]`
starts JupyterLab with both on, whatever was installed where.

The server side is REST over the runs folder (`workbench.lab.handlers`) and
exports that rebuild a run's model from its JSON config in a child process
(`workbench.lab.export_run`).
"""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
LABEXTENSION = "jax-workbench-lab"


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "workbench.lab"}]


def _jupyter_labextension_paths() -> list[dict]:
    return [{"src": f"data/labextensions/{LABEXTENSION}", "dest": LABEXTENSION}]


def _load_jupyter_server_extension(serverapp) -> None:
    from workbench.lab.extension import load

    load(serverapp)

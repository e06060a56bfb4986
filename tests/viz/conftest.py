import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from workbench.viz import assets

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def run_node(tmp_path):
    """Run a node script that imports the dashboard's plain JS modules; returns its JSON output."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    for name in ("smoothing.js", "series_store.js"):
        # .mjs: node reads a .js file outside an ES-module package as CommonJS.
        (tmp_path / name.replace(".js", ".mjs")).write_text(assets.read(name))

    def run(script: str, payload) -> object:
        (tmp_path / "payload.json").write_text(json.dumps(payload))
        (tmp_path / "main.mjs").write_text(script)
        done = subprocess.run(
            [node, str(tmp_path / "main.mjs")], cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    return run


def collect_iopub(kc, until, timeout):
    """IOPub messages until `until(messages)` is true."""
    messages, deadline = [], time.time() + timeout
    while time.time() < deadline:
        try:
            messages.append(kc.get_iopub_msg(timeout=0.5))
        except Exception:
            continue
        if until(messages):
            return messages
    raise AssertionError(f"Timed out; got {[m['msg_type'] for m in messages][-20:]}")


def stdout_of(messages):
    return "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")


@pytest.fixture
def kernel():
    """A live IPython kernel (the test plays the browser), importing the repository."""
    jupyter_client = pytest.importorskip("jupyter_client")
    pytest.importorskip("ipykernel")
    pytest.importorskip("anywidget")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    km, kc = jupyter_client.manager.start_new_kernel(kernel_name="python3", env=env)
    try:
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)

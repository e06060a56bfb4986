"""The server under load: 32 keep-alive clients x 500 requests while versions are pushed, promoted and rolled back.

The server runs in its own process through the `workbench serve` handler, so
clients and server do not share an interpreter lock; every request must
succeed, and the answers must come from both versions as the labels move.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import workbench as wb
import workbench.export as wx
from workbench.export.repository import Repository

CLIENTS, REQUESTS = 32, 500
SERVE = (
    "import argparse, sys\n"
    "from workbench.export.server.cli import add_serve_parser\n"
    "parser = argparse.ArgumentParser()\n"
    "add_serve_parser(parser.add_subparsers())\n"
    "args = parser.parse_args(sys.argv[1:])\n"
    "sys.exit(args.func(args))\n"
)


def _export(path, seed):
    wb.utils.set_random_seed(seed)
    inp = wb.Input((4,), name="x")
    return wb.Model(inp, wb.layers.Dense(3, name="logits")(inp)).export(path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.fixture
def served_repo(tmp_path):
    """A repository with clf v1 (stable), served by `workbench serve` in a separate process."""
    repo = Repository(tmp_path / "models")
    artifacts = {1: _export(tmp_path / "v1", 1), 2: _export(tmp_path / "v2", 2)}
    repo.push(artifacts[1], "clf", label="stable")
    port = _free_port()
    log = open(tmp_path / "server.log", "wb")
    root = Path(wb.__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    command = [
        sys.executable,
        "-c",
        SERVE,
        "serve",
        str(repo.root),
        "--port",
        str(port),
        "--poll-seconds",
        "0.2",
    ]
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(port, "/v1/models/clf")[0] == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.1)
        yield repo, artifacts, port, tmp_path / "server.log"
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_load_with_push_promote_and_rollback_drops_no_request(served_repo):
    repo, artifacts, port, log = served_repo
    x = np.random.default_rng(0).normal(size=(1, 4)).astype("float32")
    want = {v: np.asarray(wx.load(p)(x))[0] for v, p in artifacts.items()}
    body = json.dumps({"instances": x.tolist()}).encode()
    answers: list[tuple[float, int]] = []  # (time, version that answered)
    errors: list[str] = []
    done = [0]

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for _ in range(REQUESTS):
            try:
                conn.request("POST", "/v1/models/clf:predict", body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as e:
                errors.append(f"{type(e).__name__}: {e}")
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            if response.status != 200:
                errors.append(f"{response.status}: {data[:200]!r}")
                continue
            got = np.asarray(json.loads(data)["predictions"][0])
            version = next((v for v, w in want.items() if np.allclose(got, w, rtol=1e-5, atol=1e-6)), None)
            if version is None:
                errors.append(f"an answer from no known version: {got}")
            else:
                answers.append((time.monotonic(), version))
            done[0] += 1
        conn.close()

    def wait_until(check, seconds=30):
        deadline = time.monotonic() + seconds
        while not check() and time.monotonic() < deadline:
            time.sleep(0.02)
        return check()

    def answered_by(version, since, count=1):
        return lambda: sum(1 for t, v in answers[-2000:] if t > since and v == version) >= count

    events = {}

    def operator():
        total = CLIENTS * REQUESTS
        wait_until(lambda: done[0] > total * 0.15)
        events["push"] = repo.push(artifacts[2], "clf")
        wait_until(
            lambda: (
                json.loads(_get(port, "/v1/models/clf/versions/2")[1])
                .get("model_version_status", [{}])[0]
                .get("state")
                == "AVAILABLE"
            )
        )
        repo.promote("clf", 2)
        events["promoted"] = time.monotonic()
        events["served v2"] = wait_until(answered_by(2, events["promoted"], count=500))
        events["rolled back to"] = repo.rollback("clf")
        events["rollback"] = time.monotonic()
        events["served v1 again"] = wait_until(answered_by(1, events["rollback"] + 1.0))
        repo.remove("clf", 2)  # unloaded once its last request is answered

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    operations = threading.Thread(target=operator)
    operations.start()
    for t in threads:
        t.join(300)
    elapsed = time.perf_counter() - started
    operations.join(60)

    assert not errors, f"{len(errors)} failed requests, e.g. {errors[:3]}\n{log.read_text()[-2000:]}"
    assert len(answers) == CLIENTS * REQUESTS
    assert events["push"] == 2 and events["rolled back to"] == 1
    assert events["served v2"] and events["served v1 again"], events
    by_version = {v: sum(1 for _, a in answers if a == v) for v in (1, 2)}
    assert by_version[1] > 0 and by_version[2] > 0, by_version
    status, metrics = _get(port, "/metrics")
    assert status == 200 and b'code="5' not in metrics
    print(
        f"\n{len(answers)} requests from {CLIENTS} clients in {elapsed:.1f} s ({len(answers) / elapsed:.0f}/s); "
        f"answered by v1: {by_version[1]}, v2: {by_version[2]}"
    )

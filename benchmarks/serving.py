"""Serving speed: calls of a loaded artifact against the in-process model, and the REST server under load.

Part 1, per model and batch size (1 and 64), the time of one call, each measured in
interleaved rounds in this process (best round and median round):

    model(x)        the Keras-style call of the in-process model (compiled once per shape)
    jit             jax.jit(model.stateless_call) with the variables as an argument: the fastest in-process path
    artifact        workbench.export.load(path)(x): the exported program, inputs checked on every call
    onnxruntime     the same artifact's ONNX export in onnxruntime (the peer), when the onnx extra is installed

Part 2: `workbench serve` in its own process on loopback, N client threads each sending
batch-1 `:predict` requests (row format) over a kept-alive connection, with and without
dynamic batching: requests/s, median and 99th-percentile latency, errors.

    python benchmarks/serving.py            # about 2 minutes on 2 cores
    python benchmarks/serving.py --quick    # a smoke run: the numbers mean nothing
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import jax
import numpy as np

import workbench as wb
from workbench.export import load
from workbench.export.repository import Repository


def mlp():
    return wb.Sequential([wb.Input((784,)), wb.layers.Dense(512, activation="relu"),
                          wb.layers.Dense(512, activation="relu"), wb.layers.Dense(10)], name="mlp_784_512_512_10")


def convnet():
    from workbench.examples.quickstart import digits_convnet

    return digits_convnet()


MODELS = {"mlp_784_512_512_10": (mlp, (784,)), "digits_convnet_8x8x1": (convnet, (8, 8, 1))}


def _timed_rounds(fns: dict, x, calls: int, rounds: int) -> dict:
    for f in fns.values():
        for _ in range(20):
            jax.block_until_ready(f(x))
    times = {k: [] for k in fns}
    for _ in range(rounds):
        for name, f in fns.items():
            start = time.perf_counter()
            for _ in range(calls):
                out = f(x)
            jax.block_until_ready(out)
            times[name].append((time.perf_counter() - start) / calls * 1e6)
    return {k: (min(v), statistics.median(v)) for k, v in times.items()}


def _onnx_session(artifact: Path):
    try:
        import onnxruntime
    except ImportError:
        return None
    manifest = json.loads((artifact / "manifest.json").read_text())
    entry = manifest["formats"]["onnx"]["serving_default"]
    model_file = next(f for f in entry["files"] if f.endswith(".onnx"))
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: its warnings about unused initializers are noise here
    session = onnxruntime.InferenceSession(str(artifact / entry["path"] / model_file), options,
                                           providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})[0]


def call_latency(workdir: Path, quick: bool) -> list[dict]:
    rows = []
    formats = ("onnx",) if _has("onnxruntime") and _has("jax2onnx") else ()
    for name, (build, shape) in MODELS.items():
        model = build()
        model(np.zeros((1, *shape), "float32"))
        path = model.export(workdir / name, platforms="cpu", formats=formats)
        art = load(path)
        variables = model.get_variables()
        pure = jax.jit(lambda v, x, m=model: m.stateless_call(v, x)[0])
        fns = {"model(x)": model, "jit": lambda x, p=pure, v=variables: p(v, x), "artifact": art}
        onnx = _onnx_session(path) if formats else None
        if onnx is not None:
            fns["onnxruntime"] = onnx
        for batch in (1, 64):
            x = np.random.default_rng(0).random((batch, *shape), dtype=np.float32)
            # Many short interleaved rounds: the best round of each path is then measured in the same quiet
            # moments as the others', which is what makes the ratio hold on a shared machine.
            calls = 20 if quick else (200 if batch == 1 else 30)
            result = _timed_rounds(fns, x, calls, 3 if quick else 60)
            rows.append({"model": name, "batch": batch, **result})
    return rows


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(repo: Path, batching: bool, timeout_ms: float) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    command = [sys.executable, "-m", "workbench.cli", "serve", str(repo), "--port", str(port),
               "--batch-timeout-ms", str(timeout_ms)]
    if not batching:
        command.append("--no-batching")
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/v1/models/mlp")
            if conn.getresponse().status == 200:
                return proc, port
        except OSError:
            time.sleep(0.2)
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited: {proc.stderr.read()[-2000:]}")
    proc.kill()
    raise RuntimeError("the server did not become ready in 120 s")


def _client(port: int, body: bytes, count: int, latencies: list, errors: list) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"}
    for _ in range(count):
        start = time.perf_counter()
        try:
            conn.request("POST", "/v1/models/mlp:predict", body, headers)
            response = conn.getresponse()
            data = response.read()
            if response.status != 200 or b"predictions" not in data:
                errors.append(response.status)
        except OSError as e:
            errors.append(repr(e))
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        latencies.append(time.perf_counter() - start)
    conn.close()


def server_throughput(workdir: Path, quick: bool) -> list[dict]:
    model = mlp()
    model(np.zeros((1, 784), "float32"))
    repo = workdir / "repo"
    Repository(repo).push(model.export(workdir / "served", platforms="cpu"), "mlp")
    body = json.dumps({"instances": np.random.default_rng(0).random((1, 784)).round(4).tolist()}).encode()
    rows = []
    for batching, timeout_ms in ((False, 0), (True, 0), (True, 2)):
        proc, port = _start_server(repo, batching, timeout_ms)
        try:
            for clients in (1, 8, 32):
                per_client = 20 if quick else max(100, 1600 // clients)
                _client(port, body, 20, [], [])  # warm-up: connection and first compile
                latencies, errors = [], []
                threads = [threading.Thread(target=_client, args=(port, body, per_client, latencies, errors))
                           for _ in range(clients)]
                start = time.perf_counter()
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                wall = time.perf_counter() - start
                ms = sorted(1e3 * v for v in latencies)
                rows.append({"batching": batching, "timeout_ms": timeout_ms, "clients": clients, "requests": len(latencies),
                             "rps": len(latencies) / wall, "p50": ms[len(ms) // 2],
                             "p99": ms[min(len(ms) - 1, int(len(ms) * 0.99))], "errors": len(errors)})
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return rows


def _cell(pair) -> str:
    return f"{pair[0]:.1f} / {pair[1]:.1f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run with few calls")
    args = parser.parse_args(argv)
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"jax {jax.__version__} on {jax.default_backend()}")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        rows = call_latency(workdir, args.quick)
        peers = [k for k in ("model(x)", "jit", "artifact", "onnxruntime") if k in rows[0]]
        print("\nOne call, microseconds (best round / median round):\n")
        print("| model | batch | " + " | ".join(peers) + " | artifact / jit | artifact / model(x) |"
              + (" onnxruntime / artifact |" if "onnxruntime" in peers else ""))
        print("|---|---:|" + "---:|" * (len(peers) + 2 + ("onnxruntime" in peers)))
        for r in rows:
            ratio = r["artifact"][0] / r["jit"][0]
            line = (f"| {r['model']} | {r['batch']} | " + " | ".join(_cell(r[k]) for k in peers)
                    + f" | {ratio:.3g}x | {r['artifact'][0] / r['model(x)'][0]:.3g}x |")
            if "onnxruntime" in peers:
                line += f" {r['onnxruntime'][0] / r['artifact'][0]:.3g}x |"
            print(line)
        served = server_throughput(workdir, args.quick)
        print("\n`workbench serve` on loopback, batch-1 requests of the MLP:\n")
        print("| dynamic batching | clients | requests | requests/s | p50 ms | p99 ms | errors |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for r in served:
            mode = f"on, --batch-timeout-ms {r['timeout_ms']:g}" if r["batching"] else "off"
            print(f"| {mode} | {r['clients']} | {r['requests']} | {r['rps']:.0f} | "
                  f"{r['p50']:.2f} | {r['p99']:.2f} | {r['errors']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The TF-Serving-compatible REST server: routes, predictions, malformed requests, hot reload, batching, canary."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import jax
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import workbench as wb
import workbench.export as wx
from workbench.export.repository import Repository
from workbench.export.server import Batcher, add_serve_parser, create_app, padding_sizes, serve_in_thread
from workbench.export.server.registry import ServedVersion

MAX_BODY_MB = 0.25


def _classifier(seed: int):
    wb.utils.set_random_seed(seed)
    inp = wb.Input((4,), name="x")
    return wb.Model(inp, wb.layers.Dense(3, name="logits")(inp))


def _export_classifier(path, seed: int):
    """A classifier with a second signature, `probs`, returning softmax probabilities."""
    probs = wx.Signature(fn=lambda model, x: jax.nn.softmax(model(x)), output_names=("probs",))
    return _classifier(seed).export(path, signatures={"serving_default": wx.Signature(), "probs": probs})


def _export_pair(path):
    a, b = wb.Input((4,), name="a"), wb.Input((2,), name="b")
    h = wb.layers.Concatenate()([a, b])
    model = wb.Model([a, b], [wb.layers.Dense(3, name="scores")(h), wb.layers.Dense(1, name="value")(h)])
    return model.export(path)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("exported")
    return {
        "clf1": _export_classifier(root / "clf1", 1),
        "clf2": _export_classifier(root / "clf2", 2),
        "pair": _export_pair(root / "pair"),
        "fixed": _classifier(3).export(root / "fixed", batch=2),
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory, exported):
    """One server over a repository of: clf (v1 stable, v2 canary), pair, fixed (batch of exactly 2)."""
    repo = Repository(tmp_path_factory.mktemp("repo") / "models")
    repo.push(exported["clf1"], "clf", label="stable")
    repo.push(exported["clf2"], "clf", label="canary")
    repo.push(exported["pair"], "pair")
    repo.push(exported["fixed"], "fixed")
    app = create_app(
        repo.root, poll_seconds=0.1, max_body_mb=MAX_BODY_MB, max_batch_size=8, batch_timeout_ms=5
    )
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client, repo, app.state.service


@pytest.fixture(scope="module")
def arts(exported):
    return {k: wx.load(v) for k, v in exported.items()}


def _x(n=3, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 4)).astype("float32")


# -- status and metadata ---------------------------------------------------------------------------------


def test_status_lists_every_version_in_tf_serving_form(server):
    client, _, _ = server
    ok = {"error_code": "OK", "error_message": ""}
    assert client.get("/v1/models/clf").json() == {
        "model_version_status": [
            {"version": "1", "state": "AVAILABLE", "status": ok},
            {"version": "2", "state": "AVAILABLE", "status": ok},
        ]
    }
    assert client.get("/v1/models/clf/versions/2").json()["model_version_status"][0]["version"] == "2"
    assert client.get("/v1/models/clf/labels/canary").json()["model_version_status"][0]["version"] == "2"
    assert client.get("/healthz").status_code == 200


def test_metadata_describes_signatures_like_tf_serving(server):
    client, _, _ = server
    meta = client.get("/v1/models/clf/metadata").json()
    assert meta["model_spec"] == {"name": "clf", "signature_name": "", "version": "1"}
    sigs = meta["metadata"]["signature_def"]["signature_def"]
    assert sorted(sigs) == ["probs", "serving_default"]
    assert sigs["serving_default"] == {
        "inputs": {
            "x": {
                "dtype": "DT_FLOAT",
                "tensor_shape": {
                    "dim": [{"size": "-1", "name": ""}, {"size": "4", "name": ""}],
                    "unknown_rank": False,
                },
                "name": "x",
            }
        },
        "outputs": {
            "logits": {
                "dtype": "DT_FLOAT",
                "tensor_shape": {
                    "dim": [{"size": "-1", "name": ""}, {"size": "3", "name": ""}],
                    "unknown_rank": False,
                },
                "name": "logits",
            }
        },
        "method_name": "tensorflow/serving/predict",
    }
    assert client.get("/v1/models/clf/labels/canary/metadata").json()["model_spec"]["version"] == "2"
    assert (
        client.get("/v1/models/fixed/metadata").json()["metadata"]["signature_def"]["signature_def"][
            "serving_default"
        ]["inputs"]["x"]["tensor_shape"]["dim"][0]["size"]
        == "2"
    )


# -- predictions ---------------------------------------------------------------------------------------------


def _post(client, path, body):
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_predictions_equal_the_artifacts_outputs(server, arts):
    client, _, _ = server
    x = _x()
    want1, want2 = np.asarray(arts["clf1"](x)), np.asarray(arts["clf2"](x))
    rows = _post(client, "/v1/models/clf:predict", {"instances": x.tolist()})["predictions"]
    np.testing.assert_allclose(rows, want1, rtol=1e-6, atol=1e-6)
    named_rows = _post(client, "/v1/models/clf:predict", {"instances": [{"x": r} for r in x.tolist()]})
    np.testing.assert_allclose(named_rows["predictions"], want1, rtol=1e-6, atol=1e-6)
    columns = _post(client, "/v1/models/clf/versions/2:predict", {"inputs": x.tolist()})["outputs"]
    np.testing.assert_allclose(columns, want2, rtol=1e-6, atol=1e-6)
    by_label = _post(client, "/v1/models/clf/labels/canary:predict", {"inputs": {"x": x.tolist()}})["outputs"]
    np.testing.assert_allclose(by_label, want2, rtol=1e-6, atol=1e-6)
    probs = _post(client, "/v1/models/clf:predict", {"signature_name": "probs", "instances": x.tolist()})
    np.testing.assert_allclose(
        probs["predictions"], arts["clf1"].signatures["probs"](x), rtol=1e-6, atol=1e-6
    )


def test_several_inputs_and_outputs_in_both_formats(server, arts):
    client, _, _ = server
    a, b = _x(2), _x(2)[:, :2]
    want = {k: np.asarray(v) for k, v in arts["pair"](a=a, b=b).items()}
    rows = _post(
        client,
        "/v1/models/pair:predict",
        {"instances": [{"a": a[i].tolist(), "b": b[i].tolist()} for i in range(2)]},
    )
    assert [sorted(r) for r in rows["predictions"]] == [["scores", "value"]] * 2
    for name in want:
        np.testing.assert_allclose([r[name] for r in rows["predictions"]], want[name], rtol=1e-6, atol=1e-6)
    columns = _post(client, "/v1/models/pair:predict", {"inputs": {"a": a.tolist(), "b": b.tolist()}})[
        "outputs"
    ]
    for name in want:
        np.testing.assert_allclose(columns[name], want[name], rtol=1e-6, atol=1e-6)
    fixed = _post(client, "/v1/models/fixed:predict", {"inputs": a.tolist()})["outputs"]
    np.testing.assert_allclose(fixed, arts["fixed"](a), rtol=1e-6, atol=1e-6)


# -- malformed requests ----------------------------------------------------------------------------------

ROW = [0.5, 1.0, -1.0, 2.0]
MALFORMED = [
    # (method, path, raw body, status, what the error must say)
    ("POST", "/v1/models/clf:predict", b'{"instances": [[1, 2', 400, "not valid JSON"),
    ("POST", "/v1/models/clf:predict", b"\xff\xfe\x00garbage", 400, "not valid JSON"),
    ("POST", "/v1/models/clf:predict", b"", 400, "body is empty"),
    ("POST", "/v1/models/clf:predict", b"[[1, 2, 3, 4]]", 400, "must be a JSON object"),
    ("POST", "/v1/models/clf:predict", b'"instances"', 400, "got a string"),
    ("POST", "/v1/models/clf:predict", b"null", 400, "got null"),
    ("POST", "/v1/models/clf:predict", b"{}", 400, 'exactly one of "instances"'),
    ("POST", "/v1/models/clf:predict", json.dumps({"instances": [ROW], "inputs": [ROW]}), 400, "exactly one"),
    (
        "POST",
        "/v1/models/clf:predict",
        json.dumps({"instances": [ROW], "extra": 1}),
        400,
        "Unknown key(s) ['extra']",
    ),
    ("POST", "/v1/models/clf:predict", json.dumps({"instances": []}), 400, "non-empty list"),
    ("POST", "/v1/models/clf:predict", json.dumps({"instances": {"x": ROW}}), 400, "got an object"),
    (
        "POST",
        "/v1/models/clf:predict",
        json.dumps({"instances": [[1, 2, 3]]}),
        400,
        "input 'x': expected shape",
    ),
    ("POST", "/v1/models/clf:predict", json.dumps({"instances": [ROW, [1, 2]]}), 400, "input 'x'"),
    ("POST", "/v1/models/clf:predict", json.dumps({"inputs": [[[ROW]]]}), 400, "expected rank 2"),
    (
        "POST",
        "/v1/models/clf:predict",
        json.dumps({"instances": [["a", "b", "c", "d"]]}),
        400,
        "expected dtype float32",
    ),
    ("POST", "/v1/models/clf:predict", json.dumps({"instances": [[{"b64": "AAAA"}] * 4]}), 400, "input 'x'"),
    ("POST", "/v1/models/clf:predict", json.dumps({"instances": [[10**40] * 4]}), 400, "input 'x'"),
    ("POST", "/v1/models/clf:predict", json.dumps({"instances": [[[[[[[[[[1]]]]]]]]]]}), 400, "input 'x'"),
    ("POST", "/v1/models/clf:predict", "[" * 100_000 + "]" * 100_000, 400, "not valid JSON"),
    ("POST", "/v1/models/clf:predict", json.dumps({"instances": [{"x": ROW}, ROW]}), 400, "mix objects"),
    (
        "POST",
        "/v1/models/clf:predict",
        json.dumps({"instances": [{"x": ROW, "y": ROW}]}),
        400,
        "unknown input(s) ['y']",
    ),
    (
        "POST",
        "/v1/models/clf:predict",
        json.dumps({"inputs": {"x": [ROW], "y": [ROW]}}),
        400,
        "no input(s) ['y']",
    ),
    (
        "POST",
        "/v1/models/pair:predict",
        json.dumps({"instances": [{"a": ROW}]}),
        400,
        "missing input(s) ['b']",
    ),
    ("POST", "/v1/models/pair:predict", json.dumps({"inputs": {"a": [ROW]}}), 400, "missing input(s) ['b']"),
    ("POST", "/v1/models/pair:predict", json.dumps({"instances": [ROW]}), 400, "must be an object"),
    (
        "POST",
        "/v1/models/pair:predict",
        json.dumps({"inputs": {"a": [ROW], "b": [[1, 2]] * 2}}),
        400,
        "'batch' is 1",
    ),
    ("POST", "/v1/models/fixed:predict", json.dumps({"instances": [ROW, ROW]}), 400, "cannot take rows"),
    ("POST", "/v1/models/fixed:predict", json.dumps({"inputs": [ROW]}), 400, "axis 0 must be 2"),
    (
        "POST",
        "/v1/models/clf:predict",
        json.dumps({"signature_name": 3, "instances": [ROW]}),
        400,
        "is a string",
    ),
    (
        "POST",
        "/v1/models/clf:predict",
        json.dumps({"signature_name": "nope", "instances": [ROW]}),
        404,
        "no signature 'nope'",
    ),
    (
        "POST",
        "/v1/models/ghost:predict",
        json.dumps({"instances": [ROW]}),
        404,
        "Model 'ghost' is not served",
    ),
    ("POST", "/v1/models/clf/versions/9:predict", json.dumps({"instances": [ROW]}), 404, "no version 9"),
    ("POST", "/v1/models/clf/versions/x1:predict", json.dumps({"instances": [ROW]}), 400, "whole number"),
    ("POST", "/v1/models/clf/labels/blue:predict", json.dumps({"instances": [ROW]}), 404, "no label 'blue'"),
    ("POST", "/v1/models/clf:classify", json.dumps({"instances": [ROW]}), 404, "Unknown method ':classify'"),
    ("GET", "/v1/models/ghost", None, 404, "not served"),
    ("GET", "/v1/models/clf/versions/9/metadata", None, 404, "no version 9"),
    ("GET", "/v1/models/clf/labels/blue", None, 404, "no label 'blue'"),
    ("GET", "/v1/models/clf:predict", None, 405, "takes POST"),
    ("POST", "/v1/models/clf", b"{}", 405, "takes GET"),
    ("DELETE", "/v1/models/clf", None, 405, "DELETE is not allowed"),
    ("GET", "/v1/models/clf/weird/path", None, 404, "No route"),
    ("GET", "/v2/anything", None, 404, "No route"),
]


@pytest.mark.parametrize("method,path,body,status,message", MALFORMED)
def test_malformed_requests_get_a_4xx_json_error_that_says_why(server, method, path, body, status, message):
    client, _, _ = server
    response = client.request(method, path, content=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert message in error, error


def test_bodies_over_the_limit_get_413_without_being_read_whole(server):
    client, _, service = server
    limit = int(MAX_BODY_MB * 1024 * 1024)
    big = json.dumps({"instances": [ROW] * (limit // 20)}).encode()
    assert len(big) > limit
    response = client.post("/v1/models/clf:predict", content=big)
    assert response.status_code == 413 and "at most 0.2 MB" in response.json()["error"]

    def chunks():  # no Content-Length: counted while read
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]

    response = client.post("/v1/models/clf:predict", content=chunks())
    assert response.status_code == 413 and "--max-body-mb" in response.json()["error"]
    # A declared length far over the limit is refused at once, before any of the body is read.
    with socket.create_connection((client.base_url.host, client.base_url.port), timeout=10) as raw:
        raw.sendall(
            b"POST /v1/models/clf:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n{}"
        )
        assert raw.recv(65536).startswith(b"HTTP/1.1 413 ")
    assert _post(client, "/v1/models/clf:predict", {"instances": [ROW]})["predictions"]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(
            st.sampled_from(["x", "a", "b", "instances", "inputs", "signature_name", "b64"])
            | st.text(max_size=4),
            inner,
            max_size=4,
        )
    ),
    max_leaves=24,
)
BODIES = st.one_of(
    JSON,
    st.builds(lambda v: {"instances": v}, JSON),
    st.builds(lambda v: {"inputs": v}, JSON),
    st.builds(lambda v: {"inputs": {"x": v}}, JSON),
    st.builds(lambda v: {"instances": [{"x": v}]}, JSON),
    st.builds(
        lambda v, n: {"signature_name": n, "instances": v},
        JSON,
        st.sampled_from(["probs", "serving_default", ""]) | JSON,
    ),
    st.builds(
        lambda v: {"instances": [v] * 3},
        st.lists(st.floats() | st.integers(-5, 5) | st.booleans(), min_size=3, max_size=5),
    ),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=BODIES, model=st.sampled_from(["clf", "pair", "fixed"]))
def test_generated_bodies_never_get_a_5xx(server, body, model):
    client, _, _ = server
    response = client.post(f"/v1/models/{model}:predict", content=json.dumps(body))
    assert response.status_code < 500, response.text
    assert ("error" in response.json()) == (response.status_code >= 400)


# -- hot reload ---------------------------------------------------------------------------------------------


def _wait_for(check, seconds=20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {seconds} s")


def _states(client, name):
    response = client.get(f"/v1/models/{name}")
    return {s["version"]: s for s in response.json().get("model_version_status", [])}


def test_new_versions_load_without_restart_and_broken_ones_are_reported(server, exported, arts):
    client, repo, _ = server
    repo.push(exported["clf1"], "hot")
    _wait_for(lambda: _states(client, "hot").get("1", {}).get("state") == "AVAILABLE")
    broken = repo.root / "hot" / ".incoming"
    shutil.copytree(exported["clf2"], broken)
    weights = broken / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-16] + b"corrupted weight")
    broken.rename(repo.root / "hot" / "2")  # appears whole, as a new numbered folder
    status = _wait_for(
        lambda: _states(client, "hot").get("2", {}).get("state") == "END" and _states(client, "hot")["2"]
    )
    assert status["status"]["error_code"] == "INVALID_ARGUMENT"
    assert "weights.safetensors" in status["status"]["error_message"]
    x = _x(2)
    np.testing.assert_allclose(
        _post(client, "/v1/models/hot:predict", {"inputs": x.tolist()})["outputs"], arts["clf1"](x), rtol=1e-6
    )
    response = client.post("/v1/models/hot/versions/2:predict", json={"inputs": x.tolist()})
    assert response.status_code == 404 and "failed to load" in response.json()["error"]

    repo.push(exported["clf2"], "hot")  # version 3: the highest available is now the default route
    _wait_for(lambda: _states(client, "hot").get("3", {}).get("state") == "AVAILABLE")
    np.testing.assert_allclose(
        _post(client, "/v1/models/hot:predict", {"inputs": x.tolist()})["outputs"], arts["clf2"](x), rtol=1e-6
    )
    repo.promote("hot", 1)
    _wait_for(
        lambda: np.allclose(
            _post(client, "/v1/models/hot:predict", {"inputs": x.tolist()})["outputs"],
            arts["clf1"](x),
            rtol=1e-6,
        )
    )
    repo.remove("hot", 3)
    _wait_for(lambda: "3" not in _states(client, "hot"))
    assert client.post("/v1/models/hot/versions/3:predict", json={"inputs": x.tolist()}).status_code == 404


def test_a_retired_version_unloads_only_after_its_last_request():
    version = ServedVersion("m", 1, artifact=object(), identity=())
    assert version.acquire()
    version.retire()
    assert not version.unloaded.is_set() and version.artifact is not None
    version.release()
    assert version.unloaded.is_set() and version.artifact is None
    assert not version.acquire()


# -- batching -----------------------------------------------------------------------------------------------


def _metric_values(client, name):
    out = {}
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + "{"):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', line))
            out[tuple(sorted(labels.items()))] = float(line.rsplit(" ", 1)[1])
    return out


def test_concurrent_requests_are_batched_to_padding_sizes_with_unchanged_results(server, arts):
    client, _, _ = server
    before = _metric_values(client, "workbench_serving_program_calls_total")
    inputs = [_x(1 + i % 5, seed=i) for i in range(48)] + [_x(19, seed=99)]  # 19 rows > max batch of 8

    def ask(x):
        return _post(client, "/v1/models/clf/versions/1:predict", {"instances": x.tolist()})["predictions"]

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(ask, inputs))
    for x, got in zip(inputs, answers):
        np.testing.assert_allclose(got, arts["clf1"](x), rtol=1e-5, atol=1e-6)
    after = _metric_values(client, "workbench_serving_program_calls_total")
    calls = {
        dict(k)["batch_size"]: v - before.get(k, 0)
        for k, v in after.items()
        if dict(k)["version"] == "1" and dict(k)["model"] == "clf"
    }
    seen = {int(size) for size, n in calls.items() if n > 0}
    assert seen <= set(padding_sizes(8)), seen
    assert sum(calls.values()) < len(inputs), "concurrent requests should share program calls"


def test_batcher_pads_splits_and_keeps_row_shapes_apart():
    seen = []

    def run(inputs):
        seen.append(inputs["x"].shape)
        return {"y": inputs["x"].sum(axis=-1) * 2}

    async def scenario():
        with ThreadPoolExecutor(2) as pool:
            batcher = Batcher(run, pool, max_batch_size=8, timeout_s=0.05)
            requests = [np.full((n, 3), float(n)) for n in (1, 2, 3)] + [np.ones((2, 5)), np.ones((20, 3))]
            results = await asyncio.gather(*(batcher.submit({"x": x}) for x in requests))
            started = time.perf_counter()
            await batcher.submit({"x": np.ones((1, 3))})
            alone = time.perf_counter() - started
            return requests, results, alone

    requests, results, alone = asyncio.run(scenario())
    for x, result in zip(requests, results):
        np.testing.assert_array_equal(result["y"], x.sum(axis=-1) * 2)
    assert {s[0] for s in seen} <= {1, 2, 4, 8}
    assert (8, 3) in seen  # 1 + 2 + 3 rows padded to 8 together
    assert (2, 5) in seen  # another row shape: its own call
    assert seen.count((8, 3)) >= 3  # the 20 rows ran on their own, in chunks of 8 (the last padded)
    assert alone < 0.05 + 0.04, "a lone request waits the timeout, not longer"


def test_without_a_timeout_requests_arriving_during_a_batch_form_the_next_one():
    calls = []

    def run(inputs):
        calls.append(len(inputs["x"]))
        time.sleep(0.05)  # a slow program: the other requests arrive while it runs
        return {"y": inputs["x"] * 3}

    async def scenario():
        with ThreadPoolExecutor(2) as pool:
            batcher = Batcher(run, pool, max_batch_size=8, timeout_s=0.0)
            first = asyncio.ensure_future(batcher.submit({"x": np.ones((1, 2))}))
            await asyncio.sleep(0.01)  # the first is running alone now, without having waited
            rest = [batcher.submit({"x": np.full((1, 2), float(i))}) for i in range(5)]
            return await asyncio.gather(first, *rest)

    results = asyncio.run(scenario())
    assert calls == [1, 8]  # the lone first request at once; the five that queued behind it together, padded
    for i, result in enumerate(results[1:]):
        np.testing.assert_array_equal(result["y"], np.full((1, 2), 3.0 * i))


def test_batching_adds_at_most_the_timeout_to_a_lone_request(server):
    client, _, _ = server
    body = {"instances": [ROW]}
    _post(client, "/v1/models/clf:predict", body)
    started = time.perf_counter()
    for _ in range(20):
        _post(client, "/v1/models/clf:predict", body)
    per_request = (time.perf_counter() - started) / 20
    assert per_request < 0.005 + 0.02, per_request


# -- canary and the command line ----------------------------------------------------------------------------


def test_canary_share_sends_that_share_of_default_requests_to_the_canary(server, arts):
    _, repo, _ = server
    x = _x(1)
    want = {1: np.asarray(arts["clf1"](x)), 2: np.asarray(arts["clf2"](x))}
    with (
        serve_in_thread(create_app(repo.root, canary_share=0.25, batching=False)) as url,
        httpx.Client(base_url=url) as c,
    ):
        answered = []
        for _ in range(40):
            got = _post(c, "/v1/models/clf:predict", {"inputs": x.tolist()})["outputs"]
            answered.append(next(v for v, w in want.items() if np.allclose(got, w, rtol=1e-6)))
        pinned = {
            _post(c, "/v1/models/clf/versions/1:predict", {"inputs": x.tolist()})["outputs"]
            == want[1].tolist()
        }
    assert answered.count(2) == 10 and answered.count(1) == 30
    assert pinned == {True}


def test_serve_cli_refuses_a_missing_folder_and_bad_options(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="workbench")
    add_serve_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["serve", str(tmp_path / "nowhere"), "--port", "9"])
    assert args.func(args) == 2
    assert "is not a folder" in capsys.readouterr().err
    args = parser.parse_args(
        ["serve", str(tmp_path), "--max-batch-size", "16", "--no-batching", "--canary-share", "0.1"]
    )
    assert (args.max_batch_size, args.no_batching, args.canary_share, args.port) == (16, True, 0.1, 8501)
    for bad in (["--canary-share", "1.5"], ["--max-batch-size", "0"], ["--poll-seconds", "x"]):
        with pytest.raises(SystemExit):
            parser.parse_args(["serve", str(tmp_path), *bad])


def test_metrics_count_requests_by_model_version_and_code(server):
    client, _, _ = server
    _post(client, "/v1/models/clf/versions/2:predict", {"instances": [ROW]})
    client.post("/v1/models/clf/versions/2:predict", json={"instances": [[1]]})
    requests = _metric_values(client, "workbench_serving_requests_total")
    assert requests[(("code", "200"), ("model", "clf"), ("version", "2"))] >= 1
    assert requests[(("code", "400"), ("model", "clf"), ("version", "2"))] >= 1
    assert _metric_values(client, "workbench_serving_loaded_versions")[(("model", "clf"),)] == 2
    text = client.get("/metrics").text
    assert (
        "workbench_serving_request_seconds_bucket" in text and "workbench_serving_batch_rows_bucket" in text
    )


def test_an_internal_failure_is_a_500_with_a_message_and_is_counted(server, monkeypatch):
    client, _, service = server
    signature = service.registry.state("fixed").served[1].artifact.signatures["serving_default"]

    def broken(inputs):
        raise RuntimeError("the accelerator fell over")

    monkeypatch.setattr(signature, "call_dict", broken)
    response = client.post("/v1/models/fixed:predict", json={"inputs": [ROW, ROW]})
    assert response.status_code == 500
    assert response.json() == {"error": "Internal server error: RuntimeError: the accelerator fell over"}
    counted = _metric_values(client, "workbench_serving_requests_total")
    assert counted[(("code", "500"), ("model", "fixed"), ("version", "1"))] == 1

"""The lab's REST API through a real Jupyter server (pytest-jupyter's `jp_fetch`)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from tornado.httpclient import HTTPClientError

from workbench.lab.handlers import routes


async def get(jp_fetch, *parts, **params):
    response = await jp_fetch("workbench", "api", *parts, params=params)
    return json.loads(response.body)


async def error(jp_fetch, *parts, method="GET", body=None, **params):
    kwargs = {"method": method, "params": params}
    if method == "POST":
        kwargs["body"] = body if body is not None else "{}"
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("workbench", "api", *parts, **kwargs)
    return caught.value.code, json.loads(caught.value.response.body)["message"]


def _concrete(pattern: str, run_id: str) -> str:
    return re.sub(r"\(\?P<run_id>[^)]*\)", run_id, pattern).replace("$", "")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "token not-the-token"}], ids=["no-token", "bad-token"])
async def test_every_route_refuses_unauthenticated_requests(jp_serverapp, http_server_client, jp_base_url,
                                                            made_runs, headers):
    table = routes(jp_base_url)
    assert len(table) == 7
    for pattern, handler in table:
        url = _concrete(pattern, made_runs["mlp"].name)
        methods = [m for m in ("GET", "POST") if m.lower() in vars(handler)]
        assert methods, handler
        for method in methods:
            response = await http_server_client.fetch(
                url, method=method, headers=headers, body="{}" if method == "POST" else None, raise_error=False
            )
            assert response.code == 403, (method, url, response.code)
    assert not (made_runs["mlp"] / "artifacts").exists()


async def test_status_names_the_runs_root_and_repository(jp_fetch, made_runs, tmp_path):
    status = await get(jp_fetch, "status")
    assert status["runs_root"] == str(made_runs["root"])
    assert status["runs_root_readable"] is True and status["message"] is None
    assert status["repository"] == str(tmp_path / "models")


async def test_runs_are_listed_newest_first_with_status_duration_and_best_values(jp_fetch, made_runs):
    listing = await get(jp_fetch, "runs")
    assert listing["error"] is None and listing["root"] == str(made_runs["root"])
    rows = {r["id"]: r for r in listing["runs"]}
    assert "escape" not in rows and made_runs["outside"].name not in rows  # the symlink out is not served
    created = [r["created"] or "" for r in listing["runs"]]
    assert created == sorted(created, reverse=True)

    mlp = rows[made_runs["mlp"].name]
    assert mlp["name"] == "mlp" and mlp["status"] == "finished" and mlp["epochs"] == 3
    assert mlp["duration_s"] is not None and mlp["duration_s"] >= 0
    history = made_runs["mlp_model"].history.history
    assert mlp["best"]["val_loss"]["value"] == pytest.approx(min(history["val_loss"]), rel=1e-6)
    assert mlp["best"]["val_loss"]["mode"] == "min"
    assert mlp["best"]["accuracy"]["value"] == pytest.approx(max(history["accuracy"]), rel=1e-6)
    assert mlp["best"]["accuracy"]["mode"] == "max"
    assert "learning_rate" not in mlp["best"]

    live = rows[made_runs["running"].name]
    assert live["status"] == "running" and live["ended"] is None and live["duration_s"] > 0

    bare = rows[made_runs["bare"].name]
    assert bare["status"] == "unknown" and "run.json is missing" in bare["message"]
    assert bare["last"]["train"]["loss"] == 1.5


async def test_a_run_shows_its_config_checkpoints_profile_and_whether_it_exports(jp_fetch, made_runs):
    run = await get(jp_fetch, "runs", made_runs["mlp"].name)
    assert run["info"]["model"]["config"]["class_name"] == "Functional"
    assert run["info"]["hparams"]["units"] == 8
    assert [c["step"] for c in run["checkpoints"]] and all(c["step"] > 0 for c in run["checkpoints"])
    assert run["exportable"] == {"ok": True, "reason": None}
    assert run["profile"]["steps"] and set(run["profile"]["steps"][0]["parts"]) >= {"data_wait", "device"}
    assert run["profile"]["compiles"][0]["cause"] == "first call"

    sub = await get(jp_fetch, "runs", made_runs["subclassed"].name)
    assert not sub["exportable"]["ok"] and "model.export()" in sub["exportable"]["reason"]
    lam = await get(jp_fetch, "runs", made_runs["lambda"].name)
    assert not lam["exportable"]["ok"] and "Lambda" in lam["exportable"]["reason"]


async def test_metrics_come_as_columns_per_split(jp_fetch, made_runs):
    from workbench.runs import load_run

    metrics = await get(jp_fetch, "runs", made_runs["mlp"].name, "metrics")
    expected = load_run(made_runs["mlp"]).metrics("val")
    assert metrics["kind"] == "epoch"
    np.testing.assert_allclose(metrics["val"]["loss"], expected["loss"])
    assert metrics["train"]["epoch"] == [0, 1, 2]
    batch = await get(jp_fetch, "runs", made_runs["mlp"].name, "metrics", kind="batch")
    assert len(batch["train"]["batch_loss"]) == len(batch["train"]["step"]) > 3
    code, message = await error(jp_fetch, "runs", made_runs["mlp"].name, "metrics", kind="weekly")
    assert code == 400 and "'epoch' or 'batch'" in message


async def test_compare_gives_hyper_parameters_final_metrics_and_curves(jp_fetch, made_runs):
    ids = [made_runs["mlp"].name, made_runs["lambda"].name]
    result = await get(jp_fetch, "compare", ids=",".join(ids))
    assert [r["id"] for r in result["rows"]] == ids
    assert "units" in result["hparams"] and "note" in result["hparams"]
    assert "loss" in result["metrics"] and "val_loss" in result["metrics"]
    assert set(result["curves"]) == set(ids) and len(result["curves"][ids[0]]["train"]["loss"]) == 3
    code, _ = await error(jp_fetch, "compare", ids="")
    assert code == 400


@pytest.mark.parametrize(
    "run_id, codes",
    [("..", {400, 404}), ("...", {400}), (".hidden", {400}), ("escape", {404}), ("no-such-run", {404}),
     ("%2e%2e", {400, 404}), ("..%2f..%2fetc", {400, 404}), ("%2fetc", {400, 404})],
)
async def test_ids_that_leave_the_root_or_name_nothing_are_refused(jp_serverapp, http_server_client, jp_base_url,
                                                                   jp_auth_header, run_id, codes):
    for suffix in ("", "/metrics"):
        url = f"{jp_base_url}workbench/api/runs/{run_id}{suffix}"
        response = await http_server_client.fetch(url, headers=jp_auth_header, raise_error=False)
        assert response.code in codes, (url, response.code, response.body)
        if response.code in (400, 404) and response.body.startswith(b"{"):
            assert "secret" not in json.loads(response.body)["message"]


async def test_export_rebuilds_the_run_and_writes_a_loadable_artifact(jp_fetch, made_runs, tmp_path):
    from workbench.export import load

    run_id = made_runs["mlp"].name
    response = await jp_fetch("workbench", "api", "runs", run_id, "export", method="POST",
                              body=json.dumps({"checkpoint": None, "push": {"name": "mlp", "repository": None}}),
                              request_timeout=120)
    result = json.loads(response.body)
    assert result["path"].startswith(str(made_runs["mlp"] / "artifacts"))
    assert result["manifest"]["provenance"]["run_id"] == run_id
    assert result["pushed"] == {"name": "mlp", "version": 1, "path": str(tmp_path / "models" / "mlp" / "1")}
    x = np.random.default_rng(1).normal(size=(5, 4)).astype("float32")
    artifact = load(result["path"])
    np.testing.assert_allclose(np.asarray(artifact(x)), np.asarray(made_runs["mlp_model"].predict(x, verbose=0)),
                               atol=1e-6)
    detail = await get(jp_fetch, "runs", run_id)
    assert result["path"] in [a["path"] for a in detail["artifacts"]]


@pytest.mark.parametrize(
    "which, body, code, words",
    [
        ("subclassed", {}, 409, "model.export()"),
        ("lambda", {}, 409, "Lambda"),
        ("mlp", {"checkpoint": 99999}, 409, "99999"),
        ("mlp", {"checkpoint": "latest"}, 400, "step number"),
        ("mlp", {"push": {"name": "../evil"}}, 409, "name"),
        ("mlp", {"push": "yes"}, 400, "push is null"),
        ("mlp", "not json", 400, "not valid JSON"),
        ("mlp", [1, 2], 400, "JSON object"),
    ],
)
async def test_exports_that_cannot_be_done_say_why_and_write_nothing(jp_fetch, made_runs, which, body, code, words):
    folder = made_runs[which]
    before = sorted(p.name for p in (folder / "artifacts").iterdir()) if (folder / "artifacts").exists() else []
    payload = body if isinstance(body, str) else json.dumps(body)
    got, message = await error(jp_fetch, "runs", folder.name, "export", method="POST", body=payload,
                               request_timeout=120)
    assert got == code and words in message, message
    after = sorted(p.name for p in (folder / "artifacts").iterdir()) if (folder / "artifacts").exists() else []
    assert after == before


async def test_new_notebooks_come_from_the_template_with_fresh_names(jp_fetch, jp_root_dir):
    (jp_root_dir / "course").mkdir()
    first = json.loads((await jp_fetch("workbench", "api", "notebooks", method="POST",
                                       body=json.dumps({"directory": "course"}))).body)
    second = json.loads((await jp_fetch("workbench", "api", "notebooks", method="POST",
                                        body=json.dumps({"directory": "course"}))).body)
    assert first["path"] == "course/Workbench.ipynb" and second["path"] == "course/Workbench-1.ipynb"
    notebook = json.loads((jp_root_dir / "course" / "Workbench.ipynb").read_text())
    assert any("model.fit" in "".join(c["source"]) for c in notebook["cells"])
    for directory, code in (("..", 400), ("/etc", 400), ("missing", 404), (3, 400)):
        got, message = await error(jp_fetch, "notebooks", method="POST", body=json.dumps({"directory": directory}))
        assert got == code, (directory, message)

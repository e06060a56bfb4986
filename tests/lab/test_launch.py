"""`workbench lab`: which folder it opens, the environment it gives JupyterLab, and a real start."""

from __future__ import annotations

import json
import os
import re
import urllib.request

import pytest

from workbench.lab import DATA_DIR, LABEXTENSION, launch


def test_without_a_folder_it_opens_notebooks_filled_from_the_course(tmp_path, monkeypatch):
    course = tmp_path / "course"
    course.mkdir()
    (course / "01_first.ipynb").write_text("{}")
    (course / "02_second.ipynb").write_text("{}")
    work = tmp_path / "work"
    (work / "notebooks").mkdir(parents=True)
    (work / "notebooks" / "01_first.ipynb").write_text("mine")
    monkeypatch.setattr(launch, "bundled_notebooks", lambda: course)
    monkeypatch.chdir(work)
    assert launch.notebook_dir(None) == work / "notebooks"
    assert (work / "notebooks" / "01_first.ipynb").read_text() == "mine"  # never overwritten
    assert (work / "notebooks" / "02_second.ipynb").read_text() == "{}"


def test_a_given_folder_must_exist(tmp_path):
    assert launch.notebook_dir(str(tmp_path)) == tmp_path
    with pytest.raises(ValueError, match="is not a folder"):
        launch.notebook_dir(str(tmp_path / "missing"))


def test_the_environment_puts_the_extension_first_and_shares_the_runs_root(tmp_path):
    env = launch.lab_environment(tmp_path, None, {"JUPYTER_PATH": "/elsewhere"})
    assert env["JUPYTER_PATH"].split(os.pathsep) == [str(DATA_DIR), "/elsewhere"]
    assert env["JUPYTER_CONFIG_PATH"].split(os.pathsep) == [str(DATA_DIR / "config")]
    assert env["WORKBENCH_RUNS_DIR"] == str(tmp_path / "runs")
    assert launch.lab_environment(tmp_path, None, {"WORKBENCH_RUNS_DIR": "/mine"})["WORKBENCH_RUNS_DIR"] == "/mine"
    assert launch.lab_environment(tmp_path, str(tmp_path / "r"), {})["WORKBENCH_RUNS_DIR"] == str(tmp_path / "r")


def test_the_prebuilt_frontend_and_the_server_config_ship_in_the_package():
    extension = DATA_DIR / "labextensions" / LABEXTENSION
    package = json.loads((extension / "package.json").read_text())
    assert package["name"] == LABEXTENSION
    assert (extension / "static" / package["jupyterlab"]["_build"]["load"].removeprefix("static/")).is_file()
    config = json.loads((DATA_DIR / "config" / "jupyter_server_config.d" / "workbench.json").read_text())
    assert config["ServerApp"]["jpserver_extensions"] == {"workbench.lab": True}


def test_workbench_lab_starts_jupyterlab_with_the_extension_on(tmp_path):
    from tests.browser.lab_server import TOKEN, start_lab

    server = start_lab(tmp_path, app="workbench")
    try:
        status = server.api("GET", "/workbench/api/status")
        assert status["runs_root"] == str(server.root_dir / "runs")
        request = urllib.request.Request(f"{server.url}/lab", headers={"Authorization": f"token {TOKEN}"})
        page = urllib.request.urlopen(request, timeout=30).read().decode()
        data = json.loads(re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', page, re.S).group(1))
        assert LABEXTENSION in [e["name"] for e in data["federated_extensions"]]
    finally:
        server.stop()

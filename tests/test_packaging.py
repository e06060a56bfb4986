"""The built wheel installs into a fresh virtualenv, imports `workbench` and `workbench.kernels`, and brings\nthe prebuilt lab extension, its server switch and the course."""

import json
import os
import pathlib
import shutil
import site
import subprocess
import sys
import sysconfig

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git to copy the tracked tree")
def test_wheel_installs_and_imports(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info",
                                                             "__pycache__", ".pytest_cache", ".ruff_cache"))
    dist = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(src)],
        capture_output=True, text=True,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    wheels = list(dist.glob("jax_workbench-*.whl"))
    assert len(wheels) == 1, wheels

    env_dir = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    py = env_dir / "bin" / "python"
    fresh_site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                check=True, capture_output=True, text=True).stdout.strip()
    clean_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index",
                    "--ignore-installed", "-q", str(wheels[0])], check=True, capture_output=True, env=clean_env)
    # Dependencies come from the test environment, added after the
    # install so pip cannot mistake the test environment's own copy for this one.
    # The package itself comes only from the wheel.
    deps = [p for p in site.getsitepackages() + [sysconfig.get_paths()["purelib"]] if os.path.isdir(p)]
    pathlib.Path(fresh_site, "deps.pth").write_text("\n".join(deps) + "\n")
    probe = (
        "import workbench, workbench.kernels, os;"
        "print(os.path.dirname(workbench.__file__));"
        "print(os.path.dirname(workbench.kernels.__file__));"
        "import numpy as np;"
        "import importlib, pkgutil;"
        "[importlib.import_module(m.name) for m in pkgutil.walk_packages(workbench.__path__, 'workbench.')];"
        "m = workbench.Sequential([workbench.Input((3,)), workbench.layers.Dense(2)]);"
        "print(m(np.ones((1, 3), 'float32')).shape);"
        "(x_train, _), (x_test, _) = workbench.datasets.digits();"  # the data file is in the wheel
        "print(len(x_train) + len(x_test))"
    )
    ran = subprocess.run([str(py), "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                         env=clean_env)
    assert ran.returncode == 0, ran.stderr[-3000:]
    out = ran.stdout.split("\n")
    assert out[0].startswith(fresh_site), out
    assert out[1] == os.path.join(out[0], "kernels"), out
    assert out[2] == "(1, 2)"
    assert out[3] == "1797"

    # The prebuilt lab extension, the server extension's switch and the course land where Jupyter looks.
    share = env_dir / "share" / "jupyter"
    extension = share / "labextensions" / "jax-workbench-lab"
    load = json.loads((extension / "package.json").read_text())["jupyterlab"]["_build"]["load"]
    assert (extension / load).is_file() and (extension / "build-stamp.json").is_file()
    assert list((extension / "schemas" / "jax-workbench-lab").glob("*.json"))
    config = env_dir / "etc" / "jupyter" / "jupyter_server_config.d" / "workbench.json"
    assert json.loads(config.read_text())["ServerApp"]["jpserver_extensions"] == {"workbench.lab": True}
    course = sorted(p.name for p in (share / "workbench" / "notebooks").glob("*.ipynb"))
    assert course == sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb")) and course
    found = subprocess.run([str(py), "-c", "from workbench.lab.launch import bundled_notebooks; "
                            "print(bundled_notebooks())"], capture_output=True, text=True, cwd=tmp_path,
                           env=clean_env)
    assert found.stdout.strip() == str(share / "workbench" / "notebooks"), found.stderr[-2000:]


def test_editable_or_installed_package_imports_kernels():
    import workbench.kernels

    assert pathlib.Path(workbench.kernels.__file__).parent.name == "kernels"


def test_package_does_not_import_keras_or_tensorflow():
    code = "import sys, workbench, workbench.layers, workbench.models; print(sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow')))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_every_subpackage_is_listed_in_pyproject():
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "workbench").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert found - listed == set(), f"add {sorted(found - listed)} to [tool.setuptools] packages"

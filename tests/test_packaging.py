"""The built wheel installs into a fresh virtualenv and imports `workbench` and `workbench.kernels`."""

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
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(src)],
                   check=True, capture_output=True)
    wheels = list(dist.glob("jax_workbench-*.whl"))
    assert len(wheels) == 1, wheels

    env_dir = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    py = env_dir / "bin" / "python"
    fresh_site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                check=True, capture_output=True, text=True).stdout.strip()
    # Dependencies come from the test environment; the package itself only from the wheel.
    deps = [p for p in site.getsitepackages() + [sysconfig.get_paths()["purelib"]] if os.path.isdir(p)]
    pathlib.Path(fresh_site, "deps.pth").write_text("\n".join(deps) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q",
                    str(wheels[0])], check=True, capture_output=True)
    probe = (
        "import workbench, workbench.kernels, os;"
        "print(os.path.dirname(workbench.__file__));"
        "print(os.path.dirname(workbench.kernels.__file__));"
        "import numpy as np;"
        "m = workbench.Sequential([workbench.Input((3,)), workbench.layers.Dense(2)]);"
        "print(m(np.ones((1, 3), 'float32')).shape)"
    )
    out = subprocess.run([str(py), "-c", probe], check=True, capture_output=True, text=True, cwd=tmp_path,
                         env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"}).stdout.split("\n")
    assert out[0].startswith(fresh_site), out
    assert out[1] == os.path.join(out[0], "kernels"), out
    assert out[2] == "(1, 2)"


def test_editable_or_installed_package_imports_kernels():
    import workbench.kernels

    assert pathlib.Path(workbench.kernels.__file__).parent.name == "kernels"


def test_package_does_not_import_keras_or_tensorflow():
    code = "import sys, workbench, workbench.layers, workbench.models; print(sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow')))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"

"""The data files ship as package data, the package reads them without scikit-learn, the docs run."""

import doctest
import fnmatch
import importlib
import inspect
import pathlib
import subprocess
import sys
import tomllib
from importlib import resources

import pytest

from workbench import datasets

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATASETS = ROOT / "workbench" / "datasets"
FILES = [
    "data/breast_cancer.npz",
    "data/digits.npz",
    "data/iris.npz",
    "data/shakespeare_sonnets.txt",
    "data/shakespeare_tempest.txt",
    "data/wine.npz",
]


def test_package_data_patterns_ship_every_data_file():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"][
        "workbench.datasets"
    ]
    on_disk = sorted(p.relative_to(DATASETS).as_posix() for p in (DATASETS / "data").iterdir())
    shipped = [f for f in on_disk if any(fnmatch.fnmatch(f, pattern) for pattern in patterns)]
    assert shipped == FILES, "add a pattern for new data files to [tool.setuptools.package-data]"
    assert set(on_disk) - set(shipped) == {"data/README.md"}


@pytest.mark.parametrize("file", FILES)
def test_each_file_is_found_through_importlib_resources(file):
    assert resources.files("workbench.datasets").joinpath(file).is_file()


def test_package_never_imports_sklearn():
    code = (
        "import sys, workbench.datasets as d;"
        "d.iris(); d.wine(); d.breast_cancer(); d.info('iris'); d.moons(); d.spirals(); d.addition(digits=2);"
        "d.char_sequences(d.shakespeare(), 10, 100);"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_public_names_have_docstrings_and_docstring_examples_run():
    for name in datasets.__all__:
        if callable(getattr(datasets, name)):
            assert inspect.getdoc(getattr(datasets, name)), name
    modules = [datasets] + [
        importlib.import_module(f"workbench.datasets.{p.stem}") for p in sorted(DATASETS.glob("_*.py"))
    ]
    for module in modules:
        failed, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert failed == 0, module.__name__

"""Finding the data files that ship inside the package (data/*.npz, data/*.txt)."""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable


def bundled_file(file: str, what: str) -> Traversable:
    """The package resource `file` (e.g. "data/iris.npz"), or a FileNotFoundError that says what to do."""
    path = resources.files("workbench.datasets").joinpath(file)
    if not path.is_file():
        raise FileNotFoundError(
            f"The bundled {what} file {file} is missing from workbench.datasets ({path}). "
            "Reinstall the package; a wheel built from this repository includes it as package data."
        )
    return path

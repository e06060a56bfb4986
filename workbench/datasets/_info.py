"""`info(name)`: what the columns and classes of a bundled labelled data set are, where it comes from."""

from __future__ import annotations

from workbench.datasets import _digits, _tabular

_NAMES = ("digits", *_tabular.ABOUT)


def info(name: str) -> dict[str, object]:
    """Names, description, source and licence of the bundled data set `name`.

    `name` is one of "digits", "iris", "wine", "breast_cancer" (the function of that name loads the
    data). Returns a new dict with the keys:

    - "feature_names": unicode array with the shape of one sample (digits: (8, 8); the tables:
      (n_features,)), naming each feature.
    - "class_names": unicode array; `class_names[y]` turns labels into names.
    - "description", "source", "licence": str. Cite the source when you publish results.

    Example:
        >>> from workbench.datasets import info, iris
        >>> _, (x_test, y_test) = iris()
        >>> names = info("iris")
        >>> names["class_names"][y_test[:3]]
        array(['versicolor', 'virginica', 'versicolor'], dtype='<U10')
    """
    if not isinstance(name, str):
        raise TypeError(
            f"info: name must be a str, one of {list(_NAMES)}, got {type(name).__name__}: {name!r}."
        )
    if name == "digits":
        about = _digits.ABOUT
        feature_names, class_names = about["feature_names"].copy(), about["class_names"].copy()
    elif name in _tabular.ABOUT:
        about = _tabular.ABOUT[name]
        table = _tabular.load_table(name)
        feature_names, class_names = table["feature_names"], table["class_names"]
    else:
        raise ValueError(f"info: no bundled data set called {name!r}; choose one of {list(_NAMES)}.")
    return {
        "feature_names": feature_names,
        "class_names": class_names,
        "description": about["description"],
        "source": about["source"],
        "licence": about["licence"],
    }

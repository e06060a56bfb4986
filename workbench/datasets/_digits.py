"""The 8x8 handwritten digits, split into train and test by a seeded, stratified shuffle.

The data (data/digits.npz) is the UCI "Optical Recognition of Handwritten Digits" set by E. Alpaydin
and C. Kaynak (1998, https://doi.org/10.24432/C50P49, CC BY 4.0), in the copy scikit-learn ships as
`sklearn.datasets.load_digits()` (BSD-3-Clause). data/README.md in the source tree says how it was made.
"""

from __future__ import annotations

import numbers
from importlib import resources

import numpy as np

_FILE = "data/digits.npz"


def _load_arrays() -> tuple[np.ndarray, np.ndarray]:
    path = resources.files("workbench.datasets").joinpath(_FILE)
    if not path.is_file():
        raise FileNotFoundError(
            f"The bundled digits file {_FILE} is missing from workbench.datasets ({path}). "
            "Reinstall the package; a wheel built from this repository includes it as package data."
        )
    with path.open("rb") as f, np.load(f) as data:
        return data["images"], data["labels"]


def _stratified_test_indices(labels: np.ndarray, n_test: int, rng: np.random.Generator) -> np.ndarray:
    """Pick `n_test` indices so that each class keeps (as nearly as whole numbers allow) its share."""
    classes, counts = np.unique(labels, return_counts=True)
    wanted = counts * (n_test / labels.size)
    take = np.floor(wanted).astype(int)
    # Hand the rounding remainder to the classes that lost the most to `floor`; ties go to the lower label.
    order = np.lexsort((classes, -(wanted - take)))
    take[order[: n_test - take.sum()]] += 1
    picked = [rng.permutation(np.flatnonzero(labels == c))[:k] for c, k in zip(classes, take)]
    return np.concatenate(picked)


def digits(
    test_fraction: float = 0.2, seed: int = 0
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The UCI optical-recognition digits: 1797 greyscale 8x8 images of the digits 0-9.

    Returns `(x_train, y_train), (x_test, y_test)` as Keras' `mnist.load_data()` does: images are
    uint8 arrays of shape (n, 8, 8) with values 0..16 (not 0..255: each pixel counts the set pixels
    in a 4x4 block of the original 32x32 bitmap), labels are uint8 arrays of shape (n,).

    The split is stratified, so every class has the same share in both parts, and shuffled; the
    same `seed` always gives the same split and order.

    Args:
        test_fraction: share of the images held out for testing, strictly between 0 and 1.
        seed: non-negative integer that fixes the split and the order of both parts.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = digits(test_fraction=0.25, seed=1)
        >>> x_train = x_train[..., None].astype("float32") / 16.0  # (n, 8, 8, 1) in [0, 1]
    """
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real):
        raise TypeError(
            f"digits: test_fraction must be a number between 0 and 1, got {type(test_fraction).__name__}: "
            f"{test_fraction!r}."
        )
    if not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(
            f"digits: test_fraction must be strictly between 0 and 1 (e.g. 0.2 holds out 20%), "
            f"got {test_fraction!r}."
        )
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"digits: seed must be a non-negative int, got {type(seed).__name__}: {seed!r}.")
    if seed < 0:
        raise ValueError(f"digits: seed must be a non-negative int, got {seed}.")

    images, labels = _load_arrays()
    n = labels.size
    n_test = int(round(n * float(test_fraction)))
    if not 0 < n_test < n:
        raise ValueError(
            f"digits: test_fraction={test_fraction!r} of {n} images leaves {n_test} for testing and "
            f"{n - n_test} for training; choose a fraction that leaves at least one image in each."
        )
    rng = np.random.default_rng(int(seed))
    is_test = np.zeros(n, dtype=bool)
    is_test[_stratified_test_indices(labels, n_test, rng)] = True
    train_idx = rng.permutation(np.flatnonzero(~is_test))
    test_idx = rng.permutation(np.flatnonzero(is_test))
    return (images[train_idx], labels[train_idx]), (images[test_idx], labels[test_idx])

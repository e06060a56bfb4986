"""The 8x8 handwritten digits, split into train and test by a seeded, stratified shuffle.

The data (data/digits.npz) is the UCI "Optical Recognition of Handwritten Digits" set by E. Alpaydin
and C. Kaynak (1998, https://doi.org/10.24432/C50P49, CC BY 4.0), in the copy scikit-learn ships as
`sklearn.datasets.load_digits()` (BSD-3-Clause). data/README.md in the source tree says how it was made.
"""

from __future__ import annotations

import numpy as np

from workbench.datasets._bundled import bundled_file
from workbench.datasets._checks import check_seed, check_test_fraction
from workbench.datasets._split import stratified_split

_FILE = "data/digits.npz"

# What `workbench.datasets.info("digits")` reports. The names have the shape of one image:
# feature_names[r, c] names pixel x[:, r, c] (scikit-learn's names, row by row).
ABOUT = {
    "feature_names": np.array([[f"pixel_{r}_{c}" for c in range(8)] for r in range(8)]),
    "class_names": np.array([str(d) for d in range(10)]),
    "description": (
        "1797 greyscale 8x8 images of handwritten digits 0-9; each pixel counts the set pixels "
        "(0..16) in a 4x4 block of a 32x32 bitmap."
    ),
    "source": (
        "E. Alpaydin and C. Kaynak, 'Optical Recognition of Handwritten Digits', UCI Machine Learning "
        "Repository (1998), https://doi.org/10.24432/C50P49"
    ),
    "licence": "CC BY 4.0 (UCI); scikit-learn's copy (sklearn.datasets.load_digits), BSD-3-Clause",
}


def _load_arrays() -> tuple[np.ndarray, np.ndarray]:
    with bundled_file(_FILE, "digits").open("rb") as f, np.load(f) as data:
        return data["images"], data["labels"]


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
    # Checked before the file is read, so a wrong argument fails fast even without the data.
    check_test_fraction("digits", test_fraction)
    check_seed("digits", seed)
    images, labels = _load_arrays()
    return stratified_split("digits", images, labels, test_fraction=test_fraction, seed=seed, unit="images")

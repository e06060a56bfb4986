"""Three classic tables of measurements with class labels: iris, wine and breast cancer.

Each file data/<name>.npz holds `features` (float64, the values exactly as published), `labels`
(uint8), `feature_names` and `class_names` (unicode arrays). The copies are scikit-learn's
(`sklearn.datasets.load_iris`, `load_wine`, `load_breast_cancer`; BSD-3-Clause) of data sets from the
UCI Machine Learning Repository (CC BY 4.0). data/README.md in the source tree says how they were made;
the package reads them with numpy alone.
"""

from __future__ import annotations

import numpy as np

from workbench.datasets._bundled import bundled_file
from workbench.datasets._checks import check_seed, check_test_fraction
from workbench.datasets._split import stratified_split

_SKLEARN = "scikit-learn's copy (sklearn.datasets.{}), BSD-3-Clause"

# What `workbench.datasets.info(name)` reports next to the names stored in each file.
ABOUT = {
    "iris": {
        "description": (
            "150 iris flowers, 50 of each of three species, described by four measurements in cm: "
            "sepal length and width, petal length and width."
        ),
        "source": (
            "R. A. Fisher, 'The use of multiple measurements in taxonomic problems', Annals of Eugenics 7 "
            "(1936), via the UCI Machine Learning Repository, https://doi.org/10.24432/C56C76; "
            "values as in scikit-learn's load_iris, which takes them from Fisher's paper (the UCI file "
            "differs in two rows)."
        ),
        "licence": "CC BY 4.0 (UCI); " + _SKLEARN.format("load_iris"),
    },
    "wine": {
        "description": (
            "178 wines from three cultivars grown in the same region of Italy (59, 71 and 48 wines), "
            "described by 13 results of chemical analysis such as alcohol, magnesium and proline."
        ),
        "source": (
            "S. Aeberhard and M. Forina, 'Wine', UCI Machine Learning Repository (1991), "
            "https://doi.org/10.24432/C5PC7J"
        ),
        "licence": "CC BY 4.0 (UCI); " + _SKLEARN.format("load_wine"),
    },
    "breast_cancer": {
        "description": (
            "569 fine-needle aspirates of breast masses, 212 malignant and 357 benign, described by 30 "
            "features of the cell nuclei in a digitised image: the mean, standard error and worst value "
            "of ten measurements such as radius, texture and concavity."
        ),
        "source": (
            "W. Wolberg, O. Mangasarian, N. Street and W. Street, 'Breast Cancer Wisconsin (Diagnostic)', "
            "UCI Machine Learning Repository (1995), https://doi.org/10.24432/C5DW2B"
        ),
        "licence": "CC BY 4.0 (UCI); " + _SKLEARN.format("load_breast_cancer"),
    },
}

_Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def load_table(name: str) -> dict[str, np.ndarray]:
    """All arrays of data/<name>.npz: features, labels, feature_names, class_names."""
    with bundled_file(f"data/{name}.npz", name).open("rb") as f, np.load(f) as data:
        return {key: data[key] for key in data.files}


def _split_table(name: str, test_fraction: float, seed: int) -> _Split:
    check_test_fraction(name, test_fraction)
    check_seed(name, seed)
    table = load_table(name)
    return stratified_split(name, table["features"], table["labels"], test_fraction=test_fraction, seed=seed)


def iris(test_fraction: float = 0.2, seed: int = 0) -> _Split:
    """Fisher's iris flowers: 150 samples, 4 measurements in cm, 3 species (50 each).

    Returns `(x_train, y_train), (x_test, y_test)`: features are float64 arrays of shape (n, 4), labels
    uint8 arrays of shape (n,) with 0 = setosa, 1 = versicolor, 2 = virginica. The split is stratified
    and shuffled as in `digits`; the same `seed` always gives the same split and order.
    `info("iris")` has the feature and class names.

    Data: R. A. Fisher (1936) via the UCI Machine Learning Repository (https://doi.org/10.24432/C56C76,
    CC BY 4.0), in scikit-learn's copy (BSD-3-Clause).

    Args:
        test_fraction: share of the samples held out for testing, strictly between 0 and 1.
        seed: non-negative integer that fixes the split and the order of both parts.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = iris()
        >>> x_train.shape, x_test.shape
        ((120, 4), (30, 4))
        >>> mean, std = x_train.mean(0), x_train.std(0)  # standardise with training statistics only
        >>> x_train = ((x_train - mean) / std).astype("float32")
    """
    return _split_table("iris", test_fraction, seed)


def wine(test_fraction: float = 0.2, seed: int = 0) -> _Split:
    """UCI wine recognition: 178 wines, 13 chemical measurements, 3 cultivars (59, 71, 48).

    Returns `(x_train, y_train), (x_test, y_test)`: features are float64 arrays of shape (n, 13), labels
    uint8 arrays of shape (n,) with values 0..2 (the cultivar). The features differ in scale by four
    orders of magnitude (nonflavanoid phenols near 0.3, proline near 750), so standardise them before
    training. The split is stratified and shuffled as in `digits`. `info("wine")` has the feature and class names.

    Data: S. Aeberhard and M. Forina (1991), UCI Machine Learning Repository
    (https://doi.org/10.24432/C5PC7J, CC BY 4.0), in scikit-learn's copy (BSD-3-Clause).

    Args:
        test_fraction: share of the samples held out for testing, strictly between 0 and 1.
        seed: non-negative integer that fixes the split and the order of both parts.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = wine()
        >>> x_train.shape, x_test.shape
        ((142, 13), (36, 13))
    """
    return _split_table("wine", test_fraction, seed)


def breast_cancer(test_fraction: float = 0.2, seed: int = 0) -> _Split:
    """Breast Cancer Wisconsin (Diagnostic): 569 samples, 30 features, malignant or benign.

    Returns `(x_train, y_train), (x_test, y_test)`: features are float64 arrays of shape (n, 30), labels
    uint8 arrays of shape (n,) with 0 = malignant (212 in all) and 1 = benign (357). Standardise the
    features before training; they range from 0 to about 4250. The split is stratified and shuffled
    as in `digits`. `info("breast_cancer")` has the feature and class names.

    Data: W. Wolberg, O. Mangasarian, N. Street and W. Street (1995), UCI Machine Learning Repository
    (https://doi.org/10.24432/C5DW2B, CC BY 4.0), in scikit-learn's copy (BSD-3-Clause).

    Args:
        test_fraction: share of the samples held out for testing, strictly between 0 and 1.
        seed: non-negative integer that fixes the split and the order of both parts.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = breast_cancer()
        >>> x_train.shape, x_test.shape
        ((455, 30), (114, 30))
    """
    return _split_table("breast_cancer", test_fraction, seed)

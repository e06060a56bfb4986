"""iris, wine, breast_cancer and info: scikit-learn's values, Keras' load_data shapes, a stratified split."""

import numpy as np
import pytest

from workbench import datasets
from workbench.datasets import breast_cancer, info, iris, wine

# name -> (function, samples, features, samples per class)
TABLES = {
    "iris": (iris, 150, 4, [50, 50, 50]),
    "wine": (wine, 178, 13, [59, 71, 48]),
    "breast_cancer": (breast_cancer, 569, 30, [212, 357]),
}
NAMES = list(TABLES)


def sklearn_bunch(name):
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    return getattr(sklearn_datasets, f"load_{name}")()


def rows(x, y):
    """The samples as a sorted list of (label, features) byte strings, to compare sets regardless of order."""
    return sorted(bytes([int(label)]) + np.asarray(row, np.float64).tobytes() for row, label in zip(x, y))


@pytest.mark.parametrize("name", NAMES)
def test_returns_keras_load_data_shapes_and_dtypes(name):
    load, n, n_features, _ = TABLES[name]
    (x_train, y_train), (x_test, y_test) = load()
    n_test = round(n * 0.2)
    assert x_train.shape == (n - n_test, n_features) and x_test.shape == (n_test, n_features)
    assert y_train.shape == (n - n_test,) and y_test.shape == (n_test,)
    assert x_train.dtype == x_test.dtype == np.float64
    assert y_train.dtype == y_test.dtype == np.uint8


@pytest.mark.parametrize("name", NAMES)
def test_the_two_parts_hold_exactly_scikit_learns_samples(name):
    load, *_ = TABLES[name]
    (x_train, y_train), (x_test, y_test) = load(test_fraction=0.3, seed=5)
    bunch = sklearn_bunch(name)
    assert rows(np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test])) == rows(
        bunch.data, bunch.target
    )


@pytest.mark.parametrize("name", NAMES)
def test_info_names_match_scikit_learn(name):
    bunch = sklearn_bunch(name)
    about = info(name)
    assert about["feature_names"].tolist() == list(bunch.feature_names)
    assert about["class_names"].tolist() == list(bunch.target_names)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("fraction", [0.1, 0.2, 0.5])
def test_split_is_stratified(name, fraction):
    load, n, _, per_class = TABLES[name]
    (_, y_train), (_, y_test) = load(test_fraction=fraction, seed=3)
    assert len(y_test) == round(n * fraction)
    assert np.abs(np.bincount(y_test, minlength=len(per_class)) - np.array(per_class) * fraction).max() < 1.0
    assert (np.bincount(y_train) + np.bincount(y_test)).tolist() == per_class


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_split_other_seed_other_split(name):
    load, *_ = TABLES[name]
    a, b, c = load(seed=7), load(seed=7), load(seed=8)
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(a[1][0], c[1][0])
    assert not np.array_equal(a[0][1], np.sort(a[0][1])), "the training part should be shuffled"


@pytest.mark.parametrize("name", NAMES)
def test_arguments_are_checked_like_digits(name):
    load, *_ = TABLES[name]
    with pytest.raises(ValueError, match=f"{name}: test_fraction must be strictly between 0 and 1"):
        load(test_fraction=1.0)
    with pytest.raises(ValueError, match=f"{name}: test_fraction=0.0001 of .* leaves 0 for testing"):
        load(test_fraction=0.0001)
    with pytest.raises(TypeError, match=f"{name}: test_fraction must be a number between 0 and 1, got str"):
        load(test_fraction="0.2")
    with pytest.raises(TypeError, match=f"{name}: seed must be a non-negative int, got float: 1.5"):
        load(seed=1.5)
    with pytest.raises(ValueError, match=f"{name}: seed must be a non-negative int, got -1"):
        load(seed=-1)


def test_info_describes_every_labelled_set_with_origin_and_licence():
    for name in ["digits", *NAMES]:
        about = info(name)
        assert set(about) == {"feature_names", "class_names", "description", "source", "licence"}
        assert all(isinstance(about[key], str) and about[key] for key in ("description", "source", "licence"))
        assert "CC BY 4.0" in about["licence"] and "BSD-3-Clause" in about["licence"]
        assert "https://doi.org/10.24432/" in about["source"]
        assert about["feature_names"].dtype.kind == about["class_names"].dtype.kind == "U"
    assert "Fisher" in info("iris")["source"]


def test_feature_names_have_the_shape_of_one_sample():
    (x_train, y_train), _ = datasets.digits()
    about = info("digits")
    assert about["feature_names"].shape == x_train.shape[1:]
    assert about["class_names"][y_train[:5]].tolist() == [str(d) for d in y_train[:5]]
    bunch = sklearn_bunch("digits")
    assert about["feature_names"].ravel().tolist() == list(bunch.feature_names)
    for name in NAMES:
        (x_train, _), _ = TABLES[name][0]()
        assert info(name)["feature_names"].shape == x_train.shape[1:]


def test_info_returns_arrays_the_caller_may_change():
    for name in ("digits", "iris"):
        info(name)["class_names"][0] = "changed"
        assert info(name)["class_names"][0] != "changed"


def test_info_of_an_unknown_name_lists_the_known_ones():
    with pytest.raises(
        ValueError, match=r"no bundled data set called 'mnist'; choose one of \['digits', 'iris'"
    ):
        info("mnist")
    with pytest.raises(TypeError, match="info: name must be a str"):
        info(iris)

"""workbench.datasets.digits: the bundled file, Keras' load_data shapes, a seeded stratified split, errors."""

import pathlib
import subprocess
import sys
from importlib import resources

import numpy as np
import pytest

import workbench
from workbench.datasets import digits

ROOT = pathlib.Path(__file__).resolve().parents[1]
N = 1797


def all_digits():
    with resources.files("workbench.datasets").joinpath("data/digits.npz").open("rb") as f, np.load(f) as d:
        return d["images"], d["labels"]


def test_bundled_file_is_found_through_importlib_resources_and_equals_sklearn_digits():
    images, labels = all_digits()
    assert images.shape == (N, 8, 8) and images.dtype == np.uint8
    assert labels.shape == (N,) and labels.dtype == np.uint8
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    reference = sklearn_datasets.load_digits()
    np.testing.assert_array_equal(images, reference.images)
    np.testing.assert_array_equal(labels, reference.target)


def test_returns_keras_load_data_shapes_and_dtypes():
    (x_train, y_train), (x_test, y_test) = workbench.datasets.digits()
    assert x_train.shape == (1438, 8, 8) and x_test.shape == (359, 8, 8)
    assert y_train.shape == (1438,) and y_test.shape == (359,)
    for a in (x_train, y_train, x_test, y_test):
        assert a.dtype == np.uint8
    assert x_train.max() == 16 and y_train.max() == 9 and set(np.unique(y_test)) == set(range(10))


def test_split_partitions_all_images_with_their_labels():
    (x_train, y_train), (x_test, y_test) = digits(test_fraction=0.3, seed=4)
    images, labels = all_digits()

    def rows(x, y):
        return sorted(a.tobytes() + bytes([b]) for a, b in zip(x, y))

    assert rows(np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test])) == rows(images, labels)
    assert len(x_test) == round(N * 0.3)


@pytest.mark.parametrize("fraction", [0.1, 0.2, 0.5])
def test_split_is_stratified(fraction):
    _, (_, y_test) = digits(test_fraction=fraction, seed=1)
    _, labels = all_digits()
    expected = np.bincount(labels) * fraction
    assert np.abs(np.bincount(y_test, minlength=10) - expected).max() < 1.0
    assert len(y_test) == round(N * fraction)


def test_same_seed_same_split_and_order_other_seed_other_split():
    a, b, c = digits(seed=7), digits(seed=7), digits(seed=8)
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(a[1][0], c[1][0])
    assert not np.array_equal(a[0][1][:50], np.sort(a[0][1][:50])), "the training part should be shuffled"


def test_returned_arrays_are_the_callers_to_change():
    (x_train, _), _ = digits()
    x_train[:] = 0
    (again, _), _ = digits()
    assert again.max() == 16


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.2, 1.5, float("nan"), 0.0001])
def test_test_fraction_out_of_range_is_a_value_error(fraction):
    with pytest.raises(ValueError, match="test_fraction"):
        digits(test_fraction=fraction)


@pytest.mark.parametrize("fraction", ["0.2", None, True])
def test_test_fraction_of_wrong_type_is_a_type_error(fraction):
    with pytest.raises(TypeError, match="test_fraction must be a number"):
        digits(test_fraction=fraction)


@pytest.mark.parametrize("seed", [None, 1.5, "0", False])
def test_seed_must_be_an_int(seed):
    with pytest.raises(TypeError, match="seed must be a non-negative int"):
        digits(seed=seed)


def test_negative_seed_is_a_value_error():
    with pytest.raises(ValueError, match="seed must be a non-negative int, got -1"):
        digits(seed=-1)


def test_package_never_imports_sklearn():
    code = (
        "import sys, workbench, workbench.datasets; workbench.datasets.digits();"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"

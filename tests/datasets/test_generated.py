"""moons and spirals: 2-D toy classification problems, generated from a seed."""

import numpy as np
import pytest

from workbench.datasets import moons, spirals


def sorted_rows(x, y):
    table = np.column_stack([y.astype(np.float64), x.astype(np.float64)])
    return table[np.lexsort(table.T[::-1])]


# --------------------------------------------------------------------------- moons


@pytest.mark.parametrize("n", [2, 7, 1000])
def test_moons_shapes_dtypes_and_balance(n):
    x, y = moons(n_samples=n)
    assert x.shape == (n, 2) and x.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int32
    assert np.bincount(y, minlength=2).tolist() == [n // 2, n - n // 2]


@pytest.mark.parametrize("n", [10, 101])
def test_noise_free_moons_are_scikit_learns_make_moons(n):
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    expected_x, expected_y = sklearn_datasets.make_moons(n_samples=n, shuffle=False, noise=None)
    x, y = moons(n_samples=n, noise=0.0, seed=3)
    np.testing.assert_allclose(sorted_rows(x, y), sorted_rows(expected_x, expected_y), atol=1e-6)


def test_moons_noise_moves_the_same_points_by_gaussian_noise_of_that_scale():
    clean, y_clean = moons(n_samples=4000, noise=0.0, seed=2)
    noisy, y_noisy = moons(n_samples=4000, noise=0.1, seed=2)
    np.testing.assert_array_equal(y_clean, y_noisy)
    assert abs(float((noisy - clean).std()) - 0.1) < 0.005


def test_moons_same_seed_same_points_other_seed_other_points():
    a, b, c = moons(seed=1), moons(seed=1), moons(seed=2)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    assert not np.array_equal(a[1], np.sort(a[1])), "the points should come shuffled"


def test_moons_bad_arguments():
    with pytest.raises(ValueError, match="moons: n_samples must be an int >= 2, got 1"):
        moons(n_samples=1)
    with pytest.raises(TypeError, match="moons: n_samples must be an int >= 2, got float: 10.0"):
        moons(n_samples=10.0)
    with pytest.raises(ValueError, match="moons: noise must be a non-negative number, got -0.1"):
        moons(noise=-0.1)
    with pytest.raises(ValueError, match="moons: noise must be a non-negative number, got nan"):
        moons(noise=float("nan"))
    with pytest.raises(TypeError, match="moons: noise must be a non-negative number, got NoneType"):
        moons(noise=None)
    with pytest.raises(TypeError, match="moons: seed must be a non-negative int, got bool"):
        moons(seed=True)


# --------------------------------------------------------------------------- spirals


@pytest.mark.parametrize(("n", "k", "counts"), [(1000, 2, [500, 500]), (10, 3, [4, 3, 3]), (5, 5, [1] * 5)])
def test_spirals_shapes_dtypes_and_balance(n, k, counts):
    x, y = spirals(n_samples=n, n_classes=k)
    assert x.shape == (n, 2) and x.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int32
    assert np.bincount(y, minlength=k).tolist() == counts


@pytest.mark.parametrize(("k", "turns"), [(2, 1.5), (3, 0.75), (4, 2.0)])
def test_noise_free_points_lie_on_their_class_arm(k, turns):
    x, y = spirals(n_samples=300, n_classes=k, noise=0.0, turns=turns)
    radius = np.hypot(x[:, 0], x[:, 1])
    assert radius.max() <= 1.0 + 1e-6 and radius.min() > 0.0
    arm_angle = 2 * np.pi * (turns * radius + y / k)
    expected = radius[:, None] * np.stack([np.cos(arm_angle), np.sin(arm_angle)], axis=1)
    np.testing.assert_allclose(x, expected, atol=1e-5)


def test_spirals_noise_turns_points_about_the_origin_only():
    clean, _ = spirals(n_samples=3000, noise=0.0, seed=4)
    noisy, _ = spirals(n_samples=3000, noise=0.2, seed=4)
    np.testing.assert_allclose(np.hypot(*noisy.T), np.hypot(*clean.T), atol=1e-5)
    turned = np.arctan2(noisy[:, 1], noisy[:, 0]) - np.arctan2(clean[:, 1], clean[:, 0])
    turned = (turned + np.pi) % (2 * np.pi) - np.pi
    assert abs(float(turned.std()) - 0.2) < 0.01


def test_spirals_same_seed_same_points_other_seed_other_points():
    a, b, c = spirals(seed=1), spirals(seed=1), spirals(seed=2)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_spirals_bad_arguments():
    with pytest.raises(ValueError, match="spirals: n_classes must be an int >= 2, got 1"):
        spirals(n_classes=1)
    with pytest.raises(ValueError, match="spirals: n_samples must be an int >= 3, got 2"):
        spirals(n_samples=2, n_classes=3)
    with pytest.raises(ValueError, match="spirals: turns must be a positive number, got 0"):
        spirals(turns=0)
    with pytest.raises(ValueError, match="spirals: turns must be a positive number, got inf"):
        spirals(turns=float("inf"))
    with pytest.raises(TypeError, match="spirals: noise must be a non-negative number, got str: '0.2'"):
        spirals(noise="0.2")
    with pytest.raises(ValueError, match="spirals: seed must be a non-negative int, got -3"):
        spirals(seed=-3)

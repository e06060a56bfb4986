"""Distribution bands of a histogram, as TensorBoard's distributions view computes them."""

import numpy as np
import pytest

from workbench.viz import BASIS_POINTS, distribution_bands


def test_uniform_two_bucket_histogram_by_hand():
    # Counts 1 and 1 over [0, 1) and [1, 2): half the mass in each, so the value at basis point p
    # is 2 * p / 10000 (linear inside each bucket).
    bands = distribution_bands([0.0, 1.0, 2.0], [1, 1])
    np.testing.assert_allclose(bands, [2 * bp / 10000 for bp in BASIS_POINTS], rtol=1e-12)


def test_skewed_histogram_by_hand():
    # 3/4 of the mass in [0, 1), 1/4 in [1, 3): cumulative weights 7500 and 10000.
    bands = distribution_bands([0.0, 1.0, 3.0], [3, 1])
    expected = [bp / 7500 if bp <= 7500 else 1 + 2 * (bp - 7500) / 2500 for bp in BASIS_POINTS]
    np.testing.assert_allclose(bands, expected, rtol=1e-12)


def test_empty_buckets_are_skipped_and_empty_histogram_is_zero():
    bands = distribution_bands([0.0, 1.0, 2.0, 3.0], [2, 0, 2])
    assert bands[4] == 2.0  # exactly half the mass lies below: TensorBoard takes the next non-empty bucket
    assert bands[0] == 0.0 and bands[-1] == 3.0
    np.testing.assert_array_equal(distribution_bands([], []), np.zeros(9))


def test_normal_samples_give_normal_quantiles():
    x = np.random.default_rng(0).normal(size=200_000)
    counts, edges = np.histogram(x, bins=200)
    bands = distribution_bands(edges, counts)
    np.testing.assert_allclose(bands[1:8], [-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5], atol=0.03)


def test_mismatched_edges_say_what_was_expected():
    with pytest.raises(ValueError, match="one more edge than counts: got 2 edges for 2 counts"):
        distribution_bands([0.0, 1.0], [1, 2])

"""Mean, Sum, MeanMetricWrapper and the accuracy metrics against Keras, over two batches, weighted or not."""

import jax.numpy as jnp
import numpy as np
import pytest

from tests.metrics.cases import ACCURACY_CASES, REDUCTION_CASES, assert_close, assert_matches_keras, ids
from workbench import metrics

CASES = REDUCTION_CASES + ACCURACY_CASES


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_matches_keras(case, weighted):
    assert_matches_keras(case, weighted)


@pytest.mark.parametrize("case", CASES[::3], ids=ids(CASES[::3]))
def test_call_updates_and_returns_the_result(case):
    (args, weight), (args2, _) = case.batches(weighted=True, seed=2)
    ours, theirs = case.ours(), case.theirs()
    assert_close(ours(*args, sample_weight=weight), theirs(*args, sample_weight=weight))
    assert_close(ours(*args2), theirs(*args2))


def test_mean_of_nothing_is_zero_and_of_a_scalar_counts_one():
    m = metrics.Mean()
    assert float(m.result()) == 0.0
    m.update_state(3.0)
    m.update_state(jnp.array(5.0))
    assert float(m.result()) == 4.0 and float(m.state["count"]) == 2.0


def test_sample_weight_of_wrong_shape_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(3,\).*\(8,\)"):
        metrics.Mean().update_state(np.ones(8), sample_weight=np.ones(3))


def test_accuracy_functions_are_per_sample():
    y_true, y_pred = np.array([2, 1, 0]), np.array([[0.1, 0.2, 0.7], [0.3, 0.6, 0.1], [0.2, 0.5, 0.3]])
    np.testing.assert_array_equal(metrics.sparse_categorical_accuracy(y_true, y_pred), [1.0, 1.0, 0.0])
    np.testing.assert_array_equal(metrics.sparse_top_k_categorical_accuracy(y_true, y_pred, k=2), [1, 1, 0])

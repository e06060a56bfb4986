"""Cross-entropy, KL divergence, Poisson and hinge metrics against Keras."""

import numpy as np
import pytest

from tests.metrics.cases import PROBABILISTIC_CASES, assert_matches_keras, ids
from workbench import metrics


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", PROBABILISTIC_CASES, ids=ids(PROBABILISTIC_CASES))
def test_matches_keras(case, weighted):
    assert_matches_keras(case, weighted)


def test_ignored_class_is_left_out_of_a_weighted_sequence_mean():
    # Keras cannot broadcast (batch,) weights against the (batch, steps) mask here; we apply them per step.
    y_true = np.array([[0, 1, 2], [1, 1, 0]])
    y_pred = np.log(np.full((2, 3, 3), 1 / 3, "float32"))
    m = metrics.SparseCategoricalCrossentropy(from_logits=True, ignore_class=1)
    m.update_state(y_true, y_pred, sample_weight=np.array([1.0, 2.0]))
    assert float(m.state["count"]) == pytest.approx((2 * 1.0 + 1 * 2.0) / 3)
    assert float(m.result()) == pytest.approx(np.log(3.0), rel=1e-5)

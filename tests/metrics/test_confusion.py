"""Precision, Recall and the confusion counts against Keras: thresholds, top_k and class_id variants."""

import numpy as np
import pytest

from tests.metrics.cases import CONFUSION_CASES, assert_matches_keras, ids
from workbench import metrics


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", CONFUSION_CASES, ids=ids(CONFUSION_CASES))
def test_matches_keras(case, weighted):
    assert_matches_keras(case, weighted)


def test_one_threshold_gives_a_scalar_and_several_a_vector():
    y_true, y_pred = np.array([0.0, 1.0, 1.0, 1.0]), np.array([0.2, 0.4, 0.6, 0.9])
    assert metrics.Precision()(y_true, y_pred).shape == ()
    np.testing.assert_allclose(metrics.Recall([0.1, 0.5, 0.95])(y_true, y_pred), [1.0, 2 / 3, 0.0], rtol=1e-6)


def test_thresholds_outside_zero_one_are_refused():
    with pytest.raises(ValueError, match=r"\[0, 1\].*1.5"):
        metrics.Precision(thresholds=[0.5, 1.5])


def test_class_id_needs_a_class_axis():
    with pytest.raises(ValueError, match="class_id.*shape: \\(4,\\)"):
        metrics.Recall(class_id=1).update_state(np.ones(4), np.ones(4))

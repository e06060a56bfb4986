"""AUC against Keras: ROC, PR and PRGAIN curves, summation methods, thresholds, logits and multi-label."""

import numpy as np
import pytest

from tests.metrics.cases import AUC_CASES, assert_matches_keras, ids
from workbench import metrics


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", AUC_CASES, ids=ids(AUC_CASES))
def test_matches_keras(case, weighted):
    assert_matches_keras(case, weighted)


def test_perfect_and_reversed_rankings():
    y_true, y_pred = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.6, 0.9])
    assert float(metrics.AUC()(y_true, y_pred)) == pytest.approx(1.0)
    assert float(metrics.AUC()(y_true, 1 - y_pred)) == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"curve": "XY"}, 'curve value: "XY".*"PR", "ROC", "PRGAIN"'),
        ({"summation_method": "simpson"}, "summation method value.*interpolation"),
        ({"num_thresholds": 1}, "num_thresholds.*> 1"),
        ({"num_labels": 3}, "only when `multi_label` is True"),
    ],
)
def test_bad_arguments_say_what_is_expected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        metrics.AUC(**kwargs)


def test_multi_label_needs_labels_before_init():
    m = metrics.AUC(multi_label=True)
    with pytest.raises(ValueError, match="number of labels"):
        m.init()
    m.build((None, 5), (None, 5))
    assert m.init()["true_positives"].shape == (200, 5)

"""F1/F-beta scores and the regression metrics (errors, R2Score) against Keras."""

import warnings

import numpy as np
import pytest

from tests.metrics.cases import F_SCORE_CASES, REGRESSION_CASES, assert_matches_keras, ids
from workbench import metrics

CASES = F_SCORE_CASES + REGRESSION_CASES


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_matches_keras(case, weighted):
    assert_matches_keras(case, weighted)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"average": "mean"}, "average.*'micro', 'macro', 'weighted'.*mean"),
        ({"beta": 1}, "beta.*Python float"),
        ({"beta": -1.0}, "beta.*> 0"),
        ({"threshold": 1.5}, "0 < threshold <= 1"),
    ],
)
def test_fbeta_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        metrics.FBetaScore(**kwargs)


def test_f1_needs_two_dimensional_inputs():
    with pytest.raises(ValueError, match=r"2D inputs.*y_pred.shape=\(4,\)"):
        metrics.F1Score().update_state(np.ones(4), np.ones(4))
    with pytest.raises(ValueError, match="number of classes.*build"):
        metrics.F1Score().init()


def test_r2_falls_back_to_plain_r2_with_too_few_samples_and_warns():
    y_true, y_pred = np.array([[1.0], [2.0], [4.0]]), np.array([[1.5], [2.0], [3.0]])
    plain = float(metrics.R2Score()(y_true, y_pred))
    adjusted = metrics.R2Score(num_regressors=5)
    adjusted.update_state(y_true, y_pred)
    with pytest.warns(UserWarning, match="More independent predictors"):
        assert float(adjusted.result()) == pytest.approx(plain)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert float(metrics.R2Score(num_regressors=1)(y_true, y_pred)) != pytest.approx(plain)


def test_r2_bad_arguments():
    with pytest.raises(ValueError, match="class_aggregation.*Received: class_aggregation=sum"):
        metrics.R2Score(class_aggregation="sum")
    with pytest.raises(ValueError, match="num_regressors.*>= 0"):
        metrics.R2Score(num_regressors=-1)

"""The stateful shell: reset_state, loading states, unweighted jitted updates, errors before build."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.metrics.cases import CORE_CASES, assert_close, built_metric, update_all
from workbench import metrics


@pytest.mark.parametrize("case", CORE_CASES[::2], ids=[c.id for c in CORE_CASES[::2]])
def test_unweighted_update_under_jit(case):
    batches = case.batches(weighted=False, seed=4)
    m = built_metric(case, batches[0][0])
    (a1, _), (a2, _) = batches
    update = jax.jit(m.update)
    assert_close(m.compute(update(update(m.init(), *a1), *a2)), update_all(case.ours(), batches))


@pytest.mark.parametrize("case", CORE_CASES[1::3], ids=[c.id for c in CORE_CASES[1::3]])
def test_reset_state_forgets_earlier_batches(case):
    (first, w1), (second, w2) = case.batches(weighted=True, seed=5)
    m = case.ours()
    m.update_state(*first, sample_weight=w1)
    m.reset_state()
    jax.tree.map(lambda x: np.testing.assert_array_equal(x, 0), m.state)
    m.update_state(*second, sample_weight=w2)
    fresh = case.ours()
    fresh.update_state(*second, sample_weight=w2)
    assert_close(m.result(), fresh.result())


def test_init_states_are_zero_pytrees_of_fixed_shape():
    m = metrics.Precision(thresholds=[0.2, 0.5, 0.9])
    assert jax.tree.map(jnp.shape, m.init()) == {"true_positives": (3,), "false_positives": (3,)}
    state = m.update(m.init(), np.ones((5, 2)), np.full((5, 2), 0.7))
    assert jax.tree.map(jnp.shape, state) == jax.tree.map(jnp.shape, m.init())


def test_loading_a_state_of_the_wrong_shape_is_refused():
    m = metrics.AUC(num_thresholds=10)
    with pytest.raises(ValueError, match=r"expected a state shaped like .*\(10,\).*received .*\(7,\)"):
        m.state = metrics.AUC(num_thresholds=7).init()


def test_f1_before_build_says_how_to_build():
    with pytest.raises(ValueError, match="build\\(y_true_shape, y_pred_shape\\)"):
        metrics.F1Score().result()

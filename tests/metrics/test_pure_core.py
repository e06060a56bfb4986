"""The pure core (init/update/compute/merge) under jax.jit and lax.scan equals the stateful metric."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.metrics.cases import CORE_CASES, assert_close, built_metric, update_all


def _stack(batches):
    return jax.tree.map(lambda *xs: np.stack(xs), *batches)


@pytest.mark.parametrize("case", CORE_CASES, ids=[c.id for c in CORE_CASES])
def test_jit_scan_and_merge_equal_the_stateful_result(case):
    batches = case.batches(weighted=True, seed=3)
    expected = update_all(case.ours(), batches)
    m = built_metric(case, batches[0][0])

    update, compute, merge = jax.jit(m.update), jax.jit(m.compute), jax.jit(m.merge)
    (a1, w1), (a2, w2) = batches
    sequential = update(update(m.init(), *a1, sample_weight=w1), *a2, sample_weight=w2)
    merged = merge(update(m.init(), *a1, sample_weight=w1), update(m.init(), *a2, sample_weight=w2))

    def step(state, batch):
        args, weight = batch
        return m.update(state, *args, sample_weight=weight), None

    state, _ = jax.jit(lambda s, xs: jax.lax.scan(step, s, xs))(m.init(), _stack(batches))
    sequential, scanned, merged = compute(sequential), compute(state), compute(merged)
    for value in (sequential, scanned, merged):
        assert_close(value, expected)
    # The scanned state loads into the stateful shell.
    shell = case.ours()
    shell.build(jnp.shape(batches[0][0][0]), jnp.shape(batches[0][0][-1]))
    shell.state = state
    assert_close(shell.result(), expected)

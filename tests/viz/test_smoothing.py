"""ema_debiased against TensorBoard's smoothing computed by hand, and against the chart's JavaScript."""

import math

import numpy as np

from workbench.viz import ema_debiased


def test_matches_tensorboard_values_computed_by_hand():
    w = 0.6
    # last_k = w * last_{k-1} + (1 - w) * v_k from last_0 = 0, divided by 1 - w**k.
    l1 = 0.4 * 1.0
    l2 = 0.6 * l1 + 0.4 * 3.0
    l3 = 0.6 * l2 + 0.4 * 2.0
    expected = [l1 / (1 - 0.6), l2 / (1 - 0.6**2), l3 / (1 - 0.6**3)]
    np.testing.assert_allclose(ema_debiased([1.0, 3.0, 2.0], w), expected, rtol=1e-15)
    assert expected[0] == 1.0  # the debiasing removes the pull towards the initial 0


def test_non_finite_values_pass_through_and_do_not_count():
    out = ema_debiased([1.0, math.nan, 3.0, math.inf], 0.5)
    assert out[0] == 1.0 and math.isnan(out[1]) and out[3] == math.inf
    # The NaN is skipped: the third value is the second finite one (k = 2).
    assert out[2] == (0.5 * 0.5 * 1.0 + 0.5 * 3.0) / (1 - 0.25)


def test_edge_weights_and_constant_series():
    values = [2.0, 4.0, 8.0]
    np.testing.assert_array_equal(ema_debiased(values, 0.0), values)
    np.testing.assert_array_equal(ema_debiased([5.0, 5.0, 5.0], 0.9), [5.0, 5.0, 5.0])
    np.testing.assert_array_equal(ema_debiased(values, 1.0), [0.0, 0.0, 0.0])  # TensorBoard's weight 1
    np.testing.assert_array_equal(ema_debiased(values, math.nan), values)  # treated as 0
    assert ema_debiased([], 0.5).size == 0


def test_python_and_the_charts_javascript_agree(run_node):
    rng = np.random.default_rng(0)
    values = (np.exp(-np.arange(500) / 100) + 0.1 * rng.random(500)).tolist()
    values[17] = None  # NaN in JSON
    cases = [{"values": values, "weight": w} for w in (0.0, 0.3, 0.6, 0.95, 0.999)]
    script = """
import { emaDebiased } from "./smoothing.mjs";
import { readFileSync } from "node:fs";
const cases = JSON.parse(readFileSync("payload.json", "utf8"));
const out = cases.map(({ values, weight }) => emaDebiased(values.map((v) => (v === null ? NaN : v)), weight)
  .map((v) => (Number.isFinite(v) ? v : null)));
console.log(JSON.stringify(out));
"""
    for case, js in zip(cases, run_node(script, cases)):
        py = ema_debiased([math.nan if v is None else v for v in case["values"]], case["weight"])
        js = np.array([math.nan if v is None else v for v in js])
        np.testing.assert_allclose(js, py, rtol=1e-13, equal_nan=True)

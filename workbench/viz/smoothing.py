"""TensorBoard's scalar smoothing: a debiased exponential moving average.

The dashboard smooths in the browser (`static/smoothing.js`); this is the same
computation in Python, so the two can be checked against each other and a
notebook can smooth a curve the way the chart shows it.
"""

from __future__ import annotations

import math

import numpy as np


def ema_debiased(values, weight: float) -> np.ndarray:
    """Smooth `values` as TensorBoard's scalar charts do, with smoothing `weight` in [0, 1].

    The average starts at 0 and is divided by `1 - weight**k` (k = finite values seen so
    far), so the first points are not pulled towards 0. Non-finite values (NaN, inf) are
    kept as they are and do not enter the average; a constant series is returned unchanged.

    >>> ema_debiased([1.0, 2.0, 3.0], 0.5).round(4).tolist()
    [1.0, 1.6667, 2.4286]
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    weight = float(weight) if math.isfinite(float(weight)) else 0.0
    weight = min(max(weight, 0.0), 1.0)
    if values.size == 0 or np.all(values == values[0]):
        return values.copy()
    out = values.copy()
    last, seen = 0.0, 0
    for i, v in enumerate(values.tolist()):
        if not math.isfinite(v):
            continue
        last = last * weight + (1.0 - weight) * v
        seen += 1
        out[i] = last / (1.0 if weight == 1.0 else 1.0 - weight**seen)
    return out

"""Percentile bands of a histogram, as TensorBoard's distributions view draws them."""

from __future__ import annotations

import numpy as np

# Basis points (1/100 of a percent) of the normal CDF at -inf, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, +inf
# standard deviations: the median, bands one, two and three deviations wide, and the extremes.
BASIS_POINTS = (0, 668, 1587, 3085, 5000, 6915, 8413, 9332, 10000)


def distribution_bands(edges, counts) -> np.ndarray:
    """The values at `BASIS_POINTS` of a histogram given by bucket `edges` and `counts`.

    `edges` has one more entry than `counts` (bucket i spans edges[i]..edges[i+1]). The
    result interpolates linearly inside buckets, exactly as TensorBoard compresses a
    histogram for its distributions view; an empty histogram gives zeros.

    >>> distribution_bands([0.0, 1.0, 2.0], [1, 1]).round(3).tolist()
    [0.0, 0.134, 0.317, 0.617, 1.0, 1.383, 1.683, 1.866, 2.0]
    """
    edges = np.asarray(edges, dtype=np.float64).reshape(-1)
    counts = np.asarray(counts, dtype=np.float64).reshape(-1)
    if counts.size == 0:
        return np.zeros(len(BASIS_POINTS))
    if edges.size != counts.size + 1:
        raise ValueError(
            f"A histogram needs one more edge than counts: got {edges.size} edges for {counts.size} counts."
        )
    low, high = edges[0], edges[-1]
    right = edges[1:]
    total = BASIS_POINTS[-1]
    weights = (counts * total / (counts.sum() or 1.0)).cumsum()
    out: list[float] = []
    j = 0
    while j < len(BASIS_POINTS):
        bp = BASIS_POINTS[j]
        i = int(np.searchsorted(weights, bp, side="right"))
        while i < len(weights):
            cum, prev = weights[i], (weights[i - 1] if i > 0 else 0.0)
            if cum == prev:  # an empty bucket: nothing to interpolate across
                i += 1
                continue
            lhs = low if (not i or not prev) else max(right[i - 1], low)
            rhs = min(right[i], high)
            out.append(lhs + (bp - prev) * float(rhs - lhs) / (cum - prev))
            j += 1
            break
        else:
            break
    out.extend([high] * (len(BASIS_POINTS) - len(out)))
    return np.asarray(out, dtype=np.float64)

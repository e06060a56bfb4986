"""Two interleaving half circles, the two-class toy problem a straight line cannot separate."""

from __future__ import annotations

import numpy as np

from workbench.datasets._checks import check_int, check_real, check_seed


def moons(n_samples: int = 1000, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points on two interleaving half circles, with Gaussian noise, for binary classification.

    Class 0 lies on the upper half of the unit circle around (0, 0); class 1 on the lower half of the
    unit circle around (1, 0.5), so each moon reaches into the other's bend. This is the geometry of
    scikit-learn's `make_moons`: with `noise=0` the points are evenly spaced along each arc, class 0
    gets `n_samples // 2` of them and class 1 the rest.

    Returns `(x, y)`: x is float32 of shape (n_samples, 2), y is int32 of shape (n_samples,) with
    values 0 and 1, both in a shuffled order. The same `seed` always gives the same points, and
    changing only `noise` moves the same points, in the same order, by more or less.

    Args:
        n_samples: number of points, at least 2.
        noise: standard deviation of the Gaussian noise added to each coordinate; 0 gives clean arcs.
        seed: non-negative integer that fixes the noise and the order.

    Example:
        >>> x, y = moons(n_samples=200, noise=0.2, seed=1)
        >>> x.shape, x.dtype, y.dtype, int(y.sum())
        ((200, 2), dtype('float32'), dtype('int32'), 100)
    """
    n_samples = check_int("moons", "n_samples", n_samples, minimum=2)
    noise = check_real("moons", "noise", noise)
    seed = check_seed("moons", seed)

    n_upper = n_samples // 2
    n_lower = n_samples - n_upper
    upper = np.linspace(0.0, np.pi, n_upper)
    lower = np.linspace(0.0, np.pi, n_lower)
    x = np.concatenate(
        [
            np.stack([np.cos(upper), np.sin(upper)], axis=1),
            np.stack([1.0 - np.cos(lower), 0.5 - np.sin(lower)], axis=1),
        ]
    )
    y = np.concatenate([np.zeros(n_upper, np.int32), np.ones(n_lower, np.int32)])

    rng = np.random.default_rng(seed)
    x = x + rng.normal(scale=noise, size=x.shape)
    order = rng.permutation(n_samples)
    return x[order].astype(np.float32), y[order]

"""Interleaved spiral arms, one per class: a toy problem that needs a curved decision boundary."""

from __future__ import annotations

import numpy as np

from workbench.datasets._checks import check_int, check_real, check_seed


def spirals(
    n_samples: int = 1000,
    n_classes: int = 2,
    noise: float = 0.2,
    turns: float = 1.5,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Points on `n_classes` spiral arms winding out of the origin, one arm per class.

    Every arm makes `turns` full turns while its radius grows from near 0 to 1; the arms start at
    evenly spaced angles, so at every radius neighbouring classes are `360 / n_classes` degrees apart.
    More turns make the problem harder for a small network.

    Returns `(x, y)`: x is float32 of shape (n_samples, 2) inside the unit disc, y is int32
    of shape (n_samples,) with values 0..n_classes-1, both in a shuffled order. The classes are as
    balanced as `n_samples` allows (the first `n_samples % n_classes` get one point more). The same
    `seed` always gives the same points, and changing only `noise` turns the same points, in the same
    order, by more or less.

    Args:
        n_samples: number of points, at least `n_classes`.
        n_classes: number of arms (and classes), at least 2.
        noise: standard deviation, in radians, of Gaussian noise added to each point's angle. It blurs
            the arm along its circle without changing the radius; classes start to overlap once it
            nears `pi / n_classes`.
        turns: how many full turns each arm makes, a positive number.
        seed: non-negative integer that fixes the noise and the order.

    Example:
        >>> x, y = spirals(n_samples=300, n_classes=3, seed=1)
        >>> x.shape, x.dtype, np.bincount(y).tolist()
        ((300, 2), dtype('float32'), [100, 100, 100])
    """
    n_classes = check_int("spirals", "n_classes", n_classes, minimum=2)
    n_samples = check_int("spirals", "n_samples", n_samples, minimum=n_classes)
    noise = check_real("spirals", "noise", noise)
    turns = check_real("spirals", "turns", turns, positive=True)
    seed = check_seed("spirals", seed)

    per_class = np.full(n_classes, n_samples // n_classes)
    per_class[: n_samples % n_classes] += 1
    y = np.repeat(np.arange(n_classes, dtype=np.int32), per_class)
    # Radii at the midpoints of n equal steps, so no arm has a point at the origin, where all arms meet.
    radius = np.concatenate([(np.arange(m) + 0.5) / m for m in per_class])
    start = 2.0 * np.pi * y / n_classes

    rng = np.random.default_rng(seed)
    angle = start + 2.0 * np.pi * turns * radius + rng.normal(scale=noise, size=n_samples)
    x = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    order = rng.permutation(n_samples)
    return x[order].astype(np.float32), y[order]

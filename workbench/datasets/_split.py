"""The seeded, stratified train/test split behind every `load_data`-style dataset function."""

from __future__ import annotations

import numpy as np

from workbench.datasets._checks import check_seed, check_test_fraction, held_out_count


def _stratified_test_indices(labels: np.ndarray, n_test: int, rng: np.random.Generator) -> np.ndarray:
    """Pick `n_test` indices so that each class keeps (as nearly as whole numbers allow) its share."""
    classes, counts = np.unique(labels, return_counts=True)
    wanted = counts * (n_test / labels.size)
    take = np.floor(wanted).astype(int)
    # Hand the rounding remainder to the classes that lost the most to `floor`; ties go to the lower label.
    order = np.lexsort((classes, -(wanted - take)))
    take[order[: n_test - take.sum()]] += 1
    picked = [rng.permutation(np.flatnonzero(labels == c))[:k] for c, k in zip(classes, take)]
    return np.concatenate(picked)


def stratified_split(
    caller: str,
    x: np.ndarray,
    y: np.ndarray,
    *,
    test_fraction: float,
    seed: int,
    unit: str = "samples",
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Split `(x, y)` into `(x_train, y_train), (x_test, y_test)`, stratified on `y` and shuffled.

    `caller` and `unit` ("images", "samples") only word the error messages. The same `seed` always
    gives the same split and order; the returned arrays are new, so callers may change them.
    """
    test_fraction = check_test_fraction(caller, test_fraction)
    seed = check_seed(caller, seed)
    n = y.size
    n_test = held_out_count(caller, test_fraction, n, unit)
    rng = np.random.default_rng(seed)
    is_test = np.zeros(n, dtype=bool)
    is_test[_stratified_test_indices(y, n_test, rng)] = True
    train_idx = rng.permutation(np.flatnonzero(~is_test))
    test_idx = rng.permutation(np.flatnonzero(is_test))
    return (x[train_idx], y[train_idx]), (x[test_idx], y[test_idx])

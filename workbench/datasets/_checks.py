"""Argument checks shared by the dataset functions, so every one words its errors the same way."""

from __future__ import annotations

import math
import numbers


def check_int(caller: str, name: str, value: object, minimum: int) -> int:
    """Return `value` as an int, or raise naming `caller`, `name`, what was expected and what arrived."""
    expected = {0: "a non-negative int", 1: "a positive int"}.get(minimum, f"an int >= {minimum}")
    # bool is an Integral, but `seed=True` is a mistake, not a seed.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{caller}: {name} must be {expected}, got {type(value).__name__}: {value!r}.")
    if value < minimum:
        raise ValueError(f"{caller}: {name} must be {expected}, got {value}.")
    return int(value)


def check_seed(caller: str, seed: object) -> int:
    return check_int(caller, "seed", seed, minimum=0)


def check_real(caller: str, name: str, value: object, *, positive: bool = False) -> float:
    """Return `value` as a finite float that is >= 0 (or > 0 when `positive`), or raise."""
    expected = "a positive number" if positive else "a non-negative number"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{caller}: {name} must be {expected}, got {type(value).__name__}: {value!r}.")
    number = float(value)
    if not math.isfinite(number) or number < 0.0 or (positive and number == 0.0):
        raise ValueError(f"{caller}: {name} must be {expected}, got {value!r}.")
    return number


def check_test_fraction(caller: str, test_fraction: object) -> float:
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real):
        raise TypeError(
            f"{caller}: test_fraction must be a number between 0 and 1, got {type(test_fraction).__name__}: "
            f"{test_fraction!r}."
        )
    # Written so that NaN fails too.
    if not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(
            f"{caller}: test_fraction must be strictly between 0 and 1 (e.g. 0.2 holds out 20%), "
            f"got {test_fraction!r}."
        )
    return float(test_fraction)


def held_out_count(caller: str, test_fraction: float, n: int, unit: str) -> int:
    """How many of `n` items `test_fraction` holds out; both parts must keep at least one."""
    n_test = int(round(n * test_fraction))
    if not 0 < n_test < n:
        raise ValueError(
            f"{caller}: test_fraction={test_fraction!r} of {n} {unit} leaves {n_test} for testing and "
            f"{n - n_test} for training; choose a fraction that leaves at least one in each."
        )
    return n_test

"""Helpers for the teaching notebooks: exercise checks that say whether an answer works, and why not.

A check never raises and returns nothing (a check cell shows only its
line): it prints a line a student can act on, so a notebook still runs top
to bottom while an exercise is unsolved.

>>> from workbench.course import check
>>> check(0.97 >= 0.95, "Test accuracy is at least 95%.", "Train for more epochs.")
✓ Test accuracy is at least 95%.
>>> check(False, "The model has 3 layers.", "Add a Dense layer before the output.")
✗ Not yet: Add a Dense layer before the output.
>>> check(lambda: 1 / 0, "Divided.", "Divide by something else.")
✗ Not yet: Divide by something else. (ZeroDivisionError: division by zero)
"""

from __future__ import annotations

PASSED, NOT_YET = "✓", "✗"


def check(passed, praise: str, hint: str) -> None:
    """Print `praise` when `passed` is true, else the `hint`.

    `passed` may be a callable taking no arguments: an exception it raises counts as not passed,
    and its message is shown with the hint.
    """
    problem = None
    if callable(passed):
        try:
            passed = passed()
        except Exception as e:  # noqa: BLE001 - a student's unfinished answer, reported not raised
            passed, problem = False, f"{type(e).__name__}: {e}"
    if passed:
        print(f"{PASSED} {praise}")
    else:
        print(f"{NOT_YET} Not yet: {hint}" + (f" ({problem})" if problem else ""))

"""Host-side checks of labels, run before compiling so that bad data fails loudly rather than silently.

Inside `jax.jit` an out-of-range sparse label cannot raise: its one-hot row is all zeros and the
loss quietly becomes 0 (Keras does the same). `check_sparse_labels` looks at the labels with
NumPy first.
"""

from __future__ import annotations

import numbers

import numpy as np
from jax.typing import ArrayLike


def _index(flat: int, shape: tuple[int, ...]) -> str:
    index = np.unravel_index(flat, shape)
    return str(int(index[0])) if len(shape) == 1 else str(tuple(int(i) for i in index))


def _value(v) -> str:
    v = v.item()
    return str(int(v)) if isinstance(v, float) and v.is_integer() else repr(v)


def check_sparse_labels(y_true: ArrayLike, num_classes: int, ignore_class: int | None = None) -> None:
    """Raise a ValueError naming the first label outside [0, num_classes) and where it sits.

    Labels must be whole numbers; those equal to `ignore_class` are allowed anywhere.

    >>> check_sparse_labels([0, 2, 1], num_classes=3)
    >>> check_sparse_labels([0, 3, 1], num_classes=3)
    Traceback (most recent call last):
    ...
    ValueError: Sparse label 3 at index 1 is outside the valid range [0, 3) for 3 classes (1 of 3 labels are out of range, min 0, max 3). Labels must be integers from 0 to 2; if they start at 1, subtract 1; if they are one-hot, use categorical_crossentropy.
    """  # noqa: E501
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int; got {num_classes!r}.")
    num_classes = int(num_classes)
    labels = np.asarray(y_true)
    if labels.size == 0:
        return
    if labels.dtype.kind not in "biuf":
        raise ValueError(f"Sparse labels must be integers; got an array of dtype {labels.dtype}.")
    shape = labels.shape if labels.ndim else (1,)
    flat = labels.reshape(-1)
    if labels.dtype.kind == "f":
        not_whole = ~np.isfinite(flat) | (np.floor(flat) != flat)
        if not_whole.any():
            i = int(np.argmax(not_whole))
            raise ValueError(
                f"Sparse label {_value(flat[i])} at index {_index(i, shape)} is not a whole number: sparse "
                "labels must be integer class ids. For one-hot or soft labels use categorical_crossentropy."
            )
    bad = (flat < 0) | (flat >= num_classes)
    if ignore_class is not None:
        bad &= flat != ignore_class
    if not bad.any():
        return
    i = int(np.argmax(bad))
    kept = flat if ignore_class is None else flat[flat != ignore_class]
    raise ValueError(
        f"Sparse label {_value(flat[i])} at index {_index(i, shape)} is outside the valid range "
        f"[0, {num_classes}) for {num_classes} classes ({int(bad.sum())} of {flat.size} labels are out of "
        f"range, min {_value(kept.min())}, max {_value(kept.max())}). Labels must be integers from 0 to "
        f"{num_classes - 1}; if they start at 1, subtract 1; if they are one-hot, use categorical_crossentropy."
    )

"""Unique default names ('dense', 'dense_1', ...) as Keras gives them."""

from __future__ import annotations

import collections
import re

_counts: collections.Counter = collections.Counter()


def to_snake_case(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def unique_name(base: str) -> str:
    n = _counts[base]
    _counts[base] += 1
    return base if n == 0 else f"{base}_{n}"


def reset() -> None:
    """Forget issued names (used by `workbench.utils.clear_session`)."""
    _counts.clear()

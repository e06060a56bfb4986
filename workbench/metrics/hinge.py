"""Hinge metrics for maximum-margin classifiers: means of `workbench.losses` hinge functions.

>>> from workbench import metrics
>>> round(float(metrics.Hinge()([[0.0, 1.0]], [[0.6, 0.4]])), 4)
1.1
"""

from __future__ import annotations

from typing import Any

from workbench import losses
from workbench.metrics.reduction import MeanMetricWrapper, register_function

for _fn in (losses.hinge, losses.squared_hinge, losses.categorical_hinge):
    register_function(_fn)


class _HingeMean(MeanMetricWrapper):
    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}


class Hinge(_HingeMean):
    """The mean hinge loss, max(1 - y_true * y_pred, 0), of -1/1 (or 0/1) labels."""

    def __init__(self, name: str = "hinge", dtype: Any = None):
        super().__init__(losses.hinge, name=name, dtype=dtype)


class SquaredHinge(_HingeMean):
    """The mean squared hinge loss, max(1 - y_true * y_pred, 0)^2, of -1/1 (or 0/1) labels."""

    def __init__(self, name: str = "squared_hinge", dtype: Any = None):
        super().__init__(losses.squared_hinge, name=name, dtype=dtype)


class CategoricalHinge(_HingeMean):
    """The mean categorical hinge loss of one-hot labels."""

    def __init__(self, name: str = "categorical_hinge", dtype: Any = None):
        super().__init__(losses.categorical_hinge, name=name, dtype=dtype)

"""Notebook widgets: the live training dashboard.

    dash = workbench.viz.LiveDashboard("mlp")
    dash                                   # a cell's last expression shows it
    model.fit(x, y, epochs=5, callbacks=[dash.callback()])

`in_notebook()` tells whether widgets can show (else `fit` prints a text progress bar).
The widget classes import anywidget and ipywidgets (about 0.4 s) only when first used.
"""

from workbench.viz.distributions import BASIS_POINTS, distribution_bands
from workbench.viz.notebook import in_notebook
from workbench.viz.smoothing import ema_debiased

__all__ = [
    "BASIS_POINTS",
    "DashboardCallback",
    "LiveDashboard",
    "distribution_bands",
    "ema_debiased",
    "in_notebook",
]

_WIDGET_PACKAGES = ("anywidget", "ipywidgets", "traitlets")
_INSTALL = "pip install 'anywidget>=0.9' 'ipywidgets>=8'"


def _unavailable(error: ImportError) -> type:
    class LiveDashboard:
        """Stands in for the dashboard where anywidget or ipywidgets is missing."""

        def __init__(self, *args, **kwargs):
            raise ImportError(
                f"LiveDashboard needs anywidget and ipywidgets, and {error.name} is not installed: {_INSTALL}"
            ) from error

    return LiveDashboard


def __getattr__(name: str):
    if name == "LiveDashboard":
        try:
            from workbench.viz.dashboard import LiveDashboard
        except ImportError as error:
            if (error.name or "").split(".")[0] not in _WIDGET_PACKAGES:
                raise
            LiveDashboard = _unavailable(error)
        globals()[name] = LiveDashboard
        return LiveDashboard
    if name == "DashboardCallback":
        from workbench.viz.callback import DashboardCallback

        globals()[name] = DashboardCallback
        return DashboardCallback
    raise AttributeError(f"module 'workbench.viz' has no attribute {name!r}")

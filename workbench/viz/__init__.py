"""Notebook widgets: the live training dashboard, runs compared from their folders, and the profiling panel.

    dash = workbench.viz.LiveDashboard("mlp")
    dash                                   # a cell's last expression shows it
    model.fit(x, y, epochs=5, callbacks=[dash.callback()])

    workbench.viz.compare()                # every run in workbench.runs.runs_dir(), side by side
    workbench.viz.ProfilePanel(model, sample_batch=x[:8], x=x, y=y)   # where time and memory go

`in_notebook()` tells whether widgets can show (else `fit` prints a text progress bar).
The widget classes import anywidget and ipywidgets (about 0.4 s) only when first used.
"""

import importlib

from workbench.viz.distributions import BASIS_POINTS, distribution_bands
from workbench.viz.notebook import in_notebook
from workbench.viz.smoothing import ema_debiased

__all__ = [
    "BASIS_POINTS",
    "DashboardCallback",
    "LiveDashboard",
    "ProfilePanel",
    "RunComparison",
    "compare",
    "distribution_bands",
    "ema_debiased",
    "in_notebook",
]

_WIDGET_PACKAGES = ("anywidget", "ipywidgets", "traitlets")
_INSTALL = "pip install 'anywidget>=0.9' 'ipywidgets>=8'"


def _unavailable(name: str, error: ImportError) -> type:
    class Unavailable:
        # A class, so that `isinstance(x, viz.LiveDashboard)` still works without the packages.
        def __init__(self, *args, **kwargs):
            raise ImportError(
                f"{name} needs anywidget and ipywidgets, and {error.name} is not installed: {_INSTALL}"
            ) from error

    Unavailable.__name__ = Unavailable.__qualname__ = name
    Unavailable.__doc__ = f"Stands in for {name} where anywidget or ipywidgets is missing."
    return Unavailable


_WIDGETS = {
    "LiveDashboard": "workbench.viz.dashboard",
    "ProfilePanel": "workbench.viz.profile_panel",
    "RunComparison": "workbench.viz.run_comparison",
    "compare": "workbench.viz.run_comparison",
}


def __getattr__(name: str):
    if name in _WIDGETS:
        try:
            module = importlib.import_module(_WIDGETS[name])
        except ImportError as error:
            if (error.name or "").split(".")[0] not in _WIDGET_PACKAGES:
                raise
            globals()[name] = _unavailable(name, error)
            return globals()[name]
        for exported, home in _WIDGETS.items():
            if home == module.__name__:
                globals()[exported] = getattr(module, exported)
        return globals()[name]
    if name == "DashboardCallback":
        from workbench.viz.callback import DashboardCallback

        globals()[name] = DashboardCallback
        return DashboardCallback
    raise AttributeError(f"module 'workbench.viz' has no attribute {name!r}")

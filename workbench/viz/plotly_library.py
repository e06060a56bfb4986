"""plotly.js, loaded once per kernel for every dashboard."""

from __future__ import annotations

import anywidget
import traitlets

from workbench.viz import assets


class PlotlyLibrary(anywidget.AnyWidget):
    """A never-displayed widget whose ES module carries plotly.js (1.1 MB).

    Its model's `initialize` hook publishes plotly on `globalThis`, where every
    dashboard's small module awaits it. A notebook saved with widget state therefore
    holds plotly once, however many dashboards it shows.
    """

    _esm = traitlets.Unicode().tag(sync=True)

    def __init__(self, **kwargs):
        super().__init__(_esm=assets.plotly_library_esm(), **kwargs)


_shared: list[PlotlyLibrary] = []


def shared_library() -> PlotlyLibrary:
    """The kernel's one PlotlyLibrary, created on first use (and again if it was closed)."""
    if not _shared or _shared[0].comm is None:
        _shared[:] = [PlotlyLibrary()]
    return _shared[0]

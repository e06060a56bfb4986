"""The widgets' JavaScript and CSS, read from the package's `static/` folder."""

from __future__ import annotations

import functools
from importlib import resources

_BUNDLE_MARKER = "/*__PLOTLY_BUNDLE__*/"


@functools.cache
def read(name: str) -> str:
    return (resources.files("workbench.viz") / "static" / name).read_text(encoding="utf-8")


@functools.cache
def plotly_library_esm() -> str:
    """The shared library's ES module: the plotly bundle inside `plotly_library.js`."""
    template = read("plotly_library.js")
    if _BUNDLE_MARKER not in template:
        raise RuntimeError(f"static/plotly_library.js lacks its {_BUNDLE_MARKER} line.")
    return template.replace(_BUNDLE_MARKER, read("plotly-basic.min.js"), 1)


@functools.cache
def dashboard_esm() -> str:
    """The dashboard's ES module: three plain modules joined (they share one scope, no imports)."""
    return "\n".join(read(name) for name in ("smoothing.js", "series_store.js", "plotly_client.js", "dashboard.js"))

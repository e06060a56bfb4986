"""Where the code runs: a notebook kernel, or a terminal / script."""

from __future__ import annotations

import sys


def in_notebook() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Notebook, Colab, VS Code), where widgets can show.

    False in plain Python and in terminal IPython, where `fit` should print a text progress bar.
    Nothing is imported to find out: a kernel has already imported IPython and ipykernel.
    """
    ipython = sys.modules.get("IPython")
    zmqshell = sys.modules.get("ipykernel.zmqshell")
    if ipython is None or zmqshell is None:
        return False
    shell = ipython.get_ipython()
    return isinstance(shell, zmqshell.ZMQInteractiveShell) and getattr(shell, "kernel", None) is not None

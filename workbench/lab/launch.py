"""`workbench lab [DIR]`: JupyterLab on a folder of notebooks, with the Workbench extension on.

Without DIR the lab opens `notebooks/` in the current folder, made first from
the course bundled with the package when there is none (files already there
are never overwritten). The runs root is `DIR/runs` unless $WORKBENCH_RUNS_DIR
or `--runs-dir` says otherwise; it is exported to the kernels too, so every
notebook's runs land where the sidebar looks.

The extension is switched on through JUPYTER_PATH (the prebuilt frontend) and
JUPYTER_CONFIG_PATH (the server extension), so it works from a source checkout
or an installed wheel alike, beside whatever other extensions are installed.
Options this command does not know are passed to `jupyter lab` unchanged.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

from workbench.lab import DATA_DIR


def bundled_notebooks() -> Path | None:
    """The course's folder: `notebooks/` beside the package in a source checkout, else the one a wheel
    installs in `<prefix>/share/jupyter/workbench/notebooks`; None when neither exists."""
    from jupyter_core.paths import jupyter_path

    checkout = Path(__file__).resolve().parents[2] / "notebooks"
    for candidate in (checkout, *(Path(p) for p in jupyter_path("workbench", "notebooks"))):
        if candidate.is_dir():
            return candidate
    return None


def add_lab_parser(sub) -> None:
    lab = sub.add_parser(
        "lab",
        help="start JupyterLab with the Workbench sidebar (other options go to `jupyter lab`)",
        description=__doc__.split("\n\n")[1].replace("\n", " "),
    )
    lab.add_argument("dir", nargs="?", default=None, help="the notebooks folder (default: ./notebooks)")
    lab.add_argument("--runs-dir", default=None, help="the runs root (default: $WORKBENCH_RUNS_DIR or DIR/runs)")
    lab.set_defaults(func=run, passes_unknown=True)


def notebook_dir(chosen: str | None) -> Path:
    """The folder to open: `chosen`, or ./notebooks filled from the bundled course when missing."""
    if chosen is not None:
        path = Path(chosen).expanduser().absolute()
        if not path.is_dir():
            raise ValueError(f"lab: {chosen} is not a folder; give the folder of notebooks to open.")
        return path
    path = Path("notebooks").absolute()
    if path.is_file():
        raise ValueError(f"lab: {path} is a file; give the folder of notebooks to open.")
    path.mkdir(exist_ok=True)
    course = bundled_notebooks()
    if course is not None and course.resolve() != path.resolve():
        for source in sorted(course.glob("*.ipynb")):
            target = path / source.name
            if not target.exists():
                shutil.copyfile(source, target)
    return path


def lab_environment(root: Path, runs_dir: str | None, environ: dict | None = None) -> dict:
    """The environment `jupyter lab` runs in: the extension's paths first, the runs root for kernels."""
    env = dict(os.environ if environ is None else environ)

    def prepend(name: str, value: Path) -> None:
        env[name] = os.pathsep.join([str(value), *filter(None, [env.get(name)])])

    prepend("JUPYTER_PATH", DATA_DIR)
    prepend("JUPYTER_CONFIG_PATH", DATA_DIR / "config")
    if runs_dir is not None:
        env["WORKBENCH_RUNS_DIR"] = str(Path(runs_dir).expanduser().absolute())
    elif not env.get("WORKBENCH_RUNS_DIR", "").strip():
        env["WORKBENCH_RUNS_DIR"] = str(root / "runs")
    return env


def command(root: Path, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root}", *extra]


def run(args, extra: list[str]) -> int:
    if importlib.util.find_spec("jupyterlab") is None:
        print("workbench lab: JupyterLab is not installed in this environment: pip install jupyterlab",
              file=sys.stderr)
        return 2
    try:
        root = notebook_dir(args.dir)
    except ValueError as e:
        print(f"workbench {e}", file=sys.stderr)
        return 2
    env = lab_environment(root, args.runs_dir)
    print(f"Workbench lab: notebooks in {root}, runs in {env['WORKBENCH_RUNS_DIR']}", flush=True)
    argv = command(root, extra)
    os.execve(argv[0], argv, env)
    return 0  # not reached: the process is now JupyterLab

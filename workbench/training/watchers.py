"""What watches a fit: the run folder it writes and the notebook dashboard that shows it."""

from __future__ import annotations

import os


def run_logger(model, callbacks, log, run_name, run_dir, histogram_freq, hparams, x, y):
    """The RunLogger this fit writes its run with: the user's own, a new one, or None with `log=False`."""
    from workbench import runs

    for c in callbacks:
        if isinstance(c, runs.RunLogger):
            return None
    if log is None:  # on unless $WORKBENCH_LOG_RUNS turns it off
        log = os.environ.get("WORKBENCH_LOG_RUNS", "1").strip().lower() not in ("0", "off", "false", "no")
    if not log:
        return None
    import jax

    if jax.process_index() != 0:  # in a multi-process run, process 0 writes the run
        return None
    # The run's train-state checkpoint is written by one process here; a multi-process state needs every
    # process to take part in the save, so those runs keep their metrics and events without it.
    return runs.RunLogger(run_name=run_name, run_dir=run_dir, histogram_freq=histogram_freq, hparams=hparams,
                          data=runs.fingerprint(x, y), checkpoints=jax.process_count() == 1)


def dashboard_callback(model, callbacks, dashboard, run_logger, run_name, verbose):
    """The dashboard callback this fit shows, or None (then the text progress bar is used)."""
    from workbench import viz

    given = [c for c in callbacks if isinstance(c, viz.DashboardCallback)]
    for c in given:  # the user's own: made and shown now if it is a LiveDashboard callback, fed by the run
        if c.dashboard is None:
            from IPython.display import display

            c.dashboard = viz.LiveDashboard(getattr(c, "run_name", None) or run_name or model.name)
            display(c.dashboard)
        if run_logger is not None and c.dashboard.feed not in run_logger.listeners:
            run_logger.listeners.append(c.dashboard.feed)
    if given:
        return None
    if dashboard is None:
        dashboard = bool(verbose) and run_logger is not None and viz.in_notebook()
        if not dashboard:
            return None
        try:
            dash = viz.LiveDashboard(run_name or model.name)
        except ImportError:
            return None  # no widget libraries: the progress bar it is
    elif dashboard is False:
        return None
    else:
        if run_logger is None:
            raise ValueError("dashboard=True shows the run's records: it needs log=True (or your own "
                             "workbench.runs.RunLogger among the callbacks).")
        dash = dashboard if isinstance(dashboard, viz.LiveDashboard) else viz.LiveDashboard(run_name or model.name)
    from IPython.display import display

    display(dash)
    run_logger.listeners.append(dash.feed)
    return dash.callback()

"""The `fit` side of the dashboard: progress in, Stop button out."""

from __future__ import annotations

import sys
import time

from workbench.training.callbacks import Callback

FRONT_END_GRACE = 2.0  # seconds a front end has to draw the dashboard before epochs are also printed


def _is_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


class DashboardCallback(Callback):
    """Feeds `fit`'s progress to a `LiveDashboard` and ends training cleanly when its Stop button is pressed.

    Every hook is cheap: it reads no logs (batch logs are device arrays, and reading one would
    wait for the device). The dashboard handles the browser's messages while the cell runs,
    so `stop_requested` turns True during training; the next batch end then sets
    `model.stop_training`, and `fit` ends after the steps already dispatched.

        model.fit(x, y, epochs=10, callbacks=[workbench.viz.DashboardCallback(dash)])
    """

    def __init__(self, dashboard):
        super().__init__()
        self.dashboard = dashboard
        self._epoch = 0
        self._step = 0
        self._ended = False

    def _global_step(self, fallback: int) -> int:
        position = getattr(self.model, "_fit_position", None)
        if isinstance(position, dict) and "global_step" in position:
            return int(position["global_step"])
        return fallback

    def _progress(self) -> None:
        self.dashboard.feed(
            {
                "kind": "progress",
                "step": self._step,
                "epoch": self._epoch,
                "epochs": self.params.get("epochs"),
                "steps_per_epoch": self.params.get("steps"),
                "wall": time.time(),
            }
        )

    def on_train_begin(self, logs=None):
        self._began = time.monotonic()
        self._ended = False
        self.dashboard.stop_requested = False  # a Stop pressed for an earlier fit does not end this one
        if self.dashboard.status != "running":
            self.dashboard.status = "running"
        self._step = self._global_step(0)
        self._progress()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._progress()

    def on_train_batch_end(self, batch, logs=None):
        steps = self.params.get("steps")
        self._step = self._global_step(self._epoch * steps + batch + 1 if steps else self._step + 1)
        self._progress()
        if self.dashboard.stop_requested:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.dashboard.stop_requested:
            self.model.stop_training = True
        quiet = not self.params.get("verbose", 1)
        if not quiet and not self.dashboard.front_end_seen and time.monotonic() - self._began > FRONT_END_GRACE:
            # Nothing has drawn the dashboard (a console, or a front end without widgets): say it in text.
            parts = [f"{k}: {float(v):.4f}" for k, v in (logs or {}).items() if _is_number(v)]
            print(f"Epoch {epoch + 1}/{self.params.get('epochs')} - " + " - ".join(parts), flush=True)

    def on_train_end(self, logs=None):
        self._ended = True

    def on_fit_exit(self):
        # A run logger's status record, when there is one, came first and is kept.
        if self.dashboard.status == "running":
            if not self._ended:  # fit raised, or was interrupted from the keyboard
                error = sys.exc_info()[0]
                status = (
                    "failed"
                    if error is not None and not issubclass(error, KeyboardInterrupt)
                    else "interrupted"
                )
            else:
                status = "interrupted" if self.dashboard.stop_requested else "finished"
            self.dashboard.status = status
        self.dashboard.flush()


class LiveDashboard(DashboardCallback):
    """The dashboard as a Keras-style callback: `fit(..., callbacks=[workbench.callbacks.LiveDashboard()])`.

    `fit` makes the widget when training starts, shows it in the notebook and feeds it the run's records;
    after training it stays in `self.dashboard`.
    """

    def __init__(self, run_name: str | None = None):
        super().__init__(None)
        self.run_name = run_name

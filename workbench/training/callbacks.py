"""Callbacks with Keras' hooks: the base class, History, ProgbarLogger, EarlyStopping, TerminateOnNaN,
LambdaCallback. The log-driven ones are in `log_callbacks.py`, the checkpointing ones in `checkpoints.py`."""

from __future__ import annotations

import math
import sys
import time

import numpy as np

from workbench.profiling import timing


class Callback:
    """Base class: override any of Keras' `on_*` hooks. `self.model` is set by `fit`."""

    def __init__(self):
        self.model = None
        self.params: dict = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_train_batch_begin(self, batch, logs=None): ...
    def on_train_batch_end(self, batch, logs=None): ...
    def on_test_begin(self, logs=None): ...
    def on_test_end(self, logs=None): ...
    def on_test_batch_begin(self, batch, logs=None): ...
    def on_test_batch_end(self, batch, logs=None): ...
    def on_predict_begin(self, logs=None): ...
    def on_predict_end(self, logs=None): ...
    def on_predict_batch_begin(self, batch, logs=None): ...
    def on_predict_batch_end(self, batch, logs=None): ...

    # Workbench's own hooks, beyond Keras'.
    def restore_train_state(self, template: dict):
        """Called by `fit` before training: return `(state, record)` to resume from, or None.

        `template` is the freshly initialised train state; `record` is the dict the
        callback saved with the state (its `position`, `seed` and `history`).
        """
        return None

    def on_fit_exit(self):
        """Called whenever `fit` returns or raises, after `on_train_end` when there is one."""

    def on_profile(self, record: dict):
        """Called with fit's profile records as they are made: a compilation (`{"kind": "compile", ...}`) or
        an epoch's step-time breakdown (`{"kind": "steps", ...}`); see `workbench.profiling`."""


class CallbackList:
    """Calls a hook on every callback in order."""

    def __init__(self, callbacks, model, params: dict):
        self.model = model
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be workbench Callback objects, got {type(cb).__name__}.")
            cb.set_model(model)
            cb.set_params(params)

    def __getattr__(self, hook):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def call(*args, **kwargs):
            for cb in self.callbacks:
                getattr(cb, hook)(*args, **kwargs)

        if hook == "on_profile":  # records about the time spent, not part of it
            return call
        timer = timing.current(self.model)

        def timed(*args, **kwargs):
            with timer.measure("callbacks"):
                call(*args, **kwargs)

        return timed


class History(Callback):
    """Records the logs of every epoch: `history.history["loss"]` is a list, one value per epoch."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


def _format(value) -> str:
    value = float(value)
    return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.4e}"


class ProgbarLogger(Callback):
    """A progress bar per epoch with throughput and ETA (the terminal and notebooks both render it)."""

    def __init__(self, stream=None, interval: float = 0.5):
        super().__init__()
        self.stream = stream
        self.interval = interval

    def _out(self):
        return self.stream or sys.stdout

    def _dynamic(self) -> bool:
        """Redraw the bar in place on a terminal or in a notebook; elsewhere (logs, pipes) write epoch lines only."""
        out = self._out()
        from workbench.viz.notebook import in_notebook  # a running kernel, not merely ipykernel imported

        return bool(getattr(out, "isatty", lambda: False)()) or in_notebook()

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()
        self.last = 0.0
        self.seen = 0
        epochs = self.params.get("epochs")
        self._out().write(f"Epoch {epoch + 1}/{epochs}\n")

    def on_train_batch_end(self, batch, logs=None):
        self.seen = batch + 1
        now = time.perf_counter()
        if now - self.last >= self.interval and self._dynamic():
            self.last = now
            self._render(logs or {}, final=False)

    def on_epoch_end(self, epoch, logs=None):
        self._render(logs or {}, final=True)

    def _render(self, logs, final):
        total = self.params.get("steps")
        elapsed = time.perf_counter() - self.start
        per_step = elapsed / max(self.seen, 1)
        width = 20
        if total:
            done = min(self.seen, total)
            filled = int(width * done / total)
            bar = f"{done}/{total} " + "━" * filled + "─" * (width - filled)
            timing = f"{elapsed:.0f}s {per_step * 1e3:.0f}ms/step" if final else \
                f"ETA {max(total - done, 0) * per_step:.0f}s {per_step * 1e3:.0f}ms/step"
        else:
            bar = f"{self.seen} "
            timing = f"{elapsed:.0f}s {per_step * 1e3:.0f}ms/step"
        parts = " - ".join(f"{k}: {_format(v)}" for k, v in sorted(logs.items()))
        line = f"{bar} {timing}" + (f" - {parts}" if parts else "")
        out = self._out()
        out.write(("\r" + line if self._dynamic() else line) + ("\n" if final else ""))
        out.flush()


class LambdaCallback(Callback):
    """A callback made of plain functions: `LambdaCallback(on_epoch_end=lambda epoch, logs: ...)`."""

    _HOOKS = ("on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end", "on_train_batch_begin",
              "on_train_batch_end")

    def __init__(self, **hooks):
        super().__init__()
        unknown = sorted(set(hooks) - set(self._HOOKS))
        if unknown:
            raise ValueError(f"LambdaCallback got unknown hooks {unknown}; expected some of {list(self._HOOKS)}.")
        for name, fn in hooks.items():
            setattr(self, name, fn)


class TerminateOnNaN(Callback):
    """Stops training when the loss becomes NaN or infinite, naming the step."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            # Several steps run per dispatch; fit records which one went bad first.
            find = getattr(self.model, "_first_nonfinite", None)
            first = find() if find is not None else None
            step = batch if first is None else first
            print(f"Batch {step}: invalid loss, terminating training.", file=sys.stderr)
            self.model.stop_training = True
            self.model.nan_step = step


class EarlyStopping(Callback):
    """Stops when `monitor` has not improved for `patience` epochs; optionally restores the best weights."""

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"EarlyStopping mode must be 'auto', 'min' or 'max', got {mode!r}.")
        self.monitor, self.patience, self.verbose = monitor, patience, verbose
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.start_from_epoch = start_from_epoch
        maximize = mode == "max" or (mode == "auto" and ("acc" in monitor or "auc" in monitor
                                                         or monitor.endswith("precision") or monitor.endswith("recall")))
        self._sign = 1.0 if maximize else -1.0
        self.min_delta = abs(min_delta)
        self.stopped_epoch = 0

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0
        self.stopped_epoch = 0

    def _improved(self, current, reference) -> bool:
        return self._sign * (current - reference) > self.min_delta

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            available = sorted((logs or {}).keys())
            raise ValueError(f"EarlyStopping monitors '{self.monitor}', which is not in the logs {available}.")
        if epoch < self.start_from_epoch:
            return
        current = float(current)
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
        self.wait += 1
        if self.best is None or self._improved(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._improved(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None and self.stopped_epoch > 0:
            self.model.set_weights(self.best_weights)
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping (best epoch {self.best_epoch + 1}).")


def as_numbers(logs: dict) -> dict:
    return {k: float(np.asarray(v)) if np.ndim(v) == 0 else np.asarray(v) for k, v in logs.items()}


# ---------------------------------------------------------------------------- learning rate and CSV callbacks

# Metrics Keras marks `_direction = "up"` (and its "down" ones), by class name, for mode="auto".

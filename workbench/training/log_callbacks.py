"""Callbacks that watch the logs to steer or record training: ReduceLROnPlateau, LearningRateScheduler, CSVLogger."""

from __future__ import annotations

import collections.abc
import csv
import os
import warnings

import numpy as np

from workbench import losses as losses_mod
from workbench.training.callbacks import Callback

_UP_METRICS = frozenset(
    (
        "Accuracy BinaryAccuracy CategoricalAccuracy SparseCategoricalAccuracy TopKCategoricalAccuracy "
        "SparseTopKCategoricalAccuracy AUC Precision Recall FBetaScore F1Score CosineSimilarity R2Score "
        "SensitivityAtSpecificity SpecificityAtSensitivity PrecisionAtRecall RecallAtPrecision IoU "
        "BinaryIoU MeanIoU OneHotIoU OneHotMeanIoU PearsonCorrelation ConcordanceCorrelation"
    ).split()
)
_DOWN_METRICS = frozenset(
    (
        "MeanSquaredError MeanAbsoluteError MeanAbsolutePercentageError MeanSquaredLogarithmicError "
        "RootMeanSquaredError LogCoshError Hinge SquaredHinge CategoricalHinge KLDivergence Poisson "
        "BinaryCrossentropy CategoricalCrossentropy SparseCategoricalCrossentropy"
    ).split()
)


def _metric_direction(metric) -> str | None:
    names = {cls.__name__ for cls in type(metric).__mro__}
    if names & _UP_METRICS:
        return "up"
    if names & _DOWN_METRICS:
        return "down"
    fn = getattr(metric, "_fn", None)  # a MeanMetricWrapper of a loss function goes down, as in Keras
    if fn is not None and any(fn is getattr(losses_mod, name, None) for name in losses_mod.__all__):
        return "down"
    return None


def _minimizes(callback, monitor: str, mode: str) -> bool:
    """Keras' rule for mode: "min"/"max" as given; "auto" minimises losses and asks the metric otherwise."""
    if mode != "auto":
        return mode == "min"
    name = monitor.removeprefix("val_")
    if name == "loss":
        return True
    spec = getattr(callback.model, "_compile_spec", None)
    for _, log_name, metric, _ in getattr(spec, "metrics", None) or []:
        if name in (log_name, metric.name) and _metric_direction(metric) is not None:
            return _metric_direction(metric) == "down"
    raise ValueError(
        f"{type(callback).__name__} monitors '{monitor}', but cannot tell whether it should go up or down. "
        "Pass mode='max' to follow its highest value or mode='min' to follow its lowest."
    )


def _current_learning_rate(model) -> float:
    return float(np.asarray(model.optimizer.learning_rate))


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by `factor` when `monitor` has not improved for `patience` epochs.

    As Keras: the check runs at each epoch's end, which also adds `learning_rate` (the
    rate this epoch used) to the logs; after a reduction, `cooldown` epochs pass before
    waiting starts again; the rate never goes below `min_lr`. The new rate is written into
    the optimizer state, so the next step uses it without recompiling.

    Args:
        monitor: the logged quantity to watch, e.g. "val_loss".
        factor: the new rate is `lr * factor`; must be below 1.
        patience: epochs without improvement before a reduction.
        verbose: 1 prints a line on each reduction.
        mode: "min", "max", or "auto" (losses go down; metrics as Keras marks them).
        min_delta: a change smaller than this does not count as an improvement.
        cooldown: epochs after a reduction during which no waiting is counted.
        min_lr: the lowest learning rate.

    >>> reduce_lr = ReduceLROnPlateau(monitor="val_loss", factor=0.2, patience=5, min_lr=1e-3)
    >>> reduce_lr.factor
    0.2
    """

    def __init__(
        self,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        verbose=0,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0.0,
        **kwargs,
    ):
        super().__init__()
        if factor >= 1.0:
            raise ValueError(
                f"ReduceLROnPlateau does not support a factor >= 1.0 (it would not reduce the "
                f"learning rate); got factor={factor}. Use e.g. factor=0.1."
            )
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"ReduceLROnPlateau mode must be 'auto', 'min' or 'max', got {mode!r}.")
        self.monitor, self.mode, self.min_delta = monitor, mode, abs(min_delta)
        self.factor, self.min_lr, self.patience = factor, min_lr, patience
        self.verbose, self.cooldown = verbose, cooldown
        self.cooldown_counter = 0
        self.wait = 0
        self.best = None
        self._minimize = None  # decided at the first epoch end, once the metrics are built

    def on_train_begin(self, logs=None):
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _is_improvement(self, current: float, best: float | None) -> bool:
        if best is None:
            return True
        if self._minimize:
            return current + self.min_delta < best
        return current - self.min_delta > best

    def on_epoch_end(self, epoch, logs=None):
        if self._minimize is None:
            self._minimize = _minimizes(self, self.monitor, self.mode)
        logs = logs if logs is not None else {}
        logs["learning_rate"] = _current_learning_rate(self.model)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {','.join(logs)}.",
                stacklevel=2,
            )
            return
        current = float(current)
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and self._reduce(epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0

    def _reduce(self, epoch) -> bool:
        old_lr = _current_learning_rate(self.model)
        if not old_lr > np.float32(self.min_lr):  # the rate is stored as float32
            return False
        new_lr = max(old_lr * self.factor, self.min_lr)
        self.model.optimizer.learning_rate = new_lr
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
        return True


class LearningRateScheduler(Callback):
    """Sets the learning rate at each epoch's start to `schedule(epoch, lr)`.

    `epoch` counts from 0 and `lr` is the current rate as a Python float. As in Keras, a
    `schedule(epoch)` of one argument works too, and `learning_rate` is added to each
    epoch's logs. The optimizer must have been built with a float learning rate (a schedule
    object cannot be overwritten).

    >>> import numpy as np, workbench
    >>> model = workbench.Sequential([workbench.Input((2,)), workbench.layers.Dense(1)])
    >>> model.compile(optimizer=workbench.optimizers.SGD(learning_rate=0.1), loss="mse")
    >>> halve = LearningRateScheduler(lambda epoch, lr: lr if epoch == 0 else lr / 2)
    >>> history = model.fit(np.zeros((8, 2)), np.zeros((8, 1)), epochs=3, callbacks=[halve], verbose=0)
    >>> round(float(model.optimizer.learning_rate), 6)
    0.025
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        try:  # Keras' API, then its older one-argument form
            learning_rate = self.schedule(epoch, _current_learning_rate(self.model))
        except TypeError:
            learning_rate = self.schedule(epoch)
        if (
            isinstance(learning_rate, (bool, np.bool_))
            or np.ndim(learning_rate) != 0
            or not np.issubdtype(np.asarray(learning_rate).dtype, np.number)
        ):
            raise ValueError(
                f"The output of the `schedule` function should be a float, the learning rate of "
                f"epoch {epoch}. Got: {learning_rate!r}"
            )
        learning_rate = float(np.asarray(learning_rate))
        try:
            self.model.optimizer.learning_rate = learning_rate
        except TypeError as e:
            raise TypeError(f"LearningRateScheduler cannot set the learning rate: {e}") from e
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {learning_rate}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _current_learning_rate(self.model)


class CSVLogger(Callback):
    """Writes each epoch's logs as one row of a CSV file, flushed at once, in Keras' format.

    The header is `epoch` and the sorted log keys (plus `val_` columns when the first
    epoch has none, left "NA"); a non-scalar value is written as `"[a, b, ...]"`. With
    `append=True` rows go after an existing file's, without a second header.

    >>> import os, tempfile, numpy as np, workbench
    >>> model = workbench.Sequential([workbench.Input((2,)), workbench.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> path = os.path.join(tempfile.mkdtemp(), "log.csv")
    >>> _ = model.fit(np.zeros((8, 2)), np.zeros((8, 1)), epochs=2, callbacks=[CSVLogger(path)], verbose=0)
    >>> open(path).read().splitlines()[0]
    'epoch,loss,val_loss'
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename) as f:
                    self.append_header = not f.readline()
            mode = "a"
        else:
            mode = "w"
        self._close()
        self.csv_file = open(self.filename, mode, newline="")  # open for the whole fit
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys += [f"val_{k}" for k in self.keys]
        if self.writer is None:
            dialect = type("CSVLoggerDialect", (csv.excel,), {"delimiter": self.sep})
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys, dialect=dialect)
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch, **{k: _csv_value(logs.get(k, "NA")) for k in self.keys}}
        self.writer.writerow(row)
        self.csv_file.flush()  # a run killed mid-training keeps its finished epochs

    def on_train_end(self, logs=None):
        self._close()

    def on_fit_exit(self):
        self._close()  # also when fit stops on an error or KeyboardInterrupt, which skip on_train_end

    def _close(self):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


def _csv_value(value):
    if isinstance(value, str):
        return value
    if isinstance(value, collections.abc.Iterable) and not (
        isinstance(value, np.ndarray) and value.ndim == 0
    ):
        return f'"[{", ".join(map(str, value))}]"'
    return value

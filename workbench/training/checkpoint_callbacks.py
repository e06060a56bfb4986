"""BackupAndRestore and ModelCheckpoint: Keras' checkpointing callbacks, on `checkpoints.TrainCheckpointer`."""

from __future__ import annotations

import math
import os
import re
import shutil
import warnings
from pathlib import Path

import numpy as np

from workbench.profiling import timing
from workbench.training.callbacks import Callback
from workbench.training.checkpoints import TrainCheckpointer, variable_order


def _history_of(model, epoch_logs: dict | None = None) -> dict:
    """The fit's history so far; `epoch_logs` adds the epoch that is ending (History records it after
    the user's callbacks, as in Keras)."""
    history = getattr(model, "history", None)
    out = {k: [float(v) for v in vs] for k, vs in (getattr(history, "history", None) or {}).items()}
    for k, v in (epoch_logs or {}).items():
        if np.ndim(v) == 0:
            out.setdefault(k, []).append(float(v))
    return out


def _record(model, history: dict) -> dict:
    """What a training checkpoint stores besides the train state: where the next step starts (epoch and
    batch), the fit's seed and history, and the input Dataset's iterator state when there is one."""
    data_state = getattr(model, "_fit_data_state", None)
    return {
        "position": {"epoch": model._fit_position["epoch"], "step": model._fit_position["step"]},
        "seed": int(model._fit_seed_used),
        "history": history,
        "data": data_state() if data_state is not None else None,
    }


def _check_save_freq(save_freq, owner: str):
    if save_freq == "epoch" or (
        isinstance(save_freq, int) and not isinstance(save_freq, bool) and save_freq > 0
    ):
        return save_freq
    raise ValueError(
        f"{owner} save_freq must be 'epoch' or a positive int (a number of batches), got {save_freq!r}."
    )


class _StepTrigger:
    """Fires when the global step crosses a multiple of `every` (several steps run per dispatch)."""

    def __init__(self, every: int):
        self.every = every
        self.last = None

    def due(self, step: int) -> bool:
        mark = step // self.every
        if self.last is None:
            self.last = mark
            return False
        fire = mark > self.last
        self.last = max(self.last, mark)
        return fire


class BackupAndRestore(Callback):
    """Back up the whole train state so an interrupted `fit` resumes exactly where it stopped.

    Keras' arguments: `backup_dir`, `save_freq` ("epoch" or every N batches) and
    `delete_checkpoint` (remove the backups once training finishes). Re-running
    the same `fit` call after a crash, a kill or a kernel restart restores
    weights, optimizer and metric state, the dropout key, the step counter and
    the data order, and continues at the next batch: the result is bitwise the
    one an uninterrupted run gives. `max_to_keep` backups are kept, so a
    corrupted latest one falls back to the previous one.
    """

    def __init__(
        self,
        backup_dir,
        save_freq="epoch",
        delete_checkpoint: bool = True,
        max_to_keep: int = 2,
        async_save: bool = True,
    ):
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore needs a backup_dir (a folder path).")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = _check_save_freq(save_freq, "BackupAndRestore")
        self.delete_checkpoint = delete_checkpoint
        self._checkpointer = TrainCheckpointer(
            self.backup_dir, max_to_keep=max_to_keep, async_save=async_save
        )
        self._trigger = None
        self._finished = False

    def restore_train_state(self, template):
        self._finished = False
        self._trigger = _StepTrigger(self.save_freq) if isinstance(self.save_freq, int) else None
        if not Path(self.backup_dir).exists():
            return None
        return self._checkpointer.restore(template, variable_order(self.model))

    def _save(self, epoch_logs: dict | None = None) -> None:
        model = self.model
        with timing.current(model).measure("checkpoint"):
            record = _record(model, _history_of(model, epoch_logs))
            self._checkpointer.save(model._train_state, record, variable_order(model))

    def on_train_batch_end(self, batch, logs=None):
        if self._trigger is not None and self._trigger.due(self.model._fit_position["global_step"]):
            self._save()

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(logs or {})

    def on_train_end(self, logs=None):
        self._finished = True

    def on_fit_exit(self):
        self._checkpointer.wait()
        if self._finished and self.delete_checkpoint:
            self._checkpointer.close()
            shutil.rmtree(self.backup_dir, ignore_errors=True)


_KERAS_FILE = re.compile(r"\.(keras|weights\.h5|weights\.safetensors)$")


class ModelCheckpoint(Callback):
    """Save the model during training, Keras' way, or as orbax train-state checkpoints.

    `filepath` ending in `.keras` writes the whole model (`model.save`); ending
    in `.weights.h5` or `.weights.safetensors` (with `save_weights_only=True`)
    writes the weights. Both may hold Keras-style fields such as
    `"ckpt-{epoch:02d}-{val_loss:.3f}.keras"`. Any other `filepath` is a folder
    of orbax checkpoints of the full train state (restore with
    `workbench.training.checkpoints.restore_model`), the newest `max_to_keep`
    kept (all when None).
    """

    def __init__(
        self,
        filepath,
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq="epoch",
        initial_value_threshold=None,
        max_to_keep: int | None = None,
    ):
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.monitor, self.verbose = monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.save_freq = _check_save_freq(save_freq, "ModelCheckpoint")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"ModelCheckpoint mode must be 'auto', 'min' or 'max', got {mode!r}.")
        maximize = mode == "max" or (
            mode == "auto" and ("acc" in monitor or monitor.startswith("fmeasure") or "auc" in monitor)
        )
        self._sign = 1.0 if maximize else -1.0
        self.best = None if initial_value_threshold is None else float(initial_value_threshold)
        match = _KERAS_FILE.search(self.filepath)
        self._kind = (
            "dir" if match is None else "weights" if match.group(1).startswith("weights") else "model"
        )
        if self._kind == "model" and save_weights_only:
            raise ValueError(
                f"save_weights_only=True needs a filepath ending in '.weights.h5' or "
                f"'.weights.safetensors', got {self.filepath!r}."
            )
        if self._kind == "weights" and not save_weights_only:
            raise ValueError(
                f"A filepath ending in '.weights.*' holds weights only: pass save_weights_only=True "
                f"or end it in '.keras'; got {self.filepath!r}."
            )
        self._checkpointer = (
            TrainCheckpointer(self.filepath, max_to_keep=max_to_keep) if self._kind == "dir" else None
        )
        self._trigger = None
        self._epoch = 0

    def on_train_begin(self, logs=None):
        self._trigger = _StepTrigger(self.save_freq) if isinstance(self.save_freq, int) else None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._trigger is not None and self._trigger.due(self.model._fit_position["global_step"]):
            self._maybe_save(self._epoch, batch, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._maybe_save(epoch, None, logs or {})

    def _improved(self, logs) -> bool:
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"ModelCheckpoint monitors '{self.monitor}', which is not in the logs "
                f"{sorted(logs)}; skipping this save.",
                stacklevel=3,
            )
            return False
        current = float(current)
        if math.isnan(current):
            return False
        if self.best is None or self._sign * (current - self.best) > 0:
            if self.verbose:
                before = "nothing" if self.best is None else f"{self.best:.5f}"
                print(f"ModelCheckpoint: {self.monitor} improved from {before} to {current:.5f}.")
            self.best = current
            return True
        return False

    def _maybe_save(self, epoch: int, batch, logs: dict) -> None:
        if self.save_best_only and not self._improved(logs):
            return
        with timing.current(self.model).measure("checkpoint"):
            self._save_now(epoch, batch, logs)

    def _save_now(self, epoch: int, batch, logs: dict) -> None:
        if self._kind == "dir":
            record = {**_record(self.model, _history_of(self.model, logs if batch is None else None)),
                      "logs": {k: float(v) for k, v in logs.items() if np.ndim(v) == 0}}
            self._checkpointer.save(self.model._train_state, record, variable_order(self.model))
            return
        path = self._format_path(epoch, batch, logs)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        if self.verbose:
            print(f"ModelCheckpoint: saving to {path}")
        if self._kind == "weights":
            self.model.save_weights(path)
        else:
            self.model.save(path)

    def _format_path(self, epoch: int, batch, logs: dict) -> str:
        fields = {k: float(v) for k, v in logs.items() if np.ndim(v) == 0}
        try:
            if batch is None:
                return self.filepath.format(epoch=epoch + 1, **fields)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **fields)
        except KeyError as e:
            raise KeyError(
                f"ModelCheckpoint filepath {self.filepath!r} names {e}, which is not among the "
                f"logs {sorted(fields)} (nor 'epoch'/'batch')."
            ) from None

    def on_fit_exit(self):
        if self._checkpointer is not None:
            self._checkpointer.wait()

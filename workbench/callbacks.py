"""Training callbacks, as `keras.callbacks`."""

from workbench.training.callbacks import (
    Callback,
    CallbackList,
    EarlyStopping,
    History,
    LambdaCallback,
    ProgbarLogger,
    TerminateOnNaN,
)
from workbench.training.checkpoint_callbacks import BackupAndRestore, ModelCheckpoint
from workbench.training.log_callbacks import CSVLogger, LearningRateScheduler, ReduceLROnPlateau
from workbench.viz.callback import LiveDashboard

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "LiveDashboard",
    "ModelCheckpoint",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "TerminateOnNaN",
]

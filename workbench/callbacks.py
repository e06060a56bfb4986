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

__all__ = ["Callback", "CallbackList", "EarlyStopping", "History", "LambdaCallback", "ProgbarLogger", "TerminateOnNaN"]

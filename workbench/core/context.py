"""The call context: what an outer layer call passes down to the layers it calls.

It carries the `training` flag (so a Dropout deep inside a model follows the
model's mode) and collects losses added with `add_loss` during the call.
"""

from __future__ import annotations

import contextlib
import threading

_state = threading.local()


class CallContext:
    def __init__(self, training, parent):
        self.training = training
        self.losses: list = parent.losses if parent is not None else []


def current() -> CallContext | None:
    stack = getattr(_state, "stack", None)
    return stack[-1] if stack else None


@contextlib.contextmanager
def call_context(training):
    stack = getattr(_state, "stack", None)
    if stack is None:
        stack = _state.stack = []
    parent = stack[-1] if stack else None
    if training is None and parent is not None:
        training = parent.training
    ctx = CallContext(training, parent)
    stack.append(ctx)
    try:
        yield ctx
    finally:
        stack.pop()

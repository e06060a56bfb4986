"""The call context: what an outer layer call passes down to the layers it calls.

It carries the `training` flag (so a Dropout deep inside a model follows the
model's mode) and collects losses added with `add_loss` during the call.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, NamedTuple

import jax

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


@contextlib.contextmanager
def portable_scope():
    """Inside this block, ops with device-specific kernels take their XLA reference path.

    `model.export()` traces its programs in here, so an artifact runs on every
    platform it was exported for, whatever kernels the training device used.
    """
    previous = getattr(_state, "portable", False)
    _state.portable = True
    try:
        yield
    finally:
        _state.portable = previous


def portable() -> bool:
    """True while tracing a portable program (see `portable_scope`)."""
    return getattr(_state, "portable", False)


class LayerCall(NamedTuple):
    """One layer call: the layer, its arguments (after input conversion) and outputs, and how deep it was."""

    layer: Any
    args: tuple
    kwargs: dict
    outputs: Any
    depth: int  # 0 for a call made by no other layer's call


@contextlib.contextmanager
def _recording(slot: str):
    """A fresh list in `_state.<slot>` for the block (the enclosing block's list comes back after it)."""
    previous = getattr(_state, slot, None)
    records: list = []
    setattr(_state, slot, records)
    try:
        yield records
    finally:
        setattr(_state, slot, previous)


def capture_layer_calls():
    """Inside this block every layer call is recorded (`LayerCall`s, in the order they finish) into the list
    it yields; profiling uses it to find each layer's input shapes."""
    return _recording("layer_calls")


@contextlib.contextmanager
def layer_scope(layer):
    """Around a layer's `call`: its ops are named under the layer's name (XLA's metadata, profiler traces),
    and it yields how many layer calls enclose this one."""
    depth = getattr(_state, "layer_depth", 0)
    _state.layer_depth = depth + 1
    try:
        with jax.named_scope(layer.name):
            yield depth
    finally:
        _state.layer_depth = depth


def record_layer_call(layer, args, kwargs, outputs, depth: int) -> None:
    """Called by `Layer` after each call; a no-op outside `capture_layer_calls`."""
    records = getattr(_state, "layer_calls", None)
    if records is not None:  # checked first: a layer call outside profiling builds nothing
        records.append(LayerCall(layer, args, kwargs, outputs, depth))


class HeadCall(NamedTuple):
    """One call of a dense projection: `output = activation(inputs @ kernel + bias)`, with the values it used."""

    layer: Any
    inputs: Any
    kernel: Any
    bias: Any
    output: Any


def capture_heads():
    """Inside this block, dense layers record their calls (`HeadCall`s) into the list it yields.

    A train step runs the model in here so that a loss on an output that a
    Dense layer produced can be computed from that layer's inputs and weights
    instead of from the logits (`SparseCategoricalCrossentropy(fused=True)`).
    """
    return _recording("heads")


def record_head(layer, inputs, kernel, bias, output) -> None:
    """Called by dense layers after computing `output`; a no-op outside `capture_heads`."""
    records = getattr(_state, "heads", None)
    if records is not None:
        records.append(HeadCall(layer, inputs, kernel, bias, output))

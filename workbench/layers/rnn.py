"""The recurrent driver `RNN(cell)`, and `DropoutRNNCell`, the dropout mixin for cells.

A cell computes one time step: `cell(x_t, states, training) -> (output_t, new_states)`.
`RNN` runs a cell over the time axis with `jax.lax.scan` (or a Python loop when
`unroll=True`), handling masks, `go_backwards`, `initial_state` and the
`return_sequences` / `return_state` outputs exactly as Keras 3 does on JAX.
SimpleRNN, LSTM and GRU (`recurrent.py`) are `RNN` with their own cells.
"""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp

from workbench.core import rng
from workbench.core.layer import Layer
from workbench.core.serialization import deserialize_layer, serialize_layer


class DropoutRNNCell:
    """Mixin for cells with `dropout` / `recurrent_dropout`: one mask per sequence, shared by all steps.

    `RNN` draws the masks before its time loop (`get_dropout_mask`,
    `get_recurrent_dropout_mask`), so no random number is drawn inside
    `jax.lax.scan`, and clears them afterwards. A gated cell with recurrent
    dropout uses one mask per gate (`dropout_mask_count`), as Keras' "implementation 1".
    """

    _dropout_mask = None
    _recurrent_dropout_mask = None
    dropout_mask_count = None

    def _create_dropout_mask(self, step_input, rate: float):
        keep = 1.0 - rate
        count = self.dropout_mask_count
        # One draw for all gates: each random op adds a threefry hash to compile.
        kept = jax.random.bernoulli(rng.next_key(), keep, (count or 1, *step_input.shape))
        masks = jnp.where(kept, 1.0 / keep, 0.0).astype(step_input.dtype)
        return masks[0] if count is None else list(masks)

    def get_dropout_mask(self, step_input):
        if self._dropout_mask is None and self.dropout > 0:
            self._dropout_mask = self._create_dropout_mask(step_input, self.dropout)
        return self._dropout_mask

    def get_recurrent_dropout_mask(self, state):
        if self._recurrent_dropout_mask is None and self.recurrent_dropout > 0:
            self._recurrent_dropout_mask = self._create_dropout_mask(state, self.recurrent_dropout)
        return self._recurrent_dropout_mask

    def reset_dropout_mask(self) -> None:
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self) -> None:
        self._recurrent_dropout_mask = None

    def _dropped(self, x, recurrent: bool, training):
        """x times this call's dropout mask(s): one array, or a list with one per gate."""
        rate = self.recurrent_dropout if recurrent else self.dropout
        if not (training and 0.0 < rate < 1.0):
            return x
        mask = self._recurrent_dropout_mask if recurrent else self._dropout_mask
        if mask is None:  # the cell is called on its own, outside RNN: a fresh mask for this call
            mask = self._create_dropout_mask(x, rate)
        return [x * m for m in mask] if isinstance(mask, list) else x * mask


class RNN(Layer):
    """Runs a recurrent `cell` over the time axis of `(batch, time, features)` inputs.

    A cell is a layer with `state_size` (an int, or a list of ints, one per state),
    optionally `output_size`, and `call(inputs, states, training=False)` returning
    `(output, new_states)` for one step. Cells run inside `jax.lax.scan`, so they
    must not draw random numbers in `call`; draw them once per sequence, as
    `DropoutRNNCell` does.

    Masked steps (mask False) keep the previous states, and their output is the
    previous first state (zeros with `zero_output_for_mask=True`), as in Keras.
    With `unroll=True` Keras' JAX backend repeats the previous *output* instead
    (zeros before the first) and ignores `zero_output_for_mask`; this layer does the same.
    `stateful=True` is not supported: pass states back through `initial_state`.

    >>> import numpy as np
    >>> from workbench.layers.rnn_cells import LSTMCell
    >>> layer = RNN(LSTMCell(4), return_sequences=True)
    >>> layer(np.zeros((2, 5, 3), "float32")).shape
    (2, 5, 4)
    """

    def __init__(
        self,
        cell,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        zero_output_for_mask=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        kind = type(self).__name__
        if isinstance(cell, (list, tuple)):
            raise ValueError(
                f"{kind}: stacking a list of cells is not supported; stack recurrent layers instead "
                "(return_sequences=True on all but the last)."
            )
        if not isinstance(cell, Layer) or getattr(cell, "state_size", None) is None:
            raise ValueError(
                f"{kind}: `cell` must be a Layer with a `call(inputs, states)` method and a `state_size` "
                f"attribute (an int or a list of ints), got {cell!r}."
            )
        state_size = cell.state_size
        if not (
            isinstance(state_size, int)
            or (isinstance(state_size, (list, tuple)) and all(isinstance(s, int) for s in state_size))
        ):
            raise ValueError(f"{kind}: cell.state_size must be an int or a list of ints, got {state_size!r}.")
        if stateful:
            raise ValueError(
                f"{kind} '{self.name}': stateful=True is not supported. Carry the state yourself: call the "
                "layer with return_state=True and pass the returned states back as `initial_state`."
            )
        self.cell = cell
        self.state_size = [state_size] if isinstance(state_size, int) else list(state_size)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = False
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True

    # ------------------------------------------------------------------ shapes
    def build(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects inputs of rank >= 3 "
                f"(batch, time, features), got shape {tuple(input_shape)}."
            )
        if input_shape[-1] is None:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) needs a known feature dimension, "
                f"got input shape {tuple(input_shape)}."
            )
        if not self.cell.built:
            self.cell.build((input_shape[0],) + tuple(input_shape[2:]))
            self.cell.built = True
        self.built = True

    def compute_output_shape(self, input_shape):
        batch, time = input_shape[0], input_shape[1]
        output_size = getattr(self.cell, "output_size", None) or self.state_size[0]
        output_shape = (batch, time, output_size) if self.return_sequences else (batch, output_size)
        if self.return_state:
            return (output_shape, *[(batch, s) for s in self.state_size])
        return output_shape

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self.state_size)
        return output_mask

    def get_initial_state(self, batch_size: int) -> list:
        """Zeros (or the cell's own `get_initial_state`), one array per state."""
        fn = getattr(self.cell, "get_initial_state", None)
        if fn is not None:
            states = fn(batch_size=batch_size)
            return list(states) if isinstance(states, (list, tuple)) else [states]
        return [jnp.zeros((batch_size, s), self.cell.compute_dtype) for s in self.state_size]

    # ------------------------------------------------------------------ running
    def call(self, sequences, initial_state=None, mask=None, training=None):
        if sequences.ndim < 3:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects inputs of rank >= 3 "
                f"(batch, time, features), got shape {tuple(sequences.shape)}."
            )
        batch, time = sequences.shape[0], sequences.shape[1]
        states = self._initial_states(initial_state, batch)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if mask is not None:
            if tuple(mask.shape) != (batch, time):
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}) expects a mask of shape (batch, time) = "
                    f"{(batch, time)}, got {tuple(mask.shape)}."
                )
            mask = mask.astype(bool)
        cell_dropout = isinstance(self.cell, DropoutRNNCell) and training
        if cell_dropout:  # draw the masks outside the scan; every step reuses them
            self.cell.get_dropout_mask(sequences[:, 0])
            self.cell.get_recurrent_dropout_mask(states[0])
        try:
            last, outputs, states = self._time_loop(sequences, states, mask, training)
        finally:
            if cell_dropout:
                self.cell.reset_dropout_mask()
                self.cell.reset_recurrent_dropout_mask()
        dtype = self.compute_dtype
        output = (outputs if self.return_sequences else last).astype(dtype)
        if self.return_state:
            return (output, *[s.astype(dtype) for s in states])
        return output

    def _initial_states(self, initial_state, batch) -> list:
        if initial_state is None:
            return self.get_initial_state(batch)
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(states) != len(self.state_size):
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) has {len(self.state_size)} state(s) of sizes "
                f"{self.state_size}, but initial_state has {len(states)}."
            )
        out = []
        for s, size in zip(states, self.state_size):
            s = jnp.asarray(s, self.cell.compute_dtype)
            if tuple(s.shape) != (batch, size):
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}) expects initial states of shape "
                    f"{[(batch, n) for n in self.state_size]}, got {[tuple(jnp.shape(x)) for x in states]}."
                )
            out.append(s)
        return out

    def _time_loop(self, sequences, states, mask, training):
        """(last_output, outputs (batch, time, ...), final_states), like keras.backend.rnn on JAX."""
        cell_kwargs = (
            {"training": training} if "training" in inspect.signature(self.cell.call).parameters else {}
        )

        def step(x_t, states):
            output, new_states = self.cell(x_t, list(states), **cell_kwargs)
            return output, list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]

        xs = jnp.swapaxes(sequences, 0, 1)
        ms = None if mask is None else jnp.swapaxes(mask, 0, 1)
        if self.unroll:
            outputs, states = _unrolled(step, xs, states, ms, self.go_backwards)
        else:
            outputs, states = _scanned(step, xs, states, ms, self.go_backwards, self.zero_output_for_mask)
        return outputs[-1], jnp.swapaxes(outputs, 0, 1), states

    # ------------------------------------------------------------------ config
    def get_config(self):
        return {
            **super().get_config(),
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
            "cell": serialize_layer(self.cell),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        config = dict(config)
        if "cell" in config:
            config["cell"] = deserialize_layer(config["cell"], custom_objects, safe_mode)
        return super().from_config(config)


def _where_mask(mask_t, new, old):
    """new where the step is kept, old where it is masked; mask_t has shape (batch,)."""
    return jnp.where(mask_t.reshape(mask_t.shape + (1,) * (new.ndim - 1)), new, old)


def _scanned(step, xs, states, ms, go_backwards: bool, zero_output_for_mask: bool):
    """Time-major loop with `lax.scan`: masked steps keep the states and output states[0] (or zeros)."""

    def body(carry, inputs):
        x_t, m_t = inputs
        output, new_states = step(x_t, carry)
        if m_t is not None:
            previous = jnp.zeros_like(output) if zero_output_for_mask else carry[0]
            output = _where_mask(m_t, output, previous)
            new_states = [_where_mask(m_t, n, s) for n, s in zip(new_states, carry)]
        return new_states, output

    states, outputs = jax.lax.scan(body, states, (xs, ms), reverse=go_backwards)
    # A reversed scan stores step t's output at index t; Keras returns them in processing order.
    return (jnp.flip(outputs, axis=0) if go_backwards else outputs), states


def _unrolled(step, xs, states, ms, go_backwards: bool):
    """Python loop over time (Keras' unroll=True): a masked step repeats the previous output (zeros first)."""
    order = range(xs.shape[0] - 1, -1, -1) if go_backwards else range(xs.shape[0])
    outputs = []
    for t in order:
        output, new_states = step(xs[t], states)
        if ms is not None:
            previous = outputs[-1] if outputs else jnp.zeros_like(output)
            output = _where_mask(ms[t], output, previous)
            new_states = [_where_mask(ms[t], n, s) for n, s in zip(new_states, states)]
        states = new_states
        outputs.append(output)
    return jnp.stack(outputs), states

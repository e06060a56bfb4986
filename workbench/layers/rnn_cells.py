"""The one-step recurrent cells SimpleRNNCell, LSTMCell and GRUCell (Keras 3 numerics).

A cell maps `(x_t, states) -> (output_t, new_states)`; `RNN` (rnn.py) runs it over
time, and SimpleRNN / LSTM / GRU (recurrent.py) are RNNs around these cells. Weights
are Keras' `kernel`, `recurrent_kernel`, `bias`, with the gates packed along the last
axis in Keras' order.
"""

from __future__ import annotations

import jax.numpy as jnp

from workbench import activations, constraints, initializers, regularizers
from workbench.core.layer import Layer
from workbench.layers.rnn import DropoutRNNCell


def _check_rate(kind: str, name: str, rate) -> float:
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
        raise ValueError(f"{kind}: `{name}` must be a float in [0, 1], got {name}={rate!r}.")
    return float(rate)


def _gate_matmul(xs, kernel, gates: int):
    """`xs @ kernel`, where xs is one array or a list with one (dropped-out) input per gate."""
    if not isinstance(xs, list):
        return jnp.matmul(xs, kernel)
    parts = jnp.split(kernel, gates, axis=-1)
    return jnp.concatenate([jnp.matmul(x, k) for x, k in zip(xs, parts)], axis=-1)


class _RecurrentCell(Layer, DropoutRNNCell):
    """Arguments (with Keras' defaults), weights and config shared by the three cells."""

    _gates = 1

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        *,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        implementation=2,
        **kwargs,
    ):
        super().__init__(**kwargs)
        kind = type(self).__name__
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"{kind}: `units` must be a positive integer, got units={units!r}.")
        if implementation not in (1, 2):
            raise ValueError(f"{kind}: `implementation` must be 1 or 2, got {implementation!r}.")
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = _check_rate(kind, "dropout", dropout)
        self.recurrent_dropout = _check_rate(kind, "recurrent_dropout", recurrent_dropout)
        self.seed = seed  # kept for the config; masks draw from workbench's RNG (stateless_call's `rng`)
        # Keras' implementation 1 (forced by recurrent dropout) drops each gate's inputs with its own mask.
        self.implementation = 1 if self.recurrent_dropout else implementation
        if self._gates > 1 and self.implementation == 1:
            self.dropout_mask_count = self._gates
        self.state_size = units
        self.output_size = units

    def _bias_shape(self) -> tuple:
        return (self._gates * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def build(self, input_shape):
        if input_shape[-1] is None:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) needs a known feature dimension, "
                f"got step input shape {tuple(input_shape)}."
            )
        width = self._gates * self.units
        self.kernel = self.add_weight(
            shape=(input_shape[-1], width),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
            name="kernel",
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, width),
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
            name="recurrent_kernel",
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=self._bias_shape(),
                initializer=self._bias_initializer(),
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
                name="bias",
            )
        self.built = True

    def get_initial_state(self, batch_size=None) -> list:
        sizes = self.state_size if isinstance(self.state_size, list) else [self.state_size]
        return [jnp.zeros((batch_size, s), self.compute_dtype) for s in sizes]

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }


class SimpleRNNCell(_RecurrentCell):
    """One step of a fully connected RNN: `h = activation(x @ kernel + h_prev @ recurrent_kernel + bias)`.

    Arguments (Keras' names and defaults): units, activation="tanh", use_bias=True,
    kernel/recurrent/bias initializers ("glorot_uniform", "orthogonal", "zeros"),
    regularizers, constraints, dropout=0.0, recurrent_dropout=0.0, seed=None.
    """

    def call(self, inputs, states, training=False):
        nested = isinstance(states, (list, tuple))
        h_prev = states[0] if nested else states
        h = jnp.matmul(self._dropped(inputs, False, training), self.kernel.value)
        if self.bias is not None:
            h = h + self.bias.value
        h_prev = self._dropped(h_prev, True, training)
        output = self.activation(h + jnp.matmul(h_prev, self.recurrent_kernel.value))
        return output, ([output] if nested else output)


class LSTMCell(_RecurrentCell):
    """One LSTM step; gates in Keras' order (input, forget, cell, output); states are [h, c].

    Takes SimpleRNNCell's arguments plus recurrent_activation="sigmoid" and
    unit_forget_bias=True (the forget gate's bias starts at 1, Jozefowicz et al. 2015).
    """

    _gates = 4

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        *,
        unit_forget_bias=True,
        **kwargs,
    ):
        super().__init__(units, activation, use_bias, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.state_size = [self.units, self.units]

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        units, base = self.units, self.bias_initializer

        def forget_gate_ones(shape, dtype=None):
            parts = [base((units,), dtype=dtype), jnp.ones((units,), dtype), base((2 * units,), dtype=dtype)]
            return jnp.concatenate(parts)

        return forget_gate_ones

    def call(self, inputs, states, training=False):
        h_prev, c_prev = states[0], states[1]
        z = _gate_matmul(self._dropped(inputs, False, training), self.kernel.value, 4)
        z = z + _gate_matmul(self._dropped(h_prev, True, training), self.recurrent_kernel.value, 4)
        if self.bias is not None:
            z = z + self.bias.value
        z_i, z_f, z_c, z_o = jnp.split(z, 4, axis=-1)
        gate = self.recurrent_activation
        c = gate(z_f) * c_prev + gate(z_i) * self.activation(z_c)
        h = gate(z_o) * self.activation(c)
        return h, [h, c]

    def get_config(self):
        return {
            **super().get_config(),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
        }


class GRUCell(_RecurrentCell):
    """One GRU step; gates in Keras' order (update z, reset r, candidate h).

    Takes SimpleRNNCell's arguments plus recurrent_activation="sigmoid" and
    reset_after=True. `reset_after=True` (Keras' default, cuDNN-compatible) applies
    the reset gate after the recurrent matmul and keeps separate input and recurrent
    biases, so the bias has shape (2, 3 * units); `reset_after=False` is the original
    formulation with one bias of shape (3 * units,).
    """

    _gates = 3

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        *,
        reset_after=True,
        **kwargs,
    ):
        super().__init__(units, activation, use_bias, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)

    def _bias_shape(self) -> tuple:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def call(self, inputs, states, training=False):
        nested = isinstance(states, (list, tuple))
        h_prev = states[0] if nested else states
        u, kernel = self.units, self.recurrent_kernel.value
        bias = None if self.bias is None else self.bias.value
        x = _gate_matmul(self._dropped(inputs, False, training), self.kernel.value, 3)
        if bias is not None:
            x = x + (bias[0] if self.reset_after else bias)
        x_z, x_r, x_h = jnp.split(x, 3, axis=-1)
        hs = self._dropped(h_prev, True, training)  # one array, or one per gate (z, r, h)
        if self.reset_after:
            inner = _gate_matmul(hs, kernel, 3)
            if bias is not None:
                inner = inner + bias[1]
            rec_z, rec_r, rec_h = jnp.split(inner, 3, axis=-1)
        else:
            inner = _gate_matmul(hs[:2] if isinstance(hs, list) else hs, kernel[:, : 2 * u], 2)
            rec_z, rec_r = jnp.split(inner, 2, axis=-1)
        z = self.recurrent_activation(x_z + rec_z)
        r = self.recurrent_activation(x_r + rec_r)
        if self.reset_after:
            rec_h = r * rec_h
        else:
            h_h = hs[2] if isinstance(hs, list) else hs
            rec_h = jnp.matmul(r * h_h, kernel[:, 2 * u :])
        h = z * h_prev + (1 - z) * self.activation(x_h + rec_h)
        return h, ([h] if nested else h)

    def get_config(self):
        return {
            **super().get_config(),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "reset_after": self.reset_after,
        }

"""SimpleRNN, LSTM and GRU: the `RNN` driver (rnn.py) around the cells of rnn_cells.py.

Each layer owns one cell, named "simple_rnn_cell", "lstm_cell" or "gru_cell" as in
Keras, so `get_weights()` returns Keras' `[kernel, recurrent_kernel, bias]` and
`set_weights(keras_layer.get_weights())` works.
"""

from __future__ import annotations

from workbench import regularizers
from workbench.layers.rnn import RNN
from workbench.layers.rnn_cells import GRUCell, LSTMCell, SimpleRNNCell

# Cell arguments a layer accepts as keywords and hands to its cell unchanged.
_CELL_KWARGS = (
    "kernel_initializer",
    "recurrent_initializer",
    "bias_initializer",
    "kernel_regularizer",
    "recurrent_regularizer",
    "bias_regularizer",
    "kernel_constraint",
    "recurrent_constraint",
    "bias_constraint",
    "dropout",
    "recurrent_dropout",
    "seed",
    "implementation",
)


def _cell_property(name: str) -> property:
    return property(lambda self: getattr(self.cell, name), doc=f"The cell's `{name}`.")


class _CellLayer(RNN):
    """An RNN around a built-in cell; its config is the cell's arguments plus the RNN flags."""

    def __init__(self, cell_class, cell_name: str, cell_args: dict, *, activity_regularizer=None, **kwargs):
        cell_args = {**cell_args, **{key: kwargs.pop(key) for key in _CELL_KWARGS if key in kwargs}}
        cell_args.update(dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True), name=cell_name)
        super().__init__(cell_class(**cell_args), activity_regularizer=activity_regularizer, **kwargs)

    units = _cell_property("units")
    activation = _cell_property("activation")
    use_bias = _cell_property("use_bias")
    kernel_initializer = _cell_property("kernel_initializer")
    recurrent_initializer = _cell_property("recurrent_initializer")
    bias_initializer = _cell_property("bias_initializer")
    kernel_regularizer = _cell_property("kernel_regularizer")
    recurrent_regularizer = _cell_property("recurrent_regularizer")
    bias_regularizer = _cell_property("bias_regularizer")
    kernel_constraint = _cell_property("kernel_constraint")
    recurrent_constraint = _cell_property("recurrent_constraint")
    bias_constraint = _cell_property("bias_constraint")
    dropout = _cell_property("dropout")
    recurrent_dropout = _cell_property("recurrent_dropout")
    seed = _cell_property("seed")

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        activity = regularizers.serialize(self.activity_regularizer)
        return {**config, **cell_config, "activity_regularizer": activity}


def _check_use_cudnn(kind: str, use_cudnn):
    if use_cudnn not in ("auto", True, False):
        raise ValueError(f"{kind}: `use_cudnn` must be 'auto', True or False, got use_cudnn={use_cudnn!r}.")
    return use_cudnn


class SimpleRNN(_CellLayer):
    """Fully connected RNN whose output is fed back as the next step's state.

    Also takes SimpleRNNCell's keyword arguments (initializers, regularizers,
    constraints, dropout, recurrent_dropout, seed) and `activity_regularizer`.

    >>> import numpy as np
    >>> SimpleRNN(4)(np.zeros((2, 5, 3), "float32")).shape
    (2, 4)
    """

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        *,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        **kwargs,
    ):
        cell_args = {"units": units, "activation": activation, "use_bias": use_bias}
        super().__init__(
            SimpleRNNCell,
            "simple_rnn_cell",
            cell_args,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            **kwargs,
        )


class LSTM(_CellLayer):
    """Long Short-Term Memory (Hochreiter & Schmidhuber, 1997); states are [h, c].

    Also takes LSTMCell's keyword arguments (initializers, regularizers,
    constraints, dropout, recurrent_dropout, seed) and `activity_regularizer`.
    `use_cudnn` is accepted for Keras compatibility: the loop is always
    `jax.lax.scan`, which XLA compiles for every device.

    >>> import numpy as np
    >>> out, h, c = LSTM(4, return_state=True)(np.zeros((2, 5, 3), "float32"))
    >>> out.shape, c.shape
    ((2, 4), (2, 4))
    """

    recurrent_activation = _cell_property("recurrent_activation")
    unit_forget_bias = _cell_property("unit_forget_bias")

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        *,
        unit_forget_bias=True,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        use_cudnn="auto",
        **kwargs,
    ):
        cell_args = {
            "units": units,
            "activation": activation,
            "recurrent_activation": recurrent_activation,
            "use_bias": use_bias,
            "unit_forget_bias": unit_forget_bias,
        }
        super().__init__(
            LSTMCell,
            "lstm_cell",
            cell_args,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            **kwargs,
        )
        self.use_cudnn = _check_use_cudnn("LSTM", use_cudnn)

    def get_config(self):
        return {**super().get_config(), "use_cudnn": self.use_cudnn}


class GRU(_CellLayer):
    """Gated Recurrent Unit (Cho et al., 2014), with Keras' `reset_after=True` default.

    Also takes GRUCell's keyword arguments (initializers, regularizers,
    constraints, dropout, recurrent_dropout, seed) and `activity_regularizer`.

    >>> import numpy as np
    >>> GRU(4, return_sequences=True)(np.zeros((2, 5, 3), "float32")).shape
    (2, 5, 4)
    """

    recurrent_activation = _cell_property("recurrent_activation")
    reset_after = _cell_property("reset_after")

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        *,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        reset_after=True,
        use_cudnn="auto",
        **kwargs,
    ):
        cell_args = {
            "units": units,
            "activation": activation,
            "recurrent_activation": recurrent_activation,
            "use_bias": use_bias,
            "reset_after": reset_after,
        }
        super().__init__(
            GRUCell,
            "gru_cell",
            cell_args,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            **kwargs,
        )
        self.use_cudnn = _check_use_cudnn("GRU", use_cudnn)

    def get_config(self):
        return {**super().get_config(), "use_cudnn": self.use_cudnn}

"""Layers that wrap another layer: Wrapper, TimeDistributed and Bidirectional."""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp

from workbench.core.layer import Layer
from workbench.core.serialization import deserialize_layer, serialize_layer

_MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def _accepts(layer: Layer, arg: str) -> bool:
    return arg in inspect.signature(layer.call).parameters


class Wrapper(Layer):
    """Base class of layers that wrap one inner `layer`; its config nests the inner layer's."""

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise ValueError(
                f"{type(self).__name__} wraps a workbench Layer instance, got {type(layer).__name__}: {layer!r}."
            )
        self.layer = layer

    def get_config(self):
        return {**super().get_config(), "layer": serialize_layer(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        config = dict(config)
        config["layer"] = deserialize_layer(config["layer"], custom_objects, safe_mode)
        return super().from_config(config)


class TimeDistributed(Wrapper):
    """Applies `layer` to every time step of `(batch, time, ...)` inputs.

    Time is folded into the batch, `(batch * time, ...)`, so the inner layer runs
    once on all steps; its weights are shared across time. A `(batch, time)` mask
    reaches an inner layer that takes `mask` (folded the same way) and passes
    through unchanged. Note for layers with batch statistics (BatchNormalization
    in training): the statistics cover all steps together, whereas Keras 3 runs
    each step separately; every per-sample layer gives the same result.

    >>> import numpy as np
    >>> from workbench.layers import Dense
    >>> TimeDistributed(Dense(8))(np.zeros((2, 10, 3), "float32")).shape
    (2, 10, 8)
    """

    def __init__(self, layer, **kwargs):
        super().__init__(layer, **kwargs)
        self.supports_masking = True

    def _child_input_shape(self, input_shape) -> tuple:
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3:
            raise ValueError(
                f"Layer '{self.name}' (TimeDistributed) expects inputs of rank >= 3 (batch, time, ...), "
                f"got shape {input_shape}."
            )
        return (input_shape[0], *input_shape[2:])

    def build(self, input_shape):
        child_shape = self._child_input_shape(input_shape)
        if not self.layer.built:
            self.layer.build(child_shape)
            self.layer.built = True
        self.built = True

    def call(self, inputs, training=None, mask=None):
        shape = tuple(inputs.shape)
        self._child_input_shape(shape)
        batch, time = shape[0], shape[1]
        kwargs = {"training": training}
        if mask is not None and _accepts(self.layer, "mask"):
            if tuple(mask.shape[:2]) != (batch, time):
                raise ValueError(
                    f"Layer '{self.name}' (TimeDistributed): the mask's first two dims {tuple(mask.shape)} "
                    f"must equal the inputs' (batch, time) = {(batch, time)}."
                )
            kwargs["mask"] = jnp.reshape(mask, (batch * time, *mask.shape[2:]))
        outputs = self.layer(jnp.reshape(inputs, (batch * time, *shape[2:])), **kwargs)
        return jax.tree_util.tree_map(lambda y: jnp.reshape(y, (batch, time, *y.shape[1:])), outputs)

    def compute_output_shape(self, input_shape):
        child_output = self.layer.compute_output_shape(self._child_input_shape(input_shape))
        return (child_output[0], input_shape[1], *child_output[1:])


class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy of it backwards over time, and merges the two.

    `layer` (an RNN such as LSTM or GRU) is copied twice from its config, as
    Keras does: a forward copy named `forward_<name>` and a backward copy
    named `backward_<name>` that runs with the opposite `go_backwards`
    (or pass your own `backward_layer`). The backward outputs are flipped back to
    the input's time order before merging with `merge_mode` ("concat", "sum",
    "mul", "ave", or None for a list of both). With `return_state`, the forward
    states come first, then the backward ones. Weights: forward, then backward.

    >>> import numpy as np
    >>> from workbench.layers.recurrent import LSTM
    >>> Bidirectional(LSTM(4, return_sequences=True))(np.zeros((2, 5, 3), "float32")).shape
    (2, 5, 8)
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        super().__init__(**kwargs)
        for arg, value in (("layer", layer), ("backward_layer", backward_layer)):
            if value is None and arg == "backward_layer":
                continue
            if not isinstance(value, Layer) or not hasattr(value, "go_backwards"):
                raise ValueError(
                    f"Bidirectional: `{arg}` must be a recurrent layer (with `go_backwards`, "
                    f"`return_sequences`, `return_state`), such as LSTM(8); got {value!r}."
                )
        if merge_mode not in _MERGE_MODES:
            raise ValueError(
                f"Bidirectional: merge_mode must be one of {_MERGE_MODES}, got merge_mode={merge_mode!r}."
            )
        config = serialize_layer(layer)
        config["config"]["name"] = "forward_" + _removeprefix(layer.name, "forward_")
        self.forward_layer = deserialize_layer(config)
        if backward_layer is None:
            config = serialize_layer(layer)
            config["config"]["go_backwards"] = not layer.go_backwards
            config["config"]["name"] = "backward_" + _removeprefix(layer.name, "backward_")
            backward_layer = deserialize_layer(config)
        self.backward_layer = backward_layer
        forward, backward = self.forward_layer, self.backward_layer
        if forward.go_backwards == backward.go_backwards:
            raise ValueError(
                "Bidirectional: the forward and backward layers must have different `go_backwards`, got "
                f"{forward.go_backwards} for both."
            )
        for attr in ("stateful", "return_sequences", "return_state"):
            if getattr(forward, attr, None) != getattr(backward, attr, None):
                raise ValueError(
                    f"Bidirectional: the forward and backward layers must agree on `{attr}`, got "
                    f"{getattr(forward, attr, None)} (forward) and {getattr(backward, attr, None)} (backward)."
                )
        # With sequences out, masked steps must give zeros, not a repeated output from the other end.
        for sub in (forward, backward):
            if getattr(sub, "zero_output_for_mask", None) is not None:
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences = forward.return_sequences
        self.return_state = forward.return_state
        self.stateful = getattr(forward, "stateful", False)
        self._initial_weights = weights
        self.supports_masking = True

    def build(self, input_shape):
        for sub in (self.forward_layer, self.backward_layer):
            if not sub.built:
                sub.build(input_shape)
                sub.built = True
        self.built = True
        if self._initial_weights is not None:
            weights, self._initial_weights = self._initial_weights, None
            self.set_weights(weights)

    def call(self, sequences, initial_state=None, mask=None, training=None):
        kwargs = {"training": training}
        if mask is not None and _accepts(self.forward_layer, "mask"):
            kwargs["mask"] = mask
        forward_state = backward_state = None
        if initial_state is not None:
            states = list(initial_state)
            if len(states) % 2:
                raise ValueError(
                    f"Layer '{self.name}' (Bidirectional): initial_state holds the forward states then the "
                    f"backward states, so it needs an even number of arrays; got {len(states)}."
                )
            forward_state, backward_state = states[: len(states) // 2], states[len(states) // 2 :]
        y = self.forward_layer(sequences, initial_state=forward_state, **kwargs)
        y_rev = self.backward_layer(sequences, initial_state=backward_state, **kwargs)
        states = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        y, y_rev = y.astype(self.compute_dtype), y_rev.astype(self.compute_dtype)
        if self.return_sequences:
            y_rev = jnp.flip(y_rev, axis=1)
        if self.merge_mode is None:
            return (y, y_rev) + states
        if self.merge_mode == "concat":
            output = jnp.concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            output = y + y_rev
        elif self.merge_mode == "ave":
            output = (y + y_rev) / 2
        else:
            output = y * y_rev
        return (output,) + states if self.return_state else output

    def compute_output_shape(self, input_shape):
        output_shape = self.forward_layer.compute_output_shape(input_shape)
        state_shapes = ()
        if self.return_state:
            output_shape, state_shapes = output_shape[0], tuple(output_shape[1:])
        if self.merge_mode == "concat":
            last = output_shape[-1]
            output_shape = (*output_shape[:-1], None if last is None else 2 * last)
        outputs = (output_shape, output_shape) if self.merge_mode is None else (output_shape,)
        if self.return_state:
            return outputs + state_shapes + state_shapes
        return outputs if self.merge_mode is None else output_shape

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        masks = [output_mask, output_mask] if self.merge_mode is None else [output_mask]
        if self.return_state:
            n_states = len(getattr(self.forward_layer, "state_size", [])) * 2
            return masks + [None] * n_states
        return masks if self.merge_mode is None else output_mask

    def get_config(self):
        return {
            **super().get_config(),
            "merge_mode": self.merge_mode,
            "layer": serialize_layer(self.forward_layer),
            "backward_layer": serialize_layer(self.backward_layer),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        config = dict(config)
        config["layer"] = deserialize_layer(config["layer"], custom_objects, safe_mode)
        if config.get("backward_layer") is not None:
            config["backward_layer"] = deserialize_layer(config["backward_layer"], custom_objects, safe_mode)
        return super().from_config(config)


def _removeprefix(name: str, prefix: str) -> str:
    return name[len(prefix) :] if name.startswith(prefix) else name

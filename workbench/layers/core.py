"""Dense, EinsumDense, Activation, Identity and Lambda."""

from __future__ import annotations

import base64
import marshal
import re
import types

import jax.numpy as jnp

from workbench import activations, constraints, initializers, regularizers
from workbench.core import context
from workbench.core.layer import Layer


def _check_positive_int(layer: str, name: str, value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{layer}: `{name}` must be a positive integer, got {value!r}.")
    return value


def _reject_quantization(layer: str, kwargs: dict) -> None:
    """Keras configs carry `quantization_config=None`; a real quantization config is refused."""
    if kwargs.pop("quantization_config", None) is not None:
        raise ValueError(f"{layer}: quantized layers are not supported (got a quantization_config).")


class Dense(Layer):
    """`activation(inputs @ kernel + bias)`, applied over the last axis of any-rank input."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, lora_rank=None,
                 **kwargs):
        _reject_quantization("Dense", kwargs)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if lora_rank is not None:
            raise ValueError("Dense(lora_rank=...) is not supported.")
        self.units = _check_positive_int("Dense", "units", units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.supports_masking = True

    def build(self, input_shape):
        if len(input_shape) < 2:
            raise ValueError(
                f"Layer '{self.name}' (Dense) expects inputs of rank >= 2 (batch, ..., features), "
                f"got shape {input_shape}."
            )
        if input_shape[-1] is None:
            raise ValueError(
                f"Layer '{self.name}' (Dense) needs a known last dimension, got input shape {input_shape}."
            )
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      name="kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self.built = True

    def call(self, inputs):
        if inputs.shape[-1] != self.kernel.shape[0]:
            raise ValueError(
                f"Layer '{self.name}' (Dense) was built for inputs with last dimension "
                f"{self.kernel.shape[0]}, got shape {tuple(inputs.shape)}."
            )
        kernel = self.kernel.value
        bias = None if self.bias is None else self.bias.value
        x = jnp.matmul(inputs, kernel)
        if bias is not None:
            x = x + bias
        out = self.activation(x)
        context.record_head(self, inputs, kernel, bias, out)
        return out

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class FusedLMHead(Dense):
    """The vocabulary projection of a language model: a linear `Dense(vocab_size)` whose loss is fused.

    It returns logits like a `Dense` without activation (`predict` and plain calls
    are unchanged). When the output it produces is trained with
    `SparseCategoricalCrossentropy(from_logits=True)`, the train and test steps
    compute the loss from this layer's inputs and weights with
    `workbench.kernels.linear_softmax_cross_entropy`, in vocabulary chunks, so the
    `[tokens, vocab_size]` logits are never held in memory for the backward pass
    (as `SparseCategoricalCrossentropy(fused=True)` does for any final Dense).

    >>> import workbench
    >>> from workbench import layers
    >>> tokens = workbench.Input((16,), dtype="int32")
    >>> h = layers.Embedding(1000, 64)(tokens)
    >>> model = workbench.Model(tokens, layers.FusedLMHead(1000)(h))
    """

    def __init__(self, vocab_size, use_bias=False, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        for key in ("units", "activation", "activity_regularizer"):
            if key in kwargs:
                raise TypeError(f"FusedLMHead takes vocab_size= and projects linearly; got {key}=.")
        super().__init__(vocab_size, None, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                         bias_regularizer, None, kernel_constraint, bias_constraint, **kwargs)

    @property
    def vocab_size(self) -> int:
        return self.units

    def get_config(self):
        config = super().get_config()
        config["vocab_size"] = config.pop("units")
        del config["activation"]
        return config


class EinsumDense(Layer):
    """A dense layer written as an einsum, e.g. `EinsumDense("abc,cd->abd", output_shape=(None, 64))`."""

    def __init__(self, equation, output_shape, activation=None, bias_axes=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, lora_rank=None, **kwargs):
        _reject_quantization("EinsumDense", kwargs)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if lora_rank is not None:
            raise ValueError("EinsumDense(lora_rank=...) is not supported.")
        if not isinstance(equation, str) or not re.match(r"^([a-zA-Z\.]+),([a-zA-Z]+)->([a-zA-Z\.]+)$", equation):
            raise ValueError(
                f"EinsumDense equation must look like 'ab,bc->ac' (input,kernel->output), got {equation!r}."
            )
        self.equation = equation
        self.partial_output_shape = (
            (output_shape,) if isinstance(output_shape, int) else tuple(output_shape)
        )
        self.activation = activations.get(activation)
        self.bias_axes = bias_axes
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def _shapes(self, input_shape):
        lhs, rest = self.equation.split(",")
        kernel_spec, out_spec = rest.split("->")
        if "." in lhs or "." in out_spec:
            raise ValueError(f"EinsumDense '{self.name}': ellipsis equations are not supported ({self.equation}).")
        if len(lhs) != len(input_shape):
            raise ValueError(
                f"Layer '{self.name}' (EinsumDense) equation {self.equation!r} expects rank-{len(lhs)} "
                f"inputs, got shape {tuple(input_shape)}."
            )
        out_given = self.partial_output_shape
        if len(out_given) not in (len(out_spec), len(out_spec) - 1):
            raise ValueError(
                f"Layer '{self.name}' (EinsumDense): output_shape {out_given} does not fit output spec "
                f"'{out_spec}' (expected {len(out_spec) - 1} dims after the batch)."
            )
        full_out = out_given if len(out_given) == len(out_spec) else (input_shape[0],) + tuple(out_given)
        dims = {c: d for c, d in zip(lhs, input_shape)}
        for c, d in zip(out_spec, full_out):
            if c in dims and d is not None and dims[c] is not None and dims[c] != d:
                raise ValueError(
                    f"Layer '{self.name}' (EinsumDense): dim '{c}' is {dims[c]} in the input "
                    f"{tuple(input_shape)} but {d} in output_shape {out_given}."
                )
            dims.setdefault(c, d)
            if dims[c] is None:
                dims[c] = d
        kernel_shape = tuple(dims[c] for c in kernel_spec)
        bias_shape = None
        if self.bias_axes is not None:
            for c in self.bias_axes:
                if c not in out_spec:
                    raise ValueError(
                        f"Layer '{self.name}' (EinsumDense): bias axis '{c}' is not in the output spec '{out_spec}'."
                    )
            first = min(out_spec.index(c) for c in self.bias_axes)
            bias_shape = tuple(dims[c] if c in self.bias_axes else 1 for c in out_spec[first:])
        output_shape = tuple(input_shape[lhs.index(c)] if c in lhs else dims[c] for c in out_spec)
        return kernel_shape, bias_shape, output_shape

    def build(self, input_shape):
        kernel_shape, bias_shape, self._full_output_shape = self._shapes(input_shape)
        if any(d is None for d in kernel_shape):
            raise ValueError(f"Layer '{self.name}' (EinsumDense): kernel shape {kernel_shape} has unknown dims.")
        self.kernel = self.add_weight(shape=kernel_shape, initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      name="kernel")
        self.bias = None
        if bias_shape is not None:
            self.bias = self.add_weight(shape=bias_shape, initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self.built = True

    def call(self, inputs):
        x = jnp.einsum(self.equation, inputs, self.kernel.value)
        if self.bias is not None:
            x = x + self.bias.value
        return self.activation(x)

    def compute_output_shape(self, input_shape):
        return self._shapes(input_shape)[2]

    def get_config(self):
        return {
            **super().get_config(),
            "equation": self.equation,
            "output_shape": list(self.partial_output_shape),
            "activation": activations.serialize(self.activation),
            "bias_axes": self.bias_axes,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class Activation(Layer):
    """Applies an activation function: `Activation("relu")`."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Identity(Layer):
    """Returns its input unchanged."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape


def _serialize_function(fn) -> dict:
    if isinstance(fn, types.FunctionType) and fn.__name__ != "<lambda>" and "<locals>" not in fn.__qualname__:
        return {"class_name": "function", "config": {"module": fn.__module__, "name": fn.__qualname__}}
    if isinstance(fn, types.FunctionType):
        code = base64.b64encode(marshal.dumps(fn.__code__)).decode("ascii")
        return {"class_name": "__lambda__", "config": {"code": code, "defaults": fn.__defaults__}}
    raise ValueError(f"Lambda can only serialise Python functions, got {type(fn).__name__}.")


def _deserialize_function(config: dict, safe_mode: bool, layer_name: str, custom_objects=None):
    if safe_mode:
        raise ValueError(
            f"Lambda layer '{layer_name}' holds Python code, and deserialising it would execute that "
            "code. This is refused by default. If you trust the source of this model, pass "
            "safe_mode=False to load_model / model_from_json."
        )
    kind, inner = config["class_name"], config["config"]
    if kind == "function":
        if custom_objects and inner["name"] in custom_objects:
            return custom_objects[inner["name"]]
        import importlib

        obj = importlib.import_module(inner["module"])
        for part in inner["name"].split("."):
            obj = getattr(obj, part)
        return obj
    code = marshal.loads(base64.b64decode(inner["code"]))
    import workbench

    defaults = tuple(inner["defaults"]) if inner.get("defaults") else None
    return types.FunctionType(code, {"__builtins__": __builtins__, "ops": workbench.ops, "jnp": jnp}, None,
                              defaults)


class Lambda(Layer):
    """Wraps a function as a layer: `Lambda(lambda x: x * 2)`.

    Saved models keep the function's code; loading it back needs `safe_mode=False`.
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda expects a callable, got {type(function).__name__}.")
        self.function = function
        self._output_shape = output_shape
        self.mask = mask
        self.arguments = arguments or {}
        self.built = True

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        import inspect

        params = inspect.signature(self.function).parameters
        if "mask" in params:
            kwargs["mask"] = mask
        if "training" in params:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs, mask=None):
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            return super().compute_output_shape(input_shape)
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        return (input_shape[0],) + tuple(self._output_shape)

    def get_config(self):
        config = {**super().get_config(), "function": _serialize_function(self.function),
                  "arguments": self.arguments}
        if self._output_shape is not None and not callable(self._output_shape):
            config["output_shape"] = list(self._output_shape)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        config = dict(config)
        safe = True if safe_mode is None else safe_mode
        config["function"] = _deserialize_function(config["function"], safe, config.get("name"), custom_objects)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = config["dtype"].get("config", config["dtype"]).get("name")
        return cls(**config)

"""Sequential: a plain stack of layers, each taking the previous one's output."""

from __future__ import annotations

from workbench.core import symbolic
from workbench.core.functional import Functional
from workbench.core.input_layer import InputLayer
from workbench.core.layer import Layer, _call_params
from workbench.core.model import Model


class Sequential(Model):
    """`Sequential([Input((784,)), Dense(64, activation="relu"), Dense(10)])`.

    Layers can also be added one by one with `add`. Once the input shape is
    known (an `Input`, a first layer given `input_shape=`, or the first call)
    the stack is traced into a functional graph, so shapes are checked and
    `summary()` can show them.
    """

    def __init__(self, layers=None, trainable: bool = True, name: str | None = None, **kwargs):
        super().__init__(trainable=trainable, name=name, **kwargs)
        self._layers = []
        self._functional = None
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_rebuild()

    def add(self, layer, rebuild: bool = True) -> None:
        """Append a layer (or an `Input` tensor as the first element)."""
        if symbolic.is_keras_tensor(layer) and isinstance(getattr(layer, "_history", (None,))[0], InputLayer):
            layer = layer._history[0]
        if not isinstance(layer, Layer):
            raise ValueError(
                f"Only layers can be added to a Sequential model; got {type(layer).__name__}: {layer!r}."
            )
        if isinstance(layer, InputLayer) and self._layers:
            raise ValueError(
                f"An Input can only be the first element of Sequential model '{self.name}'; "
                f"it already has {len(self._layers)} layer(s)."
            )
        if not self._layers and not isinstance(layer, InputLayer) and layer._input_shape_arg is not None:
            self._layers.append(
                InputLayer(shape=layer._input_shape_arg, batch_size=layer._batch_size_arg)
            )
        names = {x.name for x in self._layers}
        if layer.name in names:
            raise ValueError(
                f"All layers added to a Sequential model should have unique names; '{layer.name}' is "
                f"already in '{self.name}'. Pass name= to tell them apart."
            )
        self._layers.append(layer)
        self._jit_cache.clear()
        if rebuild:
            self._maybe_rebuild()
        else:
            self.built = False

    def pop(self, rebuild: bool = True) -> Layer:
        """Remove the last layer and return it."""
        if not self.layers:
            raise TypeError(f"There are no layers in Sequential model '{self.name}' to pop.")
        layer = self._layers.pop()
        self._jit_cache.clear()
        self.built = False
        self._functional = None
        if rebuild:
            self._maybe_rebuild()
        return layer

    @property
    def layers(self) -> list[Layer]:
        return [x for x in self._layers if not isinstance(x, InputLayer)]

    def _maybe_rebuild(self) -> None:
        self.built = False
        self._functional = None
        if self._layers and isinstance(self._layers[0], InputLayer) and len(self._layers) > 1:
            self._trace(self._layers[0].batch_shape, self._layers[0].dtype)

    def _trace(self, batch_shape, dtype="float32") -> None:
        if isinstance(self._layers[0], InputLayer):
            inputs = self._layers[0].output
        else:
            layer = InputLayer(batch_shape=batch_shape, dtype=dtype)
            self._layers.insert(0, layer)
            inputs = layer.output
        x = inputs
        for layer in self._layers[1:]:
            x = layer(x)
        self._functional = Functional(inputs, x, name=self.name + "_graph")
        self._build_shapes = tuple(batch_shape)
        self.built = True

    def build(self, input_shape=None) -> None:
        if self._functional is not None:
            self.built = True
            return
        if input_shape is None:
            raise ValueError(
                f"Sequential model '{self.name}' cannot be built without an input shape: start it with "
                "an Input(shape=...), give the first layer input_shape=, or call it on data."
            )
        if not self.layers:
            raise ValueError(f"Sequential model '{self.name}' has no layers to build.")
        if isinstance(input_shape, list) or (input_shape and isinstance(input_shape[0], (tuple, list))):
            # Multi-input first layer: run layer by layer.
            self.built = True
            return
        self._trace((None,) + tuple(input_shape)[1:])

    def call(self, inputs, training=None, mask=None):
        if self._functional is not None:
            return self._functional.call(inputs, training=training, mask=mask)
        x = inputs
        for layer in self.layers:
            kwargs = {"training": training}
            if mask is not None and "mask" in _call_params(type(layer)):
                kwargs["mask"] = mask
            y = layer(x, **kwargs)
            mask = layer.compute_mask(x, mask)
            x = y
        return x

    @property
    def inputs(self):
        return self._functional.inputs if self._functional else None

    @property
    def outputs(self):
        return self._functional.outputs if self._functional else None

    @property
    def input_shape(self):
        if self._functional is None:
            raise AttributeError(f"Sequential model '{self.name}' has no defined input shape yet.")
        return self._functional.input_shape

    @property
    def output_shape(self):
        if self._functional is None:
            raise AttributeError(f"Sequential model '{self.name}' has no defined output shape yet.")
        return self._functional.output_shape

    def get_config(self) -> dict:
        from workbench.core import serialization

        config = {"name": self.name, "trainable": self.trainable, "layers": []}
        if self._dtype_policy.name != "float32":
            config["dtype"] = self._dtype_policy.get_config()
        for layer in self._layers:
            config["layers"].append(serialization.serialize_layer(layer))
        if self._build_shapes is not None:
            config["build_input_shape"] = list(self._build_shapes)
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects=None, safe_mode=None):
        from workbench.core import serialization

        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for layer_config in config["layers"]:
            model.add(serialization.deserialize_layer(layer_config, custom_objects, safe_mode), rebuild=False)
        model._maybe_rebuild()
        shape = config.get("build_input_shape")
        if not model.built and shape is not None:
            model.build(tuple(shape))
        return model

"""Layer: the Keras layer protocol over a pure-JAX core.

A layer owns Variables (`add_weight`) and sublayers (tracked from its
attributes). `__call__` builds it on first use, then runs `call`:

* on KerasTensors it records a graph node (functional API);
* inside another layer's call, or inside `stateless_call`, it runs directly;
* at top level, after the first call, it runs one cached `jax.jit` of the pure
  form, so calling a built model again on same-shaped inputs does not compile.

`stateless_call(variables, ...)` is the pure function underneath: it reads
weights from the given pytree, never from the layer, and returns the updated
non-trainable state instead of assigning it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from workbench import constraints as constraints_mod
from workbench import initializers as initializers_mod
from workbench import regularizers as regularizers_mod
from workbench.core import context, naming, rng, serialization, symbolic
from workbench.core import dtype_policy as policies
from workbench.core.jit_call import JitCall
from workbench.core.pure_form import PureForm
from workbench.core.shapes import build_shapes, call_params, jsonable_shapes, spec, tuple_shapes
from workbench.core.variable import Variable, autocast_scope, current_stateless_scope, stateless_scope

# Errors that mean a call needs concrete Python values: such layers run eagerly.

_INTERNAL = frozenset(
    {"_inbound_nodes", "_jit_cache", "_trainable_variables", "_non_trainable_variables", "_losses"}
)



class Layer(PureForm, JitCall):
    """Base class of every layer and model.

    Subclass it and implement `build(input_shape)` (create weights with
    `add_weight`) and `call(inputs, training=None, mask=None)`:

    >>> class Scale(Layer):
    ...     def build(self, input_shape):
    ...         self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")
    ...     def call(self, x):
    ...         return x * self.w
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__module__.startswith("workbench."):
            serialization.register_builtin(cls)

    def __new__(cls, *args, **kwargs):
        obj = object.__new__(cls)
        d = obj.__dict__
        d["_trainable_variables"] = []
        d["_non_trainable_variables"] = []
        d["_inbound_nodes"] = []
        d["_jit_cache"] = {}
        d["_losses"] = []
        d["_trainable"] = True
        d["built"] = False
        d["_called"] = False
        d["_jit_ok"] = True
        d["_initialized"] = False
        return obj

    def __init__(
        self,
        *,
        activity_regularizer=None,
        trainable: bool = True,
        dtype=None,
        autocast: bool = True,
        name: str | None = None,
        **kwargs,
    ):
        input_dim = kwargs.pop("input_dim", None)
        input_shape = (input_dim,) if input_dim is not None else kwargs.pop("input_shape", None)
        batch_size = kwargs.pop("batch_size", None)
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}")
        if not isinstance(trainable, bool):
            raise ValueError(f"Expected `trainable` to be a boolean, got trainable={trainable!r}.")
        if name is not None and (not isinstance(name, str) or "/" in name):
            raise ValueError(f"Layer name must be a string without '/', got {name!r}.")
        self._input_shape_arg = None if input_shape is None else tuple(input_shape)
        self._batch_size_arg = batch_size
        self.name = name or naming.unique_name(naming.to_snake_case(type(self).__name__))
        self._dtype_policy = policies.get(dtype)
        self._trainable = trainable
        self.autocast = autocast
        self.activity_regularizer = regularizers_mod.get(activity_regularizer)
        self.supports_masking = type(self).compute_mask is not Layer.compute_mask
        self._build_shapes = None
        self._output_shape_seen = None
        self.__dict__["_initialized"] = True

    # ------------------------------------------------------------------ tracking
    def __setattr__(self, name, value):
        if isinstance(value, Variable) and name not in _INTERNAL:
            own = self.__dict__["_trainable_variables"] + self.__dict__["_non_trainable_variables"]
            if not any(v is value for v in own):
                (self._trainable_variables if value.trainable else self._non_trainable_variables).append(value)
        object.__setattr__(self, name, value)

    def _tracked_children(self) -> list[tuple[str, Layer]]:
        """(key, sublayer) pairs in tracking order; keys name the path in `get_variables`."""
        explicit = self.__dict__.get("_layers")
        if explicit is not None:
            return [(layer.name, layer) for layer in explicit]
        out, seen = [], set()

        def add(key, layer):
            if id(layer) not in seen and layer is not self:
                seen.add(id(layer))
                out.append((key, layer))

        for attr, value in self.__dict__.items():
            if attr in _INTERNAL:
                continue
            if isinstance(value, Layer):
                add(attr, value)
            elif isinstance(value, (list, tuple)):
                for i, v in enumerate(value):
                    if isinstance(v, Layer):
                        add(f"{attr}/{i}", v)
            elif isinstance(value, dict):
                for k, v in value.items():
                    if isinstance(v, Layer):
                        add(f"{attr}/{k}", v)
        return out

    @property
    def _sublayers(self) -> list[Layer]:
        return [layer for _, layer in self._tracked_children()]

    def _flatten_layers(self, include_self: bool = True) -> list[Layer]:
        out, seen = [], set()

        def walk(layer):
            if id(layer) in seen:
                return
            seen.add(id(layer))
            out.append(layer)
            for child in layer._sublayers:
                walk(child)

        walk(self)
        return out if include_self else out[1:]

    # ------------------------------------------------------------------ weights
    @property
    def dtype_policy(self) -> policies.DTypePolicy:
        return self._dtype_policy

    @property
    def dtype(self) -> str:
        """The variable dtype."""
        return self._dtype_policy.variable_dtype

    @property
    def compute_dtype(self) -> str:
        return self._dtype_policy.compute_dtype

    @property
    def variable_dtype(self) -> str:
        return self._dtype_policy.variable_dtype

    def add_weight(
        self,
        shape=None,
        initializer=None,
        dtype=None,
        trainable: bool = True,
        autocast: bool = True,
        regularizer=None,
        constraint=None,
        name: str | None = None,
        **kwargs,
    ) -> Variable:
        """Create a Variable owned by this layer (Keras' `add_weight`)."""
        kwargs.pop("aggregation", None)
        kwargs.pop("synchronization", None)
        if kwargs:
            raise ValueError(f"Unrecognized arguments to add_weight: {sorted(kwargs)}")
        shape = () if shape is None else tuple(int(d) for d in shape)
        dtype = jnp.dtype(dtype or self.variable_dtype)
        if initializer is None:
            initializer = "glorot_uniform" if policies.is_float(dtype) else "zeros"
        init = initializers_mod.get(initializer)
        value = init(shape, dtype=dtype) if callable(init) else init
        value = jnp.asarray(value, dtype=dtype)
        if tuple(value.shape) != shape:
            raise ValueError(
                f"Initializer for weight '{name}' of layer '{self.name}' returned shape "
                f"{tuple(value.shape)}, expected {shape}."
            )
        var = Variable(value, name=name or "variable", trainable=trainable, autocast=autocast)
        var.path = f"{self.name}/{var.name}"
        var.regularizer = regularizers_mod.get(regularizer)
        var.constraint = constraints_mod.get(constraint)
        if trainable and not self._trainable:
            var.trainable = False
            var._was_trainable = True
        (self._trainable_variables if var.trainable else self._non_trainable_variables).append(var)
        return var

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        value = bool(value)
        self._trainable = value
        for v in self._trainable_variables:
            v.trainable = value
        for layer in self._sublayers:
            layer.trainable = value
        self._jit_cache.clear()

    @property
    def weights(self) -> list[Variable]:
        """All weights, in Keras' order: own trainable, own non-trainable, then sublayers'."""
        out, seen = [], set()
        for w in self._trainable_variables + self._non_trainable_variables:
            if id(w) not in seen:
                seen.add(id(w))
                out.append(w)
        for layer in self._sublayers:
            for w in layer.weights:
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)
        return out

    variables = weights

    @property
    def trainable_weights(self) -> list[Variable]:
        if not self._trainable:
            return []
        return [w for w in self.weights if w.trainable]

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self) -> list[Variable]:
        if not self._trainable:
            return self.weights
        return [w for w in self.weights if not w.trainable]

    non_trainable_variables = non_trainable_weights

    def get_weights(self) -> list[np.ndarray]:
        """The weights as NumPy arrays, in Keras' order."""
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights) -> None:
        """Set the weights from a list of arrays in Keras' order (as `get_weights` returns)."""
        own = self.weights
        weights = list(weights)
        if len(weights) != len(own):
            raise ValueError(
                f"Layer '{self.name}' expects {len(own)} weights, but set_weights received "
                f"{len(weights)}. Expected shapes: {[w.shape for w in own]}."
            )
        for var, value in zip(own, weights):
            value = np.asarray(value)
            if tuple(value.shape) != var.shape:
                raise ValueError(
                    f"Layer '{self.name}' weight '{var.path}' has shape {var.shape}, "
                    f"but set_weights received shape {tuple(value.shape)}."
                )
        for var, value in zip(own, weights):
            var.assign(np.asarray(value))

    def count_params(self) -> int:
        """Total number of scalars in the weights."""
        if not self.built:
            raise ValueError(
                f"Layer '{self.name}' is not built yet, so it has no weights to count. "
                "Call it on data or call build(input_shape) first."
            )
        return int(sum(w.size for w in self.weights))

    @property
    def losses(self) -> list:
        """Regularisation penalties of the weights plus losses added in the last call."""
        out = list(self._losses)
        for layer in self._flatten_layers():
            for w in layer._trainable_variables + layer._non_trainable_variables:
                reg = getattr(w, "regularizer", None)
                if reg is not None:
                    out.append(reg(w.value))
        return out

    def add_loss(self, loss) -> None:
        ctx = context.current()
        if ctx is not None:
            ctx.losses.append(loss)
        else:
            self._losses.append(loss)

    # ------------------------------------------------------------------ building
    def build(self, input_shape) -> None:
        """Create the layer's weights for inputs of `input_shape` (override in subclasses)."""
        self.built = True

    def _maybe_build(self, args, kwargs) -> None:
        if self.built:
            return
        shapes = build_shapes(self, args, kwargs)
        self._build_shapes = shapes
        if type(self).build is not Layer.build:
            try:
                if isinstance(shapes, dict):
                    self.build(**shapes)
                else:
                    self.build(shapes)
            except (ValueError, TypeError) as e:
                if self.name in str(e):
                    raise
                raise type(e)(
                    f"Layer '{self.name}' ({type(self).__name__}) could not be built for input "
                    f"shape {shapes}: {e}"
                ) from e
        self.built = True

    def _needs_trace_build(self) -> bool:
        return any(not layer.built for layer in self._flatten_layers())

    # ------------------------------------------------------------------ calling
    def call(self, *args, **kwargs):
        raise NotImplementedError(f"Layer {type(self).__name__} does not implement call().")

    def compute_mask(self, inputs, mask=None):
        """The mask of the outputs; by default a layer that supports masking passes it on."""
        if not self.supports_masking:
            return None
        return mask

    def compute_output_shape(self, *args, **kwargs):
        """Output shape(s) for the given input shape(s), found by tracing `call`."""
        specs = jax.tree_util.tree_map(
            lambda s: symbolic.KerasTensor(s, self.compute_dtype),
            args,
            is_leaf=lambda s: isinstance(s, tuple) and all(d is None or isinstance(d, int) for d in s),
        )
        out = self.compute_output_spec(*specs, **kwargs)
        return jax.tree_util.tree_map(lambda t: t.shape, out, is_leaf=symbolic.is_keras_tensor)

    def compute_output_spec(self, *args, **kwargs):
        """Output KerasTensor(s) for KerasTensor inputs, found by tracing `call`."""
        if not self.built:
            self._maybe_build(args, kwargs)
        variables = self.weights
        values = {id(v): v._value for v in variables}

        def fn(*a, **k):
            with stateless_scope(values), rng.key_scope(jax.random.key(0)), context.call_context(k.get("training")):
                return self._run(a, k)

        try:
            return symbolic.eval_output_spec(fn, args, kwargs)
        except Exception:
            # A call that cannot be traced at stand-in sizes for unknown dims may still
            # declare its output shape.
            if type(self).compute_output_shape is Layer.compute_output_shape or len(args) != 1:
                raise
            shape = self.compute_output_shape(symbolic.shape_of(args[0]))
            return symbolic.KerasTensor(shape, self.compute_dtype)

    def __call__(self, *args, **kwargs):
        if not self.__dict__.get("_initialized"):
            raise RuntimeError(
                f"{type(self).__name__}.__init__ must call super().__init__() before the layer is used."
            )
        if symbolic.any_symbolic((args, kwargs)):
            return self._symbolic_call(args, kwargs)
        args, kwargs = self._convert_inputs(args, kwargs)
        top_level = context.current() is None
        eager = (
            not top_level
            or current_stateless_scope() is not None
            or not (self._called and self._jit_ok)
            or any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves((args, kwargs)))
        )
        if not eager:
            return self._jitted_call(args, kwargs)
        with context.call_context(kwargs.get("training")) as ctx:
            out = self._run(args, kwargs)
        if top_level:
            self._losses = list(ctx.losses)
        self._called = True
        return out

    def _convert_inputs(self, args, kwargs):
        """NumPy arrays and Python lists of numbers become jax arrays; floats take the compute dtype."""
        compute = jnp.dtype(self.compute_dtype)

        def convert(x):
            if isinstance(x, np.ndarray) or (isinstance(x, jax.Array) and not isinstance(x, jax.core.Tracer)):
                x = jnp.asarray(x)
            if isinstance(x, jax.Array) and self.autocast and jnp.issubdtype(x.dtype, jnp.floating):
                if x.dtype != compute and policies.is_float(compute):
                    x = x.astype(compute)
            return x

        if args:
            first = args[0]
            if isinstance(first, (list, tuple)) and first and all(isinstance(v, (int, float)) for v in first):
                first = jnp.asarray(first)
            args = (jax.tree_util.tree_map(convert, first),) + tuple(
                jax.tree_util.tree_map(convert, a) for a in args[1:]
            )
        kwargs = {k: (v if k == "mask" else jax.tree_util.tree_map(convert, v)) for k, v in kwargs.items()}
        return args, kwargs

    def _run(self, args, kwargs):
        """Build if needed and call, resolving `training` and mixed-precision autocast."""
        kwargs = dict(kwargs)
        training = kwargs.pop("training", None)
        ctx = context.current()
        if training is None and ctx is not None:
            training = ctx.training
        params = call_params(type(self))
        if "training" in params:
            kwargs["training"] = training
        if "mask" in kwargs and kwargs["mask"] is None and "mask" not in params:
            kwargs.pop("mask")
        self._maybe_build(args, {k: v for k, v in kwargs.items() if k != "training"})
        mixed = self.variable_dtype != self.compute_dtype
        with context.call_context(training), autocast_scope(self.compute_dtype if mixed else None), \
                context.layer_scope(self) as depth:
            outputs = self.call(*args, **kwargs)
            if self.activity_regularizer is not None:
                for out in jax.tree_util.tree_leaves(outputs):
                    self.add_loss(self.activity_regularizer(out))
        context.record_layer_call(self, args, kwargs, outputs, depth)
        if self._output_shape_seen is None:
            self._output_shape_seen = jax.tree_util.tree_map(
                lambda x: (None,) + tuple(np.shape(x))[1:], outputs
            )
        return outputs

    def _symbolic_call(self, args, kwargs):
        if not self.built:
            self._maybe_build(args, kwargs)
        if self._needs_trace_build():
            # Sublayers created lazily in call(): run once on zeros to create every weight.
            concrete = symbolic.map_keras_tensors(symbolic.concrete_zeros, (args, kwargs))
            with context.call_context(False):
                self._run(*concrete)
        outputs = self.compute_output_spec(*args, **kwargs)
        node_index = len(self._inbound_nodes)
        tensors = symbolic.tree_keras_tensors(outputs)
        for i, t in enumerate(tensors):
            t._history = (self, node_index, i)
            t.name = self.name if len(tensors) == 1 else f"{self.name}_{i}"
        self._inbound_nodes.append(symbolic.Node(self, args, kwargs, outputs))
        return outputs

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict:
        """The constructor arguments that recreate this layer (without weights)."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": self._dtype_policy.get_config()}
        if self._input_shape_arg is not None:
            config["input_shape"] = list(self._input_shape_arg)
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers_mod.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = config["dtype"].get("config", config["dtype"]).get("name")
        try:
            return cls(**config)
        except TypeError as e:
            raise TypeError(
                f"{cls.__name__}.from_config could not recreate the layer from {sorted(config)}: {e}. "
                "A custom layer whose __init__ takes arguments must return them from get_config()."
            ) from e

    def get_build_config(self):
        if self._build_shapes is None:
            return None
        return {"input_shape": jsonable_shapes(self._build_shapes)}

    def build_from_config(self, build_config) -> None:
        if not build_config:
            return
        shapes = tuple_shapes(build_config["input_shape"])
        if isinstance(shapes, dict):
            specs = {k[: -len("_shape")]: spec(v) for k, v in shapes.items()}
            first = next(iter(specs))
            args, kwargs = (specs.pop(first),), specs
        else:
            args, kwargs = (spec(shapes),), {}
        self._maybe_build(args, kwargs)
        if self._needs_trace_build():
            concrete = symbolic.map_keras_tensors(symbolic.concrete_zeros, (args, kwargs))
            with context.call_context(False):
                self._run(*concrete)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


# Kept under its old name: functional.py and sequential.py read call signatures through it.
_call_params = call_params

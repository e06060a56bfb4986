"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot."""

from __future__ import annotations

import jax.numpy as jnp

from workbench.core.layer import Layer


def _broadcast_shape(layer, shape1, shape2):
    """Keras' elementwise output shape (without batch), with a clear error when shapes clash."""
    if shape1 is None or shape2 is None:
        return None
    if len(shape1) < len(shape2):
        shape1, shape2 = shape2, shape1
    if not shape2:
        return tuple(shape1)
    out = list(shape1[: -len(shape2)])
    for i, j in zip(shape1[-len(shape2) :], shape2):
        if i is None or j is None:
            out.append(None)
        elif i == 1:
            out.append(j)
        elif j == 1 or i == j:
            out.append(i)
        else:
            raise ValueError(
                f"Layer '{layer.name}' ({type(layer).__name__}) got inputs with incompatible shapes: "
                f"{tuple(shape1)} and {tuple(shape2)} (excluding the batch dimension)."
            )
    return tuple(out)


def _check_list(layer, input_shape, minimum=1):
    if not isinstance(input_shape, (list, tuple)) or not input_shape or not isinstance(input_shape[0], (list, tuple)):
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) should be called on a list of at least "
            f"{minimum} inputs, got input shape {input_shape}."
        )
    if len(input_shape) < minimum:
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) needs at least {minimum} inputs, got {len(input_shape)}."
        )


class Merge(Layer):
    """Base of the elementwise merges; masks of the inputs are OR-ed."""

    _min_inputs = 1

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def build(self, input_shape):
        _check_list(self, input_shape, self._min_inputs)
        batch_sizes = {s[0] for s in input_shape if s} - {None}
        if len(batch_sizes) > 1:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) cannot merge tensors with different batch "
                f"sizes; got shapes {list(input_shape)}."
            )
        self.compute_output_shape(input_shape)
        self._reshape_required = len({len(s) for s in input_shape}) != 1
        self.built = True

    def _merge(self, inputs):
        raise NotImplementedError

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) should be called on a list of tensors, "
                f"got a single tensor of shape {getattr(inputs, 'shape', None)}."
            )
        if self._reshape_required:
            max_ndim = max(x.ndim for x in inputs)
            inputs = [x.reshape(x.shape[:1] + (1,) * (max_ndim - x.ndim) + x.shape[1:]) for x in inputs]
        return self._merge(list(inputs))

    def compute_output_shape(self, input_shape):
        out = input_shape[0][1:]
        for shape in input_shape[1:]:
            out = _broadcast_shape(self, out, shape[1:])
        batch = {s[0] for s in input_shape} - {None}
        return ((batch.pop() if len(batch) == 1 else None),) + tuple(out)

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)) or len(mask) != len(inputs):
            raise ValueError(f"Layer '{self.name}': `mask` should be a list as long as the inputs, got {mask!r}.")
        if any(m is None for m in mask):
            return None
        out = mask[0]
        for m in mask[1:]:
            out = jnp.logical_or(out, m)
        return out


class Add(Merge):
    """Elementwise sum of a list of inputs."""

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out


class Subtract(Merge):
    """`inputs[0] - inputs[1]` (exactly two inputs)."""

    _min_inputs = 2

    def build(self, input_shape):
        super().build(input_shape)
        if len(input_shape) != 2:
            raise ValueError(f"Layer '{self.name}' (Subtract) takes exactly 2 inputs, got {len(input_shape)}.")

    def _merge(self, inputs):
        return inputs[0] - inputs[1]


class Multiply(Merge):
    """Elementwise product of a list of inputs."""

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out * x
        return out


class Average(Merge):
    """Elementwise mean of a list of inputs."""

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out / len(inputs)


class Maximum(Merge):
    """Elementwise maximum of a list of inputs."""

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = jnp.maximum(out, x)
        return out


class Minimum(Merge):
    """Elementwise minimum of a list of inputs."""

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = jnp.minimum(out, x)
        return out


class Concatenate(Merge):
    """Concatenate a list of inputs along `axis` (all other dims must match)."""

    def __init__(self, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def build(self, input_shape):
        _check_list(self, input_shape)
        ranks = {len(s) for s in input_shape}
        if len(ranks) != 1:
            raise ValueError(
                f"Layer '{self.name}' (Concatenate) needs inputs of equal rank; got shapes {list(input_shape)}."
            )
        rank = ranks.pop()
        axis = self.axis % rank
        for d in range(rank):
            if d == axis:
                continue
            dims = {s[d] for s in input_shape} - {None}
            if len(dims) > 1:
                raise ValueError(
                    f"Layer '{self.name}' (Concatenate) requires inputs with matching shapes except for the "
                    f"concatenation axis {self.axis}; got shapes {list(map(tuple, input_shape))} "
                    f"(they differ in axis {d})."
                )
        self.built = True

    def call(self, inputs):
        return jnp.concatenate(list(inputs), axis=self.axis)

    def compute_output_shape(self, input_shape):
        out = list(input_shape[0])
        axis = self.axis % len(out)
        for shape in input_shape[1:]:
            if out[axis] is None or shape[axis] is None:
                out[axis] = None
                break
            out[axis] += shape[axis]
        return tuple(out)

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)) or len(mask) != len(inputs):
            raise ValueError(f"Layer '{self.name}': `mask` should be a list as long as the inputs, got {mask!r}.")
        if all(m is None for m in mask):
            return None
        masks = []
        for x, m in zip(inputs, mask):
            if m is None:
                masks.append(jnp.ones(x.shape, dtype=bool))
            elif m.ndim < x.ndim:
                masks.append(jnp.broadcast_to(jnp.expand_dims(m, -1), x.shape))
            else:
                masks.append(m)
        return jnp.any(jnp.concatenate(masks, axis=self.axis), axis=-1)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(Merge):
    """Batched dot product of two inputs along `axes` (optionally L2-normalised: cosine similarity)."""

    def __init__(self, axes, normalize: bool = False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, int):
            if not isinstance(axes, (list, tuple)) or len(axes) != 2 or not all(isinstance(a, int) for a in axes):
                raise TypeError(f"Dot: `axes` must be an int or a list of two ints, got {axes!r}.")
        self.axes = axes
        self.normalize = normalize
        self.supports_masking = True

    def _axes(self, shape1, shape2):
        if isinstance(self.axes, int):
            axes = [self.axes % len(shape1) if self.axes < 0 else self.axes,
                    self.axes % len(shape2) if self.axes < 0 else self.axes]
        else:
            axes = [self.axes[0] % len(shape1) if self.axes[0] < 0 else self.axes[0],
                    self.axes[1] % len(shape2) if self.axes[1] < 0 else self.axes[1]]
        return axes

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2 or not isinstance(input_shape[0], (list, tuple)):
            raise ValueError(f"Layer '{self.name}' (Dot) should be called on a list of 2 inputs, got {input_shape}.")
        s1, s2 = input_shape
        a1, a2 = self._axes(s1, s2)
        if s1[a1] is not None and s2[a2] is not None and s1[a1] != s2[a2]:
            raise ValueError(
                f"Layer '{self.name}' (Dot): dimension {a1} of shape {tuple(s1)} ({s1[a1]}) must equal "
                f"dimension {a2} of shape {tuple(s2)} ({s2[a2]})."
            )
        self.built = True

    def call(self, inputs):
        x1, x2 = inputs
        a1, a2 = self._axes(x1.shape, x2.shape)
        if self.normalize:
            x1 = x1 / jnp.sqrt(jnp.maximum(jnp.sum(jnp.square(x1), axis=a1, keepdims=True), 1e-12))
            x2 = x2 / jnp.sqrt(jnp.maximum(jnp.sum(jnp.square(x2), axis=a2, keepdims=True), 1e-12))
        return _batch_dot(x1, x2, (a1, a2))

    def compute_output_shape(self, input_shape):
        s1, s2 = list(input_shape[0]), list(input_shape[1])
        a1, a2 = self._axes(s1, s2)
        s1.pop(a1)
        s2.pop(a2)
        s2.pop(0)
        out = s1 + s2
        return tuple(out) if len(out) > 1 else tuple(out) + (1,)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _batch_dot(x, y, axes):
    """Keras' batch_dot: contract `axes` per sample; a rank-1 per-sample result becomes (batch, 1)."""
    a1, a2 = axes
    x_dims = list(range(x.ndim))
    y_dims = [0] + [x.ndim + i for i in range(y.ndim - 1)]
    y_dims[a2] = a1
    out_dims = [d for d in x_dims if d != a1] + [d for i, d in enumerate(y_dims) if i not in (0, a2)]
    out = jnp.einsum(x, x_dims, y, y_dims, out_dims)
    if out.ndim == 1:
        out = out[:, None]
    return out

"""MultiHeadAttention (Vaswani et al., 2017), with the weights and numerics of Keras' layer."""

from __future__ import annotations

import functools
import math
import string
from typing import NamedTuple

import jax
import jax.numpy as jnp

from workbench import constraints, initializers, regularizers
from workbench.core import rng
from workbench.core.layer import Layer
from workbench.core.symbolic import KerasTensor
from workbench.layers.attention import _causal_mask, _dropout
from workbench.layers.core import EinsumDense


def _masked_softmax(scores, mask, axes: tuple):
    """Softmax over `axes`; masked-out positions get a large negative logit and then probability 0."""
    if mask is not None:
        mask = mask if mask.dtype == jnp.bool_ else mask > 0.5
        scores = jnp.where(mask, scores, -3e4 if scores.dtype == jnp.float16 else -1e9)
    if len(axes) > 1:
        probs = jnp.exp(scores - jax.scipy.special.logsumexp(scores, axis=axes, keepdims=True))
    else:
        probs = jax.nn.softmax(scores, axis=axes[0])
    if mask is not None:
        # A fully masked row would otherwise be uniform: make it all zeros instead.
        probs = jnp.where(mask, probs, 0.0)
    return probs


def _proj_equation(free_dims: int, bound_dims: int, output_dims: int) -> tuple[str, str, int]:
    """Einsum equation, bias axes and output rank of a projection: free dims pass through,
    bound dims are contracted with the kernel, output dims come from the kernel."""
    letters = string.ascii_lowercase
    free = letters[:free_dims]
    bound = letters[free_dims : free_dims + bound_dims]
    out = letters[free_dims + bound_dims : free_dims + bound_dims + output_dims]
    return f"{free}{bound},{bound}{out}->{free}{out}", out, free_dims + output_dims


def _attention_equations(rank: int, attn_axes: tuple) -> tuple[str, str, int]:
    """Einsum equations for scores = key . query and output = scores . value, for projected tensors
    of shape (batch, <other dims>, <attention dims>, heads, channels), as Keras builds them."""
    letters = string.ascii_lowercase
    target = letters[:rank]
    batch_dims = [i for i in range(rank) if i not in attn_axes and i != rank - 1]
    source, offset = "", rank
    for i in range(rank):
        if i in batch_dims or i == rank - 1:
            source += target[i]
        else:
            source += letters[offset]
            offset += 1
    product = "".join(
        [target[i] for i in batch_dims] + [target[i] for i in attn_axes] + [source[i] for i in attn_axes]
    )
    return f"{source},{target}->{product}", f"{product},{source}->{target}", len(product)


class _AttentionSpec(NamedTuple):
    """The static configuration of one MultiHeadAttention computation (hashable, for jax.jit)."""

    dot_equation: str
    combine_equation: str
    attn_axes: tuple
    norm_axes: tuple
    scale: float
    dropout: float
    sliding_window: int | None
    use_causal_mask: bool
    fused: bool  # Keras' single dot_product_attention call (rank-4 projections, no dropout, no scores)
    kernels: str = "auto"  # workbench.config.kernel_implementation() when traced: a change retraces


def _combine_masks(
    spec: _AttentionSpec, t_len: int, s_len: int, query_mask, value_mask, key_mask, attention_mask
):
    """AND of every mask given, as a boolean (B, T, S) mask (or None), following Keras' rules."""
    auto = None
    for m, axis in ((query_mask, -1), (value_mask, -2), (key_mask, -2)):
        if m is not None:
            m = jnp.expand_dims(m.astype(bool), axis)
            auto = m if auto is None else auto & m
    if spec.use_causal_mask:
        m = _causal_mask(t_len, s_len)
        auto = m if auto is None else auto & m
    if spec.sliding_window is not None:
        m = (jnp.abs(jnp.arange(t_len)[:, None] - jnp.arange(s_len)[None, :]) < spec.sliding_window)[None]
        auto = m if auto is None else auto & m
    if attention_mask is not None:
        attention_mask = attention_mask.astype(bool)
    if auto is not None:
        attention_mask = auto if attention_mask is None else attention_mask & auto
    return attention_mask


def _expand_mask(mask, rank: int, n_attn_axes: int):
    # (B, T, S) masks gain the heads axis (and other batch axes) just before the query attention axes.
    while mask.ndim < rank:
        mask = jnp.expand_dims(mask, -n_attn_axes * 2 - 1)
    return mask


def _fused_attention(query, key, value, mask, scale: float):
    """The arithmetic of `jax.nn.dot_product_attention` (XLA path), which Keras calls for rank-4 inputs.

    Logits and softmax are in float32; a masked logit becomes -0.7 * max float, so a fully masked
    row averages all values (the explicit path zeroes it instead), exactly as in Keras. Written out
    because inside `jit` the library function cannot fall back when the CPU rejects its float16 dot.
    """
    logits_dtype = jnp.promote_types(query.dtype, jnp.float32)
    logits = jnp.einsum("BTNH,BSNH->BNTS", query, key, preferred_element_type=logits_dtype)
    logits = logits * jnp.asarray(scale, logits_dtype)
    if mask is not None:
        big = min(float(jnp.finfo(logits_dtype).max), float(jnp.finfo(jnp.float32).max))
        logits = jnp.where(mask, logits, jnp.asarray(-0.7 * big, logits_dtype))
    probs = jax.nn.softmax(logits.astype(jnp.float32), axis=-1).astype(key.dtype)
    return jnp.einsum("BNTS,BSNH->BTNH", probs, value)


@functools.partial(jax.jit, static_argnames="spec")
def _attend(query, key, value, masks, dropout_key, spec: _AttentionSpec):
    """Attention over projected (B, ..., heads, dim) tensors -> (output, scores or None).

    One compiled function, so an eager call compiles once instead of op by op.
    """
    mask = _combine_masks(spec, query.shape[1], value.shape[1], *masks)
    if spec.fused:
        mask = None if mask is None else _expand_mask(mask, 4, len(spec.attn_axes))
        from workbench.kernels import attention, dispatch

        if dispatch.uses_kernel("attention", query, key, value, None, mask, None, scale=spec.scale):
            # The flash-attention kernel: same arithmetic, except that a fully masked row gives zeros.
            return attention(query, key, value, mask=mask, scale=spec.scale, implementation=spec.kernels), None
        return _fused_attention(query, key, value, mask, spec.scale), None
    query = query * jnp.asarray(spec.scale, query.dtype)
    scores = jnp.einsum(spec.dot_equation, key, query)
    mask = None if mask is None else _expand_mask(mask, scores.ndim, len(spec.attn_axes))
    scores = _masked_softmax(scores, mask, spec.norm_axes)
    weights = scores if dropout_key is None else _dropout(scores, spec.dropout, dropout_key)
    return jnp.einsum(spec.combine_equation, weights, value), scores


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al., 2017), with the weights and numerics of Keras' layer.

    `query` (B, T, dim) attends to `value` (B, S, dim) (and `key`, default `value`).
    Masks combine with AND: `query_mask` (B, T), `value_mask`/`key_mask` (B, S),
    `attention_mask` (B, T, S) and `use_causal_mask=True`. Inside a functional
    model the masks of the inputs (e.g. from `Embedding(mask_zero=True)`) are
    passed in automatically, and the output carries the query's mask. A query
    row with nothing to attend to gives the mean of the values for rank-3 inputs
    without dropout or returned scores, and zeros otherwise, exactly as Keras.
    (Keras ignores an explicit `query_mask=` argument in eager calls; it is used here.)

    >>> mha = MultiHeadAttention(num_heads=2, key_dim=8)
    >>> x = jnp.ones((1, 5, 16))
    >>> y, scores = mha(x, x, return_attention_scores=True)  # (1, 5, 16), (1, 2, 5, 5)
    """

    def __init__(
        self,
        num_heads,
        key_dim,
        value_dim=None,
        dropout=0.0,
        use_bias=True,
        output_shape=None,
        attention_axes=None,
        sliding_window=None,
        flash_attention=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        use_gate=False,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for arg, value in (
            ("num_heads", num_heads),
            ("key_dim", key_dim),
            ("value_dim", value_dim),
            ("sliding_window", sliding_window),
        ):
            if not (value is None and arg in ("value_dim", "sliding_window")) and (
                not isinstance(value, int) or isinstance(value, bool) or value <= 0
            ):
                raise ValueError(
                    f"MultiHeadAttention: `{arg}` must be a positive integer, got {arg}={value!r}."
                )
        if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(
                f"MultiHeadAttention: `dropout` must be a float in [0, 1), got dropout={dropout!r}."
            )
        if flash_attention and dropout > 0:
            raise ValueError("MultiHeadAttention: dropout is not supported with flash_attention=True.")
        if isinstance(output_shape, int):
            output_shape = (output_shape,)
        if output_shape is not None and not (
            isinstance(output_shape, (list, tuple))
            and all(isinstance(d, int) and d > 0 for d in output_shape)
        ):
            raise ValueError(
                f"MultiHeadAttention: `output_shape` must be an int or a tuple of ints, got {output_shape!r}."
            )
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        elif attention_axes is not None and not isinstance(attention_axes, (list, tuple)):
            raise ValueError(
                f"MultiHeadAttention: `attention_axes` must be an int, a list or a tuple, got {attention_axes!r}."
            )
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.value_dim = value_dim or key_dim
        self.dropout = float(dropout)
        self.use_bias = use_bias
        self.use_gate = use_gate
        self._output_shape = tuple(output_shape) if output_shape else None
        self.attention_axes = None if attention_axes is None else tuple(attention_axes)
        self.sliding_window = sliding_window
        self.flash_attention = flash_attention
        self.seed = seed
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        # As in Keras, the activity regulariser applies to each projection's output.
        self.projection_activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self._inverse_sqrt_key_dim = 1.0 / math.sqrt(float(key_dim))
        self.supports_masking = True

    def _projection(self, equation, bias_axes, output_rank, last_dims, name, activation=None):
        return EinsumDense(
            equation,
            output_shape=[None] * (output_rank - 1 - len(last_dims)) + list(last_dims),
            bias_axes=bias_axes if self.use_bias else None,
            activation=activation,
            name=name,
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            kernel_regularizer=self.kernel_regularizer,
            bias_regularizer=self.bias_regularizer,
            activity_regularizer=self.projection_activity_regularizer,
            kernel_constraint=self.kernel_constraint,
            bias_constraint=self.bias_constraint,
            dtype=self.dtype_policy,
        )

    def _check_value_key(self, value_shape, key_shape):
        if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ValueError(
                f"Layer '{self.name}' (MultiHeadAttention): `value` and `key` must agree in every dimension "
                f"but the last, got value shape {tuple(value_shape)} and key shape {tuple(key_shape)}."
            )

    def build(self, query_shape, value_shape, key_shape=None):
        key_shape = value_shape if key_shape is None else key_shape
        for arg, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(shape) < 3 or shape[-1] is None:
                raise ValueError(
                    f"Layer '{self.name}' (MultiHeadAttention) expects `{arg}` of rank >= 3 (batch, ..., "
                    f"features) with a known last dimension, got shape {tuple(shape)}."
                )
        self._check_value_key(value_shape, key_shape)
        rank = len(query_shape)
        heads_key, heads_value = [self.num_heads, self.key_dim], [self.num_heads, self.value_dim]
        self.query_dense = self._projection(*_proj_equation(rank - 1, 1, 2), heads_key, "query")
        self.query_dense.build(tuple(query_shape))
        self.key_dense = self._projection(*_proj_equation(len(key_shape) - 1, 1, 2), heads_key, "key")
        self.key_dense.build(tuple(key_shape))
        if self.use_gate:
            self.gate_dense = self._projection(
                *_proj_equation(rank - 1, 1, 2), heads_value, "gate", "sigmoid"
            )
            self.gate_dense.build(tuple(query_shape))
        self.value_dense = self._projection(*_proj_equation(len(value_shape) - 1, 1, 2), heads_value, "value")
        self.value_dense.build(tuple(value_shape))

        axes = (
            tuple(range(1, rank - 1))
            if self.attention_axes is None
            else tuple(a if a >= 0 else rank + a for a in self.attention_axes)
        )
        if not axes or any(not 1 <= a <= rank - 2 for a in axes):
            raise ValueError(
                f"Layer '{self.name}' (MultiHeadAttention): attention_axes={self.attention_axes} must name "
                f"axes between the batch and the feature axis of the query, shape {tuple(query_shape)}."
            )
        self._attn_axes = axes
        self._dot_equation, self._combine_equation, scores_rank = _attention_equations(rank + 1, axes)
        self._norm_axes = tuple(range(scores_rank - len(axes), scores_rank))

        out_dims = list(self._output_shape) if self._output_shape else [query_shape[-1]]
        self.output_dense = self._projection(
            *_proj_equation(rank - 1, 2, len(out_dims)), out_dims, "attention_output"
        )
        self.output_dense.build(tuple(query_shape[:-1]) + (self.num_heads, self.value_dim))
        self.built = True

    def call(
        self,
        query,
        value,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        return_attention_scores=False,
        training=None,
        use_causal_mask=False,
    ):
        key = value if key is None else key
        masks = tuple(
            None if m is None else jnp.asarray(m) for m in (query_mask, value_mask, key_mask, attention_mask)
        )
        gate = self.gate_dense(query) if self.use_gate else None
        q, k, v = self.query_dense(query), self.key_dense(key), self.value_dense(value)
        from workbench.kernels import dispatch

        spec = _AttentionSpec(
            self._dot_equation,
            self._combine_equation,
            self._attn_axes,
            self._norm_axes,
            self._inverse_sqrt_key_dim,
            self.dropout,
            self.sliding_window,
            bool(use_causal_mask),
            # Keras' choice of path, which decides what a fully masked row gives. (Keras also
            # fuses when value_dim != key_dim, and then fails: its kernel needs equal dims.)
            fused=not (
                self.dropout > 0 or return_attention_scores or q.ndim != 4 or self.key_dim != self.value_dim
            ),
            kernels=dispatch.default_implementation(),
        )
        dropout_key = rng.next_key() if training and self.dropout > 0 else None
        output, scores = _attend(q, k, v, masks, dropout_key, spec)
        output = self.output_dense(output if gate is None else output * gate)
        return (output, scores) if return_attention_scores else output

    def compute_output_shape(self, query_shape, value_shape, key_shape=None):
        key_shape = value_shape if key_shape is None else key_shape
        self._check_value_key(value_shape, key_shape)
        if self._output_shape:
            return tuple(query_shape[:-1]) + self._output_shape
        return tuple(query_shape)

    def compute_output_spec(
        self,
        query,
        value,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        return_attention_scores=False,
        training=None,
        use_causal_mask=False,
    ):
        # Shapes follow from the arguments alone, so nothing is traced (and the flags stay Python bools).
        out = KerasTensor(
            self.compute_output_shape(query.shape, value.shape, None if key is None else key.shape),
            self.compute_dtype,
        )
        if not return_attention_scores:
            return out
        projected = tuple(query.shape[:-1]) + (self.num_heads,)
        batch = tuple(d for i, d in enumerate(projected) if i not in self._attn_axes)
        scores = (
            batch
            + tuple(query.shape[a] for a in self._attn_axes)
            + tuple(value.shape[a] for a in self._attn_axes)
        )
        return out, KerasTensor(scores, self.compute_dtype)

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "use_gate": self.use_gate,
            "output_shape": None if self._output_shape is None else list(self._output_shape),
            "attention_axes": None if self.attention_axes is None else list(self.attention_axes),
            "sliding_window": self.sliding_window,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.projection_activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "seed": self.seed,
        }

"""Dot-product Attention (Luong style), and the pieces MultiHeadAttention shares with it."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from workbench.core import rng
from workbench.core.layer import Layer
from workbench.core.symbolic import KerasTensor


def _dropout(x, rate: float, key):
    keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), jnp.zeros_like(x))


def _causal_mask(q_len: int, v_len: int):
    """(1, T, S) boolean lower-triangular mask: position t may attend to positions s <= t."""
    return (jnp.arange(q_len)[:, None] >= jnp.arange(v_len)[None, :])[None]


@functools.partial(jax.jit, static_argnames=("score_mode", "use_causal_mask", "rate"))
def _luong_attention(
    query, value, key, q_mask, v_mask, scale, concat_weight, dropout_key, *, score_mode, use_causal_mask, rate
):
    """Attention's computation as one compiled function -> (output, attention probabilities)."""
    if score_mode == "dot":
        scores = jnp.matmul(query, jnp.swapaxes(key, -2, -1))
        if scale is not None:
            scores = scores * scale
    else:
        summed = jnp.expand_dims(query, -2) + jnp.expand_dims(key, -3)
        if scale is not None:
            summed = scale * summed
        scores = concat_weight * jnp.sum(jnp.tanh(summed), axis=-1)
    scores_mask = None if v_mask is None else jnp.expand_dims(v_mask.astype(bool), -2)
    if use_causal_mask:
        causal = _causal_mask(scores.shape[-2], scores.shape[-1])
        scores_mask = causal if scores_mask is None else scores_mask & causal
    if scores_mask is not None:
        # Subtract (not replace) a large number, as Keras does; 65504 is float16's maximum.
        scores = jnp.where(scores_mask, scores, scores - (65504.0 if scores.dtype == jnp.float16 else 1.0e9))
    weights = jax.nn.softmax(scores, axis=-1)
    dropped = weights if dropout_key is None else _dropout(weights, rate, dropout_key)
    output = jnp.matmul(dropped, value)
    if q_mask is not None:
        output = jnp.where(jnp.expand_dims(q_mask.astype(bool), -1), output, 0)
    return output, weights


def _kernel_attention(query, value, key, q_mask, v_mask, scale, causal: bool):
    """The dot-score path through `workbench.kernels.attention` (one head), or None where the layer's own
    arithmetic runs: the kernels are off (the default on CPU) or cannot take these shapes.

    A query row with nothing to attend to gets zeros here, not Keras' average of the values.
    """
    from workbench.kernels import attention, dispatch

    if query.ndim != 3 or value.shape[-1] != query.shape[-1] or key.shape[-1] != query.shape[-1]:
        return None
    q, k, v = (jnp.expand_dims(jnp.asarray(t), 2) for t in (query, key, value))  # (B, T, 1 head, dim)
    if scale is not None:
        q = q * scale.astype(q.dtype)  # (q . k) * scale, with the scale folded into q
    mask = None if v_mask is None else jnp.asarray(v_mask).astype(bool)[:, None, None, :]
    if not dispatch.uses_kernel("attention", q, k, v, None, mask, None, causal=causal, scale=1.0):
        return None
    out = attention(q, k, v, mask=mask, causal=causal, scale=1.0,
                    implementation=dispatch.default_implementation())[:, :, 0, :]
    if q_mask is not None:
        out = jnp.where(jnp.expand_dims(jnp.asarray(q_mask).astype(bool), -1), out, 0)
    return out


class Attention(Layer):
    """Dot-product attention (Luong style): `softmax(query @ key^T) @ value`.

    Called on `[query, value]` or `[query, value, key]` with shapes (B, Tq, dim),
    (B, Tv, dim), (B, Tv, dim); `mask=[query_mask, value_mask]`. With
    `score_mode="concat"` the scores are `sum(tanh(query + key))`. `use_scale=True`
    adds a trainable scalar that multiplies the scores.

    >>> q, v = jnp.ones((2, 3, 4)), jnp.ones((2, 5, 4))
    >>> out = Attention()([q, v])  # (2, 3, 4)
    """

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(
                f"Attention: `score_mode` must be 'dot' or 'concat', got score_mode={score_mode!r}."
            )
        if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"Attention: `dropout` must be a float in [0, 1), got dropout={dropout!r}.")
        self.use_scale = use_scale
        self.score_mode = score_mode
        self.dropout = float(dropout)
        self.seed = seed

    def _validate(self, inputs, mask=None):
        # A tuple of ints is the shape of a single input, not a list of inputs.
        single = not isinstance(inputs, (list, tuple)) or any(isinstance(x, int) for x in inputs)
        if single or not 2 <= len(inputs) <= 3:
            got = "a single input" if single else f"a list of {len(inputs)}"
            raise ValueError(
                f"Layer '{self.name}' (Attention) must be called on a list [query, value] or "
                f"[query, value, key], got {got}."
            )
        if mask is not None and (not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= 3):
            raise ValueError(
                f"Layer '{self.name}' (Attention): `mask` must be a list [query_mask, value_mask]."
            )

    def build(self, input_shape):
        self._validate(input_shape)
        for shape in input_shape:
            if len(shape) < 3:
                raise ValueError(
                    f"Layer '{self.name}' (Attention) expects inputs of rank >= 3 (batch, steps, dim), got "
                    f"shapes {[tuple(s) for s in input_shape]}."
                )
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(shape=(), initializer="ones", name="scale")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(
                shape=(), initializer="ones", name="concat_score_weight"
            )
        self.built = True

    def call(self, inputs, mask=None, training=False, return_attention_scores=False, use_causal_mask=False):
        self._validate(inputs, mask)
        key = inputs[2] if len(inputs) > 2 else inputs[1]
        q_mask, v_mask = (None, None) if not mask else (mask[0], mask[1])
        weights = [None if w is None else w.value for w in (self.scale, self.concat_score_weight)]
        dropout_key = rng.next_key() if training and self.dropout > 0 else None
        if self.score_mode == "dot" and dropout_key is None and not return_attention_scores:
            output = _kernel_attention(inputs[0], inputs[1], key, q_mask, v_mask, weights[0], bool(use_causal_mask))
            if output is not None:
                return output
        output, scores = _luong_attention(
            inputs[0],
            inputs[1],
            key,
            None if q_mask is None else jnp.asarray(q_mask),
            None if v_mask is None else jnp.asarray(v_mask),
            *weights,
            dropout_key,
            score_mode=self.score_mode,
            use_causal_mask=bool(use_causal_mask),
            rate=self.dropout,
        )
        return (output, scores) if return_attention_scores else output

    def compute_output_spec(
        self, inputs, mask=None, training=None, return_attention_scores=False, use_causal_mask=False
    ):
        self._validate(inputs, mask)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        out = KerasTensor(
            self.compute_output_shape([query.shape, value.shape, key.shape]), self.compute_dtype
        )
        if not return_attention_scores:
            return out
        return out, KerasTensor((*query.shape[:-1], key.shape[-2]), self.compute_dtype)

    def compute_mask(self, inputs, mask=None):
        if mask is None or mask[0] is None:
            return None
        return mask[0]

    def compute_output_shape(self, input_shape):
        return (*input_shape[0][:-1], input_shape[1][-1])

    def get_config(self):
        return {
            **super().get_config(),
            "use_scale": self.use_scale,
            "score_mode": self.score_mode,
            "dropout": self.dropout,
            "seed": self.seed,
        }

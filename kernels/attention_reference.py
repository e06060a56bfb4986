"""Attention in plain jax.numpy: the oracle every other implementation is tested against.

The softmax runs in float32 whatever the input dtype, and the output comes
back in the input dtype. Masking follows `jax.nn.dot_product_attention`
(`causal` lets query i see keys j <= i, aligned at the top left when
q_len != kv_len), with one difference: a query row that may attend to
nothing gets zeros, and zero gradients, instead of an average of `v`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

SegmentIds = jax.Array | tuple[jax.Array, jax.Array]


def segment_pair(segment_ids: SegmentIds | None) -> tuple[jax.Array, jax.Array] | None:
    """(q_segment_ids, kv_segment_ids) from one array (self-attention) or a pair."""
    if segment_ids is None:
        return None
    if isinstance(segment_ids, (tuple, list)):
        q_ids, kv_ids = segment_ids
        return q_ids, kv_ids
    return segment_ids, segment_ids


def allowed(
    q_len: int,
    kv_len: int,
    mask: jax.Array | None = None,
    causal: bool = False,
    segment_ids: SegmentIds | None = None,
) -> jax.Array | None:
    """Where a query may attend to a key, broadcastable to [batch, heads, q_len, kv_len]; None for everywhere."""
    out = None

    def both(a, b):
        return b if a is None else jnp.logical_and(a, b)

    if mask is not None:
        out = both(out, mask.astype(bool))
    if causal:
        out = both(out, jnp.tril(jnp.ones((q_len, kv_len), dtype=bool))[None, None])
    pair = segment_pair(segment_ids)
    if pair is not None:
        q_ids, kv_ids = pair
        out = both(out, (q_ids[:, None, :, None] == kv_ids[:, None, None, :]))
    return out


def _grouped(x: jax.Array, shape: tuple[int, ...], kv_heads: int) -> jax.Array:
    """[batch, heads, q_len, kv_len]-broadcastable -> [batch, kv_heads, group, q_len, kv_len]."""
    b, n, t, s = shape
    return jnp.broadcast_to(x, shape).reshape(b, kv_heads, n // kv_heads, t, s)


def attention_reference(
    q: jax.Array,
    k: jax.Array,
    v: jax.Array,
    bias: jax.Array | None = None,
    mask: jax.Array | None = None,
    segment_ids: SegmentIds | None = None,
    *,
    causal: bool = False,
    scale: float | None = None,
) -> jax.Array:
    """softmax(scale * q k^T + bias, masked) v, with q [batch, q_len, heads, head_dim] and k, v [batch, kv_len, kv_heads, head_dim].

    >>> q = jnp.ones((1, 4, 2, 8)); kv = jnp.ones((1, 4, 1, 8))
    >>> attention_reference(q, kv, kv, causal=True).shape
    (1, 4, 2, 8)
    """
    b, t, n, d = q.shape
    s, kv_heads = k.shape[1], k.shape[2]
    group = n // kv_heads
    scale = d**-0.5 if scale is None else scale
    full = (b, n, t, s)

    qg = q.reshape(b, t, kv_heads, group, d)
    logits = (
        jnp.einsum(
            "btkgd,bskd->bkgts",
            qg,
            k,
            preferred_element_type=jnp.float32,
            precision=jax.lax.Precision.HIGHEST,
        )
        * scale
    )
    if bias is not None:
        logits = logits + _grouped(bias.astype(jnp.float32), full, kv_heads)
    ok = allowed(t, s, mask, causal, segment_ids)
    if ok is not None:
        logits = jnp.where(_grouped(ok, full, kv_heads), logits, -jnp.inf)

    # A row with nothing to attend to has max -inf; shifting it by 0 keeps exp() at 0, not NaN.
    m = jax.lax.stop_gradient(jnp.max(logits, axis=-1, keepdims=True))
    p = jnp.exp(logits - jnp.where(jnp.isfinite(m), m, 0.0))
    total = jnp.sum(p, axis=-1, keepdims=True)
    weights = p / jnp.where(total == 0.0, 1.0, total)
    out = jnp.einsum("bkgts,bskd->btkgd", weights, v.astype(jnp.float32), precision=jax.lax.Precision.HIGHEST)
    return out.reshape(b, t, n, d).astype(q.dtype)

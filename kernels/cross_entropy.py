"""Fused linear + softmax cross-entropy: per-token losses of `h @ w + b` without the full logits.

A language model's last layer turns `[tokens, hidden]` activations into
`[tokens, vocab]` logits; with a large vocabulary those logits (and their
gradient) are the biggest arrays of a training step. This op computes
`optax.softmax_cross_entropy_with_integer_labels(h @ w + b, labels)` one
vocabulary chunk at a time:

- forward: an online logsumexp (running maximum and running sum of
  exponentials) over the chunks, plus the label's logit; only the per-token
  `lse` is saved for the backward pass;
- backward: each chunk's logits are recomputed, turned into
  `dlogits = (softmax - one_hot) * g`, and folded into dh, dw and db with two
  matmuls before the next chunk starts.

Implementations (`implementation=`): "xla" with `chunk=None` is the plain
unfused formula, the oracle; "xla" with `chunk=n` is the chunked loop above
in plain XLA (any platform); "pallas" runs the forward as one Pallas kernel
over the whole vocabulary and computes each chunk's dlogits with a Pallas
kernel (GPU and TPU; `cross_entropy_pallas.py`).

Logits and losses are float32 whatever the input dtype. Labels behave as in
optax: a label in `[-vocab, 0)` counts from the end of the vocabulary (as
numpy indexing does), and any other label outside `[0, vocab)` gives a NaN
loss, while its gradient is `softmax(logits) * g` (no one-hot term). Mask such
tokens out of the mean rather than relying on that.

>>> h, w = jnp.ones((4, 8)), jnp.ones((8, 100))
>>> losses = linear_softmax_cross_entropy(h, w, jnp.array([0, 1, 2, 3]), chunk=32)
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import optax
from jax import lax

from . import cross_entropy_pallas as kernels
from . import dispatch

__all__ = ["fused", "linear_softmax_cross_entropy", "linear_softmax_cross_entropy_reference"]

OP = "linear_softmax_cross_entropy"
_CHUNK_ELEMENTS = 1 << 24  # default chunk: at most this many [tokens, chunk] logits at a time


def linear_softmax_cross_entropy(
    h, w, labels, *, b=None, chunk: int | None = None, implementation: str = "auto"
) -> jax.Array:
    """Per-token `softmax_cross_entropy_with_integer_labels(h @ w + b, labels)`, float32 `[tokens]`.

    `h` is `[tokens, hidden]`, `w` is `[hidden, vocab]`, integer `labels` are
    `[tokens]`, the optional `b` is `[vocab]`. Differentiable in h, w and b.
    `chunk` is how many vocabulary columns are processed at a time ("xla":
    None means the unfused reference; "pallas": the backward's chunk, None
    picks one so that about 16M logits exist at once).

    >>> h, w = jnp.ones((2, 4)), jnp.zeros((4, 10))
    >>> linear_softmax_cross_entropy(h, w, jnp.array([3, 7]))  # log(10) each
    Array([2.3025851, 2.3025851], dtype=float32)
    """
    _check(h, w, labels, b, chunk)
    return dispatch.call(OP, implementation, h, w, labels, b, chunk=chunk)


def linear_softmax_cross_entropy_reference(h, w, labels, b=None) -> jax.Array:
    """The unfused formula: materialises the float32 `[tokens, vocab]` logits."""
    logits = jnp.dot(h, w, preferred_element_type=jnp.float32)
    if b is not None:
        logits = logits + b.astype(jnp.float32)
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels)


def _check(h, w, labels, b, chunk) -> None:
    shapes = (
        f"h {tuple(getattr(h, 'shape', ()))}, w {tuple(getattr(w, 'shape', ()))}, "
        f"labels {tuple(getattr(labels, 'shape', ()))}" + (f", b {tuple(b.shape)}" if b is not None else "")
    )
    fail = lambda what: ValueError(f"linear_softmax_cross_entropy: {what} (got {shapes}).")
    if h.ndim != 2:
        raise fail("`h` must be [tokens, hidden]; flatten batch and sequence axes first")
    if w.ndim != 2 or w.shape[0] != h.shape[1]:
        raise fail(f"`w` must be [hidden, vocab] with hidden = {h.shape[1]} (h's last axis)")
    if labels.ndim != 1 or labels.shape[0] != h.shape[0]:
        raise fail(f"`labels` must be [tokens] with tokens = {h.shape[0]} (h's first axis)")
    if not jnp.issubdtype(labels.dtype, jnp.integer):
        raise fail(f"`labels` must be integer class indices, got dtype {labels.dtype}")
    if b is not None and tuple(b.shape) != (w.shape[1],):
        raise fail(f"`b` must be [vocab] with vocab = {w.shape[1]} (w's last axis)")
    if chunk is not None and (not isinstance(chunk, int) or isinstance(chunk, bool) or chunk < 1):
        raise ValueError(
            f"linear_softmax_cross_entropy: `chunk` must be a positive int or None, got {chunk!r}."
        )


def default_chunk(tokens: int, vocab: int) -> int:
    """A power of two (at least 128) so that `tokens * chunk` is about `_CHUNK_ELEMENTS`, at most `vocab`."""
    chunk = 1 << max(7, (_CHUNK_ELEMENTS // max(tokens, 1)).bit_length() - 1)
    return min(chunk, vocab)


def _xla(h, w, labels, b=None, *, chunk: int | None = None):
    if chunk is None:
        return linear_softmax_cross_entropy_reference(h, w, labels, b)
    return fused(h, w, labels, b, chunk=chunk)


def _pallas(h, w, labels, b=None, *, chunk: int | None = None, interpret: bool = False,
            blocks: dict | None = None, splits: int | None = None):
    variant = "tpu" if dispatch.platform() == "tpu" else "gpu"
    blocks = kernels.Blocks(**blocks) if isinstance(blocks, dict) else blocks
    config = kernels.KernelConfig(variant=variant, interpret=interpret, blocks=blocks, splits=splits)
    return fused(h, w, labels, b, chunk=chunk or default_chunk(h.shape[0], w.shape[1]), config=config)


# (tokens, vocab, hidden) blocks autotuning times besides the defaults. Triton's are powers of two >= 16
# (kept small enough for registers); Mosaic's are multiples of (8, 128).
_TUNINGS = {
    "gpu": [(64, 128, 32), (128, 128, 64), (64, 256, 32), (32, 128, 64), (128, 64, 64)],
    "tpu": [(128, 1024, 512), (512, 512, 256), (256, 1024, 256), (512, 1024, 512)],
}


def _tunings(h, w, labels, b=None, **_) -> list[dict]:
    (tokens, hidden), vocab = h.shape, w.shape[1]
    variant = "tpu" if dispatch.platform() == "tpu" else "gpu"
    if variant == "tpu":  # a block as long as its whole axis is always allowed
        fit = min
    else:  # powers of two >= 16, no longer than the axis rounded up to one
        fit = lambda size, n: min(size, max(16, 1 << (n - 1).bit_length()))
    out = []
    for t, v, d in _TUNINGS[variant]:
        tuning = {"blocks": {"tokens": fit(t, tokens), "vocab": fit(v, vocab), "hidden": fit(d, hidden)}}
        if tuning not in out:
            out.append(tuning)
    return out


# ---------------------------------------------------------------------------------- the chunked op


def fused(h, w, labels, b=None, *, chunk: int, config: kernels.KernelConfig | None = None) -> jax.Array:
    """The chunked computation: XLA chunks when `config` is None, else the Pallas kernels it describes.

    Inputs are as for `linear_softmax_cross_entropy`, without its checks.
    """
    vocab = w.shape[1]
    labels = labels.astype(jnp.int32)
    labels = jnp.where(labels < 0, labels + vocab, labels)  # optax indexes as numpy does
    labels = jnp.where((labels >= 0) & (labels < vocab), labels, -1)  # -1: no column, a NaN loss
    return _losses(h, w, b, labels, min(chunk, vocab), config)


@functools.partial(jax.custom_vjp, nondiff_argnums=(4, 5))
def _losses(h, w, b, labels, chunk, config):
    return _losses_fwd(h, w, b, labels, chunk, config)[0]


def _losses_fwd(h, w, b, labels, chunk, config):
    if config is not None:
        lse, label_logit = kernels.forward(h, w, b, labels, config)
    else:
        lse, label_logit = _xla_forward(h, w, b, labels, chunk)
    losses = lse - jnp.where(labels >= 0, label_logit, jnp.nan)
    return losses, (h, w, b, labels, lse)


def _losses_bwd(chunk, config, residuals, g):
    h, w, b, labels, lse = residuals
    dlogits = _xla_dlogits if config is None else functools.partial(kernels.dlogits, config=config)
    dh, dw, db = _backward_over_chunks(h, w, b, labels, lse, g, chunk, dlogits)
    return dh, dw, db, None


_losses.defvjp(_losses_fwd, _losses_bwd)


def _chunks(vocab: int, chunk: int):
    """(number of full chunks, offset of the remainder, remainder size)."""
    full, rest = divmod(vocab, chunk)
    return full, full * chunk, rest


def _xla_forward(h, w, b, labels, chunk):
    def stats(w_c, b_c, offset):
        logits = jnp.dot(h, w_c, preferred_element_type=jnp.float32)
        if b_c is not None:
            logits = logits + b_c.astype(jnp.float32)
        m = jnp.max(logits, axis=1)
        s = jnp.sum(jnp.exp(logits - m[:, None]), axis=1)
        cols = offset + lax.broadcasted_iota(jnp.int32, logits.shape, 1)
        return m, s, jnp.sum(jnp.where(cols == labels[:, None], logits, 0.0), axis=1)

    def merge(carry, new):
        (m, s, ll), (m_c, s_c, ll_c) = carry, new
        top = jnp.maximum(m, m_c)
        return top, s * jnp.exp(m - top) + s_c * jnp.exp(m_c - top), ll + ll_c

    def one_chunk(c, carry):
        offset = c * chunk
        b_c = None if b is None else lax.dynamic_slice_in_dim(b, offset, chunk)
        return merge(carry, stats(lax.dynamic_slice_in_dim(w, offset, chunk, axis=1), b_c, offset))

    tokens = h.shape[0]
    full, rest_offset, rest = _chunks(w.shape[1], chunk)
    carry = (
        jnp.full((tokens,), -jnp.inf, jnp.float32),
        jnp.zeros((tokens,), jnp.float32),
        jnp.zeros((tokens,), jnp.float32),
    )
    carry = lax.fori_loop(0, full, one_chunk, carry)
    if rest:
        b_rest = None if b is None else b[rest_offset:]
        carry = merge(carry, stats(w[:, rest_offset:], b_rest, rest_offset))
    m, s, label_logit = carry
    return m + jnp.log(s), label_logit


def _xla_dlogits(h, w, b, labels, lse, g):
    logits = jnp.dot(h, w, preferred_element_type=jnp.float32)
    if b is not None:
        logits = logits + b.astype(jnp.float32)
    one_hot = lax.broadcasted_iota(jnp.int32, logits.shape, 1) == labels[:, None]
    d = (jnp.exp(logits - lse[:, None]) - one_hot) * g[:, None]
    return d.astype(jnp.result_type(h.dtype, w.dtype))


def _backward_over_chunks(h, w, b, labels, lse, g, chunk, dlogits):
    """dh, dw, db of `sum(g * losses)`, one vocabulary chunk of `dlogits` at a time."""

    def contributions(w_c, b_c, offset):
        d = dlogits(h, w_c, b_c, labels - offset, lse, g)
        dh = jnp.dot(d, w_c.T, preferred_element_type=jnp.float32)
        dw = jnp.dot(h.T, d, preferred_element_type=jnp.float32).astype(w.dtype)
        return dh, dw, jnp.sum(d, axis=0, dtype=jnp.float32)

    def one_chunk(c, carry):
        dh, dw, db = carry
        offset = c * chunk
        b_c = None if b is None else lax.dynamic_slice_in_dim(b, offset, chunk)
        dh_c, dw_c, db_c = contributions(lax.dynamic_slice_in_dim(w, offset, chunk, axis=1), b_c, offset)
        dw = lax.dynamic_update_slice_in_dim(dw, dw_c, offset, axis=1)
        if db is not None:
            db = lax.dynamic_update_slice_in_dim(db, db_c, offset, axis=0)
        return dh + dh_c, dw, db

    full, rest_offset, rest = _chunks(w.shape[1], chunk)
    carry = (
        jnp.zeros(h.shape, jnp.float32),
        jnp.zeros_like(w),
        None if b is None else jnp.zeros(b.shape, jnp.float32),
    )
    dh, dw, db = lax.fori_loop(0, full, one_chunk, carry)
    if rest:
        b_rest = None if b is None else b[rest_offset:]
        dh_c, dw_c, db_c = contributions(w[:, rest_offset:], b_rest, rest_offset)
        dh, dw = dh + dh_c, dw.at[:, rest_offset:].set(dw_c)
        if db is not None:
            db = db.at[rest_offset:].set(db_c)
    return dh.astype(h.dtype), dw, None if b is None else db.astype(b.dtype)


dispatch.register(OP, "xla", _xla)
dispatch.register(OP, "pallas", _pallas, platforms=("cuda", "tpu"), supports=kernels.supports, tunings=_tunings)

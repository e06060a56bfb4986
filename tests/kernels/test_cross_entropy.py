"""linear_softmax_cross_entropy: chunked XLA and Pallas (GPU and TPU variants, interpret mode) against optax.

Tolerances against the unfused reference: float32 losses and gradients to
1e-5 (atol and rtol; only the summation order differs); bfloat16 inputs to
2e-2, because the chunked backward rounds each chunk's dlogits to bfloat16
before its two matmuls, as a bfloat16 training step does.
"""

import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from workbench.kernels import cross_entropy as ce
from workbench.kernels import cross_entropy_pallas as cp
from workbench.kernels import dispatch

from tests.kernels.lowering import without_the_device

TOL = {jnp.float32: dict(atol=1e-5, rtol=1e-5), jnp.bfloat16: dict(atol=2e-2, rtol=2e-2)}


def _inputs(tokens, hidden, vocab, dtype=jnp.float32, seed=0, edge_labels=True):
    rng = np.random.default_rng(seed)
    h = jnp.asarray(rng.normal(size=(tokens, hidden)), dtype)
    w = jnp.asarray(rng.normal(size=(hidden, vocab)) * 3 / np.sqrt(hidden), dtype)
    b = jnp.asarray(rng.normal(size=vocab), jnp.float32)
    labels = rng.integers(0, vocab, size=tokens)
    if edge_labels and tokens >= 6:  # the first and last class, counted from the end, and out of range
        labels[:6] = [0, vocab - 1, -1, -vocab, vocab, -vocab - 1]
    g = jnp.asarray(rng.normal(size=tokens), jnp.float32)
    return h, w, b, jnp.asarray(labels, jnp.int32), g


def _run(fn, h, w, b, g, fast_compile=True):
    """Losses and the vjp of `g`: (dh, dw, db).

    Kernels in interpret mode are compiled once and run once on tiny arrays, so
    they are compiled without LLVM's optimisations, which take most of the time.
    """

    def run(h, w, b):
        losses, vjp = jax.vjp(fn, h, w, b)
        return losses, vjp(g)

    lowered = jax.jit(run).lower(h, w, b)
    compiled = lowered.compile({"xla_backend_optimization_level": 0} if fast_compile else None)
    return compiled(h, w, b)


def _compare(fn, h, w, b, labels, g):
    dtype = h.dtype.type
    losses, grads = _run(fn, h, w, b, g)
    ref = lambda h, w, b: ce.linear_softmax_cross_entropy_reference(h, w, labels, b)
    ref_losses, ref_grads = _run(ref, h, w, b, g, fast_compile=False)
    assert losses.dtype == jnp.float32 and losses.shape == labels.shape
    np.testing.assert_array_equal(np.isnan(losses), np.isnan(ref_losses))
    np.testing.assert_allclose(losses, ref_losses, **TOL[dtype])
    for got, want, primal in zip(grads, ref_grads, (h, w, b)):
        if primal is None:
            continue
        assert got.dtype == primal.dtype and got.shape == primal.shape
        np.testing.assert_allclose(np.asarray(got, np.float32), np.asarray(want, np.float32), **TOL[dtype])


# ---------------------------------------------------------------------------------- the reference


def test_reference_is_optax_on_the_logits():
    h, w, b, labels, _ = _inputs(8, 16, 50)
    logits = h @ w + b
    np.testing.assert_allclose(
        ce.linear_softmax_cross_entropy_reference(h, w, labels, b),
        optax.softmax_cross_entropy_with_integer_labels(logits, labels),
        rtol=1e-6,
    )


def test_labels_outside_the_vocabulary_behave_as_in_optax():
    """Labels in [-vocab, 0) count from the end; others give NaN and a gradient without the one-hot term.

    The Pallas kernels get the same edge labels in `test_pallas_matches_reference`.
    """
    h, w, _, _, _ = _inputs(4, 8, 10, edge_labels=False)
    labels = jnp.array([9, -1, 10, -11])
    last_class = optax.softmax_cross_entropy_with_integer_labels(h @ w, jnp.full(4, 9))
    for chunk in (None, 4):

        def losses_and_grad(h, chunk=chunk):
            fn = lambda h: ce.linear_softmax_cross_entropy(h, w, labels, chunk=chunk, implementation="xla")
            return fn(h), jax.grad(lambda h: fn(h)[2])(h)

        losses, dh = jax.jit(losses_and_grad)(h)
        np.testing.assert_allclose(losses[:2], last_class[:2], rtol=1e-6)
        assert np.isnan(losses[2:]).all()
        np.testing.assert_allclose(dh[2], jax.nn.softmax(h[2] @ w) @ w.T, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------- chunked XLA path


@pytest.mark.parametrize(
    "tokens, hidden, vocab, chunk, dtype, bias",
    [
        pytest.param(37, 24, 300, 64, jnp.float32, True, id="f32-chunks-and-remainder"),
        pytest.param(16, 32, 256, 128, jnp.bfloat16, False, id="bf16-whole-chunks"),
        pytest.param(10, 8, 50, 1000, jnp.float32, True, id="chunk-larger-than-vocab"),
    ],
)
def test_chunked_xla_matches_reference(tokens, hidden, vocab, chunk, dtype, bias):
    h, w, b, labels, g = _inputs(tokens, hidden, vocab, dtype)
    b = b if bias else None
    _compare(
        lambda h, w, b: ce.linear_softmax_cross_entropy(h, w, labels, b=b, chunk=chunk, implementation="xla"),
        h,
        w,
        b,
        labels,
        g,
    )


@settings(max_examples=3, deadline=None)
@given(
    tokens=st.integers(1, 24),
    hidden=st.integers(1, 20),
    vocab=st.integers(2, 90),
    chunk=st.integers(1, 40),
    seed=st.integers(0, 100),
)
def test_chunked_xla_any_shape(tokens, hidden, vocab, chunk, seed):
    h, w, b, labels, g = _inputs(tokens, hidden, vocab, seed=seed)
    _compare(lambda h, w, b: ce.fused(h, w, labels, b, chunk=chunk), h, w, b, labels, g)


# ------------------------------------------------------------------------------ Pallas kernels


@pytest.mark.parametrize(
    "tokens, hidden, vocab, dtype, config",
    [
        # Blocks divide nothing: partial token, hidden and vocabulary blocks; 3 vocabulary splits of 3 blocks.
        pytest.param(
            37,
            40,
            300,
            jnp.float32,
            cp.KernelConfig("gpu", True, cp.Blocks(16, 32, 16), splits=3),
            id="gpu-f32-ragged",
        ),
        # TPU blocks are multiples of (8, 128): 2 hidden blocks (the second partial), 3 vocabulary blocks.
        pytest.param(
            20,
            200,
            300,
            jnp.float32,
            cp.KernelConfig("tpu", True, cp.Blocks(8, 128, 128)),
            id="tpu-f32-ragged",
        ),
        pytest.param(
            16,
            128,
            256,
            jnp.bfloat16,
            cp.KernelConfig("tpu", True, cp.Blocks(16, 128, 128)),
            id="tpu-bf16-blocks-divide",
        ),
    ],
)
def test_pallas_matches_reference(tokens, hidden, vocab, dtype, config):
    h, w, b, labels, g = _inputs(tokens, hidden, vocab, dtype)
    b = b if dtype == jnp.float32 else None
    _compare(lambda h, w, b: ce.fused(h, w, labels, b, chunk=128, config=config), h, w, b, labels, g)


def test_pallas_through_dispatch_with_default_blocks():
    """bfloat16, shapes the default GPU blocks (64, 128, 64) divide: 2 vocabulary blocks, 2 splits."""
    h, w, _, labels, g = _inputs(64, 128, 256, jnp.bfloat16, seed=3)
    _compare(
        lambda h, w, b: ce.linear_softmax_cross_entropy(h, w, labels, chunk=128, implementation="pallas"),
        h,
        w,
        None,
        labels,
        g,
    )


@settings(max_examples=2, deadline=None)
@given(
    tokens=st.integers(1, 40), hidden=st.integers(1, 40), vocab=st.integers(2, 160), seed=st.integers(0, 100)
)
def test_pallas_gpu_forward_any_shape(tokens, hidden, vocab, seed):
    h, w, b, labels, _ = _inputs(tokens, hidden, vocab, seed=seed)
    config = cp.KernelConfig("gpu", True, cp.Blocks(16, 32, 16))
    fn = jax.jit(lambda h, w, b: ce.fused(h, w, labels, b, chunk=64, config=config))
    losses = fn.lower(h, w, b).compile({"xla_backend_optimization_level": 0})(h, w, b)
    np.testing.assert_allclose(
        losses, ce.linear_softmax_cross_entropy_reference(h, w, labels, b), **TOL[jnp.float32]
    )


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_pallas_kernels_lower_for_gpu_and_tpu(dtype):
    """Forward and backward go through the Triton and Mosaic lowerings (the device compilers are not run)."""
    h, w, b, labels, g = _inputs(300, 200, 1000, dtype)
    for variant, platform, marker in [
        ("gpu", "cuda", "__gpu$xla.gpu.triton"),
        ("tpu", "tpu", "tpu_custom_call"),
    ]:
        config = cp.KernelConfig(variant)

        def step(h, w, b, config=config):
            return _grads(lambda h, w, b: ce.fused(h, w, labels, b, chunk=512, config=config), h, w, b, g)

        with without_the_device():
            text = jax.jit(step).trace(h, w, b).lower(lowering_platforms=(platform,)).as_text()
        assert text.count(marker) == 3  # forward, dlogits in the chunk loop, dlogits of the remainder


def _grads(fn, h, w, b, g):
    return jax.vjp(fn, h, w, b)[1](g)


# ------------------------------------------------------------------------------ memory


def test_chunked_implementations_never_materialise_the_logits():
    """No [tokens, vocab] array in the compiled forward and backward, and a fraction of the reference's memory."""
    tokens, vocab, chunk = 1024, 8192, 512
    h, w, b, labels, g = _inputs(tokens, 64, vocab, edge_labels=False)
    logits_shape = re.compile(rf"\[{tokens},{vocab}\]")
    logits_bytes = tokens * vocab * 4

    def compiled(fn, options=None):
        return jax.jit(lambda h, w, b: _grads(fn, h, w, b, g)).lower(h, w, b).compile(options)

    reference = compiled(lambda h, w, b: ce.linear_softmax_cross_entropy_reference(h, w, labels, b))
    assert logits_shape.search(reference.as_text())
    assert reference.memory_analysis().temp_size_in_bytes >= logits_bytes

    chunked = compiled(lambda h, w, b: ce.fused(h, w, labels, b, chunk=chunk))
    assert not logits_shape.search(chunked.as_text())
    assert chunked.memory_analysis().temp_size_in_bytes < logits_bytes / 4

    config = cp.KernelConfig("gpu", interpret=True)
    pallas = compiled(
        lambda h, w, b: ce.fused(h, w, labels, b, chunk=chunk, config=config),
        {"xla_backend_optimization_level": 0},
    )
    assert not logits_shape.search(pallas.as_text())


# ---------------------------------------------------------------------------------- arguments


def test_default_chunk_bounds_the_logits_in_flight():
    assert ce.default_chunk(8192, 128_000) == 2048
    assert ce.default_chunk(10, 300) == 300
    assert ce.default_chunk(1 << 20, 50_000) == 128


def test_supports_needs_matching_float_dtypes():
    h, w, _, labels, _ = _inputs(4, 8, 10)
    assert cp.supports(h, w, labels) is None
    assert "different dtypes" in cp.supports(h, w.astype(jnp.bfloat16), labels)
    assert "float64" in cp.supports(
        jax.ShapeDtypeStruct((4, 8), jnp.float64), jax.ShapeDtypeStruct((8, 10), jnp.float64), labels
    )
    impl = dispatch.choose(ce.OP, "pallas", (h, w.astype(jnp.bfloat16), labels, None), {"chunk": None}).impl
    assert impl.name == "xla"


@pytest.mark.parametrize(
    "h, w, labels, kwargs, message",
    [
        ((2, 3, 4), (4, 10), (2,), {}, r"`h` must be \[tokens, hidden\].*h \(2, 3, 4\)"),
        ((6, 4), (5, 10), (6,), {}, r"`w` must be \[hidden, vocab\] with hidden = 4.*w \(5, 10\)"),
        ((6, 4), (4, 10), (5,), {}, r"`labels` must be \[tokens\] with tokens = 6.*labels \(5,\)"),
        ((6, 4), (4, 10), (6,), {"b": (9,)}, r"`b` must be \[vocab\] with vocab = 10.*b \(9,\)"),
        ((6, 4), (4, 10), (6,), {"chunk": 0}, r"`chunk` must be a positive int"),
    ],
)
def test_invalid_arguments_name_the_argument_and_shapes(h, w, labels, kwargs, message):
    if "b" in kwargs:
        kwargs["b"] = jnp.zeros(kwargs["b"])
    with pytest.raises(ValueError, match=message):
        ce.linear_softmax_cross_entropy(jnp.zeros(h), jnp.zeros(w), jnp.zeros(labels, jnp.int32), **kwargs)


def test_float_labels_are_rejected():
    with pytest.raises(ValueError, match="`labels` must be integer class indices, got dtype float32"):
        ce.linear_softmax_cross_entropy(jnp.zeros((2, 3)), jnp.zeros((3, 5)), jnp.zeros(2))

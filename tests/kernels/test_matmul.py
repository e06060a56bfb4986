"""matmul: the Pallas kernel (interpret mode) against `activation(a @ b + bias)`, forward and gradients.

Tolerances: float32 to 1e-5 (atol and rtol; only the summation order differs,
and gelu's erf is a rational approximation good to 5e-7). bfloat16 to 2e-2
relative plus 1e-2 of the largest magnitude in the array: the gradients are
sums of products of the bfloat16 pre-activation and dz, which the kernel
saves and rounds as a bfloat16 layer does, while the reference keeps them in
float32; entries that nearly cancel are off by about one unit in the last
place of the largest terms, 2**-8 of them.
"""

import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.scipy.special import erf
from workbench.kernels import dispatch

from tests.kernels.lowering import without_the_device
from workbench import activations

mm = importlib.import_module("workbench.kernels.matmul")  # the module: `workbench.kernels.matmul` is the function


def _assert_close(got, want, dtype):
    got, want = np.asarray(got, np.float32), np.asarray(want, np.float32)
    if dtype == jnp.float32:
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)
    else:
        np.testing.assert_allclose(got, want, atol=1e-2 * np.abs(want).max(), rtol=2e-2)


def _inputs(m, k, n, dtype=jnp.float32, seed=0):
    rng = np.random.default_rng(seed)
    a = jnp.asarray(rng.normal(size=(m, k)), dtype)
    b = jnp.asarray(rng.normal(size=(k, n)) / np.sqrt(k), dtype)
    bias = jnp.asarray(rng.normal(size=n), jnp.float32)
    dout = jnp.asarray(rng.normal(size=(m, n)), dtype)
    return a, b, bias, dout


def _value_and_vjp(fn, args, dout, fast_compile=True):
    """fn(*args) and its vjp of dout; interpreted kernels are compiled without LLVM optimisations (faster)."""

    def run(args, dout):
        out, vjp = jax.vjp(fn, *args)
        return out, vjp(dout)

    compiled = (
        jax.jit(run)
        .lower(args, dout)
        .compile({"xla_backend_optimization_level": 0} if fast_compile else None)
    )
    return compiled(args, dout)


def _compare(fn, activation, args, dout):
    dtype = args[0].dtype.type
    out, grads = _value_and_vjp(fn, args, dout)
    reference = lambda a, b, *bias: mm.matmul_reference(a, b, *bias, activation=activation)
    out_ref, grads_ref = _value_and_vjp(reference, args, dout, fast_compile=False)
    assert out.dtype == args[0].dtype and out.shape == out_ref.shape
    _assert_close(out, out_ref, dtype)
    for got, want, primal in zip(grads, grads_ref, args):
        assert got.dtype == primal.dtype
        _assert_close(got, want, dtype)


# ---------------------------------------------------------------------------------- the reference


@pytest.mark.parametrize("activation", mm.ACTIVATIONS)
def test_reference_is_the_workbench_activation_of_a_at_b_plus_bias(activation):
    a, b, bias, _ = _inputs(6, 5, 4)
    expected = a @ b + bias
    if activation is not None:
        expected = activations.get(activation)(expected)
    np.testing.assert_allclose(
        mm.matmul(a, b, bias=bias, activation=activation), expected, rtol=1e-5, atol=1e-6
    )


def test_kernel_erf_is_accurate_to_float32():
    x = jnp.linspace(-6.0, 6.0, 20001)
    np.testing.assert_allclose(mm._erf(x), erf(x), atol=5e-7)


# ------------------------------------------------------------------------------ the Pallas kernel


@pytest.mark.parametrize("activation", mm.ACTIVATIONS)
def test_pallas_matches_reference_on_ragged_shapes(activation):
    """16x16x16 tiles on 50x70 @ 70x40: partial tiles on every edge and a partial last K step."""
    a, b, bias, dout = _inputs(50, 70, 40)
    blocks = mm.Blocks(16, 16, 16)
    kernel = lambda a, b, bias: mm.matmul_pallas(
        a, b, bias, activation=activation, interpret=True, blocks=blocks
    )
    _compare(kernel, activation, (a, b, bias), dout)


@pytest.mark.parametrize("activation", [None, "gelu"])
def test_pallas_bfloat16_through_dispatch(activation):
    """Shapes the default tiles (64, 32, 32) divide; no bias for the linear case."""
    a, b, bias, dout = _inputs(128, 64, 32, jnp.bfloat16)
    args = (a, b) if activation is None else (a, b, bias)
    kernel = lambda a, b, *bias: mm.matmul(
        a, b, bias=bias[0] if bias else None, activation=activation, implementation="pallas"
    )
    _compare(kernel, activation, args, dout)


@settings(max_examples=3, deadline=None)
@given(
    m=st.integers(1, 40),
    k=st.integers(1, 40),
    n=st.integers(1, 40),
    activation=st.sampled_from(mm.ACTIVATIONS),
    seed=st.integers(0, 100),
)
def test_pallas_any_shape(m, k, n, activation, seed):
    a, b, bias, dout = _inputs(m, k, n, seed=seed)
    kernel = lambda a, b, bias: mm.matmul(a, b, bias=bias, activation=activation, implementation="pallas")
    _compare(kernel, activation, (a, b, bias), dout)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_pallas_kernel_lowers_to_triton(dtype):
    """Forward (with the saved pre-activation) and both gradient matmuls go through the Triton lowering."""
    a, b, bias, dout = _inputs(300, 200, 100, dtype)

    def step(a, b, bias):
        return jax.vjp(lambda *args: mm.matmul_pallas(*args, activation="gelu"), a, b, bias)[1](dout)

    with without_the_device():
        text = jax.jit(step).trace(a, b, bias).lower(lowering_platforms=("cuda",)).as_text()
    assert text.count("__gpu$xla.gpu.triton") == 3


# ---------------------------------------------------------------------------------- arguments


def test_supports_needs_matching_float_dtypes():
    a, b, _, _ = _inputs(4, 3, 2)
    assert mm.supports(a, b) is None
    assert "different dtypes" in mm.supports(a, b.astype(jnp.bfloat16))
    assert "int32" in mm.supports(a.astype(jnp.int32), b.astype(jnp.int32))
    impl = dispatch.choose("matmul", "pallas", (a, b.astype(jnp.bfloat16), None), {"activation": None}).impl
    assert impl.name == "xla"


@pytest.mark.parametrize(
    "a, b, kwargs, message",
    [
        ((4, 3), (2, 5), {}, r"same K; got a \(4, 3\), b \(2, 5\)"),
        ((4, 3, 1), (3, 5), {}, r"`a` must be \[M, K\]"),
        ((4, 3), (3, 5), {"bias": (4,)}, r"`bias` must have shape \[N\] = \(5,\).*bias \(4,\)"),
        ((4, 3), (3, 5), {"activation": "softmax"}, r"`activation` is one of .*'softmax'"),
    ],
)
def test_invalid_arguments_name_the_argument_and_shapes(a, b, kwargs, message):
    if "bias" in kwargs:
        kwargs["bias"] = jnp.zeros(kwargs["bias"])
    with pytest.raises(ValueError, match=message):
        mm.matmul(jnp.zeros(a), jnp.zeros(b), **kwargs)

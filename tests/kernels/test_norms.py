"""layer_norm and rms_norm: the references against the layers, the Pallas kernels (interpret mode) against the references.

Tolerances (kernel vs reference): float32 outputs and gradients to 1e-5
(atol and rtol); bfloat16 outputs and dx to 2e-2, whose last bit is 2**-8
relative (the kernel and the reference may round a value either side of a
bf16 boundary), and the float32 dscale/dbias to 1e-3 relative because they
sum bfloat16 dy over many rows.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from workbench.kernels import dispatch, norms, norms_pallas

from tests.kernels.lowering import without_the_device
from workbench import layers

TOL = {jnp.float32: dict(atol=1e-5, rtol=1e-5), jnp.bfloat16: dict(atol=2e-2, rtol=2e-2)}
PARAM_TOL = {jnp.float32: dict(atol=1e-5, rtol=1e-5), jnp.bfloat16: dict(atol=1e-3, rtol=1e-3)}


def _inputs(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = jnp.asarray(rng.normal(size=shape) * 2.0 + 0.5, dtype)
    scale = jnp.asarray(1.0 + 0.5 * rng.normal(size=shape[-1:]), jnp.float32)
    bias = jnp.asarray(rng.normal(size=shape[-1:]), jnp.float32)
    dy = jnp.asarray(rng.normal(size=shape), dtype)
    return x, scale, bias, dy


def _value_and_vjp(fn, args, dy, fast_compile=True):
    """fn(*args) and its vjp of dy.

    Kernels in interpret mode are compiled once and run once on tiny arrays, so
    they are compiled without LLVM's optimisations, which take most of the time.
    """

    def run(args, dy):
        y, vjp = jax.vjp(fn, *args)
        return y, vjp(dy)

    compiled = (
        jax.jit(run).lower(args, dy).compile({"xla_backend_optimization_level": 0} if fast_compile else None)
    )
    return compiled(args, dy)


def _assert_close(ours, theirs, tol):
    np.testing.assert_allclose(np.asarray(ours, np.float32), np.asarray(theirs, np.float32), **tol)


def _compare(kernel, reference, args, dy):
    y, grads = _value_and_vjp(kernel, args, dy)
    y_ref, grads_ref = _value_and_vjp(reference, args, dy, fast_compile=False)
    dtype = args[0].dtype.type
    assert y.dtype == y_ref.dtype == args[0].dtype
    _assert_close(y, y_ref, TOL[dtype])
    _assert_close(grads[0], grads_ref[0], TOL[dtype])
    assert grads[0].dtype == args[0].dtype
    for g, g_ref, a in zip(grads[1:], grads_ref[1:], args[1:]):
        assert g.dtype == a.dtype
        _assert_close(g, g_ref, PARAM_TOL[dtype])


# -------------------------------------------------------------------------------- the references


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_references_compute_what_the_layers_compute(dtype):
    x, scale, bias, _ = _inputs((3, 5, 16), dtype)
    policy = "bfloat16" if dtype == jnp.bfloat16 else "float32"
    ln = layers.LayerNormalization(epsilon=1e-3, dtype=policy)
    ln.build(x.shape)
    ln.set_weights([np.asarray(scale), np.asarray(bias)])
    expected = norms.layer_norm(x, ln.gamma.value, ln.beta.value, 1e-3)
    np.testing.assert_array_equal(ln(x), expected)

    rms = layers.RMSNormalization(epsilon=1e-5, dtype=policy)
    rms.build(x.shape)
    rms.set_weights([np.asarray(scale)])
    np.testing.assert_array_equal(rms(x), norms.rms_norm(x, rms.scale.value, 1e-5))


def test_layer_norm_without_scale_or_bias_is_keras_center_and_scale_false():
    x, scale, bias, _ = _inputs((4, 8), jnp.float32)
    for center, use_scale in [(False, True), (True, False), (False, False)]:
        layer = layers.LayerNormalization(center=center, scale=use_scale)
        layer.build(x.shape)
        layer.set_weights([np.asarray(v) for v, used in ((scale, use_scale), (bias, center)) if used])
        expected = layer(x)
        got = norms.layer_norm(x, scale if use_scale else None, bias if center else None, 1e-3)
        np.testing.assert_array_equal(got, expected)


def test_rms_norm_without_scale_divides_by_the_root_mean_square():
    x = jnp.array([[3.0, 4.0], [1.0, -1.0]])
    rms = jnp.sqrt(jnp.mean(x**2, axis=-1, keepdims=True))
    np.testing.assert_allclose(norms.rms_norm(x, None, 0.0), x / rms, rtol=1e-6)


# ------------------------------------------------------------------------- the Pallas kernels

# (shape, dtype, row_block, programs): row_block/programs None take the defaults.
CASES = [
    pytest.param((2, 16, 32), jnp.float32, 8, 2, id="f32-blocks-divide"),  # 4 row blocks, 2 per program
    pytest.param(
        (37, 40), jnp.float32, 8, 3, id="f32-ragged"
    ),  # last row block partial, features padded to 64
    pytest.param((5, 7, 48), jnp.bfloat16, None, None, id="bf16-defaults"),
]


@pytest.mark.parametrize("shape, dtype, row_block, programs", CASES)
def test_pallas_layer_norm_matches_reference(shape, dtype, row_block, programs):
    x, scale, bias, dy = _inputs(shape, dtype)
    kernel = lambda x, s, b: norms_pallas.layer_norm(
        x, s, b, eps=1e-5, interpret=True, row_block=row_block, programs=programs
    )
    _compare(kernel, lambda x, s, b: norms.layer_norm_reference(x, s, b, eps=1e-5), (x, scale, bias), dy)


@pytest.mark.parametrize("shape, dtype, row_block, programs", CASES)
def test_pallas_rms_norm_matches_reference(shape, dtype, row_block, programs):
    x, scale, _, dy = _inputs(shape, dtype)
    kernel = lambda x, s: norms_pallas.rms_norm(
        x, s, eps=1e-5, interpret=True, row_block=row_block, programs=programs
    )
    _compare(kernel, lambda x, s: norms.rms_norm_reference(x, s, eps=1e-5), (x, scale), dy)


def test_pallas_through_dispatch_without_scale_or_bias():
    x, scale, bias, dy = _inputs((9, 24), jnp.float32, seed=1)
    _compare(
        lambda x, b: norms.layer_norm(x, None, b, implementation="pallas"),
        lambda x, b: norms.layer_norm_reference(x, None, b),
        (x, bias),
        dy,
    )
    _compare(
        lambda x: norms.rms_norm(x, None, implementation="pallas"),
        lambda x: norms.rms_norm_reference(x, None),
        (x,),
        dy,
    )


@settings(max_examples=3, deadline=None)
@given(rows=st.integers(1, 20), features=st.integers(1, 70), seed=st.integers(0, 100))
def test_pallas_layer_norm_any_shape(rows, features, seed):
    x, scale, bias, dy = _inputs((rows, features), jnp.float32, seed)
    _compare(
        lambda x, s, b: norms_pallas.layer_norm(x, s, b, eps=1e-6, interpret=True, row_block=4, programs=2),
        lambda x, s, b: norms.layer_norm_reference(x, s, b),
        (x, scale, bias),
        dy,
    )


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_pallas_kernels_lower_to_triton(dtype):
    """Both passes of both norms go through the Pallas -> Triton lowering (the GPU compiler itself is not run)."""
    x, scale, bias, dy = _inputs((37, 200), dtype)

    def both(x, scale, bias, dy):
        ln = jax.vjp(lambda *a: norms_pallas.layer_norm(*a, eps=1e-6), x, scale, bias)[1](dy)
        rms = jax.vjp(lambda *a: norms_pallas.rms_norm(*a, eps=1e-6), x, scale)[1](dy)
        return ln, rms

    with without_the_device():
        text = jax.jit(both).trace(x, scale, bias, dy).lower(lowering_platforms=("cuda",)).as_text()
    assert text.count("__gpu$xla.gpu.triton") == 4


# ---------------------------------------------------------------------------------- arguments


def test_supports_says_why_the_kernel_cannot_take_a_call():
    ok = jnp.ones((2, 8))
    assert norms_pallas.supports(ok, None, None) is None
    assert "float64" in norms_pallas.supports(jax.ShapeDtypeStruct((2, 8), jnp.float64), None, None)
    assert "features" in norms_pallas.supports(jax.ShapeDtypeStruct((2, 20000), jnp.float32), None)
    impl = dispatch.choose(
        "layer_norm", "pallas", (jax.ShapeDtypeStruct((2, 20000), jnp.float32), None, None), {"eps": 1e-6}
    ).impl
    assert impl.name == "xla"


def test_invalid_arguments_name_the_argument_and_shapes():
    x = jnp.ones((2, 8))
    with pytest.raises(ValueError, match=r"`scale` must have shape \(8,\).*got shape \(7,\)"):
        norms.layer_norm(x, jnp.ones(7), None)
    with pytest.raises(ValueError, match=r"`bias` must have shape \(8,\)"):
        norms.layer_norm(x, None, jnp.ones((1, 8)))
    with pytest.raises(ValueError, match=r"`x` must have at least one axis.*\(\)"):
        norms.rms_norm(jnp.float32(1.0), None)
    with pytest.raises(ValueError, match="floating point"):
        norms.rms_norm(jnp.ones(3, jnp.int32), None)

"""workbench.kernels.attention: the Pallas kernels (interpret mode on CPU) and cuDNN path against the XLA reference.

Kernels run with small blocks so that small shapes still span several blocks
and end in partial ones. Tolerances, relative to the largest reference value:
1e-5 for float32, 2e-2 for bfloat16 (outputs and gradients).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.experimental.pallas import tpu as pltpu
from workbench.kernels import dispatch, flash_attention_gpu, flash_attention_tpu
from workbench.kernels.attention import attention, pallas_attention, use_pallas_kernel
from workbench.kernels.attention_reference import attention_reference

from tests.kernels.lowering import without_the_device

GPU_BLOCKS = flash_attention_gpu.BlockSizes(16, 16, 16, 32, 32, 16)
TPU_BLOCKS = flash_attention_tpu.BlockSizes(8, 128, 8, 128, 16, 128)
TOLERANCE = {jnp.dtype(jnp.float32): 1e-5, jnp.dtype(jnp.bfloat16): 2e-2}


def _normal(seed, shape, dtype=jnp.float32):
    return jnp.asarray(np.random.default_rng(seed).standard_normal(shape), dtype)


def _bernoulli(seed, p, shape):
    return jnp.asarray(np.random.default_rng(seed).random(shape) < p)


def _qkv(batch, q_len, kv_len, heads, kv_heads, head_dim, dtype=jnp.float32, seed=0):
    return (
        _normal(seed, (batch, q_len, heads, head_dim), dtype),
        _normal(seed + 1, (batch, kv_len, kv_heads, head_dim), dtype),
        _normal(seed + 2, (batch, kv_len, kv_heads, head_dim), dtype),
    )


def assert_close(actual, expected, dtype, what=""):
    expected = np.asarray(jnp.asarray(expected, jnp.float32))
    actual = np.asarray(jnp.asarray(actual, jnp.float32))
    assert np.all(np.isfinite(actual)), f"{what}: non-finite values"
    tol = TOLERANCE[jnp.dtype(dtype)]
    np.testing.assert_allclose(
        actual, expected, rtol=tol, atol=tol * max(1.0, np.abs(expected).max()), err_msg=what
    )


def output_and_grads(fn, q, k, v, bias, weights, **kwargs):
    """fn's output and the vjp of `weights`, as one compiled program (interpret mode's cost is compiling)."""

    @jax.jit
    def run(q, k, v, bias):
        out, pullback = jax.vjp(lambda q, k, v, bias: fn(q, k, v, bias, **kwargs), q, k, v, bias)
        return out, pullback(weights)

    return run(q, k, v, bias)


def check_against_reference(fn, q, k, v, bias=None, **kwargs):
    """fn's output and its gradients (q, k, v, and bias when given) match the reference's."""
    weights = _normal(9, q.shape, q.dtype)
    out, grads = output_and_grads(fn, q, k, v, bias, weights, **kwargs)
    out_ref, grads_ref = output_and_grads(attention_reference, q, k, v, bias, weights, **kwargs)
    assert out.shape == q.shape and out.dtype == q.dtype
    assert_close(out, out_ref, q.dtype, "output")
    for name, g, g_ref in zip(("dq", "dk", "dv", "dbias"), grads, grads_ref):
        if g_ref is None:
            continue
        assert g.shape == g_ref.shape and g.dtype == g_ref.dtype, name
        assert_close(g, g_ref, q.dtype, name)


# On a GPU (TPU) the kernel for it runs compiled; everywhere else in interpret mode.
ON_CUDA, ON_TPU = dispatch.platform() == "cuda", dispatch.platform() == "tpu"


def gpu_kernel(q, k, v, bias=None, **kwargs):
    return pallas_attention(
        q, k, v, bias, kernel="gpu", interpret=not ON_CUDA, block_sizes=GPU_BLOCKS, **kwargs
    )


def tpu_kernel(q, k, v, bias=None, **kwargs):
    # The TPU interpreter: also models VMEM scratch (uninitialized reads give NaN) and the grid order.
    interpret = False if ON_TPU else pltpu.InterpretParams()
    return pallas_attention(
        q, k, v, bias, kernel="tpu", interpret=interpret, block_sizes=TPU_BLOCKS, **kwargs
    )


def through_dispatch(q, k, v, bias=None, **kwargs):
    return attention(q, k, v, bias=bias, implementation="pallas", **kwargs)


# ------------------------------------------------------------------------------------------ the reference


@pytest.mark.parametrize("case", ["plain", "causal_cross", "gqa_mask", "bias_mask_causal"])
def test_reference_matches_jax_nn(case):
    batch, q_len, kv_len, heads, kv_heads = 2, 12, 12, 4, 4
    if case == "causal_cross":
        q_len, kv_len = 7, 12
    if case == "bias_mask_causal":
        kv_len = 9
    if case.startswith("gqa"):
        kv_heads = 2
    q, k, v = _qkv(batch, q_len, kv_len, heads, kv_heads, 8)
    bias = _normal(5, (1, heads, q_len, kv_len)) if case.startswith("bias") else None
    mask = None
    if case in ("gqa_mask", "bias_mask_causal"):
        mask = _bernoulli(6, 0.6, (batch, 1, q_len, kv_len)).at[..., 0].set(True)
    causal = case.startswith("causal") or case == "bias_mask_causal"
    expected = jax.jit(jax.nn.dot_product_attention, static_argnames=("is_causal", "implementation"))(
        q, k, v, bias, mask, is_causal=causal, implementation="xla"
    )
    ours = jax.jit(attention, static_argnames=("causal", "implementation"))(
        q, k, v, bias=bias, mask=mask, causal=causal, implementation="xla"
    )
    assert_close(ours, expected, jnp.float32, case)


def test_reference_keeps_bfloat16_and_matches_jax_nn():
    q, k, v = _qkv(1, 16, 16, 2, 1, 16, jnp.bfloat16)
    out = attention_reference(q, k, v, causal=True)
    assert out.dtype == jnp.bfloat16
    assert_close(out, jax.nn.dot_product_attention(q, k, v, is_causal=True), jnp.bfloat16)


# ------------------------------------------------------------------------------------------ the GPU kernel


@pytest.mark.parametrize(
    "case", ["block_multiples", "causal_cross_gqa", "mask", "bias", "segments_mqa", "causal_longer_queries"]
)
def test_gpu_kernel_matches_reference_float32(case):
    kwargs = {}
    if case == "block_multiples":
        q, k, v = _qkv(2, 32, 32, 2, 2, 16)
    elif case == "causal_cross_gqa":
        q, k, v = _qkv(2, 20, 45, 4, 2, 24)
        kwargs = dict(causal=True)
    elif case == "mask":
        q, k, v = _qkv(2, 19, 33, 2, 2, 16)
        kwargs = dict(mask=_bernoulli(7, 0.5, (2, 1, 19, 33)))
    elif case == "bias":
        q, k, v = _qkv(1, 24, 24, 2, 2, 8)
        kwargs = dict(bias=_normal(8, (1, 2, 24, 24)), scale=0.5)
    elif case == "segments_mqa":
        q, k, v = _qkv(2, 24, 40, 4, 1, 16)
        q_ids = jnp.repeat(jnp.arange(3), 8)[None].repeat(2, 0)
        kv_ids = jnp.asarray(np.sort(np.random.default_rng(3).integers(0, 3, (2, 40)), axis=1))
        kwargs = dict(segment_ids=(q_ids, kv_ids))
    else:
        q, k, v = _qkv(1, 40, 17, 2, 2, 16)
        kwargs = dict(causal=True)
    check_against_reference(gpu_kernel, q, k, v, **kwargs)


def test_gpu_kernel_matches_reference_bfloat16():
    # Everything at once, with bias and mask broadcast along different axes.
    q, k, v = _qkv(2, 35, 35, 4, 2, 32, jnp.bfloat16)
    bias = _normal(4, (2, 1, 1, 35), jnp.bfloat16)
    mask = jnp.ones((1, 4, 35, 1), bool).at[0, 1, 3].set(False)
    segment_ids = jnp.repeat(jnp.arange(5), 7)[None].repeat(2, 0)
    check_against_reference(gpu_kernel, q, k, v, bias, mask=mask, segment_ids=segment_ids, causal=True)


def test_pallas_through_dispatch_with_default_blocks():
    q, k, v = _qkv(1, 150, 150, 2, 1, 64)
    impl, interpret, _ = dispatch.choose(
        "attention", "pallas", (q, k, v, None, None, None), dict(causal=True, scale=0.125)
    )
    assert (impl.name, interpret) == ("pallas", dispatch.platform() == "cpu")
    check_against_reference(through_dispatch, q, k, v, causal=True)


@settings(max_examples=3, deadline=None)
@given(
    batch=st.integers(1, 2),
    q_len=st.integers(1, 40),
    kv_len=st.integers(1, 40),
    kv_heads=st.integers(1, 2),
    group=st.integers(1, 2),
    head_dim=st.sampled_from([8, 16]),
    causal=st.booleans(),
)
def test_gpu_kernel_matches_reference_on_generated_shapes(
    batch, q_len, kv_len, kv_heads, group, head_dim, causal
):
    q, k, v = _qkv(batch, q_len, kv_len, kv_heads * group, kv_heads, head_dim)
    check_against_reference(gpu_kernel, q, k, v, causal=causal)


# ------------------------------------------------------------------------------------------ the TPU kernel


def test_tpu_kernel_matches_reference_float32():
    q, k, v = _qkv(2, 20, 150, 4, 2, 16)
    bias = _normal(4, (1, 4, 20, 150))
    mask = _bernoulli(5, 0.8, (2, 1, 1, 150)).at[..., 0].set(False)  # row 0: empty
    segment_ids = (
        jnp.zeros((2, 20), jnp.int32).at[:, 10:].set(1),
        jnp.zeros((2, 150), jnp.int32).at[:, 6:].set(1),
    )
    check_against_reference(tpu_kernel, q, k, v, bias, mask=mask, segment_ids=segment_ids, causal=True)


@pytest.mark.skipif(ON_CUDA, reason="the TPU kernel lowers only for TPUs (and runs in interpret mode on CPU)")
def test_tpu_kernel_through_dispatch_bfloat16():
    q, k, v = _qkv(1, 150, 150, 2, 1, 64, jnp.bfloat16)
    segment_ids = jnp.zeros((1, 150), jnp.int32).at[:, 70:].set(1)
    with use_pallas_kernel("tpu"):
        check_against_reference(through_dispatch, q, k, v, segment_ids=segment_ids, causal=True)


# ------------------------------------------------------------------------------------------ empty rows


# The TPU kernel's empty row (row 0 of test_tpu_kernel_matches_reference_float32) is checked there.
@pytest.mark.parametrize("fn", [gpu_kernel, attention_reference], ids=["gpu_kernel", "reference"])
def test_rows_with_nothing_to_attend_give_zeros_and_zero_gradients(fn):
    q, k, v = _qkv(2, 19, 33, 2, 2, 16)
    mask = _bernoulli(7, 0.5, (2, 1, 19, 33)).at[1, 0, 4].set(False)
    out, (dq, dk, dv, _) = output_and_grads(fn, q, k, v, None, _normal(9, q.shape), mask=mask)
    np.testing.assert_array_equal(np.asarray(out[1, 4]), 0.0)
    np.testing.assert_array_equal(np.asarray(dq[1, 4]), 0.0)
    assert all(np.all(np.isfinite(np.asarray(g))) for g in (dq, dk, dv))


def test_segment_ids_with_no_matching_key_give_zeros():
    q, k, v = _qkv(1, 8, 8, 2, 2, 8)
    out = jax.jit(attention)(q, k, v, segment_ids=(jnp.full((1, 8), 3), jnp.zeros((1, 8), jnp.int32)))
    np.testing.assert_array_equal(np.asarray(out), 0.0)


# ------------------------------------------------------------------------------------------ cuDNN and dispatch


def test_cudnn_falls_back_to_the_reference_where_it_cannot_run():
    q, k, v = _qkv(1, 8, 8, 2, 2, 8)  # float32: cuDNN would not take it even on a GPU
    out = jax.jit(attention, static_argnames=("causal", "implementation"))(
        q, k, v, causal=True, implementation="cudnn"
    )
    assert_close(out, attention_reference(q, k, v, causal=True), jnp.float32)


@pytest.mark.skipif(not ON_CUDA, reason="cuDNN runs on NVIDIA GPUs")
def test_cudnn_matches_reference_with_empty_rows():
    q, k, v = _qkv(2, 32, 32, 4, 2, 64, jnp.bfloat16)
    mask = _bernoulli(3, 0.7, (2, 1, 32, 32)).at[0, 0, 5].set(False)
    bias = _normal(4, (1, 4, 32, 32), jnp.bfloat16)
    segment_ids = jnp.repeat(jnp.arange(4), 8)[None].repeat(2, 0)
    assert (
        dispatch.implementations("attention")["cudnn"].supports(q, k, v, bias, mask, None, causal=True)
        is None
    )

    def cudnn(q, k, v, bias, **kwargs):
        return attention(q, k, v, bias=bias, implementation="cudnn", **kwargs)

    check_against_reference(cudnn, q, k, v, bias, mask=mask, segment_ids=segment_ids, causal=True)


def test_supports_say_why_not():
    impls = dispatch.implementations("attention")
    q, k, v = _qkv(1, 8, 9, 2, 2, 12)
    kwargs = dict(causal=True, scale=1.0)
    assert "head_dim 12" in impls["pallas"].supports(q, k, v, None, None, None, **kwargs)
    assert "float32" in impls["cudnn"].supports(q, k, v, None, None, None, **kwargs)
    q16, k16, v16 = (x.astype(jnp.bfloat16) for x in _qkv(1, 8, 9, 2, 2, 16))
    assert "causal" in impls["cudnn"].supports(q16, k16, v16, None, None, None, **kwargs)
    assert impls["pallas"].supports(q16, k16, v16, None, None, None, **kwargs) is None
    impl = dispatch.choose("attention", "pallas", (q, k, v, None, None, None), kwargs).impl
    assert impl.name == "xla"


# ------------------------------------------------------------------------------------------ invalid inputs


@pytest.mark.parametrize(
    "case, match",
    [
        ("rank", r"q must be \[batch, q_len, heads, head_dim\]; got shape \(4, 2, 8\)"),
        ("heads", r"heads \(3\) must be a multiple of k's kv_heads \(2\).*\(1, 4, 3, 8\).*\(1, 4, 2, 8\)"),
        ("head_dim", r"same head_dim.*\(1, 4, 2, 8\).*\(1, 4, 2, 16\)"),
        (
            "mask_shape",
            r"mask must be broadcastable to \[batch, heads, q_len, kv_len\] = \(1, 2, 4, 4\); "
            r"got shape \(1, 1, 5, 4\)",
        ),
        ("mask_dtype", r"mask must be boolean"),
        ("bias_shape", r"bias must be broadcastable.*got shape \(3, 4, 4\)"),
        ("segments", r"kv_segment_ids must be \[batch, kv_len\] = \(1, 4\); got shape \(1, 5\)"),
    ],
)
def test_invalid_inputs_raise_value_errors_naming_the_argument(case, match):
    q, k, v = _qkv(1, 4, 4, 2, 2, 8)
    kwargs = {}
    if case == "rank":
        q = q[0]
    elif case == "heads":
        q = _normal(0, (1, 4, 3, 8))
    elif case == "head_dim":
        k = v = _normal(0, (1, 4, 2, 16))
    elif case == "mask_shape":
        kwargs = dict(mask=jnp.ones((1, 1, 5, 4), bool))
    elif case == "mask_dtype":
        kwargs = dict(mask=jnp.ones((1, 1, 4, 4), jnp.float32))
    elif case == "bias_shape":
        kwargs = dict(bias=jnp.ones((3, 4, 4)))
    else:
        kwargs = dict(segment_ids=(jnp.zeros((1, 4), jnp.int32), jnp.zeros((1, 5), jnp.int32)))
    with pytest.raises(ValueError, match=match):
        attention(q, k, v, **kwargs)


# ------------------------------------------------------------------------------------------ lowering


@pytest.mark.parametrize(
    "kernel, platform, target", [("gpu", "cuda", "__gpu$xla.gpu.triton"), ("tpu", "tpu", "tpu_custom_call")]
)
def test_kernels_lower_for_their_device(kernel, platform, target):
    """The Pallas -> Triton / Mosaic lowering runs here; compiling for the chip is left to the device."""
    shape = jax.ShapeDtypeStruct
    q = shape((2, 200, 8, 64), jnp.bfloat16)
    kv = shape((2, 300, 2, 64), jnp.bfloat16)
    bias, mask = shape((2, 1, 200, 300), jnp.float32), shape((1, 8, 1, 300), jnp.bool_)
    ids = (shape((2, 200), jnp.int32), shape((2, 300), jnp.int32))

    def loss(q, k, v, bias, mask, ids):
        out = pallas_attention(q, k, v, bias, mask, ids, causal=True, kernel=kernel)
        return jnp.sum(out.astype(jnp.float32))

    grads = jax.jit(jax.grad(loss, argnums=(0, 1, 2, 3)))
    with without_the_device():
        exported = jax.export.export(
            grads, platforms=[platform], disabled_checks=[jax.export.DisabledSafetyCheck.custom_call(target)]
        )(q, kv, kv, bias, mask, ids)
    assert exported.mlir_module().count(target) >= 3  # forward, dk/dv and dq kernels

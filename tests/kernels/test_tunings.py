"""The tunings each Pallas kernel offers autotuning: every one is a valid configuration that lowers for its
device (forward and backward), and a non-default one computes what the reference does (interpret mode)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from workbench.kernels import dispatch
from workbench.kernels.attention import use_pallas_kernel
from workbench.kernels.attention_reference import attention_reference
from workbench.kernels.cross_entropy import OP as CROSS_ENTROPY
from workbench.kernels.cross_entropy import linear_softmax_cross_entropy_reference
from workbench.kernels.matmul import matmul_reference
from workbench.kernels.norms import layer_norm_reference, rms_norm_reference

from tests.kernels.lowering import without_the_device

MARKER = {"cuda": "__gpu$xla.gpu.triton", "tpu": "tpu_custom_call"}


def _normal(seed, shape, dtype=jnp.float32):
    return jnp.asarray(np.random.default_rng(seed).standard_normal(shape), dtype)


def _attention_args(length=200):
    shape = (1, length, 2, 64)
    return (_normal(0, shape), _normal(1, shape), _normal(2, shape), None, None, None), {"causal": True,
                                                                                         "scale": 0.125}


def _cross_entropy_args():
    labels = jnp.asarray(np.random.default_rng(3).integers(0, 1000, 300), jnp.int32)
    return (_normal(0, (300, 96)), _normal(1, (96, 1000)) * 0.1, labels, None), {"chunk": None}


def _norm_args(op):
    x = _normal(0, (300, 200))
    params = (jnp.ones(200), jnp.zeros(200)) if op == "layer_norm" else (jnp.ones(200),)
    return (x, *params), {"eps": 1e-6}


def _matmul_args():
    return (_normal(0, (200, 96)), _normal(1, (96, 150)), _normal(2, (150,))), {"activation": "gelu"}


CASES = {
    "attention": (_attention_args, attention_reference),
    "layer_norm": (lambda: _norm_args("layer_norm"), layer_norm_reference),
    "rms_norm": (lambda: _norm_args("rms_norm"), rms_norm_reference),
    CROSS_ENTROPY: (_cross_entropy_args, lambda h, w, labels, b, chunk: linear_softmax_cross_entropy_reference(
        h, w, labels, b)),
    "matmul": (_matmul_args, matmul_reference),
}


def _floats(args):
    return [i for i, a in enumerate(args) if a is not None and jnp.issubdtype(a.dtype, jnp.floating)]


def _forward_and_backward(fn, args):
    """A function of the floating-point arguments giving fn's output and their gradients (ones cotangent)."""
    wrt = [i for i, a in enumerate(args) if a is not None and jnp.issubdtype(a.dtype, jnp.floating)]

    def step(*floats):
        def of_floats(*fs):
            full = list(args)
            for i, f in zip(wrt, fs):
                full[i] = f
            return fn(*full)

        out, pullback = jax.vjp(of_floats, *floats)
        return out, pullback(jnp.ones_like(out))

    return step, [args[i] for i in wrt]


def _device(op, platform):
    """Where `platform` is the kernel's device: the tunings it proposes and the kernel that lowers."""
    if op == "attention":
        return use_pallas_kernel("gpu" if platform == "cuda" else "tpu")
    import contextlib

    return contextlib.nullcontext()


@pytest.mark.parametrize(
    "op, platform",
    [("attention", "cuda"), ("attention", "tpu"), ("layer_norm", "cuda"), ("rms_norm", "cuda"),
     (CROSS_ENTROPY, "cuda"), (CROSS_ENTROPY, "tpu"), ("matmul", "cuda")],
)
def test_every_tuning_lowers_for_its_device(op, platform, monkeypatch):
    monkeypatch.setattr(dispatch, "platform", lambda: platform)
    impl = dispatch.implementations(op)["pallas"]
    make_args, _ = CASES[op]
    # Long enough that TPU tunings (blocks up to 1024, shrunk to the sequence) differ.
    args, kwargs = _attention_args(1000) if op == "attention" else make_args()
    with _device(op, platform):
        tunings = impl.tunings(*args, **kwargs)
        assert len(tunings) >= 2, "autotuning has something to choose between"
        programs = set()
        for tuning in [{}, *tunings]:
            step, floats = _forward_and_backward(lambda *a, t=tuning: impl.fn(*a, interpret=False, **t, **kwargs),
                                                 args)
            with without_the_device():
                text = jax.jit(step).trace(*floats).lower(lowering_platforms=(platform,)).as_text()
            assert MARKER[platform] in text, tuning
            programs.add(text)
    assert len(programs) == len(tunings) + 1, "each tuning reaches the kernel and differs from the defaults"


@pytest.mark.parametrize("op", list(CASES))
def test_a_tuned_kernel_computes_the_reference(op):
    """The last tuning offered (the furthest from the defaults), in interpret mode, forward and backward."""
    impl = dispatch.implementations(op)["pallas"]
    make_args, reference = CASES[op]
    args, kwargs = make_args()
    tuning = impl.tunings(*args, **kwargs)[-1]
    tuned, floats = _forward_and_backward(lambda *a: impl.fn(*a, interpret=True, **tuning, **kwargs), args)
    plain, _ = _forward_and_backward(lambda *a: reference(*a, **kwargs), args)
    (out, grads), (want, want_grads) = jax.jit(tuned)(*floats), jax.jit(plain)(*floats)
    for got, expected in zip([out, *grads], [want, *want_grads]):
        np.testing.assert_allclose(got, expected, rtol=2e-4, atol=2e-4 * max(1.0, float(jnp.abs(expected).max())))

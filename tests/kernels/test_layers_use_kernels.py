"""The layers run the kernels when told to, and a model trains the same with them on and off."""

import numpy as np
import pytest
from workbench.kernels import dispatch

import workbench as wb


@pytest.fixture
def setting():
    yield wb.config.set_kernel_implementation
    wb.config.set_kernel_implementation(None)


@pytest.fixture
def pallas_calls(monkeypatch):
    """How often each op's Pallas implementation ran."""
    counts = {}
    for op in ("attention", "layer_norm", "rms_norm", "linear_softmax_cross_entropy"):
        impl = dispatch.implementations(op)["pallas"]

        def counted(*args, _fn=impl.fn, _op=op, **kwargs):
            counts[_op] = counts.get(_op, 0) + 1
            return _fn(*args, **kwargs)

        monkeypatch.setitem(dispatch._registry[op], "pallas", dispatch.Implementation(
            op, "pallas", counted, impl.platforms, impl.supports))
    return counts


def _block(seq=8, vocab=20, width=16, language_model=False):
    """A transformer block over tokens; a classifier of the pooled sequence, or a next-token model."""
    tokens = wb.Input((seq,), dtype="int32")
    x = wb.layers.Embedding(vocab, width)(tokens)
    x = x + wb.layers.MultiHeadAttention(num_heads=2, key_dim=8)(x, x, use_causal_mask=True)
    x = wb.layers.LayerNormalization()(x)
    x = wb.layers.RMSNormalization()(wb.layers.Dense(width, activation="gelu")(x))
    if language_model:
        return wb.Model(tokens, wb.layers.FusedLMHead(vocab)(x))
    x = wb.layers.GlobalAveragePooling1D()(x)
    return wb.Model(tokens, wb.layers.Dense(3)(x))


def test_layers_call_the_pallas_kernels_when_forced_and_agree_with_their_own_path(setting, pallas_calls):
    wb.utils.set_random_seed(0)
    model = _block()
    x = np.random.default_rng(0).integers(0, 20, (4, 8)).astype("int32")
    setting("xla")
    reference = np.asarray(model(x))
    assert pallas_calls == {}
    setting("pallas")
    forced = np.asarray(model(x))
    assert set(pallas_calls) == {"attention", "layer_norm", "rms_norm"}  # no loss in a plain call
    np.testing.assert_allclose(forced, reference, rtol=1e-5, atol=1e-5)


def test_auto_on_cpu_keeps_the_layers_own_arithmetic(setting, pallas_calls):
    model = _block()
    x = np.random.default_rng(1).integers(0, 20, (2, 8)).astype("int32")
    setting("auto")
    model(x)
    assert pallas_calls == {}


def _loss_curve(implementation: str) -> list[float]:
    """Next-token training: every token's loss through the FusedLMHead's fused cross-entropy."""
    wb.config.set_kernel_implementation(implementation)
    wb.utils.set_random_seed(7)
    rng = np.random.default_rng(7)
    x = rng.integers(0, 20, (64, 9)).astype("int32")
    model = _block(language_model=True)
    model.compile("adam", wb.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x[:, :-1], x[:, 1:], batch_size=16, epochs=3, shuffle=False, verbose=0, log=False)
    return history.history["loss"]


def test_a_model_trains_the_same_with_kernels_on_and_off(setting, pallas_calls):
    off = _loss_curve("xla")
    assert pallas_calls == {}
    on = _loss_curve("pallas")
    assert set(pallas_calls) == {"attention", "layer_norm", "rms_norm", "linear_softmax_cross_entropy"}
    np.testing.assert_allclose(on, off, rtol=1e-4)
    assert off[-1] < off[0]


def test_the_dot_attention_layer_uses_the_kernel_with_its_scale_and_masks(setting, pallas_calls):
    rng = np.random.default_rng(3)
    query = rng.standard_normal((2, 5, 8)).astype("float32")
    value = rng.standard_normal((2, 7, 8)).astype("float32")
    value_mask = np.ones((2, 7), bool)
    value_mask[1, 4:] = False
    query_mask = np.ones((2, 5), bool)
    query_mask[0, -1] = False
    layer = wb.layers.Attention(use_scale=True)
    layer([query, value])
    layer.scale.assign(np.float32(0.7))
    results = {}
    for name in ("xla", "pallas"):
        setting(name)
        results[name] = np.asarray(layer([query, value], mask=[query_mask, value_mask], use_causal_mask=True))
    assert pallas_calls.get("attention") == 1
    np.testing.assert_allclose(results["pallas"], results["xla"], rtol=1e-5, atol=1e-5)


def test_changing_the_setting_retraces_calls_and_training_steps(setting, pallas_calls):
    wb.utils.set_random_seed(1)
    model = _block()
    x = np.random.default_rng(2).integers(0, 20, (16, 8)).astype("int32")
    y = (x[:, 0] % 3).astype("int32")
    model.compile("sgd", wb.losses.SparseCategoricalCrossentropy(from_logits=True))
    for name in ("xla", "pallas", "xla"):
        setting(name)
        before = dict(pallas_calls)
        model(x)
        model(x)  # the second call runs the compiled path
        model.fit(x, y, epochs=1, verbose=0, log=False)
        ran = {op: n - before.get(op, 0) for op, n in pallas_calls.items() if n != before.get(op, 0)}
        assert bool(ran) == (name == "pallas"), (name, ran)

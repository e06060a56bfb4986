"""SparseCategoricalCrossentropy fused with the final Dense: the same values as on the logits, without them."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import workbench as wb
from workbench.losses import SparseCategoricalCrossentropy
from workbench.training import steps


def _features(shape, hidden, classes, seed=0):
    rng = np.random.default_rng(seed)
    h = jnp.asarray(rng.standard_normal((*shape, hidden)), jnp.float32)
    w = jnp.asarray(rng.standard_normal((hidden, classes)) * 0.3, jnp.float32)
    b = jnp.asarray(rng.standard_normal(classes) * 0.1, jnp.float32)
    return h, w, b


@pytest.mark.parametrize("label_shape", ["plain", "trailing_one"])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none"])
@pytest.mark.parametrize("ignore_class", [None, -1])
def test_from_features_matches_the_loss_of_the_logits(label_shape, reduction, ignore_class):
    h, w, b = _features((4, 6), 8, 300)
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 300, (4, 6))
    labels[0, :2] = -1  # ignored, or out of range (0 as in Keras) without ignore_class
    labels[1, 3] = 300  # out of range: 0
    y = labels[..., None] if label_shape == "trailing_one" else labels
    weight = jnp.asarray(rng.random((4, 1)), jnp.float32)
    mask = jnp.asarray([True, True, False, True])
    loss = SparseCategoricalCrossentropy(from_logits=True, ignore_class=ignore_class, reduction=reduction,
                                         fused=True)
    expected = loss(y, h @ w + b, sample_weight=weight, mask=mask)
    got = loss.from_features(y, h, w, b, sample_weight=weight, mask=mask)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_from_features_gradients_match():
    h, w, b = _features((16,), 8, 50)
    y = jnp.asarray(np.random.default_rng(2).integers(0, 50, 16))
    loss = SparseCategoricalCrossentropy(from_logits=True)
    want = jax.grad(lambda h, w, b: loss(y, h @ w + b), argnums=(0, 1, 2))(h, w, b)
    got = jax.grad(lambda h, w, b: loss.from_features(y, h, w, b), argnums=(0, 1, 2))(h, w, b)
    for g, e in zip(got, want):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


def test_from_features_names_the_shapes_it_expected():
    h, w, _ = _features((4,), 8, 10)
    loss = SparseCategoricalCrossentropy(from_logits=True)
    with pytest.raises(ValueError, match=r"kernel \[hidden, classes\].*\(4, 8\).*\(7, 10\)"):
        loss.from_features(jnp.zeros(4, jnp.int32), h, w[:7])
    with pytest.raises(ValueError, match=r"labels y_true of shape \(4,\).*got y_true.shape=\(5,\)"):
        loss.from_features(jnp.zeros(5, jnp.int32), h, w)


def _language_model(head, vocab=64, seq=6, width=16, seed=3):
    wb.utils.set_random_seed(seed)
    tokens = wb.Input((seq,), dtype="int32")
    x = wb.layers.Embedding(vocab, width)(tokens)
    x = wb.layers.Dense(width, activation="tanh")(x)
    return wb.Model(tokens, head()(x))


def _tokens(vocab=64, seq=6, n=48):
    x = np.random.default_rng(4).integers(0, vocab, (n, seq + 1)).astype("int32")
    return x[:, :-1], x[:, 1:]


def _fit(model, loss, metrics=None):
    x, y = _tokens()
    model.compile("adam", loss, metrics=metrics)
    history = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0, log=False).history
    return history, model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)


@pytest.mark.parametrize("head, from_logits", [
    (lambda: wb.layers.Dense(64), True),
    (lambda: wb.layers.Dense(64, activation="softmax"), False),
])
def test_fit_and_evaluate_agree_with_the_unfused_loss(head, from_logits):
    plain = _fit(_language_model(head), SparseCategoricalCrossentropy(from_logits=from_logits),
                 metrics=["accuracy"])
    fused = _fit(_language_model(head), SparseCategoricalCrossentropy(from_logits=from_logits, fused=True),
                 metrics=["accuracy"])
    np.testing.assert_allclose(fused[0]["loss"], plain[0]["loss"], rtol=1e-4)
    np.testing.assert_allclose(fused[1]["loss"], plain[1]["loss"], rtol=1e-4)
    assert fused[0]["accuracy"] == plain[0]["accuracy"]  # metrics still read the logits
    assert fused[0]["loss"][-1] < fused[0]["loss"][0]


def _train_step_temp_bytes(model, loss) -> int:
    model.compile("sgd", loss)
    spec = model._compile_spec
    x, _ = _tokens(vocab=model.output_shape[-1], seq=model.input_shape[1], n=2)
    model.predict(x, verbose=0)  # builds the compile spec's metrics
    spec.build_metrics(jnp.asarray(x), model(x))
    tx = optax.sgd(0.1)
    tokens = jnp.zeros((1, 512, model.input_shape[1]), jnp.int32)
    batch = {"x": tokens, "y": tokens, "sample_weight": None, "mask": jnp.ones((1, 512))}
    fn = steps.make_train_function(model, spec, tx, loop=False)
    compiled = fn.lower(steps.init_state(model, spec, tx), batch, jnp.ones((1,), bool)).compile()
    return compiled.memory_analysis().temp_size_in_bytes


def test_the_fused_train_step_never_holds_the_logits():
    """512 x 8 tokens, vocabulary 65536: the float32 logits alone are 1 GiB."""
    vocab, logits = 65536, 512 * 8 * 65536 * 4
    plain = _train_step_temp_bytes(_language_model(lambda: wb.layers.Dense(vocab), vocab, seq=8, width=8),
                                   SparseCategoricalCrossentropy(from_logits=True))
    fused = _train_step_temp_bytes(_language_model(lambda: wb.layers.Dense(vocab), vocab, seq=8, width=8),
                                   SparseCategoricalCrossentropy(from_logits=True, fused=True))
    head = _train_step_temp_bytes(_language_model(lambda: wb.layers.FusedLMHead(vocab), vocab, seq=8, width=8),
                                  SparseCategoricalCrossentropy(from_logits=True))
    assert plain >= logits
    assert fused <= 0.3 * logits and head <= 0.3 * logits, (plain, fused, head)


def test_a_fused_loss_on_an_output_no_dense_produced_says_so():
    model = _language_model(lambda: wb.layers.Activation("sigmoid"), width=64)
    with pytest.raises(ValueError, match=r"fused=True\) on output .* needs that output to be a Dense.*'dense"):
        _fit(model, SparseCategoricalCrossentropy(from_logits=True, fused=True))


def test_a_fused_loss_checks_the_dense_activation():
    model = _language_model(lambda: wb.layers.Dense(64, activation="relu"))
    with pytest.raises(ValueError, match="needs its Dense '.*' to have activation 'linear'; it has 'relu'"):
        _fit(model, SparseCategoricalCrossentropy(from_logits=True, fused=True))


def test_the_lm_head_fuses_only_a_loss_on_logits():
    """With from_logits=False the head's logits would be read as probabilities: left to the plain loss."""
    spec_losses = []
    for from_logits in (True, False):
        model = _language_model(lambda: wb.layers.FusedLMHead(64))
        model.compile("sgd", SparseCategoricalCrossentropy(from_logits=from_logits))
        spec_losses.append(model._compile_spec.fuses)
    assert spec_losses == [True, True]  # both capture the heads; only from_logits=True uses them
    plain = _fit(_language_model(lambda: wb.layers.Dense(64)), SparseCategoricalCrossentropy())[0]["loss"]
    head = _fit(_language_model(lambda: wb.layers.FusedLMHead(64, use_bias=True)),
                SparseCategoricalCrossentropy())[0]["loss"]
    np.testing.assert_allclose(head, plain, rtol=1e-6)


def test_fused_arguments_and_config():
    with pytest.raises(ValueError, match="last axis.*axis=1"):
        SparseCategoricalCrossentropy(fused=True, axis=1)
    with pytest.raises(ValueError, match="fused must be True or False; got 'yes'"):
        SparseCategoricalCrossentropy(fused="yes")
    assert "fused" not in SparseCategoricalCrossentropy().get_config()  # Keras reads the config
    loss = SparseCategoricalCrossentropy.from_config(SparseCategoricalCrossentropy(fused=True).get_config())
    assert loss.fused
    with pytest.raises(TypeError, match="FusedLMHead takes vocab_size= and projects linearly; got activation="):
        wb.layers.FusedLMHead(10, activation="softmax")
    head = wb.layers.FusedLMHead(10)
    rebuilt = wb.layers.FusedLMHead.from_config(head.get_config())
    assert rebuilt.vocab_size == 10 and not rebuilt.use_bias

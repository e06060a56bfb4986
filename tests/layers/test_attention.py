"""MultiHeadAttention and Attention against Keras 3."""

import jax
import keras
import numpy as np
import pytest

import workbench
from tests.layers.keras_oracle import assert_close, compare_layer, random
from workbench import layers as wa  # Attention and MultiHeadAttention live in separate modules
from workbench.layers.embedding import Embedding

B = 2
Q = random((B, 4, 6), seed=1)
V = random((B, 5, 4), seed=2)
K = random((B, 5, 7), seed=3)
# Boolean masks with a partially masked sequence and a fully masked query row (row 3 of batch 1).
VALUE_MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)
ATTN_MASK = np.ones((B, 4, 5), dtype=bool)
ATTN_MASK[0, :, 4] = False
ATTN_MASK[1, 3, :] = False


# Speed: layers start from zeros and get random NumPy weights, and Keras runs under jit. Compiling
# random initialisers for every kernel shape, and every op of an eager Keras call, would otherwise
# dominate the run time of this file.
FAST_INIT = {"kernel_initializer": "zeros"}


def _randomize(layer, seed=0):
    layer.set_weights([random(w.shape, seed=seed + i) for i, w in enumerate(layer.weights)])


def _keras_jit(layer, args, kwargs):
    trainable = [v.value for v in layer.trainable_variables]
    non_trainable = [v.value for v in layer.non_trainable_variables]
    return jax.jit(lambda t, n: layer.stateless_call(t, n, *args, **kwargs)[0])(trainable, non_trainable)


def _compare(ours, theirs, build_args, args, call_kwargs, **tolerance):
    """Build both layers, give them the same random weights, compare parameters and outputs."""
    theirs.build(*build_args)
    _randomize(theirs)
    ours.build(*build_args)
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    assert ours.count_params() == theirs.count_params()
    out = ours(*args, **call_kwargs), _keras_jit(theirs, args, call_kwargs)
    assert_close(*out, **tolerance)
    return out


def _compare_mha(kwargs, args, call_kwargs, **tolerance):
    ours = wa.MultiHeadAttention(**FAST_INIT, **kwargs)
    theirs = keras.layers.MultiHeadAttention(**FAST_INIT, **kwargs)
    out = _compare(ours, theirs, [a.shape for a in args], args, call_kwargs, **tolerance)
    return ours, theirs, out


# ---------------------------------------------------------------- MultiHeadAttention: structure
# Keras takes a fused dot_product_attention path for rank-3 inputs without dropout or returned
# scores, and an explicit masked-softmax path otherwise; the cases cover both.
@pytest.mark.parametrize(
    "kwargs, args, return_scores",
    [
        ({"num_heads": 2, "key_dim": 3}, (Q, Q), False),  # self-attention
        ({"num_heads": 2, "key_dim": 3}, (Q, V, K), True),  # cross-attention, T=4 vs S=5, own key
        (
            {
                "num_heads": 2,
                "key_dim": 3,
                "use_bias": False,
                "output_shape": 8,
                "use_gate": True,
                "sliding_window": 2,
                "kernel_regularizer": "l2",
            },
            (Q, V),
            False,
        ),
        ({"num_heads": 2, "key_dim": 3, "output_shape": (2, 4), "bias_regularizer": "l1"}, (Q, V), True),
        ({"num_heads": 2, "key_dim": 3, "attention_axes": (1, 2)}, (random((B, 3, 2, 6), seed=4),) * 2, True),
    ],
)
def test_mha_matches_keras(kwargs, args, return_scores):
    ours, theirs, _ = _compare_mha(kwargs, args, {"return_attention_scores": return_scores})
    assert [w.path for w in ours.weights] == [w.path.split("/", 1)[1] for w in theirs.weights]
    shapes = [a.shape for a in args]
    assert ours.compute_output_shape(*shapes) == tuple(theirs.compute_output_shape(*shapes))
    # Regularisers apply to each projection (5 kernels with the gate, 4 biases), as in Keras.
    assert len(ours.losses) == len(theirs.losses)
    if ours.losses:
        assert_close(sum(ours.losses), sum(theirs.losses))


def test_mha_value_dim_differs_from_key_dim():
    # Keras fails here unless it returns the scores (its fused kernel needs equal head dims); we do not.
    ours, _, (_, expected) = _compare_mha(
        {"num_heads": 2, "key_dim": 3, "value_dim": 5},
        (Q, V),
        {"return_attention_scores": True},
    )
    assert ours.value_dense.kernel.shape == (4, 2, 5)
    assert_close(ours(Q, V), expected[0])  # without scores: what Keras would give if it worked


def test_mha_mixed_precision_matches_keras():
    # Under jit on CPU the float16 attention must not rely on a float16 x float16 -> float32 dot
    # (Keras' own jitted call fails there, so Keras runs eagerly in this test).
    kwargs = {"num_heads": 2, "key_dim": 3, "dtype": "mixed_float16", **FAST_INIT}
    ours, theirs = wa.MultiHeadAttention(**kwargs), keras.layers.MultiHeadAttention(**kwargs)
    theirs.build(Q.shape, V.shape)
    _randomize(theirs)
    out, _ = compare_layer(ours, theirs, Q, V, value_mask=VALUE_MASK, atol=1e-2, rtol=1e-2)
    assert out.dtype == np.float16 and ours.query_dense.kernel.dtype == np.float32


# ---------------------------------------------------------------- MultiHeadAttention: masks
@pytest.mark.parametrize(
    "call_kwargs",
    [
        {"value_mask": VALUE_MASK},
        {"key_mask": VALUE_MASK, "value_mask": VALUE_MASK[::-1], "return_attention_scores": True},
        {"attention_mask": ATTN_MASK},  # a fully masked query row: uniform on Keras' fused path ...
        {"attention_mask": ATTN_MASK, "return_attention_scores": True},  # ... and zeros on the other
        {"use_causal_mask": True},
        {
            "use_causal_mask": True,
            "attention_mask": ATTN_MASK,
            "value_mask": VALUE_MASK,
            "return_attention_scores": True,
        },
    ],
)
def test_mha_masks_match_keras(call_kwargs):
    _, _, (ours, _) = _compare_mha({"num_heads": 2, "key_dim": 3}, (Q, V), call_kwargs)
    if call_kwargs.get("return_attention_scores"):
        scores = np.asarray(ours[1])
        if "attention_mask" in call_kwargs:
            assert np.all(scores[1, :, 3, :] == 0.0)  # a fully masked row attends nowhere
            assert np.all(scores[0, :, :, 4] == 0.0)
        if call_kwargs.get("use_causal_mask"):
            assert np.all(np.triu(scores[..., :4], k=1) == 0.0)


def test_mha_causal_mask_blocks_the_future():
    layer = wa.MultiHeadAttention(num_heads=2, key_dim=3, **FAST_INIT)
    layer.build(Q.shape, Q.shape)
    _randomize(layer)
    base = layer(Q, Q, use_causal_mask=True)
    changed = Q.copy()
    changed[:, 3] += 10.0  # only the last step changes: earlier outputs must not move
    after = layer(changed, changed, use_causal_mask=True)
    assert_close(after[:, :3], base[:, :3])
    assert not np.allclose(after[:, 3], base[:, 3])


def test_mha_dropout_only_in_training_and_follows_the_rng():
    layer = wa.MultiHeadAttention(num_heads=2, key_dim=3, dropout=0.5, **FAST_INIT)
    inp_q, inp_v = workbench.Input((4, 6)), workbench.Input((5, 4))
    model = workbench.Model([inp_q, inp_v], layer(inp_q, inp_v, return_attention_scores=True))
    _randomize(model)
    inference = model([Q, V])
    assert_close(model([Q, V], training=False), inference)
    variables = model.get_variables()
    call = jax.jit(lambda key: model.stateless_call(variables, [Q, V], training=True, rng=key)[0])
    # "rbg" keys: any key type works, and these compile much faster on CPU than threefry.
    (a, scores_a), (a2, _), (b, _) = (call(jax.random.key(seed, impl="rbg")) for seed in (0, 0, 1))
    assert_close(a, a2)  # same key, same dropout pattern
    assert not np.allclose(a, b) and not np.allclose(a, inference[0])
    # The returned scores are the probabilities before dropout.
    assert_close(scores_a, inference[1])


def test_mha_config_round_trip():
    layer = wa.MultiHeadAttention(
        num_heads=2,
        key_dim=3,
        value_dim=2,
        output_shape=(5,),
        attention_axes=[2],
        kernel_initializer="ones",
        kernel_constraint="non_neg",
        dropout=0.1,
    )
    x = random((B, 3, 2, 6), seed=4)
    out = layer(x, x)
    config = layer.get_config()
    assert config["attention_axes"] == [2] and config["output_shape"] == [5] and config["value_dim"] == 2
    clone = wa.MultiHeadAttention.from_config(config)
    clone(x, x)
    clone.set_weights(layer.get_weights())
    assert_close(clone(x, x), out)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_heads": 0, "key_dim": 2}, "num_heads"),
        ({"num_heads": 2, "key_dim": -1}, "key_dim"),
        ({"num_heads": 2, "key_dim": 2, "value_dim": 1.5}, "value_dim"),
        ({"num_heads": 2, "key_dim": 2, "dropout": 1.5}, "dropout"),
        ({"num_heads": 2, "key_dim": 2, "attention_axes": "time"}, "attention_axes"),
        ({"num_heads": 2, "key_dim": 2, "output_shape": "wide"}, "output_shape"),
    ],
)
def test_mha_invalid_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        wa.MultiHeadAttention(**kwargs)


@pytest.mark.parametrize(
    "kwargs, args",
    [
        ({}, (Q, V, random((B, 6, 7)))),  # key and value lengths differ
        ({}, (random((B, 6)), random((B, 6)))),  # rank 2
        ({"attention_axes": (0,)}, (Q, Q)),  # the batch axis
    ],
)
def test_mha_build_errors_name_the_layer(kwargs, args):
    layer = wa.MultiHeadAttention(num_heads=2, key_dim=2, name="mha_bad_input", **FAST_INIT, **kwargs)
    with pytest.raises(ValueError, match="mha_bad_input"):
        layer(*args)


def _token_batch():
    tokens = np.array([[3, 1, 4, 1, 0, 0], [5, 9, 2, 6, 5, 3]], dtype="int32")
    other = np.array([[2, 7, 0, 0], [1, 8, 2, 8]], dtype="int32")
    return tokens, other


def test_embedding_masks_flow_into_mha_in_a_functional_model():
    def build(lib, embedding, mha):
        tokens, other = lib.Input((6,), dtype="int32"), lib.Input((4,), dtype="int32")
        x = embedding(10, 6, mask_zero=True, embeddings_initializer="zeros")(tokens)
        y = embedding(10, 4, mask_zero=True, embeddings_initializer="zeros")(other)
        h = mha(num_heads=2, key_dim=3, **FAST_INIT)(x, x)  # self-attention: query and value masks
        # The query mask propagates from the first layer; causal and value masks combine with it.
        # (Each masked tensor feeds one MHA only: Keras' MHA deletes the masks of the tensors it is
        # called on, so a second use would silently lose them there - a quirk we do not copy.)
        h, scores = mha(num_heads=2, key_dim=3, **FAST_INIT)(
            h, y, use_causal_mask=True, return_attention_scores=True
        )
        return lib.Model([tokens, other], [h, scores])

    theirs = build(keras, keras.layers.Embedding, keras.layers.MultiHeadAttention)
    _randomize(theirs)
    ours = build(workbench, Embedding, wa.MultiHeadAttention)
    ours.set_weights(theirs.get_weights())
    data = list(_token_batch())
    expected = _keras_jit(theirs, [data], {})
    assert_close(ours(data), expected)  # eager, op by op
    out = ours(data)  # compiled
    assert_close(out, expected)
    scores = np.asarray(out[1])
    assert np.all(scores[0, :, :, 2:] == 0.0)  # padded value positions get no attention
    assert np.all(scores[0, :, 4:, :] == 0.0)  # padded query positions attend nowhere
    assert np.all(np.triu(scores, k=1) == 0.0)  # nor into the future


# ---------------------------------------------------------------- Attention
@pytest.mark.parametrize("score_mode, use_scale", [("dot", False), ("concat", True)])  # dot+scale: below
def test_attention_matches_keras(score_mode, use_scale):
    q, v, k = random((B, 4, 3), seed=6), random((B, 5, 3), seed=7), random((B, 5, 3), seed=8)
    ours = wa.Attention(use_scale=use_scale, score_mode=score_mode)
    theirs = keras.layers.Attention(use_scale=use_scale, score_mode=score_mode)
    shapes = [q.shape, v.shape, k.shape]
    _compare(ours, theirs, [shapes], [[q, v, k]], {})
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    mask = [np.array([[1, 1, 0, 1], [1, 1, 1, 1]], bool), VALUE_MASK]
    for kwargs in ({"mask": mask}, {"mask": mask, "use_causal_mask": True, "return_attention_scores": True}):
        assert_close(ours([q, v, k], **kwargs), _keras_jit(theirs, [[q, v, k]], kwargs))
    assert ours.compute_output_shape(shapes) == tuple(theirs.compute_output_shape(shapes))


def test_attention_config_round_trip_and_errors():
    layer = wa.Attention(use_scale=True, score_mode="concat", dropout=0.2, name="attn_cfg")
    q, v = random((B, 4, 3), seed=6), random((B, 5, 3), seed=7)
    out = layer([q, v])
    config = layer.get_config()
    assert (config["use_scale"], config["score_mode"], config["dropout"]) == (True, "concat", 0.2)
    clone = wa.Attention.from_config(config)
    clone([q, v])
    clone.set_weights(layer.get_weights())
    assert_close(clone([q, v]), out)
    # Dropout acts in training only.
    assert_close(layer([q, v], training=False), out)
    variables = layer.get_variables()
    dropped, _ = layer.stateless_call(variables, [q, v], training=True, rng=jax.random.key(0, impl="rbg"))
    assert not np.allclose(dropped, out)
    with pytest.raises(ValueError, match="score_mode"):
        wa.Attention(score_mode="additive")
    with pytest.raises(ValueError, match="attn_bad"):
        wa.Attention(name="attn_bad")(q)
    with pytest.raises(ValueError, match="attn_bad_rank"):
        wa.Attention(name="attn_bad_rank")([q[:, 0], v[:, 0]])


def test_attention_with_embedding_masks_in_a_functional_model():
    def build(lib, embedding, attention):
        tokens, other = lib.Input((6,), dtype="int32"), lib.Input((4,), dtype="int32")
        x = embedding(10, 5, mask_zero=True, embeddings_initializer="zeros")(tokens)
        y = embedding(10, 5, mask_zero=True, embeddings_initializer="zeros")(other)
        h = attention()([x, y])
        h = attention(use_scale=True)([h, x])  # the query mask of the first propagates to the second
        return lib.Model([tokens, other], h)

    theirs = build(keras, keras.layers.Embedding, keras.layers.Attention)
    _randomize(theirs)
    ours = build(workbench, Embedding, wa.Attention)
    ours.set_weights(theirs.get_weights())
    data = list(_token_batch())
    expected = _keras_jit(theirs, [data], {})
    assert_close(ours(data), expected)
    out = ours(data)
    assert_close(out, expected)
    assert np.all(np.asarray(out)[0, 4:] == 0.0)  # padded query steps are zeroed

"""Embedding against Keras 3."""

import warnings

import jax.numpy as jnp
import keras
import numpy as np
import pytest

import workbench
from tests.layers.keras_oracle import assert_close, compare_layer
from workbench.layers.core import Dense
from workbench.layers.embedding import Embedding

IDS = np.array([[1, 4, 0, 9], [0, 0, 3, 2]], "int32")


@pytest.mark.parametrize("shape", [(2, 4), (2, 3, 5), (6,)])
@pytest.mark.parametrize("mask_zero", [False, True])
def test_matches_keras(shape, mask_zero):
    ids = np.random.default_rng(0).integers(0, 10, size=shape).astype("int32")
    ours, theirs = Embedding(10, 3, mask_zero=mask_zero), keras.layers.Embedding(10, 3, mask_zero=mask_zero)
    out, _ = compare_layer(ours, theirs, ids)
    assert out.shape == shape + (3,)
    assert ours.compute_output_shape(shape) == theirs.compute_output_shape(shape)
    mask = ours.compute_mask(jnp.asarray(ids))
    if mask_zero:
        np.testing.assert_array_equal(np.asarray(mask), ids != 0)
        np.testing.assert_array_equal(np.asarray(mask), np.asarray(theirs.compute_mask(ids)))
    else:
        assert mask is None


def test_out_of_range_and_negative_indices_follow_keras_jax():
    # jnp.take: [-input_dim, 0) counts from the end, anything else outside the table is NaN.
    ids = np.array([[-1, -5, 5, 100, -6, 2]], "int32")
    ours, theirs = Embedding(5, 2), keras.layers.Embedding(5, 2)
    out, _ = compare_layer(ours, theirs, ids)
    table = np.asarray(ours.embeddings.value)
    out = np.asarray(out)[0]
    np.testing.assert_array_equal(out[0], table[-1])
    np.testing.assert_array_equal(out[1], table[0])
    assert np.isnan(out[2:5]).all()
    np.testing.assert_array_equal(out[5], table[2])


def test_float_indices_are_cast_to_int_like_keras():
    ids = np.array([[1.0, 3.0, 2.0]], "float32")
    ours, theirs = Embedding(4, 2), keras.layers.Embedding(4, 2)
    out, _ = compare_layer(ours, theirs, ids)
    assert out.dtype == jnp.float32
    np.testing.assert_array_equal(np.asarray(out)[0, 1], np.asarray(ours.embeddings.value)[3])


def test_weight_name_default_initializer_and_weights_argument():
    layer = Embedding(6, 3)
    layer.build()
    assert [w.name for w in layer.weights] == ["embeddings"]
    values = np.asarray(layer.embeddings.value)
    assert values.shape == (6, 3) and np.abs(values).max() <= 0.05  # Keras' "uniform": U(-0.05, 0.05)
    table = np.arange(18, dtype="float32").reshape(6, 3)
    preset = Embedding(6, 3, weights=table)
    assert preset.built
    np.testing.assert_array_equal(np.asarray(preset(np.array([[5, 0]]))), table[[[5, 0]]])


def test_config_roundtrip_and_keras_keys():
    ours = Embedding(
        10, 3, mask_zero=True, embeddings_regularizer="l2", embeddings_initializer="ones", name="emb"
    )
    ours(IDS)
    config = ours.get_config()
    theirs = keras.layers.Embedding(10, 3, mask_zero=True, embeddings_regularizer="l2")
    assert not (set(theirs.get_config()) - {"quantization_config"}) - set(config)
    clone = Embedding.from_config(config)
    assert clone.get_config() == config
    clone(IDS)
    ours.set_weights([np.random.default_rng(1).normal(size=(10, 3)).astype("float32")])
    clone.set_weights(ours.get_weights())
    assert_close(clone(IDS), ours(IDS))


def test_regularizer_loss_matches_keras():
    ours, theirs = (
        Embedding(10, 3, embeddings_regularizer="l2"),
        keras.layers.Embedding(10, 3, embeddings_regularizer="l2"),
    )
    compare_layer(ours, theirs, IDS)
    assert len(ours.losses) == 1
    assert_close(float(ours.losses[0]), float(theirs.losses[0]))


def test_functional_model_matches_keras():
    x = workbench.Input(shape=(4,), dtype="int32")
    embedding = Embedding(10, 3, mask_zero=True)
    y = Dense(2)(embedding(x))
    model = workbench.Model(x, y)
    kx = keras.Input(shape=(4,), dtype="int32")
    ky = keras.layers.Dense(2)(keras.layers.Embedding(10, 3, mask_zero=True)(kx))
    kmodel = keras.Model(kx, ky)
    model.set_weights(kmodel.get_weights())
    assert_close(model(IDS), kmodel(IDS))
    assert model.output_shape == (None, 4, 2)


def test_mixed_precision_output_dtype():
    layer = Embedding(10, 3, dtype="mixed_bfloat16")
    out = layer(IDS)
    assert out.dtype == jnp.bfloat16 and layer.embeddings.dtype == jnp.float32


def test_input_length_is_deprecated_like_keras():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Embedding(10, 3, input_length=4)
    assert any("input_length" in str(w.message) for w in caught)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(input_dim=0, output_dim=3), "input_dim"),
        (dict(input_dim=10, output_dim=-1), "output_dim"),
        (dict(input_dim=2.5, output_dim=3), "input_dim"),
        (dict(input_dim=10, output_dim=3, mask_zero="yes"), "mask_zero"),
        (dict(input_dim=10, output_dim=3, lora_rank=4), "LoRA"),
        (dict(input_dim=10, output_dim=3, unknown=1), "unknown"),
    ],
)
def test_invalid_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Embedding(**kwargs)


def test_mask_reaches_an_rnn_in_a_sequential_model():
    from workbench.layers.recurrent import LSTM

    ids = np.array([[3, 5, 2, 0, 0], [1, 2, 3, 4, 5], [0, 7, 0, 2, 0]], "int32")
    fast = {"kernel_initializer": "zeros", "recurrent_initializer": "zeros", "unroll": True}
    model = workbench.Sequential(
        [workbench.Input((5,), dtype="int32"), Embedding(10, 3, mask_zero=True), LSTM(4, **fast)]
    )
    kmodel = keras.Sequential(
        [
            keras.Input((5,), dtype="int32"),
            keras.layers.Embedding(10, 3, mask_zero=True),
            keras.layers.LSTM(4, **fast),
        ]
    )
    kmodel.set_weights([np.random.default_rng(i).normal(size=w.shape) for i, w in enumerate(kmodel.weights)])
    model.set_weights(kmodel.get_weights())
    assert_close(model(ids), kmodel(ids))

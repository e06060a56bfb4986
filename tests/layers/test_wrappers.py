"""Bidirectional and TimeDistributed against Keras 3.

As in test_recurrent.py, recurrent layers use "zeros" initializers and get random
weights afterwards (XLA compiles each initializer per shape), and tests about the
wrapper rather than the time loop use `unroll=True` (UNROLL): its small ops are
compiled once, whereas every eager `lax.scan` call compiles anew.
"""

import jax.numpy as jnp
import keras
import numpy as np
import pytest

import workbench
from tests.layers.keras_oracle import assert_close, compare_layer, random
from workbench.core.layer import Layer
from workbench.layers.core import Activation, Dense
from workbench.layers.embedding import Embedding
from workbench.layers.recurrent import GRU, LSTM
from workbench.layers.wrappers import Bidirectional, TimeDistributed

X = random((3, 5, 4))
MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 1, 1, 0, 1]], bool)
FAST = {"kernel_initializer": "zeros", "recurrent_initializer": "zeros"}
UNROLL = {**FAST, "unroll": True}


def _randomize(keras_object):
    keras_object.set_weights([random(w.shape, seed=i) for i, w in enumerate(keras_object.weights)])


def _compare(ours, theirs, x, **kwargs):
    """compare_layer's checks with random Keras weights and one call per layer."""
    theirs.build(x.shape)
    _randomize(theirs)
    expected = theirs(x, **kwargs)
    ours.build(x.shape)
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    assert ours.count_params() == theirs.count_params()
    out = ours(x, **kwargs)
    assert_close(out, expected)
    return out, expected


# ---------------------------------------------------------------------- Bidirectional
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_merge_modes_match_keras(merge_mode):
    # concat runs the real scan; Bidirectional then makes both directions output zeros on masked steps.
    kwargs = FAST if merge_mode == "concat" else UNROLL
    ours = Bidirectional(LSTM(4, return_sequences=True, **kwargs), merge_mode=merge_mode)
    theirs = keras.layers.Bidirectional(
        keras.layers.LSTM(4, return_sequences=True, **kwargs), merge_mode=merge_mode
    )
    out, _ = _compare(ours, theirs, X, mask=MASK)
    assert ours.compute_output_shape((None, 5, 4)) == theirs.compute_output_shape((None, 5, 4))
    if merge_mode == "concat":
        np.testing.assert_array_equal(np.asarray(out)[~MASK], 0.0)


@pytest.mark.parametrize("merge_mode", ["concat", None])
def test_bidirectional_return_state_matches_keras(merge_mode):
    ours = Bidirectional(GRU(4, return_state=True, **UNROLL), merge_mode=merge_mode)
    theirs = keras.layers.Bidirectional(
        keras.layers.GRU(4, return_state=True, **UNROLL), merge_mode=merge_mode
    )
    out, _ = _compare(ours, theirs, X, mask=MASK)
    assert len(out) == (4 if merge_mode is None else 3)
    assert ours.compute_output_shape((None, 5, 4)) == theirs.compute_output_shape((None, 5, 4))


def test_bidirectional_weights_and_names_follow_keras():
    layer = Bidirectional(LSTM(4, name="enc", **FAST))
    assert (layer.forward_layer.name, layer.backward_layer.name) == ("forward_enc", "backward_enc")
    assert (layer.forward_layer.go_backwards, layer.backward_layer.go_backwards) == (False, True)
    layer.build(X.shape)
    forward = layer.forward_layer.weights
    assert [id(w) for w in layer.weights] == [id(w) for w in forward + layer.backward_layer.weights]


def test_bidirectional_with_explicit_backward_layer_matches_keras():
    ours = Bidirectional(
        LSTM(4, return_sequences=True, **FAST),
        backward_layer=GRU(4, return_sequences=True, go_backwards=True, **FAST),
    )
    theirs = keras.layers.Bidirectional(
        keras.layers.LSTM(4, return_sequences=True, **FAST),
        backward_layer=keras.layers.GRU(4, return_sequences=True, go_backwards=True, **FAST),
    )
    _compare(ours, theirs, X, mask=MASK)
    assert isinstance(ours.backward_layer, GRU)


def test_bidirectional_initial_state_matches_keras():
    states = [random((3, 4), seed=10 + i) for i in range(4)]  # forward h, c then backward h, c
    ours = Bidirectional(LSTM(4, **UNROLL), merge_mode="sum")
    theirs = keras.layers.Bidirectional(keras.layers.LSTM(4, **UNROLL), merge_mode="sum")
    _compare(ours, theirs, X, initial_state=states)


def test_bidirectional_in_functional_model_with_embedding_mask_and_json_roundtrip():
    ids = np.array([[3, 5, 2, 0, 0], [1, 2, 3, 4, 5], [0, 7, 0, 2, 0]], "int32")
    x = workbench.Input(shape=(5,), dtype="int32")
    h = Bidirectional(LSTM(4, return_sequences=True, **UNROLL))(Embedding(10, 4, mask_zero=True)(x))
    model = workbench.Model(x, GRU(4, **UNROLL)(h))
    kx = keras.Input(shape=(5,), dtype="int32")
    kh = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True, **UNROLL))(
        keras.layers.Embedding(10, 4, mask_zero=True)(kx)
    )
    kmodel = keras.Model(kx, keras.layers.GRU(4, **UNROLL)(kh))
    _randomize(kmodel)
    model.set_weights(kmodel.get_weights())
    out = model(ids)
    assert_close(out, kmodel(ids))
    clone = workbench.models.model_from_json(model.to_json())
    clone.set_weights(model.get_weights())
    assert_close(clone(ids), out)


def test_bidirectional_config_roundtrip():
    layer = Bidirectional(GRU(4, return_sequences=True, **UNROLL), merge_mode="ave", name="bi")
    layer.build(X.shape)
    layer.set_weights([random(w.shape, seed=i) for i, w in enumerate(layer.weights)])
    config = layer.get_config()
    assert config["merge_mode"] == "ave" and config["layer"]["class_name"] == "GRU"
    assert config["backward_layer"]["config"]["go_backwards"] is True
    clone = Bidirectional.from_config(config)
    assert clone.get_config() == config
    assert clone.forward_layer.name == layer.forward_layer.name
    clone.build(X.shape)
    clone.set_weights(layer.get_weights())
    assert_close(clone(X, mask=MASK), layer(X, mask=MASK))


def test_bidirectional_weights_argument_is_applied_on_build():
    values = [random(shape, seed=i) for i, shape in enumerate([(4, 8), (2, 8), (8,)] * 2)]
    layer = Bidirectional(LSTM(2, **FAST), weights=values)
    layer.build(X.shape)
    for weight, value in zip(layer.get_weights(), values):
        np.testing.assert_array_equal(weight, value)


def test_bidirectional_output_mask():
    mask = jnp.asarray(MASK)
    assert Bidirectional(LSTM(2, return_sequences=True)).compute_mask(X, mask) is mask
    assert Bidirectional(LSTM(2)).compute_mask(X, mask) is None
    assert Bidirectional(LSTM(2, return_sequences=True), merge_mode=None).compute_mask(X, mask) == [
        mask,
        mask,
    ]


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: Bidirectional(LSTM(2), merge_mode="max"), "merge_mode"),
        (lambda: Bidirectional(Dense(2)), "recurrent layer"),
        (lambda: Bidirectional(LSTM(2), backward_layer=LSTM(2)), "go_backwards"),
        (
            lambda: Bidirectional(LSTM(2), backward_layer=LSTM(2, go_backwards=True, return_sequences=True)),
            "return_sequences",
        ),
    ],
)
def test_bidirectional_invalid_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bidirectional_wrong_rank_and_odd_initial_state_raise():
    layer = Bidirectional(LSTM(2, **FAST), name="bi_rank")
    with pytest.raises(ValueError, match="bi_rank"):
        layer(random((3, 4)))
    layer = Bidirectional(LSTM(2, **FAST), name="bi_states")
    layer.build(X.shape)
    with pytest.raises(ValueError, match="bi_states.*even number"):
        layer(X, initial_state=[random((3, 2))] * 3)


# ---------------------------------------------------------------------- TimeDistributed
@pytest.mark.parametrize(
    "ours,theirs,shape",
    [
        (lambda: Dense(3), lambda: keras.layers.Dense(3), (3, 5, 4)),
        (
            lambda: Dense(3, activation="relu", use_bias=False),
            lambda: keras.layers.Dense(3, activation="relu", use_bias=False),
            (2, 3, 4, 5),
        ),
        (lambda: Activation("tanh"), lambda: keras.layers.Activation("tanh"), (2, 3, 4)),
    ],
)
def test_time_distributed_matches_keras(ours, theirs, shape):
    x = random(shape)
    ours_layer, theirs_layer = TimeDistributed(ours()), keras.layers.TimeDistributed(theirs())
    out, _ = compare_layer(ours_layer, theirs_layer, x)
    assert out.shape == tuple(theirs_layer.compute_output_shape(shape))
    none_shape = (None, None, *shape[2:])
    assert ours_layer.compute_output_shape(none_shape) == theirs_layer.compute_output_shape(none_shape)


class _OursMaskScale(Layer):
    def call(self, inputs, mask=None):
        return inputs * mask[..., None].astype(inputs.dtype)


class _KerasMaskScale(keras.layers.Layer):
    def call(self, inputs, mask=None):
        return inputs * keras.ops.cast(mask[..., None], inputs.dtype)


class _TrainingScale(Layer):
    def call(self, inputs, training=None):
        return inputs * (2.0 if training else 1.0)


def test_time_distributed_passes_each_steps_mask_like_keras():
    ours, theirs = TimeDistributed(_OursMaskScale()), keras.layers.TimeDistributed(_KerasMaskScale())
    out, _ = compare_layer(ours, theirs, X, mask=MASK)
    np.testing.assert_array_equal(np.asarray(out)[~MASK], 0.0)


def test_time_distributed_passes_training():
    layer = TimeDistributed(_TrainingScale())
    assert_close(layer(X, training=True), 2 * X)
    assert_close(layer(X, training=False), X)


def test_time_distributed_keeps_the_mask_in_functional_model():
    ids = np.array([[3, 5, 2, 0, 0], [1, 2, 3, 4, 5], [0, 7, 0, 2, 0]], "int32")
    x = workbench.Input(shape=(5,), dtype="int32")
    h = TimeDistributed(Dense(4))(Embedding(10, 3, mask_zero=True)(x))
    model = workbench.Model(x, LSTM(4, **UNROLL)(h))
    kx = keras.Input(shape=(5,), dtype="int32")
    kh = keras.layers.TimeDistributed(keras.layers.Dense(4))(
        keras.layers.Embedding(10, 3, mask_zero=True)(kx)
    )
    kmodel = keras.Model(kx, keras.layers.LSTM(4, **UNROLL)(kh))
    _randomize(kmodel)
    model.set_weights(kmodel.get_weights())
    assert_close(model(ids), kmodel(ids))
    assert model.layers[2].compute_mask(None, jnp.asarray(ids != 0)) is not None


def test_time_distributed_config_roundtrip():
    layer = TimeDistributed(Dense(3, activation="relu"), name="td")
    layer(X)
    config = layer.get_config()
    assert config["layer"]["class_name"] == "Dense"
    clone = TimeDistributed.from_config(config)
    assert clone.get_config() == config
    clone(X)
    clone.set_weights(layer.get_weights())
    assert_close(clone(X), layer(X))


def test_time_distributed_invalid_inputs_raise():
    with pytest.raises(ValueError, match="Layer instance"):
        TimeDistributed(lambda x: x)
    with pytest.raises(ValueError, match="td_rank.*rank >= 3"):
        TimeDistributed(Dense(2), name="td_rank")(random((3, 4)))
    layer = TimeDistributed(_OursMaskScale(), name="td_mask")
    with pytest.raises(ValueError, match="td_mask.*mask"):
        layer(X, mask=MASK[:, :4])

"""Dense, EinsumDense, activation, merging and regularisation layers against Keras 3."""

import keras
import numpy as np
import pytest

import workbench
from tests.layers.keras_oracle import assert_close, compare_layer, random
from workbench import layers


@pytest.mark.parametrize("activation", [None, "relu", "gelu", "softmax", "tanh"])
@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_matches_keras(activation, use_bias):
    x = random((3, 5))
    compare_layer(layers.Dense(4, activation=activation, use_bias=use_bias),
                  keras.layers.Dense(4, activation=activation, use_bias=use_bias), x)


def test_dense_on_rank4_input_works_like_keras():
    x = random((2, 3, 4, 5))
    ours, _ = compare_layer(layers.Dense(6), keras.layers.Dense(6), x)
    assert ours.shape == (2, 3, 4, 6)


@pytest.mark.parametrize(
    "equation,output_shape,bias_axes,shape",
    [
        ("ab,bc->ac", 4, None, (3, 5)),
        ("ab,bc->ac", 4, "c", (3, 5)),
        ("abc,cd->abd", (None, 6), "d", (2, 3, 5)),
        ("abc,cde->abde", (None, 2, 3), "de", (2, 4, 5)),
        ("abcd,cde->abe", (4, 6), "e", (2, 4, 3, 5)),
    ],
)
def test_einsum_dense_matches_keras(equation, output_shape, bias_axes, shape):
    x = random(shape)
    compare_layer(layers.EinsumDense(equation, output_shape, bias_axes=bias_axes),
                  keras.layers.EinsumDense(equation, output_shape, bias_axes=bias_axes), x)


@pytest.mark.parametrize(
    "ours,theirs",
    [
        (lambda: layers.ReLU(), lambda: keras.layers.ReLU()),
        (lambda: layers.ReLU(max_value=0.5, negative_slope=0.1, threshold=0.2),
         lambda: keras.layers.ReLU(max_value=0.5, negative_slope=0.1, threshold=0.2)),
        (lambda: layers.LeakyReLU(), lambda: keras.layers.LeakyReLU()),
        (lambda: layers.ELU(alpha=0.7), lambda: keras.layers.ELU(alpha=0.7)),
        (lambda: layers.Softmax(axis=1), lambda: keras.layers.Softmax(axis=1)),
        (lambda: layers.Activation("swish"), lambda: keras.layers.Activation("swish")),
        (lambda: layers.PReLU(alpha_initializer="random_normal"),
         lambda: keras.layers.PReLU(alpha_initializer="random_normal")),
        (lambda: layers.PReLU(shared_axes=[1]), lambda: keras.layers.PReLU(shared_axes=[1])),
        (lambda: layers.Identity(), lambda: keras.layers.Identity()),
    ],
)
def test_activation_layers_match_keras(ours, theirs):
    x = random((2, 3, 4), low=-2, high=2)
    compare_layer(ours(), theirs(), x)


def test_softmax_mask_matches_keras():
    x = random((2, 5))
    mask = np.array([[1, 1, 0, 1, 0], [0, 0, 0, 0, 0]], bool)
    assert_close(layers.Softmax()(x, mask=mask), keras.layers.Softmax()(x, mask=mask))


@pytest.mark.parametrize("name", ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"])
def test_elementwise_merges_match_keras(name):
    a, b = random((3, 4), seed=1), random((3, 4), seed=2)
    compare_layer(getattr(layers, name)(), getattr(keras.layers, name)(), [a, b])


def test_merge_broadcasts_ranks_like_keras():
    a, b = random((3, 4, 5), seed=1), random((3, 5), seed=2)
    compare_layer(layers.Add(), keras.layers.Add(), [a, b])


@pytest.mark.parametrize("axis", [-1, 1])
def test_concatenate_matches_keras(axis):
    a, b = random((2, 3, 4), seed=1), random((2, 3, 4), seed=2)
    compare_layer(layers.Concatenate(axis=axis), keras.layers.Concatenate(axis=axis), [a, b])


@pytest.mark.parametrize("axes,normalize,s1,s2", [
    (1, False, (3, 4), (3, 4)),
    (1, True, (3, 4), (3, 4)),
    ((2, 2), False, (2, 3, 4), (2, 5, 4)),
    ((1, 1), False, (2, 3, 4), (2, 3, 5)),
])
def test_dot_matches_keras(axes, normalize, s1, s2):
    a, b = random(s1, seed=1), random(s2, seed=2)
    compare_layer(layers.Dot(axes, normalize=normalize), keras.layers.Dot(axes, normalize=normalize), [a, b])


def test_concatenate_mismatch_names_both_shapes_at_build_time():
    a = workbench.Input((3, 4))
    b = workbench.Input((5, 4))
    with pytest.raises(ValueError) as e:
        layers.Concatenate(name="join")([a, b])
    msg = str(e.value)
    assert "join" in msg and "(None, 3, 4)" in msg and "(None, 5, 4)" in msg


def test_add_mismatch_names_layer_and_shapes():
    with pytest.raises(ValueError, match=r"sum.*\(3,\).*\(4,\)|sum.*\(4,\).*\(3,\)"):
        layers.Add(name="sum")([workbench.Input((3,)), workbench.Input((4,))])


def test_dense_rejects_bad_units():
    with pytest.raises(ValueError, match="units"):
        layers.Dense(0)


@pytest.mark.parametrize("cls,kw", [
    ("Dropout", {"rate": 0.5}),
    ("SpatialDropout1D", {"rate": 0.5}),
    ("GaussianNoise", {"stddev": 0.5}),
])
def test_stochastic_layers_identity_at_inference_and_random_in_training(cls, kw):
    x = np.ones((64, 8, 16), "float32")
    layer = getattr(layers, cls)(**kw)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    y1 = np.asarray(layer(x, training=True))
    y2 = np.asarray(layer(x, training=True))
    assert not np.array_equal(y1, x) and not np.array_equal(y1, y2)
    assert abs(y1.mean() - 1.0) < 0.1  # inverted dropout / zero-mean noise keep the mean


def test_dropout_statistics_and_spatial_structure():
    x = np.ones((32, 10, 8), "float32")
    y = np.asarray(layers.Dropout(0.25)(x, training=True))
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)}
    assert abs((y == 0).mean() - 0.25) < 0.03
    s = np.asarray(layers.SpatialDropout1D(0.5)(x, training=True))
    # a whole channel is dropped across all time steps
    assert np.all((s == 0).all(axis=1) | (s != 0).all(axis=1))
    img = np.ones((8, 4, 4, 6), "float32")
    s2 = np.asarray(layers.SpatialDropout2D(0.5)(img, training=True))
    assert np.all((s2 == 0).all(axis=(1, 2)) | (s2 != 0).all(axis=(1, 2)))


def test_dropout_rejects_bad_rate():
    with pytest.raises(ValueError, match="rate"):
        layers.Dropout(1.5)


@pytest.mark.parametrize("make", [
    lambda: layers.Dense(3, activation="relu", kernel_regularizer="l2"),
    lambda: layers.EinsumDense("abc,cd->abd", (None, 3), bias_axes="d"),
    lambda: layers.PReLU(shared_axes=[1]),
    lambda: layers.Concatenate(axis=1),
    lambda: layers.Dropout(0.3, noise_shape=[None, 1, 4]),
    lambda: layers.Softmax(axis=-2),
])
def test_config_round_trip(make):
    layer = make()
    cfg = layer.get_config()
    clone = type(layer).from_config(cfg)
    assert clone.get_config() == cfg


def test_lambda_matches_keras_and_infers_shape():
    x = random((3, 4))
    ours = layers.Lambda(lambda t: t[:, :2] * 2.0 + 1.0)
    theirs = keras.layers.Lambda(lambda t: t[:, :2] * 2.0 + 1.0)
    assert_close(ours(x), theirs(x))
    assert ours.compute_output_shape((None, 4)) == (None, 2)
    sym = ours(workbench.Input((4,)))
    assert sym.shape == (None, 2)

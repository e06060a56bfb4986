"""Pooling layers (workbench/layers/pooling.py) against Keras 3."""

import json

import jax
import keras
import numpy as np
import pytest

import workbench
from tests.layers.keras_oracle import assert_close, compare_layer, random
from workbench import config
from workbench.layers import pooling

CASES = [
    ("MaxPooling1D", dict(), (2, 9, 3)),
    ("MaxPooling1D", dict(pool_size=3, strides=1, padding="same"), (2, 9, 3)),
    ("MaxPooling1D", dict(pool_size=2, data_format="channels_first"), (2, 3, 9)),
    ("MaxPooling2D", dict(), (2, 7, 8, 3)),
    ("MaxPooling2D", dict(pool_size=(3, 2), strides=(2, 1), padding="same"), (2, 7, 8, 3)),
    (
        "MaxPooling2D",
        dict(pool_size=3, strides=2, padding="same", data_format="channels_first"),
        (2, 3, 7, 8),
    ),
    ("MaxPooling3D", dict(pool_size=2, padding="same"), (1, 3, 5, 4, 2)),
    ("AveragePooling1D", dict(pool_size=3, strides=2), (2, 9, 3)),
    ("AveragePooling1D", dict(pool_size=4, strides=3, padding="same"), (2, 10, 3)),
    ("AveragePooling2D", dict(pool_size=2), (2, 7, 8, 3)),
    ("AveragePooling2D", dict(pool_size=3, strides=2, padding="same"), (2, 7, 8, 3)),
    (
        "AveragePooling2D",
        dict(pool_size=(3, 2), strides=1, padding="same", data_format="channels_first"),
        (2, 3, 5, 6),
    ),
    ("AveragePooling3D", dict(pool_size=(2, 3, 2), strides=2, padding="same"), (1, 3, 5, 4, 2)),
    ("GlobalAveragePooling1D", dict(), (2, 5, 3)),
    ("GlobalAveragePooling1D", dict(keepdims=True, data_format="channels_first"), (2, 3, 5)),
    ("GlobalAveragePooling2D", dict(), (2, 4, 5, 3)),
    ("GlobalAveragePooling2D", dict(keepdims=True, data_format="channels_first"), (2, 3, 4, 5)),
    ("GlobalMaxPooling1D", dict(keepdims=True), (2, 5, 3)),
    ("GlobalMaxPooling1D", dict(data_format="channels_first"), (2, 3, 5)),
    ("GlobalMaxPooling2D", dict(), (2, 4, 5, 3)),
    ("GlobalMaxPooling2D", dict(keepdims=True, data_format="channels_first"), (2, 3, 4, 5)),
    ("GlobalAveragePooling3D", dict(), (1, 2, 3, 4, 2)),
    ("GlobalMaxPooling3D", dict(keepdims=True), (1, 2, 3, 4, 2)),
]
IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(CASES)]


def _pair(name, kwargs):
    return getattr(pooling, name)(**kwargs), getattr(keras.layers, name)(**kwargs)


@pytest.mark.parametrize("name,kwargs,shape", CASES, ids=IDS)
def test_pooling_matches_keras(name, kwargs, shape):
    ours, theirs = _pair(name, kwargs)
    out, _ = compare_layer(ours, theirs, random(shape, seed=1))
    assert ours.count_params() == 0
    for s in [shape, (None,) + shape[1:]]:
        assert ours.compute_output_shape(s) == tuple(theirs.compute_output_shape(s))
    assert tuple(out.shape) == tuple(theirs.compute_output_shape(shape))


def _window_grid():
    grid = []
    for padding in ("valid", "same"):
        for pool, strides in ((2, None), (3, 1), (3, 2), (2, 3), (4, 4)):
            kw = dict(pool_size=pool, strides=strides, padding=padding)
            grid += [
                ("MaxPooling1D", kw, (None, 10, 3)),
                ("AveragePooling2D", dict(kw, data_format="channels_first"), (None, 3, 9, None)),
                ("MaxPooling3D", kw, (None, 5, 7, 6, 2)),
            ]
    return grid


@pytest.mark.parametrize("name,kwargs,shape", _window_grid())
def test_pooling_output_shapes_match_keras(name, kwargs, shape):
    ours, theirs = _pair(name, kwargs)
    expected = tuple(theirs.compute_output_shape(shape))
    assert ours.compute_output_shape(shape) == expected
    # The shape the call really produces (traced, not run), for a concrete input shape.
    concrete = tuple(11 if d is None else d for d in shape)
    ours.build(concrete)
    traced = jax.eval_shape(ours, jax.ShapeDtypeStruct(concrete, "float32")).shape
    assert traced == tuple(getattr(keras.layers, name)(**kwargs).compute_output_shape(concrete))


def test_large_pool_on_unknown_dims_in_functional_model():
    inputs = workbench.Input((None, None, 2))
    outputs = pooling.MaxPooling2D(8)(inputs)
    assert outputs.shape == (None, None, None, 2)
    assert workbench.Model(inputs, outputs)(random((1, 16, 9, 2))).shape == (1, 2, 1, 2)


def test_average_pooling_same_divides_by_real_elements():
    # A 3-wide window centred on the first step covers one padded element: mean of 2 values.
    x = np.array([[[1.0], [3.0], [5.0]]], "float32")
    out = pooling.AveragePooling1D(3, strides=1, padding="same")(x)
    np.testing.assert_allclose(np.asarray(out)[0, :, 0], [2.0, 3.0, 4.0])


@pytest.mark.parametrize("data_format,keepdims", [("channels_last", False), ("channels_first", True)])
def test_global_average_pooling_1d_mask_matches_keras(data_format, keepdims):
    shape = (3, 5, 2) if data_format == "channels_last" else (3, 2, 5)
    x = random(shape, seed=4)
    mask = np.array([[1, 1, 0, 1, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1]], bool)
    ours, theirs = _pair("GlobalAveragePooling1D", dict(data_format=data_format, keepdims=keepdims))
    assert_close(ours(x, mask=mask), theirs(x, mask=mask))
    assert ours.compute_mask(x, mask) is None


def test_global_average_pooling_1d_uses_mask_in_functional_model():
    # The model passes the mask given for its input on to the layer's call.
    x = random((2, 4, 3), seed=5)
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool)
    features = workbench.Input((4, 3))
    model = workbench.Model(features, pooling.GlobalAveragePooling1D()(features))
    assert_close(model(x, mask=mask), keras.layers.GlobalAveragePooling1D()(x, mask=mask))
    assert not np.allclose(np.asarray(model(x, mask=mask)), np.asarray(model(x)))


def test_global_average_pooling_1d_rejects_mismatched_mask():
    layer = pooling.GlobalAveragePooling1D(name="gap_mask")
    with pytest.raises(ValueError, match="gap_mask.*mask shape"):
        layer(random((2, 5, 3)), mask=np.ones((2, 4), bool))


@pytest.mark.parametrize("name,kwargs,shape", CASES[::3], ids=IDS[::3])
def test_pooling_config_round_trip(name, kwargs, shape):
    ours = getattr(pooling, name)(**kwargs)
    config_ = ours.get_config()
    theirs = getattr(keras.layers, name)(**kwargs).get_config()
    assert set(theirs) - {"dtype"} <= set(config_)
    for key in set(theirs) & set(config_) - {"name", "dtype"}:
        assert json.loads(json.dumps(config_[key])) == json.loads(json.dumps(theirs[key])), key
    clone = type(ours).from_config(json.loads(json.dumps(config_)))
    x = random(shape, seed=2)
    assert_close(clone(x), ours(x), atol=0, rtol=0)
    assert clone.get_config() == config_


@pytest.mark.parametrize("name,kwargs,shape", CASES[1::4], ids=IDS[1::4])
def test_pooling_in_functional_model(name, kwargs, shape):
    ours, theirs = _pair(name, kwargs)
    inputs = workbench.Input(shape[1:])
    outputs = ours(inputs)
    assert outputs.shape == tuple(theirs.compute_output_shape((None,) + shape[1:]))
    model = workbench.Model(inputs, outputs)
    x = random(shape, seed=3)
    assert_close(model(x), theirs(x))


def test_default_data_format_follows_config():
    config.set_image_data_format("channels_first")
    try:
        layers = [pooling.MaxPooling2D(), pooling.GlobalAveragePooling2D()]
    finally:
        config.set_image_data_format("channels_last")
    assert [layer.data_format for layer in layers] == ["channels_first"] * 2
    assert layers[0](random((1, 2, 6, 4))).shape == (1, 2, 3, 2)
    assert layers[1](random((1, 2, 6, 4))).shape == (1, 2)


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: pooling.MaxPooling2D(pool_size=0, name="bad_pool"), "pool_size"),
        (lambda: pooling.MaxPooling2D(pool_size=(2, 2, 2), name="bad_pool"), "pool_size"),
        (lambda: pooling.AveragePooling1D(2, strides=0, name="bad_pool"), "strides"),
        (lambda: pooling.AveragePooling2D(2, padding="causal", name="bad_pool"), "padding"),
        (lambda: pooling.MaxPooling1D(data_format="NWC", name="bad_pool"), "data_format"),
        (lambda: pooling.GlobalMaxPooling2D(keepdims="yes", name="bad_pool"), "keepdims"),
    ],
)
def test_invalid_arguments_raise_naming_the_layer(make, match):
    with pytest.raises(ValueError, match=match) as info:
        make()
    assert "bad_pool" in str(info.value)


@pytest.mark.parametrize(
    "make,shape",
    [
        (lambda: pooling.MaxPooling2D(name="rank_check"), (2, 8, 3)),
        (lambda: pooling.AveragePooling1D(2, name="rank_check"), (2, 8, 8, 3)),
        (lambda: pooling.MaxPooling2D(pool_size=5, name="rank_check"), (2, 4, 8, 3)),  # window too large
        (lambda: pooling.GlobalAveragePooling2D(name="rank_check"), (2, 8, 3)),
        (lambda: pooling.GlobalMaxPooling1D(name="rank_check"), (2, 8)),
    ],
)
def test_bad_input_shapes_raise_naming_the_layer(make, shape):
    with pytest.raises(ValueError, match="rank_check"):
        make()(np.zeros(shape, "float32"))

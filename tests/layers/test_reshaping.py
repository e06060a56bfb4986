"""Reshaping layers (workbench/layers/reshaping.py) against Keras 3."""

import json

import keras
import numpy as np
import pytest

import workbench
from tests.layers.keras_oracle import assert_close, compare_layer, random
from workbench import config
from workbench.layers import reshaping

CASES = [
    ("Flatten", dict(), (2, 3, 4, 5)),
    ("Flatten", dict(data_format="channels_first"), (2, 3, 4, 5)),
    ("Flatten", dict(), (2, 6)),
    ("Reshape", dict(target_shape=(4, 3)), (2, 3, 4)),
    ("Reshape", dict(target_shape=(-1, 2)), (2, 3, 4)),
    ("Reshape", dict(target_shape=(2, -1, 3)), (2, 3, 4)),
    ("Permute", dict(dims=(2, 1)), (2, 3, 4)),
    ("Permute", dict(dims=(3, 1, 2)), (2, 3, 4, 5)),
    ("RepeatVector", dict(n=3), (2, 4)),
    ("ZeroPadding1D", dict(), (2, 4, 3)),
    ("ZeroPadding1D", dict(padding=(2, 0), data_format="channels_first"), (2, 3, 4)),
    ("ZeroPadding2D", dict(), (2, 3, 4, 2)),
    ("ZeroPadding2D", dict(padding=(2, 1)), (2, 3, 4, 2)),
    ("ZeroPadding2D", dict(padding=((1, 0), (0, 2)), data_format="channels_first"), (2, 2, 3, 4)),
    ("Cropping1D", dict(), (2, 5, 3)),
    ("Cropping1D", dict(cropping=(2, 0)), (2, 5, 3)),
    ("Cropping2D", dict(cropping=1), (2, 5, 6, 2)),
    ("Cropping2D", dict(cropping=((1, 0), (0, 2))), (2, 5, 6, 2)),
    ("Cropping2D", dict(cropping=((0, 2), (1, 1)), data_format="channels_first"), (2, 2, 5, 6)),
    ("UpSampling1D", dict(), (2, 3, 4)),
    ("UpSampling1D", dict(size=3), (2, 3, 4)),
    ("UpSampling2D", dict(), (2, 3, 4, 2)),
    ("UpSampling2D", dict(size=(2, 3), data_format="channels_first"), (2, 2, 3, 4)),
    ("UpSampling2D", dict(size=(3, 2), interpolation="bilinear"), (2, 3, 4, 2)),
    ("UpSampling2D", dict(size=2, interpolation="bilinear", data_format="channels_first"), (2, 2, 3, 4)),
]
IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(CASES)]


def _pair(name, kwargs):
    return getattr(reshaping, name)(**kwargs), getattr(keras.layers, name)(**kwargs)


@pytest.mark.parametrize("name,kwargs,shape", CASES, ids=IDS)
def test_reshaping_matches_keras(name, kwargs, shape):
    ours, theirs = _pair(name, kwargs)
    out, _ = compare_layer(ours, theirs, random(shape, seed=1))
    assert ours.count_params() == 0
    assert tuple(out.shape) == tuple(theirs.compute_output_shape(shape))
    unknown = [shape, (None,) + shape[1:]]
    if name not in ("Reshape", "RepeatVector"):
        unknown.append((None,) + (None,) * (len(shape) - 2) + shape[-1:])
    for s in unknown:
        assert ours.compute_output_shape(s) == tuple(theirs.compute_output_shape(s)), s


def test_reshape_with_unknown_dims_keeps_them_unknown():
    layer = reshaping.Reshape((-1, 2))
    assert layer.compute_output_shape((None, None, 4)) == (None, None, 2)
    assert layer.compute_output_shape((None, 3, 4)) == (None, 6, 2)


@pytest.mark.parametrize("target,shape", [((5, 3), (2, 3, 4)), ((-1, 5), (2, 3, 4)), ((0, -1), (2, 3, 4))])
def test_reshape_size_mismatch_names_both_shapes(target, shape):
    layer = reshaping.Reshape(target, name="bad_reshape")
    for run in (lambda: layer(np.zeros(shape, "float32")), lambda: layer.compute_output_shape(shape)):
        with pytest.raises(ValueError, match="bad_reshape") as info:
            run()
        assert str(shape[1:]) in str(info.value) and str(target) in str(info.value)


def test_unknown_dims_stay_unknown_in_functional_model():
    # A crop or reshape that a small probe size could not satisfy still builds symbolically.
    inputs = workbench.Input((None, 3))
    cropped = reshaping.Cropping1D((4, 4))(inputs)
    outputs = reshaping.Reshape((-1, 2))(reshaping.Flatten()(cropped))
    assert (cropped.shape, outputs.shape) == ((None, None, 3), (None, None, 2))
    assert workbench.Model(inputs, outputs)(random((2, 12, 3))).shape == (2, 6, 2)


def test_flatten_channels_first_orders_like_channels_last():
    x = random((2, 3, 4, 5))
    first = reshaping.Flatten(data_format="channels_first")(np.transpose(x, (0, 3, 1, 2)))
    assert_close(first, reshaping.Flatten()(x), atol=0, rtol=0)


def test_upsampling_nearest_repeats_pixels():
    x = np.arange(4, dtype="float32").reshape(1, 2, 2, 1)
    out = np.asarray(reshaping.UpSampling2D((2, 1))(x))[0, :, :, 0]
    np.testing.assert_array_equal(out, [[0, 1], [0, 1], [2, 3], [2, 3]])


@pytest.mark.parametrize("name,kwargs,shape", CASES[::3], ids=IDS[::3])
def test_reshaping_config_round_trip(name, kwargs, shape):
    ours = getattr(reshaping, name)(**kwargs)
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
def test_reshaping_in_functional_model(name, kwargs, shape):
    ours, theirs = _pair(name, kwargs)
    inputs = workbench.Input(shape[1:])
    outputs = ours(inputs)
    assert outputs.shape == tuple(theirs.compute_output_shape((None,) + shape[1:]))
    model = workbench.Model(inputs, outputs)
    x = random(shape, seed=3)
    assert_close(model(x), theirs(x))


def test_flatten_then_dense_in_a_model_with_unknown_batch():
    inputs = workbench.Input((3, 4))
    outputs = workbench.layers.Dense(2, kernel_initializer="ones")(reshaping.Flatten()(inputs))
    model = workbench.Model(inputs, outputs)
    assert outputs.shape == (None, 2)
    assert model(random((5, 3, 4))).shape == (5, 2)


def test_default_data_format_follows_config():
    config.set_image_data_format("channels_first")
    try:
        layer = reshaping.ZeroPadding2D(1)
    finally:
        config.set_image_data_format("channels_last")
    assert layer.data_format == "channels_first"
    assert layer(random((1, 2, 3, 4))).shape == (1, 2, 5, 6)


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: reshaping.Reshape((2, -1, -1), name="bad_arg"), "target_shape"),
        (lambda: reshaping.Reshape((2, -3), name="bad_arg"), "target_shape"),
        (lambda: reshaping.Reshape(5, name="bad_arg"), "target_shape"),
        (lambda: reshaping.Permute((0, 1), name="bad_arg"), "dims"),
        (lambda: reshaping.Permute((1, 3), name="bad_arg"), "dims"),
        (lambda: reshaping.RepeatVector(0, name="bad_arg"), "n"),
        (lambda: reshaping.RepeatVector(2.5, name="bad_arg"), "n"),
        (lambda: reshaping.ZeroPadding1D(-1, name="bad_arg"), "padding"),
        (lambda: reshaping.ZeroPadding2D((1, 2, 3), name="bad_arg"), "padding"),
        (lambda: reshaping.Cropping1D((1, 2, 3), name="bad_arg"), "cropping"),
        (lambda: reshaping.Cropping2D(((1, -1), (0, 0)), name="bad_arg"), "cropping"),
        (lambda: reshaping.UpSampling1D(0, name="bad_arg"), "size"),
        (lambda: reshaping.UpSampling2D(interpolation="area", name="bad_arg"), "interpolation"),
        (lambda: reshaping.Flatten(data_format="NCHW", name="bad_arg"), "data_format"),
    ],
)
def test_invalid_arguments_raise_naming_the_layer(make, match):
    with pytest.raises(ValueError, match=match) as info:
        make()
    assert "bad_arg" in str(info.value)


@pytest.mark.parametrize(
    "make,shape",
    [
        (lambda: reshaping.Permute((2, 1), name="rank_check"), (2, 3, 4, 5)),
        (lambda: reshaping.RepeatVector(2, name="rank_check"), (2, 3, 4)),
        (lambda: reshaping.ZeroPadding1D(name="rank_check"), (2, 3)),
        (lambda: reshaping.ZeroPadding2D(name="rank_check"), (2, 3, 4)),
        (lambda: reshaping.Cropping1D((2, 2), name="rank_check"), (2, 4, 3)),  # crops everything
        (lambda: reshaping.Cropping2D(name="rank_check"), (2, 3, 4)),
        (lambda: reshaping.UpSampling1D(name="rank_check"), (2, 3, 4, 5)),
        (lambda: reshaping.UpSampling2D(name="rank_check"), (2, 3, 4)),
    ],
)
def test_bad_input_shapes_raise_naming_the_layer(make, shape):
    with pytest.raises(ValueError, match="rank_check"):
        make()(np.zeros(shape, "float32"))

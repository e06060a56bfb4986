"""Convolution layers (workbench/layers/conv.py, conv_base.py) against Keras 3."""

import json

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import workbench
from tests.layers.keras_oracle import assert_close, compare_layer, random
from workbench import config
from workbench.layers import conv

# (class name, constructor kwargs, input shape): each case is checked against Keras'
# layer of the same name for outputs, weight names and shapes, parameter count and output shape.
CASES = [
    ("Conv1D", dict(filters=4, kernel_size=2, strides=2, padding="same", use_bias=False), (2, 9, 3)),
    ("Conv1D", dict(filters=3, kernel_size=3, padding="causal", dilation_rate=2), (2, 9, 4)),
    (
        "Conv1D",
        dict(filters=4, kernel_size=3, padding="causal", strides=2, data_format="channels_first"),
        (2, 3, 8),
    ),
    ("Conv1D", dict(filters=4, kernel_size=3, groups=2, activation="relu"), (2, 8, 6)),
    ("Conv2D", dict(filters=4, kernel_size=(3, 2), strides=(2, 1), padding="same"), (2, 7, 8, 3)),
    ("Conv2D", dict(filters=4, kernel_size=3, dilation_rate=2), (2, 9, 9, 2)),
    ("Conv2D", dict(filters=6, kernel_size=3, groups=3, activation="tanh"), (2, 6, 6, 6)),
    (
        "Conv2D",
        dict(filters=4, kernel_size=3, strides=2, padding="same", data_format="channels_first"),
        (2, 3, 7, 6),
    ),
    ("Conv3D", dict(filters=4, kernel_size=3, strides=2, padding="same", groups=2), (1, 5, 5, 6, 4)),
    ("Conv3D", dict(filters=2, kernel_size=2, data_format="channels_first"), (1, 3, 4, 4, 5)),
    ("Conv1DTranspose", dict(filters=3, kernel_size=4, strides=3, output_padding=2), (2, 5, 4)),
    (
        "Conv1DTranspose",
        dict(filters=2, kernel_size=3, dilation_rate=2, data_format="channels_first"),
        (2, 4, 5),
    ),
    ("Conv2DTranspose", dict(filters=4, kernel_size=3, strides=2, padding="same"), (2, 5, 6, 3)),
    ("Conv2DTranspose", dict(filters=4, kernel_size=2, strides=3, padding="valid"), (2, 4, 5, 3)),
    (
        "Conv2DTranspose",
        dict(filters=4, kernel_size=4, strides=(2, 3), padding="same", output_padding=(1, 2)),
        (2, 5, 6, 3),
    ),
    (
        "Conv2DTranspose",
        dict(filters=4, kernel_size=3, strides=2, data_format="channels_first", activation="relu"),
        (2, 3, 5, 4),
    ),
    (
        "Conv3DTranspose",
        dict(filters=2, kernel_size=2, strides=2, padding="same", use_bias=False),
        (1, 3, 4, 3, 2),
    ),
    ("DepthwiseConv1D", dict(kernel_size=3, depth_multiplier=2), (2, 8, 3)),
    ("DepthwiseConv2D", dict(kernel_size=3, depth_multiplier=2, strides=2, padding="same"), (2, 7, 8, 3)),
    ("DepthwiseConv2D", dict(kernel_size=(2, 3), dilation_rate=2, activation="relu"), (2, 7, 8, 3)),
    (
        "DepthwiseConv2D",
        dict(kernel_size=3, depth_multiplier=3, data_format="channels_first", use_bias=False),
        (2, 2, 6, 7),
    ),
    ("SeparableConv1D", dict(filters=4, kernel_size=3, padding="same"), (2, 8, 3)),
    (
        "SeparableConv2D",
        dict(filters=5, kernel_size=3, depth_multiplier=2, strides=2, padding="same"),
        (2, 7, 8, 3),
    ),
    (
        "SeparableConv2D",
        dict(filters=4, kernel_size=3, dilation_rate=2, data_format="channels_first"),
        (2, 3, 9, 9),
    ),
]
IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(CASES)]

# Random initialisers compile a sampler per weight shape (about a second each on CPU), so both
# sides start from zeros and get the same random weights copied in instead.
_ZERO_INIT = {
    "Depthwise": ("depthwise_initializer",),
    "Separable": ("depthwise_initializer", "pointwise_initializer"),
}


def _zero_init(name, kwargs):
    keys = next((v for k, v in _ZERO_INIT.items() if name.startswith(k)), ("kernel_initializer",))
    return {**{k: "zeros" for k in keys}, **kwargs}


def _pair(name, kwargs, shape, seed=0):
    """Our layer and Keras', Keras' built with random weights (ours gets them in compare_layer)."""
    kwargs = _zero_init(name, kwargs)
    ours, theirs = getattr(conv, name)(**kwargs), getattr(keras.layers, name)(**kwargs)
    theirs.build(shape)
    theirs.set_weights([random(w.shape, seed=seed + i) for i, w in enumerate(theirs.weights)])
    return ours, theirs


@pytest.mark.parametrize("name,kwargs,shape", CASES, ids=IDS)
def test_conv_matches_keras(name, kwargs, shape):
    ours, theirs = _pair(name, kwargs, shape)
    out, _ = compare_layer(ours, theirs, random(shape, seed=1))
    assert tuple(out.shape) == tuple(theirs.compute_output_shape(shape))
    assert [w.path.split("/")[-1] for w in ours.weights] == [w.name for w in theirs.weights]


def _shape_grid():
    """Many (layer, input shape) combinations whose output shapes are checked without running."""
    grid = []
    for padding in ("valid", "same"):
        for strides, dilation in ((1, 1), (3, 1), (1, 2)):
            common = dict(kernel_size=3, strides=strides, padding=padding, dilation_rate=dilation)
            grid += [
                ("Conv1D", dict(filters=2, **common), (None, 10, 3)),
                ("Conv2D", dict(filters=2, data_format="channels_first", **common), (None, 3, 9, 10)),
                ("Conv2DTranspose", dict(filters=2, **common), (None, 5, 6, 3)),
                ("DepthwiseConv2D", dict(depth_multiplier=2, **common), (None, 9, 10, 3)),
                ("SeparableConv2D", dict(filters=4, **common), (None, 9, None, 3)),
            ]
    for strides, output_padding in ((2, 1), (3, 0), (3, 2)):
        for padding in ("valid", "same"):
            kw = dict(
                filters=2, kernel_size=4, strides=strides, padding=padding, output_padding=output_padding
            )
            grid.append(("Conv1DTranspose", kw, (None, 7, 3)))
    grid.append(("Conv1D", dict(filters=2, kernel_size=3, padding="causal", strides=2), (None, 10, 3)))
    return grid


@pytest.mark.parametrize("name,kwargs,shape", _shape_grid())
def test_output_shapes_match_keras(name, kwargs, shape):
    expected = tuple(getattr(keras.layers, name)(**kwargs).compute_output_shape(shape))
    ours = getattr(conv, name)(**_zero_init(name, kwargs))
    assert ours.compute_output_shape(shape) == expected
    # The shape the call really produces (traced, not run), for a concrete input shape.
    concrete = tuple(11 if d is None else d for d in shape)
    ours.build(concrete)
    traced = jax.eval_shape(ours, jax.ShapeDtypeStruct(concrete, "float32")).shape
    assert traced == tuple(getattr(keras.layers, name)(**kwargs).compute_output_shape(concrete))


@pytest.mark.parametrize("name,kwargs,shape", CASES[::4], ids=IDS[::4])
def test_conv_config_round_trip(name, kwargs, shape):
    ours, theirs = _pair(name, kwargs, shape)
    x = random(shape, seed=2)
    ours(x)
    ours.set_weights(theirs.get_weights())
    expected = ours(x)
    config_ = ours.get_config()
    assert set(theirs.get_config()) - {"dtype", "activity_regularizer"} <= set(config_)
    clone = type(ours).from_config(json.loads(json.dumps(config_)))
    clone(x)
    clone.set_weights(ours.get_weights())
    assert_close(clone(x), expected, atol=0, rtol=0)
    assert clone.get_config() == config_


@pytest.mark.parametrize("name,kwargs,shape", CASES[1::6], ids=IDS[1::6])
def test_conv_in_functional_model(name, kwargs, shape):
    ours, theirs = _pair(name, kwargs, shape)
    inputs = workbench.Input(shape[1:])
    outputs = ours(inputs)
    assert outputs.shape == tuple(theirs.compute_output_shape((None,) + shape[1:]))
    model = workbench.Model(inputs, outputs)
    model.set_weights(theirs.get_weights())
    x = random(shape, seed=3)
    assert_close(model(x), theirs(x))


def test_large_kernel_on_unknown_spatial_dims_in_functional_model():
    # Unknown dims stay unknown (a small probe size must not trip the "input too small" check).
    inputs = workbench.Input((None, None, 2))
    layer = conv.Conv2D(3, 9, kernel_initializer="ones")
    outputs = layer(inputs)
    assert outputs.shape == (None, None, None, 3)
    assert workbench.Model(inputs, outputs)(random((1, 12, 10, 2))).shape == (1, 4, 2, 3)


def test_numpy_integer_arguments_are_accepted_as_python_ints():
    layer = conv.Conv2D(np.int64(4), np.int32(3), strides=(np.int64(1), 1))
    config_ = json.loads(json.dumps(layer.get_config()))
    assert (config_["filters"], config_["kernel_size"], config_["strides"]) == (4, [3, 3], [1, 1])


def test_conv_kernel_regularizer_loss_matches_keras():
    kwargs = dict(filters=3, kernel_size=2, kernel_regularizer="l2", bias_regularizer="l1")
    ours, theirs = _pair("Conv2D", kwargs, (1, 4, 4, 2))
    compare_layer(ours, theirs, random((1, 4, 4, 2)))
    assert len(ours.losses) == 2
    assert_close(sum(ours.losses), sum(theirs.losses))


def test_conv_gradient_through_stateless_call():
    layer = conv.Conv2D(2, 3, padding="same", kernel_initializer="ones")
    x = random((1, 5, 5, 2))
    layer(x)
    variables = layer.get_variables()

    def loss(trainable):
        out, _ = layer.stateless_call({**variables, "trainable": trainable}, x)
        return jnp.sum(out**2)

    grads = jax.grad(loss)(variables["trainable"])
    assert set(grads) == {"kernel", "bias"}
    assert all(float(jnp.abs(g).sum()) > 0 for g in grads.values())


def test_default_data_format_follows_config():
    config.set_image_data_format("channels_first")
    try:
        layer = conv.Conv2D(4, 3, kernel_initializer="zeros")
    finally:
        config.set_image_data_format("channels_last")
    assert layer.data_format == "channels_first"
    assert layer(random((1, 2, 6, 6))).shape == (1, 4, 4, 4)
    assert conv.Conv2D(4, 3).data_format == "channels_last"


def test_bfloat16_policy_computes_in_bfloat16():
    layer = conv.Conv2D(3, 2, dtype="mixed_bfloat16", kernel_initializer="ones")
    out = layer(random((1, 4, 4, 2)))
    assert out.dtype == jnp.bfloat16
    assert layer.kernel.numpy().dtype == np.float32


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: conv.Conv2D(0, 3, name="bad_conv"), "filters"),
        (lambda: conv.Conv2D(4, 0, name="bad_conv"), "kernel_size"),
        (lambda: conv.Conv2D(4, (3, 3, 3), name="bad_conv"), "kernel_size"),
        (lambda: conv.Conv2D(4, 3, strides=0, name="bad_conv"), "strides"),
        (lambda: conv.Conv2D(4, 3, padding="full", name="bad_conv"), "padding"),
        (lambda: conv.Conv2D(4, 3, padding="causal", name="bad_conv"), "padding"),
        (lambda: conv.Conv2D(4, 3, data_format="NHWC", name="bad_conv"), "data_format"),
        (lambda: conv.Conv2D(4, 3, groups=3, name="bad_conv"), "groups"),
        (lambda: conv.Conv2D(4, 3, strides=2, dilation_rate=2, name="bad_conv"), "dilation_rate"),
        (lambda: conv.Conv2D(4, 3, use_bias="yes", name="bad_conv"), "use_bias"),
        (lambda: conv.Conv2DTranspose(4, 3, strides=2, output_padding=2, name="bad_conv"), "output_padding"),
        (lambda: conv.DepthwiseConv2D(3, depth_multiplier=0, name="bad_conv"), "depth_multiplier"),
        (lambda: conv.SeparableConv2D(-1, 3, name="bad_conv"), "filters"),
    ],
)
def test_invalid_arguments_raise_naming_the_layer(make, match):
    with pytest.raises(ValueError, match=match) as info:
        make()
    assert "bad_conv" in str(info.value)


@pytest.mark.parametrize(
    "layer,shape",
    [
        (lambda: conv.Conv2D(4, 3, name="rank_check"), (2, 8, 3)),
        (lambda: conv.Conv1D(4, 3, name="rank_check"), (2, 8, 8, 3)),
        (lambda: conv.Conv2DTranspose(4, 3, name="rank_check"), (8, 3)),
        (lambda: conv.DepthwiseConv2D(3, name="rank_check"), (2, 8, 8, 8, 3)),
        (lambda: conv.SeparableConv2D(4, 3, name="rank_check"), (2, 8, 3)),
        (lambda: conv.Conv2D(4, 5, name="rank_check"), (2, 4, 8, 3)),  # too small for "valid"
        (lambda: conv.Conv2D(4, 3, groups=2, name="rank_check"), (2, 8, 8, 3)),  # 3 channels, 2 groups
    ],
)
def test_bad_input_shapes_raise_naming_the_layer(layer, shape):
    with pytest.raises(ValueError, match="rank_check"):
        layer()(np.zeros(shape, "float32"))


def test_call_with_other_channel_count_than_built_raises():
    layer = conv.Conv2D(4, 3, name="built_for_three", kernel_initializer="zeros")
    layer(random((1, 5, 5, 3)))
    with pytest.raises(ValueError, match="built_for_three.*3 channels"):
        layer(random((1, 5, 5, 2)))


def test_unknown_channels_raise_in_functional_build():
    with pytest.raises(ValueError, match="unknown_channels"):
        conv.Conv2D(4, 3, name="unknown_channels")(workbench.Input((8, 8, None)))

"""Rescaling and Normalization (with adapt) against Keras 3."""

import json

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import workbench
from tests.layers.keras_oracle import assert_close, compare_layer, random
from workbench.layers import preprocessing as wp

DATA = random((12, 4, 3), seed=7, low=-5.0, high=20.0)


# ---------------------------------------------------------------- Rescaling
@pytest.mark.parametrize(
    "kwargs",
    [
        {"scale": 1 / 255.0},
        {"scale": 1 / 127.5, "offset": -1.0},
        {"scale": np.array([0.5, 2.0, 3.0], "float32")},
    ],
)
def test_rescaling_matches_keras(kwargs):
    x = random((2, 4, 3), seed=1, low=0.0, high=255.0)
    compare_layer(wp.Rescaling(**kwargs), keras.layers.Rescaling(**kwargs), x)
    assert wp.Rescaling(**kwargs).compute_output_shape((None, 4, 3)) == (None, 4, 3)


def test_rescaling_integer_images_become_floats():
    images = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    out = wp.Rescaling(1 / 255.0)(images)
    assert out.dtype == jnp.float32
    assert_close(out, images.astype("float32") / 255.0)


def test_rescaling_config_is_json_and_round_trips():
    layer = wp.Rescaling(np.array([0.5, 2.0, 3.0], "float32"), offset=np.float32(1.0))
    config = json.loads(json.dumps(layer.get_config()))
    assert config["scale"] == [0.5, 2.0, 3.0] and config["offset"] == 1.0
    x = random((2, 3), seed=2)
    assert_close(wp.Rescaling.from_config(config)(x), layer(x))


def test_rescaling_rejects_non_numeric_scale():
    with pytest.raises(ValueError, match="scale"):
        wp.Rescaling("half")


# ---------------------------------------------------------------- Normalization.adapt
def _adapted_pair(data, keras_data=None, **kwargs):
    ours, theirs = wp.Normalization(**kwargs), keras.layers.Normalization(**kwargs)
    ours.adapt(data)
    theirs.adapt(data if keras_data is None else keras_data)
    return ours, theirs


@pytest.mark.parametrize("axis", [-1, None, (1, 2), 1])
def test_adapt_numpy_matches_keras(axis):
    ours, theirs = _adapted_pair(DATA, axis=axis)
    assert [(w.name, w.shape, w.dtype) for w in ours.weights] == [
        (w.name, tuple(w.shape), np.dtype(w.dtype)) for w in theirs.weights
    ]
    assert not ours.trainable_weights
    assert_close(ours.get_weights(), theirs.get_weights())
    x = random((5, 4, 3), seed=3, low=-5.0, high=20.0)
    assert_close(ours(x), theirs(x))
    out = np.asarray(ours(DATA))
    reduce = tuple(d for d in range(3) if d not in ours._keep_axis)
    np.testing.assert_allclose(out.mean(axis=reduce), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=reduce), 1.0, atol=1e-4)


def test_adapt_jax_array_matches_keras():
    ours, theirs = _adapted_pair(jnp.asarray(DATA))
    assert_close(ours.get_weights(), theirs.get_weights())
    assert_close(ours(DATA), theirs(DATA))


def _keras_adapted(data, **kwargs):
    layer = keras.layers.Normalization(**kwargs)
    layer.adapt(data)
    return layer


# Keras' adapt() on an iterable needs TensorFlow (absent here), so iterables are checked against
# Keras adapted on the concatenated array: the pooled statistics agree up to float32 rounding.
def test_adapt_iterable_of_batches_matches_keras_on_whole_data():
    ours = wp.Normalization()
    ours.adapt([DATA[:5], DATA[5:9], DATA[9:]])  # unequal batch sizes exercise the pooled variance
    assert_close(ours.get_weights(), _keras_adapted(DATA).get_weights(), atol=1e-4)
    flat = DATA.reshape(-1, 3).astype("float64")
    assert_close(ours.adapt_variance.numpy(), flat.var(axis=0).astype("float32"), atol=1e-4)


def test_adapt_generator_of_xy_tuples_uses_the_inputs():
    labels = np.zeros((4,), "float32") + 1000.0

    def batches():
        for i in range(0, 12, 4):
            yield jnp.asarray(DATA[i : i + 4]), labels

    ours = wp.Normalization(axis=None)
    ours.adapt(batches())
    assert_close(ours.get_weights(), _keras_adapted(DATA, axis=None).get_weights(), atol=1e-4)
    assert ours.adapt_mean.numpy() < 100.0  # the labels did not leak into the statistics


def test_adapt_again_replaces_statistics_even_after_compiled_calls():
    ours = wp.Normalization()
    ours.adapt(DATA)
    x = random((5, 4, 3), seed=4)
    first = ours(x)
    ours(x)  # cached compiled call
    ours.adapt(DATA * 2.0 + 1.0)
    theirs = keras.layers.Normalization()
    theirs.adapt(DATA * 2.0 + 1.0)
    assert_close(ours(x), theirs(x))
    assert not np.allclose(first, ours(x))


def test_invert_undoes_normalization():
    ours, theirs = _adapted_pair(DATA, invert=True)
    z = random((5, 4, 3), seed=5)
    assert_close(ours(z), theirs(z))
    forward = wp.Normalization()
    forward.adapt(DATA)
    assert_close(forward(ours(z)), z, atol=1e-5)


# ---------------------------------------------------------------- Normalization with given statistics
@pytest.mark.parametrize(
    "axis, mean, variance",
    [(-1, [1.0, 2.0, 3.0], [4.0, 0.25, 9.0]), (-1, 2.0, 4.0), ((1, 2), [1.0, -1.0, 0.5], [2.0, 3.0, 4.0])],
)
def test_given_mean_and_variance_match_keras(axis, mean, variance):
    kwargs = {"axis": axis, "mean": mean, "variance": variance}
    ours, theirs = wp.Normalization(**kwargs), keras.layers.Normalization(**kwargs)
    compare_layer(ours, theirs, DATA)
    assert ours.weights == [] and len(theirs.weights) == 0
    config = ours.get_config()
    assert config["mean"] == mean and config["variance"] == variance
    clone = wp.Normalization.from_config(json.loads(json.dumps(config)))
    assert_close(clone(DATA), ours(DATA))


def test_adapted_config_round_trip_and_set_weights():
    ours = wp.Normalization(axis=1)
    ours.adapt(DATA)
    config = ours.get_config()
    assert config["mean"] is None and config["variance"] is None and config["axis"] == [1]
    clone = wp.Normalization.from_config(config)
    clone.build(DATA.shape)
    clone.set_weights(ours.get_weights())
    assert_close(clone(DATA), ours(DATA))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"mean": 1.0}, "both"),
        ({"mean": [1.0, 2.0], "variance": [1.0]}, "same shape"),
        ({"axis": -1, "mean": [[1.0]], "variance": [[1.0]]}, "at most"),
        ({"axis": "last"}, "axis"),
    ],
)
def test_invalid_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        wp.Normalization(**kwargs)


def test_adapt_and_build_errors_name_the_layer():
    fixed = wp.Normalization(mean=0.0, variance=1.0, name="norm_fixed")
    with pytest.raises(ValueError, match="norm_fixed"):
        fixed.adapt(DATA)
    layer = wp.Normalization(name="norm_shape")
    layer.adapt(DATA)
    with pytest.raises(ValueError, match="norm_shape"):
        layer.adapt(random((4, 4, 5)))
    with pytest.raises(ValueError, match="norm_shape"):
        layer.adapt([DATA[:4], random((4, 4, 5))])
    with pytest.raises(ValueError, match="norm_axis"):
        wp.Normalization(axis=3, name="norm_axis").adapt(DATA)
    with pytest.raises(TypeError, match="norm_type"):
        wp.Normalization(name="norm_type").adapt(3.0)


def test_in_functional_model_matches_keras_and_is_pure():
    def build(lib, layers, norm):
        inp = lib.Input(shape=(4, 3))
        return lib.Model(inp, norm(layers.Rescaling(0.5, offset=1.0)(inp)))

    ours_norm, theirs_norm = _adapted_pair(DATA * 0.5 + 1.0)
    ours = build(workbench, wp, ours_norm)
    theirs = build(keras, keras.layers, theirs_norm)
    assert_close(ours(DATA), theirs(DATA))
    out, new_state = jax.jit(ours.stateless_call)(ours.get_variables(), DATA)
    assert_close(out, theirs(DATA))
    stats = ours.get_variables()["non_trainable"]
    assert sorted(new_state) == sorted(stats) and len(stats) == 3  # mean, variance, count: left unchanged
    for key, value in stats.items():
        np.testing.assert_array_equal(new_state[key], value)

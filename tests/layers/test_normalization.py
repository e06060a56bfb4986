"""BatchNormalization, LayerNormalization, RMSNormalization and GroupNormalization against Keras 3."""

import contextlib

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import workbench
from tests.layers.keras_oracle import assert_close, compare_layer, random
from workbench import layers as wn  # BatchNormalization has its own module

X3 = random((4, 5, 6), seed=1, low=-2.0, high=3.0)
X4 = random((3, 4, 2, 6), seed=2, low=-1.0, high=2.0)


def _keras_moving(layer):
    return [np.asarray(layer.moving_mean.value), np.asarray(layer.moving_variance.value)]


def _ours_moving(layer):
    return [layer.moving_mean.numpy(), layer.moving_variance.numpy()]


def _pair(name, **kwargs):
    return getattr(wn, name)(**kwargs), getattr(keras.layers, name)(**kwargs)


# ---------------------------------------------------------------- BatchNormalization
@pytest.mark.parametrize(
    "x, kwargs",
    [
        (X3, {}),
        (X4, {"axis": 1, "momentum": 0.9, "epsilon": 1e-2, "center": False}),
        (X4, {"scale": False, "axis": -2}),
    ],
)
def test_batch_norm_matches_keras_in_both_modes(x, kwargs):
    ours, theirs = _pair("BatchNormalization", **kwargs)
    compare_layer(ours, theirs, x, training_modes=(False, True))
    assert ours.compute_output_shape(x.shape) == tuple(theirs.compute_output_shape(x.shape))


def _perturbed_pair(**kwargs):
    """Layers whose weights and moving statistics are not the initial ones, so updates are visible."""
    ours, theirs = _pair("BatchNormalization", **kwargs)
    theirs.build(X3.shape)
    ours.build(X3.shape)
    theirs.set_weights(
        [random(w.shape, seed=10 + i, low=0.5, high=1.5) for i, w in enumerate(theirs.weights)]
    )
    ours.set_weights(theirs.get_weights())
    return ours, theirs


def test_batch_norm_training_updates_moving_stats_like_keras():
    ours, theirs = _perturbed_pair(momentum=0.8)
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    assert [w.trainable for w in ours.weights] == [w.trainable for w in theirs.weights]
    assert_close(ours(X3, training=True), theirs(X3, training=True))
    assert_close(_ours_moving(ours), _keras_moving(theirs))
    # Inference reads the updated statistics and changes nothing.
    assert_close(ours(X3, training=False), theirs(X3, training=False))
    assert_close(_ours_moving(ours), _keras_moving(theirs))
    # A second training call (now through the cached compiled path) keeps matching.
    x2 = random(X3.shape, seed=5)
    assert_close(ours(x2, training=True), theirs(x2, training=True))
    assert_close(_ours_moving(ours), _keras_moving(theirs))


def test_batch_norm_stateless_call_returns_keras_moving_stats():
    ours_bn, theirs_bn = _perturbed_pair(momentum=0.7)
    inp = workbench.Input(shape=X3.shape[1:])
    model = workbench.Model(inp, ours_bn(inp))
    before = model.get_variables()
    expected_out = theirs_bn(X3, training=True)
    expected_stats = _keras_moving(theirs_bn)

    out, new_nt = jax.jit(lambda v, x: model.stateless_call(v, x, training=True))(before, X3)
    assert_close(out, expected_out)
    values = list(new_nt.values())
    names = list(new_nt)
    assert len(values) == 2 and "moving_mean" in names[0] and "moving_variance" in names[1]
    assert_close(values, expected_stats)
    # Pure: the layer itself still holds the old statistics until the caller writes them back.
    assert not np.allclose(ours_bn.moving_mean.numpy(), expected_stats[0])
    model.set_variables({"trainable": before["trainable"], "non_trainable": new_nt})
    assert_close(_ours_moving(ours_bn), expected_stats)


def test_batch_norm_masked_training_matches_keras():
    mask = np.array([[1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1], [1, 1, 0, 1, 0]], dtype=bool)
    ours, theirs = _perturbed_pair()
    assert_close(ours(X3, training=True, mask=mask), theirs(X3, training=True, mask=mask))
    assert_close(_ours_moving(ours), _keras_moving(theirs))
    unmasked, _ = _perturbed_pair()
    unmasked(X3, training=True)
    assert not np.allclose(unmasked.moving_mean.numpy(), ours.moving_mean.numpy())
    with pytest.raises(ValueError, match=ours.name):
        ours(X3, training=True, mask=mask[:, :, None])


def test_batch_norm_frozen_layer_runs_in_inference_mode():
    ours, theirs = _perturbed_pair()
    ours.trainable = theirs.trainable = False
    stats = _ours_moving(ours)
    assert_close(ours(X3, training=True), theirs(X3, training=True))
    assert_close(_ours_moving(ours), stats)


def test_batch_norm_mixed_precision_computes_in_float32():
    x = random((16, 4), seed=3, low=100.0, high=300.0)  # squares overflow float16 sums without the upcast
    ours, theirs = _pair("BatchNormalization", dtype="mixed_float16")
    o, t = compare_layer(ours, theirs, x, training_modes=(True,), atol=2e-3, rtol=2e-3)
    assert o.dtype == jnp.float16 and ours.moving_mean.dtype == jnp.float32
    assert np.isfinite(np.asarray(o, dtype=np.float32)).all()
    assert_close(_ours_moving(ours), _keras_moving(theirs), atol=1e-2, rtol=1e-3)


def test_batch_norm_regularizers_and_constraints():
    ours, theirs = _pair(
        "BatchNormalization", gamma_regularizer="l2", beta_regularizer="l1", gamma_constraint="non_neg"
    )
    compare_layer(ours, theirs, X3)
    assert len(ours.losses) == 2
    assert_close(sum(ours.losses), sum(theirs.losses))
    assert ours.gamma.constraint is not None


# ---------------------------------------------------------------- LayerNormalization
@pytest.mark.parametrize(
    "x, kwargs",
    [
        (X3, {"epsilon": 1e-5}),
        (X4, {"axis": [-2, 1], "center": False}),
        (X4, {"axis": (1, 3), "scale": False}),
        (X3, {"rms_scaling": True}),
    ],
)
def test_layer_norm_matches_keras(x, kwargs):
    with pytest.warns(UserWarning) if kwargs.get("rms_scaling") else contextlib.nullcontext():
        ours = wn.LayerNormalization(**kwargs)
    theirs = keras.layers.LayerNormalization(**kwargs)
    theirs.build(x.shape)
    theirs.set_weights([random(w.shape, seed=20 + i) for i, w in enumerate(theirs.weights)])
    ours.build(x.shape)
    compare_layer(ours, theirs, x)
    assert ours.compute_output_shape(x.shape) == tuple(theirs.compute_output_shape(x.shape))


def test_layer_norm_mixed_precision():
    x = random((4, 8), seed=4, low=200.0, high=260.0)
    ours, theirs = _pair("LayerNormalization", dtype="mixed_float16")
    o, _ = compare_layer(ours, theirs, x, atol=2e-3, rtol=2e-3)
    assert o.dtype == jnp.float16
    assert ours.gamma.dtype == jnp.float32


# ---------------------------------------------------------------- RMSNormalization
@pytest.mark.parametrize("x, kwargs", [(X3, {}), (X3, {"epsilon": 1e-2}), (X4, {"axis": [2, 3]})])
def test_rms_norm_matches_keras(x, kwargs):
    ours, theirs = _pair("RMSNormalization", **kwargs)
    theirs.build(x.shape)
    theirs.set_weights([random(w.shape, seed=30) for w in theirs.weights])
    ours.build(x.shape)
    compare_layer(ours, theirs, x)
    assert [w.name for w in ours.weights] == ["scale"]
    assert ours.compute_output_shape(x.shape) == tuple(theirs.compute_output_shape(x.shape))


# ---------------------------------------------------------------- GroupNormalization
@pytest.mark.parametrize(
    "x, kwargs",
    [
        (X3, {"groups": 3}),
        (X3, {"groups": -1, "center": False}),
        (X4, {"groups": 2, "axis": 1}),
        (X4, {"groups": 2, "axis": -2, "scale": False, "epsilon": 1e-5}),
    ],
)
def test_group_norm_matches_keras(x, kwargs):
    ours, theirs = _pair("GroupNormalization", **kwargs)
    theirs.build(x.shape)
    theirs.set_weights([random(w.shape, seed=40 + i) for i, w in enumerate(theirs.weights)])
    ours.build(x.shape)
    compare_layer(ours, theirs, x)
    assert ours.compute_output_shape(x.shape) == tuple(theirs.compute_output_shape(x.shape))


# ---------------------------------------------------------------- shared behaviour
@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("BatchNormalization", {"axis": 1, "momentum": 0.9, "gamma_regularizer": "l2", "synchronized": True}),
        ("LayerNormalization", {"axis": [1, 2], "epsilon": 1e-4, "beta_initializer": "ones"}),
        ("RMSNormalization", {"epsilon": 1e-3}),
        ("GroupNormalization", {"groups": 2, "gamma_constraint": "non_neg"}),
    ],
)
def test_config_round_trip(name, kwargs):
    layer = getattr(wn, name)(**kwargs)
    out = layer(X4, training=False)
    for key, value in kwargs.items():
        got = layer.get_config()[key]
        assert got == value or (isinstance(got, dict) and got), (key, got)
    clone = type(layer).from_config(layer.get_config())
    clone(X4)
    clone.set_weights(layer.get_weights())
    assert_close(clone(X4, training=False), out)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: wn.BatchNormalization(axis="last"), "axis"),
        (lambda: wn.BatchNormalization(renorm=True), "renorm"),
        (lambda: wn.LayerNormalization(axis=1.5), "axis"),
        (lambda: wn.GroupNormalization(groups=0), "groups"),
        (lambda: wn.RMSNormalization(axis="x"), "axis"),
    ],
)
def test_invalid_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    "layer, x",
    [
        (wn.BatchNormalization(axis=3, name="bn_bad_axis"), X3),
        (wn.LayerNormalization(axis=[1, 5], name="ln_bad_axis"), X3),
        (wn.RMSNormalization(axis=-4, name="rms_bad_axis"), X3),
        (wn.GroupNormalization(groups=4, name="gn_bad_groups"), X3),
    ],
)
def test_build_errors_name_the_layer(layer, x):
    with pytest.raises(ValueError, match=layer.name):
        layer(x)


@pytest.mark.parametrize("name", ["BatchNormalization", "LayerNormalization", "RMSNormalization"])
def test_wrong_input_shape_after_build_raises(name):
    layer = getattr(wn, name)(name=f"{name.lower()}_shape_check")
    layer(X3)
    with pytest.raises(ValueError, match=layer.name):
        layer(random((4, 5, 7)))
    with pytest.raises(ValueError, match=layer.name):
        layer(random((4, 6)))


def test_functional_model_matches_keras():
    def build(lib, layers):
        inp = lib.Input(shape=(5, 6))
        x = layers.BatchNormalization(momentum=0.5)(inp)
        x = layers.LayerNormalization()(x)
        x = layers.GroupNormalization(groups=2)(x)
        x = layers.RMSNormalization()(x)
        return lib.Model(inp, x)

    theirs = build(keras, keras.layers)
    ours = build(workbench, wn)
    theirs.set_weights(
        [random(w.shape, seed=50 + i, low=0.5, high=1.5) for i, w in enumerate(theirs.weights)]
    )
    ours.set_weights(theirs.get_weights())
    assert ours.count_params() == theirs.count_params()
    assert ours.output_shape == theirs.output_shape
    assert_close(ours(X3, training=False), theirs(X3, training=False))
    assert_close(ours(X3, training=True), theirs(X3, training=True))
    assert_close(ours.get_weights(), theirs.get_weights())

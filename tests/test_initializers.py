"""workbench.initializers: Keras names, fan rules, statistics, seeding and (de)serialization."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import math

import jax.numpy as jnp
import keras
import numpy as np
import pytest
from keras.src.initializers.random_initializers import compute_fans as keras_compute_fans

from workbench import initializers
from workbench.core import rng

CLASSES = [
    "Constant", "Zeros", "Ones", "Identity", "RandomNormal", "RandomUniform", "TruncatedNormal",
    "VarianceScaling", "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform",
    "LecunNormal", "Orthogonal",
]  # fmt: skip
RANDOM = [c for c in CLASSES if c not in ("Constant", "Zeros", "Ones", "Identity")]
KERNEL = (3, 3, 64, 96)  # a conv kernel: fan_in = 9 * 64, fan_out = 9 * 96; 55k samples
SMALL = (8, 8)  # tests share shapes because every new (shape, dtype) costs a compile


def _np(x):
    return np.asarray(x, dtype="float64")


@pytest.mark.parametrize(
    "shape", [(), (7,), (3, 4), (3, 3, 16, 32), (5, 8, 2), (2, 3, 3, 4, 8), (1, 1, 1, 1)]
)
def test_compute_fans_matches_keras(shape):
    assert initializers.compute_fans(shape) == keras_compute_fans(shape)


def test_compute_fans_with_explicit_axes_matches_keras():
    shape = (4, 6, 8, 10)
    args = {"input_axes": (0, 1), "output_axes": (2, 3)}
    assert initializers.compute_fans(shape, **args) == keras_compute_fans(shape, **args) == (24, 80)


@pytest.mark.parametrize("name", CLASSES)
def test_shape_and_dtype(name):
    out = getattr(initializers, name)()(SMALL)
    assert out.shape == SMALL and out.dtype == jnp.float32


# A random path (truncated normal), the QR path (computed in float32 then cast) and a constant one.
@pytest.mark.parametrize(
    "init",
    [initializers.HeNormal(), initializers.Orthogonal(), initializers.Constant(1.5)],
    ids=lambda i: type(i).__name__,
)
def test_half_precision(init):
    out = init(SMALL, dtype="bfloat16")
    assert out.shape == SMALL and out.dtype == jnp.bfloat16
    assert bool(jnp.all(jnp.isfinite(out))) and float(jnp.abs(out).max()) > 0


def test_dtype_objects_are_accepted():
    assert initializers.Zeros()(SMALL, dtype=jnp.float16).dtype == jnp.float16
    assert initializers.Ones()(SMALL, dtype=np.dtype("int32")).dtype == jnp.int32


@pytest.mark.parametrize(
    ("init", "mean", "std", "bound"),
    [
        (initializers.RandomNormal(mean=1.0, stddev=2.0), 1.0, 2.0, None),
        (initializers.RandomUniform(minval=-1.0, maxval=3.0), 1.0, 4 / math.sqrt(12), (-1.0, 3.0)),
        # A unit normal truncated at +-2 has standard deviation 0.8796.
        (initializers.TruncatedNormal(mean=0.5, stddev=2.0), 0.5, 2.0 * 0.87962566, (-3.5, 4.5)),
    ],
    ids=["RandomNormal", "RandomUniform", "TruncatedNormal"],
)
def test_plain_random_statistics(init, mean, std, bound):
    w = _np(init(KERNEL))
    assert w.mean() == pytest.approx(mean, abs=0.03)
    assert w.std() == pytest.approx(std, rel=0.02)
    if bound:
        assert bound[0] <= w.min() and w.max() <= bound[1]


# name -> (scale, mode, distribution) as Keras defines them.
PRESETS = {
    "GlorotUniform": (1.0, "fan_avg", "uniform"),
    "GlorotNormal": (1.0, "fan_avg", "truncated_normal"),
    "HeUniform": (2.0, "fan_in", "uniform"),
    "HeNormal": (2.0, "fan_in", "truncated_normal"),
    "LecunUniform": (1.0, "fan_in", "uniform"),
    "LecunNormal": (1.0, "fan_in", "truncated_normal"),
}


def _expected_std(scale, mode, shape):
    fan_in, fan_out = keras_compute_fans(shape)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    return math.sqrt(scale / n)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_variance_scaling_presets_follow_the_keras_formulas(name):
    scale, mode, distribution = PRESETS[name]
    ours = getattr(initializers, name)(seed=0)
    theirs = getattr(keras.initializers, name)(seed=0)
    assert (ours.scale, ours.mode, ours.distribution) == (theirs.scale, theirs.mode, theirs.distribution)
    w = _np(ours(KERNEL))
    std = _expected_std(scale, mode, KERNEL)
    assert abs(w.mean()) < 0.05 * std
    assert w.std() == pytest.approx(std, rel=0.02)
    if distribution == "uniform":
        limit = math.sqrt(3.0) * std
        assert w.min() >= -limit and w.max() <= limit and w.max() > 0.99 * limit
    else:  # truncated at two (corrected) standard deviations
        assert np.abs(w).max() <= 2 * std / 0.87962566103423978 + 1e-6


@pytest.mark.parametrize(
    ("mode", "distribution"),
    [("fan_out", "untruncated_normal"), ("fan_avg", "normal"), ("fan_in", "uniform")],
)
def test_variance_scaling_modes_and_distributions(mode, distribution):
    init = initializers.VarianceScaling(scale=3.0, mode=mode, distribution=distribution, seed=1)
    w = _np(init(KERNEL))
    assert w.std() == pytest.approx(_expected_std(3.0, mode, KERNEL), rel=0.02)
    if distribution == "untruncated_normal":  # heavy tails survive: some |w| beyond 2 sigma
        assert np.abs(w).max() > 2.5 * w.std()
    if distribution == "normal":
        assert init.distribution == "truncated_normal"


def test_constant_zeros_ones_identity():
    np.testing.assert_array_equal(initializers.Constant(2.5)((2, 3)), np.full((2, 3), 2.5))
    np.testing.assert_array_equal(initializers.Constant([1.0, 2.0])((3, 2)), [[1, 2]] * 3)
    np.testing.assert_array_equal(initializers.Zeros()((2, 2)), np.zeros((2, 2)))
    np.testing.assert_array_equal(initializers.Ones()((2,), "int32"), np.ones(2, "int32"))
    np.testing.assert_array_equal(initializers.Identity(gain=3.0)((3, 4)), 3 * np.eye(3, 4))
    with pytest.raises(ValueError, match=r"2-D.*shape=\(2, 2, 2\) of rank 3"):
        initializers.Identity()((2, 2, 2))


@pytest.mark.parametrize("name", RANDOM)
def test_int_seed_repeats_values_and_different_seeds_differ(name):
    cls = getattr(initializers, name)
    a, b = cls(seed=7), cls(seed=7)
    first = _np(a(SMALL))
    np.testing.assert_array_equal(first, _np(a(SMALL)))
    np.testing.assert_array_equal(first, _np(b(SMALL)))
    assert not np.allclose(first, _np(cls(seed=8)(SMALL)))


@pytest.mark.parametrize("name", RANDOM)
def test_no_seed_draws_fresh_values_each_call(name):
    init = getattr(initializers, name)()
    assert not np.allclose(_np(init(SMALL)), _np(init(SMALL)))


def test_global_seed_makes_unseeded_initializers_reproducible():
    init = initializers.GlorotUniform()
    rng.set_global_seed(123)
    first = [_np(init(SMALL)), _np(init(SMALL))]
    rng.set_global_seed(123)
    second = [_np(init(SMALL)), _np(init(SMALL))]
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.allclose(first[0], first[1])


def test_seed_inside_a_key_scope_comes_from_that_key():
    import jax

    init = initializers.HeNormal()
    with rng.key_scope(jax.random.key(5)):
        a = _np(init(SMALL))
    with rng.key_scope(jax.random.key(5)):
        b = _np(init(SMALL))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("shape", [(30, 50), (3, 3, 4, 8)])  # wide, and tall after flattening to (36, 8)
def test_orthogonal_is_orthogonal(shape):
    w = _np(initializers.Orthogonal(gain=2.0, seed=3)(shape)).reshape(-1, shape[-1])
    gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
    np.testing.assert_allclose(gram, 4.0 * np.eye(gram.shape[0]), atol=1e-4)


def test_orthogonal_needs_rank_2():
    with pytest.raises(ValueError, match=r"rank >= 2; got shape=\(5,\)"):
        initializers.Orthogonal()((5,))


KERAS_NAMES = sorted(
    n
    for n in keras.src.initializers.ALL_OBJECTS_DICT
    if n not in ("Initializer", "initializer") and "stft" not in n.lower()
)


@pytest.mark.parametrize("name", KERAS_NAMES)
def test_every_keras_name_resolves_to_the_same_class(name):
    ours = initializers.get(name)
    # keras.initializers.get("constant") fails on Keras' own from_config, so build the class directly.
    theirs = keras.src.initializers.ALL_OBJECTS_DICT[name]()
    assert type(ours).__name__ == type(theirs).__name__
    # Same config keys; Keras' Identity.get_config forgets `gain`, which ours keeps.
    keras_forgets = {"gain"} if isinstance(ours, initializers.Identity) else set()
    assert set(ours.get_config()) - keras_forgets == set(theirs.get_config())


@pytest.mark.parametrize(
    "init",
    [
        initializers.GlorotUniform(seed=4),
        initializers.HeNormal(seed=None, input_axes=(0,), output_axes=(1,)),
        initializers.VarianceScaling(scale=0.5, mode="fan_out", distribution="uniform", seed=2),
        initializers.RandomNormal(mean=0.1, stddev=0.3, seed=5),
        initializers.RandomUniform(minval=0.0, maxval=2.0),
        initializers.TruncatedNormal(stddev=0.2, seed=9),
        initializers.Orthogonal(gain=0.5, seed=11),
        initializers.Constant(0.25),
        initializers.Identity(gain=2.0),
        initializers.Zeros(),
        initializers.Ones(),
    ],
    ids=lambda i: type(i).__name__,
)
def test_serialize_round_trip(init):
    config = initializers.serialize(init)
    assert config == {"class_name": type(init).__name__, "config": init.get_config()}
    rebuilt = initializers.get(config)
    assert type(rebuilt) is type(init) and rebuilt.get_config() == init.get_config()
    assert type(init.clone()) is type(init) and init.clone().get_config() == init.get_config()
    if init.get_config().get("seed", 0) is not None:  # deterministic: rebuilt gives the same values
        np.testing.assert_array_equal(_np(rebuilt(SMALL)), _np(init(SMALL)))


def test_get_reads_keras_serialized_configs():
    config = keras.initializers.serialize(keras.initializers.HeNormal(seed=5))
    ours = initializers.get(config)
    assert isinstance(ours, initializers.HeNormal) and ours.seed == 5
    config = keras.initializers.serialize(keras.initializers.RandomUniform(minval=-2.0, maxval=1.0))
    assert initializers.get(config).get_config() == {"seed": None, "minval": -2.0, "maxval": 1.0}


def test_get_accepts_classes_instances_callables_arrays_and_none():
    assert initializers.get(None) is None
    assert initializers.serialize(None) is None  # as Keras: an unset initializer stays unset
    assert isinstance(initializers.get(initializers.Orthogonal), initializers.Orthogonal)
    inst = initializers.Zeros()
    assert initializers.get(inst) is inst

    def fn(shape, dtype=None):
        return jnp.ones(shape, dtype)

    assert initializers.get(fn) is fn
    fixed = initializers.get(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(fixed((2, 3)), np.arange(6.0).reshape(2, 3))
    with pytest.raises(ValueError, match=r"shape \(2, 3\); got shape=\(3, 2\)"):
        fixed((3, 2))


def test_unknown_name_lists_valid_names_and_suggests_one():
    with pytest.raises(ValueError, match="Unknown initializer 'glorot_unifrom'") as info:
        initializers.get("glorot_unifrom")
    message = str(info.value)
    assert "Did you mean 'glorot_uniform'?" in message
    for name in ("he_normal", "orthogonal", "zeros", "GlorotUniform"):
        assert name in message
    with pytest.raises(ValueError, match="Unknown initializer 'Nope'"):
        initializers.get({"class_name": "Nope", "config": {}})


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="positive scale; got scale=0"):
        initializers.VarianceScaling(scale=0)
    with pytest.raises(ValueError, match="mode='fan_mid'"):
        initializers.VarianceScaling(mode="fan_mid")
    with pytest.raises(ValueError, match="distribution='gamma'"):
        initializers.VarianceScaling(distribution="gamma")
    with pytest.raises(TypeError, match="seed to be an int or None; got str"):
        initializers.GlorotUniform(seed="1")
    with pytest.raises(ValueError, match="float dtype; got dtype='int32'"):
        initializers.HeNormal()((2, 2), dtype="int32")
    with pytest.raises(TypeError, match="got int: 5"):
        initializers.get(5)
    with pytest.raises(TypeError, match="Initializer instance"):
        initializers.serialize(lambda shape, dtype=None: jnp.zeros(shape))
    with pytest.raises(ValueError, match='"class_name"'):
        initializers.get({"config": {}})

"""workbench.activations against keras.activations (JAX backend): values, names, signatures, lookup."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import inspect

import keras
import numpy as np
import pytest
from keras.src.activations import ALL_OBJECTS_DICT as KERAS_ACTIVATIONS

from workbench import activations

rng = np.random.default_rng(1)
# Random values plus the kinks of the piecewise activations (-3, -1, 0, 1, 3, 6) and large magnitudes.
EDGES = [-30.0, -6.0, -3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 6.0, 30.0]
# Shape (3, 4, 5) as in test_ops.py, so the per-shape op compilations are shared.
X = np.concatenate([rng.standard_normal(49) * 4, EDGES]).astype("float32").reshape(3, 4, 5)

# Every Keras activation except `threshold`, whose two arguments have no defaults.
NAMES = sorted(n for n in KERAS_ACTIVATIONS if n != "threshold")

WITH_ARGUMENTS = [
    ("relu", {"negative_slope": 0.1}),
    ("relu", {"max_value": 6.0}),
    ("relu", {"max_value": 2.5}),
    ("relu", {"threshold": 0.5}),
    ("relu", {"negative_slope": 0.3, "max_value": 4.0}),
    ("relu", {"negative_slope": 0.3, "threshold": -1.0}),
    ("relu", {"negative_slope": 0.2, "max_value": 3.0, "threshold": 1.0}),
    ("leaky_relu", {"negative_slope": 0.01}),
    ("elu", {"alpha": 0.5}),
    ("celu", {"alpha": 2.0}),
    ("gelu", {"approximate": True}),
    ("softmax", {"axis": 0}),
    ("softmax", {"axis": (0, 1)}),
    ("log_softmax", {"axis": 0}),
    ("glu", {"axis": 1}),
    ("squareplus", {"b": 1.0}),
    ("soft_shrink", {"threshold": 1.0}),
    ("hard_shrink", {"threshold": 2.0}),
    ("threshold", {"threshold": 0.3, "default_value": -1.0}),
    ("sparsemax", {"axis": 0}),
]


def _assert_close(ours, theirs):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_matches_keras_by_name(name):
    x = X[..., :4] if name == "glu" else X  # glu halves the last axis, so it must be even
    _assert_close(activations.get(name)(x), keras.activations.get(name)(x))


@pytest.mark.parametrize(
    ("name", "kwargs"), WITH_ARGUMENTS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(WITH_ARGUMENTS)]
)
def test_matches_keras_with_arguments(name, kwargs):
    _assert_close(getattr(activations, name)(X, **kwargs), getattr(keras.activations, name)(X, **kwargs))


@pytest.mark.parametrize("name", sorted(KERAS_ACTIVATIONS))
def test_signature_matches_keras(name):
    def params(fn):
        return [(p.name, p.default) for p in inspect.signature(fn).parameters.values()]

    assert params(activations.get(name)) == params(KERAS_ACTIVATIONS[name])


@pytest.mark.parametrize("name", sorted(KERAS_ACTIVATIONS))
def test_serialize_gives_the_keras_name_and_round_trips(name):
    fn = activations.get(name)
    assert activations.serialize(fn) == keras.activations.serialize(KERAS_ACTIVATIONS[name])
    assert activations.get(activations.serialize(fn)) is fn


def test_softmax_on_a_rank_1_input():
    v = X[0, 0]
    out = activations.softmax(v)
    assert out.shape == v.shape
    assert float(out.sum()) == pytest.approx(1.0, abs=1e-6)
    _assert_close(out, keras.activations.softmax(v))


def test_gelu_is_exact_by_default_like_keras_activations():
    assert not np.allclose(activations.gelu(X), activations.gelu(X, approximate=True), atol=1e-6)
    _assert_close(activations.gelu(X), keras.activations.gelu(X))


def test_hard_sigmoid_is_relu6_of_x_plus_3_over_6():
    np.testing.assert_allclose(activations.hard_sigmoid(X), np.clip(X + 3, 0, 6) / 6, atol=1e-7)


def test_aliases_resolve_to_the_canonical_functions():
    assert activations.get("swish") is activations.silu is activations.swish
    assert activations.get("hard_swish") is activations.hard_silu is activations.hard_swish
    assert activations.serialize(activations.swish) == "silu"
    assert activations.serialize("hard_swish") == "hard_silu"


def test_get_none_callable_and_dict():
    assert activations.get(None) is activations.linear
    assert activations.linear(X) is X

    def custom(x):
        return x * 2

    assert activations.get(custom) is custom
    assert activations.get({"class_name": "function", "config": "tanh"}) is activations.tanh
    assert activations.deserialize("elu") is activations.elu


def test_unknown_name_lists_valid_names_and_suggests_one():
    with pytest.raises(ValueError, match="Unknown activation 'rleu'") as info:
        activations.get("rleu")
    message = str(info.value)
    assert "Did you mean 'relu'?" in message
    for name in ("gelu", "silu", "swish", "softmax", "linear"):
        assert name in message


def test_get_rejects_things_that_are_not_activations():
    with pytest.raises(TypeError, match="got int: 3"):
        activations.get(3)
    with pytest.raises(TypeError, match="under 'config'"):
        activations.get({"class_name": "function"})


def test_serialize_refuses_unnamed_callables():
    with pytest.raises(ValueError, match="Cannot serialize activation '<lambda>'.*relu"):
        activations.serialize(lambda x: x)

    def my_act(x):
        return x

    with pytest.raises(ValueError, match="'my_act'"):
        activations.serialize(my_act)
    with pytest.raises(ValueError, match="Unknown activation"):
        activations.serialize("not_an_activation")


def test_every_public_function_has_a_docstring():
    public = [v for k, v in vars(activations).items() if callable(v) and not k.startswith("_")]
    public = [f for f in public if getattr(f, "__module__", None) == activations.__name__]
    assert [f.__name__ for f in public if not (f.__doc__ or "").strip()] == []

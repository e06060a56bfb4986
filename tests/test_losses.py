"""workbench.losses against keras.losses (JAX backend): values, reductions, weights, names, configs, errors."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import doctest
import inspect

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest
from keras.src.backend.common.masking import set_keras_mask
from keras.src.losses import ALL_OBJECTS_DICT as KERAS_LOSSES
from keras.src.losses import LossFunctionWrapper as KerasLossFunctionWrapper

from workbench import losses
from workbench.core.serialization import _REGISTRY, register_serializable

RNG = np.random.default_rng(0)
FLAT, SEQ = (8, 4), (4, 5, 3)  # (batch, classes) and (batch, timesteps, classes)


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _make(kind, shape):
    """(y_true, y_pred) as float32 NumPy arrays for one kind of loss input."""
    logits = (RNG.standard_normal(shape) * 3).astype("float32")
    labels = RNG.integers(0, shape[-1], shape[:-1])
    onehot = np.eye(shape[-1], dtype="float32")[labels]
    binary = RNG.integers(0, 2, shape).astype("float32")
    y_true, y_pred = {
        "binary": (binary, 1 / (1 + np.exp(-logits))),
        "binary_logits": (binary, logits),
        "onehot": (onehot, _softmax(logits)),
        "onehot_logits": (onehot, logits),
        "sparse": (labels, _softmax(logits)),
        "sparse_logits": (labels, logits),
        "regression": (RNG.standard_normal(shape) * 2, logits),
        "positive": (RNG.uniform(0, 3, shape), np.exp(logits / 3)),
        "distribution": (_softmax(RNG.standard_normal(shape)), _softmax(logits)),
        "signs": (2 * binary - 1, logits),
    }[kind]
    return np.asarray(y_true, "float32"), np.asarray(y_pred, "float32")


DATA = {(k, s): _make(k, s) for k in (
    "binary", "binary_logits", "onehot", "onehot_logits", "sparse", "sparse_logits", "regression",
    "positive", "distribution", "signs") for s in (FLAT, SEQ)}  # fmt: skip

# (class name, constructor arguments, input kind)
CASES = [
    ("BinaryCrossentropy", {}, "binary"),
    ("BinaryCrossentropy", {"from_logits": True}, "binary_logits"),
    ("BinaryCrossentropy", {"label_smoothing": 0.2}, "binary"),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, "binary_logits"),
    ("BinaryFocalCrossentropy", {}, "binary"),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.4, "gamma": 3.0}, "binary"),
    (
        "BinaryFocalCrossentropy",
        {"from_logits": True, "label_smoothing": 0.1, "apply_class_balancing": True},
        "binary_logits",
    ),  # fmt: skip
    ("CategoricalCrossentropy", {}, "onehot"),
    ("CategoricalCrossentropy", {"from_logits": True}, "onehot_logits"),
    ("CategoricalCrossentropy", {"label_smoothing": 0.1}, "onehot"),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, "onehot_logits"),
    ("CategoricalFocalCrossentropy", {}, "onehot"),
    (
        "CategoricalFocalCrossentropy",
        {"from_logits": True, "alpha": 0.5, "gamma": 1.0, "label_smoothing": 0.1},
        "onehot_logits",
    ),  # fmt: skip
    ("SparseCategoricalCrossentropy", {}, "sparse"),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, "sparse_logits"),
    ("SparseCategoricalCrossentropy", {"ignore_class": 1}, "sparse"),
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 0}, "sparse_logits"),
    ("MeanSquaredError", {}, "regression"),
    ("MeanAbsoluteError", {}, "regression"),
    ("MeanAbsolutePercentageError", {}, "regression"),
    ("MeanSquaredLogarithmicError", {}, "positive"),
    ("Huber", {}, "regression"),
    ("Huber", {"delta": 0.5}, "regression"),
    ("LogCosh", {}, "regression"),
    ("KLDivergence", {}, "distribution"),
    ("Poisson", {}, "positive"),
    ("CosineSimilarity", {}, "regression"),
    ("CosineSimilarity", {"axis": 1}, "regression"),
    ("Hinge", {}, "binary_logits"),
    ("Hinge", {}, "signs"),
    ("Hinge", {}, "regression"),
    ("SquaredHinge", {}, "signs"),
    ("CategoricalHinge", {}, "onehot_logits"),
]
CASE_IDS = [f"{c}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}-{kind}" for c, kw, kind in CASES]
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None]


def assert_close(ours, theirs, rtol=1e-5, atol=1e-5):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape, f"shape {ours.shape} vs Keras' {theirs.shape}"
    assert ours.dtype == theirs.dtype, f"dtype {ours.dtype} vs Keras' {theirs.dtype}"
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)


def _pair(cls_name, kwargs, **extra):
    return getattr(losses, cls_name)(**kwargs, **extra), getattr(keras.losses, cls_name)(**kwargs, **extra)


def _weights(values_shape, per):
    """Per-sample weights ((batch,) or (batch, 1) for sequences) or one weight per loss value."""
    if per == "sample":
        shape = values_shape[:1] if len(values_shape) == 1 else (values_shape[0], 1)
    else:
        shape = values_shape
    return RNG.uniform(0.0, 2.0, shape).astype("float32")


# --------------------------------------------------------------------------- values against Keras


@pytest.mark.parametrize("name,kwargs,kind", CASES, ids=CASE_IDS)
def test_class_matches_keras(name, kwargs, kind):
    y_true, y_pred = DATA[kind, FLAT]
    ours, theirs = _pair(name, kwargs, reduction=None)
    values = theirs(y_true, y_pred)
    assert_close(ours(y_true, y_pred), values)
    ours, theirs = _pair(name, kwargs)
    w = _weights(values.shape, "sample")
    assert_close(ours(y_true, y_pred), theirs(y_true, y_pred))
    assert_close(ours(y_true, y_pred, sample_weight=w), theirs(y_true, y_pred, sample_weight=w))


# One case per class (plus ignore_class, which masks): sequence shapes do not interact with the arguments.
SEQ_CASES = [
    c for i, c in enumerate(CASES) if c[0] not in {d[0] for d in CASES[:i]} or "ignore_class" in c[1]
]


@pytest.mark.parametrize("name,kwargs,kind", SEQ_CASES, ids=[CASE_IDS[CASES.index(c)] for c in SEQ_CASES])
def test_class_on_sequences_under_jit_matches_keras(name, kwargs, kind):
    # (batch, timesteps, classes) inputs: one value per timestep, weighted per timestep.
    y_true, y_pred = DATA[kind, SEQ]
    (ours_none, ours), (theirs_none, theirs) = zip(_pair(name, kwargs, reduction=None), _pair(name, kwargs))
    values = theirs_none(y_true, y_pred)
    per_value = _weights(values.shape, "value")
    got = jax.jit(lambda t, p: (ours_none(t, p), ours(t, p, sample_weight=per_value)))(y_true, y_pred)
    assert_close(got[0], values)
    assert_close(got[1], theirs(y_true, y_pred, sample_weight=per_value))


FUNCTION_KINDS = {
    "binary_crossentropy": "binary", "binary_focal_crossentropy": "binary", "categorical_crossentropy": "onehot",
    "categorical_focal_crossentropy": "onehot", "sparse_categorical_crossentropy": "sparse",
    "mean_squared_error": "regression", "mean_absolute_error": "regression",
    "mean_absolute_percentage_error": "regression", "mean_squared_logarithmic_error": "positive",
    "huber": "regression", "log_cosh": "regression", "kl_divergence": "distribution", "poisson": "positive",
    "cosine_similarity": "regression", "hinge": "binary_logits", "squared_hinge": "signs",
    "categorical_hinge": "onehot_logits",
}  # fmt: skip
ALIASES = {
    "bce": "binary_crossentropy", "BCE": "binary_crossentropy", "mse": "mean_squared_error",
    "MSE": "mean_squared_error", "mae": "mean_absolute_error", "MAE": "mean_absolute_error",
    "mape": "mean_absolute_percentage_error", "MAPE": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error", "MSLE": "mean_squared_logarithmic_error",
    "kld": "kl_divergence", "KLD": "kl_divergence",
}  # fmt: skip


@pytest.mark.parametrize("shape", [FLAT, SEQ], ids=["flat", "seq"])
@pytest.mark.parametrize("name", sorted(FUNCTION_KINDS))
def test_function_by_name_matches_keras(name, shape):
    y_true, y_pred = DATA[FUNCTION_KINDS[name], shape]
    ours, theirs = losses.get(name), keras.losses.get(name)
    assert inspect.isfunction(ours) and ours.__name__ == theirs.__name__
    assert_close(ours(y_true, y_pred), theirs(y_true, y_pred))
    assert getattr(losses, name) is ours


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_short_names_resolve_as_in_keras(alias):
    assert keras.losses.get(alias).__name__ == ALIASES[alias]
    assert losses.get(alias) is getattr(losses, alias) is getattr(losses, ALIASES[alias])


@pytest.mark.parametrize(
    "name,kwargs,kind",
    [
        ("binary_crossentropy", {"from_logits": True, "label_smoothing": 0.3}, "binary_logits"),
        ("binary_focal_crossentropy", {"apply_class_balancing": True, "alpha": 0.3, "gamma": 1.5,
                                       "from_logits": True, "label_smoothing": 0.1}, "binary_logits"),
        ("categorical_crossentropy", {"from_logits": True, "label_smoothing": 0.25}, "onehot_logits"),
        ("categorical_crossentropy", {"axis": 1}, "onehot"),
        ("sparse_categorical_crossentropy", {"from_logits": True, "ignore_class": 2}, "sparse_logits"),
        ("huber", {"delta": 2.5}, "regression"),
        ("cosine_similarity", {"axis": 0}, "regression"),
    ],
)  # fmt: skip
def test_function_arguments_match_keras(name, kwargs, kind):
    y_true, y_pred = DATA[kind, SEQ]
    assert_close(
        getattr(losses, name)(y_true, y_pred, **kwargs), getattr(keras.losses, name)(y_true, y_pred, **kwargs)
    )


def test_logcosh_alias_is_log_cosh():
    y_true, y_pred = DATA["regression", FLAT]
    assert losses.get("logcosh") is losses.log_cosh is losses.logcosh
    assert_close(losses.logcosh(y_true, y_pred), keras.losses.log_cosh(y_true, y_pred))


# --------------------------------------------------------------------------- reductions and weights


REDUCTION_CASES = [
    ("MeanSquaredError", {}, DATA["regression", SEQ]),  # values (4, 5)
    ("CategoricalCrossentropy", {"from_logits": True}, DATA["onehot_logits", FLAT]),  # values (8,)
    ("SparseCategoricalCrossentropy", {"ignore_class": 0}, DATA["sparse", SEQ]),  # masked values
    ("BinaryCrossentropy", {}, (DATA["binary", FLAT][0][:, 0], DATA["binary", FLAT][1][:, 0])),  # scalar
]


@pytest.mark.parametrize("weights", ["none", "sample", "sample_column", "value", "zeros"])
@pytest.mark.parametrize("reduction", REDUCTIONS, ids=[str(r) for r in REDUCTIONS])
@pytest.mark.parametrize("name,kwargs,data", REDUCTION_CASES, ids=[c[0] for c in REDUCTION_CASES])
def test_reductions_and_sample_weights_match_keras(name, kwargs, data, reduction, weights):
    y_true, y_pred = data
    ours, theirs = _pair(name, kwargs, reduction=reduction)
    values_shape = getattr(keras.losses, name)(**kwargs, reduction=None)(y_true, y_pred).shape
    w = {
        "none": None,
        "sample": RNG.uniform(0, 2, y_true.shape[:1]).astype("float32"),
        "sample_column": RNG.uniform(0, 2, (y_true.shape[0], 1)).astype("float32"),
        "value": RNG.uniform(0, 2, values_shape).astype("float32"),
        "zeros": np.zeros(values_shape, "float32"),  # divide_no_nan: 0, not NaN
    }[weights]
    try:
        expected = theirs(y_true, y_pred, sample_weight=w)
    except ValueError:  # Keras cannot broadcast (batch,) weights against (batch, timesteps) values
        with pytest.raises(ValueError, match="does not broadcast"):
            ours(y_true, y_pred, sample_weight=w)
        return
    assert_close(ours(y_true, y_pred, sample_weight=w), expected)


@pytest.mark.parametrize("reduction", REDUCTIONS, ids=[str(r) for r in REDUCTIONS])
def test_mask_argument_matches_keras_mask_on_y_pred(reduction):
    y_true, y_pred = DATA["onehot_logits", SEQ]
    mask = RNG.uniform(size=SEQ[:2]) > 0.3
    w = RNG.uniform(0, 2, SEQ[:2]).astype("float32")
    theirs = keras.losses.CategoricalCrossentropy(from_logits=True, reduction=reduction)
    masked_pred = jnp.asarray(y_pred)
    set_keras_mask(masked_pred, jnp.asarray(mask))
    ours = losses.CategoricalCrossentropy(from_logits=True, reduction=reduction)
    assert_close(
        ours(y_true, y_pred, sample_weight=w, mask=mask), theirs(y_true, masked_pred, sample_weight=w)
    )


@pytest.mark.parametrize("reduction", REDUCTIONS, ids=[str(r) for r in REDUCTIONS])
def test_per_sample_mask_covers_every_timestep(reduction):
    y_true, y_pred = DATA["sparse", SEQ]
    keep = np.array([True, False, True, True])  # e.g. a padded last-batch sample
    theirs = keras.losses.SparseCategoricalCrossentropy(ignore_class=0, reduction=reduction)
    masked_pred = jnp.asarray(y_pred)
    set_keras_mask(masked_pred, jnp.asarray(np.broadcast_to(keep[:, None], SEQ[:2])))
    ours = losses.SparseCategoricalCrossentropy(ignore_class=0, reduction=reduction)
    assert_close(ours(y_true, y_pred, mask=keep), theirs(y_true, masked_pred))


def test_ignore_class_averages_over_the_kept_entries_only():
    labels, probs = DATA["sparse", FLAT]
    labels = np.where(np.arange(8) % 3 == 0, -1, labels).astype("float32")  # 3 of 8 ignored
    loss = losses.SparseCategoricalCrossentropy(ignore_class=-1)
    kept = labels != -1
    expected = -np.mean(np.log(np.clip(probs[kept, labels[kept].astype(int)], 1e-7, 1)))
    np.testing.assert_allclose(float(loss(labels, probs)), expected, rtol=1e-5)
    assert_close(
        loss(labels, probs), keras.losses.SparseCategoricalCrossentropy(ignore_class=-1)(labels, probs)
    )


@pytest.mark.parametrize("from_logits", [False, True])
def test_ignore_class_gradients_are_finite(from_logits):
    y_true, y_pred = DATA["sparse_logits" if from_logits else "sparse", FLAT]
    loss = losses.SparseCategoricalCrossentropy(from_logits=from_logits, ignore_class=1)
    grad = jax.jit(jax.grad(lambda p: loss(y_true, p)))(y_pred)
    assert np.isfinite(np.asarray(grad)).all()
    ignored = y_true == 1
    assert ignored.any() and not np.asarray(grad)[ignored].any()  # ignored rows get no gradient


def test_sparse_labels_with_a_trailing_axis_and_integer_dtype_match_keras():
    y_true, y_pred = DATA["sparse_logits", FLAT]
    labels = y_true.astype("int32")[:, None]  # (8, 1) ints
    ours, theirs = _pair("SparseCategoricalCrossentropy", {"from_logits": True})
    assert_close(ours(labels, y_pred), theirs(labels, y_pred))


def test_rank_matching_of_labels_matches_keras():
    y_true, y_pred = DATA["regression", FLAT]
    for t, p in [(y_true[:, 0], y_pred[:, :1]), (y_true[:, :1], y_pred[:, 0])]:  # (8,) vs (8, 1) both ways
        ours, theirs = _pair("MeanSquaredError", {}, reduction=None)
        assert_close(ours(t, p), theirs(t, p))


def test_loss_computes_in_float32_by_default():
    y_true, y_pred = DATA["regression", FLAT]
    out = losses.MeanSquaredError()(y_true.astype("float16"), y_pred.astype("float16"))
    assert out.dtype == jnp.float32 and losses.MeanSquaredError().dtype == "float32"
    assert losses.MeanSquaredError(dtype="bfloat16")(y_true, y_pred).dtype == jnp.bfloat16


# --------------------------------------------------------------------------- subclassing and wrapping


def test_subclassed_loss_matches_keras_subclass():
    class Ours(losses.Loss):
        def call(self, y_true, y_pred):
            return jnp.mean(jnp.abs(y_pred - y_true) ** 3, axis=-1)

    class Theirs(keras.losses.Loss):
        def call(self, y_true, y_pred):
            return keras.ops.mean(keras.ops.abs(y_pred - y_true) ** 3, axis=-1)

    y_true, y_pred = DATA["regression", SEQ]
    w = _weights((4, 5), "value")
    for reduction in REDUCTIONS:
        assert_close(
            Ours(reduction=reduction)(y_true, y_pred, w), Theirs(reduction=reduction)(y_true, y_pred, w)
        )
    assert Ours().name == "ours" and Ours().get_config() == {
        "name": "ours",
        "reduction": "sum_over_batch_size",
    }


def test_base_loss_without_call_says_what_to_implement():
    with pytest.raises(NotImplementedError, match="call"):
        losses.Loss()(np.zeros(2), np.zeros(2))


def test_loss_function_wrapper_matches_keras_and_round_trips():
    y_true, y_pred = DATA["regression", FLAT]
    ours = losses.LossFunctionWrapper(losses.huber, delta=0.3, reduction="sum")
    theirs = KerasLossFunctionWrapper(keras.losses.huber, delta=0.3, reduction="sum")
    assert_close(ours(y_true, y_pred), theirs(y_true, y_pred))
    config = ours.get_config()
    assert config["delta"] == 0.3 and config["fn"]["config"] == "huber"
    again = losses.LossFunctionWrapper.from_config(config)
    assert again.fn is losses.huber and again.get_config() == config
    assert_close(again(y_true, y_pred), theirs(y_true, y_pred))


def test_wrapper_of_a_registered_custom_function_round_trips():
    @register_serializable(package="TestLosses")
    def cubed_error(y_true, y_pred):
        return jnp.mean(jnp.abs(y_true - y_pred) ** 3, axis=-1)

    try:
        loss = losses.LossFunctionWrapper(cubed_error, name="cubed")
        again = losses.deserialize(losses.serialize(loss))
        assert again.fn is cubed_error and again.name == "cubed"
    finally:
        _REGISTRY.pop("TestLosses>cubed_error", None)


# --------------------------------------------------------------------------- names, configs, signatures


BUILTIN_CLASSES = sorted({c for c, _, _ in CASES})


# Our own keyword-only additions, after Keras' parameters.
EXTRA_KEYWORDS = {"SparseCategoricalCrossentropy": ["fused"]}


@pytest.mark.parametrize("name", BUILTIN_CLASSES)
def test_signature_matches_keras(name):
    ours = list(inspect.signature(getattr(losses, name)).parameters.values())
    theirs = inspect.signature(getattr(keras.losses, name))
    extra = EXTRA_KEYWORDS.get(name, [])
    if extra:
        assert [p.name for p in ours[-len(extra):]] == extra
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in ours[-len(extra):])
        ours = ours[:-len(extra)]
    assert [(p.name, p.default) for p in ours] == [(p.name, p.default) for p in theirs.parameters.values()]


@pytest.mark.parametrize("name", sorted(FUNCTION_KINDS))
def test_function_signature_matches_keras(name):
    ours, theirs = inspect.signature(losses.get(name)), inspect.signature(keras.losses.get(name))
    assert [(p.name, p.default) for p in ours.parameters.values()] == [
        (p.name, p.default) for p in theirs.parameters.values()
    ]


def test_every_keras_name_we_cover_resolves_to_the_same_kind_of_object():
    covered = set(BUILTIN_CLASSES) | set(FUNCTION_KINDS) | set(ALIASES) | {"Loss", "LossFunctionWrapper"}
    for name in sorted(set(KERAS_LOSSES) & covered):
        if name in ("Loss", "LossFunctionWrapper"):
            assert inspect.isclass(getattr(losses, name))
            continue
        ours, theirs = losses.get(name), keras.losses.get(name)
        assert type(ours).__name__ == type(theirs).__name__, name
        if inspect.isfunction(theirs):
            assert ours.__name__ == theirs.__name__, name
        else:
            assert ours.get_config() == {**theirs.get_config(), **ours.get_config()}, name


@pytest.mark.parametrize("name,kwargs,kind", CASES, ids=CASE_IDS)
def test_config_round_trip_and_keras_compatibility(name, kwargs, kind):
    y_true, y_pred = DATA[kind, FLAT]
    ours, theirs = _pair(name, kwargs, reduction="sum", name="my_loss")
    config = ours.get_config()
    # Every key Keras writes is here with Keras' value; ours also keeps the arguments Keras drops.
    assert {k: config[k] for k in theirs.get_config()} == theirs.get_config()
    assert {k: config[k] for k in kwargs} == kwargs
    again = type(ours).from_config(config)
    assert again.get_config() == config
    assert_close(again(y_true, y_pred), theirs(y_true, y_pred))
    # Keras can build its loss from our config, and the two agree.
    assert_close(ours(y_true, y_pred), type(theirs).from_config(config)(y_true, y_pred))
    # get() accepts the serialized dict and a {"class_name", "config"} pair.
    assert losses.get(losses.serialize(ours)).get_config() == config
    assert losses.get({"class_name": name, "config": config}).get_config() == config


def test_get_by_class_name_instance_class_and_callable():
    instance = losses.get("CategoricalCrossentropy")
    assert (
        isinstance(instance, losses.CategoricalCrossentropy) and instance.reduction == "sum_over_batch_size"
    )
    assert losses.get("categorical_crossentropy") is losses.categorical_crossentropy
    assert losses.get(instance) is instance
    assert isinstance(losses.get(losses.Huber), losses.Huber)
    fn = lambda y_true, y_pred: y_true - y_pred  # noqa: E731
    assert losses.get(fn) is fn and losses.get(None) is None
    cfg = {"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}}
    assert losses.get(cfg).from_logits is True


def test_serialize_matches_keras_form():
    assert losses.serialize(losses.categorical_crossentropy) == keras.losses.serialize(
        keras.losses.categorical_crossentropy
    )
    ours, theirs = (
        losses.serialize(losses.Huber(delta=2.0)),
        keras.losses.serialize(keras.losses.Huber(delta=2.0)),
    )
    assert ours["class_name"] == theirs["class_name"] and ours["config"]["delta"] == 2.0
    assert losses.deserialize(ours).delta == 2.0
    assert losses.deserialize(losses.serialize(losses.mse)) is losses.mean_squared_error
    assert losses.serialize(None) is None


def test_registered_custom_loss_class_round_trips():
    @register_serializable(package="TestLosses")
    class Scaled(losses.Loss):
        def __init__(self, scale=1.0, **kwargs):
            super().__init__(**kwargs)
            self.scale = scale

        def call(self, y_true, y_pred):
            return self.scale * jnp.mean(jnp.square(y_true - y_pred), axis=-1)

        def get_config(self):
            return {**super().get_config(), "scale": self.scale}

    try:
        config = losses.serialize(Scaled(scale=3.0))
        assert config["registered_name"] == "TestLosses>Scaled"
        again = losses.get(config)
        assert isinstance(again, Scaled) and again.scale == 3.0
    finally:
        _REGISTRY.pop("TestLosses>Scaled", None)


# --------------------------------------------------------------------------- errors


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="Unknown loss 'categorical_crossentropyy'") as info:
        losses.get("categorical_crossentropyy")
    message = str(info.value)
    assert "Did you mean 'categorical_crossentropy'" in message
    for name in ("BinaryCrossentropy", "mse", "sparse_categorical_crossentropy", "Huber", "logcosh"):
        assert name in message
    with pytest.raises(ValueError, match="Unknown loss"):
        losses.get({"class_name": "NoSuchLoss", "config": {}})
    with pytest.raises(ValueError, match="got int"):
        losses.get(3)


@pytest.mark.parametrize(
    "name", ["CategoricalCrossentropy", "BinaryCrossentropy", "MeanSquaredError", "KLDivergence", "Hinge"]
)
def test_mismatched_shapes_name_both_shapes(name):
    with pytest.raises(ValueError, match=r"y_true.shape=\(8, 3\).*y_pred.shape=\(8, 4\)"):
        getattr(losses, name)()(np.zeros((8, 3)), np.full((8, 4), 0.25))


def test_sparse_labels_of_the_wrong_shape_say_what_was_expected():
    with pytest.raises(ValueError, match=r"shape \(8,\).*y_pred.shape=\(8, 4\).*y_true.shape=\(8, 4\)"):
        losses.SparseCategoricalCrossentropy()(np.zeros((8, 4)), np.full((8, 4), 0.25))


def test_sample_weight_that_cannot_broadcast_suggests_a_shape():
    y_true, y_pred = DATA["regression", SEQ]
    with pytest.raises(ValueError, match=r"\(4,\).*\(4, 5\).*\(4, 1\)"):
        losses.MeanSquaredError()(y_true, y_pred, sample_weight=np.ones(4))


def test_invalid_constructor_arguments():
    with pytest.raises(ValueError, match="reduction"):
        losses.MeanSquaredError(reduction="average")
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.CategoricalCrossentropy(label_smoothing=1.5)
    with pytest.raises(ValueError, match="ignore_class"):
        losses.SparseCategoricalCrossentropy(ignore_class="void")
    with pytest.raises(ValueError, match="axis"):
        losses.categorical_crossentropy(np.eye(3), np.eye(3), axis=True)


# --------------------------------------------------------------------------- host-side label check


def test_check_sparse_labels_accepts_valid_labels():
    losses.check_sparse_labels(np.array([0, 1, 2, 2]), 3)
    losses.check_sparse_labels(np.array([[0.0, 1.0], [2.0, 0.0]]), 3)
    losses.check_sparse_labels(np.array([0, 255, 1]), 2, ignore_class=255)
    losses.check_sparse_labels(np.zeros((0,), "int32"), 3)


@pytest.mark.parametrize(
    "labels,pattern",
    [
        (np.array([0, 1, 5, 2]), r"label 5 at index 2 .*\[0, 3\)"),
        (np.array([[0, 1], [-1, 2]]), r"label -1 at index \(1, 0\) .*\[0, 3\)"),
        (np.array([1, 2, 3]), r"label 3 at index 2 .*subtract 1"),
        (np.array([0.0, 1.5]), r"label 1.5 at index 1 is not a whole number"),
        (np.array([0.0, np.nan]), r"label nan at index 1"),
    ],
)
def test_check_sparse_labels_names_value_index_and_range(labels, pattern):
    with pytest.raises(ValueError, match=pattern):
        losses.check_sparse_labels(labels, 3)


def test_check_sparse_labels_rejects_bad_num_classes():
    with pytest.raises(ValueError, match="num_classes"):
        losses.check_sparse_labels(np.array([0]), 0)


# --------------------------------------------------------------------------- docs


def test_public_names_have_docstrings_and_docstring_examples_run():
    for name in losses.__all__:
        assert inspect.getdoc(getattr(losses, name)), name
    from workbench.losses import _base, _checks, _classes, _functions, _lookup, _reduction

    for module in (losses, _base, _checks, _classes, _functions, _lookup, _reduction):
        failed, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert failed == 0, module.__name__

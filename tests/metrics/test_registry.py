"""Lookup by Keras name, the "accuracy" rule of compile, configs and their round trips, docstring examples."""

import doctest
import importlib
import inspect
import json

import keras
import numpy as np
import pytest
from keras.src.metrics import ALL_OBJECTS_DICT as KERAS_NAMES
from keras.src.trainers.compile_utils import get_metric as keras_get_metric

from tests.metrics.cases import CASES
from workbench import metrics
from workbench.metrics import registry

OURS = {cls.__name__ for cls in registry.ALL_CLASSES}
SHARED_NAMES = sorted(
    name
    for name, cls in KERAS_NAMES.items()
    if cls.__name__ in OURS and cls is not keras.metrics.MeanMetricWrapper
)
CONFIG_CASES = [c for c in CASES if c.id != "wrapper"]


@pytest.mark.parametrize("name", SHARED_NAMES)
def test_get_resolves_every_keras_name_to_the_same_class(name):
    ours = metrics.get(name)
    assert type(ours).__name__ == KERAS_NAMES[name].__name__
    assert ours.name.split("_")[0] == keras.metrics.get(name).name.split("_")[0]


def test_get_knows_the_short_names():
    for name, cls in [
        ("acc", metrics.Accuracy),
        ("mse", metrics.MeanSquaredError),
        ("MAE", metrics.MeanAbsoluteError),
    ]:
        assert type(metrics.get(name)) is cls
    for name in ("auc", "precision", "recall", "top_k_categorical_accuracy", "sparse_categorical_accuracy"):
        assert type(metrics.get(name)).__name__ == KERAS_NAMES[name].__name__


def test_get_passes_objects_through():
    m, fn = metrics.AUC(), metrics.mean_squared_error
    assert metrics.get(m) is m and metrics.get(fn) is fn and metrics.get(None) is None
    assert type(metrics.get(metrics.Recall)) is metrics.Recall
    assert metrics.get({"class_name": "Precision", "config": {"thresholds": 0.3}}).thresholds == [0.3]


@pytest.mark.parametrize("name", ["acuracy", "pearson_correlation", "iou"])
def test_unknown_names_list_the_valid_ones(name):
    with pytest.raises(ValueError, match=f"Unknown metric '{name}'") as info:
        metrics.get(name)
    assert "accuracy" in str(info.value) and "top_k_categorical_accuracy" in str(info.value)


def test_a_misspelling_gets_a_suggestion():
    with pytest.raises(ValueError, match="Did you mean 'accuracy'"):
        metrics.get("acuracy")


def test_uninterpretable_identifier():
    with pytest.raises(ValueError, match="Could not interpret metric identifier 42"):
        metrics.get(42)
    with pytest.raises(ValueError, match="MeanMetricWrapper needs the function"):
        metrics.get("mean_metric_wrapper")


SHAPES = [
    ((8, 1), (8, 1)),  # binary
    ((8,), (8, 1)),  # binary, labels without their last axis
    ((8,), (8, 5)),  # sparse: lower rank
    ((8, 1), (8, 5)),  # sparse: last axis 1
    ((8, 5), (8, 5)),  # categorical
    ((8, 3), (8, 3, 5)),  # sparse sequence
    ((8, 3, 5), (8, 3, 5)),  # categorical sequence
    ((8, 3, 1), (8, 3, 1)),  # binary sequence
]


@pytest.mark.parametrize("name", ["accuracy", "acc", "Accuracy"])
@pytest.mark.parametrize(("true_shape", "pred_shape"), SHAPES, ids=[f"{t}-{p}" for t, p in SHAPES])
def test_resolve_accuracy_chooses_as_keras_compile(name, true_shape, pred_shape):
    theirs = keras_get_metric(name, np.zeros(true_shape), np.zeros(pred_shape))
    ours = metrics.resolve_accuracy(name, None, true_shape, pred_shape)
    assert (type(ours).__name__, ours.name) == (type(theirs).__name__, theirs.name)


class BinaryCrossentropy:  # stands for a loss object, found by its class name
    pass


def binary_crossentropy(y_true, y_pred):  # a loss function, found by its name
    return y_pred


class Wrapper:  # a wrapped loss function, found by `fn`
    fn = staticmethod(binary_crossentropy)


@pytest.mark.parametrize(
    "loss", ["binary_crossentropy", "bce", BinaryCrossentropy(), binary_crossentropy, Wrapper()]
)
def test_a_binary_crossentropy_loss_means_binary_accuracy(loss):
    # Multi-label outputs: the shapes alone would say categorical.
    assert type(metrics.resolve_accuracy("accuracy", loss, (8, 5), (8, 5))) is metrics.BinaryAccuracy


def test_a_sparse_loss_means_sparse_accuracy_and_other_losses_change_nothing():
    resolve = metrics.resolve_accuracy
    assert (
        type(resolve("acc", "sparse_categorical_crossentropy", (8, 5), (8, 5)))
        is metrics.SparseCategoricalAccuracy
    )
    assert type(resolve("acc", "categorical_crossentropy", (8, 5), (8, 5))) is metrics.CategoricalAccuracy
    assert type(resolve("acc", "mse", (None, 1), (None, 1))) is metrics.BinaryAccuracy


@pytest.mark.parametrize("identifier", ["mse", "auc", "top_k_categorical_accuracy", "MeanAbsoluteError"])
def test_other_identifiers_resolve_as_keras_compile_names_them(identifier):
    theirs = keras_get_metric(identifier, np.zeros((8, 5)), np.zeros((8, 5)))
    ours = metrics.resolve_accuracy(identifier, None, (8, 5), (8, 5))
    assert (type(ours).__name__, ours.name) == (type(theirs).__name__, theirs.name)


def test_a_function_is_wrapped_under_its_name():
    m = metrics.resolve_accuracy(metrics.mean_absolute_error, None, (8, 1), (8, 1))
    assert type(m) is metrics.MeanMetricWrapper and m.name == "mean_absolute_error"
    assert float(m(np.array([[1.0], [2.0]]), np.array([[2.0], [2.0]]))) == 0.5


def test_resolve_accuracy_needs_shapes():
    with pytest.raises(ValueError, match="needs the shapes.*y_true_shape=\\(\\)"):
        metrics.resolve_accuracy("accuracy", None)


@pytest.mark.parametrize("case", CONFIG_CASES, ids=[c.id for c in CONFIG_CASES])
def test_config_matches_keras_and_round_trips(case):
    ours, theirs = case.ours(), case.theirs()
    config, keras_config = ours.get_config(), theirs.get_config()
    assert sorted(config) == sorted(keras_config)
    for key, value in keras_config.items():
        if key != "name":
            np.testing.assert_equal(np.asarray(config[key], dtype=object), np.asarray(value, dtype=object))
    json.dumps(config)
    again = type(ours).from_config(config)
    assert again.get_config() == config
    assert metrics.deserialize(metrics.serialize(ours)).get_config() == config
    # A Keras config builds the same metric here, under Keras' name.
    from_keras = metrics.get({"class_name": type(theirs).__name__, "config": keras_config}).get_config()
    assert from_keras == {**config, "name": theirs.name}


def test_wrapper_config_names_a_known_function():
    m = metrics.MeanMetricWrapper(metrics.sparse_top_k_categorical_accuracy, name="top2", k=2)
    config = m.get_config()
    assert config == {"name": "top2", "dtype": "float32", "fn": "sparse_top_k_categorical_accuracy", "k": 2}
    again = metrics.MeanMetricWrapper.from_config(json.loads(json.dumps(config)))
    y_true, y_pred = np.array([0, 2]), np.array([[0.5, 0.3, 0.2], [0.5, 0.3, 0.2]])
    assert float(again(y_true, y_pred)) == 0.5
    keras_config = keras.metrics.MeanMetricWrapper(keras.losses.mean_squared_error, name="err").get_config()
    from_keras = metrics.MeanMetricWrapper.from_config(keras_config)
    assert from_keras.get_config() == {"name": "err", "dtype": "float32", "fn": "mean_squared_error"}


def test_dtype_follows_keras_policies():
    for dtype in (None, "float16", "mixed_bfloat16"):
        assert metrics.Mean(dtype=dtype).dtype == keras.metrics.Mean(dtype=dtype).dtype
    m = metrics.Mean(dtype="bfloat16")
    m.update_state(np.array([1.0, 2.0]))
    assert m.result().dtype == np.dtype("bfloat16")


MODULES = [
    "",
    ".base",
    ".reduction",
    ".accuracy",
    ".confusion",
    ".auc",
    ".f_score",
    ".regression",
    ".registry",
]


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module("workbench.metrics" + module))
    assert result.failed == 0 and result.attempted > 0


def test_every_public_name_has_a_docstring():
    assert [name for name in metrics.__all__ if not inspect.getdoc(getattr(metrics, name))] == []

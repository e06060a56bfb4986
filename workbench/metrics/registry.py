"""Metric lookup by Keras name, (de)serialization, and the "accuracy" rule of `compile`."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from workbench.core.naming import to_snake_case
from workbench.metrics.accuracy import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
)
from workbench.metrics.auc import AUC
from workbench.metrics.base import Metric
from workbench.metrics.confusion import (
    FalseNegatives,
    FalsePositives,
    Precision,
    Recall,
    TrueNegatives,
    TruePositives,
)
from workbench.metrics.f_score import F1Score, FBetaScore
from workbench.metrics.hinge import CategoricalHinge, Hinge, SquaredHinge
from workbench.metrics.probabilistic import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
)
from workbench.metrics.reduction import Mean, MeanMetricWrapper, Sum
from workbench.metrics.regression import (
    CosineSimilarity,
    LogCoshError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    R2Score,
    RootMeanSquaredError,
)

ALL_CLASSES: tuple[type[Metric], ...] = (
    Mean,
    Sum,
    MeanMetricWrapper,
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    AUC,
    Precision,
    Recall,
    TruePositives,
    FalsePositives,
    TrueNegatives,
    FalseNegatives,
    F1Score,
    FBetaScore,
    MeanSquaredError,
    RootMeanSquaredError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    LogCoshError,
    CosineSimilarity,
    R2Score,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    KLDivergence,
    Poisson,
    Hinge,
    SquaredHinge,
    CategoricalHinge,
)

# Every name Keras' `metrics.get` knows for these classes: class name, snake_case name, short aliases.
# "acc" is added: Keras' `compile` accepts it, and here it names plain `Accuracy` outside `compile`.
NAMES: dict[str, type[Metric]] = {cls.__name__: cls for cls in ALL_CLASSES}
NAMES.update({to_snake_case(cls.__name__): cls for cls in ALL_CLASSES})
NAMES.update(
    {
        "bce": BinaryCrossentropy,
        "BCE": BinaryCrossentropy,
        "mse": MeanSquaredError,
        "MSE": MeanSquaredError,
        "mae": MeanAbsoluteError,
        "MAE": MeanAbsoluteError,
        "mape": MeanAbsolutePercentageError,
        "MAPE": MeanAbsolutePercentageError,
        "msle": MeanSquaredLogarithmicError,
        "MSLE": MeanSquaredLogarithmicError,
        "acc": Accuracy,
    }
)

_BINARY_LOSSES = {"binary_crossentropy", "bce", "binary_focal_crossentropy"}
_SPARSE_LOSSES = {"sparse_categorical_crossentropy"}


def get(identifier: Any) -> Metric | Callable | None:
    """The metric an identifier names: a Keras name, a config dict, a class, an instance or a function.

    A name or class gives a new instance with default arguments; a metric
    instance or a plain function is returned as it is (wrap a function in
    `MeanMetricWrapper` to accumulate it).

    >>> get("mse")
    <MeanSquaredError name=mean_squared_error>
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier not in NAMES:
            close = difflib.get_close_matches(identifier, NAMES, n=3)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise ValueError(f"Unknown metric {identifier!r}.{hint} Valid names: {', '.join(sorted(NAMES))}.")
        identifier = NAMES[identifier]
    if inspect.isclass(identifier) and issubclass(identifier, Metric):
        if identifier is MeanMetricWrapper:
            raise ValueError("MeanMetricWrapper needs the function it averages: use MeanMetricWrapper(fn).")
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(
        f"Could not interpret metric identifier {identifier!r}: expected a metric name, a config dict, "
        "a Metric class or instance, or a function."
    )


def serialize(metric: Metric) -> dict:
    """{"class_name": ..., "config": ...}, which `deserialize` (and `get`) turn back into the metric."""
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


def deserialize(config: dict, custom_objects: dict | None = None) -> Metric:
    """The metric a `serialize` output (or a Keras metric config dict) describes."""
    if "class_name" not in config:
        raise ValueError(f"A metric config needs a 'class_name' key; received keys {sorted(config)}.")
    classes = {**NAMES, **(custom_objects or {})}
    name = config["class_name"]
    if name not in classes:
        raise ValueError(f"Unknown metric class {name!r}. Valid names: {', '.join(sorted(classes))}.")
    return classes[name].from_config(dict(config.get("config", {})))


def resolve_accuracy(
    name: Any,
    loss: Any = None,
    y_true_shape: Sequence[int | None] = (),
    y_pred_shape: Sequence[int | None] = (),
) -> Metric:
    """The metric `compile(metrics=[name])` means, given the loss and the shapes of one output.

    "accuracy" and "acc" (any case) become, as in Keras' `compile`:

    - `BinaryAccuracy` when `y_pred`'s last axis has size 1, or the loss is a
      binary cross-entropy;
    - `SparseCategoricalAccuracy` when the loss is the sparse categorical
      cross-entropy, `y_true` has a lower rank than `y_pred`, or `y_true`'s
      last axis is 1 while `y_pred`'s is larger;
    - `CategoricalAccuracy` otherwise;

    named `name`. Any other identifier goes through `get`; a string keeps its
    spelling as the metric's name ("mse" logs as "mse") and a plain function
    is wrapped in `MeanMetricWrapper` under its own name, again as in `compile`.

    >>> resolve_accuracy("accuracy", "sparse_categorical_crossentropy", (32,), (32, 10))
    <SparseCategoricalAccuracy name=accuracy>
    """
    if name is None:
        raise ValueError("Expected a metric, received None.")
    if str(name).lower() in ("accuracy", "acc"):
        y_true_shape, y_pred_shape = tuple(y_true_shape), tuple(y_pred_shape)
        if not y_true_shape or not y_pred_shape:
            raise ValueError(
                f"resolve_accuracy needs the shapes of y_true and y_pred to choose the accuracy for "
                f"{name!r}; received y_true_shape={y_true_shape}, y_pred_shape={y_pred_shape}."
            )
        loss_names = _loss_names(loss)
        is_binary = y_pred_shape[-1] == 1 or bool(loss_names & _BINARY_LOSSES)
        is_sparse = (
            bool(loss_names & _SPARSE_LOSSES)
            or len(y_true_shape) < len(y_pred_shape)
            or (y_true_shape[-1] == 1 and y_pred_shape[-1] is not None and y_pred_shape[-1] > 1)
        )
        if is_binary:
            return BinaryAccuracy(name=str(name))
        if is_sparse:
            return SparseCategoricalAccuracy(name=str(name))
        return CategoricalAccuracy(name=str(name))
    metric = get(name)
    if not isinstance(metric, Metric):
        metric = MeanMetricWrapper(metric, name=getattr(metric, "__name__", None))
    if isinstance(name, str):
        metric.name = name
    return metric


def _loss_names(loss: Any) -> set[str]:
    # The names a loss goes by: its string, its class, its `name`, or its wrapped function's name.
    if loss is None:
        return set()
    if isinstance(loss, str):
        return {loss, to_snake_case(loss).lower()}
    names = {to_snake_case(type(loss).__name__)}
    for candidate in (loss, getattr(loss, "fn", None)):
        if getattr(candidate, "__name__", None):
            names.add(to_snake_case(candidate.__name__))
    if isinstance(getattr(loss, "name", None), str):
        names.add(loss.name)
    return names

"""Workbench: a Keras-shaped deep-learning workbench over pure JAX.

>>> import workbench as keras
>>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
"""

__version__ = "0.1.0"

from workbench import (
    activations,
    callbacks,
    config,
    constraints,
    data,
    datasets,
    distribute,
    export,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    profiling,
    regularizers,
    runs,
    saving,
    utils,
)
from workbench.core.dtype_policy import DTypePolicy
from workbench.core.input_layer import Input, InputLayer
from workbench.core.layer import Layer
from workbench.core.variable import Variable
from workbench.models import Functional, Model, Sequential

__all__ = [
    "DTypePolicy",
    "Functional",
    "Input",
    "InputLayer",
    "Layer",
    "Model",
    "Sequential",
    "Variable",
    "activations",
    "callbacks",
    "config",
    "constraints",
    "data",
    "datasets",
    "distribute",
    "export",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "models",
    "ops",
    "optimizers",
    "profiling",
    "regularizers",
    "runs",
    "saving",
    "utils",
]

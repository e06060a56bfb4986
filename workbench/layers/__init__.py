"""Keras-named layers, one family per module."""

from workbench.core.input_layer import Input, InputLayer
from workbench.core.layer import Layer
from workbench.layers.core import Activation, Dense, EinsumDense, Identity, Lambda

__all__ = [
    "Activation",
    "Dense",
    "EinsumDense",
    "Identity",
    "Input",
    "InputLayer",
    "Lambda",
    "Layer",
]

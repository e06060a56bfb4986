"""Keras-named layers, one family per module."""

from workbench.core.input_layer import Input, InputLayer
from workbench.core.layer import Layer
from workbench.layers.activation import ELU, LeakyReLU, PReLU, ReLU, Softmax
from workbench.layers.core import Activation, Dense, EinsumDense, Identity, Lambda
from workbench.layers.merging import Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract
from workbench.layers.regularization import Dropout, GaussianNoise, SpatialDropout1D, SpatialDropout2D

__all__ = [
    "ELU",
    "Activation",
    "Add",
    "Average",
    "Concatenate",
    "Dense",
    "Dot",
    "Dropout",
    "EinsumDense",
    "GaussianNoise",
    "Identity",
    "Input",
    "InputLayer",
    "Lambda",
    "Layer",
    "LeakyReLU",
    "Maximum",
    "Minimum",
    "Multiply",
    "PReLU",
    "ReLU",
    "Softmax",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "Subtract",
]

"""Layers: each file holds one family, with forward and backward side by side."""

from glassnet.layers.activation import ELU, Activation, LeakyReLU, ReLU, Softmax
from glassnet.layers.base import Layer, Parameter
from glassnet.layers.core import Dense, Flatten, Input, InputLayer, Reshape, SymbolicTensor
from glassnet.layers.regularization import Dropout

__all__ = [
    "ELU", "Activation", "Dense", "Dropout", "Flatten", "Input", "InputLayer", "Layer",
    "LeakyReLU", "Parameter", "ReLU", "Reshape", "Softmax", "SymbolicTensor",
]

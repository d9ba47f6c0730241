"""Layers: each file holds one family, with forward and backward side by side."""

from glassnet.layers.activation import ELU, Activation, LeakyReLU, ReLU, Softmax
from glassnet.layers.base import Layer, Parameter
from glassnet.layers.convolutional import Conv1D, Conv2D
from glassnet.layers.core import Dense, Flatten, Input, InputLayer, Reshape, SymbolicTensor
from glassnet.layers.embedding import Embedding
from glassnet.layers.merging import (
    Add,
    Average,
    Concatenate,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
)
from glassnet.layers.normalization import BatchNormalization, LayerNormalization
from glassnet.layers.op_layer import OpLayer
from glassnet.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPooling1D,
    MaxPooling2D,
)
from glassnet.layers.preprocessing import Normalization
from glassnet.layers.recurrent import GRU, LSTM, SimpleRNN
from glassnet.layers.regularization import Dropout
from glassnet.layers.reshaping import UpSampling2D, ZeroPadding2D
from glassnet.layers.wrappers import Bidirectional, TimeDistributed

__all__ = [
    "ELU", "GRU", "LSTM", "Activation", "Add", "Average", "AveragePooling1D", "AveragePooling2D",
    "Concatenate", "Maximum", "Minimum", "Multiply", "Subtract",
    "BatchNormalization", "Bidirectional", "Conv1D", "Conv2D", "Dense", "Dropout", "Embedding",
    "Flatten", "GlobalAveragePooling1D",
    "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "Input", "InputLayer",
    "Layer", "LayerNormalization", "LeakyReLU", "MaxPooling1D", "MaxPooling2D", "Normalization",
    "OpLayer",
    "Parameter", "ReLU", "Reshape", "SimpleRNN", "Softmax", "SymbolicTensor", "TimeDistributed",
    "UpSampling2D", "ZeroPadding2D",
]

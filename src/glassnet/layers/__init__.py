"""Layers: each file holds one family, with forward and backward side by side."""

from glassnet.layers.activation import ELU, Activation, LeakyReLU, ReLU, Softmax
from glassnet.layers.base import Layer, Parameter
from glassnet.layers.convolutional import Conv1D, Conv2D
from glassnet.layers.convolutional_3d import (
    AveragePooling3D,
    Conv3D,
    GlobalAveragePooling3D,
    GlobalMaxPooling3D,
    MaxPooling3D,
)
from glassnet.layers.convolutional_transpose import Conv1DTranspose, Conv2DTranspose
from glassnet.layers.core import Dense, Flatten, Input, InputLayer, Reshape, SymbolicTensor
from glassnet.layers.cropping import Cropping1D, Cropping2D, ZeroPadding1D
from glassnet.layers.depthwise import DepthwiseConv2D, SeparableConv2D
from glassnet.layers.embedding import Embedding
from glassnet.layers.lambda_layer import Lambda
from glassnet.layers.masking import Identity, Masking
from glassnet.layers.merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
)
from glassnet.layers.merging_functions import (
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from glassnet.layers.noise import (
    AlphaDropout,
    GaussianDropout,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
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
from glassnet.layers.preprocessing import CategoryEncoding, Normalization, Rescaling
from glassnet.layers.rearranging import Permute, RepeatVector, UpSampling1D
from glassnet.layers.recurrent import GRU, LSTM, SimpleRNN
from glassnet.layers.regularization import Dropout
from glassnet.layers.reshaping import UpSampling2D, ZeroPadding2D
from glassnet.layers.serialization import deserialize, serialize
from glassnet.layers.wrappers import Bidirectional, TimeDistributed

# Keras 3's other names for the same classes
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
GlobalAvgPool3D = GlobalAveragePooling3D
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = (GlobalMaxPooling1D, GlobalMaxPooling2D,
                                                     GlobalMaxPooling3D)
Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
Convolution1DTranspose, Convolution2DTranspose = Conv1DTranspose, Conv2DTranspose
SeparableConvolution2D = SeparableConv2D

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
    # Keras 3's everyday layers beyond the first set (issue 17)
    "AlphaDropout", "CategoryEncoding", "Conv1DTranspose", "Conv2DTranspose", "Cropping1D",
    "Cropping2D", "DepthwiseConv2D", "GaussianDropout", "GaussianNoise", "Identity", "Masking",
    "Permute", "RepeatVector", "Rescaling", "SeparableConv2D", "SpatialDropout1D",
    "SpatialDropout2D", "UpSampling1D", "ZeroPadding1D",
    "AveragePooling3D", "Conv3D", "GlobalAveragePooling3D", "GlobalMaxPooling3D", "MaxPooling3D",
    # the merge layers' functional forms, and Dot
    "Dot", "add", "average", "concatenate", "dot", "maximum", "minimum", "multiply", "subtract",
    "deserialize", "serialize",
    "Lambda",
    "AvgPool1D", "AvgPool2D", "AvgPool3D", "MaxPool1D", "MaxPool2D", "MaxPool3D",
    "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D", "GlobalMaxPool1D", "GlobalMaxPool2D",
    "GlobalMaxPool3D", "Convolution1D", "Convolution2D", "Convolution3D",
    "Convolution1DTranspose", "Convolution2DTranspose", "SeparableConvolution2D",
]

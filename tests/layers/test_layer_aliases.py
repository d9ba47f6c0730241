"""Keras 3's other names for layers (MaxPool2D, Convolution2D, ...) name the same classes."""

import pytest

from glassnet import layers

ALIASES = ["AvgPool1D", "AvgPool2D", "AvgPool3D", "MaxPool1D", "MaxPool2D", "MaxPool3D",
           "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D", "GlobalMaxPool1D",
           "GlobalMaxPool2D", "GlobalMaxPool3D", "Convolution1D", "Convolution2D",
           "Convolution3D", "Convolution1DTranspose", "Convolution2DTranspose",
           "SeparableConvolution2D"]


@pytest.mark.parametrize("alias", ALIASES)
def test_an_alias_is_the_class_keras_gives_it(keras, alias):
    theirs = getattr(keras.layers, alias)
    assert getattr(layers, alias) is getattr(layers, theirs.__name__)
    assert alias in layers.__all__

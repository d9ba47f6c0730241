"""Conv1DTranspose/Conv2DTranspose, DepthwiseConv2D, SeparableConv2D and the 3-D layers
(Conv3D, 3-D pooling) exported to ONNX predict in onnxruntime what glassnet predicts (batch 1
and 9), for the options that change the graph: padding, strides, output_padding (and the
zero rows it appends), dilation, depth multiplier."""

from __future__ import annotations

import numpy as np
import pytest
from _onnx import assert_same, randomize, require

import glassnet as gn
from glassnet import layers

CASES = {
    # name: (input shape, layers)
    "conv2d_transpose_valid": ((4, 5, 3), [layers.Conv2DTranspose(2, 3, activation="relu")]),
    "conv2d_transpose_same_strided": ((4, 5, 3), [layers.Conv2DTranspose(2, 3, strides=2,
                                                                         padding="same")]),
    "conv2d_transpose_even_kernel": ((4, 5, 3), [layers.Conv2DTranspose(
        2, (2, 4), strides=(3, 2), padding="same", use_bias=False)]),
    "conv2d_transpose_output_padding": ((4, 5, 2), [layers.Conv2DTranspose(
        3, 3, strides=2, output_padding=1)]),
    "conv2d_transpose_same_output_padding": ((4, 5, 2), [layers.Conv2DTranspose(
        3, 4, strides=3, padding="same", output_padding=(2, 1))]),
    "conv2d_transpose_stride_over_kernel": ((4, 5, 2), [layers.Conv2DTranspose(2, 1,
                                                                               strides=3)]),
    "conv2d_transpose_dilated": ((4, 5, 2), [layers.Conv2DTranspose(2, 3, dilation_rate=2,
                                                                    padding="same")]),
    "conv1d_transpose_valid_strided": ((5, 3), [layers.Conv1DTranspose(4, 3, strides=2,
                                                                       activation="tanh")]),
    "conv1d_transpose_same_appends_a_row": ((5, 3), [layers.Conv1DTranspose(2, 1, strides=2,
                                                                            padding="same")]),
    "depthwise_valid": ((6, 7, 3), [layers.DepthwiseConv2D(3, activation="relu")]),
    "depthwise_same_strided_multiplier": ((6, 7, 3), [layers.DepthwiseConv2D(
        (2, 3), strides=2, padding="same", depth_multiplier=2)]),
    "depthwise_dilated_no_bias": ((7, 7, 2), [layers.DepthwiseConv2D(
        3, dilation_rate=2, padding="same", use_bias=False)]),
    "separable_valid": ((6, 7, 3), [layers.SeparableConv2D(4, 3)]),
    "separable_same_strided_multiplier": ((6, 7, 3), [layers.SeparableConv2D(
        4, 2, strides=2, padding="same", depth_multiplier=3, activation="sigmoid")]),
    "conv3d_same_strided": ((5, 4, 6, 2), [layers.Conv3D(3, 3, strides=2, padding="same",
                                                         activation="relu")]),
    "conv3d_dilated": ((6, 6, 6, 1), [layers.Conv3D(2, 2, dilation_rate=2)]),
    "max_pool3d_same": ((5, 4, 6, 2), [layers.MaxPooling3D(2, padding="same")]),
    "average_pool3d_same_overlapping": ((5, 4, 6, 2), [layers.AveragePooling3D(
        3, strides=2, padding="same")]),
    "global_pool3d": ((3, 4, 2, 2), [layers.GlobalMaxPooling3D(keepdims=True),
                                     layers.GlobalAveragePooling3D()]),
    "autoencoder": ((8, 8, 1), [
        layers.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2D(1, 3, padding="same", activation="sigmoid")]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_option(name):
    require("onnxruntime")
    shape, stack = CASES[name]
    rng = np.random.default_rng(0)
    model = gn.Sequential([gn.Input(shape=shape), *stack])
    randomize(model, rng)
    assert_same(model, lambda batch: rng.standard_normal((batch, *shape)).astype(np.float32),
                f"option/{name}")


def test_open_spatial_axes_stay_open():
    require("onnxruntime")
    from _onnx import relative_difference, run, session

    from glassnet.export.onnx import to_onnx

    rng = np.random.default_rng(1)
    model = gn.Sequential([gn.Input(shape=(None, None, 2)),
                           layers.Conv2DTranspose(3, 3, strides=2, padding="same"),
                           layers.SeparableConv2D(2, 3, strides=2, padding="same")])
    randomize(model, rng)
    sess = session(to_onnx(model))
    for height, width in ((4, 5), (7, 3)):
        x = rng.standard_normal((2, height, width, 2)).astype(np.float32)
        assert relative_difference(run(sess, x), model.predict(x, verbose=0)) <= 1e-5

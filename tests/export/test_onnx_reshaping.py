"""Cropping1D/2D, ZeroPadding1D, UpSampling1D, RepeatVector and Permute exported to ONNX
predict in onnxruntime what glassnet predicts (batch 1 and 9), with the options that change
the graph, and open axes left open."""

from __future__ import annotations

import numpy as np
import pytest
from _onnx import assert_same, require

import glassnet as gn
from glassnet import layers

CASES = {
    # name: (input shape, layers)
    "cropping1d_one_side": ((6, 3), [layers.Cropping1D((2, 0))]),
    "cropping1d_both": ((6, 3), [layers.Cropping1D((1, 2))]),
    "cropping2d_asymmetric": ((6, 5, 2), [layers.Cropping2D(((0, 2), (1, 0)))]),
    "cropping2d_int": ((6, 5, 2), [layers.Cropping2D(1)]),
    "zero_padding1d": ((4, 3), [layers.ZeroPadding1D((2, 1))]),
    "up_sampling1d": ((4, 3), [layers.UpSampling1D(3)]),
    "repeat_vector_then_lstm": ((5,), [layers.RepeatVector(4),
                                       layers.LSTM(3, return_sequences=True)]),
    "permute_4d": ((2, 3, 4), [layers.Permute((3, 1, 2))]),
    "permute_then_dense": ((3, 4), [layers.Permute((2, 1)), layers.Dense(2)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_option(name):
    require("onnxruntime")
    shape, stack = CASES[name]
    rng = np.random.default_rng(0)
    model = gn.Sequential([gn.Input(shape=shape), *stack])
    assert_same(model, lambda batch: rng.standard_normal((batch, *shape)).astype(np.float32),
                f"option/{name}")


def test_open_time_axis_stays_open():
    require("onnxruntime")
    from _onnx import relative_difference, run, session

    from glassnet.export.onnx import to_onnx

    rng = np.random.default_rng(1)
    model = gn.Sequential([gn.Input(shape=(None, 3)), layers.ZeroPadding1D(1),
                           layers.UpSampling1D(2), layers.Cropping1D((1, 2))])
    sess = session(to_onnx(model))
    for steps in (4, 9):
        x = rng.standard_normal((2, steps, 3)).astype(np.float32)
        assert relative_difference(run(sess, x), model.predict(x, verbose=0)) == 0

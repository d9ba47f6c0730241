"""Masking, Rescaling, CategoryEncoding, Identity and the noise layers exported to ONNX
predict in onnxruntime what glassnet predicts (batch 1 and 9); Masking's mask reaches the
recurrent layers, also through layers that pass it on."""

from __future__ import annotations

import numpy as np
import pytest
from _onnx import assert_same, randomize, require

import glassnet as gn
from glassnet import layers


def _padded_steps(rng, batch, steps=6, features=3, mask_value=0.0):
    """Sequences with masked steps at the end and, for some samples, in the middle."""
    x = rng.standard_normal((batch, steps, features))
    for row, length in zip(x, rng.integers(1, steps + 1, size=batch)):
        row[length:] = mask_value
    x[::3, 1] = mask_value
    return x.astype(np.float32)


MASKED = {
    "lstm": lambda: [layers.LSTM(3)],
    "gru_sequences": lambda: [layers.GRU(3, return_sequences=True)],
    "noise_then_lstm": lambda: [layers.GaussianNoise(0.1), layers.SpatialDropout1D(0.2),
                                layers.LSTM(3)],
    "identity_rescaling_then_gru": lambda: [layers.Identity(), layers.Rescaling(0.5),
                                            layers.GRU(2)],
}


@pytest.mark.parametrize("mask_value", [0.0, -1.0])
@pytest.mark.parametrize("name", sorted(MASKED))
def test_masking_before_recurrent_layers(name, mask_value):
    require("onnxruntime")
    rng = np.random.default_rng(2)
    model = gn.Sequential([gn.Input(shape=(6, 3)), layers.Masking(mask_value), *MASKED[name]()])
    randomize(model, rng)
    assert_same(model, lambda batch: _padded_steps(rng, batch, mask_value=mask_value),
                f"masking/{name}/{mask_value}")


def test_masking_alone_zeroes_masked_steps():
    require("onnxruntime")
    rng = np.random.default_rng(3)
    model = gn.Sequential([gn.Input(shape=(6, 3)), layers.Masking(-1.0)])
    assert_same(model, lambda batch: _padded_steps(rng, batch, mask_value=-1.0),
                "masking/alone")


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("width", [1, 4])
def test_category_encoding(mode, width):
    require("onnxruntime")
    rng = np.random.default_rng(4)
    model = gn.Sequential([gn.Input(shape=(width,)), layers.CategoryEncoding(6, mode)])
    assert_same(model, lambda batch: rng.integers(0, 6, (batch, width)).astype(np.float32),
                f"category_encoding/{mode}/{width}")


def test_rescaling_per_channel_and_noise_in_a_convnet():
    require("onnxruntime")
    rng = np.random.default_rng(5)
    model = gn.Sequential([gn.Input(shape=(5, 5, 3)),
                           layers.Rescaling([1 / 255, 2 / 255, 3 / 255], offset=-0.5),
                           layers.Conv2D(4, 3), layers.SpatialDropout2D(0.3),
                           layers.GaussianDropout(0.2), layers.AlphaDropout(0.1),
                           layers.Flatten(), layers.Dense(2)])
    randomize(model, rng)
    assert_same(model, lambda batch: rng.integers(0, 256, (batch, 5, 5, 3)).astype(np.float32),
                "rescaling/convnet")

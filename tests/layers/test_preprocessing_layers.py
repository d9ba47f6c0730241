"""Rescaling and CategoryEncoding (layers/preprocessing.py; tests/test_preprocessing.py is the
glassnet.preprocessing module's): outputs as Keras defines them (CategoryEncoding against torch's
one_hot), gradients, integer inputs, argument checks."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.gradcheck import check_layer
from glassnet.layers import CategoryEncoding, Rescaling


def test_rescaling_pixels_to_unit_range():
    pixels = np.array([[0, 51, 255]], dtype=np.uint8)
    y = Rescaling(1 / 255)(pixels)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, [[0.0, 0.2, 1.0]], rtol=1e-6)
    np.testing.assert_allclose(Rescaling(1 / 127.5, offset=-1)(pixels), [[-1, -0.6, 1]],
                               rtol=1e-6, atol=1e-7)


def test_rescaling_per_channel_and_gradient(rng):
    x = rng.standard_normal((2, 3, 3))
    layer = Rescaling([1.0, -2.0, 0.5], offset=[0.0, 1.0, 2.0])
    np.testing.assert_allclose(layer(x), x * [1.0, -2.0, 0.5] + [0.0, 1.0, 2.0])
    report = check_layer(layer, x)
    assert report.passed, str(report)
    assert layer.get_config()["scale"] == [1.0, -2.0, 0.5]


def test_rescaling_in_a_model_takes_integer_images(tmp_path):
    model = gn.Sequential([gn.Input(shape=(2, 2, 1)), Rescaling(1 / 255),
                           gn.layers.Flatten(), gn.layers.Dense(1)])
    images = np.array([[[[0], [255]], [[128], [64]]]], dtype=np.uint8)
    assert model.predict(images, verbose=0).shape == (1, 1)


IDS = np.array([[0, 1, 1], [3, 3, 3], [4, 0, 2]])


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("ids", [IDS, IDS[:, :1], IDS[:, 0]], ids=["NK", "N1", "N"])
def test_category_encoding_matches_torch_one_hot(mode, ids, torch):
    layer = CategoryEncoding(5, output_mode=mode)
    y = layer(ids)
    one_hot = torch.nn.functional.one_hot(torch.tensor(ids), 5).double()
    if mode == "one_hot":
        expected = one_hot[..., 0, :] if ids.ndim > 1 and ids.shape[-1] == 1 else one_hot
    else:    # over each sample's ids (a rank-1 input is one sample's, as Keras reads it)
        reduce = (lambda t: t.amax(dim=-2)) if mode == "multi_hot" else (lambda t: t.sum(-2))
        expected = reduce(one_hot)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, expected.numpy())
    assert layer.compute_output_shape(ids.shape) == y.shape
    assert layer.backward(np.ones_like(y)) is None


def test_category_encoding_takes_whole_floats_and_binary_alias():
    layer = CategoryEncoding(3, output_mode="binary")
    assert layer.output_mode == "multi_hot"
    np.testing.assert_array_equal(layer(np.array([[2.0, 0.0]])), [[1, 0, 1]])


@pytest.mark.parametrize("make, x, message", [
    (lambda: CategoryEncoding(3), IDS, r"\[0, num_tokens\)"),
    (lambda: CategoryEncoding(5), -IDS, r"\[0, num_tokens\)"),
    (lambda: CategoryEncoding(5), IDS + 0.5, "integer ids"),
    (lambda: CategoryEncoding(5, "count"), IDS[:, :, None], "batch, ids_per_sample"),
])
def test_category_encoding_refuses_bad_ids(make, x, message):
    with pytest.raises(ValueError, match=message):
        make()(x)


@pytest.mark.parametrize("kwargs, message", [
    ({}, "num_tokens"),
    ({"num_tokens": 0}, "num_tokens"),
    ({"num_tokens": 3, "output_mode": "tf_idf"}, "output_mode"),
    ({"num_tokens": 3, "sparse": True}, "sparse"),
])
def test_category_encoding_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CategoryEncoding(**kwargs)


def test_category_encoding_config_as_keras():
    config = CategoryEncoding(4, output_mode="one_hot", name="enc").get_config()
    assert config == {"name": "enc", "trainable": True, "dtype": "float32", "num_tokens": 4,
                      "output_mode": "one_hot"}

"""Embedding: look-up, scatter-add gradient, PyTorch reference, masks, errors, config."""

import numpy as np
import pytest

from glassnet import gradcheck
from glassnet.layers.embedding import Embedding
from glassnet.layers.recurrent import LSTM
from glassnet.registry import deserialize, serialize


@pytest.mark.parametrize("shape", [(3, 4), (1, 1), (5,), (2, 3, 2)])
def test_embedding_gradients(shape, rng):
    ids = rng.integers(0, 6, size=shape)          # small vocabulary: ids repeat
    report = gradcheck.check_layer(Embedding(6, 3), ids)
    assert report.passed, report


def test_embedding_is_a_row_look_up(rng):
    layer = Embedding(10, 4)
    ids = rng.integers(0, 10, size=(3, 5))
    y = layer(ids)
    table = layer.get_weights()[0]
    assert y.shape == (3, 5, 4) == layer.compute_output_shape((3, 5))
    assert y.dtype == np.float32 and table.shape == (10, 4)
    np.testing.assert_array_equal(y, table[ids])
    assert np.abs(table).max() <= 0.05 and np.abs(table).max() > 0      # U(-0.05, 0.05)


def test_embedding_repeated_ids_accumulate(rng):
    layer = Embedding(4, 2, dtype="float64")
    ids = np.array([[1, 1, 3], [1, 0, 3]])
    layer(ids)
    dy = rng.standard_normal((2, 3, 2))
    assert layer.backward(dy) is None            # ids are not differentiable
    grad = layer.embeddings.grad
    np.testing.assert_allclose(grad[1], dy[0, 0] + dy[0, 1] + dy[1, 0])
    np.testing.assert_allclose(grad[3], dy[0, 2] + dy[1, 2])
    np.testing.assert_allclose(grad[2], 0)


def test_embedding_matches_torch(torch, rng):
    layer = Embedding(7, 3, dtype="float64")
    ids = rng.integers(0, 7, size=(4, 5))
    layer(ids)
    reference = torch.nn.Embedding(7, 3, dtype=torch.float64)
    with torch.no_grad():
        reference.weight.copy_(torch.from_numpy(layer.get_weights()[0]))
    dy = rng.standard_normal((4, 5, 3))
    y = layer.forward(ids)
    layer.backward(dy)
    y_t = reference(torch.from_numpy(ids))
    (y_t * torch.from_numpy(dy)).sum().backward()
    np.testing.assert_allclose(y, y_t.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.embeddings.grad, reference.weight.grad.numpy(), rtol=1e-12)


def test_embedding_accepts_whole_floats():
    """fit/predict cast inputs to floatx: ids stored as floats still look up."""
    layer = Embedding(5, 2)
    np.testing.assert_array_equal(layer(np.array([[1.0, 4.0]], dtype="float32")),
                                  layer(np.array([[1, 4]])))


@pytest.mark.parametrize("ids,message", [
    (np.array([[0, 5]]), r"\[0, 5\).*\[0, 5\]"),
    (np.array([[-1, 2]]), r"\[0, 5\).*\[-1, 2\]"),
    (np.array([[0.5, 2.0]]), "integer ids"),
    (np.array([[True, False]]), "integer ids"),
])
def test_embedding_rejects_bad_ids(ids, message):
    layer = Embedding(5, 2, name="emb")
    with pytest.raises(ValueError, match="'emb'.*" + message):
        layer(ids)


@pytest.mark.parametrize("argument", ["input_dim", "output_dim"])
def test_embedding_rejects_bad_sizes(argument):
    sizes = {"input_dim": 3, "output_dim": 2, argument: 0}
    with pytest.raises(ValueError, match=argument):
        Embedding(**sizes)


def test_embedding_mask_zero_feeds_a_recurrent_layer(rng):
    embedding = Embedding(6, 3, mask_zero=True)
    ids = np.array([[4, 2, 5, 0, 0], [1, 3, 0, 0, 0]])
    assert Embedding(6, 3).compute_mask(ids) is None
    mask = embedding.compute_mask(ids)
    np.testing.assert_array_equal(mask, ids != 0)
    lstm = LSTM(2)
    y_padded = lstm(embedding(ids), mask=mask)
    for n, length in enumerate([3, 2]):                  # padding does not change the result
        y_short = lstm(embedding(ids[n:n + 1, :length]))
        np.testing.assert_allclose(y_padded[n], y_short[0], rtol=1e-5, atol=1e-7)


def test_embedding_set_weights_and_config():
    layer = Embedding(4, 3, mask_zero=True, embeddings_regularizer="l2", name="words")
    layer.maybe_build((None, 7))
    table = np.arange(12.0).reshape(4, 3)
    layer.set_weights([table])
    np.testing.assert_array_equal(layer(np.array([[2]]))[0, 0], table[2])
    with pytest.raises(ValueError, match=r"expected shape \(4, 3\), got \(3, 4\)"):
        layer.set_weights([table.T])
    clone = deserialize("layer", serialize(layer))
    assert isinstance(clone, Embedding) and clone.get_config() == layer.get_config()
    assert clone.mask_zero and clone.embeddings_regularizer is not None

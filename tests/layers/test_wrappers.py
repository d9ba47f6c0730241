"""Bidirectional and TimeDistributed: gradients, merge modes, masks, weights, configs."""

import numpy as np
import pytest

from glassnet import gradcheck
from glassnet.layers.core import Dense
from glassnet.layers.recurrent import GRU, LSTM, SimpleRNN
from glassnet.layers.wrappers import Bidirectional, TimeDistributed
from glassnet.registry import deserialize, serialize

MERGE_MODES = ["concat", "sum", "mul", "ave"]


class ListOutputs:
    """A layer whose forward returns a list, seen by the gradient checker as one array."""

    def __init__(self, layer, mask=None):
        self.layer, self.mask, self.name = layer, mask, layer.name

    def maybe_build(self, input_shape):
        self.layer.maybe_build(input_shape)

    def parameters(self, trainable_only=False):
        return self.layer.parameters(trainable_only)

    def forward(self, x, training=False):
        outputs = self.layer.forward(x, training=training, mask=self.mask)
        if not isinstance(outputs, list):
            return outputs
        self._shapes = [o.shape for o in outputs]
        return np.concatenate([o.reshape(len(o), -1) for o in outputs], axis=1)

    def backward(self, dy):
        if not hasattr(self, "_shapes"):
            return self.layer.backward(dy)
        parts = np.split(dy, np.cumsum([int(np.prod(s[1:])) for s in self._shapes])[:-1], axis=1)
        return self.layer.backward([p.reshape(s) for p, s in zip(parts, self._shapes)])


def _randomize(layer, rng):
    layer.set_weights([0.5 * rng.standard_normal(w.shape) for w in layer.get_weights()])


# ----- Bidirectional --------------------------------------------------------------------------
@pytest.mark.parametrize("merge_mode", MERGE_MODES)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_bidirectional_gradients(merge_mode, return_sequences, cls, rng):
    layer = Bidirectional(cls(3, return_sequences=return_sequences), merge_mode=merge_mode)
    report = gradcheck.check_layer(layer, rng.standard_normal((2, 4, 3)))
    assert report.passed, report


@pytest.mark.parametrize("merge_mode", MERGE_MODES + [None])
@pytest.mark.parametrize("return_state", [False, True])
def test_bidirectional_list_outputs_gradients(merge_mode, return_state, rng):
    layer = Bidirectional(LSTM(3, return_sequences=True, return_state=return_state),
                          merge_mode=merge_mode)
    report = gradcheck.check_layer(ListOutputs(layer), rng.standard_normal((2, 4, 3)))
    assert report.passed, report


@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_masked_gradients(return_sequences, rng):
    mask = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1]], dtype=bool)
    layer = Bidirectional(GRU(3, return_sequences=return_sequences))
    report = gradcheck.check_layer(ListOutputs(layer, mask), rng.standard_normal((2, 5, 2)))
    assert report.passed, report


def test_bidirectional_is_forward_and_reversed_layer(rng):
    """Output = [layer(x), time-reversed(layer'(reversed x))] with the same weights."""
    x = rng.standard_normal((2, 5, 3))
    bidirectional = Bidirectional(SimpleRNN(4, return_sequences=True, dtype="float64"),
                                  merge_mode=None)
    y_forward, y_backward = bidirectional(x)
    plain = SimpleRNN(4, return_sequences=True, dtype="float64")
    plain(x)
    plain.set_weights(bidirectional.forward_layer.get_weights())
    np.testing.assert_allclose(y_forward, plain(x), rtol=1e-12)
    plain.set_weights(bidirectional.backward_layer.get_weights())
    np.testing.assert_allclose(y_backward, plain(x[:, ::-1])[:, ::-1], rtol=1e-12)


def test_bidirectional_merge_modes_combine_the_same_outputs(rng):
    x = rng.standard_normal((2, 4, 3))
    pair = Bidirectional(GRU(3, return_sequences=True, dtype="float64"), merge_mode=None)
    y_forward, y_backward = pair(x)
    expected = {"concat": np.concatenate([y_forward, y_backward], axis=-1),
                "sum": y_forward + y_backward, "mul": y_forward * y_backward,
                "ave": (y_forward + y_backward) / 2}
    for mode, value in expected.items():
        layer = Bidirectional(GRU(3, return_sequences=True, dtype="float64"), merge_mode=mode)
        layer(x)
        layer.set_weights(pair.get_weights())
        np.testing.assert_allclose(layer(x), value, rtol=1e-12)


def test_bidirectional_masked_sequences_output_zeros(rng):
    mask = np.array([[1, 1, 0, 0], [1, 0, 1, 1]], dtype=bool)
    layer = Bidirectional(LSTM(3, return_sequences=True))
    y = layer(rng.standard_normal((2, 4, 2)).astype("float32"), mask=mask)
    assert np.all(y[~mask] == 0) and np.all(np.abs(y[mask]).sum(axis=-1) > 0)


def test_bidirectional_weights_keras_order():
    layer = Bidirectional(LSTM(4, name="enc"))
    layer.maybe_build((None, 6, 3))
    assert layer.forward_layer.name == "forward_enc"
    assert layer.backward_layer.name == "backward_enc" and layer.backward_layer.go_backwards
    assert [w.shape for w in layer.get_weights()] == [(3, 16), (4, 16), (16,)] * 2
    assert layer.parameters() == (layer.forward_layer.parameters()
                                  + layer.backward_layer.parameters())
    assert layer.count_params() == 2 * (3 * 16 + 4 * 16 + 16)
    layer.trainable = False
    assert layer.trainable_weights == []


def test_bidirectional_initial_state_split(rng):
    layer = Bidirectional(GRU(3, dtype="float64"), merge_mode=None)
    x = rng.standard_normal((2, 4, 2))
    h_forward, h_backward = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    y_forward, y_backward = layer(x, initial_state=[h_forward, h_backward])
    np.testing.assert_allclose(
        y_forward, layer.forward_layer.forward(x, initial_state=[h_forward]), rtol=1e-12)
    np.testing.assert_allclose(
        y_backward, layer.backward_layer.forward(x, initial_state=[h_backward]), rtol=1e-12)


def test_bidirectional_custom_backward_layer(rng):
    layer = Bidirectional(LSTM(3, return_sequences=True),
                          backward_layer=GRU(2, return_sequences=True, go_backwards=True))
    assert layer(rng.standard_normal((2, 4, 3)).astype("float32")).shape == (2, 4, 5)
    assert layer.compute_output_shape((2, 4, 3)) == (2, 4, 5)
    with pytest.raises(ValueError, match="go_backwards"):
        Bidirectional(LSTM(3), backward_layer=LSTM(3))
    with pytest.raises(ValueError, match="return_sequences"):
        Bidirectional(LSTM(3), backward_layer=LSTM(3, go_backwards=True, return_sequences=True))


def test_bidirectional_rejects_bad_arguments():
    with pytest.raises(ValueError, match="merge_mode.*'max'"):
        Bidirectional(LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="Layer instance"):
        Bidirectional("lstm")


@pytest.mark.parametrize("merge_mode,return_state,expected", [
    ("concat", False, (None, 5, 8)),
    ("sum", False, (None, 5, 4)),
    (None, False, [(None, 5, 4), (None, 5, 4)]),
    ("concat", True, [(None, 5, 8), (None, 4), (None, 4), (None, 4), (None, 4)]),
])
def test_bidirectional_output_shapes(merge_mode, return_state, expected, rng):
    layer = Bidirectional(LSTM(4, return_sequences=True, return_state=return_state),
                          merge_mode=merge_mode)
    assert layer.compute_output_shape((None, 5, 3)) == expected
    outputs = layer(rng.standard_normal((2, 5, 3)).astype("float32"))
    if isinstance(expected, list):
        assert [o.shape for o in outputs] == [(2,) + s[1:] for s in expected]
    else:
        assert outputs.shape == (2,) + expected[1:]


def test_bidirectional_config_round_trip(rng):
    layer = Bidirectional(GRU(3, return_sequences=True, reset_after=False), merge_mode="ave",
                          name="bi")
    clone = deserialize("layer", serialize(layer))
    assert isinstance(clone, Bidirectional)
    assert clone.get_config() == layer.get_config()
    x = rng.standard_normal((2, 4, 3)).astype("float32")
    layer(x)
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(x), layer(x), rtol=1e-6)


# ----- TimeDistributed ------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(2, 3, 4), (1, 1, 5), (2, 3, 2, 4)])
def test_time_distributed_dense_gradients(shape, rng):
    layer = TimeDistributed(Dense(3, activation="tanh", bias_initializer="random_normal"))
    report = gradcheck.check_layer(layer, rng.standard_normal(shape))
    assert report.passed, report


def test_time_distributed_is_the_layer_on_every_step(rng):
    x = rng.standard_normal((2, 5, 4)).astype("float32")
    layer = TimeDistributed(Dense(3, activation="relu"))
    y = layer(x)
    assert y.shape == (2, 5, 3) == layer.compute_output_shape((2, 5, 4))
    for t in range(5):
        np.testing.assert_allclose(y[:, t], layer.layer.forward(x[:, t]), rtol=1e-6)
    assert layer.parameters() == layer.layer.parameters()
    assert [w.shape for w in layer.get_weights()] == [(4, 3), (3,)]


def test_time_distributed_of_recurrent_layer(rng):
    """(N, T, T2, D): an LSTM over the inner sequence of every outer step."""
    layer = TimeDistributed(LSTM(3))
    report = gradcheck.check_layer(layer, rng.standard_normal((2, 3, 4, 2)))
    assert report.passed, report
    assert layer.compute_output_shape((None, 3, 4, 2)) == (None, 3, 3)


def test_time_distributed_errors_and_config(rng):
    with pytest.raises(ValueError, match="Layer instance"):
        TimeDistributed("dense")
    layer = TimeDistributed(Dense(2), name="td")
    with pytest.raises(ValueError, match=r"'td'.*rank >= 3.*\(4, 5\)"):
        layer.forward(np.ones((4, 5), dtype="float32"))
    clone = deserialize("layer", serialize(layer))
    assert isinstance(clone, TimeDistributed) and isinstance(clone.layer, Dense)
    assert clone.get_config() == layer.get_config()

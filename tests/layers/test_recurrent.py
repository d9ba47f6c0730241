"""SimpleRNN, LSTM and GRU: gradient checks, PyTorch references, masking, Keras weights."""

import numpy as np
import pytest

from glassnet import gradcheck
from glassnet.layers.recurrent import GRU, LSTM, SimpleRNN
from glassnet.layers.wrappers import Bidirectional
from glassnet.registry import deserialize, serialize

RNNS = [SimpleRNN, LSTM, GRU]
TORCH_RTOL, TORCH_ATOL = 1e-9, 1e-12          # float64 on both sides


class MaskedCall:
    """A layer seen by the gradient checker with a fixed mask (and/or initial_state)."""

    def __init__(self, layer, mask=None, initial_state=None):
        self.layer, self.mask, self.initial_state = layer, mask, initial_state
        self.name = layer.name

    def maybe_build(self, input_shape):
        self.layer.maybe_build(input_shape)

    def parameters(self, trainable_only=False):
        return self.layer.parameters(trainable_only)

    def forward(self, x, training=False):
        return self.layer.forward(x, training=training, mask=self.mask,
                                  initial_state=self.initial_state)

    def backward(self, dy):
        return self.layer.backward(dy)


class ConcatenatedOutputs(MaskedCall):
    """return_state outputs [y, h, (c)] flattened into one (N, ·) array, and the gradient
    split back into the list the layer's backward takes."""

    def forward(self, x, training=False):
        outputs = super().forward(x, training)
        self._shapes = [o.shape for o in outputs]
        return np.concatenate([o.reshape(len(o), -1) for o in outputs], axis=1)

    def backward(self, dy):
        sizes = np.cumsum([int(np.prod(s[1:])) for s in self._shapes])[:-1]
        parts = np.split(dy, sizes, axis=1)
        return self.layer.backward([p.reshape(s) for p, s in zip(parts, self._shapes)])


def _randomize(layer, rng, scale=0.5):
    """Random weights (biases included) so that every gradient path is exercised."""
    layer.set_weights([scale * rng.standard_normal(w.shape) for w in layer.get_weights()])


# ----- gradient checks ----------------------------------------------------------------------
@pytest.mark.parametrize("cls", RNNS)
@pytest.mark.parametrize("shape,units", [((3, 4, 5), 3), ((2, 1, 3), 2), ((1, 5, 2), 5)])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_gradients(cls, shape, units, return_sequences, rng):
    layer = cls(units, return_sequences=return_sequences)
    layer.maybe_build((None,) + shape[1:])
    _randomize(layer, rng)
    report = gradcheck.check_layer(layer, rng.standard_normal(shape))
    assert report.passed, report


@pytest.mark.parametrize("cls", RNNS)
def test_gradients_go_backwards(cls, rng):
    layer = cls(3, return_sequences=True, go_backwards=True)
    report = gradcheck.check_layer(layer, rng.standard_normal((2, 4, 3)))
    assert report.passed, report


@pytest.mark.parametrize("kwargs", [{"reset_after": False}, {"use_bias": False},
                                    {"activation": "relu", "recurrent_activation": "tanh"}])
def test_gru_variants_gradients(kwargs, rng):
    layer = GRU(3, return_sequences=True, **kwargs)
    layer.maybe_build((None, 4, 3))
    _randomize(layer, rng)
    report = gradcheck.check_layer(layer, rng.standard_normal((2, 4, 3)))
    assert report.passed, report


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
def test_skipping_the_input_gradient_keeps_the_weight_gradients(cls, rng):
    layer = cls(3, return_sequences=True, dtype="float64")
    x = rng.standard_normal((2, 4, 3))
    dy = rng.standard_normal((2, 4, 3))
    layer(x, training=True)
    assert layer.backward(dy).shape == x.shape
    full = [w.grad.copy() for w in layer.weights]
    layer.zero_grad()
    assert cls.skips_input_gradient
    assert layer.backward(dy, input_gradient=False) is None
    for weight, expected in zip(layer.weights, full):
        np.testing.assert_array_equal(weight.grad, expected)


def test_lstm_softmax_gates_normalise_each_gate_on_its_own(rng):
    # the whole-block gate activation is for elementwise functions; softmax keeps Keras'
    # per-gate meaning: each of i, f, o sums to 1 over its own units
    layer = LSTM(3, recurrent_activation="softmax", dtype="float64")
    layer(rng.standard_normal((2, 4, 3)))
    gates = layer._a[:, [0, 1, 3]]                 # (steps, gate, N, U), gate-major: i, f, o
    np.testing.assert_allclose(gates.sum(axis=-1), 1.0)


@pytest.mark.parametrize("kwargs", [{}, {"activation": "relu"}, {"use_bias": False}])
def test_lstm_matches_a_textbook_step_loop(kwargs, rng):
    # the layer computes σ(z) as (1 + tanh(z/2)) / 2 with z/2 from halved weight columns and
    # keeps gates gate-major; a plain per-step loop with σ = 1 / (1 + e^-z) must agree
    layer = LSTM(5, return_sequences=True, return_state=True, dtype="float64", **kwargs)
    layer.maybe_build((None, 6, 3))
    _randomize(layer, rng)
    x = rng.standard_normal((4, 6, 3))
    sequence, h_last, c_last = layer(x)
    weights = layer.get_weights()
    kernel, recurrent = weights[0], weights[1]
    bias = weights[2] if len(weights) == 3 else 0.0
    g_activation = {"relu": lambda v: np.maximum(v, 0)}.get(kwargs.get("activation"), np.tanh)
    h, c, expected = np.zeros((4, 5)), np.zeros((4, 5)), []
    for t in range(6):
        z_i, z_f, z_g, z_o = np.split(x[:, t] @ kernel + h @ recurrent + bias, 4, axis=1)
        i, f, o = (1 / (1 + np.exp(-v)) for v in (z_i, z_f, z_o))
        c = f * c + i * g_activation(z_g)
        h = o * g_activation(c)
        expected.append(h)
    np.testing.assert_allclose(sequence, np.stack(expected, axis=1), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h_last, h, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(c_last, c, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kwargs", [{"use_bias": False}, {"activation": "softplus"},
                                    {"recurrent_activation": "silu"},
                                    {"recurrent_activation": "softmax"},   # not elementwise
                                    {"activation": "linear", "unit_forget_bias": False}])
def test_lstm_variants_gradients(kwargs, rng):
    layer = LSTM(3, return_sequences=True, **kwargs)
    layer.maybe_build((None, 4, 3))
    _randomize(layer, rng)
    x = rng.standard_normal((2, 4, 3))
    report = gradcheck.check_layer(layer, x)
    assert report.passed, report


@pytest.mark.parametrize("cls", RNNS)
@pytest.mark.parametrize("return_sequences", [False, True])
def test_gradients_with_return_state_and_initial_state(cls, return_sequences, rng):
    layer = cls(3, return_sequences=return_sequences, return_state=True)
    layer.maybe_build((None, 4, 2))
    _randomize(layer, rng)
    initial = [rng.standard_normal((2, 3)) for _ in layer.state_names]
    report = gradcheck.check_layer(ConcatenatedOutputs(layer, initial_state=initial),
                                   rng.standard_normal((2, 4, 2)))
    assert report.passed, report


def test_initial_state_gradients(rng):
    layer = LSTM(3)
    x = rng.standard_normal((2, 4, 2))
    h0, c0 = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    layer.maybe_build((None, 4, 2))
    gradcheck.to_float64(layer)
    dy = rng.standard_normal((2, 3))
    layer.forward(x, initial_state=[h0, c0])
    layer.backward(dy)
    for state, analytic in zip((h0, c0), layer.initial_state_gradients):
        numeric = gradcheck.numerical_gradient(
            lambda: float(np.sum(layer.forward(x, initial_state=[h0, c0]) * dy)),
            state, range(state.size), 1e-6)
        assert gradcheck.relative_error(analytic, numeric) < 1e-6


def test_return_state_backward_accepts_none(rng):
    layer = LSTM(3, return_state=True)
    x = rng.standard_normal((2, 4, 2))
    layer.maybe_build((None, 4, 2))
    gradcheck.to_float64(layer)
    dy = rng.standard_normal((2, 3))
    layer.forward(x)
    dx_none = layer.backward([dy, None, None])
    grad_none = layer.recurrent_kernel.grad.copy()
    layer.zero_grad()
    layer.forward(x)
    dx_zeros = layer.backward([dy, np.zeros((2, 3)), np.zeros((2, 3))])
    np.testing.assert_array_equal(dx_none, dx_zeros)
    np.testing.assert_array_equal(grad_none, layer.recurrent_kernel.grad)
    with pytest.raises(ValueError, match="list of 3 gradients"):
        layer.backward(dy)


# ----- masking ------------------------------------------------------------------------------
MASKS = {
    "post_padding": np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], dtype=bool),
    "middle": np.array([[1, 0, 1, 1, 0], [1, 1, 0, 0, 1], [0, 1, 1, 0, 1]], dtype=bool),
}


@pytest.mark.parametrize("cls", RNNS)
@pytest.mark.parametrize("mask_name", list(MASKS))
@pytest.mark.parametrize("kwargs", [{}, {"return_sequences": True}, {"go_backwards": True},
                                    {"return_sequences": True, "zero_output_for_mask": True}])
def test_masked_gradients(cls, mask_name, kwargs, rng):
    layer = cls(3, **kwargs)
    layer.maybe_build((None, 5, 2))
    _randomize(layer, rng)
    report = gradcheck.check_layer(MaskedCall(layer, MASKS[mask_name]),
                                   rng.standard_normal((3, 5, 2)))
    assert report.passed, report


@pytest.mark.parametrize("cls", RNNS)
@pytest.mark.parametrize("mask_name", list(MASKS))
def test_masked_steps_are_skipped(cls, mask_name, rng):
    """Keras semantics: a masked step carries the state and repeats the previous output, so
    a sample's outputs equal those of the sequence with its masked steps removed."""
    mask = MASKS[mask_name]
    layer = cls(4, return_sequences=True, return_state=True, dtype="float64")
    x = rng.standard_normal((3, 5, 2))
    layer(x)
    _randomize(layer, rng)
    outputs, *states = layer.forward(x, mask=mask)
    for n in range(3):
        kept = np.flatnonzero(mask[n])
        short, *short_states = layer.forward(x[n:n + 1, kept])
        for t in range(5):
            previous = kept[kept <= t]
            expected = short[0, len(previous) - 1] if len(previous) else np.zeros(4)
            np.testing.assert_allclose(outputs[n, t], expected, rtol=1e-12, atol=1e-14)
        for state, short_state in zip(states, short_states):
            np.testing.assert_allclose(state[n], short_state[0], rtol=1e-12, atol=1e-14)


def test_masked_inputs_get_no_gradient(rng):
    mask = MASKS["middle"]
    layer = GRU(3, return_sequences=True, dtype="float64")
    x = rng.standard_normal((3, 5, 2))
    layer(x, mask=mask)
    dx = layer.backward(rng.standard_normal((3, 5, 3)))
    assert np.all(dx[~mask] == 0) and np.all(np.abs(dx[mask]).sum(axis=-1) > 0)


def test_zero_output_for_mask(rng):
    layer = SimpleRNN(3, return_sequences=True, zero_output_for_mask=True)
    y = layer(rng.standard_normal((3, 5, 2)).astype("float32"), mask=MASKS["middle"])
    assert np.all(y[~MASKS["middle"]] == 0) and np.all(y[MASKS["middle"]] != 0)


def test_mask_shape_is_checked(rng):
    layer = LSTM(2, name="seq")
    with pytest.raises(ValueError, match=r"'seq'.*mask.*\(3, 5\).*\(3, 4\)"):
        layer(rng.standard_normal((3, 5, 2)), mask=np.ones((3, 4), dtype=bool))


def test_compute_mask():
    mask = np.ones((2, 3), dtype=bool)
    assert LSTM(2).compute_mask(None, mask) is None
    assert LSTM(2, return_sequences=True).compute_mask(None, mask) is mask
    assert LSTM(2, return_sequences=True, return_state=True).compute_mask(None, mask) == [
        mask, None, None]


# ----- PyTorch references (float64, copied weights) ----------------------------------------
def _gru_blocks_to_torch(a):
    """Keras gate blocks (z, r, h) along the last axis -> PyTorch's (r, z, n)."""
    z, r, h = np.split(a, 3, axis=-1)
    return np.concatenate([r, z, h], axis=-1)


def _gru_blocks_from_torch(a):
    r, z, h = np.split(a, 3, axis=-1)
    return np.concatenate([z, r, h], axis=-1)


def _to_torch_parameters(layer, module, suffix=""):
    """Copy a Keras-layout layer's weights into a torch RNN module (direction `suffix`)."""
    torch = pytest.importorskip("torch")
    kernel, recurrent, bias = layer.get_weights()
    if isinstance(layer, GRU):
        kernel, recurrent = _gru_blocks_to_torch(kernel), _gru_blocks_to_torch(recurrent)
        input_bias, recurrent_bias = _gru_blocks_to_torch(bias[0]), _gru_blocks_to_torch(bias[1])
    else:                                       # one Keras bias = b_ih, with b_hh = 0
        input_bias, recurrent_bias = bias, np.zeros_like(bias)
    values = {"weight_ih": kernel.T, "weight_hh": recurrent.T, "bias_ih": input_bias,
              "bias_hh": recurrent_bias}
    with torch.no_grad():
        for name, value in values.items():
            getattr(module, f"{name}_l0{suffix}").copy_(torch.from_numpy(np.array(value)))


def _torch_gradients(layer, module, suffix=""):
    """PyTorch's weight gradients in the Keras layout, in Keras weight order."""
    def grad(name):
        return getattr(module, f"{name}_l0{suffix}").grad.numpy()
    kernel, recurrent = grad("weight_ih").T, grad("weight_hh").T
    if isinstance(layer, GRU):
        bias = np.stack([_gru_blocks_from_torch(grad("bias_ih")),
                         _gru_blocks_from_torch(grad("bias_hh"))])
        return [_gru_blocks_from_torch(kernel), _gru_blocks_from_torch(recurrent), bias]
    return [kernel, recurrent, grad("bias_ih")]


def _torch_module(torch, cls, features, units, **kwargs):
    torch_cls = {SimpleRNN: torch.nn.RNN, LSTM: torch.nn.LSTM, GRU: torch.nn.GRU}[cls]
    return torch_cls(features, units, batch_first=True, dtype=torch.float64, **kwargs)


def _assert_close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=TORCH_RTOL, atol=TORCH_ATOL)


@pytest.mark.parametrize("cls", RNNS)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_matches_torch(torch, cls, return_sequences, go_backwards, rng):
    batch, steps, features, units = 3, 6, 4, 5
    layer = cls(units, return_sequences=return_sequences, return_state=True,
                go_backwards=go_backwards, dtype="float64")
    x = rng.standard_normal((batch, steps, features))
    layer(x)
    _randomize(layer, rng)
    module = _torch_module(torch, cls, features, units)
    _to_torch_parameters(layer, module)
    initial = [rng.standard_normal((batch, units)) for _ in layer.state_names]

    y, *states = layer.forward(x, initial_state=initial)
    dy = rng.standard_normal(y.shape)
    d_states = [rng.standard_normal(s.shape) for s in states]
    dx = layer.backward([dy] + d_states)

    x_t = torch.tensor(x[:, ::-1].copy() if go_backwards else x, requires_grad=True)
    initial_t = [torch.tensor(s[None]) for s in initial]
    out_t, states_t = module(x_t, tuple(initial_t) if cls is LSTM else initial_t[0])
    states_t = list(states_t) if cls is LSTM else [states_t]
    y_t = out_t if return_sequences else out_t[:, -1]
    loss = (y_t * torch.from_numpy(dy)).sum() + sum(
        (s[0] * torch.from_numpy(d)).sum() for s, d in zip(states_t, d_states))
    loss.backward()

    _assert_close(y, y_t.detach().numpy())
    for state, state_t in zip(states, states_t):
        _assert_close(state, state_t[0].detach().numpy())
    expected_dx = x_t.grad.numpy()
    _assert_close(dx, expected_dx[:, ::-1] if go_backwards else expected_dx)
    for param, expected in zip(layer.parameters(), _torch_gradients(layer, module)):
        _assert_close(param.grad, expected)


def test_bidirectional_lstm_matches_torch(torch, rng):
    batch, steps, features, units = 2, 5, 3, 4
    layer = Bidirectional(LSTM(units, return_sequences=True, dtype="float64"))
    x = rng.standard_normal((batch, steps, features))
    layer(x)
    _randomize(layer, rng)
    module = _torch_module(torch, LSTM, features, units, bidirectional=True)
    _to_torch_parameters(layer.forward_layer, module)
    _to_torch_parameters(layer.backward_layer, module, "_reverse")

    y = layer.forward(x)
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    x_t = torch.tensor(x, requires_grad=True)
    y_t, _ = module(x_t)
    (y_t * torch.from_numpy(dy)).sum().backward()

    _assert_close(y, y_t.detach().numpy())
    _assert_close(dx, x_t.grad.numpy())
    expected = _torch_gradients(layer.forward_layer, module) + _torch_gradients(
        layer.backward_layer, module, "_reverse")
    for param, grad in zip(layer.parameters(), expected):
        _assert_close(param.grad, grad)


# ----- Keras weights, shapes, configs, errors --------------------------------------------------
@pytest.mark.parametrize("cls,kwargs,shapes", [
    (SimpleRNN, {}, [(3, 4), (4, 4), (4,)]),
    (LSTM, {}, [(3, 16), (4, 16), (16,)]),
    (GRU, {}, [(3, 12), (4, 12), (2, 12)]),
    (GRU, {"reset_after": False}, [(3, 12), (4, 12), (12,)]),
    (LSTM, {"use_bias": False}, [(3, 16), (4, 16)]),
])
def test_keras_weight_shapes_and_set_weights(cls, kwargs, shapes, rng):
    layer = cls(4, **kwargs)
    layer.maybe_build((None, 7, 3))
    assert [w.shape for w in layer.get_weights()] == shapes
    assert all(w.dtype == np.float32 for w in layer.get_weights())
    keras_weights = [rng.standard_normal(s) for s in shapes]
    layer.set_weights(keras_weights)
    for ours, theirs in zip(layer.get_weights(), keras_weights):
        np.testing.assert_allclose(ours, theirs.astype("float32"))
    wrong = [w.T if w.ndim == 2 else w for w in keras_weights]
    with pytest.raises(ValueError, match="expected shape"):
        layer.set_weights(wrong)
    with pytest.raises(ValueError, match=f"expected {len(shapes)} arrays"):
        layer.set_weights(keras_weights[:-1])


def test_keras_initial_values():
    layer = LSTM(5)
    layer.maybe_build((None, 2, 3))
    kernel, recurrent, bias = layer.get_weights()
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(5), atol=1e-5)   # orthogonal
    np.testing.assert_array_equal(bias, np.r_[np.zeros(5), np.ones(5), np.zeros(10)])
    assert np.abs(kernel).max() <= np.sqrt(6 / (3 + 20))                        # Glorot


def test_float32_stays_float32(rng):
    for cls in RNNS:
        layer = cls(3, return_sequences=True)
        x = rng.standard_normal((2, 4, 3)).astype("float32")
        y = layer(x, mask=MASKS["middle"][:2, :4])
        dx = layer.backward(np.ones_like(y))
        assert y.dtype == dx.dtype == np.float32
        assert all(p.grad.dtype == np.float32 for p in layer.parameters())


@pytest.mark.parametrize("cls", RNNS)
def test_wrong_rank_names_layer(cls):
    layer = cls(2, name="recurrent")
    with pytest.raises(ValueError, match=r"'recurrent'.*\(batch, timesteps, features\).*\(4, 5\)"):
        layer(np.ones((4, 5), dtype="float32"))
    layer(np.ones((4, 3, 5), dtype="float32"))
    with pytest.raises(ValueError, match=r"'recurrent'.*\(4, 3, 6\)"):
        layer(np.ones((4, 3, 6), dtype="float32"))


@pytest.mark.parametrize("argument", ["dropout", "recurrent_dropout"])
def test_dropout_rates_are_kept_in_the_config(argument):
    """The dropout itself is tested in test_recurrent_dropout.py."""
    with pytest.raises(ValueError, match=f"{argument} must be a float in"):
        LSTM(2, **{argument: 1.5})
    assert LSTM(2, **{argument: 0.2}).get_config()[argument] == 0.2


@pytest.mark.parametrize("units", [0, -3, 2.5, True])
def test_bad_units(units):
    with pytest.raises(ValueError, match="units"):
        GRU(units)


def test_initial_state_is_checked(rng):
    layer = LSTM(3, name="enc")
    x = rng.standard_normal((2, 4, 2))
    with pytest.raises(ValueError, match="'enc'.*2 array"):
        layer(x, initial_state=[np.zeros((2, 3))])
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 4\)"):
        layer(x, initial_state=[np.zeros((2, 4)), np.zeros((2, 4))])


@pytest.mark.parametrize("layer", [
    SimpleRNN(3, activation="relu", return_sequences=True, kernel_regularizer="l2"),
    LSTM(4, recurrent_activation="relu", unit_forget_bias=False, go_backwards=True,
         recurrent_initializer="glorot_uniform"),
    GRU(2, reset_after=False, return_state=True, bias_regularizer="l1"),
], ids=["simple_rnn", "lstm", "gru"])
def test_config_round_trip(layer):
    clone = deserialize("layer", serialize(layer))
    assert type(clone) is type(layer)
    assert clone.get_config() == layer.get_config()


def test_output_shapes():
    assert LSTM(4).compute_output_shape((None, 7, 3)) == (None, 4)
    assert GRU(4, return_sequences=True).compute_output_shape((2, 7, 3)) == (2, 7, 4)
    assert LSTM(4, return_state=True).compute_output_shape((2, 7, 3)) == [(2, 4), (2, 4),
                                                                          (2, 4)]
    rnn = SimpleRNN(5, return_sequences=True)
    assert rnn(np.ones((2, 7, 3), dtype="float32")).shape == rnn.compute_output_shape((2, 7, 3))


@pytest.mark.parametrize("layer_class", [SimpleRNN, LSTM, GRU])
def test_pre_activations_are_kept_per_step_only_when_backward_needs_them(layer_class, rng):
    # tanh/sigmoid derivatives come from the outputs: one reused (N, k·U) buffer, no
    # (T, N, k·U) array; another activation (softplus) needs z: every step's is kept.
    x = rng.standard_normal((3, 5, 4))
    default = layer_class(6)
    default(x)
    assert default._z is None and default._z_step.shape[0] == 3
    other = layer_class(6, activation="softplus")
    other(x)
    assert other._z is not None and other._z.shape[:2] == (5, 3)

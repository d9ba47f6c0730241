"""SimpleRNN and LSTM backward through time against a textbook step loop (float64).

The layers compute each step as one GEMM [x_t, 1, h_{t-1}] @ [W; b; U] (σ through tanh with
halved weight columns, in the LSTM) and all weight gradients as one GEMM after the loop; the
reference below is the plain per-step loop with the product written out and the gradients
accumulated step by step. Odd sizes, a mask with gaps, dropout masks and an initial state,
so that every path of the fast code is compared.
"""

import numpy as np
import pytest

from glassnet.layers.recurrent import LSTM, SimpleRNN

N, T, D, U = 3, 7, 5, 6                 # odd sizes: no dimension equals another


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _reference(cls, weights, x, mask, h0, c0, m_x, m_h, dy):
    """Forward and backward of the plain loop: (h_T, dx, [dW, dU, db], dh0, dc0).

    Keras masking: a masked sample keeps its states. Loss L = Σ dy ⊙ h_T.
    """
    W, Uw, b = weights
    lstm = cls is LSTM
    h, c, cache = h0.copy(), c0.copy(), []
    for t in range(T):
        m = mask[:, t, None]
        z = (x[:, t] * m_x) @ W + (h * m_h) @ Uw + b
        if lstm:
            i, f, o = _sigmoid(z[:, :U]), _sigmoid(z[:, U:2 * U]), _sigmoid(z[:, 3 * U:])
            g = np.tanh(z[:, 2 * U:3 * U])
            c_new = f * c + i * g
            h_new = o * np.tanh(c_new)
            cache.append((h, c, i, f, g, o, c_new))
            c = np.where(m, c_new, c)
        else:
            h_new = np.tanh(z)
            cache.append((h, h_new))
        h = np.where(m, h_new, h)
    dW, dU, db = np.zeros_like(W), np.zeros_like(Uw), np.zeros_like(b)
    dx = np.zeros_like(x)
    dh, dc = dy.copy(), np.zeros_like(c0)
    for t in reversed(range(T)):
        m = mask[:, t, None]
        if lstm:
            h_prev, c_prev, i, f, g, o, c_new = cache[t]
            dh_new, dc_new = dh * m, dc * m
            tanh_c = np.tanh(c_new)
            dc_total = dc_new + dh_new * o * (1 - tanh_c ** 2)
            dz = np.concatenate([dc_total * g * i * (1 - i), dc_total * c_prev * f * (1 - f),
                                 dc_total * i * (1 - g ** 2), dh_new * tanh_c * o * (1 - o)],
                                axis=1)
            dc = dc_total * f + dc * ~m
        else:
            h_prev, h_new = cache[t]
            dz = dh * m * (1 - h_new ** 2)
        dW += (x[:, t] * m_x).T @ dz
        dU += (h_prev * m_h).T @ dz
        db += dz.sum(axis=0)
        dx[:, t] = (dz @ W.T) * m_x
        dh = (dz @ Uw.T) * m_h + dh * ~m
    return h, dx, [dW, dU, db], dh, dc


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM])
@pytest.mark.parametrize("dropout", [False, True])
def test_backward_through_time_matches_a_textbook_loop(cls, dropout, rng):
    rates = {"dropout": 0.3, "recurrent_dropout": 0.4, "seed": 5} if dropout else {}
    layer = cls(U, return_state=True, dtype="float64", **rates)
    layer.maybe_build((None, T, D))
    layer.set_weights([0.5 * rng.standard_normal(w.shape) for w in layer.get_weights()])
    x = rng.standard_normal((N, T, D))
    mask = rng.random((N, T)) < 0.7
    mask[:, -1] = [True, False, True]               # a sample whose last step is masked
    states = [rng.standard_normal((N, U)) for _ in layer.state_names]
    dy = rng.standard_normal((N, U))

    output, *_ = layer.forward(x, training=True, mask=mask, initial_state=states)
    for parameter in layer.parameters():
        parameter.zero_grad()
    dx = layer.backward([dy] + [None] * len(states))
    m_x = layer._input_mask if dropout else np.ones(D)
    m_h = layer._recurrent_mask if dropout else np.ones(U)
    if dropout:                                     # the masks drop something
        assert (m_x == 0).any() and (m_h == 0).any()
    c0 = states[1] if cls is LSTM else np.zeros((N, U))
    h_t, dx_ref, grads_ref, dh0, dc0 = _reference(cls, layer.get_weights(), x, mask, states[0],
                                                  c0, m_x, m_h, dy)

    np.testing.assert_allclose(output, h_t, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-10, atol=1e-13)
    for parameter, expected in zip((layer.kernel, layer.recurrent_kernel, layer.bias),
                                   grads_ref):
        np.testing.assert_allclose(parameter.grad, expected, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(layer.initial_state_gradients[0], dh0, rtol=1e-10, atol=1e-13)
    if cls is LSTM:
        np.testing.assert_allclose(layer.initial_state_gradients[1], dc0, rtol=1e-10,
                                   atol=1e-13)

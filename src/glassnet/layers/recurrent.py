"""Recurrent layers SimpleRNN, LSTM and GRU (Keras 3 weights, gate orders and defaults).

All three read a sequence x (N, T, D) one step at a time, carrying a state h (and, for the
LSTM, a cell c) from step to step:

    SimpleRNN   h_t = f(x_t W + h_{t-1} U + b)
    LSTM        [i, f, g, o] = [σ, σ, tanh, σ](x_t W + h_{t-1} U + b)      (Keras order i, f, c, o)
                c_t = f ⊙ c_{t-1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)
    GRU         [z, r] = σ(x_t W_zr + h_{t-1} U_zr + b_zr)                  (Keras order z, r, h)
                h̃ = tanh(x_t W_h + b_in_h + r ⊙ (h_{t-1} U_h + b_rec_h))   (reset_after=True)
                h_t = z ⊙ h_{t-1} + (1 - z) ⊙ h̃

The time loop, masking and the shared arguments are `_RNN`'s (layers/rnn.py, with the speed
and masking notes); each layer here writes one step forward and one step backward. The LSTM
keeps its gates gate-major, (T, 4, N, U), so that the cell math runs on contiguous (N, U)
blocks, and gets σ through tanh(z/2) with the halving folded into its weights (see
LSTM._step).
"""

from __future__ import annotations

import numpy as np

from glassnet import activations
from glassnet.backend import namespace
from glassnet.layers.rnn import (
    _RNN,
    _activate,
    _backprop,
    _column_sums,
    _derivative,
    _elementwise,
    _gate_major,
    _part,
)
from glassnet.registry import register


@register("layer")
class SimpleRNN(_RNN):
    """Fully connected recurrence h_t = f(x_t W + h_{t-1} U + b).

    Shapes: x (N, T, D) -> (N, T, U) with return_sequences, else (N, U);
    kernel W (D, U), recurrent_kernel U (U, U), bias b (U,).
    Init: W Glorot uniform, U orthogonal, b = 0.

    Args:
        units: size U of the state.
        activation: f, default "tanh".
        use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
        kernel_regularizer, recurrent_regularizer, bias_regularizer: as in Keras.
        kernel_constraint, recurrent_constraint, bias_constraint: as in Keras (applied after
            each optimizer step).
        return_sequences: return every step's output instead of the last one.
        return_state: also return the final state: forward gives [output, h].
        go_backwards: read the sequence from the end; returned sequences are in that order.
        zero_output_for_mask: masked steps output zeros instead of the previous output.
        dropout: fraction of the input features dropped in training, one mask per sequence.
        recurrent_dropout: fraction of the state's units dropped from the recurrent product
            in training, one mask per sequence (see layers/rnn.py).
        seed: seeds the dropout masks' generator.

    Example:
        >>> layer = SimpleRNN(4)
        >>> layer(np.ones((2, 3, 5), dtype="float32")).shape
        (2, 4)
    """

    def _allocate(self, steps, batch, dtype):
        self._gate_inputs(steps, batch, self.units, dtype, [self.activation])

    def _step(self, t, xz_t, states, new_states):
        z = self._z_for_step(t)          # [x_t, 1, h_{t-1}] @ [W; b; U] (N, D + 1 + U) @ (.., U)
        np.matmul(self._step_input(t, states[0]), self._step_kernel, out=z)
        _activate(self.activation, z, new_states[0])                  # h_t = f(z)

    def _step_backward(self, t, d_states, dz):
        # h_t as stored (a masked sample's is h_{t-1}, but its gradient is zero)
        _backprop(self.activation, d_states[0], self._states[0, t + 1], self._kept_z(t), dz)
        return [self._recurrent_gradient(dz @ self._recurrent_kernel_t)]  # dL/dh_{t-1}


@register("layer")
class LSTM(_RNN):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997), Keras gate order i, f, c, o.

        [z_i, z_f, z_c, z_o] = x_t W + h_{t-1} U + b
        i, f, o = σ(z_i), σ(z_f), σ(z_o);   g = tanh(z_c)
        c_t = f ⊙ c_{t-1} + i ⊙ g;           h_t = o ⊙ tanh(c_t)

    Shapes: x (N, T, D) -> (N, T, U) or (N, U); kernel W (D, 4U), recurrent_kernel U (U, 4U),
    bias b (4U,). Init: W Glorot uniform, U orthogonal, b = 0 except the forget block
    b[U:2U] = 1 with unit_forget_bias (Jozefowicz et al., 2015: remember by default).

    Args: as SimpleRNN, plus
        recurrent_activation: σ above, default "sigmoid" (tanh above is `activation`).
        unit_forget_bias: start the forget-gate bias at 1.
        return_state: forward gives [output, h, c]; backward takes [d_output, d_h, d_c].

    Example:
        >>> LSTM(8, return_sequences=True)(np.ones((2, 5, 3), dtype="float32")).shape
        (2, 5, 8)
    """

    gates = 4
    state_names = ("h", "c")

    def __init__(self, units: int, activation="tanh", recurrent_activation="sigmoid",
                 unit_forget_bias: bool = True, use_cudnn="auto", **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.use_cudnn = use_cudnn                   # accepted for Keras compatibility

    def build(self, input_shape):
        super().build(input_shape)
        if self.use_bias and self.unit_forget_bias:
            self.bias.value[self.units:2 * self.units] = 1

    def _allocate(self, steps, batch, dtype):
        u = self.units
        self._gate_inputs(steps, batch, 4 * u, dtype, [self.activation, self.recurrent_activation])
        # Gate outputs gate-major, a[t, k] = gate k (i, f, g, o) at step t as a contiguous
        # (N, U) block: the cell update and backward work on whole gates, and NumPy is ~3x
        # slower on a (64, 128) column slice of a (64, 512) row-major array than on a
        # contiguous (64, 128) array. z (and dz) stay (N, 4U), the layout of the GEMMs.
        self._a = np.empty((steps, 4, batch, u), dtype=dtype)            # i, f, g, o
        self._tanh_c = np.empty((steps, batch, u), dtype=dtype)          # activation(c_t)
        self._d_gates = np.empty((4, batch, u), dtype=dtype)             # backward's scratch:
        self._derivatives = np.empty((4, batch, u), dtype=dtype)         # dL/da, da/dz

    def _halves_sigmoid_gates(self) -> bool:
        return isinstance(self.recurrent_activation, activations.Sigmoid)

    def _scale_columns(self, weights):
        """With sigmoid gates, W, U and b with their i, f, o columns halved: the products are
        then z/2 for those gates and z for g (exactly: halving is exact in floating point)."""
        if not self._halves_sigmoid_gates():
            return weights
        u = self.units
        scale = namespace(weights).full(4 * u, 0.5, dtype=weights.dtype)
        scale[2 * u:3 * u] = 1                                          # g: z itself
        return weights * scale

    def _step(self, t, xz_t, states, new_states):
        h_prev, c_prev = states
        h, c = new_states
        z, a = self._z_for_step(t), self._a[t]
        # z = [x_t, 1, h_{t-1}] @ [W; b; U], (N, D + 1 + U) @ (D + 1 + U, 4U), or
        # [z_i/2, z_f/2, z_g, z_o/2] with sigmoid gates (below; where z is kept for
        # backward, only g's block is read back)
        np.matmul(self._step_input(t, h_prev), self._step_kernel, out=z)
        z_gates = _gate_major(z)                                        # (4, N, U) view of z
        if self._halves_sigmoid_gates():
            # σ(z) = (1 + tanh(z/2)) / 2, with z/2 straight from the GEMMs (the i, f, o
            # columns of W, U and b are halved, see _scale_columns): one tanh over all four
            # gates (reading z's column blocks into a's contiguous gate blocks) is g = tanh(z_g)
            # too, and only i, f, o get the (1 + .) / 2
            np.tanh(z_gates, out=a)
            for sigmoid_gates in (a[:2], a[3]):                         # i, f and o
                sigmoid_gates += 1
                sigmoid_gates *= 0.5
            if not isinstance(self.activation, activations.Tanh):
                _activate(self.activation, z_gates[2], a[2])            # g = activation(z_g)
        else:                                        # e.g. softmax: each gate on its own
            for k, activation in enumerate(self._gate_activations()):
                _activate(activation, z_gates[k], a[k])
        i, f, g, o = a                                                  # each (N, U)
        np.multiply(f, c_prev, out=c)
        np.multiply(i, g, out=h)                                        # h as scratch for i g
        c += h                                                          # c_t = f c_{t-1} + i g
        tanh_c = self._tanh_c[t]
        _activate(self.activation, c, tanh_c)
        np.multiply(o, tanh_c, out=h)                                   # h_t = o tanh(c_t)

    def _step_backward(self, t, d_states, dz):
        dh, dc = d_states
        z, a, tanh_c = self._kept_z(t), self._a[t], self._tanh_c[t]
        z_gates = None if z is None else _gate_major(z)          # (4, N, U), where kept
        z_gate = [None] * 4 if z is None else z_gates            # gate k's block, or None
        i, f, g, o = a
        c_prev, c = self._states[1, t], self._states[1, t + 1]
        dc_total = np.empty_like(dc)                 # dL/dc_t: through h = o tanh(c), plus dc
        _derivative(self.activation, tanh_c, c, dc_total)
        dc_total *= o
        dc_total *= dh
        dc_total += dc
        d_gates = self._d_gates                      # dL/d(gate outputs), gate-major
        np.multiply(dc_total, g, out=d_gates[0])                        # dL/di
        np.multiply(dc_total, c_prev, out=d_gates[1])                   # dL/df
        np.multiply(dc_total, i, out=d_gates[2])                        # dL/dg
        np.multiply(dh, tanh_c, out=d_gates[3])                         # dL/do
        dz_gates = _gate_major(dz)                   # dz's column blocks, written gate by gate
        if _elementwise(self.recurrent_activation):
            # each gate's derivative, as in forward: σ' on all four, g's block redone with tanh'
            derivatives = self._derivatives
            _derivative(self.recurrent_activation, a, z_gates, derivatives)
            _derivative(self.activation, g, z_gate[2], derivatives[2])
            np.multiply(d_gates, derivatives, out=dz_gates)             # dL/dz
        else:
            for k, activation in enumerate(self._gate_activations()):
                _backprop(activation, d_gates[k], a[k], z_gate[k], dz_gates[k])
        dh_prev = self._recurrent_gradient(dz @ self._recurrent_kernel_t)   # (N, 4U) @ (4U, U)
        dc_total *= f                                                   # dL/dc_{t-1}
        return [dh_prev, dc_total]

    def _gate_activations(self):
        """The activations of the four gates i, f, g, o."""
        return [self.activation if k == 2 else self.recurrent_activation for k in range(4)]

    def get_config(self):
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias, "use_cudnn": self.use_cudnn}


@register("layer")
class GRU(_RNN):
    """Gated recurrent unit (Cho et al., 2014), Keras gate order z, r, h.

    reset_after=True (the Keras 3 and cuDNN/PyTorch form): the reset gate multiplies the
    recurrent product, so the bias has an input row and a recurrent row:

        [x_z, x_r, x_h] = x_t W + b[0];     [u_z, u_r, u_h] = h_{t-1} U + b[1]
        z = σ(x_z + u_z);   r = σ(x_r + u_r);   h̃ = tanh(x_h + r ⊙ u_h)
        h_t = z ⊙ h_{t-1} + (1 - z) ⊙ h̃

    reset_after=False (Keras 2's default): h̃ = tanh(x_h + (r ⊙ h_{t-1}) U_h), bias (3U,).

    Shapes: x (N, T, D) -> (N, T, U) or (N, U); kernel W (D, 3U), recurrent_kernel U (U, 3U),
    bias (2, 3U) with reset_after else (3U,). Args: as SimpleRNN, plus recurrent_activation
    (σ above) and reset_after.

    Example:
        >>> GRU(6)(np.ones((2, 5, 3), dtype="float32")).shape
        (2, 6)
    """

    gates = 3
    joint_product = False                # x_t W + b for all steps first, h_{t-1} U per step

    def __init__(self, units: int, activation="tanh", recurrent_activation="sigmoid",
                 reset_after: bool = True, use_cudnn="auto", **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)
        self.use_cudnn = use_cudnn                   # accepted for Keras compatibility

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _input_bias(self):
        return self.bias.value[0] if self.reset_after else self.bias.value

    def _allocate(self, steps, batch, dtype):
        u3 = (steps, batch, 3 * self.units)
        self._gate_inputs(steps, batch, 3 * self.units, dtype,   # pre-activations of z, r, h̃
                          [self.activation, self.recurrent_activation])
        self._a = np.empty(u3, dtype=dtype)          # z, r, h̃
        # reset_after: u = h U + b[1] (N, 3U); else r ⊙ h_{t-1} (N, U), the input of U_h
        self._recurrent = np.empty(u3 if self.reset_after else (steps, batch, self.units),
                                   dtype=dtype)
        self._dz_recurrent = np.empty(u3, dtype=dtype) if self.reset_after else None

    def _step(self, t, xz_t, states, new_states):
        h_prev, h = states[0], new_states[0]
        h_read = self._recurrent_input(h_prev)          # what U multiplies: h_{t-1} (⊙ m_h)
        u, U = self.units, self._step_kernel
        z, a, rec = self._z_for_step(t), self._a[t], self._recurrent[t]
        if self.reset_after:
            np.matmul(h_read, U, out=rec)                                # (N, U) @ (U, 3U)
            if self.use_bias:
                rec += self.bias.value[1]
            np.add(xz_t[:, :2 * u], rec[:, :2 * u], out=z[:, :2 * u])
            _activate(self.recurrent_activation, z[:, :2 * u], a[:, :2 * u])   # z, r
            np.multiply(a[:, u:2 * u], rec[:, 2 * u:], out=z[:, 2 * u:])       # r ⊙ u_h
        else:
            np.add(xz_t[:, :2 * u], h_read @ U[:, :2 * u], out=z[:, :2 * u])
            _activate(self.recurrent_activation, z[:, :2 * u], a[:, :2 * u])
            np.multiply(a[:, u:2 * u], h_read, out=rec)                         # r ⊙ h_{t-1}
            np.matmul(rec, U[:, 2 * u:], out=z[:, 2 * u:])
        z[:, 2 * u:] += xz_t[:, 2 * u:]
        _activate(self.activation, z[:, 2 * u:], a[:, 2 * u:])                 # h̃
        update, candidate = a[:, :u], a[:, 2 * u:]
        np.subtract(h_prev, candidate, out=h)                   # h_t = z h_{t-1} + (1 - z) h̃
        h *= update                                             #     = h̃ + z (h_{t-1} - h̃)
        h += candidate

    def _step_backward(self, t, d_states, dz):
        dh = d_states[0]
        u, U_t = self.units, self._recurrent_kernel_t                   # Uᵀ (3U, U)
        z, a, rec = self._kept_z(t), self._a[t], self._recurrent[t]
        update, reset, candidate = a[:, :u], a[:, u:2 * u], a[:, 2 * u:]
        h_prev = self._states[0, t]
        _backprop(self.recurrent_activation, dh * (h_prev - candidate), update,
                  _part(z, slice(0, u)), dz[:, :u])
        _backprop(self.activation, dh * (1 - update), candidate, _part(z, slice(2 * u, None)),
                  dz[:, 2 * u:])
        dh_prev = dh * update
        if self.reset_after:
            _backprop(self.recurrent_activation, dz[:, 2 * u:] * rec[:, 2 * u:], reset,
                      _part(z, slice(u, 2 * u)), dz[:, u:2 * u])
            dzr = self._dz_recurrent[t]                   # dL/du, u = h_{t-1} U + b[1]
            dzr[:, :2 * u] = dz[:, :2 * u]
            np.multiply(dz[:, 2 * u:], reset, out=dzr[:, 2 * u:])
            dh_prev += self._recurrent_gradient(dzr @ U_t)  # (N, 3U) @ (3U, U)
        else:
            d_rh = dz[:, 2 * u:] @ U_t[2 * u:]             # dL/d(r ⊙ h_{t-1})
            _backprop(self.recurrent_activation, d_rh * self._recurrent_input(h_prev), reset,
                      _part(z, slice(u, 2 * u)), dz[:, u:2 * u])
            d_read = d_rh * reset                          # dL/d(h_{t-1} ⊙ m_h), both uses
            d_read += dz[:, :2 * u] @ U_t[:2 * u]
            dh_prev += self._recurrent_gradient(d_read)
        return [dh_prev]

    def _accumulate_weight_gradients(self, dxz):
        # GRU's U multiplies h_{t-1} apart from x_t W (the reset gate sits between them
        # for h̃), so dW and dU are separate GEMMs
        features, u = self.kernel.shape[0], self.units
        x_2d = self._x_tm.reshape(dxz.shape[0], -1)[:, :features]      # (T·N, D), no ones column
        self.kernel.add_matmul(x_2d.T, dxz)                             # (D, T·N) @ (T·N, 3U)
        h_prev = self._recurrent_input(self._states[0, :-1])            # (T, N, U), ⊙ m_h
        h_prev = h_prev.reshape(dxz.shape[0], -1)                       # (T·N, U)
        if self.reset_after:
            dzr = self._dz_recurrent.reshape(dxz.shape)
            self.recurrent_kernel.add_matmul(h_prev.T, dzr)
            if self.use_bias:
                self.bias.grad[0] += _column_sums(dxz)
                self.bias.grad[1] += _column_sums(dzr)
            return
        rh = self._recurrent.reshape(-1, u)
        self.recurrent_kernel.grad[:, :2 * u] += h_prev.T @ dxz[:, :2 * u]
        self.recurrent_kernel.grad[:, 2 * u:] += rh.T @ dxz[:, 2 * u:]
        if self.use_bias:
            self.bias.grad += _column_sums(dxz)

    def get_config(self):
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "reset_after": self.reset_after, "use_cudnn": self.use_cudnn}


__all__ = ["GRU", "LSTM", "SimpleRNN"]

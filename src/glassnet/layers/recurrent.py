"""Recurrent layers SimpleRNN, LSTM and GRU (Keras 3 weights, gate orders and defaults).

All three read a sequence x (N, T, D) one step at a time, carrying a state h (and, for the
LSTM, a cell c) from step to step:

    SimpleRNN   h_t = f(x_t W + h_{t-1} U + b)
    LSTM        [i, f, g, o] = [σ, σ, tanh, σ](x_t W + h_{t-1} U + b)      (Keras order i, f, c, o)
                c_t = f ⊙ c_{t-1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)
    GRU         [z, r] = σ(x_t W_zr + h_{t-1} U_zr + b_zr)                  (Keras order z, r, h)
                h̃ = tanh(x_t W_h + b_in_h + r ⊙ (h_{t-1} U_h + b_rec_h))   (reset_after=True)
                h_t = z ⊙ h_{t-1} + (1 - z) ⊙ h̃

Speed: x_t W does not depend on the state, so it is one GEMM (N·T, D) @ (D, k·U) before the
loop; each step is one (N, U) @ (U, k·U) GEMM plus elementwise gate math. Backward through
time keeps only the per-step dL/dz in a (T, N, k·U) array and turns it into dW, dU and db
with one GEMM each after the loop. Arrays inside are time-major (T, N, ...), so that every
step reads and writes contiguous (N, ...) slices; the LSTM also keeps its gates gate-major,
(T, 4, N, U), so that the cell math runs on contiguous (N, U) blocks, and gets σ through
tanh(z/2) with the halving folded into its weights (see LSTM._step).

Masking (Keras semantics): where mask[n, t] is False the step is skipped for that sample,
its states are carried over unchanged and its output is the previous output (h_{t-1}), or
zero with `zero_output_for_mask=True` (which Bidirectional sets when returning sequences).
"""

from __future__ import annotations

import numpy as np

from glassnet import activations, regularizers
from glassnet.backend import namespace
from glassnet.layers.base import Layer, weight_config
from glassnet.registry import register


# ----- gate activations, applied in place into preallocated buffers ------------------------
def _activate(activation, z, out) -> None:
    """out[...] = activation(z), in place for the usual gate functions."""
    if isinstance(activation, activations.Tanh):
        np.tanh(z, out=out)
    elif isinstance(activation, activations.Sigmoid):
        # σ(z) = (1 + tanh(z / 2)) / 2: bounded for every z, and needs no temporary array
        np.multiply(z, 0.5, out=out)
        np.tanh(out, out=out)
        out += 1
        out *= 0.5
    elif isinstance(activation, activations.Linear):
        out[...] = z
    else:
        out[...] = activation(z)


def _derivative(activation, y, z, out) -> None:
    """out[...] = f'(z) of an elementwise f, written through the output y = f(z) if possible."""
    if isinstance(activation, activations.Tanh):
        np.multiply(y, y, out=out)
        np.subtract(1, out, out=out)                 # 1 - y²
    elif isinstance(activation, activations.Sigmoid):
        np.subtract(1, y, out=out)
        out *= y                                     # y (1 - y)
    elif isinstance(activation, activations.Linear):
        out[...] = 1
    else:                                            # any other activation: its own backward
        activation.forward(z)
        out[...] = activation.backward(np.ones_like(z))


def _backprop(activation, dy, y, z, out) -> None:
    """out[...] = dL/dz for y = f(z): dy ⊙ f'(z), or f's own backward when not elementwise."""
    if not _elementwise(activation):
        activation.forward(z)
        out[...] = activation.backward(dy)
        return
    _derivative(activation, y, z, out)
    out *= dy


def _elementwise(activation) -> bool:
    return not isinstance(activation, activations.Softmax)


def _from_output(activation) -> bool:
    """Whether `_derivative` needs only the output y = f(z) (tanh, sigmoid, linear)."""
    return isinstance(activation, (activations.Tanh, activations.Sigmoid, activations.Linear))


def _part(z, columns):
    """z[:, columns], or None where the pre-activations were not kept (see `_gate_inputs`)."""
    return None if z is None else z[:, columns]


def _gate_major(z):
    """(N, 4U) -> (4, N, U) view whose [k] is the column block z[:, kU:(k+1)U] of LSTM gate k."""
    return z.reshape(z.shape[0], 4, -1).transpose(1, 0, 2)


def _column_sums(rows):
    """Σ over the rows of a (T·N, k) array as ones @ rows: NumPy's sum(axis=0) over a tall
    array walks it with short strided loops, a matrix-vector product does not (~1.5x faster)."""
    return np.ones(rows.shape[0], dtype=rows.dtype) @ rows


def _check_positive_int(layer: str, argument: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{layer}: {argument} must be a positive integer, got {value!r}")
    return int(value)


# ----- what the three layers share: arguments, masks, the loop over time --------------------
class _RNN(Layer):
    """Base class: the time loop, masking, go_backwards, return_sequences/return_state.

    A subclass sets `gates` (blocks of `units` columns in the kernel) and `state_names`, and
    implements one step forward and one step backward:

        _step(t, xz_t, states, new_states)   writes the states after step t into new_states
                                             (and caches what backward needs at t)
        _step_backward(t, d_states, dxz_t) -> d_prev_states (writes dL/d(x_t W + b) into dxz_t)
    """

    gates = 1
    skips_input_gradient = True          # backward(dy, input_gradient=False) is supported
    state_names = ("h",)
    supports_masking = True

    @classmethod
    def contract_sample(cls, rng):
        return {"units": 2}, rng.standard_normal((2, 3, 2))                  # (N, T, F)

    def __init__(self, units: int, activation="tanh", use_bias: bool = True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        layer = type(self).__name__
        self.units = _check_positive_int(layer, "units", units)
        for argument, value in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if float(value) != 0.0:
                raise ValueError(f"{layer}: {argument}={value!r} is not supported yet "
                                 f"(only 0.0); use a Dropout layer between layers instead")
        if stateful:
            raise ValueError(f"{layer}: stateful=True is not supported yet")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.dropout = 0.0
        self.recurrent_dropout = 0.0
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = False
        self.unroll = bool(unroll)              # accepted for Keras compatibility; no effect
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.seed = seed

    # ----- weights and shapes ---------------------------------------------------------------
    def build(self, input_shape):
        self._check_rank(input_shape)
        if input_shape[-1] is None:
            raise ValueError(f"{type(self).__name__} {self.name!r}: the features axis must be "
                             f"known, got input shape {tuple(input_shape)}")
        width = self.gates * self.units
        self.kernel = self.add_weight((input_shape[-1], width), self.kernel_initializer,
                                      name="kernel", regularizer=self.kernel_regularizer)
        self.recurrent_kernel = self.add_weight((self.units, width), self.recurrent_initializer,
                                                name="recurrent_kernel",
                                                regularizer=self.recurrent_regularizer)
        self.bias = (self.add_weight(self._bias_shape(), self.bias_initializer, name="bias",
                                     regularizer=self.bias_regularizer)
                     if self.use_bias else None)

    def _bias_shape(self) -> tuple:
        return (self.gates * self.units,)

    def _input_bias(self):
        """The bias added to x_t W (all of it, except GRU's recurrent row)."""
        return self.bias.value

    def _scale_columns(self, weights):
        """The weights (.., k·U) the forward steps multiply by: as they are, except where a
        subclass wants a multiple of some gate's pre-activation (LSTM's z/2, see its _step)."""
        return weights

    def compute_output_shape(self, input_shape):
        batch, steps = input_shape[0], input_shape[1]
        output = (batch, steps, self.units) if self.return_sequences else (batch, self.units)
        if self.return_state:
            return [output] + [(batch, self.units)] * len(self.state_names)
        return output

    def compute_mask(self, x, mask=None):
        """The mask the next layer gets: the input mask when returning sequences, else None."""
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self.state_names)
        return output_mask

    # ----- input checks ---------------------------------------------------------------------
    def _check_rank(self, shape):
        if len(shape) != 3:
            raise ValueError(f"{type(self).__name__} {self.name!r}: expected input of shape "
                             f"(batch, timesteps, features), got shape {tuple(shape)}")

    def _check_input(self, x):
        self._check_rank(np.shape(x))
        features = self.kernel.shape[0]
        if x.shape[2] != features or x.shape[1] == 0:
            raise ValueError(f"{type(self).__name__} {self.name!r}: expected input of shape "
                             f"(batch, timesteps >= 1, {features}), got shape {x.shape}")
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(self.dtype)
        return x

    def _check_mask(self, mask, batch: int, steps: int):
        """(N, T) mask -> (T, N, 1) bool in processing order, or None."""
        if mask is None:
            return None
        mask = namespace(mask).asarray(mask)
        if mask.shape != (batch, steps):
            raise ValueError(f"{type(self).__name__} {self.name!r}: mask must have shape "
                             f"(batch, timesteps) = {(batch, steps)}, got {mask.shape}")
        mask = mask.astype(bool).T[:, :, None]
        return mask[::-1] if self.go_backwards else mask

    def _initial_states(self, initial_state, batch: int, dtype):
        count = len(self.state_names)
        if initial_state is None:
            return [np.zeros((batch, self.units), dtype=dtype) for _ in range(count)]
        if not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]
        if len(initial_state) != count:
            raise ValueError(f"{type(self).__name__} {self.name!r}: initial_state must hold "
                             f"{count} array(s) {list(self.state_names)}, got "
                             f"{len(initial_state)}")
        for state in initial_state:
            if np.shape(state) != (batch, self.units):
                raise ValueError(f"{type(self).__name__} {self.name!r}: each initial state must "
                                 f"have shape {(batch, self.units)}, got {np.shape(state)}")
        return [np.asarray(state, dtype=dtype) for state in initial_state]

    # ----- forward through time -------------------------------------------------------------
    def __call__(self, x, training: bool = False, mask=None, initial_state=None):
        if getattr(x, "_glassnet_symbolic", False):
            return x.apply(self)
        self._check_rank(np.shape(x))               # before building, to show the real shape
        self.maybe_build((None,) + tuple(np.shape(x))[1:])
        return self.forward(x, training=training, mask=mask, initial_state=initial_state)

    def forward(self, x, training: bool = False, mask=None, initial_state=None):
        """x (N, T, D) -> (N, T, U) if return_sequences else (N, U).

        With return_state the result is a list [output, h] ([output, h, c] for LSTM).
        `mask` (N, T) bool skips steps; `initial_state` is [h0] ([h0, c0] for LSTM), each (N, U).
        """
        x = self._check_input(x)
        batch, steps, features = x.shape
        mask = self._check_mask(mask, batch, steps)
        # the previous call's caches go now, not when this call's replace them at the end:
        # the old states would sit beside all of this call's arrays (LSTM(128), 64 x 28: 1.9 MB)
        self._x_tm = self._mask = self._states = None
        xp = namespace(x)
        x_steps = x[:, ::-1] if self.go_backwards else x
        # x_t W + b for all steps in one GEMM, time-major. The bias rides along as a column of
        # ones: [x_t, 1] @ [W; b] = x_t W + b (adding b to the (T, N, k·U) product afterwards
        # would be one more pass over it, ~0.15 ms of an LSTM(128) batch of 64 x 28 steps)
        x_tm = xp.empty((steps, batch, features + int(self.use_bias)), dtype=x.dtype)
        x_tm[..., :features] = x_steps.transpose(1, 0, 2)
        kernel = self.kernel.value                                     # (D, k·U)
        if self.use_bias:
            x_tm[..., features] = 1
            kernel = xp.concatenate([kernel, self._input_bias()[None]])  # (D + 1, k·U)
        kernel = self._scale_columns(kernel)
        xz = (x_tm.reshape(steps * batch, -1) @ kernel).reshape(steps, batch, -1)  # (T, N, k·U)
        dtype = xz.dtype
        # states[k][t] is state k entering step t; states[k][t + 1] is what step t carries on
        states = np.empty((len(self.state_names), steps + 1, batch, self.units), dtype=dtype)
        states[:, 0] = self._initial_states(initial_state, batch, dtype)
        self._allocate(steps, batch, dtype)
        self._step_kernel = self._scale_columns(self.recurrent_kernel.value)   # U, per step
        for t in range(steps):
            self._step(t, xz[t], states[:, t], states[:, t + 1])     # straight into `states`
            if mask is not None:                                     # masked samples keep theirs
                np.copyto(states[:, t + 1], states[:, t], where=~mask[t])
        self._x_tm, self._mask, self._states = x_tm, mask, states
        return self._outputs(states, mask)

    def _outputs(self, states, mask):
        hs = states[0, 1:]                                             # (T, N, U)
        if mask is not None and self.zero_output_for_mask:
            hs = hs * mask
        if self.return_sequences:
            output = np.ascontiguousarray(hs.transpose(1, 0, 2))       # (N, T, U)
        else:
            output = hs[-1].copy()                                     # (N, U)
        if self.return_state:
            return [output] + [state.copy() for state in states[:, -1]]
        return output

    # ----- backward through time ------------------------------------------------------------
    def backward(self, dy, input_gradient: bool = True):
        """dL/doutput -> dL/dx (N, T, D); accumulates dL/dW, dL/dU, dL/db.

        With return_state, dy is a list [d_output, d_h] ([d_output, d_h, d_c] for LSTM) with
        None for outputs that received no gradient. dL/d(initial states) is left in
        `self.initial_state_gradients` (a list like initial_state). With input_gradient=False
        only the weight gradients are accumulated and None is returned (a model's first layer).
        """
        d_output, d_final = self._split_gradients(dy)
        states, mask = self._states, self._mask
        steps, batch = states.shape[1] - 1, states.shape[2]
        dtype = states.dtype
        d_states = [np.zeros((batch, self.units), dtype=dtype) if d is None
                    else np.array(d, dtype=dtype) for d in d_final]
        d_hs = self._d_hidden_sequence(d_output, steps, batch, dtype)    # (T, N, U) or None
        if d_hs is None and d_output is not None:                        # only the last output
            last = np.asarray(d_output, dtype=dtype)
            if mask is not None and self.zero_output_for_mask:
                last = last * mask[-1]
            d_states[0] += last
        dxz = np.empty((steps, batch, self.gates * self.units), dtype=dtype)
        # Uᵀ as a C-contiguous copy for the per-step dz @ Uᵀ: OpenBLAS multiplies (64, 512) by
        # a contiguous (512, 128) ~15% faster than by the transposed view of U (128, 512)
        self._step_kernel = None                     # forward's (scaled) U: not needed now
        recurrent_kernel = self.recurrent_kernel.value
        self._recurrent_kernel_t = namespace(recurrent_kernel).ascontiguousarray(recurrent_kernel.T)
        for t in reversed(range(steps)):
            if d_hs is not None:
                d_states[0] += d_hs[t]
            if mask is None:
                d_states = self._step_backward(t, d_states, dxz[t])
            else:                        # a masked sample's gradient flows past the step
                d_new = [d * mask[t] for d in d_states]
                d_prev = self._step_backward(t, d_new, dxz[t])
                d_states = [dp + d * ~mask[t] for dp, d in zip(d_prev, d_states)]
        self.initial_state_gradients = d_states
        features = self.kernel.shape[0]
        x_2d = self._x_tm.reshape(steps * batch, -1)[:, :features]     # (T·N, D), no ones column
        dxz_2d = dxz.reshape(steps * batch, -1)                          # (T·N, k·U)
        self._recurrent_kernel_t = None
        if self.trainable:
            self.kernel.add_matmul(x_2d.T, dxz_2d)                       # (D, T·N) @ (T·N, k·U)
            self._accumulate_recurrent_gradients(states[0, :-1].reshape(steps * batch, -1),
                                                 dxz_2d)
        if not input_gradient:
            return None
        dx = (dxz_2d @ self.kernel.value.T).reshape(steps, batch, -1).transpose(1, 0, 2)
        return np.ascontiguousarray(dx[:, ::-1] if self.go_backwards else dx)

    def _split_gradients(self, dy):
        count = len(self.state_names)
        if not self.return_state:
            return dy, [None] * count
        if not isinstance(dy, (list, tuple)) or len(dy) != count + 1:
            raise ValueError(f"{type(self).__name__} {self.name!r}: with return_state, backward "
                             f"takes a list of {count + 1} gradients "
                             f"[output, {', '.join(self.state_names)}] (None for unused)")
        return dy[0], list(dy[1:])

    def _d_hidden_sequence(self, d_output, steps, batch, dtype):
        """dL/dh_t from a returned sequence, time-major (T, N, U); None if not returned."""
        if not self.return_sequences or d_output is None:
            return None
        d_hs = np.asarray(d_output, dtype=dtype).transpose(1, 0, 2)
        if self._mask is not None and self.zero_output_for_mask:
            return d_hs * self._mask                   # a new array: the caller's dy is kept
        return np.ascontiguousarray(d_hs)

    def _gate_inputs(self, steps, batch, width, dtype, activations_used) -> None:
        """Room for the pre-activations z of the gates, read back by `_z_for_step(t)`.

        Backward needs z itself only for activations whose derivative is not read off their
        output: tanh' = 1 - y², σ' = y (1 - y). When every activation used is of that kind
        (the defaults), one (N, width) buffer serves every step instead of a (T, N, width)
        array: for an LSTM(128) over 28 steps of 64 samples, 3.7 MB less, and a buffer that
        stays in cache.
        """
        if all(_from_output(activation) for activation in activations_used):
            self._z, self._z_step = None, np.empty((batch, width), dtype=dtype)
        else:
            self._z, self._z_step = np.empty((steps, batch, width), dtype=dtype), None

    def _z_for_step(self, t):
        """Where step t writes its pre-activations (forward)."""
        return self._z_step if self._z is None else self._z[t]

    def _kept_z(self, t):
        """Step t's pre-activations for backward, or None if not kept (not needed)."""
        return None if self._z is None else self._z[t]

    def _accumulate_recurrent_gradients(self, h_prev, dxz):
        """dU = Σ_t h_{t-1}ᵀ dz_t and db = Σ_t dz_t, one GEMM over all steps (T·N rows)."""
        self.recurrent_kernel.add_matmul(h_prev.T, dxz)                   # (U, T·N) @ (T·N, k·U)
        if self.use_bias:
            self.bias.grad += _column_sums(dxz)

    # ----- configuration --------------------------------------------------------------------
    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            **weight_config(self, "kernel", "recurrent", "bias"),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
            "seed": self.seed,
        }


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
        return_sequences: return every step's output instead of the last one.
        return_state: also return the final state: forward gives [output, h].
        go_backwards: read the sequence from the end; returned sequences are in that order.
        zero_output_for_mask: masked steps output zeros instead of the previous output.
        dropout, recurrent_dropout: only 0.0 for now.

    Example:
        >>> layer = SimpleRNN(4)
        >>> layer(np.ones((2, 3, 5), dtype="float32")).shape
        (2, 4)
    """

    def _allocate(self, steps, batch, dtype):
        self._gate_inputs(steps, batch, self.units, dtype, [self.activation])

    def _step(self, t, xz_t, states, new_states):
        z = self._z_for_step(t)
        np.matmul(states[0], self._step_kernel, out=z)                # (N, U) @ (U, U)
        z += xz_t
        _activate(self.activation, z, new_states[0])                  # h_t = f(z)

    def _step_backward(self, t, d_states, dz):
        # h_t as stored (a masked sample's is h_{t-1}, but its gradient is zero)
        _backprop(self.activation, d_states[0], self._states[0, t + 1], self._kept_z(t), dz)
        return [dz @ self._recurrent_kernel_t]                          # dL/dh_{t-1}


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
        np.matmul(h_prev, self._step_kernel, out=z)                     # (N, U) @ (U, 4U)
        z += xz_t                    # z, or [z_i/2, z_f/2, z_g, z_o/2] with sigmoid gates (below;
        #                              where z is kept for backward, only g's block is read back)
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
        dh_prev = dz @ self._recurrent_kernel_t                         # (N, 4U) @ (4U, U)
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
        u, U = self.units, self._step_kernel
        z, a, rec = self._z_for_step(t), self._a[t], self._recurrent[t]
        if self.reset_after:
            np.matmul(h_prev, U, out=rec)                                # (N, U) @ (U, 3U)
            if self.use_bias:
                rec += self.bias.value[1]
            np.add(xz_t[:, :2 * u], rec[:, :2 * u], out=z[:, :2 * u])
            _activate(self.recurrent_activation, z[:, :2 * u], a[:, :2 * u])   # z, r
            np.multiply(a[:, u:2 * u], rec[:, 2 * u:], out=z[:, 2 * u:])       # r ⊙ u_h
        else:
            np.add(xz_t[:, :2 * u], h_prev @ U[:, :2 * u], out=z[:, :2 * u])
            _activate(self.recurrent_activation, z[:, :2 * u], a[:, :2 * u])
            np.multiply(a[:, u:2 * u], h_prev, out=rec)                         # r ⊙ h_{t-1}
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
            dh_prev += dzr @ U_t                            # (N, 3U) @ (3U, U)
        else:
            d_rh = dz[:, 2 * u:] @ U_t[2 * u:]             # dL/d(r ⊙ h_{t-1})
            _backprop(self.recurrent_activation, d_rh * h_prev, reset,
                      _part(z, slice(u, 2 * u)), dz[:, u:2 * u])
            dh_prev += d_rh * reset
            dh_prev += dz[:, :2 * u] @ U_t[:2 * u]
        return [dh_prev]

    def _accumulate_recurrent_gradients(self, h_prev, dxz):
        u = self.units
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

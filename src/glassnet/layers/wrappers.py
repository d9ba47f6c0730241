"""Wrappers: Bidirectional (an RNN read both ways) and TimeDistributed (a layer per step)."""

from __future__ import annotations

import numpy as np

from glassnet.layers.base import Layer, Parameter
from glassnet.registry import deserialize, register, serialize

_MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def _inner_parameters(wrapper: Layer, layers, trainable_only: bool) -> list[Parameter]:
    """The wrapped layers' Parameters in order; none are trainable in a frozen wrapper."""
    if trainable_only and not wrapper.trainable:
        return []
    return [p for layer in layers for p in layer.parameters(trainable_only)]


def _renamed_copy(layer: Layer, name: str, **changes) -> Layer:
    """A fresh layer from `layer`'s config (no weights carried over), renamed and changed."""
    spec = serialize(layer)
    spec["config"] = {**spec["config"], "name": name, **changes}
    return deserialize("layer", spec)


@register("layer")
class Bidirectional(Layer):
    """Run an RNN forwards and a copy of it backwards over the sequence; merge the outputs.

        y_fw = layer(x_1 ... x_T),   y_bw = layer'(x_T ... x_1)  (re-ordered to time order)
        y = merge(y_fw, y_bw):  concat [y_fw, y_bw] | sum y_fw + y_bw | mul y_fw ⊙ y_bw |
                                ave (y_fw + y_bw) / 2 | None [y_fw, y_bw] (a list)

    Shapes: x (N, T, D) -> (N, T, 2U) for concat with return_sequences, (N, 2U) without.
    Weights (Keras order): the forward layer's, then the backward layer's.

    Args:
        layer: an RNN layer (SimpleRNN, LSTM, GRU). It is copied from its config: the
            forward copy is named "forward_<name>", the backward copy "backward_<name>"
            with go_backwards flipped.
        merge_mode: one of "concat", "sum", "mul", "ave", None.
        backward_layer: optional RNN for the backward direction (go_backwards must differ
            from layer's; return_sequences and return_state must match).

    With return_state, forward returns [output(s)..., forward states..., backward states...]
    and backward takes a list of gradients in the same order (None for unused ones).
    A mask (N, T) is passed to both layers; returned sequences then output zeros at masked
    steps (Keras forces zero_output_for_mask there, so both directions line up).

    Example:
        >>> from glassnet.layers.recurrent import LSTM
        >>> Bidirectional(LSTM(4))(np.ones((2, 5, 3), dtype="float32")).shape
        (2, 8)
    """

    @classmethod
    def contract_sample(cls, rng):
        from glassnet.layers.recurrent import LSTM

        return {"layer": LSTM(2)}, rng.standard_normal((2, 3, 2))           # (N, T, F)

    supports_masking = True

    def __init__(self, layer: Layer, merge_mode: str | None = "concat",
                 backward_layer: Layer | None = None, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"Bidirectional: layer must be a Layer instance, got {layer!r}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(f"Bidirectional: backward_layer must be a Layer instance, got "
                             f"{backward_layer!r}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Bidirectional: merge_mode must be one of {list(_MERGE_MODES)}, "
                             f"got {merge_mode!r}")
        super().__init__(**kwargs)
        base_name = layer.name.removeprefix("forward_")
        self.forward_layer = _renamed_copy(layer, "forward_" + base_name)
        if backward_layer is None:
            self.backward_layer = _renamed_copy(layer, "backward_" + base_name,
                                                go_backwards=not layer.go_backwards)
        else:
            self.backward_layer = backward_layer
        self._check_directions()
        self.merge_mode = merge_mode
        self.return_sequences = self.forward_layer.return_sequences
        self.return_state = self.forward_layer.return_state
        for inner in (self.forward_layer, self.backward_layer):
            # masked steps output 0, not the previous output, so the two directions align
            inner.zero_output_for_mask = inner.return_sequences

    def _check_directions(self):
        forward, backward = self.forward_layer, self.backward_layer
        if forward.go_backwards == backward.go_backwards:
            raise ValueError(f"Bidirectional: the forward and backward layers must have "
                             f"different go_backwards, got {forward.go_backwards} for both")
        for attribute in ("return_sequences", "return_state"):
            if getattr(forward, attribute) != getattr(backward, attribute):
                raise ValueError(f"Bidirectional: forward and backward layers must have the "
                                 f"same {attribute}, got {getattr(forward, attribute)} and "
                                 f"{getattr(backward, attribute)}")

    # ----- weights and shapes ---------------------------------------------------------------
    def sublayers(self) -> list[Layer]:
        return [self.forward_layer, self.backward_layer]

    def parameters(self, trainable_only: bool = False) -> list[Parameter]:
        return _inner_parameters(self, self.sublayers(), trainable_only)

    def build(self, input_shape):
        self.forward_layer.maybe_build(input_shape)
        self.backward_layer.maybe_build(input_shape)

    def compute_output_shape(self, input_shape):
        forward = self.forward_layer.compute_output_shape(input_shape)
        backward = self.backward_layer.compute_output_shape(input_shape)
        states = []
        if self.return_state:
            forward, backward, states = forward[0], backward[0], forward[1:] + backward[1:]
        if self.merge_mode is None:
            return [tuple(forward), tuple(backward)] + states
        output = tuple(forward)
        if self.merge_mode == "concat":
            output = output[:-1] + (forward[-1] + backward[-1],)
        return [output] + states if self.return_state else output

    def compute_mask(self, x, mask=None):
        output_mask = mask if self.return_sequences else None
        outputs = [output_mask] * 2 if self.merge_mode is None else [output_mask]
        states = [None] * (2 * len(self.forward_layer.state_names)) if self.return_state else []
        masks = outputs + states
        return masks if len(masks) > 1 else masks[0]

    # ----- the math -------------------------------------------------------------------------
    def __call__(self, x, training: bool = False, mask=None, initial_state=None):
        if getattr(x, "_glassnet_symbolic", False):
            return x.apply(self)
        self.maybe_build((None,) + tuple(np.shape(x))[1:])
        return self.apply(x, training=training, mask=mask, initial_state=initial_state)

    def forward(self, x, training: bool = False, mask=None, initial_state=None):
        """x (N, T, D) -> merge(forward output, backward output re-ordered to time order).

        `initial_state`: the forward layer's states, then the backward layer's (Keras order).
        """
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state, backward_state = initial_state[:half], initial_state[half:]
        y = self.forward_layer.apply(x, training=training, mask=mask,
                                     initial_state=forward_state)
        y_rev = self.backward_layer.apply(x, training=training, mask=mask,
                                          initial_state=backward_state)
        self._inner_calls = (self.forward_layer.last_call, self.backward_layer.last_call)
        states = []
        if self.return_state:
            states = y[1:] + y_rev[1:]
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = y_rev[:, ::-1]                    # back to time order
        self._y, self._y_rev = y, y_rev               # kept for mul's backward
        output = self._merge(y, y_rev)
        if self.return_state:
            return (output if self.merge_mode is None else [output]) + states
        return output

    def _merge(self, y, y_rev):
        if self.merge_mode == "concat":
            return np.concatenate([y, y_rev], axis=-1)
        if self.merge_mode == "sum":
            return y + y_rev
        if self.merge_mode == "mul":
            return y * y_rev
        if self.merge_mode == "ave":
            return (y + y_rev) / 2
        return [y, np.ascontiguousarray(y_rev)]

    def _unmerge(self, dy):
        """dL/dmerged -> (dL/dy_fw, dL/dy_bw), either None when it got no gradient."""
        if self.merge_mode is None:
            return dy[0], dy[1]
        if self.merge_mode == "concat":
            width = self._y.shape[-1]
            return dy[..., :width], dy[..., width:]
        if self.merge_mode == "sum":
            return dy, dy
        if self.merge_mode == "mul":
            return dy * self._y_rev, dy * self._y
        half = dy / 2                                  # ave
        return half, half

    def backward(self, dy, input_gradient: bool = True):
        """dL/doutput(s) -> dL/dx (N, T, D): the sum of both directions' input gradients."""
        states_fw = states_bw = []
        if self.return_state:
            outputs = 2 if self.merge_mode is None else 1
            count = len(self.forward_layer.state_names)
            d_out = dy[:outputs] if self.merge_mode is None else dy[0]
            states_fw, states_bw = list(dy[outputs:outputs + count]), list(dy[outputs + count:])
            dy = d_out
        d_forward, d_backward = self._unmerge(dy)
        if self.return_sequences and d_backward is not None:
            d_backward = d_backward[:, ::-1]            # into the backward layer's step order
        if self.return_state:
            d_forward, d_backward = [d_forward] + states_fw, [d_backward] + states_bw
        dx = self.forward_layer.backpropagate(d_forward, call=self._inner_calls[0])
        dx_rev = self.backward_layer.backpropagate(d_backward, call=self._inner_calls[1])
        return dx + dx_rev

    # ----- configuration --------------------------------------------------------------------
    def get_config(self):
        return {**super().get_config(), "merge_mode": self.merge_mode,
                "layer": serialize(self.forward_layer),
                "backward_layer": serialize(self.backward_layer)}

    @classmethod
    def from_config(cls, config_):
        config_ = dict(config_)
        config_["layer"] = deserialize("layer", config_["layer"])
        if config_.get("backward_layer") is not None:
            config_["backward_layer"] = deserialize("layer", config_["backward_layer"])
        return cls(**config_)


@register("layer")
class TimeDistributed(Layer):
    """Apply `layer` to every time slice: y[:, t] = layer(x[:, t]), with shared weights.

    Time is folded into the batch, (N, T, ...) -> (N·T, ...), so the inner layer runs once
    on all slices, forward and backward.

    Shapes: x (N, T, *in) -> y (N, T, *out), where layer maps (M, *in) -> (M, *out).

    Example:
        >>> from glassnet.layers.core import Dense
        >>> TimeDistributed(Dense(4))(np.ones((2, 5, 3), dtype="float32")).shape
        (2, 5, 4)
    """

    @classmethod
    def contract_sample(cls, rng):
        from glassnet.layers.core import Dense

        return {"layer": Dense(2)}, rng.standard_normal((2, 3, 4))          # (N, T, F)

    supports_masking = True      # a (N, T) padding mask passes on to the output's steps

    def __init__(self, layer: Layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"TimeDistributed: layer must be a Layer instance, got {layer!r}")
        super().__init__(**kwargs)
        self.layer = layer

    def sublayers(self) -> list[Layer]:
        return [self.layer]

    def parameters(self, trainable_only: bool = False) -> list[Parameter]:
        return _inner_parameters(self, self.sublayers(), trainable_only)

    def _check_rank(self, shape):
        if len(shape) < 3:
            raise ValueError(f"TimeDistributed {self.name!r}: expected input of shape "
                             f"(batch, timesteps, ...) with rank >= 3, got {tuple(shape)}")

    def build(self, input_shape):
        self._check_rank(input_shape)
        self.layer.maybe_build((None,) + tuple(input_shape[2:]))

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape((None,) + tuple(input_shape[2:]))
        return (input_shape[0], input_shape[1]) + tuple(inner[1:])

    def forward(self, x, training=False):
        self._check_rank(np.shape(x))
        steps = x.shape[:2]
        y = self.layer.apply(x.reshape((-1,) + x.shape[2:]), training=training)     # (N·T, ...)
        self._steps, self._inner_call = steps, self.layer.last_call
        return y.reshape(steps + y.shape[1:])                                       # (N, T, ...)

    def backward(self, dy, input_gradient: bool = True):
        """dL/dy (N, T, *out) -> dL/dx (N, T, *in); None if the inner layer returns None."""
        dx = self.layer.backpropagate(dy.reshape((-1,) + dy.shape[2:]), call=self._inner_call)
        return None if dx is None else dx.reshape(self._steps + dx.shape[1:])

    def get_config(self):
        return {**super().get_config(), "layer": serialize(self.layer)}

    @classmethod
    def from_config(cls, config_):
        config_ = dict(config_)
        config_["layer"] = deserialize("layer", config_["layer"])
        return cls(**config_)


__all__ = ["Bidirectional", "TimeDistributed"]

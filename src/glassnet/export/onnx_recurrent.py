"""ONNX converters for SimpleRNN, LSTM, GRU (both reset_after forms) and Bidirectional.

A recurrent layer becomes one ONNX Scan: the loop over time, with the state(s) carried from
step to step and the step written as a small body graph, as glassnet's `_RNN` runs it:

    xz = x @ W + b                        one MatMul over all steps, before the loop
    Scan over t (reversed for go_backwards):
        body(h_{t-1} [, c_{t-1}], xz_t [, mask_t]) -> h_t [, c_t], output_t

The step bodies, in Keras' gate orders:

    SimpleRNN   h = f(h_{t-1} U + xz_t)
    LSTM        [i, f, g, o] = split(h_{t-1} U + xz_t);  c = σf·c_{t-1} + σi·tanh g;  h = σo·tanh c
    GRU         u = h_{t-1} U + b_rec  (reset_after)      z, r = σ(xz_zr + u_zr)
                h̃ = tanh(xz_h + r ⊙ u_h)                  h = (h_{t-1} - h̃) ⊙ z + h̃
                reset_after=False: h̃ = tanh(xz_h + (r ⊙ h_{t-1}) U_h)

Why Scan and not ONNX's LSTM/GRU operators: a padding mask (Embedding(mask_zero=True) in a
Sequential) may hold gaps anywhere, and at a masked step glassnet carries the states over and
outputs the previous output (or zeros, `zero_output_for_mask`); the body does exactly that
with Where(mask_t, new, old). Any activation glassnet has also works in a body.
"""

from __future__ import annotations

import numpy as np

from glassnet import layers
from glassnet.export.onnx_activations import apply

_INT64_MIN = -(2**63)


def _check(layer) -> None:
    if layer.return_state:
        raise NotImplementedError(f"ONNX export: layer {layer.name!r} ({type(layer).__name__}) "
                                  f"has return_state=True; a model output must be one tensor")


# ----- one step of each layer: (body graph, states in, xz_t) -> states out -----------------------
def _simple_rnn_step(body, layer, states, xz_t):
    z = body.op("Add", [body.op("MatMul", [states[0], body.constant(
        layer.recurrent_kernel.value, "recurrent_kernel")]), xz_t])
    return [apply(body, layer.activation, z)]


def _lstm_step(body, layer, states, xz_t):
    h_prev, c_prev = states
    u = layer.units
    z = body.op("Add", [body.op("MatMul", [h_prev, body.constant(
        layer.recurrent_kernel.value, "recurrent_kernel")]), xz_t])
    z_i, z_f, z_g, z_o = body.split(z, [u] * 4, axis=1)
    i = apply(body, layer.recurrent_activation, z_i)
    f = apply(body, layer.recurrent_activation, z_f)
    g = apply(body, layer.activation, z_g)
    o = apply(body, layer.recurrent_activation, z_o)
    c = body.op("Add", [body.op("Mul", [f, c_prev]), body.op("Mul", [i, g])], hint="c")
    h = body.op("Mul", [o, apply(body, layer.activation, c)], hint="h")
    return [h, c]


def _gru_step(body, layer, states, xz_t):
    h_prev = states[0]
    u = layer.units
    kernel = layer.recurrent_kernel.value                              # (U, 3U): z, r, h
    xz_zr, xz_h = body.split(xz_t, [2 * u, u], axis=1)
    if layer.reset_after:
        rec = body.op("MatMul", [h_prev, body.constant(kernel, "recurrent_kernel")])
        if layer.use_bias:
            rec = body.op("Add", [rec, body.constant(layer.bias.value[1], "recurrent_bias")])
        rec_zr, rec_h = body.split(rec, [2 * u, u], axis=1)
        zr = apply(body, layer.recurrent_activation, body.op("Add", [xz_zr, rec_zr]))
        update, reset = body.split(zr, [u, u], axis=1)
        z_h = body.op("Add", [body.op("Mul", [reset, rec_h]), xz_h])
    else:
        rec_zr = body.op("MatMul", [h_prev, body.constant(kernel[:, :2 * u], "kernel_zr")])
        zr = apply(body, layer.recurrent_activation, body.op("Add", [xz_zr, rec_zr]))
        update, reset = body.split(zr, [u, u], axis=1)
        reset_h = body.op("Mul", [reset, h_prev])
        z_h = body.op("Add", [body.op("MatMul", [reset_h, body.constant(kernel[:, 2 * u:],
                                                                        "kernel_h")]), xz_h])
    candidate = apply(body, layer.activation, z_h)
    h = body.op("Add", [body.op("Mul", [body.op("Sub", [h_prev, candidate]), update]),
                        candidate], hint="h")
    return [h]


_STEPS = {layers.SimpleRNN: (_simple_rnn_step, 1), layers.LSTM: (_lstm_step, 2),
          layers.GRU: (_gru_step, 1)}


def _input_bias(layer):
    """The bias added to x_t W (GRU with reset_after keeps a second, recurrent row)."""
    if not layer.use_bias:
        return None
    if isinstance(layer, layers.GRU) and layer.reset_after:
        return layer.bias.value[0]
    return layer.bias.value


# ----- the loop -------------------------------------------------------------------------------
def recurrent(graph, layer, x, mask):
    """A SimpleRNN, LSTM or GRU as a Scan over the time axis 1 of x (N, T, D)."""
    _check(layer)
    step, count = _STEPS[type(layer)]
    u, width = layer.units, layer.recurrent_kernel.shape[1]
    xz = graph.op("MatMul", [x.name, graph.constant(layer.kernel.value, "kernel")])
    bias = _input_bias(layer)
    if bias is not None:
        xz = graph.op("Add", [xz, graph.constant(bias, "bias")], hint="xz")       # (N, T, k·U)
    initial = [graph.zeros_like_rows(x.name, u) for _ in range(count)]
    scan_inputs = [xz]
    if mask is not None:
        scan_inputs.append(graph.op("Unsqueeze", [mask, graph.ints([2], "axis")]))  # (N, T, 1)
    sequence_needed = layer.return_sequences or (mask is not None and layer.zero_output_for_mask)

    body = graph.body()
    float_type = graph.float_dtype
    state_in = [body.fresh(f"state{k}_in") for k in range(count)]
    xz_t = body.fresh("xz_t")
    body_inputs = [body.value_info(name, float_type, ("batch", u)) for name in state_in]
    body_inputs.append(body.value_info(xz_t, float_type, ("batch", width)))
    new_states = step(body, layer, state_in, xz_t)
    if mask is not None:
        mask_t = body.fresh("mask_t")
        body_inputs.append(body.value_info(mask_t, np.bool_, ("batch", 1)))
        # a masked sample skips the step: its states carry over unchanged
        new_states = [body.op("Where", [mask_t, new, old], hint="carried")
                      for new, old in zip(new_states, state_in)]
    state_out = [body.op("Identity", [name], hint=f"state{k}_out")
                 for k, name in enumerate(new_states)]
    outputs = list(state_out)
    if sequence_needed:
        y_t = state_out[0]
        if mask is not None and layer.zero_output_for_mask:
            y_t = body.op("Mul", [y_t, body.cast_float(mask_t)], hint="y_t")
        else:
            y_t = body.op("Identity", [y_t], hint="y_t")
        outputs.append(y_t)
    body_outputs = [body.value_info(name, float_type, ("batch", u)) for name in outputs]
    body_graph = body.graph_proto(graph.fresh("step"), body_inputs, body_outputs)

    scans = len(scan_inputs)
    attributes = {"body": body_graph, "num_scan_inputs": scans, "scan_input_axes": [1] * scans}
    if layer.go_backwards:
        attributes["scan_input_directions"] = [1] * scans
    if sequence_needed:
        attributes["scan_output_axes"] = [1]               # (N, T, U), in processing order
    results = graph.op("Scan", initial + scan_inputs, hint="scan",
                       outputs=len(outputs), **attributes)
    results = results if isinstance(results, list) else [results]
    if layer.return_sequences:
        return results[-1], mask
    if sequence_needed:                                   # the last output: zeros if masked
        return graph.op("Gather", [results[-1], graph.ints(-1, "last")], axis=1)
    return results[0]                                     # the final h


# ----- Bidirectional ----------------------------------------------------------------------------
def bidirectional(graph, layer, x, mask):
    """merge(forward layer's output, backward layer's output in time order)."""
    if layer.merge_mode is None:
        raise NotImplementedError(f"ONNX export: Bidirectional {layer.name!r} has "
                                  f"merge_mode=None (two outputs); a model output must be one "
                                  f"tensor")
    forward, _ = graph.convert(layer.forward_layer, x, mask)
    backward, _ = graph.convert(layer.backward_layer, x, mask)
    y, y_rev = forward.name, backward.name
    if layer.return_sequences:                            # back to time order
        y_rev = graph.op("Slice", [y_rev, graph.ints([-1], "start"),
                                   graph.ints([_INT64_MIN], "end"), graph.ints([1], "axis"),
                                   graph.ints([-1], "step")], hint="reversed")
    if layer.merge_mode == "concat":
        merged = graph.op("Concat", [y, y_rev], axis=len(forward.shape) - 1)
    elif layer.merge_mode == "sum":
        merged = graph.op("Add", [y, y_rev])
    elif layer.merge_mode == "mul":
        merged = graph.op("Mul", [y, y_rev])
    else:                                                 # ave
        merged = graph.op("Div", [graph.op("Add", [y, y_rev]), graph.scalar(2.0, "two")])
    return merged, (mask if layer.return_sequences else None)


CONVERTERS = {
    layers.SimpleRNN: recurrent,
    layers.LSTM: recurrent,
    layers.GRU: recurrent,
    layers.Bidirectional: bidirectional,
}

"""A float64 PyTorch re-implementation of Keras 3 layers and models, for differential tests.

Each layer's forward is written from Keras 3's source (keras/src/layers/...) and runs on the
weights a glassnet layer holds, read with `get_weights()` in Keras order and shapes. Masks
follow Keras' rules (keras/src/layers/layer.py): a layer that supports masking passes the
mask on (Dense, Dropout, activations, LayerNormalization, BatchNormalization,
TimeDistributed), Embedding(mask_zero=True) makes one, recurrent layers and
GlobalAveragePooling1D consume it, every other layer drops it. Recurrent layers follow the
TensorFlow backend's masking (a masked step keeps the states and repeats the previous
output; zeros before the first output). BatchNormalization takes masked moments in
training, as `BatchNormalization._moments` does, and runs in inference mode when it, or a
model around it, is not trainable.

Autograd gives the reference gradients. Nothing here imports glassnet's internals: the
model comes as a `specs.Net` and the weights as arrays.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from specs import L, Net

DTYPE = torch.float64
KERAS_EPSILON = 1e-7                      # keras.backend.epsilon()

PASSES_MASK = {"Dense", "Dropout", "Activation", "ReLU", "LeakyReLU", "ELU",
               "LayerNormalization", "BatchNormalization", "TimeDistributed"}
RECURRENT = {"SimpleRNN", "LSTM", "GRU"}
MERGES = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"}


def tensor(array, grad: bool = False):
    return torch.tensor(np.asarray(array, dtype=np.float64), dtype=DTYPE, requires_grad=grad)


# ----- activations (keras/src/activations/activations.py) -----------------------------------
def activation(name, x, axis: int = -1):
    if name in (None, "linear"):
        return x
    if name == "relu":
        return torch.relu(x)
    if name == "sigmoid":
        return torch.sigmoid(x)
    if name == "tanh":
        return torch.tanh(x)
    if name == "softmax":
        return torch.softmax(x, dim=axis)
    if name == "elu":
        return F.elu(x)
    if name == "selu":
        return F.selu(x)
    if name == "gelu":                                       # Keras default: exact (erf)
        return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))
    if name == "softplus":
        return torch.logaddexp(x, torch.zeros_like(x))
    if name in ("silu", "swish"):
        return x * torch.sigmoid(x)
    if name == "leaky_relu":
        return F.leaky_relu(x, 0.2)
    raise NotImplementedError(f"reference: activation {name!r}")


def keras_relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """keras.activations.relu's static_call, branch for branch."""
    if negative_slope != 0.0 and max_value is None and threshold == 0:
        return F.leaky_relu(x, negative_slope)
    negative_part = torch.relu(-x + threshold) if negative_slope != 0.0 else None
    y = torch.where(x > threshold, x, torch.zeros_like(x)) if threshold != 0 else torch.relu(x)
    if max_value is not None:
        y = torch.clamp(y, 0.0, max_value)
    if negative_part is not None:
        y = y - negative_slope * negative_part
    return y


# ----- windows: TensorFlow's "same" / "causal" padding ----------------------------------------
def _tuple(value, rank: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (int(value),) * rank


def _pads(sizes, kernel, strides, dilation, padding: str):
    """(before, after) per spatial axis, as TensorFlow pads."""
    pads = []
    for n, k, s, d in zip(sizes, kernel, strides, dilation):
        span = (k - 1) * d + 1
        if padding == "valid":
            pads.append((0, 0))
        elif padding == "causal":
            pads.append((span - 1, 0))
        else:
            out = -(-n // s)
            total = max((out - 1) * s + span - n, 0)
            pads.append((total // 2, total - total // 2))
    return pads


def _pad_channels_first(x, pads, value=0.0):
    flat = [amount for pair in reversed(pads) for amount in pair]
    return F.pad(x, flat, value=value) if any(flat) else x


def conv(a, w, x, rank: int):
    kernel = tuple(w[0].shape[:rank])
    strides = _tuple(a.get("strides", 1), rank)
    dilation = _tuple(a.get("dilation_rate", 1), rank)
    pads = _pads(x.shape[1:-1], kernel, strides, dilation, a.get("padding", "valid"))
    xt = _pad_channels_first(x.movedim(-1, 1), pads)                 # (N, C, *spatial)
    weight = w[0].permute(rank + 1, rank, *range(rank))               # (F, C, *kernel)
    y = (F.conv1d if rank == 1 else F.conv2d)(xt, weight, stride=strides, dilation=dilation)
    y = y.movedim(1, -1)
    if a.get("use_bias", True):
        y = y + w[1]
    return activation(a.get("activation"), y)


def pool(kind: str, a, x, rank: int):
    size = _tuple(a.get("pool_size", 2), rank)
    strides = size if a.get("strides") is None else _tuple(a["strides"], rank)
    pads = _pads(x.shape[1:-1], size, strides, (1,) * rank, a.get("padding", "valid"))
    xt = x.movedim(-1, 1)
    if kind.startswith("Max"):
        padded = _pad_channels_first(xt, pads, value=-math.inf)
        y = (F.max_pool1d if rank == 1 else F.max_pool2d)(padded, size, strides)
    else:                                  # the mean over the cells inside x (TensorFlow's)
        average = F.avg_pool1d if rank == 1 else F.avg_pool2d
        sums = average(_pad_channels_first(xt, pads), size, strides)
        counts = average(_pad_channels_first(torch.ones_like(xt[:1, :1]), pads), size, strides)
        y = sums / counts
    return y.movedim(1, -1)


# ----- normalization -------------------------------------------------------------------------
def batch_normalization(a, w, x, mask, training: bool, trainable: bool):
    axis = a.get("axis", -1) % x.ndim
    scale, center = a.get("scale", True), a.get("center", True)
    gamma = w[0] if scale else None
    beta = w[int(scale)] if center else None
    moving_mean, moving_variance = w[-2], w[-1]
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    reduce = [i for i in range(x.ndim) if i != axis]
    if training and trainable:
        if mask is None:
            mean = x.mean(dim=reduce, keepdim=True)
            variance = ((x - mean) ** 2).mean(dim=reduce, keepdim=True)
        else:                              # BatchNormalization._moments with a mask
            m = mask[..., None].expand(x.shape)
            count = m.to(DTYPE).sum(dim=reduce, keepdim=True) + KERAS_EPSILON
            mean = torch.where(m, x, 0.0).sum(dim=reduce, keepdim=True) / count
            variance = (torch.where(m, x - mean, 0.0) ** 2).sum(dim=reduce, keepdim=True) / count
        momentum = a.get("momentum", 0.99)
        with torch.no_grad():
            moving_mean.copy_(moving_mean * momentum + mean.reshape(-1) * (1.0 - momentum))
            moving_variance.copy_(moving_variance * momentum
                                  + variance.reshape(-1) * (1.0 - momentum))
    else:
        mean, variance = moving_mean.reshape(shape), moving_variance.reshape(shape)
    y = (x - mean) / torch.sqrt(variance + a.get("epsilon", 1e-3))
    if gamma is not None:
        y = y * gamma.reshape(shape)
    return y + beta.reshape(shape) if beta is not None else y


def layer_normalization(a, w, x):
    given = a.get("axis", -1)
    axes = sorted(axis % x.ndim for axis in (given if isinstance(given, list) else [given]))
    shape = [x.shape[i] if i in axes else 1 for i in range(x.ndim)]
    mean = x.mean(dim=axes, keepdim=True)
    variance = ((x - mean) ** 2).mean(dim=axes, keepdim=True)
    y = (x - mean) / torch.sqrt(variance + a.get("epsilon", 1e-3))
    k = 0
    if a.get("scale", True):
        y, k = y * w[0].reshape(shape), 1
    return y + w[k].reshape(shape) if a.get("center", True) else y


# ----- recurrent layers (keras/src/layers/rnn/*.py, TensorFlow backend's masking) ----------
def recurrent(kind: str, a, w, x, mask):
    units = a["units"]
    act, rec_act = a.get("activation", "tanh"), a.get("recurrent_activation", "sigmoid")
    kernel, recurrent_kernel = w[0], w[1]
    bias = w[2] if a.get("use_bias", True) else None
    reset_after = a.get("reset_after", True)
    if bias is not None and kind == "GRU" and reset_after:
        input_bias, recurrent_bias = bias[0], bias[1]
    else:
        input_bias, recurrent_bias = bias, None
    xz = x @ kernel + (input_bias if input_bias is not None else 0.0)     # (N, T, kU)
    n, steps = x.shape[:2]
    h = c = previous = torch.zeros(n, units, dtype=DTYPE)
    zero_output = a.get("zero_output_for_mask", False)
    outputs = []
    order = range(steps - 1, -1, -1) if a.get("go_backwards", False) else range(steps)
    for t in order:
        z = xz[:, t]
        if kind == "SimpleRNN":
            h_new = activation(act, z + h @ recurrent_kernel)
            c_new = c
        elif kind == "LSTM":
            i, f, g, o = (z + h @ recurrent_kernel).split(units, dim=-1)
            c_new = activation(rec_act, f) * c + activation(rec_act, i) * activation(act, g)
            h_new = activation(rec_act, o) * activation(act, c_new)
        else:
            x_z, x_r, x_h = z.split(units, dim=-1)
            if reset_after:
                inner = h @ recurrent_kernel
                if recurrent_bias is not None:
                    inner = inner + recurrent_bias
                r_z, r_r, r_h = inner.split(units, dim=-1)
                update, reset = activation(rec_act, x_z + r_z), activation(rec_act, x_r + r_r)
                candidate = activation(act, x_h + reset * r_h)
            else:
                r_z, r_r = (h @ recurrent_kernel[:, :2 * units]).split(units, dim=-1)
                update, reset = activation(rec_act, x_z + r_z), activation(rec_act, x_r + r_r)
                candidate = activation(act, x_h + (reset * h) @ recurrent_kernel[:, 2 * units:])
            h_new = update * h + (1 - update) * candidate
            c_new = c
        if mask is None:
            output, h, c = h_new, h_new, c_new
        else:
            keep = mask[:, t, None]
            output = torch.where(keep, h_new, torch.zeros_like(h_new) if zero_output
                                 else previous)
            h, c = torch.where(keep, h_new, h), torch.where(keep, c_new, c)
        previous = output
        outputs.append(output)
    if a.get("return_sequences", False):
        return torch.stack(outputs, dim=1), mask          # processing order, as Keras
    return outputs[-1], None


def bidirectional(a, inner: L, w, x, mask):
    sequences = inner.args.get("return_sequences", False)
    forward = {**inner.args, "zero_output_for_mask": sequences}
    backward = {**forward, "go_backwards": not inner.args.get("go_backwards", False)}
    half = len(w) // 2
    y, _ = recurrent(inner.kind, forward, w[:half], x, mask)
    y_rev, _ = recurrent(inner.kind, backward, w[half:], x, mask)
    if sequences:
        y_rev = y_rev.flip(1)
    mode = a.get("merge_mode", "concat")
    merged = {"concat": lambda: torch.cat([y, y_rev], dim=-1), "sum": lambda: y + y_rev,
              "mul": lambda: y * y_rev, "ave": lambda: (y + y_rev) / 2}[mode]()
    return merged, mask if sequences else None


def merge(kind: str, a, xs, masks):
    if any(m is not None for m in masks) and kind == "Concatenate":
        raise NotImplementedError("reference: Concatenate with masks")
    if kind == "Add":
        y = sum(xs[1:], xs[0])
    elif kind == "Subtract":
        y = xs[0] - xs[1]
    elif kind == "Multiply":
        y = xs[0]
        for other in xs[1:]:
            y = y * other
    elif kind == "Average":
        y = sum(xs[1:], xs[0]) / len(xs)
    elif kind in ("Maximum", "Minimum"):
        y = xs[0]
        for other in xs[1:]:
            y = torch.maximum(y, other) if kind == "Maximum" else torch.minimum(y, other)
    else:
        y = torch.cat(xs, dim=a.get("axis", -1))
    mask = None
    if all(m is not None for m in masks):               # Merge.compute_mask: OR
        mask = masks[0]
        for other in masks[1:]:
            mask = mask | other
    return y, mask


# ----- one layer -----------------------------------------------------------------------------
def call_layer(spec: L, w, x, mask, training: bool, trainable: bool):
    """(output, output mask) of Keras' `spec` on x with weights w (tensors, Keras order)."""
    kind, a = spec.kind, spec.args
    if kind in MERGES:
        return merge(kind, a, x, mask)
    if kind == "Softmax" and mask is not None:
        raise NotImplementedError("reference: Softmax layer with a mask")
    out_mask = mask if kind in PASSES_MASK else None
    if kind == "Dense":
        y = x @ w[0]
        y = activation(a.get("activation"), y + w[1] if a.get("use_bias", True) else y)
    elif kind == "Dropout":
        if training and a.get("rate", 0.0) > 0:
            raise NotImplementedError("reference: Dropout in training mode")
        y = x
    elif kind == "Activation":
        y = activation(a["activation"], x)
    elif kind == "ReLU":
        y = keras_relu(x, a.get("negative_slope", 0.0), a.get("max_value"),
                       a.get("threshold", 0.0))
    elif kind == "LeakyReLU":
        y = F.leaky_relu(x, a.get("negative_slope", 0.3))
    elif kind == "ELU":
        y = F.elu(x, alpha=a.get("alpha", 1.0))
    elif kind == "Softmax":
        y = torch.softmax(x, dim=a.get("axis", -1))
    elif kind == "BatchNormalization":
        y = batch_normalization(a, w, x, mask, training, trainable)
    elif kind == "LayerNormalization":
        y = layer_normalization(a, w, x)
    elif kind == "Embedding":
        ids = x.round().long()
        y = w[0][ids]
        out_mask = ids != 0 if a.get("mask_zero", False) else None
    elif kind in ("Conv1D", "Conv2D"):
        y = conv(a, w, x, int(kind[-2]))
    elif kind in ("MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D"):
        y = pool(kind, a, x, int(kind[-2]))
    elif kind == "GlobalAveragePooling1D" and mask is not None:
        keep = mask[..., None].to(DTYPE)
        y = (torch.where(mask[..., None], x, 0.0)).sum(dim=1) / keep.sum(dim=1)
    elif kind.startswith("Global"):
        axes = (1,) if kind.endswith("1D") else (1, 2)
        y = x.mean(dim=axes) if "Average" in kind else x.amax(dim=axes)
    elif kind == "Flatten":
        y = x.reshape(x.shape[0], -1)
    elif kind == "Reshape":
        y = x.reshape(x.shape[0], *a["target_shape"])
    elif kind in RECURRENT:
        y, out_mask = recurrent(kind, a, w, x, mask)
    elif kind == "Bidirectional":
        y, out_mask = bidirectional(a, spec.inner, w, x, mask)
    elif kind == "TimeDistributed":
        n, steps = x.shape[:2]
        y, _ = call_layer(spec.inner, w, x.reshape(n * steps, *x.shape[2:]), None, training,
                          trainable)
        y = y.reshape(n, steps, *y.shape[1:])
    else:
        raise NotImplementedError(f"reference: layer {kind}")
    return y, out_mask


# ----- a whole model -------------------------------------------------------------------------
class RefNet:
    """The Keras model `net`, on tensors copied from the glassnet objects `build` made.

    Attributes:
        pairs: (glassnet Parameter, reference tensor, trainable in Keras) for every weight,
            each once (a shared layer's weights appear once).
    """

    def __init__(self, net: Net, objects: dict, trainable: bool = True):
        self.net = net
        self.trainable = trainable and net.trainable
        self.weights: list = []           # per layer: tensors, or a RefNet for kind "Model"
        self.pairs: list = []
        for spec in net.layers:
            layer_trainable = self.trainable and spec.args.get("trainable", True)
            if spec.kind == "Model":
                inner = RefNet(spec.inner, objects, layer_trainable)
                self.weights.append(inner)
                self.pairs += inner.pairs
                continue
            params = objects[id(spec)].weights
            tensors = [tensor(p.value, grad=p.trainable) for p in params]
            self.weights.append(tensors)
            self.pairs += [(p, t, layer_trainable and p.trainable)
                           for p, t in zip(params, tensors)]

    @property
    def trainable_tensors(self) -> list:
        return [t for _, t, trainable in self.pairs if trainable]

    def forward(self, inputs: list, training: bool):
        """(output, its Keras mask or None) for the input tensors."""
        tensors, masks = list(inputs), [None] * len(inputs)
        for i, ins in self.net.nodes:
            spec = self.net.layers[i]
            args, arg_masks = [tensors[k] for k in ins], [masks[k] for k in ins]
            x = args if len(args) > 1 else args[0]
            mask = arg_masks if len(args) > 1 else arg_masks[0]
            if spec.kind == "Model":
                if mask is not None:
                    raise NotImplementedError("reference: a mask into a nested model")
                y, out_mask = self.weights[i].forward(args, training)
            else:
                trainable = self.trainable and spec.args.get("trainable", True)
                y, out_mask = call_layer(spec, self.weights[i], x, mask, training, trainable)
            tensors.append(y)
            masks.append(out_mask)
        return tensors[-1], masks[-1]

    def regularization(self):
        """Σ penalties of the trainable weights (Keras' `model.losses`): l1 |W| + l2 W²."""
        total = torch.zeros((), dtype=DTYPE)
        for spec, weights in zip(self.net.layers, self.weights):
            if spec.kind == "Model":
                total = total + weights.regularization()
                continue
            trainable = self.trainable and spec.args.get("trainable", True)
            for prefix, index in (("kernel", 0), ("bias", 1)):
                rule = spec.args.get(f"{prefix}_regularizer")
                if rule and trainable and index < len(weights):
                    w = weights[index]
                    total = total + rule.get("l1", 0.0) * w.abs().sum()
                    total = total + rule.get("l2", 0.0) * (w * w).sum()
        return total

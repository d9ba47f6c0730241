"""Seeded random models for the differential suite: one generator per category.

Each generator takes a np.random.Generator and returns a `specs.Net` (plus what the case
needs: the loss and its output activation). Shapes are tracked per sample (no batch axis)
so that every layer drawn fits its input: a "valid" convolution only where the input is at
least as long as the kernel's span, a merge only of equal shapes, and so on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from specs import L, Net

ACTIVATIONS = ["linear", "relu", "tanh", "sigmoid", "elu", "selu", "gelu", "softplus",
               "silu", "leaky_relu"]
RNNS = ["SimpleRNN", "LSTM", "GRU"]


def pick(rng, items):
    return items[int(rng.integers(len(items)))]


def chance(rng, p: float) -> bool:
    return bool(rng.random() < p)


def out_length(n: int, k: int, s: int, d: int, padding: str) -> int:
    span = (k - 1) * d + 1
    return (n - span) // s + 1 if padding == "valid" else -(-n // s)


@dataclass
class Ctx:
    """What the layers drawn may be: `training` keeps Dropout at rate 0; `keep_time` draws
    only layers that keep a sequence's length (for branches that merge); `masking` draws
    only layers that pass a mask on, as Keras defines them."""

    training: bool = False
    keep_time: bool = False
    masking: bool = False
    batchnorm: bool = True
    exclude: set = field(default_factory=set)


# ----- layers that keep the rank -----------------------------------------------------------------
def elementwise(rng, shape, ctx: Ctx, kind: str | None = None):
    """A layer that maps the last axis (Dense) or keeps the shape; (L, new shape)."""
    kinds = ["Dense", "Dense", "Activation", "ReLU", "LeakyReLU", "ELU", "Dropout",
             "LayerNormalization"]
    if ctx.batchnorm:
        kinds.append("BatchNormalization")
    if not ctx.masking:
        kinds.append("Softmax")
    kind = kind or pick(rng, [k for k in kinds if k not in ctx.exclude])
    if kind == "Dense":
        units = int(rng.integers(2, 6))
        args = {"units": units, "activation": pick(rng, ACTIVATIONS)}
        if chance(rng, 0.2):
            args["use_bias"] = False
        return L("Dense", args), shape[:-1] + (units,)
    if kind == "Activation":
        return L("Activation", {"activation": pick(rng, ACTIVATIONS)}), shape
    if kind == "ReLU":
        args = {}
        if chance(rng, 0.4):
            args["max_value"] = round(float(rng.uniform(0.3, 2.0)), 3)
        if chance(rng, 0.4):
            args["negative_slope"] = round(float(rng.uniform(0.05, 0.3)), 3)
        if chance(rng, 0.3):
            args["threshold"] = round(float(rng.uniform(0.05, 0.4)), 3)
        return L("ReLU", args), shape
    if kind == "LeakyReLU":
        return L("LeakyReLU", {"negative_slope": round(float(rng.uniform(0.05, 0.5)), 3)}), shape
    if kind == "ELU":
        return L("ELU", {"alpha": round(float(rng.uniform(0.5, 1.5)), 3)}), shape
    if kind == "Dropout":
        rate = 0.0 if ctx.training else round(float(rng.uniform(0.1, 0.6)), 3)
        return L("Dropout", {"rate": rate}), shape
    if kind == "Softmax":
        return L("Softmax", {"axis": -1}), shape
    args = {"epsilon": pick(rng, [1e-3, 1e-2, 0.1])}
    if chance(rng, 0.2):
        args["center"] = False
    if chance(rng, 0.2):
        args["scale"] = False
    if kind == "BatchNormalization":
        args["momentum"] = round(float(rng.uniform(0.5, 0.99)), 3)
        if len(shape) >= 2 and not ctx.masking and chance(rng, 0.2):
            args["axis"] = 1                                   # a channel axis not last
    elif len(shape) >= 2 and chance(rng, 0.3):
        args["axis"] = list(range(1, len(shape) + 1))          # every feature axis
    return L(kind, args), shape


def recurrent_layer(rng, features: int, sequences: bool, ctx: Ctx) -> L:
    kind = pick(rng, RNNS)
    args = {"units": int(rng.integers(2, 5)), "return_sequences": sequences}
    if chance(rng, 0.2):
        args["go_backwards"] = True
    if chance(rng, 0.15):
        args["use_bias"] = False
    if chance(rng, 0.2):                  # bounded or slowly growing: no explosion in T steps
        args["activation"] = pick(rng, ["relu", "sigmoid", "elu", "gelu"])
    if kind != "SimpleRNN" and chance(rng, 0.2):
        args["recurrent_activation"] = "tanh"
    if kind == "GRU" and chance(rng, 0.3):
        args["reset_after"] = False
    return L(kind, args)


def sequence_layer(rng, shape, ctx: Ctx):
    """A layer on (T, F); (L, new shape), or None if the one drawn does not fit."""
    steps, features = shape
    kinds = ["elementwise", "elementwise", "rnn", "bidirectional", "timedistributed"]
    if not ctx.masking:
        kinds += ["conv", "conv", "pool", "pool"]
    kind = pick(rng, kinds)
    if kind == "elementwise":
        return elementwise(rng, shape, ctx)
    if kind in ("rnn", "bidirectional"):
        layer = recurrent_layer(rng, features, True if ctx.keep_time else chance(rng, 0.6), ctx)
        if kind == "rnn":
            units = layer.args["units"]
        else:
            mode = pick(rng, ["concat", "sum", "mul", "ave"])
            layer.args.pop("go_backwards", None)
            units = layer.args["units"] * (2 if mode == "concat" else 1)
            layer = L("Bidirectional", {"merge_mode": mode}, layer)
        inner = layer.inner if layer.inner is not None else layer
        return layer, (steps, units) if inner.args["return_sequences"] else (units,)
    if kind == "timedistributed":
        units = int(rng.integers(2, 5))
        return L("TimeDistributed", {}, L("Dense", {"units": units,
                                                     "activation": pick(rng, ACTIVATIONS)})), \
            (steps, units)
    if kind == "conv":
        k, d = int(rng.integers(1, 4)), 1
        s = 1 if ctx.keep_time else int(rng.integers(1, 3))
        paddings = ["same", "causal"] if ctx.keep_time else ["valid", "same", "causal"]
        padding = pick(rng, paddings)
        if s == 1 and chance(rng, 0.3):
            d = 2
        out = out_length(steps, k, s, d, padding)
        if out < 1:
            return None
        filters = int(rng.integers(2, 5))
        args = {"filters": filters, "kernel_size": k, "strides": s, "padding": padding,
                "dilation_rate": d, "activation": pick(rng, ACTIVATIONS)}
        return L("Conv1D", args), (out, filters)
    if ctx.keep_time:
        return None
    pool, padding = int(rng.integers(2, 4)), pick(rng, ["valid", "same"])
    strides = pick(rng, [None, 1, 2])
    out = out_length(steps, pool, strides or pool, 1, padding)
    if out < 1:
        return None
    kind = pick(rng, ["MaxPooling1D", "AveragePooling1D"])
    return L(kind, {"pool_size": pool, "strides": strides, "padding": padding}), (out, features)


def image_layer(rng, shape, ctx: Ctx):
    """A layer on (H, W, C); (L, new shape), or None if the one drawn does not fit."""
    height, width, channels = shape
    kind = pick(rng, ["elementwise", "conv", "conv", "pool", "pool"])
    if kind == "elementwise":
        return elementwise(rng, shape, ctx)
    keep = ctx.keep_time
    sizes = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    padding = "same" if keep else pick(rng, ["valid", "same"])
    strides = (1, 1) if keep else (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    if kind == "conv":
        dilation = (2, 1) if strides == (1, 1) and chance(rng, 0.25) else (1, 1)
        out = [out_length(n, k, s, d, padding)
               for n, k, s, d in zip((height, width), sizes, strides, dilation)]
        if min(out) < 1:
            return None
        filters = int(rng.integers(2, 4))
        args = {"filters": filters, "kernel_size": sizes, "strides": strides,
                "padding": padding, "dilation_rate": dilation,
                "activation": pick(rng, ACTIVATIONS)}
        return L("Conv2D", args), (*out, filters)
    if keep:
        return None
    pool = (int(rng.integers(2, 4)), int(rng.integers(2, 4)))
    strides = None if chance(rng, 0.5) else strides
    out = [out_length(n, k, s, 1, padding)
           for n, k, s in zip((height, width), pool, strides or pool)]
    if min(out) < 1:
        return None
    kind = pick(rng, ["MaxPooling2D", "AveragePooling2D"])
    return L(kind, {"pool_size": pool, "strides": strides, "padding": padding}), \
        (*out, channels)


def next_layer(rng, shape, ctx: Ctx):
    """One layer on `shape`, drawn again until one fits (with keep_time: of the same rank)."""
    for _ in range(20):
        if len(shape) == 1:
            drawn = elementwise(rng, shape, ctx)
        elif len(shape) == 2:
            drawn = sequence_layer(rng, shape, ctx)
        else:
            drawn = image_layer(rng, shape, ctx)
        if drawn is not None and (not ctx.keep_time or len(drawn[1]) == len(shape)):
            return drawn
    return elementwise(rng, shape, Ctx(ctx.training, exclude={"BatchNormalization"}))


def flatten_layer(rng, shape, ctx: Ctx):
    """A layer that takes (T, F) or (H, W, C) to (F,): Flatten, a global pooling, or an RNN."""
    if len(shape) == 2:
        kinds = ["GlobalAveragePooling1D", "rnn"] if ctx.masking else \
            ["Flatten", "GlobalAveragePooling1D", "GlobalMaxPooling1D", "rnn"]
        kind = pick(rng, kinds)
        if kind == "rnn":
            layer = recurrent_layer(rng, shape[1], False, ctx)
            return layer, (layer.args["units"],)
        return L(kind, {}), (shape[1],) if kind.startswith("Global") else (shape[0] * shape[1],)
    kind = pick(rng, ["Flatten", "GlobalAveragePooling2D", "GlobalMaxPooling2D"])
    return L(kind, {}), (shape[2],) if kind.startswith("Global") else \
        (shape[0] * shape[1] * shape[2],)


# ----- outputs and losses ------------------------------------------------------------------------
def output_loss(rng, sparse_ok: bool = True, temporal: bool = False) -> tuple[str, dict]:
    """(output activation, loss spec) for a model's head."""
    choices = [("linear", {"kind": "mse"}), ("tanh", {"kind": "mse"}),
               ("linear", {"kind": "huber", "delta": 0.5}),
               ("softmax", {"kind": "cce"}), ("linear", {"kind": "cce", "from_logits": True}),
               ("sigmoid", {"kind": "bce"}), ("linear", {"kind": "bce", "from_logits": True})]
    if sparse_ok and not temporal:
        choices += [("softmax", {"kind": "scce"}),
                    ("linear", {"kind": "scce", "from_logits": True})]
    return pick(rng, choices)


def targets(rng, loss: dict, y_shape: tuple) -> np.ndarray:
    """Targets for predictions of shape y_shape (batch first) under `loss`."""
    kind, classes = loss["kind"], y_shape[-1]
    if kind == "scce":
        return rng.integers(0, classes, size=y_shape[:-1])
    if kind == "cce":
        return np.eye(classes)[rng.integers(0, classes, size=y_shape[:-1])]
    if kind == "bce":
        return rng.integers(0, 2, size=y_shape).astype(np.float64)
    return rng.standard_normal(y_shape)


class Graph:
    """A Net under construction: `add` a layer on tensors, get the new tensor's index."""

    def __init__(self, inputs: list[tuple], sequential: bool, vocab: int = 0):
        self.net = Net(list(inputs), sequential=sequential, vocab=vocab)
        self.shapes = list(inputs)

    def add(self, layer: L, ins, shape) -> int:
        self.net.layers.append(layer)
        return self.reuse(len(self.net.layers) - 1, ins, shape)

    def reuse(self, index: int, ins, shape) -> int:
        ins = (ins,) if isinstance(ins, int) else tuple(ins)
        self.net.nodes.append((index, ins))
        self.shapes.append(tuple(shape))
        return len(self.shapes) - 1

    def chain(self, tensor: int, layers) -> int:
        for layer, shape in layers:
            tensor = self.add(layer, tensor, shape)
        return tensor


def random_chain(rng, shape, depth: int, ctx: Ctx):
    """`depth` layers from `shape` (same rank, except a Reshape or Flatten now and then)."""
    drawn = []
    for _ in range(depth):
        if len(shape) > 1 and not ctx.keep_time and not ctx.masking and chance(rng, 0.15):
            layer, shape = flatten_layer(rng, shape, ctx)
        elif (len(shape) == 1 and shape[0] in (4, 6) and not ctx.masking and not ctx.keep_time
              and chance(rng, 0.2)):
            target = (2, shape[0] // 2)
            layer, shape = L("Reshape", {"target_shape": target}), target
        else:
            layer, shape = next_layer(rng, shape, ctx)
        drawn.append((layer, shape))
    return drawn, shape


def head(rng, shape, out_activation: str, classes: int, ctx: Ctx, temporal: bool = False):
    """Layers from `shape` to the output (N, classes), or (N, T, classes) if `temporal`."""
    drawn = []
    if len(shape) > 1 and not temporal:
        layer, shape = flatten_layer(rng, shape, ctx)
        drawn.append((layer, shape))
    drawn.append((L("Dense", {"units": classes, "activation": out_activation}),
                  shape[:-1] + (classes,)))
    return drawn


def input_shape(rng, family: str) -> tuple[int, ...]:
    if family == "flat":
        return (int(rng.integers(2, 6)),)
    if family == "sequence":
        return (int(rng.integers(3, 7)), int(rng.integers(2, 5)))
    return (int(rng.integers(4, 7)), int(rng.integers(4, 7)), int(rng.integers(1, 4)))


def shape_keeping_layer(rng, shape, ctx: Ctx) -> L:
    """A layer whose output has the shape of its input (so that it can be used twice)."""
    kinds = ["Activation", "ReLU", "LeakyReLU", "ELU", "LayerNormalization", "Dense"]
    if ctx.batchnorm:
        kinds.append("BatchNormalization")
    kind = pick(rng, kinds)
    if kind == "Dense":
        return L("Dense", {"units": shape[-1], "activation": pick(rng, ACTIVATIONS)})
    return elementwise(rng, shape, ctx, kind)[0]

"""Model descriptions shared by glassnet and the PyTorch reference, and their glassnet builds.

A case is described once, as plain data, and both sides are built from that description:

    Net     the model: input shapes, its layers, and the calls (nodes) that connect them
    L       one layer: a glassnet/Keras class name and its constructor arguments; wrappers
            (Bidirectional, TimeDistributed) hold the wrapped L in `inner`, and a nested
            model (kind "Model") holds a Net

`build` makes the glassnet model and remembers which glassnet object each L became, so the
reference can read that object's weights (`get_weights()`, Keras order and shapes) and the
tests can compare its Parameters' gradients. Only public glassnet names are used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import glassnet as gn


@dataclass(eq=False)
class L:
    """One layer: `kind` is the class name in glassnet.layers (or "Model")."""

    kind: str
    args: dict[str, Any] = field(default_factory=dict)
    inner: Any = None            # the wrapped L (wrappers) or the Net (kind "Model")

    def __repr__(self) -> str:
        if self.kind == "Model":
            frozen = "" if self.inner.trainable else ", trainable=False"
            return f"Model({describe(self.inner)}{frozen})"
        args = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        if self.inner is not None:
            args = f"{self.inner!r}" + (f", {args}" if args else "")
        return f"{self.kind}({args})"


@dataclass(eq=False)
class Net:
    """A model: tensor k < len(inputs) is input k; tensor len(inputs) + j is node j's output.

    nodes[j] = (index into layers, indices of the tensors it is called on); a layer index
    that appears in several nodes is a shared layer. The last node is the output.
    """

    inputs: list[tuple[int, ...]]
    layers: list[L] = field(default_factory=list)
    nodes: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)
    sequential: bool = True
    trainable: bool = True
    vocab: int = 0               # > 0: the first input holds integer ids in [0, vocab)


def describe(net: Net) -> str:
    """'Sequential[Dense(units=3) > ReLU()]' or 'Functional[#0 Dense(..)(in0); ...]'."""
    if net.sequential:
        return "Sequential[" + " > ".join(repr(net.layers[i]) for i, _ in net.nodes) + "]"
    names = [f"in{k}{list(s)}" for k, s in enumerate(net.inputs)]
    calls = []
    for j, (i, ins) in enumerate(net.nodes):
        names.append(f"t{j}")
        calls.append(f"t{j}=L{i}:{net.layers[i]!r}({', '.join(names[k] for k in ins)})")
    return "Functional[" + "; ".join(calls) + "]"


# ----- building the glassnet side ------------------------------------------------------------
def _regularizer(value):
    if not isinstance(value, dict):
        return value
    return gn.regularizers.L1L2(l1=value.get("l1", 0.0), l2=value.get("l2", 0.0))


def make_layer(spec: L, objects: dict):
    """The glassnet layer (or nested model) for `spec`; records it in objects[id(spec)]."""
    if spec.kind == "Model":
        obj = build(spec.inner, objects)
    else:
        args = {k: _regularizer(v) if k.endswith("_regularizer") else v
                for k, v in spec.args.items()}
        cls = getattr(gn.layers, spec.kind)
        obj = cls(make_layer(spec.inner, {}), **args) if spec.inner is not None else cls(**args)
    objects[id(spec)] = obj
    return obj


def build(net: Net, objects: dict | None = None):
    """The glassnet model for `net` (layers in the current floatx)."""
    objects = {} if objects is None else objects
    layer_objects = [make_layer(spec, objects) for spec in net.layers]
    if net.sequential:
        stack = [gn.layers.Input(shape=net.inputs[0])]
        model = gn.Sequential(stack + [layer_objects[i] for i, _ in net.nodes])
    else:
        tensors = [gn.layers.Input(shape=shape) for shape in net.inputs]
        count = len(tensors)
        for i, ins in net.nodes:
            args = [tensors[k] for k in ins]
            tensors.append(layer_objects[i](args if len(args) > 1 else args[0]))
        model = gn.Model(tensors[:count] if count > 1 else tensors[0], tensors[-1])
    if not net.trainable:
        model.trainable = False
    objects[id(net)] = model
    return model


def randomize_weights(model, rng: np.random.Generator) -> None:
    """Every weight drawn from `rng` (replayable, moderate activations): kernels
    N(0, 1/fan_in), biases N(0, 0.2²), γ ≈ 1, moving variance in [0.5, 1.5]."""
    for param in model.parameters():
        name, shape = param.name.rsplit("/", 1)[-1], tuple(param.shape)
        if name == "moving_variance":
            value = rng.uniform(0.5, 1.5, shape)
        elif name == "moving_mean":
            value = rng.normal(0.0, 0.3, shape)
        elif name == "gamma":
            value = 1.0 + 0.2 * rng.standard_normal(shape)
        elif name == "embeddings":
            value = 0.7 * rng.standard_normal(shape)
        elif len(shape) >= 2 and name != "bias":
            value = rng.standard_normal(shape) / math.sqrt(math.prod(shape[:-1]))
        else:
            value = 0.2 * rng.standard_normal(shape)
        param.assign(value)


# ----- data -------------------------------------------------------------------------------------
def padded_ids(rng: np.random.Generator, n: int, steps: int, vocab: int,
               pre_padding: bool = False) -> np.ndarray:
    """(n, steps) ids in [1, vocab) with zero padding: each row keeps 1..steps tokens."""
    ids = rng.integers(1, vocab, size=(n, steps))
    lengths = rng.integers(1, steps + 1, size=n)
    for row, length in enumerate(lengths):
        if pre_padding:
            ids[row, :steps - length] = 0
        else:
            ids[row, length:] = 0
    return ids


def inputs_for(net: Net, rng: np.random.Generator, n: int, dtype: str) -> list[np.ndarray]:
    """One array per input: padded ids for an ids input, else standard normal floats."""
    arrays = []
    for k, shape in enumerate(net.inputs):
        if k == 0 and net.vocab:
            arrays.append(padded_ids(rng, n, shape[0], net.vocab,
                                     pre_padding=bool(rng.integers(4) == 0)).astype(dtype))
        else:
            arrays.append(rng.standard_normal((n, *shape)).astype(dtype))
    return arrays


def model_input(arrays: list[np.ndarray]):
    """What a glassnet model takes: the array, or the list for several inputs."""
    return arrays[0] if len(arrays) == 1 else arrays


def all_specs(net: Net):
    """(spec, owning Net) for every L of `net` and of the models nested in it."""
    for spec in net.layers:
        yield spec, net
        if spec.kind == "Model":
            yield from all_specs(spec.inner)


# ----- losses and optimizers --------------------------------------------------------------------
LOSS_CLASSES = {"mse": "MeanSquaredError", "mae": "MeanAbsoluteError", "huber": "Huber",
                "bce": "BinaryCrossentropy", "cce": "CategoricalCrossentropy",
                "scce": "SparseCategoricalCrossentropy", "cosine": "CosineSimilarity"}


def make_loss(spec: dict):
    """The glassnet loss for a {"kind": "cce", "from_logits": True, ...} spec."""
    args = {k: v for k, v in spec.items() if k != "kind"}
    return getattr(gn.losses, LOSS_CLASSES[spec["kind"]])(**args)


def make_optimizer(spec: dict):
    """The glassnet optimizer for {"kind": "Adam", "learning_rate": 0.1 or a schedule, ...}."""
    args = {k: v for k, v in spec.items() if k != "kind"}
    rate = args.get("learning_rate")
    if isinstance(rate, dict):
        schedule_args = {k: v for k, v in rate.items() if k != "kind"}
        args["learning_rate"] = getattr(gn.schedules, rate["kind"])(**schedule_args)
    return getattr(gn.optimizers, spec["kind"])(**args)

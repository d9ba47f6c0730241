"""Activation functions as ONNX nodes, each written as glassnet computes it.

`apply(graph, activation, x)` adds the nodes of y = f(x) and returns y's name. Most
functions are one ONNX operator (Relu, Sigmoid, Tanh, LeakyRelu, Elu, Selu, Softplus,
Softmax); the others are short compositions of the formulas in glassnet.activations:

    relu (leak, cap, threshold)  y = x·[x > t], clipped to [0, max], minus slope·max(t - x, 0)
    gelu                         y = x · ½(1 + erf(x / √2))        (approximate: x·σ(2u))
    silu                         y = x · σ(x)

An activation class glassnet lacks a rule for (a user's own) is refused by name: the
exported model would otherwise compute something else.
"""

from __future__ import annotations

import math

from glassnet import activations

_SQRT_HALF = math.sqrt(0.5)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715
_GELU_TANH_CLIP = 30.0     # as glassnet: beyond it the tanh approximation is saturated


def _linear(graph, activation, x):
    return x


def _relu(graph, activation, x):
    slope, cap, threshold = activation.negative_slope, activation.max_value, activation.threshold
    if slope == 0.0 and cap is None and threshold == 0.0:
        return graph.op("Relu", [x])
    t = graph.scalar(threshold, "threshold")
    y = graph.op("Mul", [x, graph.cast_float(graph.op("Greater", [x, t]))])   # x above t, else 0
    if cap is not None:
        y = graph.op("Clip", [y, graph.scalar(0.0, "zero"), graph.scalar(cap, "max_value")])
    if slope != 0.0:
        below = graph.op("Max", [graph.op("Sub", [t, x]), graph.scalar(0.0, "zero")])
        y = graph.op("Sub", [y, graph.op("Mul", [graph.scalar(slope, "slope"), below])])
    return y


def _leaky_relu(graph, activation, x):
    return graph.op("LeakyRelu", [x], alpha=float(activation.negative_slope))


def _elu(graph, activation, x):
    return graph.op("Elu", [x], alpha=float(activation.alpha))


def _selu(graph, activation, x):
    return graph.op("Selu", [x], alpha=1.6732632423543772848170429916717,
                    gamma=1.0507009873554804934193349852946)


def _gelu(graph, activation, x):
    if activation.approximate:
        # x · σ(2u), u = √(2/π)(x + 0.044715 x³): glassnet's form of ½(1 + tanh u)
        xc = graph.op("Clip", [x, graph.scalar(-_GELU_TANH_CLIP, "low"),
                               graph.scalar(_GELU_TANH_CLIP, "high")])
        cube = graph.op("Mul", [graph.op("Mul", [xc, xc]), xc])
        inner = graph.op("Add", [xc, graph.op("Mul", [graph.scalar(_GELU_CUBIC, "cubic"), cube])])
        gate = graph.op("Sigmoid", [graph.op("Mul", [graph.scalar(2.0 * _SQRT_2_OVER_PI, "k"),
                                                     inner])])
        return graph.op("Mul", [x, gate])
    erf = graph.op("Erf", [graph.op("Mul", [x, graph.scalar(_SQRT_HALF, "sqrt_half")])])
    cdf = graph.op("Mul", [graph.op("Add", [erf, graph.scalar(1.0, "one")]),
                           graph.scalar(0.5, "half")])
    return graph.op("Mul", [x, cdf])


def _softplus(graph, activation, x):
    return graph.op("Softplus", [x])


def _softmax(graph, activation, x):
    return graph.op("Softmax", [x], axis=int(activation.axis))


def _silu(graph, activation, x):
    return graph.op("Mul", [x, graph.op("Sigmoid", [x])])


def _sigmoid(graph, activation, x):
    return graph.op("Sigmoid", [x])


def _tanh(graph, activation, x):
    return graph.op("Tanh", [x])


RULES = {
    activations.Linear: _linear,
    activations.Sigmoid: _sigmoid,
    activations.Tanh: _tanh,
    activations.ReLU: _relu,
    activations.LeakyReLU: _leaky_relu,
    activations.ELU: _elu,
    activations.SELU: _selu,
    activations.GELU: _gelu,
    activations.Softplus: _softplus,
    activations.Softmax: _softmax,
    activations.SiLU: _silu,
}


def apply(graph, activation, x: str) -> str:
    """The name of f(x) for the ActivationFunction `activation` (x itself for linear)."""
    rule = RULES.get(type(activation))
    if rule is None:
        names = ", ".join(sorted(cls.name for cls in RULES))
        raise NotImplementedError(f"ONNX export: activation {type(activation).__name__} has no "
                                  f"ONNX rule; supported activations: {names}")
    return rule(graph, activation, x)

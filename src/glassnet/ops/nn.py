"""Neural-network ops (Keras' `ops.nn`): activations, softmax, one_hot, moments, crossentropies.

The forwards are `glassnet.activations`' plain functions (stable: no exp of a positive
number); the VJPs are written through the output where the derivative allows it:

    sigmoid:  dy * y (1 - y)          softmax:  y * (dy - Σ dy y)       relu:  dy * [y > 0]
"""

from __future__ import annotations

import math

import numpy as np

from glassnet import activations, numerics
from glassnet.autodiff import op
from glassnet.ops.arithmetic import divide, multiply, subtract
from glassnet.ops.dtypes import as_array, as_float
from glassnet.ops.elementwise import clip, log, negative, sqrt, square
from glassnet.ops.indexing import take_along_axis
from glassnet.ops.reductions import mean, sum, var
from glassnet.ops.shaping import reshape


@op("x")
def relu(x):
    """max(x, 0); gradient 0 at x = 0."""
    y = np.maximum(as_float(x), 0)
    return y, (y,)


@relu.vjp
def relu_vjp(dy, y):
    return dy * (y > 0)


@op("x")
def relu6(x):
    """min(max(x, 0), 6)."""
    x = as_float(x)
    return np.clip(x, 0, 6), (x,)


@relu6.vjp
def relu6_vjp(dy, x):
    return dy * ((x > 0) & (x < 6))


@op("x")
def leaky_relu(x, negative_slope=0.2):
    """x for x > 0, negative_slope * x otherwise."""
    x = as_float(x)
    return activations.leaky_relu(x, negative_slope), (x, negative_slope)


@leaky_relu.vjp
def leaky_relu_vjp(dy, x, negative_slope):
    return dy * np.where(x > 0, 1, negative_slope)


@op("x")
def elu(x, alpha=1.0):
    """x for x > 0, alpha (e^x - 1) otherwise."""
    x = as_float(x)
    y = activations.elu(x, alpha)
    return y, (x, y, alpha)


@elu.vjp
def elu_vjp(dy, x, y, alpha):
    return dy * np.where(x > 0, 1, y + alpha)


def selu(x):
    """scale * elu(x, alpha) with Klambauer et al.'s self-normalising constants."""
    return multiply(elu(x, 1.6732632423543772848170429916717), 1.0507009873554804934193349852946)


@op("x")
def sigmoid(x):
    """1 / (1 + e^-x), computed without overflow."""
    y = activations.sigmoid(as_float(x))
    return y, (y,)


@sigmoid.vjp
def sigmoid_vjp(dy, y):
    return dy * y * (1 - y)


@op("x")
def softplus(x):
    """log(1 + e^x), computed without overflow."""
    x = as_float(x)
    return activations.softplus(x), (x,)


@softplus.vjp
def softplus_vjp(dy, x):
    return dy * activations.sigmoid(x)


@op("x")
def log_sigmoid(x):
    """log sigmoid(x) = -softplus(-x)."""
    x = as_float(x)
    return -activations.softplus(-x), (x,)


@log_sigmoid.vjp
def log_sigmoid_vjp(dy, x):
    return dy * activations.sigmoid(-x)


@op("x")
def silu(x):
    """x sigmoid(x) (swish)."""
    x = as_float(x)
    s = activations.sigmoid(x)
    return x * s, (x, s)


@silu.vjp
def silu_vjp(dy, x, s):
    return dy * s * (1 + x * (1 - s))


swish = silu


@op("x")
def gelu(x, approximate=True):
    """x Phi(x), Phi the normal CDF; approximate=True (Keras' default) uses the tanh form."""
    x = as_float(x)
    return activations.gelu(x, approximate), (x, approximate)


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


@gelu.vjp
def gelu_vjp(dy, x, approximate):
    if approximate:                         # y = x g(u), g = sigmoid(2u), u = c (x + a x^3)
        u = _SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)
        g = activations.sigmoid(2 * u)
        du = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
        return dy * (g + x * 2 * g * (1 - g) * du)
    cdf = 0.5 * activations.erfc(-x / math.sqrt(2))
    pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    return dy * (cdf + x * pdf)


@op("x")
def softsign(x):
    """x / (1 + |x|)."""
    x = as_float(x)
    return x / (1 + np.abs(x)), (x,)


@softsign.vjp
def softsign_vjp(dy, x):
    return dy / (1 + np.abs(x)) ** 2


@op("x")
def hard_sigmoid(x):
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, linear between."""
    x = as_float(x)
    return np.clip(x / 6 + 0.5, 0, 1), (x,)


@hard_sigmoid.vjp
def hard_sigmoid_vjp(dy, x):
    return dy * ((x > -3) & (x < 3)) / 6


def hard_silu(x):
    """x hard_sigmoid(x)."""
    return multiply(x, hard_sigmoid(x))


hard_swish = hard_silu


@op("x")
def softmax(x, axis=-1):
    """exp(x) / Σ exp(x) along `axis`, computed with the max subtracted."""
    y = numerics.softmax(as_float(x), axis)
    return y, (y, axis)


@softmax.vjp
def softmax_vjp(dy, y, axis):
    return y * (dy - np.sum(dy * y, axis=axis, keepdims=True))


@op("x")
def log_softmax(x, axis=-1):
    """x - logsumexp(x) along `axis`."""
    y = numerics.log_softmax(as_float(x), axis)
    return y, (y, axis)


@log_softmax.vjp
def log_softmax_vjp(dy, y, axis):
    return dy - np.exp(y) * np.sum(dy, axis=axis, keepdims=True)


# ----- no gradient -------------------------------------------------------------------------
@op(differentiable=False)
def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """Integer labels x -> one-hot vectors along a new `axis` (a label outside
    [0, num_classes) gives a row of zeros, as Keras)."""
    labels = np.asarray(as_array(x)).astype(np.int64)
    hot = np.arange(num_classes) == labels[..., None]
    hot = hot.astype(dtype or "float32")
    return hot if axis == -1 else np.moveaxis(hot, -1, axis)


@op(differentiable=False)
def multi_hot(inputs, num_classes, axis=-1, dtype=None, sparse=False):
    """A row of 1 at each label of a sample (N, K) -> (N, num_classes)."""
    labels = np.asarray(as_array(inputs)).astype(np.int64)
    hot = (np.arange(num_classes) == labels[..., None]).any(axis=-2)
    hot = hot.astype(dtype or "float32")
    return hot if axis == -1 else np.moveaxis(hot, -1, axis)


# ----- composites ---------------------------------------------------------------------------
def moments(x, axes, keepdims=False, synchronized=False):
    """(mean, variance) of x over `axes`."""
    return mean(x, axis=axes, keepdims=keepdims), var(x, axis=axes, keepdims=keepdims)


def normalize(x, axis=-1, order=2, epsilon=None):
    """x / ||x|| along `axis` (order 2; the norm kept at least epsilon)."""
    if order != 2:
        raise NotImplementedError("normalize: only order=2 is supported")
    epsilon = 1e-12 if epsilon is None else epsilon
    norm = sqrt(sum(square(x), axis=axis, keepdims=True))
    return divide(x, clip(norm, epsilon, np.inf))


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """(x - mean) / sqrt(variance + epsilon) * scale + offset, the statistics along `axis`."""
    shape = [1] * np.ndim(x)
    shape[axis] = -1

    def along(v):
        return reshape(v, shape)

    y = divide(subtract(x, along(mean)), sqrt(along(variance) + epsilon))
    if scale is not None:
        y = multiply(y, along(scale))
    if offset is not None:
        y = y + along(offset)
    return y


def binary_crossentropy(target, output, from_logits=False):
    """-(t log p + (1 - t) log(1 - p)) per entry (p clipped to [eps, 1 - eps])."""
    if from_logits:                        # log p = log_sigmoid(z), log(1 - p) = log_sigmoid(-z)
        return negative(multiply(target, log_sigmoid(output))
                        + multiply(subtract(1, target), log_sigmoid(negative(output))))
    eps = 1e-7
    p = clip(output, eps, 1 - eps)
    return negative(multiply(target, log(p)) + multiply(subtract(1, target), log(1 - p)))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """-Σ t log p over `axis` (p = output / Σ output, clipped; or log_softmax of logits)."""
    if from_logits:
        return negative(sum(multiply(target, log_softmax(output, axis=axis)), axis=axis))
    eps = 1e-7
    p = divide(output, sum(output, axis=axis, keepdims=True))
    return negative(sum(multiply(target, log(clip(p, eps, 1 - eps))), axis=axis))


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """-log p[target] along the last axis (integer labels)."""
    if axis != -1:
        raise NotImplementedError("sparse_categorical_crossentropy: only axis=-1")
    labels = np.asarray(getattr(target, "value", target)).astype(np.int64)
    if labels.ndim == np.ndim(output):
        labels = labels[..., 0]
    if from_logits:
        logp = log_softmax(output, axis=-1)
    else:
        eps = 1e-7
        p = divide(output, sum(output, axis=-1, keepdims=True))
        logp = log(clip(p, eps, 1 - eps))
    return negative(take_along_axis(logp, labels[..., None], axis=-1)[..., 0])


__all__ = ["batch_normalization", "binary_crossentropy", "categorical_crossentropy", "elu",
           "gelu", "hard_sigmoid", "hard_silu", "hard_swish", "leaky_relu",
           "log_sigmoid", "log_softmax", "moments", "multi_hot", "normalize", "one_hot",
           "relu", "relu6", "selu", "sigmoid", "silu", "softmax", "softplus", "softsign",
           "sparse_categorical_crossentropy", "swish"]

"""ops.conv, depthwise_conv, conv_transpose, max_pool and average_pool against PyTorch's
functional versions (values and gradients, float64), and the built-in Conv2D layer."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet import autodiff, layers, ops


def _nchw(torch, x):
    return torch.tensor(np.moveaxis(x, -1, 1), requires_grad=True)


def _compare(torch, ours, theirs, inputs, torch_inputs):
    """Values and input gradients for L = Σ w * output, w random."""
    with autodiff.trace() as tape:
        leaves = [tape.watch(a) for a in inputs]
        y = ours(*leaves)
    w = np.random.default_rng(0).standard_normal(y.shape)
    tape.backward([(y, w)])
    out = theirs(*torch_inputs)
    expected = np.moveaxis(out.detach().numpy(), 1, -1)
    np.testing.assert_allclose(y.value, expected, rtol=1e-10, atol=1e-12)
    (out * torch.tensor(np.moveaxis(w, -1, 1))).sum().backward()
    return leaves


@pytest.mark.parametrize("strides, padding, dilation", [(1, "valid", 1), (2, "same", 1),
                                                         (1, "same", 2), (2, "valid", 1)])
def test_conv_matches_torch(torch, strides, padding, dilation):
    rng = np.random.default_rng(1)
    x, kernel = rng.standard_normal((2, 7, 6, 3)), rng.standard_normal((3, 3, 3, 4))
    tx = _nchw(torch, x)
    tk = torch.tensor(np.transpose(kernel, (3, 2, 0, 1)), requires_grad=True)

    def theirs(tx, tk):
        if padding == "same":                  # TensorFlow's split: the odd pixel after
            geometry = [(max((-(-n // strides) - 1) * strides + (3 - 1) * dilation + 1 - n, 0))
                        for n in x.shape[1:3]]
            pad = (geometry[1] // 2, geometry[1] - geometry[1] // 2,
                   geometry[0] // 2, geometry[0] - geometry[0] // 2)
            tx = torch.nn.functional.pad(tx, pad)
        return torch.nn.functional.conv2d(tx, tk, stride=strides, dilation=dilation)

    leaves = _compare(torch, lambda a, k: ops.conv(a, k, strides, padding,
                                                   dilation_rate=dilation),
                      theirs, [x, kernel], [tx, tk])
    np.testing.assert_allclose(leaves[0].grad, np.moveaxis(tx.grad.numpy(), 1, -1), rtol=1e-10)
    np.testing.assert_allclose(leaves[1].grad, np.transpose(tk.grad.numpy(), (2, 3, 1, 0)),
                               rtol=1e-10)


def test_depthwise_conv_matches_torch_grouped_conv(torch):
    rng = np.random.default_rng(2)
    x, kernel = rng.standard_normal((2, 5, 5, 3)), rng.standard_normal((3, 3, 3, 2))
    tx = _nchw(torch, x)
    # torch's grouped weight (C*M, 1, kh, kw), channel c's M filters side by side
    tk = torch.tensor(np.transpose(kernel, (2, 3, 0, 1)).reshape(6, 1, 3, 3), requires_grad=True)
    leaves = _compare(torch, ops.depthwise_conv,
                      lambda a, k: torch.nn.functional.conv2d(a, k, groups=3),
                      [x, kernel], [tx, tk])
    np.testing.assert_allclose(leaves[0].grad, np.moveaxis(tx.grad.numpy(), 1, -1), rtol=1e-10)


def test_conv_transpose_matches_torch(torch):
    rng = np.random.default_rng(3)
    x, kernel = rng.standard_normal((2, 3, 4, 2)), rng.standard_normal((3, 3, 5, 2))
    tx = _nchw(torch, x)
    tk = torch.tensor(np.transpose(kernel, (3, 2, 0, 1)), requires_grad=True)   # (in, out, k)
    leaves = _compare(torch, lambda a, k: ops.conv_transpose(a, k, strides=2),
                      lambda a, k: torch.nn.functional.conv_transpose2d(a, k, stride=2),
                      [x, kernel], [tx, tk])
    np.testing.assert_allclose(leaves[0].grad, np.moveaxis(tx.grad.numpy(), 1, -1), rtol=1e-10)
    np.testing.assert_allclose(leaves[1].grad, np.transpose(tk.grad.numpy(), (2, 3, 1, 0)),
                               rtol=1e-10)


@pytest.mark.parametrize("kind", ["max", "average"])
def test_pooling_matches_torch(torch, kind):
    x = np.random.default_rng(4).standard_normal((2, 6, 6, 3))
    tx = _nchw(torch, x)
    ours = ops.max_pool if kind == "max" else ops.average_pool
    theirs = torch.nn.functional.max_pool2d if kind == "max" else torch.nn.functional.avg_pool2d
    leaves = _compare(torch, lambda a: ours(a, 3, strides=2), lambda a: theirs(a, 3, 2),
                      [x], [tx])
    np.testing.assert_allclose(leaves[0].grad, np.moveaxis(tx.grad.numpy(), 1, -1), rtol=1e-10)


def test_same_average_pooling_leaves_the_padding_out_of_the_mean():
    x = np.ones((1, 3, 3, 1))
    np.testing.assert_allclose(ops.average_pool(x, 2, strides=1, padding="same"), 1.0)


def test_conv_agrees_with_the_conv2d_layer():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 8, 8, 3)).astype("float32")
    layer = layers.Conv2D(4, 3, strides=2, padding="same")
    y = layer(x)
    np.testing.assert_allclose(ops.conv(x, layer.W.value, 2, "same") + layer.b.value, y,
                               rtol=1e-5, atol=1e-5)

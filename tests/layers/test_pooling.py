"""Max / average / global pooling: gradient checks, PyTorch references, ties, shapes, config."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet import registry
from glassnet.gradcheck import check_layer
from glassnet.layers import _windows
from glassnet.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPooling1D,
    MaxPooling2D,
)

TOLERANCE = {"rtol": 1e-10, "atol": 1e-12}

# (layer class, input shape, pool_size, strides, padding, pads by hand per spatial axis).
# 'same' pads follow TensorFlow: total = max((ceil(n/s) - 1)·s + k - n, 0), extra at the end.
WINDOWED_CASES = [
    (MaxPooling2D, (2, 6, 6, 3), (2, 2), None, "valid", ((0, 0), (0, 0))),
    (MaxPooling2D, (2, 7, 9, 2), (3, 2), (2, 1), "valid", ((0, 0), (0, 0))),   # overlapping
    (MaxPooling2D, (2, 7, 6, 2), (3, 2), (2, 3), "same", ((1, 1), (0, 0))),    # out 4 and 2
    (MaxPooling2D, (2, 5, 8, 2), (2, 2), (1, 2), "same", ((0, 1), (0, 0))),    # even pool
    (AveragePooling2D, (2, 6, 6, 3), (2, 2), None, "valid", ((0, 0), (0, 0))),
    (AveragePooling2D, (2, 7, 9, 2), (3, 2), (2, 1), "valid", ((0, 0), (0, 0))),
    (AveragePooling2D, (2, 7, 6, 2), (3, 3), (2, 2), "same", ((1, 1), (0, 1))),  # W: out 3, 1
    (AveragePooling2D, (2, 5, 8, 2), (2, 3), (1, 1), "same", ((0, 1), (1, 1))),
    (MaxPooling1D, (2, 9, 3), 3, 2, "valid", ((0, 0),)),
    (MaxPooling1D, (2, 8, 3), 3, 3, "same", ((0, 1),)),                        # out 3: 6+3-8
    (AveragePooling1D, (2, 9, 3), 2, None, "valid", ((0, 0),)),
    (AveragePooling1D, (2, 8, 3), 4, 3, "same", ((1, 1),)),                    # out 3: 6+4-8
]


def _make(case):
    cls, shape, pool_size, strides, padding, _ = case
    return cls(pool_size=pool_size, strides=strides, padding=padding), shape


@pytest.mark.parametrize("case", WINDOWED_CASES)
def test_windowed_pooling_gradients(case, rng):
    layer, shape = _make(case)
    report = check_layer(layer, rng.standard_normal(shape))
    assert report.passed, str(report)


def _torch_pool(torch, layer, tx, pads):
    """PyTorch pooling of channels-first tx, padded explicitly (asymmetric pads allowed).

    Max: -inf padding. Average: the window sum of the zero-padded input divided by the window
    sum of a zero-padded indicator of the input, so padded cells are not counted.
    """
    functional = torch.nn.functional
    rank = tx.ndim - 2
    pool = {1: (functional.max_pool1d, functional.avg_pool1d),
            2: (functional.max_pool2d, functional.avg_pool2d)}[rank]
    flat_pads = [p for pair in reversed(pads) for p in pair]   # F.pad: last axis first
    args = {"kernel_size": layer.pool_size, "stride": layer.strides}
    if isinstance(layer, (MaxPooling1D, MaxPooling2D)):
        return pool[0](functional.pad(tx, flat_pads, value=-np.inf), **args)
    ones = torch.ones_like(tx)
    return (pool[1](functional.pad(tx, flat_pads), **args)
            / pool[1](functional.pad(ones, flat_pads), **args))


@pytest.mark.parametrize("case", WINDOWED_CASES)
def test_windowed_pooling_matches_torch(case, torch, rng):
    layer, shape = _make(case)
    x = rng.standard_normal(shape)
    y = layer(x)
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    rank = x.ndim - 2
    first, last = (0, rank + 1, *range(1, rank + 1)), (0, *range(2, rank + 2), 1)
    tx = torch.tensor(x.transpose(first), requires_grad=True)
    ty = _torch_pool(torch, layer, tx, case[-1])
    ty.backward(torch.tensor(dy.transpose(first)))
    np.testing.assert_allclose(y, ty.detach().numpy().transpose(last), **TOLERANCE)
    np.testing.assert_allclose(dx, tx.grad.numpy().transpose(last), **TOLERANCE)


@pytest.mark.parametrize("case", WINDOWED_CASES[:4] + WINDOWED_CASES[8:10])
def test_max_pooling_training_and_inference_forward_agree(case, rng):
    # training records the argmax in forward; inference skips it (keeps only the input) and
    # a backward after it finds the maxima again: the same y and dx either way
    layer, shape = _make(case)
    x = rng.standard_normal(shape)
    x[x < 0] = 0                                    # ReLU-like input: many tied windows
    dy = rng.standard_normal(layer.compute_output_shape(shape))
    results = []
    for training in (True, False):
        y = layer.forward(x, training=training)
        assert (layer._argmax is None) == (not training)
        results.append((y, layer.backward(dy)))
    for trained, inferred in zip(*results):
        np.testing.assert_array_equal(trained, inferred)


def test_same_average_pooling_excludes_padding():
    # 3x3 'same' average of ones is 1 everywhere, corners included: padding is not counted
    y = AveragePooling2D(3, strides=1, padding="same")(np.ones((1, 4, 5, 2)))
    np.testing.assert_allclose(y, np.ones((1, 4, 5, 2)))


def test_max_pooling_ties_route_to_the_first_maximum(torch):
    # constant windows: every cell ties; the gradient goes to the top-left cell only
    layer = MaxPooling2D((2, 2))
    x = np.zeros((1, 4, 4, 1))
    layer(x)
    dx = layer.backward(np.arange(1.0, 5.0).reshape(1, 2, 2, 1))
    expected = np.zeros((4, 4))
    expected[0::2, 0::2] = [[1, 2], [3, 4]]
    np.testing.assert_array_equal(dx[0, :, :, 0], expected)
    tx = torch.zeros((1, 1, 4, 4), dtype=torch.float64, requires_grad=True)
    torch.nn.functional.max_pool2d(tx, 2).backward(
        torch.arange(1.0, 5.0, dtype=torch.float64).reshape(1, 1, 2, 2))
    np.testing.assert_array_equal(dx[0, :, :, 0], tx.grad.numpy()[0, 0])


@pytest.mark.parametrize("pool,strides", [(2, 2), (3, 2), (3, 1), ((2, 3), (1, 2))])
def test_max_pooling_with_many_ties_matches_pytorch(pool, strides, torch, rng):
    # small integers: most windows hold their maximum twice or more, anywhere in the window;
    # overlapping windows share cells. dx must be PyTorch's exactly (first maximum only).
    layer = MaxPooling2D(pool, strides=strides)
    x = rng.integers(0, 3, size=(2, 7, 8, 3)).astype(np.float64)
    y = layer.forward(x, training=True)
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    tx = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    ty = torch.nn.functional.max_pool2d(tx, layer.pool_size, layer.strides)
    ty.backward(torch.tensor(dy.transpose(0, 3, 1, 2)))
    np.testing.assert_array_equal(y, ty.detach().numpy().transpose(0, 2, 3, 1))
    np.testing.assert_allclose(dx, tx.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-12, atol=0)


@pytest.mark.parametrize("cls,shape,padding", [
    (MaxPooling2D, (2, 6, 8, 3), "valid"), (MaxPooling2D, (2, 7, 9, 3), "valid"),
    (MaxPooling2D, (2, 7, 5, 2), "same"), (MaxPooling1D, (2, 9, 3), "valid"),
    (MaxPooling1D, (2, 9, 3), "same"),
])
def test_pairwise_max_pooling_matches_the_running_max(cls, shape, padding, rng):
    # pool 2, stride 2 in inference takes the max pairwise, one axis at a time; the running
    # max over the window cells (training's, with the argmax) must give exactly the same y,
    # odd sizes (a row no window reads) and -inf 'same' padding included
    layer = cls(2, padding=padding)
    assert layer._pairwise
    x = rng.standard_normal(shape)
    y_training = layer.forward(x, training=True)
    np.testing.assert_array_equal(layer.forward(x, training=False), y_training)


@pytest.mark.parametrize("cls,shape,padding", [
    (MaxPooling2D, (3, 26, 26, 8), "valid"), (MaxPooling2D, (2, 11, 11, 16), "valid"),
    (MaxPooling2D, (2, 7, 4, 3), "valid"), (MaxPooling2D, (2, 7, 5, 2), "same"),
    (MaxPooling1D, (2, 9, 3), "valid"), (MaxPooling1D, (2, 9, 3), "same"),
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("ties", [False, True])
def test_pairwise_argmax_matches_the_running_max(cls, shape, padding, dtype, ties, rng):
    # training's pool 2, stride 2 copies the window cells out and finds max and argmax in a
    # knockout; it must give the running max's y and argmax bit for bit (ties: small
    # integers, most windows hold their maximum twice or more), and so the same dx
    layer = cls(2, padding=padding)
    x = (rng.integers(0, 3, size=shape) if ties else rng.standard_normal(shape)).astype(dtype)
    y = layer.forward(x, training=True)
    argmax = layer._argmax
    x_pad = _windows.pad(x, layer._geometry[1], value=-np.inf)
    y_running, argmax_running = layer._running_max(x_pad, layer._geometry[2], with_argmax=True)
    np.testing.assert_array_equal(y, y_running)
    assert y.dtype == y_running.dtype and argmax.dtype == argmax_running.dtype
    np.testing.assert_array_equal(argmax, argmax_running)
    if ties:
        assert len(np.unique(argmax)) == 2 ** layer.rank     # every cell wins somewhere
    dx = layer.backward(np.ones_like(y))
    assert dx.sum() == y.size                       # each window routes its 1 to one cell
    if padding == "valid" and shape[1] % 2:
        assert not dx[:, -1].any()                  # the row no window reads gets 0


GLOBAL_CASES = [
    (GlobalAveragePooling2D, (2, 5, 4, 3)), (GlobalMaxPooling2D, (2, 5, 4, 3)),
    (GlobalAveragePooling1D, (2, 7, 3)), (GlobalMaxPooling1D, (2, 7, 3)),
]


@pytest.mark.parametrize("cls, shape", GLOBAL_CASES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling_gradients(cls, shape, keepdims, rng):
    report = check_layer(cls(keepdims=keepdims), rng.standard_normal(shape))
    assert report.passed, str(report)


@pytest.mark.parametrize("cls, shape", GLOBAL_CASES)
def test_global_pooling_matches_torch_adaptive_pools(cls, shape, torch, rng):
    functional = torch.nn.functional
    rank = len(shape) - 2
    adaptive = {
        (GlobalAveragePooling2D, 2): functional.adaptive_avg_pool2d,
        (GlobalMaxPooling2D, 2): functional.adaptive_max_pool2d,
        (GlobalAveragePooling1D, 1): functional.adaptive_avg_pool1d,
        (GlobalMaxPooling1D, 1): functional.adaptive_max_pool1d,
    }[(cls, rank)]
    layer = cls(keepdims=True)
    x = rng.standard_normal(shape)
    y = layer(x)
    assert y.shape == (shape[0],) + (1,) * rank + (shape[-1],)
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    first, last = (0, rank + 1, *range(1, rank + 1)), (0, *range(2, rank + 2), 1)
    tx = torch.tensor(x.transpose(first), requires_grad=True)
    ty = adaptive(tx, 1)
    ty.backward(torch.tensor(dy.transpose(first)))
    np.testing.assert_allclose(y, ty.detach().numpy().transpose(last), **TOLERANCE)
    np.testing.assert_allclose(dx, tx.grad.numpy().transpose(last), **TOLERANCE)
    flat = cls()(x)
    assert flat.shape == (shape[0], shape[-1])


def test_global_max_ties_route_to_the_first_maximum():
    layer = GlobalMaxPooling2D()
    layer(np.ones((1, 2, 3, 1)))
    dx = layer.backward(np.array([[5.0]]))
    np.testing.assert_array_equal(dx[0, :, :, 0], [[5, 0, 0], [0, 0, 0]])


@pytest.mark.parametrize("layer", [
    MaxPooling2D((3, 2), strides=(2, 1), padding="same"), AveragePooling2D(),
    MaxPooling1D(3), AveragePooling1D(2, padding="same"), GlobalMaxPooling2D(keepdims=True),
    GlobalAveragePooling1D(),
])
def test_float32_stays_float32(layer, rng):
    shape = (2, 7, 6, 3) if layer.rank == 2 else (2, 7, 3)
    y = layer(rng.standard_normal(shape).astype(np.float32))
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32


@pytest.mark.parametrize("layer, input_shape, expected", [
    (MaxPooling2D(), (None, 26, 26, 8), (None, 13, 13, 8)),
    (MaxPooling2D(), (None, 11, 11, 16), (None, 5, 5, 16)),
    (MaxPooling2D(3, strides=2, padding="same"), (None, 7, 8, 3), (None, 4, 4, 3)),
    (AveragePooling2D((2, 3), strides=1), (None, 5, None, 3), (None, 4, None, 3)),
    (MaxPooling1D(), (None, 9, 4), (None, 4, 4)),
    (AveragePooling1D(3, strides=2, padding="same"), (8, 9, 4), (8, 5, 4)),
    (GlobalMaxPooling2D(), (None, 5, 5, 7), (None, 7)),
    (GlobalAveragePooling2D(keepdims=True), (None, 5, 5, 7), (None, 1, 1, 7)),
    (GlobalAveragePooling1D(keepdims=True), (None, None, 7), (None, 1, 7)),
])
def test_output_shapes(layer, input_shape, expected):
    assert layer.compute_output_shape(input_shape) == expected


def test_keras_defaults_and_config_round_trip():
    pool = MaxPooling2D()
    assert (pool.pool_size, pool.strides, pool.padding) == ((2, 2), (2, 2), "valid")
    assert MaxPooling1D().pool_size == (2,) and AveragePooling1D(3).strides == (3,)
    for layer in (MaxPooling2D((3, 2), strides=1, padding="SAME"), AveragePooling1D(4, 2),
                  GlobalMaxPooling1D(keepdims=True), GlobalAveragePooling2D()):
        config = layer.get_config()
        clone = registry.lookup("layer", type(layer).__name__).from_config(config)
        assert clone.get_config() == config


def test_invalid_arguments_and_inputs():
    with pytest.raises(ValueError, match="pool_size"):
        MaxPooling2D(0)
    with pytest.raises(ValueError, match="strides"):
        AveragePooling2D(2, strides=(1, 2, 3))
    with pytest.raises(ValueError, match="padding"):
        MaxPooling2D(padding="causal")
    with pytest.raises(ValueError, match="channels_last"):
        GlobalAveragePooling2D(data_format="channels_first")
    with pytest.raises(ValueError, match=r"'pool_a'.*rank 4.*\(None, 6, 3\)"):
        MaxPooling2D(name="pool_a")(np.zeros((2, 6, 3)))
    with pytest.raises(ValueError, match=r"rank 3.*\(2, 6, 6, 3\)"):
        GlobalMaxPooling1D().forward(np.zeros((2, 6, 6, 3)))
    with pytest.raises(ValueError, match="smaller than the window"):
        MaxPooling2D(3)(np.zeros((1, 2, 5, 1)))

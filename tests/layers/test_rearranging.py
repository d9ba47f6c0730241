"""RepeatVector, UpSampling1D and Permute: PyTorch references (expand, nearest
interpolation, permute) for the output and the gradient; shapes; arguments as Keras."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet.gradcheck import check_layer
from glassnet.layers import Permute, RepeatVector, UpSampling1D

TOLERANCE = {"rtol": 1e-12, "atol": 1e-14}


def _compare(torch, layer, x, reference, rng):
    """layer vs `reference(tx)` (a torch function on the same array) on y and dL/dx."""
    y = layer(x)
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    tx = torch.tensor(x, requires_grad=True)
    ty = reference(tx)
    ty.backward(torch.tensor(dy))
    np.testing.assert_allclose(y, ty.detach().numpy(), **TOLERANCE)
    np.testing.assert_allclose(dx, tx.grad.numpy(), **TOLERANCE)
    assert layer.compute_output_shape((None,) + x.shape[1:]) == (None,) + y.shape[1:]
    report = check_layer(layer, x)
    assert report.passed, str(report)


@pytest.mark.parametrize("n", [1, 3])
def test_repeat_vector_matches_torch(n, torch, rng):
    _compare(torch, RepeatVector(n), rng.standard_normal((4, 5)),
             lambda tx: tx.unsqueeze(1).expand(-1, n, -1), rng)


@pytest.mark.parametrize("size", [1, 2, 3])
def test_up_sampling1d_matches_torch_nearest(size, torch, rng):
    def reference(tx):                    # (N, T, C) -> (N, C, T), nearest, back
        up = torch.nn.functional.interpolate(tx.transpose(1, 2), scale_factor=size,
                                             mode="nearest")
        return up.transpose(1, 2)

    _compare(torch, UpSampling1D(size), rng.standard_normal((2, 4, 3)), reference, rng)


@pytest.mark.parametrize("dims, shape", [((2, 1), (2, 3, 4)), ((3, 1, 2), (2, 3, 4, 5)),
                                         ((1, 2), (2, 3, 4))])
def test_permute_matches_torch(dims, shape, torch, rng):
    _compare(torch, Permute(dims), rng.standard_normal(shape),
             lambda tx: tx.permute(0, *dims), rng)


def test_shapes_with_open_axes():
    assert UpSampling1D(2).compute_output_shape((None, None, 3)) == (None, None, 3)
    assert Permute((2, 1)).compute_output_shape((None, None, 4)) == (None, 4, None)
    assert RepeatVector(3).compute_output_shape((None, 8)) == (None, 3, 8)


@pytest.mark.parametrize("make, error", [
    (lambda: RepeatVector(2.0), TypeError),
    (lambda: RepeatVector(0), ValueError),
    (lambda: UpSampling1D("2"), TypeError),
    (lambda: UpSampling1D(0), ValueError),
    (lambda: Permute((0, 1)), ValueError),
    (lambda: Permute((1, 1)), ValueError),
])
def test_bad_arguments(make, error):
    with pytest.raises(error):
        make()


def test_wrong_rank_is_refused(rng):
    with pytest.raises(ValueError, match="rank 2"):
        RepeatVector(2)(rng.standard_normal((2, 3, 4)))
    with pytest.raises(ValueError, match="rank 3"):
        Permute((2, 1))(rng.standard_normal((2, 3, 4, 5)))
    with pytest.raises(ValueError, match="rank 3"):
        UpSampling1D()(rng.standard_normal((2, 3)))


def test_configs_as_keras():
    assert RepeatVector(3).get_config()["n"] == 3
    assert UpSampling1D().get_config()["size"] == 2
    assert Permute([2, 1]).get_config()["dims"] == (2, 1)

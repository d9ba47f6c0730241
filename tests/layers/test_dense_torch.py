"""Dense with every activation against PyTorch 2.13 (nn.Linear + activation), float64.

Tolerance: rtol 1e-10, atol 1e-12 (float64 round-off; the formulas are the same).
"""

import numpy as np
import pytest

from glassnet import layers

TORCH_ACTIVATIONS = {
    "linear": lambda F, z: z,
    "sigmoid": lambda F, z: F.sigmoid(z),
    "tanh": lambda F, z: F.tanh(z),
    "relu": lambda F, z: F.relu(z),
    "leaky_relu": lambda F, z: F.leaky_relu(z, 0.2),   # Keras' function default slope
    "elu": lambda F, z: F.elu(z),
    "selu": lambda F, z: F.selu(z),
    "gelu": lambda F, z: F.gelu(z),                    # exact (erf) form, Keras' default
    "softplus": lambda F, z: F.softplus(z),
    "softmax": lambda F, z: F.softmax(z, dim=-1),
    "silu": lambda F, z: F.silu(z),
}


@pytest.mark.parametrize("activation", sorted(TORCH_ACTIVATIONS))
def test_dense_matches_torch_forward_and_backward(activation, torch, rng):
    F = torch.nn.functional
    x = rng.standard_normal((7, 5)) * 2
    dy = rng.standard_normal((7, 4))
    layer = layers.Dense(4, activation=activation, dtype="float64",
                         bias_initializer="random_normal")
    y = layer(x)
    dx = layer.backward(dy)
    kernel, bias = layer.get_weights()

    linear = torch.nn.Linear(5, 4).double()
    with torch.no_grad():                 # torch keeps W as (out, in): the transpose of Keras'
        linear.weight.copy_(torch.from_numpy(kernel.T))
        linear.bias.copy_(torch.from_numpy(bias))
    xt = torch.from_numpy(x).requires_grad_(True)
    yt = TORCH_ACTIVATIONS[activation](F, linear(xt))
    yt.backward(torch.from_numpy(dy))

    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.W.grad, linear.weight.grad.numpy().T, rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(layer.b.grad, linear.bias.grad.numpy(), rtol=1e-10, atol=1e-12)

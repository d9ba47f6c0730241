"""The Layer contract's doors: `apply`/`backpropagate` run the layer, hooks observe them,
`keep` keeps nothing under inference_only()."""

import numpy as np
import pytest

from glassnet import layers
from glassnet.layers.base import Layer, inference_only


def test_hooks_see_every_forward_and_backward_and_can_be_removed(rng):
    dense = layers.Dense(3, activation="tanh")
    x = rng.standard_normal((4, 5))
    dense.maybe_build(x.shape)      # apply runs a built layer (models build first)
    seen = []

    def hook(layer, phase, call):
        result = call()
        seen.append((layer.name, phase, np.shape(result)))
        return result

    remove = dense.add_hook(hook)
    y = dense.apply(x)
    dx = dense.backpropagate(np.ones_like(y))
    assert seen == [(dense.name, "forward", (4, 3)), (dense.name, "backward", (4, 5))]
    remove()
    dense.apply(x)
    assert len(seen) == 2
    np.testing.assert_array_equal(dx, dense.backward(np.ones_like(y)))


def test_later_hooks_run_inside_earlier_ones(rng):
    layer = layers.Flatten()
    order = []
    for name in ("outer", "inner"):
        def hook(layer, phase, call, name=name):
            order.append(f"{name} in")
            result = call()
            order.append(f"{name} out")
            return result
        layer.add_hook(hook)
    layer.apply(rng.standard_normal((2, 3, 4)))
    assert order == ["outer in", "inner in", "inner out", "outer out"]


def test_backpropagate_skips_the_input_gradient_only_where_the_layer_can():
    dense, flatten = layers.Dense(2), layers.Flatten()
    x = np.ones((3, 4), dtype="float32")
    dense.maybe_build(x.shape)
    dense.apply(x)
    flatten.apply(x)
    assert dense.backpropagate(np.ones((3, 2), "float32"), input_gradient=False) is None
    assert flatten.backpropagate(np.ones((3, 4), "float32"), input_gradient=False).shape == (3, 4)


def test_the_contract_defaults():
    layer = layers.Flatten()
    assert not layer.supports_masking and not layer.skips_input_gradient
    assert layer.compute_mask(np.ones((2, 3)), np.ones((2, 3), bool)) is None
    assert layer.activation is None and layer.sublayers() == []
    assert not layer.takes_preactivation_gradient
    assert layers.Dense(2).takes_preactivation_gradient
    with pytest.raises(NotImplementedError, match="no output activation"):
        layer.backward_preactivation(np.ones((2, 3)))
    with pytest.raises(NotImplementedError):
        Layer().backward(np.ones(2))


def test_keep_keeps_nothing_under_inference_only(rng):
    dense = layers.Dense(3, activation="relu")
    x = rng.standard_normal((4, 5)).astype("float32")
    dense(x)
    assert dense._x is x
    with inference_only():
        dense.apply(x)
    assert dense._x is None
    with pytest.raises(RuntimeError, match="inference_only"):
        dense.backward(np.ones((4, 3), "float32"))

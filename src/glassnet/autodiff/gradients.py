"""Gradients of a function written with ops, for tests and for code outside a layer.

    >>> from glassnet import autodiff, ops
    >>> value, (dx,) = autodiff.value_and_gradients(lambda x: ops.sum(ops.square(x)),
    ...                                             np.array([1.0, 2.0]))
    >>> value, dx
    (array(5.), array([2., 4.]))
"""

from __future__ import annotations

import numpy as np

from glassnet.autodiff.tape import trace
from glassnet.autodiff.tensor import Tensor


def value_and_gradients(function, *arrays, dy=None):
    """(function(*arrays), [dL/darray for each array]) with L = Σ dy * output.

    `dy` defaults to ones (the gradient of the sum of the output). An input no gradient
    reaches gets zeros; integer inputs get None.
    """
    with trace() as tape:
        leaves = [tape.watch(np.asarray(a)) for a in arrays]
        output = function(*leaves)
    if not isinstance(output, Tensor):
        raise TypeError(f"value_and_gradients: the function returned "
                        f"{type(output).__name__}, not a tensor computed with glassnet.ops")
    dy = np.ones_like(output.value) if dy is None else np.asarray(dy, output.value.dtype)
    tape.backward([(output, dy)])
    grads = [None if not leaf.requires_grad
             else (leaf.grad if leaf.grad is not None else np.zeros_like(leaf.value))
             for leaf in leaves]
    return output.value, grads

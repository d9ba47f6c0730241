"""A training step run for measurement only: the model's state saved, then put back.

The divergence re-run (`locate.py`) and the health report (`glassnet.inspection`) run a
step on a batch to look at it; afterwards the weights (non-trainable ones too, e.g. moving
statistics), gradients, optimizer state and random generators are as before, so calling them
between epochs does not change training. `layer_tree` walks every layer inside a model.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from glassnet.random import global_generator


def layer_tree(model) -> list:
    """Every layer inside `model` (nested models and wrapped layers too), each once,
    parents before children."""
    found, seen = [], set()

    def visit(layer):
        if id(layer) in seen:
            return
        seen.add(id(layer))
        found.append(layer)
        for child in layer.sublayers():
            visit(child)

    for layer in model.layers:
        visit(layer)
    return found


def is_leaf(layer) -> bool:
    """A layer with no layers inside (not a model, not a wrapper)."""
    return not layer.sublayers()


def parameter_owners(model) -> dict[int, Any]:
    """id(parameter) -> the innermost layer that holds it."""
    owners = {}
    for layer in layer_tree(model):       # parents first, so children overwrite them
        for param in layer.parameters():
            owners[id(param)] = layer
    return owners


@contextlib.contextmanager
def preserved_state(model) -> Iterator[None]:
    """Run a step for measurement only: afterwards the weights (non-trainable ones too, e.g.
    moving statistics), gradients, optimizer state and random generators are as before."""
    params = model.parameters()
    values = [p.value.copy() for p in params]
    grads = [p.grad.copy() for p in params]
    optimizer = model.optimizer
    optimizer_state = optimizer.get_state() if optimizer is not None else None
    states = [(g, g.bit_generator.state) for g in generators(model)]
    try:
        yield
    finally:
        for param, value, grad in zip(params, values, grads):
            param.value[...] = value
            param.grad[...] = grad
        if optimizer is not None:
            optimizer.set_state(optimizer_state, model.parameters(trainable_only=True))
        for generator, state in states:
            generator.bit_generator.state = state


def generators(model) -> list[np.random.Generator]:
    """The global generator and every generator a layer holds (Dropout's)."""
    found = [global_generator()]
    for layer in layer_tree(model):
        found += [value for value in vars(layer).values()
                  if isinstance(value, np.random.Generator)]
    return found

"""A chain of layers run in order: Sequential's forward and backward passes, and those of a
Functional model whose graph is a chain with fused groups (see `glassnet.models.fusion`).

A step is a layer or a fused group; both have the same doors (`apply`, `backpropagate`,
`last_call`, `compute_mask`, `parameters`).
"""

from __future__ import annotations

from glassnet.layers import calls


def forward_chain(steps, x, training: bool, mask):
    """Each step's output is the next one's input; the padding mask travels along (each step
    gives the next one's, `compute_mask`). Returns (y, each step's call number, the
    output's mask); the call numbers go back to `backward_chain`."""
    calls_made = []
    with calls.forward_pass():
        for step in steps:
            y = step.apply(x, training=training, mask=mask)
            calls_made.append(step.last_call)
            mask = step.compute_mask(x, mask)
            x = y
    return x, calls_made, mask


def backward_chain(steps, calls_made: list, dy, input_gradient: bool,
                   from_preactivation: bool):
    """dL/dy back through the steps in reverse; returns dL/dx.

    With input_gradient=False (training) the pass stops at the first step with trainable
    weights, which skips its dL/dx, and None is returned. A step whose input is not
    differentiable (Embedding's ids) returns None, which ends the pass."""
    last = len(steps) - 1
    first = 0 if input_gradient else next(
        (i for i, step in enumerate(steps) if step.parameters(trainable_only=True)), last)
    for i in range(last, first - 1, -1):
        dy = steps[i].backpropagate(dy, input_gradient=input_gradient or i != first,
                                     call=calls_made[i],
                                     preactivation=from_preactivation and i == last)
        if dy is None:
            break
    return dy if input_gradient else None

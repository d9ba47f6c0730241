"""One training step, all or nothing, and one evaluation step.

    loss, y_pred = compute_gradients(x, y)      # forward, loss, backward, penalties
    if not finite(loss, every W.grad):          # one dot a parameter (guard.py)
        put back what forward changed; raise DivergenceError naming where (locate.py)
    optimizer.apply(parameters)                 # only now do the weights move
    update the running loss and metrics

`Model.train_step` and `Model.test_step` call these; `fit` calls the model's methods, so a
subclass that overrides them changes what fit does, as in Keras.
"""

from __future__ import annotations

from typing import Any

from glassnet.training import gradients, guard, locate


def train_step(model, x, y, sample_weight) -> None:
    """One step, all or nothing: the update is applied only when the loss and every
    gradient are finite. Otherwise the weights (moving statistics too), the optimizer
    state and the metrics stay as before the step, and `DivergenceError` names the
    layer and operation where the first NaN/inf appeared."""
    params = model.parameters(trainable_only=True)
    moving = _non_trainable_copies(model)
    loss, y_pred = gradients.compute_gradients(model, x, y, sample_weight, True, params)
    if not guard.step_is_finite(loss, params):   # one dot a parameter
        _raise_divergence(model, x, y, sample_weight, loss, moving)
    model.optimizer.apply(params)
    model.update_metrics(loss, x, y, y_pred, sample_weight)


def test_step(model, x, y, sample_weight) -> None:
    """Loss and metrics of one batch in inference mode, added to the running metrics."""
    y_pred = model.forward(x, training=False)
    loss = gradients.compute_loss(model, x, y, y_pred, sample_weight, training=False)
    model.update_metrics(loss, x, y, y_pred, sample_weight)


def _non_trainable_copies(model) -> list[tuple[Any, Any]]:
    """Copies of the weights a forward pass may change (BatchNormalization's moving
    statistics), put back if the step fails. Usually a few small vectors, or none."""
    return [(p, p.value.copy()) for p in model.parameters() if not p.trainable]


def _raise_divergence(model, x, y, sample_weight, loss: float, moving) -> None:
    """The slow path, only after a non-finite loss or gradient: locate, restore, raise."""
    error = locate.divergence_error(model, x, y, sample_weight, loss=loss)
    for param, value in moving:
        param.value[...] = value
    raise error

"""The math of one training step: the loss, its gradient through the model, the penalties.

    y_pred = model.forward(x)
    L      = loss(y, y_pred) + Σ_W penalty(W)
    dL/dy_pred -> model.backward -> every W.grad;  W.grad += dpenalty/dW

Terms a call()-style layer adds with `add_loss` join L (their gradient, 1, is seeded by the
layer's own backward).

The output gradient takes a shortcut where one exists: softmax + (sparse) categorical
cross-entropy and sigmoid + binary cross-entropy have dL/dlogits = (p - y) / N, handed to the
output layer below its activation (`fused_activation`).
"""

from __future__ import annotations

from glassnet.autodiff import added_loss_scale
from glassnet.backend import namespace
from glassnet.layers.traced import added_losses, total_added_loss


def require_compiled(model, method: str) -> None:
    if not model.compiled:
        raise RuntimeError(f"{method}: call model.compile(optimizer=..., loss=...) first")


def require_added_losses(model) -> None:
    """A model compiled with loss=None must add its loss itself (add_loss)."""
    if not added_losses(model):
        raise ValueError("compile: no loss was given and the model adds none with add_loss; "
                         "compile with a loss, e.g. loss='mse' or "
                         "loss='categorical_crossentropy'")


def fused_activation(model, loss=None):
    """The output activation whose derivative the loss supplies fused, or None.

    Softmax + (sparse) categorical cross-entropy and sigmoid + binary cross-entropy have
    dL/dlogits = (p - y) / N: one subtraction, and no -y/p that overflows when p -> 0.
    `loss` defaults to the model's (diagnostics passes a watched stand-in).
    """
    loss = model.loss if loss is None else loss
    return fused_output_activation(loss, model.output_layer, model.output_shape)


def fused_output_activation(loss, layer, output_shape):
    """The activation of `layer` (making an output of shape `output_shape`) whose
    derivative `loss` supplies fused, or None (see `fused_activation`)."""
    fused_name = getattr(loss, "fused_activation", None)
    activation = None if layer is None else layer.activation
    if (fused_name is None or getattr(loss, "from_logits", False)
            or activation is None or not layer.takes_preactivation_gradient
            or getattr(activation, "name", None) != fused_name):
        return None
    # Only where it is exactly the unfused math: a softmax normalises over one axis, and
    # the cross-entropy must sum over that same axis (the last one, where both agree).
    rank = len(output_shape)
    if fused_name == "softmax" and not (
            _is_last_axis(getattr(activation, "axis", -1), rank)
            and _is_last_axis(getattr(loss, "axis", -1), rank)):
        return None
    return activation


def _is_last_axis(axis, rank: int) -> bool:
    return isinstance(axis, int) and axis in (-1, rank - 1)


def add_penalties(params) -> float:
    """Add each regularizer's penalty gradient to its weight's grad; return the penalty."""
    penalty = 0.0
    for param in params:
        if param.regularizer is not None:
            penalty += float(param.regularizer(param.value))
            param.grad += param.regularizer.gradient(param.value)
    return penalty


def penalty(model) -> float:
    """Σ of the regularizers' penalties over the model's trainable weights."""
    return sum(float(p.regularizer(p.value)) for p in model.parameters(trainable_only=True)
               if p.regularizer is not None)


def backpropagate_loss(model, x, y, sample_weight, training: bool, params, loss=None,
                       gradient_scale=None):
    """Zero the grads of `params`, run forward, the loss and backward; (loss, y_pred).

    The loss is without the penalties (see `add_penalties`), with the `add_loss` terms.
    `loss` defaults to the model's. `gradient_scale(y_pred)`, if given, is called between
    forward and backward and returns a factor for dL/dy_pred and for the `add_loss` terms'
    gradients (data parallelism: this rank's share of the global batch).
    """
    loss = model.loss if loss is None else loss
    for param in params:
        param.zero_grad()
    y_pred = model.forward(x, training=training)
    factor = 1.0 if gradient_scale is None else gradient_scale(y_pred)
    with added_loss_scale(factor):
        outputs = model.compiled_outputs
        if outputs is not None:         # several outputs: a loss (or none) for each
            return outputs.backpropagate(model, y, y_pred, sample_weight, factor), y_pred
        if loss is None:                # compiled without one: the add_loss terms alone
            require_added_losses(model)
            model.backward(namespace(y_pred).zeros_like(y_pred), input_gradient=False)
            return total_added_loss(model), y_pred
        return _backpropagate_data_loss(model, loss, x, y, y_pred, sample_weight, factor)


def _backpropagate_data_loss(model, loss, x, y, y_pred, sample_weight, factor: float):
    masked = mask_argument(model)
    fused = fused_activation(model, loss)
    if fused is not None:
        value, dz = loss.fused_value_and_gradient(y, fused.logits, y_pred, sample_weight,
                                                  **masked)
        if factor != 1.0:
            dz *= dz.dtype.type(factor)
        model.backward(dz, from_preactivation=True, input_gradient=False)
    else:
        value = loss(y, y_pred, sample_weight=sample_weight, **masked)
        dy = loss.gradient(y, y_pred, sample_weight=sample_weight, **masked)
        if factor != 1.0:
            dy *= dy.dtype.type(factor)
        model.backward(dy, input_gradient=False)
    return float(value) + total_added_loss(model), y_pred


def mask_argument(model) -> dict:
    """{"mask": the output's padding mask} when the last forward gave one (Keras applies
    it to the loss and the metrics: padded steps do not count), else {}."""
    mask = model.output_mask
    return {} if mask is None else {"mask": mask}


def compute_gradients(model, x, y, sample_weight=None, training: bool = True, params=None):
    """(regularized loss, y_pred) of one batch; every trainable `param.grad` holds dL/dW."""
    params = model.parameters(trainable_only=True) if params is None else params
    value, y_pred = backpropagate_loss(model, x, y, sample_weight, training, params)
    return value + add_penalties(params), y_pred


def compute_loss(model, x=None, y=None, y_pred=None, sample_weight=None,
                 training: bool = True) -> float:
    """Loss of `y_pred` (computed from x if not given) plus the regularization penalties."""
    require_compiled(model, "compute_loss")
    if y_pred is None:
        y_pred = model.forward(x, training=training)
    return data_loss(model, y, y_pred, sample_weight) + penalty(model)


def data_loss(model, y, y_pred, sample_weight=None) -> float:
    """The model's loss of `y_pred` after the forward pass that gave it, without penalties
    and with the `add_loss` terms."""
    if model.compiled_outputs is not None:
        return model.compiled_outputs.loss_value(model, y, y_pred, sample_weight)
    if model.loss is None:
        require_added_losses(model)
        return total_added_loss(model)
    masked = mask_argument(model)
    fused = fused_activation(model)
    if fused is not None:
        value, _ = model.loss.fused_value_and_gradient(y, fused.logits, y_pred, sample_weight,
                                                       **masked)
    else:
        value = model.loss(y, y_pred, sample_weight=sample_weight, **masked)
    return float(value) + total_added_loss(model)

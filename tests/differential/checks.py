"""The comparisons every category makes: glassnet's numbers against the Keras reference's.

    predict            model.predict (inference, in batches) vs the reference's forward
    forward/backward   model.forward(training) and model.backward(dy) for a random dy: the
                       output, dL/dx of every float input and dL/dW of every weight Keras
                       trains, vs autograd of Σ y · dy
    loss gradients     model.compute_gradients(x, y): the loss and dL/dW, vs autograd of
                       Keras' loss (masks, sample weights and reduction as Keras applies them)
    fit                History "loss" / "val_loss" and every weight afterwards (moving
                       statistics included), vs the reference's fit
    evaluate           model.evaluate vs the reference's evaluate
"""

from __future__ import annotations

import numpy as np

import specs
from harness import Case, load_reference

# Where Keras clips a probability, glassnet's fused softmax/sigmoid cross-entropy (which
# works from the logits, without clipping) differs on purpose: see docs/differences.md.
CLIPPED = "Keras clips a predicted probability to [1e-7, 1 - 1e-7] (documented difference)"


def build_pair(net: specs.Net, rng: np.random.Generator):
    """(glassnet model with weights drawn from rng, the reference on the same weights)."""
    reference, _ = load_reference()
    objects: dict = {}
    model = specs.build(net, objects)
    specs.randomize_weights(model, rng)
    return model, reference.RefNet(net, objects)


def _float_inputs(net: specs.Net, arrays):
    reference, _ = load_reference()
    return [reference.tensor(x, grad=not (k == 0 and net.vocab)) for k, x in enumerate(arrays)]


def compare_predict(case: Case, model, ref, arrays, batch_size: int | None = None) -> None:
    y = model.predict(specs.model_input(arrays), batch_size=batch_size, verbose=0)
    import torch

    with torch.no_grad():
        expected, _ = ref.forward(_float_inputs(ref.net, arrays), training=False)
    case.compare("predict", y, expected)


def compare_state(case: Case, ref, what: str) -> None:
    """Every weight (trainable or not) of glassnet against the reference's tensors."""
    for param, t, _ in ref.pairs:
        case.compare(f"{what}: weight {param.name}", param.value, t)


def compare_backward(case: Case, model, ref, arrays, training: bool,
                     rng: np.random.Generator) -> None:
    """forward(training) + backward(dy): output, dL/dx and dL/dW against autograd."""
    import torch

    model.zero_grad()
    y = model.forward(specs.model_input(arrays), training=training)
    dy = rng.standard_normal(np.shape(y))
    dxs = model.backward(dy.astype(np.asarray(y).dtype))
    dxs = dxs if isinstance(dxs, list) else [dxs]
    inputs = _float_inputs(ref.net, arrays)
    expected, _ = ref.forward(inputs, training)
    mode = "training" if training else "inference"
    case.compare(f"forward({mode}) output", y, expected)
    wanted = [t for t in inputs if t.requires_grad]
    trainable = [(p, t) for p, t, keras_trainable in ref.pairs if keras_trainable]
    grads = torch.autograd.grad((expected * torch.as_tensor(dy)).sum(),
                                wanted + [t for _, t in trainable], allow_unused=True)
    for k, grad in enumerate(grads[:len(wanted)]):
        case.compare(f"backward({mode}) dL/dx[{k}]", dxs[k], _zero_if_none(grad, wanted[k]))
    for (param, t), grad in zip(trainable, grads[len(wanted):]):
        case.compare(f"backward({mode}) dL/d {param.name}", param.grad, _zero_if_none(grad, t))
    compare_state(case, ref, f"after forward({mode})")


def _zero_if_none(grad, like):
    import torch

    return torch.zeros_like(like) if grad is None else grad


def compare_trainable_set(case: Case, model, ref) -> None:
    """The weights the optimizer gets are the ones Keras would train."""
    got = {id(p) for p in model.parameters(trainable_only=True)}
    expected = {id(p) for p, _, trainable in ref.pairs if trainable}
    names = {id(p): p.name for p, _, _ in ref.pairs}
    extra = sorted(names.get(i, "?") for i in got - expected)
    missing = sorted(names.get(i, "?") for i in expected - got)
    case.expect(not extra and not missing,
                f"trainable weights: glassnet also trains {extra}, misses {missing}")


def compare_loss_gradients(case: Case, model, ref, loss_spec: dict, arrays, y,
                           sample_weight=None, training: bool = True) -> None:
    """model.compute_gradients (the model must be compiled with this loss) vs autograd."""
    import torch

    _, reference_train = load_reference()
    loss, _ = model.compute_gradients(specs.model_input(arrays), y, sample_weight,
                                      training=training)
    expected, y_pred = reference_train.loss_on_batch(ref, loss_spec, arrays, y, sample_weight,
                                                     training)
    mode = "training" if training else "inference"
    if reference_train.clipped_probabilities(loss_spec, y_pred):
        case.note(f"compute_gradients not compared: {CLIPPED}")
        return
    case.compare(f"compute_gradients({mode}) loss", loss, expected)
    trainable = [(p, t) for p, t, keras_trainable in ref.pairs if keras_trainable]
    grads = torch.autograd.grad(expected, [t for _, t in trainable], allow_unused=True)
    for (param, t), grad in zip(trainable, grads):
        case.compare(f"compute_gradients({mode}) dL/d {param.name}", param.grad,
                     _zero_if_none(grad, t))


def compare_fit(case: Case, model, ref, loss_spec: dict, optimizer_spec: dict, arrays, y,
                **fit_args) -> None:
    """model.fit(shuffle=False) vs the reference's fit: History and the weights after."""
    _, reference_train = load_reference()
    model.compile(optimizer=specs.make_optimizer(optimizer_spec),
                  loss=specs.make_loss(loss_spec))
    glassnet_args = dict(fit_args)
    if glassnet_args.get("validation_data") is not None:
        val_x, *rest = glassnet_args["validation_data"]
        glassnet_args["validation_data"] = (specs.model_input(val_x), *rest)
    history = model.fit(specs.model_input(arrays), y, shuffle=False, verbose=0,
                        **glassnet_args).history
    expected, clipped = reference_train.fit(ref, loss_spec,
                                            reference_train.KerasOptimizer(optimizer_spec),
                                            arrays, y, **fit_args)
    if clipped:
        case.note(f"fit not compared: {CLIPPED}")
        return
    case.trained = True                      # from here on, the looser tolerance of fit
    for key, values in expected.items():
        case.compare(f"fit History[{key!r}]", history.get(key), values)
    case.expect(set(history) == set(expected),
                f"fit History keys: glassnet {sorted(history)}, Keras {sorted(expected)}")
    compare_state(case, ref, "after fit")


def compare_evaluate(case: Case, model, ref, loss_spec: dict, arrays, y, batch_size: int,
                     sample_weight=None) -> None:
    _, reference_train = load_reference()
    value = model.evaluate(specs.model_input(arrays), y, batch_size=batch_size, verbose=0,
                           sample_weight=sample_weight)
    expected, clipped = reference_train.evaluate(ref, loss_spec, arrays, y, sample_weight,
                                                 batch_size)
    if clipped:
        case.note(f"evaluate not compared: {CLIPPED}")
    else:
        case.compare("evaluate", value, expected)

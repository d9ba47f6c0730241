"""The divergence guard: each training step's finiteness check, and the error when it fails.

Every training step (`fit`, `train_on_batch`) checks, before the optimizer touches the
weights, that the loss is finite and that Σ g·g over all gradients is finite
(`step_is_finite`: one BLAS dot a parameter; a NaN or inf anywhere makes the sum NaN or inf).
Only when that fails does the slow part run (`locate.py`): the batch is re-run with every
layer, activation, the loss and the penalties watched, and the first place a NaN or inf
appeared is named ("forward pass of layer 'dense_1' (Dense), activation 'sigmoid': overflow
encountered in exp"). The step then raises `DivergenceError` with that `Site`, the step
number and a hint chosen by what was found (`hint`); no update is applied.

    >>> try:
    ...     model.fit(x, y, epochs=10)
    ... except DivergenceError as error:
    ...     print(error.site, error.hint)       # model.history holds the epochs before it
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from glassnet.backend import namespace, to_numpy
from glassnet.training.data.groups import ArrayGroup


def step_is_finite(loss: float, params) -> bool:
    """True when `loss` and every `param.grad` are finite: the check of each training step.

    Σ_p g_p·g_p is one BLAS dot a parameter, no temporary array, and NaN or inf in any
    gradient makes it NaN or inf. The sum can also overflow for huge but finite gradients
    (|g| > 1.8e19 in float32, > 256 in float16); only then is each gradient checked
    elementwise, so a finite gradient is never refused.
    """
    if not math.isfinite(loss):
        return False
    total = 0.0
    for param in params:
        grad = param.grad
        total += float(namespace(grad).vdot(grad, grad))
    if math.isfinite(total):
        return True
    return all(bool(namespace(p.grad).isfinite(p.grad).all()) for p in params)


@dataclass(frozen=True)
class Site:
    """Where a non-finite value first appeared.

    Attributes:
        phase: "data", "weights", "forward", "loss", "backward", "regularization" or "model"
            (glue code of the model outside any layer).
        layer: the layer's name (None for data, loss, regularization).
        layer_class: e.g. "Dense".
        part: finer place inside the layer, e.g. "activation 'sigmoid'", or the loss' name.
        operation: what NumPy reported ("overflow encountered in exp") or what was seen
            ("output has 3 NaN, 0 inf of 640 values").
    """

    phase: str
    operation: str
    layer: str | None = None
    layer_class: str | None = None
    part: str | None = None

    def __str__(self) -> str:
        layer = f"layer {self.layer!r} ({self.layer_class})"
        if self.phase == "loss":
            where = f"the loss {self.part}" + (f" of the output of {layer}" if self.layer else "")
            return f"{where}: {self.operation}"
        where = {"data": "the input batch", "weights": "the weights",
                 "regularization": "the regularization penalties",
                 "model": "the model's own code between layers"}.get(self.phase)
        if self.layer is not None:
            where = (f"the weights of {layer}" if self.phase == "weights" else
                     f"{self.phase} pass of {layer}")
        if self.part:
            where += f", {self.part}"
        return f"{where}: {self.operation}"


class DivergenceError(FloatingPointError):
    """Training produced a NaN or inf loss or gradient; the step was not applied.

    Attributes:
        iteration: the optimizer's `iterations` at the failed step (= the updates applied).
        epoch, batch: where in `fit` it happened, when the caller filled them in (`at`).
        site: the `Site` of the first non-finite value, or None when a re-run stayed finite.
        hint: what to try.
        loss: the loss of the failed step (may be nan or inf).
        gradient_norm: ||g|| over all gradients of the failed step (nan or inf if not finite).
    """

    def __init__(self, iteration: int, site: Site | None, hint: str, loss: float,
                 gradient_norm: float):
        self.iteration = iteration
        self.epoch: int | None = None
        self.batch: int | None = None
        self.site = site
        self.hint = hint
        self.loss = loss
        self.gradient_norm = gradient_norm
        super().__init__(self._message())

    def at(self, epoch: int | None = None, batch: int | None = None) -> DivergenceError:
        """Add the epoch and batch (known to `fit`, not to the step) to the message."""
        self.epoch, self.batch = epoch, batch
        self.args = (self._message(),)
        return self

    def _message(self) -> str:
        when = f"step {self.iteration} (optimizer.iterations = {self.iteration})"
        if self.epoch is not None:
            when = f"epoch {self.epoch}, batch {self.batch} ({when})"
        found = (f"First non-finite value: {self.site}." if self.site is not None else
                 "A re-run of the batch stayed finite (dropout draws new masks), so the "
                 "layer could not be named.")
        return (f"training diverged at {when}: loss = {self.loss:.6g}, gradient norm = "
                f"{self.gradient_norm:.6g}. The update was not applied: the weights are "
                f"those before this step. {found} Hint: {self.hint}")


# ----- hints --------------------------------------------------------------------------------


def hint(model, site: Site | None) -> str:
    """What to try, chosen by what was found (and the model's loss/output layer)."""
    lr = _learning_rate_text(model)
    hints = []
    phase = site.phase if site is not None else None
    operation = site.operation if site is not None else ""
    if phase == "data":
        hints.append("the batch itself contains NaN or inf: clean the data (check divisions "
                     "by a zero standard deviation in preprocessing, missing values)")
    elif phase == "weights":
        hints.append("the weights were already NaN/inf before this step (assigned or loaded "
                     "that way, or left by an earlier update that overflowed): restore them "
                     f"from a checkpoint or re-initialise them, and lower the learning rate{lr}")
    elif phase == "loss":
        if _logits_mistake(model) is None:
            hints.append("the loss took the log of 0 or divided by 0: probabilities reached "
                         "exactly 0 or 1; end the model with a linear layer and use the "
                         "loss with from_logits=True, which computes the log stably"
                         if "divide" in operation or "log" in operation else
                         f"the predictions of layer {site.layer!r} are huge: lower the "
                         f"learning rate{lr}, and scale the targets to about unit size")
    elif phase == "forward" and site.part and "exp" in operation:
        hints.append(f"the inputs of the {site.part} in layer {site.layer!r} are huge: lower "
                     f"the learning rate{lr} and normalise the inputs; for an output layer, "
                     "use a linear activation and from_logits=True, which never takes exp "
                     "of a large number")
    elif phase in ("forward", "model"):
        where = f"of layer {site.layer!r} " if site.layer else ""
        hints.append(f"the activations {where}overflowed: lower the learning "
                     f"rate{lr}, clip the gradients (e.g. SGD(..., clipnorm=1.0)) and "
                     "normalise the inputs")
    elif phase == "backward":
        hints.append(f"the gradients overflowed in layer {site.layer!r}: lower the learning "
                     f"rate{lr} or clip the gradients (e.g. clipnorm=1.0 on the optimizer)")
    elif phase == "regularization":
        hints.append(f"the weight penalty overflowed because the weights are huge: lower the "
                     f"learning rate{lr}")
    else:
        hints.append(f"lower the learning rate{lr} or clip the gradients (clipnorm=1.0)")
    mistake = _logits_mistake(model)
    if mistake is not None:
        hints.insert(0, mistake)
    largest = _largest_weight(model)
    if largest is not None and largest[1] > 1e4 and phase != "weights":
        hints.append(f"the weights have grown to |w| = {largest[1]:.3g} (in {largest[0]!r}), "
                     "a sign that the learning rate is too high")
    return "; ".join(hints) + "."


def _logits_mistake(model) -> str | None:
    """A cross-entropy on probabilities fed by a layer that does not output probabilities."""
    loss, last = model.loss, model.output_layer
    if getattr(loss, "from_logits", None) is not False or last is None:
        return None
    activation = getattr(last.activation, "name", None)
    if activation is None or activation in ("sigmoid", "softmax"):   # None: not knowable
        return None
    name = type(loss).__name__
    return (f"the last layer {last.name!r} has activation {activation!r}, not sigmoid or "
            f"softmax, so its outputs are not probabilities, but {name} has "
            "from_logits=False and takes them as probabilities: make the last layer linear "
            f"and use {name}(from_logits=True) (or end with a sigmoid/softmax)")


def _learning_rate_text(model) -> str:
    optimizer = model.optimizer
    if optimizer is None:
        return ""
    return f" (now {optimizer.learning_rate:.3g} for {type(optimizer).__name__})"


def _largest_weight(model) -> tuple[str, float] | None:
    """(name, max |w|) of the parameter with the largest finite weight."""
    best = None
    for param in model.parameters():
        values = to_numpy(param.value)
        finite = np.abs(values[np.isfinite(values)])
        if finite.size and (best is None or finite.max() > best[1]):
            best = (param.name, float(finite.max()))
    return best


# ----- array summaries (shared with the re-run and the health report) -------------------------
def sum_of_squares(array) -> float:
    """Σ a² in float64 (exact enough to compare with np.linalg.norm; never overflows float32)."""
    flat = to_numpy(array).reshape(-1).astype(np.float64)
    return float(flat @ flat)


def nonfinite_summary(array) -> str | None:
    """'3 NaN, 1 inf of 640 values' for a float array (or tuple of them) with any; else None."""
    if isinstance(array, (tuple, list, ArrayGroup)):   # several inputs, outputs, weights
        return next((s for s in map(nonfinite_summary, array) if s), None)
    if array is None or isinstance(array, (str, bytes)):
        return None
    values = to_numpy(array) if hasattr(array, "dtype") else np.asarray(array)
    if not np.issubdtype(values.dtype, np.inexact):
        return None
    finite = np.isfinite(values)
    if finite.all():
        return None
    nan = int(np.count_nonzero(np.isnan(values)))
    inf = int(values.size - np.count_nonzero(finite) - nan)
    return f"{nan} NaN, {inf} inf of {values.size} values"

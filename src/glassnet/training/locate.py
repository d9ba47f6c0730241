"""Where the first NaN or inf of a failed training step came from: the step run again, watched.

Only after the guard's cheap check failed (`guard.step_is_finite`). The batch is checked, then
the weights; then forward, loss, backward and the penalties run again with every layer watched
through its hooks (`Layer.add_hook`: each call a model makes through `apply`/`backpropagate`),
and the layers' activations, the loss and the penalties wrapped the same way. Each watched call
runs under `np.errstate` where overflow, division by zero and invalid operations raise, and its
result is checked for NaN/inf. Watches nest, so the innermost place (the activation inside a
Dense) is the one named.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import replace

import numpy as np

from glassnet.training import gradients
from glassnet.training.guard import DivergenceError, Site, hint, nonfinite_summary, sum_of_squares
from glassnet.training.snapshot import layer_tree, parameter_owners, preserved_state

_RAISE = {"over": "raise", "divide": "raise", "invalid": "raise", "under": "ignore"}
# Underflow is not an error: exp(-800) -> 0 is the correctly rounded answer, and the stable
# formulas (sigmoid, BCE from logits) rely on it.


def divergence_error(model, x, y, sample_weight=None, loss: float = math.nan
                     ) -> DivergenceError:
    """The error for a failed step on (x, y): locates the site, measures, picks a hint.

    Call it before anything is restored: the gradients of the failed step are still in
    each `param.grad` (their norm goes into the message).
    """
    params = model.parameters(trainable_only=True)
    gradient_norm = math.sqrt(sum(sum_of_squares(p.grad) for p in params))
    site = locate_nonfinite(model, x, y, sample_weight)
    iteration = model.optimizer.iterations if model.optimizer is not None else 0
    return DivergenceError(iteration, site, hint(model, site), float(loss), gradient_norm)


def locate_nonfinite(model, x, y, sample_weight=None, training: bool = True) -> Site | None:
    """The first place a NaN or inf appears in one training step on (x, y), or None.

    Checks the batch, then the weights, then re-runs forward, loss, backward and the
    regularizers with each layer (and its activation) watched: under `np.errstate`
    overflow, division by zero and invalid operations raise, and each result is checked for
    NaN/inf. Watches nest, so the innermost place (the activation inside a Dense) is the one
    named. The model is left as it was (weights, gradients, optimizer state, random
    generators).
    """
    for name, array in (("x", x), ("y", y), ("sample_weight", sample_weight)):
        problem = nonfinite_summary(array)
        if problem:
            return Site("data", f"{name} has {problem}")
    owners = parameter_owners(model)
    for param in model.parameters():
        problem = nonfinite_summary(param.value)
        if problem:
            layer = owners.get(id(param))
            return Site("weights", f"{param.name!r} has {problem}",
                        getattr(layer, "name", None), type(layer).__name__)
    watch = _Watch()
    params = model.parameters(trainable_only=True)
    with preserved_state(model), watch.installed(model):
        loss = _WatchedLoss(model.loss, watch, model.output_layer)
        try:
            with np.errstate(**_RAISE):
                gradients.backpropagate_loss(model, x, y, sample_weight, training, params, loss)
                watch.run(Site("regularization", ""), gradients.add_penalties, params)
        except (FloatingPointError, _Found) as error:
            if watch.site is None:
                watch.site = Site("model", str(error), part=f"model {model.name!r}")
        if watch.site is None:
            for param in params:
                problem = nonfinite_summary(param.grad)
                if problem:
                    layer = owners.get(id(param))
                    return Site("backward", f"gradient of {param.name!r} has {problem}",
                                getattr(layer, "name", None), type(layer).__name__)
    return watch.site


class _Found(Exception):
    """Stops a diagnostic re-run at the first non-finite result (no NumPy error raised)."""


class _Watch:
    """Watches a model's layers, activations, loss and penalties for one re-run."""

    def __init__(self):
        self.site: Site | None = None

    def run(self, site: Site, function: Callable, *args, **kwargs):
        """function(*args) under errstate(raise); the first failure anywhere is recorded."""
        try:
            with np.errstate(**_RAISE):
                result = function(*args, **kwargs)
        except FloatingPointError as error:
            if self.site is None:   # the innermost watch sees it first
                self.site = replace(site, operation=str(error))
            raise
        if self.site is None:
            problem = nonfinite_summary(result)
            if problem:
                self.site = replace(site, operation=f"its result has {problem}")
                raise _Found(str(self.site))
        return result

    def layer_hook(self, layer, phase: str, call: Callable):
        """The hook on every layer: its forward and backward calls, watched."""
        return self.run(Site(phase, "", layer.name, type(layer).__name__), call)

    @contextlib.contextmanager
    def installed(self, model) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            for layer in layer_tree(model):
                stack.callback(layer.add_hook(self.layer_hook))
                activation = layer.activation
                if activation is not None and hasattr(activation, "forward"):
                    name = getattr(activation, "name", type(activation).__name__)
                    kind = type(layer).__name__
                    for method in ("forward", "backward"):
                        site = Site(method, "", layer.name, kind, f"activation {name!r}")
                        stack.enter_context(self._wrapped(activation, method, site))
            yield

    def _wrapped(self, activation, method: str, site: Site):
        """An activation's method watched (activations are objects inside a layer, called
        by the layer itself, with no hooks of their own)."""
        original = getattr(activation, method)
        return _patched(activation, method, lambda *a, **k: self.run(site, original, *a, **k))


class _WatchedLoss:
    """Stands in for the model's loss during a re-run: same answers, watched."""

    def __init__(self, loss, watch: _Watch, output_layer=None):
        self._loss, self._watch = loss, watch
        self._site = Site("loss", "", getattr(output_layer, "name", None),
                          type(output_layer).__name__ if output_layer is not None else None,
                          repr(getattr(loss, "name", type(loss).__name__)))

    def __getattr__(self, name: str):
        return getattr(self._loss, name)

    def __call__(self, *args, **kwargs):
        return self._watch.run(replace(self._site, part=f"{self._site.part} value"),
                               self._loss, *args, **kwargs)

    def gradient(self, *args, **kwargs):
        return self._watch.run(replace(self._site, part=f"{self._site.part} gradient"),
                               self._loss.gradient, *args, **kwargs)

    def fused_value_and_gradient(self, *args, **kwargs):
        return self._watch.run(self._site, self._loss.fused_value_and_gradient,
                               *args, **kwargs)


@contextlib.contextmanager
def _patched(owner, attribute: str, replacement) -> Iterator[None]:
    """Set `owner.attribute = replacement` for the duration, then put back what was there."""
    own = vars(owner)
    had_own, previous = attribute in own, own.get(attribute)
    setattr(owner, attribute, replacement)
    try:
        yield
    finally:
        if had_own:
            setattr(owner, attribute, previous)
        else:
            delattr(owner, attribute)

"""Why training goes wrong, on one batch: divergence traced to a layer, and health numbers.

Divergence. Every training step (`fit`, `train_on_batch`) checks, before the optimizer
touches the weights, that the loss is finite and that Σ g·g over all gradients is finite
(`step_is_finite`: one BLAS dot a parameter; a NaN or inf anywhere makes the sum NaN or
inf). Only when that fails does the slow part run: `locate_nonfinite` re-runs the batch with
every layer, activation, the loss and the regularizers wrapped, each under
`np.errstate(over/divide/invalid="raise")` and with its result checked, and names the first
place a NaN or inf appeared ("forward pass of layer 'dense_1' (Dense), activation 'sigmoid':
overflow encountered in exp"). The step then raises `DivergenceError` with that site, the
step number and a hint chosen by what was found; no update is applied.

    >>> try:
    ...     model.fit(x, y, epochs=10)
    ... except diagnostics.DivergenceError as error:
    ...     print(error.site, error.hint)       # model.history holds the epochs before it

Health. `report(model, x, y)` runs one training step on a batch *without applying it*
(weights, gradients, optimizer state and random generators are restored afterwards) and
measures, per layer:

- the gradient norm ||dL/dW|| (all of the layer's trainable weights together);
- the update/weight ratio ||ΔW|| / ||W|| of the step the optimizer would take -- about 1e-3
  is the usual healthy scale (Karpathy, "A Recipe for Training Neural Networks", 2019);
- for ReLU layers, the fraction of dead units: units whose output is 0 for every sample;
- for sigmoid/tanh layers, the fraction of saturated outputs, within 0.01 of an asymptote
  (sigmoid < 0.01 or > 0.99, |tanh| > 0.99), where the derivative y(1 - y) < 0.0099 or
  1 - y² < 0.0199 barely lets a gradient through.

`str(report)` is a table and `plot(report)` a bar chart per quantity.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from glassnet.backend import namespace, to_numpy
from glassnet.random import global_generator

SATURATION_MARGIN = 0.01        # |output - asymptote| below this counts as saturated
HEALTHY_UPDATE_RATIO = 1e-3     # reference line in the plot
_RAISE = {"over": "raise", "divide": "raise", "invalid": "raise", "under": "ignore"}
# Underflow is not an error: exp(-800) -> 0 is the correctly rounded answer, and the stable
# formulas (sigmoid, BCE from logits) rely on it.


# ----------------------------------------------------------------------------------------------
# Divergence: the cheap check, the error, and where the first NaN/inf came from
# ----------------------------------------------------------------------------------------------


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


def locate_nonfinite(model, x, y, sample_weight=None, training: bool = True) -> Site | None:
    """The first place a NaN or inf appears in one training step on (x, y), or None.

    Checks the batch, then the weights, then re-runs forward, loss, backward and the
    regularizers with each layer's `forward`/`backward` (and its activation's) wrapped:
    under `np.errstate` overflow, division by zero and invalid operations raise, and each
    result is checked for NaN/inf. Wrappers nest, so the innermost place (the activation
    inside a Dense) is the one named. The model is left as it was (weights, gradients,
    optimizer state, random generators).
    """
    for name, array in (("x", x), ("y", y), ("sample_weight", sample_weight)):
        problem = _nonfinite_summary(array)
        if problem:
            return Site("data", f"{name} has {problem}")
    owners = _parameter_owners(model)
    for param in model.parameters():
        problem = _nonfinite_summary(param.value)
        if problem:
            layer = owners.get(id(param))
            return Site("weights", f"{param.name!r} has {problem}",
                        getattr(layer, "name", None), type(layer).__name__)
    watch = _Watch()
    with _preserved_state(model), watch.installed(model):
        try:
            with np.errstate(**_RAISE):
                model.compute_gradients(x, y, sample_weight, training=training)
        except (FloatingPointError, _Found) as error:
            if watch.site is None:
                watch.site = Site("model", str(error), part=f"model {model.name!r}")
        if watch.site is None:
            for param in model.parameters(trainable_only=True):
                problem = _nonfinite_summary(param.grad)
                if problem:
                    layer = owners.get(id(param))
                    return Site("backward", f"gradient of {param.name!r} has {problem}",
                                getattr(layer, "name", None), type(layer).__name__)
    return watch.site


def divergence_error(model, x, y, sample_weight=None, loss: float = math.nan
                     ) -> DivergenceError:
    """The error for a failed step on (x, y): locates the site, measures, picks a hint.

    Call it before anything is restored: the gradients of the failed step are still in
    each `param.grad` (their norm goes into the message).
    """
    params = model.parameters(trainable_only=True)
    gradient_norm = math.sqrt(sum(_sum_of_squares(p.grad) for p in params))
    site = locate_nonfinite(model, x, y, sample_weight)
    iteration = model.optimizer.iterations if model.optimizer is not None else 0
    return DivergenceError(iteration, site, _hint(model, site), float(loss), gradient_norm)


class _Found(Exception):
    """Stops a diagnostic re-run at the first non-finite result (no NumPy error raised)."""


class _Watch:
    """Wraps a model's layers, activations, loss and regularizers for one re-run."""

    def __init__(self):
        self.site: Site | None = None

    def run(self, site: Site, function: Callable, *args, **kwargs):
        """function(*args) under errstate(raise); the first failure anywhere is recorded."""
        try:
            with np.errstate(**_RAISE):
                result = function(*args, **kwargs)
        except FloatingPointError as error:
            if self.site is None:   # the innermost wrapper sees it first
                self.site = replace(site, operation=str(error))
            raise
        if self.site is None:
            problem = _nonfinite_summary(result)
            if problem:
                self.site = replace(site, operation=f"its result has {problem}")
                raise _Found(str(self.site))
        return result

    @contextlib.contextmanager
    def installed(self, model) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            for layer in _layer_tree(model):
                kind = type(layer).__name__
                for method, phase in (("forward", "forward"), ("backward", "backward"),
                                      ("backward_preactivation", "backward")):
                    site = Site(phase, "", layer.name, kind)
                    stack.enter_context(self._wrapped(layer, method, site))
                activation = getattr(layer, "activation", None)
                if activation is not None and hasattr(activation, "forward"):
                    name = getattr(activation, "name", type(activation).__name__)
                    for method in ("forward", "backward"):
                        site = Site(method, "", layer.name, kind, f"activation {name!r}")
                        stack.enter_context(self._wrapped(activation, method, site))
            stack.enter_context(_patched(model, "loss",
                                         _WatchedLoss(model.loss, self, _output_layer(model))))
            stack.enter_context(self._wrapped(model, "_regularize", Site("regularization", "")))
            yield

    def _wrapped(self, owner, method: str, site: Site):
        original = getattr(owner, method, None)
        if original is None:
            return contextlib.nullcontext()
        return _patched(owner, method, lambda *a, **k: self.run(site, original, *a, **k))


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


# ----- hints --------------------------------------------------------------------------------


def _hint(model, site: Site | None) -> str:
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
    loss, last = model.loss, _output_layer(model)
    if getattr(loss, "from_logits", None) is not False or last is None:
        return None
    activation = getattr(getattr(last, "activation", None), "name", None)
    if activation is None or activation in ("sigmoid", "softmax"):   # None: not knowable
        return None
    name = type(loss).__name__
    return (f"the last layer {last.name!r} has activation {activation!r}, not sigmoid or "
            f"softmax, so its outputs are not probabilities, but {name} has "
            "from_logits=False and takes them as probabilities: make the last layer linear "
            f"and use {name}(from_logits=True) (or end with a sigmoid/softmax)")


def _output_layer(model):
    """The layer whose output the loss reads (Sequential: the last; Functional: the output)."""
    return model._output_layer() if model.layers else None


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


# ----------------------------------------------------------------------------------------------
# The health report of one batch
# ----------------------------------------------------------------------------------------------


@dataclass
class LayerDiagnostics:
    """One layer's numbers; a quantity that does not apply is None."""

    name: str
    layer_class: str
    activation: str | None
    weight_norm: float | None           # ||W|| over the layer's trainable weights
    gradient_norm: float | None         # ||dL/dW||
    update_norm: float | None           # ||ΔW|| of one optimizer step
    dead_fraction: float | None = None       # ReLU: units at 0 for every sample
    saturated_fraction: float | None = None  # sigmoid/tanh: outputs within the margin

    @property
    def update_ratio(self) -> float | None:
        """||ΔW|| / ||W|| (inf for weights that are all 0 but move)."""
        if self.update_norm is None or self.weight_norm is None:
            return None
        if self.weight_norm == 0:
            return 0.0 if self.update_norm == 0 else math.inf
        return self.update_norm / self.weight_norm


@dataclass
class ParameterDiagnostics:
    name: str
    shape: tuple[int, ...]
    weight_norm: float
    gradient_norm: float
    update_norm: float


@dataclass
class DiagnosticsReport:
    """What `report` measured on one batch. `str(report)` is a table."""

    model: str
    batch_size: int
    loss: float
    optimizer: str
    learning_rate: float
    layers: list[LayerDiagnostics] = field(default_factory=list)
    parameters: list[ParameterDiagnostics] = field(default_factory=list)

    def layer(self, name: str) -> LayerDiagnostics:
        for row in self.layers:
            if row.name == name:
                return row
        raise KeyError(f"no layer {name!r} in the report; layers: "
                       f"{[row.name for row in self.layers]}")

    def to_dict(self) -> dict[str, Any]:
        """Plain numbers for JSON (metrics.json): {layer name: {quantity: value}}."""
        def number(value):
            return None if value is None or not math.isfinite(value) else float(value)
        return {
            "loss": number(self.loss), "batch_size": self.batch_size,
            "layers": {row.name: {"gradient_norm": number(row.gradient_norm),
                                  "update_ratio": number(row.update_ratio),
                                  "dead_relu_fraction": number(row.dead_fraction),
                                  "saturated_fraction": number(row.saturated_fraction)}
                       for row in self.layers},
        }

    def __str__(self) -> str:
        header = ("layer", "type", "activation", "grad norm", "update/weight", "dead ReLU",
                  "saturated")
        rows = [(row.name, row.layer_class, row.activation or "-",
                 _format(row.gradient_norm, "{:.3e}"), _format(row.update_ratio, "{:.3e}"),
                 _format(row.dead_fraction, "{:.1%}"), _format(row.saturated_fraction,
                                                               "{:.1%}"))
                for row in self.layers]
        widths = [max(len(text) for text in column) for column in zip(header, *rows)]
        lines = [f"Diagnostics of {self.model!r} on a batch of {self.batch_size}: loss "
                 f"{self.loss:.6g}, one {self.optimizer} step at learning rate "
                 f"{self.learning_rate:.3g} (not applied)",
                 "  ".join(text.ljust(width) for text, width in zip(header, widths)),
                 "  ".join("-" * width for width in widths)]
        lines += ["  ".join(text.ljust(width) for text, width in zip(row, widths))
                  for row in rows]
        return "\n".join(line.rstrip() for line in lines)


def report(model, x, y, sample_weight=None, training: bool = True) -> DiagnosticsReport:
    """Per-layer gradient norms, update/weight ratios, dead ReLUs and saturation on one batch.

    Runs forward and backward on (x, y) as a training step does (`training=True`: dropout
    on, batch statistics), then one optimizer step on the model's optimizer to measure the
    update ΔW it would make -- and puts everything back: weights, gradients, optimizer state
    (slots, iterations) and random generators are as before, so calling it between epochs
    does not change training.

    Args:
        model: a compiled model.
        x, y, sample_weight: one batch, as for `train_on_batch` (all of it is one batch).

    Returns:
        A DiagnosticsReport with one row per layer that has trainable weights or a ReLU,
        sigmoid or tanh activation.

    Example:
        >>> rep = diagnostics.report(model, x_train[:256], y_train[:256])
        >>> print(rep); fig = diagnostics.plot(rep)
    """
    if not getattr(model, "compiled", False):
        raise RuntimeError("diagnostics.report: call model.compile(optimizer=..., loss=...) "
                           "first")
    x, y, sample_weight = model._prepare(x, y, sample_weight)
    params = model.parameters(trainable_only=True)
    leaves = [layer for layer in _layer_tree(model) if _is_leaf(layer)]
    activity = {id(layer): _Activity(kind) for layer in leaves
                if (kind := _activation_kind(layer)) is not None}
    with _preserved_state(model), _recording(leaves, activity):
        loss, _ = model.compute_gradients(x, y, sample_weight, training=training)
        gradients = {id(p): _sum_of_squares(p.grad) for p in params}
        weights = {id(p): _sum_of_squares(p.value) for p in params}
        before = [np.array(to_numpy(p.value)) for p in params]
        learning_rate = model.optimizer.learning_rate
        model.optimizer.apply(params)
        updates = {id(p): _sum_of_squares(to_numpy(p.value) - old)
                   for p, old in zip(params, before)}
    rows = []
    for layer in leaves:
        own = [p for p in layer.parameters(trainable_only=True) if id(p) in gradients]
        watched = activity.get(id(layer))
        if not own and watched is None:
            continue
        activation = getattr(getattr(layer, "activation", None), "name", None)
        rows.append(LayerDiagnostics(
            layer.name, type(layer).__name__, activation,
            _joint_norm(weights, own), _joint_norm(gradients, own), _joint_norm(updates, own),
            dead_fraction=watched.dead_fraction() if watched else None,
            saturated_fraction=watched.saturated_fraction() if watched else None))
    parameters = [ParameterDiagnostics(p.name, tuple(p.shape), math.sqrt(weights[id(p)]),
                                       math.sqrt(gradients[id(p)]), math.sqrt(updates[id(p)]))
                  for p in params]
    return DiagnosticsReport(model.name, len(x), float(loss), type(model.optimizer).__name__,
                             float(learning_rate), rows, parameters)


def _joint_norm(sums_of_squares: dict[int, float], params: list) -> float | None:
    """sqrt(Σ_p ||p||²) over `params`, from their precomputed sums of squares."""
    return math.sqrt(sum(sums_of_squares[id(p)] for p in params)) if params else None


def _activation_kind(layer) -> str | None:
    """'relu' (plain, no leak), 'sigmoid' or 'tanh' for the layers the report watches."""
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "name", None)
    if name == "relu" and getattr(activation, "negative_slope", 0.0) == 0.0:
        return "relu"
    return name if name in ("sigmoid", "tanh") else None


class _Activity:
    """Accumulates a layer's outputs over its calls: which units were ever active (ReLU),
    how many outputs were saturated (sigmoid/tanh)."""

    def __init__(self, kind: str):
        self.kind = kind
        self.ever_active = None
        self.saturated = 0
        self.count = 0

    def add(self, y) -> None:
        y = to_numpy(y)
        if self.kind == "relu":
            active = (y > 0).reshape(-1, y.shape[-1]).any(axis=0)     # units on the last axis
            self.ever_active = active if self.ever_active is None else self.ever_active | active
        elif self.kind == "sigmoid":
            self.saturated += int(np.count_nonzero((y < SATURATION_MARGIN)
                                                   | (y > 1 - SATURATION_MARGIN)))
        else:
            self.saturated += int(np.count_nonzero(np.abs(y) > 1 - SATURATION_MARGIN))
        self.count += y.size

    def dead_fraction(self) -> float | None:
        if self.kind != "relu" or self.ever_active is None:
            return None
        return 1.0 - float(self.ever_active.mean())

    def saturated_fraction(self) -> float | None:
        if self.kind == "relu" or self.count == 0:
            return None
        return self.saturated / self.count


@contextlib.contextmanager
def _recording(leaves, activity: dict) -> Iterator[None]:
    """Feed each watched layer's forward output to its _Activity."""
    with contextlib.ExitStack() as stack:
        for layer in leaves:
            if id(layer) in activity:
                stack.enter_context(_patched(layer, "forward",
                                             _recorder(layer.forward, activity[id(layer)])))
        yield


def _recorder(forward: Callable, sink: _Activity) -> Callable:
    def recorded(*args, **kwargs):
        y = forward(*args, **kwargs)
        sink.add(y)
        return y
    return recorded


# ----- the figure -----------------------------------------------------------------------------


def plot(report: DiagnosticsReport | Mapping[str, DiagnosticsReport], title: str | None = None,
         path=None):
    """Bar charts per layer: gradient norm, update/weight ratio, dead ReLU, saturation.

    Args:
        report: one report, or {label: report} (e.g. "initial", "trained") for grouped bars.
        title: figure title; default names the model.
        path: optional file to write (atomically, format from the suffix).

    Returns:
        A matplotlib Figure with four axes, one per quantity.
    """
    from matplotlib.figure import Figure  # imported here: training never needs matplotlib

    from glassnet import plot as plot_module

    reports = dict(report) if isinstance(report, Mapping) else {"": report}
    first = next(iter(reports.values()))
    names = [row.name for row in first.layers]
    quantities = [("gradient norm ||dL/dW||", lambda row: row.gradient_norm, True),
                  ("update / weight  ||ΔW|| / ||W||", lambda row: row.update_ratio, True),
                  ("dead ReLU units (fraction)", lambda row: row.dead_fraction, False),
                  ("saturated sigmoid/tanh outputs (fraction)",
                   lambda row: row.saturated_fraction, False)]
    figure = Figure(figsize=(max(9.0, 1.1 * len(names) * len(reports) + 4), 7.0))
    axes = figure.subplots(2, 2).ravel()
    width = 0.8 / len(reports)
    for ax, (label, value_of, log) in zip(axes, quantities):
        drawn = False
        for offset, (series, rep) in enumerate(reports.items()):
            by_name = {row.name: row for row in rep.layers}
            values = np.array([_or_nan(value_of(by_name[name])) if name in by_name else np.nan
                               for name in names], dtype=float)
            positions = np.arange(len(names)) + (offset - (len(reports) - 1) / 2) * width
            bars = ax.bar(positions, values, width=width, label=series or None)
            if not log:   # a fraction of 0 is a measurement, not a missing bar: print it
                ax.bar_label(bars, labels=["" if math.isnan(v) else f"{v:.0%}" for v in values],
                             fontsize=7)
            drawn = drawn or bool(np.isfinite(values).any())
        ax.set_title(label, fontsize=10)
        ax.set_xticks(np.arange(len(names)), names, rotation=30, ha="right", fontsize=8)
        ax.set_xlim(-0.5, len(names) - 0.5)
        if not drawn:
            ax.text(0.5, 0.5, "no layer of this kind", ha="center", va="center",
                    transform=ax.transAxes, color="gray")
        elif log and all(_positive_or_missing(value_of(row)) for rep in reports.values()
                         for row in rep.layers):
            ax.set_yscale("log")
        if not log:
            ax.set_ylim(0, 1.1)
        if label.startswith("update") and drawn:
            ax.axhline(HEALTHY_UPDATE_RATIO, color="gray", linestyle="--", linewidth=1,
                       label="1e-3 (rule of thumb)")
        if drawn and ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    figure.suptitle(title or f"Diagnostics of {first.model!r} on a batch of {first.batch_size}")
    figure.tight_layout()
    if path is not None:
        plot_module.save(figure, path)
    return figure


def _or_nan(value) -> float:
    return math.nan if value is None else float(value)


def _positive_or_missing(value) -> bool:
    return value is None or not math.isfinite(value) or value > 0


def _format(value, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


# ----------------------------------------------------------------------------------------------
# Shared helpers: walking the layers, patching methods, keeping the model's state
# ----------------------------------------------------------------------------------------------


def _layer_tree(model) -> list:
    """Every layer inside `model` (nested models and wrapped layers too), each once,
    parents before children."""
    found, seen = [], set()

    def visit(layer):
        if id(layer) in seen:
            return
        seen.add(id(layer))
        found.append(layer)
        for child in _children(layer):
            visit(child)

    for layer in model.layers:
        visit(layer)
    return found


def _children(layer) -> list:
    from glassnet.layers.base import Layer

    children = list(getattr(layer, "layers", None) or [])
    for attribute in ("layer", "forward_layer", "backward_layer"):
        child = getattr(layer, attribute, None)
        if isinstance(child, Layer):
            children.append(child)
    return [child for child in children if isinstance(child, Layer)]


def _is_leaf(layer) -> bool:
    return not _children(layer)


def _parameter_owners(model) -> dict[int, Any]:
    """id(parameter) -> the innermost layer that holds it."""
    owners = {}
    for layer in _layer_tree(model):       # parents first, so children overwrite them
        for param in layer.parameters():
            owners[id(param)] = layer
    return owners


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


@contextlib.contextmanager
def _preserved_state(model) -> Iterator[None]:
    """Run a step for measurement only: afterwards the weights (non-trainable ones too, e.g.
    moving statistics), gradients, optimizer state and random generators are as before."""
    params = model.parameters()
    values = [p.value.copy() for p in params]
    grads = [p.grad.copy() for p in params]
    optimizer = model.optimizer
    optimizer_state = optimizer.get_state() if optimizer is not None else None
    generators = [(g, g.bit_generator.state) for g in _generators(model)]
    try:
        yield
    finally:
        for param, value, grad in zip(params, values, grads):
            param.value[...] = value
            param.grad[...] = grad
        if optimizer is not None:
            optimizer.set_state(optimizer_state, model.parameters(trainable_only=True))
        for generator, state in generators:
            generator.bit_generator.state = state


def _generators(model) -> list[np.random.Generator]:
    """The global generator and every generator a layer holds (Dropout's)."""
    found = [global_generator()]
    for layer in _layer_tree(model):
        found += [value for value in vars(layer).values()
                  if isinstance(value, np.random.Generator)]
    return found


def _sum_of_squares(array) -> float:
    """Σ a² in float64 (exact enough to compare with np.linalg.norm; never overflows float32)."""
    flat = to_numpy(array).reshape(-1).astype(np.float64)
    return float(flat @ flat)


def _nonfinite_summary(array) -> str | None:
    """'3 NaN, 1 inf of 640 values' for a float array (or tuple of them) with any; else None."""
    if isinstance(array, tuple):
        return next((s for s in map(_nonfinite_summary, array) if s), None)
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

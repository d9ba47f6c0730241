"""How healthy training is, on one batch: per-layer gradient norms, update sizes, dead units.

`report(model, x, y)` runs one training step on a batch *without applying it* (weights,
gradients, optimizer state and random generators are restored afterwards) and measures, per
layer:

- the gradient norm ||dL/dW|| (all of the layer's trainable weights together);
- the update/weight ratio ||ΔW|| / ||W|| of the step the optimizer would take -- about 1e-3
  is the usual healthy scale (Karpathy, "A Recipe for Training Neural Networks", 2019);
- for ReLU layers, the fraction of dead units: units whose output is 0 for every sample;
- for sigmoid/tanh layers, the fraction of saturated outputs, within 0.01 of an asymptote
  (sigmoid < 0.01 or > 0.99, |tanh| > 0.99), where the derivative y(1 - y) < 0.0099 or
  1 - y² < 0.0199 barely lets a gradient through.

`str(report)` is a table and `plot(report)` a bar chart per quantity. (Why a step diverged,
when it does, is the training guard's: `glassnet.training.guard`.)
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from glassnet.backend import to_numpy
from glassnet.training.data.prepare import prepare_arrays
from glassnet.training.guard import sum_of_squares
from glassnet.training.snapshot import is_leaf, layer_tree, preserved_state

SATURATION_MARGIN = 0.01        # |output - asymptote| below this counts as saturated
HEALTHY_UPDATE_RATIO = 1e-3     # reference line in the plot


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
    x, y, sample_weight = prepare_arrays(model, x, y, sample_weight)
    params = model.parameters(trainable_only=True)
    leaves = [layer for layer in layer_tree(model) if is_leaf(layer)]
    activity = {id(layer): _Activity(kind) for layer in leaves
                if (kind := _activation_kind(layer)) is not None}
    with preserved_state(model), _recording(leaves, activity):
        loss, _ = model.compute_gradients(x, y, sample_weight, training=training)
        gradients = {id(p): sum_of_squares(p.grad) for p in params}
        weights = {id(p): sum_of_squares(p.value) for p in params}
        before = [np.array(to_numpy(p.value)) for p in params]
        learning_rate = model.optimizer.learning_rate
        model.optimizer.apply(params)
        updates = {id(p): sum_of_squares(to_numpy(p.value) - old)
                   for p, old in zip(params, before)}
    rows = []
    for layer in leaves:
        own = [p for p in layer.parameters(trainable_only=True) if id(p) in gradients]
        watched = activity.get(id(layer))
        if not own and watched is None:
            continue
        activation = getattr(layer.activation, "name", None)
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
    activation = layer.activation
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
    """Feed each watched layer's forward output to its _Activity, through a layer hook."""
    with contextlib.ExitStack() as stack:
        for layer in leaves:
            if id(layer) in activity:
                stack.callback(layer.add_hook(_recorder(activity[id(layer)])))
        yield


def _recorder(sink: _Activity) -> Callable:
    def recorded(layer, phase: str, call: Callable):
        y = call()
        if phase == "forward":
            sink.add(y)
        return y
    return recorded


def plot(report: DiagnosticsReport | Mapping[str, DiagnosticsReport], title: str | None = None,
         path=None):
    """Bar charts per layer: gradient norm, update/weight ratio, dead ReLU, saturation.

    Args:
        report: one report, or {label: report} (e.g. "initial", "trained") for grouped bars.
        title: figure title; default names the model.
        path: optional file to write (atomically, format from the suffix).

    Returns:
        A matplotlib Figure with four axes, one per quantity (`glassnet.inspection.plot.health`).
    """
    from glassnet.inspection.plot.health import health_figure  # training never needs matplotlib

    return health_figure(report, title=title, path=path, healthy_ratio=HEALTHY_UPDATE_RATIO)


def _format(value, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)

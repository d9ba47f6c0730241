"""Compile settings of a model with several outputs: a loss, a weight and metrics per output.

    L = Σ_i w_i · loss_i(y_i, y_pred_i) + Σ_W penalty(W) + Σ add_loss terms
    dL/dy_pred_i = w_i · dloss_i/dy_pred_i        (or, fused, w_i · (p_i - y_i) / N)

What `compile` accepts, as Keras 3 reads it (keras/src/trainers/compile_utils.py):

    loss           one loss (every output gets it), a list (one per output, None: the output
                   is not trained) or a dict {output name: loss}
    loss_weights   a list or dict with the structure of `loss` (None: all 1)
    metrics        a list with one entry per output (a metric or a list of them), or a dict
                   {output name: metrics} for some outputs; a flat list of another length is
                   refused, as in Keras
    weighted_metrics   the same, updated with the sample weights

Output names are the output layers' names, or the keys of a dict of outputs. The logs read
"loss", "<name>_loss" for each trained output (unweighted, only when two or more outputs are
trained), "<name>_<metric>" (and "<name>_weighted_<metric>" when a weighted metric would
repeat a name), with the keys sorted as Keras sorts them.
"""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np

from glassnet import losses as losses_module
from glassnet import metrics as metrics_module
from glassnet.backend import namespace
from glassnet.layers.traced import added_losses, total_added_loss
from glassnet.metrics.base import scalar_or_array
from glassnet.training import gradients
from glassnet.training.data.groups import ArrayGroup


@dataclasses.dataclass
class OutputTerm:
    """One output's part of compile: its name, loss (None: not trained), weight, metrics."""

    name: str
    loss: object = None
    weight: float = 1.0
    metric_specs: list = dataclasses.field(default_factory=list)
    weighted_specs: list = dataclasses.field(default_factory=list)
    metrics: list | None = None          # made at the first batch (accuracy reads shapes)
    weighted: list | None = None
    tracker: object = None               # Mean of this output's unweighted loss, or None


class CompiledOutputs:
    """The per-output losses and metrics of a compiled multi-output model.

    Args:
        output_names: the model's output names, in the order of its outputs.
        loss, loss_weights, metrics, weighted_metrics: `compile`'s arguments.
        keyed: whether the model's outputs are a dict (by `output_names`).
    """

    def __init__(self, output_names: list[str], loss, loss_weights=None, metrics=None,
                 weighted_metrics=None, keyed: bool = False):
        self.output_names, self.keyed = list(output_names), keyed
        self.arguments = {"loss": loss, "loss_weights": loss_weights, "metrics": metrics,
                          "weighted_metrics": weighted_metrics}
        n = len(self.output_names)
        if isinstance(loss, dict) and not keyed and set(loss) < set(self.output_names):
            # Keras: a list of outputs needs every name (a dict of outputs may leave some out)
            raise ValueError(f"compile: loss has keys {list(loss)}; expected every output "
                             f"name {self.output_names} (None for an output not trained)")
        loss_list = _per_output("loss", loss, self.output_names, single_for_all=True)
        weights = _loss_weights(loss_weights, loss, self.output_names)
        specs = _metric_lists("metrics", metrics, self.output_names)
        weighted_specs = _metric_lists("weighted_metrics", weighted_metrics, self.output_names)
        self.terms = [OutputTerm(self.output_names[i], losses_module.get(loss_list[i]),
                                 weights[i], specs[i], weighted_specs[i]) for i in range(n)]
        trained = [t for t in self.terms if t.loss is not None]
        if not trained:
            raise ValueError(f"compile: loss gives no output of {self.output_names} a loss; "
                             f"got loss={loss!r}")
        if len(trained) > 1:                # Keras tracks them only when there are several
            for term in trained:
                term.tracker = metrics_module.Mean(name=f"{term.name}_loss")
        self.last_losses: list = [None] * n  # each output's loss in the last step

    # ----- the loss ---------------------------------------------------------------------
    def loss_value(self, model, y, y_pred, sample_weight) -> float:
        """Σ w_i · loss_i of a forward pass (with the add_loss terms); no gradient."""
        total, y = 0.0, _arrays(y)
        masks = model.output_masks
        for i, term in enumerate(self.terms):
            if term.loss is None:
                continue
            weights = _entry(sample_weight, i)
            value = float(term.loss(y[i], y_pred[i], sample_weight=weights,
                                    **_mask(masks[i])))
            self.last_losses[i] = value
            total += term.weight * value
        return total + total_added_loss(model)

    def backpropagate(self, model, y, y_pred, sample_weight, factor: float = 1.0) -> float:
        """Σ w_i · loss_i (with the add_loss terms); runs model.backward with one dL/dy_i
        (or dL/dlogits_i, fused) per output, each scaled by w_i · factor."""
        total, dys, fused_flags, y = 0.0, [], [], _arrays(y)
        masks, fusable = model.output_masks, model.fusable_outputs()
        for i, (term, layer) in enumerate(zip(self.terms, model.output_layers)):
            if term.loss is None:
                dys.append(None)
                fused_flags.append(False)
                continue
            weights, masked = _entry(sample_weight, i), _mask(masks[i])
            fused = fusable[i] and gradients.fused_output_activation(
                term.loss, layer, model.output_shape[i])
            if fused:
                value, dy = term.loss.fused_value_and_gradient(y[i], fused.logits, y_pred[i],
                                                               weights, **masked)
            else:
                value = term.loss(y[i], y_pred[i], sample_weight=weights, **masked)
                dy = term.loss.gradient(y[i], y_pred[i], sample_weight=weights, **masked)
            scale = term.weight * factor
            if scale != 1.0:
                dy = dy * dy.dtype.type(scale)
            dys.append(dy)
            fused_flags.append(bool(fused))
            self.last_losses[i] = float(value)
            total += term.weight * float(value)
        if added_losses(model):   # add_loss terms on an untrained output's path: reach them
            dys = [namespace(p).zeros_like(p) if d is None else d for d, p in zip(dys, y_pred)]
        model.backward(dys, from_preactivation=fused_flags, input_gradient=False)
        return total + total_added_loss(model)

    # ----- metrics ----------------------------------------------------------------------
    @property
    def built(self) -> bool:
        return all(t.metrics is not None for t in self.terms)

    def build_metrics(self, y, y_pred) -> None:
        """Make each output's metrics, once ('accuracy' as the shapes of its batch ask)."""
        y = _arrays(y)
        for i, term in enumerate(self.terms):
            if term.metrics is None:
                term.metrics = [metrics_module.get(s, loss=term.loss, y_true=y[i],
                                                   y_pred=y_pred[i]) for s in term.metric_specs]
                term.weighted = [metrics_module.get(s, loss=term.loss, y_true=y[i],
                                                    y_pred=y_pred[i])
                                 for s in term.weighted_specs]

    @property
    def metrics(self) -> list:
        """Every metric object: each output's metrics, its weighted metrics, then the
        per-output loss trackers (Keras' order of `model.metrics` after "loss")."""
        found = [m for t in self.terms for m in (t.metrics or []) + (t.weighted or [])]
        return found + [t.tracker for t in self.terms if t.tracker is not None]

    def update_metrics(self, y, y_pred, sample_weight, masks, batch_size: int) -> None:
        """Add one batch: the unweighted loss of each trained output (weighted by the batch
        size), the metrics (no sample weights) and the weighted metrics."""
        self.build_metrics(y, y_pred)
        y = _arrays(y)
        for i, term in enumerate(self.terms):
            if term.tracker is not None and self.last_losses[i] is not None:
                term.tracker.update_state(self.last_losses[i], sample_weight=batch_size)
            for metric in term.metrics:
                _update(metric, y[i], y_pred[i], None, masks[i])
            for metric in term.weighted:
                _update(metric, y[i], y_pred[i], _entry(sample_weight, i), masks[i])

    def results(self) -> dict[str, float]:
        """{log name: value} of the metrics and per-output losses (without "loss")."""
        results: dict[str, float] = {}
        for term in self.terms:
            for metric in term.metrics or []:
                name = _unique(f"{term.name}_{metric.name}", results)
                results[name] = scalar_or_array(metric.result())
        for term in self.terms:
            for metric in term.weighted or []:
                name = f"{term.name}_{metric.name}"
                if name in results:
                    name = _unique(f"{term.name}_weighted_{metric.name}", results)
                results[name] = scalar_or_array(metric.result())
            if term.tracker is not None:
                results[term.tracker.name] = float(term.tracker.result())
        return results

    def loss_names(self) -> list[str]:
        """The per-output loss names as evaluate lists them after "loss": in output order, or
        in the order of the keys of a dict `loss` (Keras walks that dict)."""
        loss = self.arguments["loss"]
        order = ([self.output_names.index(k) for k in loss]
                 if isinstance(loss, dict) and self.keyed else range(len(self.terms)))
        return [self.terms[i].tracker.name for i in order if self.terms[i].tracker is not None]

    # ----- config -----------------------------------------------------------------------
    def get_config(self, serialize) -> dict:
        """compile's arguments with every loss and metric object serialized (lists and
        dicts kept)."""
        def convert(value):
            if isinstance(value, dict):
                return {key: convert(v) for key, v in value.items()}
            if isinstance(value, (list, tuple)):
                return [convert(v) for v in value]
            if value is None or isinstance(value, (str, int, float)):
                return value
            return serialize(value)

        return {key: convert(value) for key, value in self.arguments.items()}


def has_several_outputs(model) -> bool:
    """Whether `model` is a graph with several outputs (Model(inputs, [a, b]))."""
    return len(getattr(model, "output_names", None) or []) > 1


def flat_specs(structure) -> list:
    """Every loss or metric entry of a (possibly nested) list or dict, flattened."""
    if isinstance(structure, dict):
        return [s for value in structure.values() for s in flat_specs(value)]
    if isinstance(structure, (list, tuple)):
        return [s for value in structure for s in flat_specs(value)]
    return [] if structure is None else [structure]


# ----- reading compile's arguments ----------------------------------------------------------
def _per_output(argument: str, value, names: list[str], single_for_all: bool) -> list:
    """`value` as one entry per output: a list of the right length, a dict by output name
    (names left out get None), or one value for every output."""
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(f"compile: {argument} has keys {unknown} that are not outputs of "
                             f"the model; expected keys among the output names {names}")
        return [value.get(name) for name in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(f"compile: {argument} is a list of {len(value)}; the model has "
                             f"{len(names)} outputs {names}: give one entry per output, or a "
                             f"dict keyed by output name")
        return list(value)
    if single_for_all:
        return [value] * len(names)
    raise ValueError(f"compile: {argument} must be a list or a dict for a model with "
                     f"{len(names)} outputs {names}, got {value!r}")


def _loss_weights(loss_weights, loss, names: list[str]) -> list[float]:
    if loss_weights is None:
        return [1.0] * len(names)
    if not isinstance(loss, (list, tuple, dict)):
        raise ValueError(f"compile: loss_weights={loss_weights!r} must match the structure of "
                         f"loss={loss!r}: give a loss per output (a list or a dict) to weight "
                         f"them")
    weights = _per_output("loss_weights", loss_weights, names, single_for_all=False)
    result = []
    for name, weight in zip(names, weights):
        weight = 1.0 if weight is None else weight
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) \
                or not np.isfinite(weight):
            raise ValueError(f"compile: loss_weights for output {name!r} must be a finite "
                             f"number, got {weight!r}")
        result.append(float(weight))
    return result


def _metric_lists(argument: str, metrics, names: list[str]) -> list[list]:
    """One list of metric specs per output (Keras: a list with one entry per output, or a
    dict for some outputs)."""
    if not metrics:
        return [[] for _ in names]
    if isinstance(metrics, (list, tuple)) and len(metrics) != len(names) \
            or not isinstance(metrics, (list, tuple, dict)):
        raise ValueError(f"compile: {argument}={metrics!r}: for a model with {len(names)} "
                         f"outputs {names}, give a list with one entry per output (a metric or "
                         f"a list of metrics) or a dict keyed by output name")
    return [flat_specs(entry) for entry in _per_output(argument, metrics, names, False)]


# ----- helpers ------------------------------------------------------------------------------
def _arrays(group) -> list:
    """The arrays of an OutputGroup (or a list) of targets, one per output."""
    return list(group.arrays) if isinstance(group, ArrayGroup) else list(group)


def _entry(group, i: int):
    """The i-th output's sample weights: from an OutputGroup or a list, one array for every
    output, or None."""
    if isinstance(group, ArrayGroup):
        return group.arrays[i]
    return group[i] if isinstance(group, (list, tuple)) else group


def _mask(mask) -> dict:
    return {} if mask is None else {"mask": mask}


def _update(metric, y, y_pred, sample_weight, mask) -> None:
    if mask is not None and "mask" in inspect.signature(metric.update_state).parameters:
        metric.update_state(y, y_pred, sample_weight=sample_weight, mask=mask)
    else:
        metric.update_state(y, y_pred, sample_weight=sample_weight)


def _unique(name: str, taken: dict) -> str:
    """`name`, or `name_1`, `name_2`, ... if already taken (Keras' suffixes)."""
    if name not in taken:
        return name
    index = 1
    while f"{name}_{index}" in taken:
        index += 1
    return f"{name}_{index}"

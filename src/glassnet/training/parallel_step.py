"""One training or evaluation step under data parallelism: local work, one all-reduce.

On every rank, with its shard of the global batch (see `glassnet.distribution.shards`):

    zero grads; forward; loss L_r                   on the rank's rows
    dy = s_r · dL_r/dy_pred; backward               s_r = D_r / Σ D_r, the rank's share
    the metrics' sums of the rank's rows            -> Δmetrics_r (not kept yet)
    buffer = [s_r·L_r, D_r, n_r, 1, signals, Δmetrics_r, Δmoving_r ..., W.grad ...]
    allreduce_sum(buffer)                           one call, every number summed over ranks
    W.grad = Σ_r s_r·dL_r/dW                        the gradient of the whole batch
    penalties; finiteness check; optimizer.apply    the same numbers on every rank

D_r is what the loss divides by on rank r (`Loss.divisor`: the entries it averaged), so
Σ s_r L_r is the loss one process computes for the whole batch, however unevenly the batch
was split. Usually s_r is known without communicating (no mask: n_r / n); when it is not
(a mask, ignore_class, a mean over the sample weights) the weighting moves to the buffer,
D_r·W.grad before the reduction and a division by Σ D_r after (`_Share` says which). A "sum"
loss has s_r = 1. The gradients are views of the flat buffer (`param.grad` is bound to
them), so backward writes straight into it. With gradient buckets (`gradient_buckets.py`)
the one call becomes a few, the later layers' started during backward; the numbers are
the same.

Non-trainable weights that a forward pass moves (BatchNormalization's moving statistics)
are averaged: each rank's change, summed, divided by the ranks that had data. Metrics must
keep additive state (totals and counts, as every built-in one): their changes are summed;
the running loss is added once, from the global loss.

A step that is not finite fails on every rank together (the check runs on the reduced
numbers), so `DivergenceError` is raised everywhere, never on one rank alone.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import numpy as np

from glassnet.distribution import FlatBuffer, Shard, sharding
from glassnet.training import gradient_buckets, gradients, guard, locate

# The first numbers of the flat buffer, in order (the metrics' changes follow).
_LOSS, _DIVISOR, _SAMPLES, _HAS_DATA, _SIGINT, _SIGTERM = range(6)
_FIXED = 6


class ParallelRun:
    """What one fit, evaluate or predict under data parallelism keeps between its steps.

    Attributes:
        communicator: the ranks' collectives.
        synced: whether rank 0's weights have reached every rank in this run.
        buffer: the flat gradient buffer (made at the first step, kept).
        bucket_bytes: the size of a gradient bucket (None: one all-reduce after backward;
            see `gradient_buckets.py`).
        buckets: the buffer's buckets, or None.
    """

    def __init__(self, communicator, bucket_bytes: int | None = None):
        self.communicator = communicator
        self.synced = False
        self.buffer: FlatBuffer | None = None
        self.bucket_bytes = bucket_bytes
        self.buckets: gradient_buckets.GradientBuckets | None = None
        self._coupled: bool | None = None
        self._moving_key: tuple | None = None
        self._moving: list = []

    def coupled(self, model) -> bool:
        """Whether a layer of the model sums over ranks in its backward (synchronized)."""
        if self._coupled is None:
            self._coupled = _has_synchronized_layer(model)
        return self._coupled

    def moving_parameters(self, model, params) -> list:
        """The model's non-trainable weights, looked up again only when the trainable
        ones change (a layer frozen or unfrozen between steps)."""
        key = tuple(map(id, params))
        if key != self._moving_key:
            self._moving = [p for p in model.parameters() if not p.trainable]
            self._moving_key = key
        return self._moving

    def shard(self, total: int, start: int, stop: int) -> Shard:
        return Shard(total, start, stop, self.communicator, self)

    def ensure_synced(self, model) -> None:
        """Rank 0's weights and optimizer state on every rank, once a run, before the first
        step (the model may be built only at its first batch)."""
        if not self.synced:
            broadcast_weights(model, self.communicator)
            self.synced = True


def broadcast_weights(model, comm) -> None:
    """Every weight (moving statistics too) and the optimizer state from rank 0."""
    for param in model.parameters():
        value = param.value
        if value.flags.c_contiguous:
            comm.broadcast(value)
        else:
            param.value[...] = comm.broadcast(np.ascontiguousarray(value))
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        state = comm.broadcast_object(optimizer.get_state() if comm.rank == 0 else None)
        if comm.rank != 0:
            optimizer.set_state(state, model.parameters(trainable_only=True))


# ----- the training step -------------------------------------------------------------------
def train_step(model, x, y, sample_weight, shard: Shard) -> None:
    """`step.train_step` under data parallelism (see the module's docstring)."""
    run: ParallelRun = shard.owner
    run.ensure_synced(model)
    params = model.parameters(trainable_only=True)
    moving = [(p, p.value.copy()) for p in run.moving_parameters(model, params)]
    share = _Share(model, y, sample_weight, shard, run.coupled(model))
    layout = _Layout(run, model, y, params, moving, share)
    buckets = run.buckets
    with buckets.watching() if buckets is not None else contextlib.nullcontext():
        loss, y_pred = gradients.backpropagate_loss(model, x, y, sample_weight, True, params,
                                                    gradient_scale=layout)
    buffer, tracked = layout.buffer, layout.tracked
    changes = _metric_changes(model, loss, x, y, y_pred, sample_weight, shard, tracked)
    for (param, before), view in zip(moving, buffer.views):
        if shard.empty:
            view[...] = 0.0
        else:
            np.subtract(param.value, before, out=view)
    head = [0.0] * _FIXED                     # written into the buffer at once
    if not shard.empty:
        head[_LOSS], head[_DIVISOR] = share.loss_weight * loss, share.divisor
        head[_SAMPLES], head[_HAS_DATA] = shard.count, 1.0
    _signal_flags(model, head)
    scalars = buffer.scalars
    scalars[:_FIXED] = head
    scalars[_FIXED:] = changes
    if layout.bucketed:
        buckets.finish()
    else:
        layout.collect_all()
        shard.communicator.allreduce_sum(buffer.array)

    reduced = scalars[:_FIXED].tolist()       # Python floats
    loss = reduced[_LOSS]
    grads = layout.grads
    if share.deferred:                        # Σ D_r·g_r / Σ D_r
        total = reduced[_DIVISOR]
        if total:
            grads *= 1.0 / total
        loss = loss / total if total else 0.0
    for index in layout.unbound:              # a gradient of another dtype than the buffer
        params[index].grad[...] = layout.grad_views[index]
    for (param, before), view in zip(moving, buffer.views):
        param.value[...] = before + view / reduced[_HAS_DATA]
    _agree_on_signals(model, reduced)
    loss += gradients.add_penalties(params)
    if not _finite(loss, grads, params, every_one_in_grads=not layout.unbound):
        _raise_divergence(model, x, y, sample_weight, loss, moving)
    model.optimizer.apply(params)
    _set_metrics(tracked, scalars[_FIXED:])
    model.metrics[0].update_state(loss, sample_weight=int(reduced[_SAMPLES]))


class _Layout:
    """Called between forward and backward (as `gradient_scale`): this rank's share of
    the loss (`_Share`), and the flat buffer made ready for backward: the metrics built
    (their numbers ride in the buffer), the buffer made again if its layout changed, the
    buckets armed when the buffer is the one they were cut from.

    Afterwards `collect(b)` (bucket b, or everything with `collect_all`) puts each
    gradient into the buffer: backward wrote it there already when `param.grad` is bound
    to its view; otherwise it is copied (and bound, for the next step). A rank without
    rows zeroes its part; a deferred share multiplies it by D_r.
    """

    def __init__(self, run: ParallelRun, model, y, params, moving, share: _Share):
        self.run, self.model, self.y, self.params = run, model, y, params
        self.moving, self.share = moving, share
        self.buffer: FlatBuffer | None = None
        self.tracked: list = []
        self.bucketed = False
        self.unbound: list[int] = []          # weights whose grad is not their view

    def __call__(self, y_pred) -> float:
        factor = self.share(y_pred)
        run, model = self.run, self.model
        self.tracked = _tracked(model, self.y, y_pred)
        previous = run.buffer
        buffer = _buffer(run, self.params, self.moving,
                         sum(_size(before) for _, before in self.tracked))
        self.buffer = buffer
        moving = len(self.moving)
        self.grad_views = buffer.views[moving:]
        self.grads_start = buffer.offsets[moving][0] if self.params else len(buffer.array)
        self.grads = buffer.array[self.grads_start:]
        if buffer is not previous:
            run.buckets = None if self.share.coupled else gradient_buckets.plan(
                model, buffer, self.params, run.bucket_bytes)
        elif run.buckets is not None:
            run.buckets.arm(self.share.shard.communicator, self.collect)
            self.bucketed = True
        return factor

    def collect(self, bucket: int) -> None:
        buckets = self.run.buckets
        start, stop = buckets.slices[bucket]          # the last one begins with the scalars
        self._collect(buckets.members[bucket], max(start, self.grads_start), stop)

    def collect_all(self) -> None:
        self._collect(range(len(self.params)), self.grads_start, len(self.buffer.array))

    def _collect(self, members, start: int, stop: int) -> None:
        params, views = self.params, self.grad_views
        for index in members:
            param, view = params[index], views[index]
            grad = param.grad                 # writes a pending zero_grad's zeros
            if grad is not view:
                view[...] = grad
                if grad.dtype == view.dtype:
                    param.grad = view         # from the next step on, backward writes here
                else:
                    self.unbound.append(index)
        share, part = self.share, self.buffer.array[start:stop]
        if share.shard.empty:
            part[:] = 0.0                     # a stand-in sample: counts for nothing
        elif share.deferred:
            part *= share.divisor


class _Share:
    """This rank's share of the batch's loss, D_r / Σ_r D_r, and where it is applied.

    Called between forward and backward (`gradient_scale`), it returns the factor for the
    rank's dL/dy_pred, so that backward yields the rank's part of the whole batch's
    gradient and the reduction is a plain sum. The factor is known without communicating
    when the loss averages over entries that no mask removes (D_r ∝ the rank's samples:
    n_r / total); a "sum" loss takes 1. Otherwise (masks, ignore_class, a mean over the
    sample weights) D_r is known only locally: a model whose backward sums over ranks asks
    the others first (one small all-reduce); any other defers the weighting to the flat
    buffer (`deferred`: multiply by D_r before the reduction, divide by Σ D_r after).
    """

    def __init__(self, model, y, sample_weight, shard: Shard, coupled: bool):
        self.model, self.y, self.sample_weight = model, y, sample_weight
        self.shard, self.coupled = shard, coupled
        self.divisor, self.loss_weight, self.deferred = 0.0, 0.0, False

    def __call__(self, y_pred) -> float:
        model, shard = self.model, self.shard
        if getattr(model.loss, "reduction", None) == "sum":
            factor = 1.0
        elif _counts_entries(model):
            factor = shard.count / shard.total
        else:
            self.divisor, _ = _divisor(model, self.y, y_pred, self.sample_weight)
            if self.coupled:
                mine = 0.0 if shard.empty else self.divisor
                total = shard.communicator.allreduce_sum(np.array([mine]))[0]
                factor = self.divisor / total if total else 0.0
            else:
                self.deferred = True
                factor = 1.0
        factor = 0.0 if shard.empty else factor
        self.loss_weight = self.divisor if self.deferred else factor
        return factor


def _counts_entries(model) -> bool:
    """Whether the loss divides by its entries, every one counted (no mask): then D_r is
    proportional to the rank's samples, the same for all ranks' rows."""
    loss = model.loss
    if getattr(loss, "divisor", None) is None:
        return True                           # assumed a mean over the samples
    return (getattr(loss, "reduction", None) in ("sum_over_batch_size", "mean")
            and getattr(loss, "ignore_class", None) is None
            and not gradients.mask_argument(model))


def _finite(loss: float, grads: np.ndarray, params, every_one_in_grads: bool) -> bool:
    """`guard.step_is_finite`, as one dot over the flat gradients when they are all in it."""
    if not math.isfinite(loss):
        return False
    if every_one_in_grads and math.isfinite(float(np.vdot(grads, grads))):
        return True
    return guard.step_is_finite(loss, params)


def _buffer(run: ParallelRun, params, moving, metric_numbers: int) -> FlatBuffer:
    """The run's flat buffer, made again only when the layout changes (the first step, or
    the first step after the metrics were built)."""
    shapes = [p.value.shape for p, _ in moving] + [p.value.shape for p in params]
    dtypes = {p.value.dtype for p in params} | {p.value.dtype for p, _ in moving}
    dtype = dtypes.pop() if len(dtypes) == 1 else np.float64
    if np.dtype(dtype).kind != "f":
        dtype = np.float64
    scalars = _FIXED + metric_numbers
    if run.buffer is None or not run.buffer.fits(shapes, scalars, dtype):
        run.buffer = FlatBuffer(shapes, scalars, dtype)
    return run.buffer


def _divisor(model, y, y_pred, sample_weight) -> tuple[float, bool]:
    """(D_r, whether the loss is a plain sum): what this rank's loss divided by."""
    divisor = getattr(model.loss, "divisor", None)
    if divisor is None:                   # a loss without one: assume a mean over samples
        return float(len(y_pred)), False
    value = divisor(y, y_pred, sample_weight=sample_weight, **gradients.mask_argument(model))
    return (1.0, True) if value is None else (float(value), False)


def _has_synchronized_layer(layer) -> bool:
    return any(getattr(sub, "synchronized", False) is True or _has_synchronized_layer(sub)
               for sub in layer.sublayers())


def _raise_divergence(model, x, y, sample_weight, loss: float, moving) -> None:
    """Every rank raises (the check ran on the same reduced numbers); each names what its
    own rows show. The search runs outside the shard: it is this rank's alone."""
    with sharding(None):
        error = locate.divergence_error(model, x, y, sample_weight, loss=loss)
    for param, value in moving:
        param.value[...] = value
    raise error


# ----- metrics -------------------------------------------------------------------------------
def _metric_changes(model, loss: float, x, y, y_pred, sample_weight, shard: Shard,
                    tracked) -> np.ndarray:
    """What the rank's rows add to the compiled metrics' state (`tracked`: each metric and
    its numbers before this batch), flat float64; the metrics themselves are left as
    before, to be set once reduced."""
    if shard.empty:
        return np.zeros(sum(_size(before) for _, before in tracked))
    if not tracked:
        return np.zeros(0)                    # only the running loss: set from the global one
    tracker = model.metrics[0]
    tracker_before = _numbers(tracker)
    model.update_metrics(loss, x, y, y_pred, sample_weight)
    changes = []
    for metric, before in tracked:
        after = _numbers(metric)
        changes.extend(np.ravel(np.asarray(after[name], dtype=np.float64)
                                - np.asarray(value, dtype=np.float64))
                       for name, value in before.items())
        _assign(metric, before)
    _assign(tracker, tracker_before)
    return np.concatenate(changes) if changes else np.zeros(0)


def _tracked(model, y, y_pred) -> list:
    """The compiled metrics (built at the first batch) with their numbers now."""
    model.build_metrics(y, y_pred)
    return [(metric, _numbers(metric)) for metric in model.metrics[1:]]


def _numbers(metric) -> dict[str, Any]:
    """A metric's numeric state: its int/float attributes and numeric arrays (copies)."""
    state = {}
    for name, value in sorted(vars(metric).items()):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            state[name] = value
        elif isinstance(value, np.ndarray) and value.dtype.kind in "iuf":
            state[name] = value.copy()
    return state


def _size(state: dict[str, Any]) -> int:
    return sum(int(np.size(value)) for value in state.values())


def _assign(metric, state: dict[str, Any]) -> None:
    for name, value in state.items():
        setattr(metric, name, value)


def _set_metrics(tracked, changes: np.ndarray) -> None:
    """Each metric's state before the batch plus the changes summed over the ranks."""
    offset = 0
    for metric, before in tracked:
        for name, value in before.items():
            size = int(np.size(value))
            change = changes[offset:offset + size]
            offset += size
            if isinstance(value, np.ndarray):
                setattr(metric, name, (value + change.reshape(value.shape)).astype(value.dtype))
            elif isinstance(value, int):
                setattr(metric, name, value + round(float(change[0])))
            else:
                setattr(metric, name, value + float(change[0]))


# ----- evaluation ----------------------------------------------------------------------------
def test_step(model, x, y, sample_weight, shard: Shard) -> None:
    """`step.test_step` under data parallelism: the rank's rows, then one small all-reduce
    of the loss and the metrics' changes."""
    shard.owner.ensure_synced(model)
    y_pred = model.forward(x, training=False)
    loss = gradients.data_loss(model, y, y_pred, sample_weight)
    divisor, summed = _divisor(model, y, y_pred, sample_weight)
    tracked = _tracked(model, y, y_pred)
    changes = _metric_changes(model, loss, x, y, y_pred, sample_weight, shard, tracked)
    scalars = np.zeros(_FIXED + len(changes))
    if not shard.empty:
        scalars[_LOSS], scalars[_DIVISOR] = divisor * loss, divisor
        scalars[_SAMPLES], scalars[_HAS_DATA] = shard.count, 1.0
        scalars[_FIXED:] = changes
    shard.communicator.allreduce_sum(scalars)
    total_divisor = 1.0 if summed else float(scalars[_DIVISOR])
    loss = (float(scalars[_LOSS]) / total_divisor if total_divisor else 0.0) \
        + gradients.penalty(model)
    _set_metrics(tracked, scalars[_FIXED:])
    model.metrics[0].update_state(loss, sample_weight=int(scalars[_SAMPLES]))


# ----- interruption --------------------------------------------------------------------------
def _signal_flags(model, scalars) -> None:
    """This rank's pending Ctrl-C / SIGTERM, to be agreed on in the step's reduction."""
    requested = getattr(getattr(model, "fit_progress", None), "requested", None)
    if requested is not None:
        scalars[_SIGTERM if requested == "SIGTERM" else _SIGINT] = 1.0


def _agree_on_signals(model, scalars) -> None:
    if not (scalars[_SIGINT] or scalars[_SIGTERM]):
        return
    progress = getattr(model, "fit_progress", None)
    if hasattr(progress, "agree"):
        progress.agree("SIGTERM" if scalars[_SIGTERM] else "SIGINT")

"""Keras 3 training semantics in float64 PyTorch: losses, optimizers, schedules, `fit`.

Written from Keras 3's source:
    losses      keras/src/losses/losses.py (per-sample functions) and loss.py
                (`reduce_weighted_values`, `apply_mask`: a mask on the predictions becomes
                weights total/valid, so "sum_over_batch_size" averages the valid entries)
    optimizers  keras/src/optimizers/{sgd,rmsprop,adagrad,adam}.py and base_optimizer.py:
                clip, then decoupled weight decay at the current rate, then the update, then
                iterations += 1; a schedule is evaluated at `iterations`
    schedules   keras/src/optimizers/schedules/learning_rate_schedule.py
    fit         keras/src/trainers: validation_split keeps the first floor(n (1 - split))
                samples for training (array_slicing.train_validation_split); class_weight
                weights the training part only (array_data_adapter); the reported loss is the
                batch-size-weighted mean of the per-batch losses, regularization included.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from reference import DTYPE, KERAS_EPSILON, RefNet, tensor


# ----- losses ---------------------------------------------------------------------------------
def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1: bool = True):
    """keras.src.losses.loss.squeeze_or_expand_to_same_rank."""
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        if x2.ndim == 1 and expand_rank_1:
            x2 = x2[..., None]
        else:
            x1 = x1.squeeze(-1)
    if x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        if x1.ndim == 1 and expand_rank_1:
            x1 = x1[..., None]
        else:
            x2 = x2.squeeze(-1)
    return x1, x2


def loss_values(spec: dict, y_true, y_pred):
    """(per-entry losses as Keras' loss function returns them, their mask or None)."""
    kind = spec["kind"]
    if kind == "scce":
        return _sparse_categorical(spec, y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true.to(DTYPE), y_pred)
    if kind == "mse":
        return ((y_true - y_pred) ** 2).mean(dim=-1), None
    if kind == "mae":
        return (y_true - y_pred).abs().mean(dim=-1), None
    if kind == "huber":
        delta = spec.get("delta", 1.0)
        error = (y_pred - y_true).abs()
        values = torch.where(error <= delta, 0.5 * error**2, delta * error - 0.5 * delta**2)
        return values.mean(dim=-1), None
    if kind == "bce":
        smoothing = spec.get("label_smoothing", 0.0)
        y_true = y_true * (1.0 - smoothing) + 0.5 * smoothing
        if spec.get("from_logits", False):
            z = y_pred
            values = torch.relu(z) - z * y_true + torch.log1p(torch.exp(-z.abs()))
        else:
            p = y_pred.clamp(KERAS_EPSILON, 1.0 - KERAS_EPSILON)
            values = -(y_true * torch.log(p) + (1 - y_true) * torch.log(1 - p))
        return values.mean(dim=spec.get("axis", -1)), None
    if kind == "cce":
        axis, smoothing = spec.get("axis", -1), spec.get("label_smoothing", 0.0)
        if smoothing:                              # Keras counts the classes on axis -1
            y_true = y_true * (1.0 - smoothing) + smoothing / y_true.shape[-1]
        if spec.get("from_logits", False):
            log_p = torch.log_softmax(y_pred, dim=axis)
        else:
            p = y_pred / y_pred.sum(dim=axis, keepdim=True)
            log_p = torch.log(p.clamp(KERAS_EPSILON, 1.0 - KERAS_EPSILON))
        return -(y_true * log_p).sum(dim=axis), None
    if kind == "cosine":
        axis = spec.get("axis", -1)

        def normalize(v):
            return v / torch.clamp(v.norm(dim=axis, keepdim=True), min=KERAS_EPSILON)

        return -(normalize(y_true) * normalize(y_pred)).sum(dim=axis), None
    raise NotImplementedError(f"reference: loss {kind!r}")


def _sparse_categorical(spec: dict, y_true, y_pred):
    labels = y_true.round().long()
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = labels.squeeze(-1)
    ignore = spec.get("ignore_class")
    valid = None if ignore is None else labels != ignore
    if valid is not None:
        labels = torch.where(valid, labels, 0)
    if spec.get("from_logits", False):
        log_p = torch.log_softmax(y_pred, dim=-1)
    else:
        p = y_pred / y_pred.sum(dim=-1, keepdim=True)
        log_p = torch.log(p.clamp(KERAS_EPSILON, 1.0 - KERAS_EPSILON))
    values = -log_p.gather(-1, labels[..., None])[..., 0]
    if valid is not None:
        values = torch.where(valid, values, 0.0)
    return values, valid


def apply_mask(sample_weight, mask, reduction):
    """keras.src.losses.loss.apply_mask."""
    if mask is None:
        return sample_weight
    if reduction in ("mean", "sum_over_batch_size"):
        total = float(math.prod(mask.shape))
        valid = mask.to(DTYPE).sum()
        weight = total / valid if float(valid) != 0 else torch.zeros((), dtype=DTYPE)
        float_mask = torch.where(mask, weight, 0.0)
    else:
        float_mask = mask.to(DTYPE)
    if sample_weight is None:
        return float_mask
    float_mask, sample_weight = squeeze_or_expand_to_same_rank(float_mask, sample_weight)
    return sample_weight * float_mask


def reduce_weighted_values(values, sample_weight=None, mask=None,
                           reduction="sum_over_batch_size"):
    """keras.src.losses.loss.reduce_weighted_values (and reduce_values)."""
    sample_weight = apply_mask(sample_weight, mask, reduction)
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        values = values * sample_weight
    if reduction in (None, "none") or values.ndim == 0:
        return values
    loss = values.sum()
    if reduction == "sum":
        return loss
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        divisor = sample_weight.sum()
    else:
        divisor = float(math.prod(values.shape))
    return loss / divisor if float(divisor) != 0 else loss * 0.0   # divide_no_nan


def keras_loss(spec: dict, y_true, y_pred, sample_weight=None, mask=None):
    """`keras.losses.Loss.__call__`: `mask` is the Keras mask of y_pred (or None)."""
    values, out_mask = loss_values(spec, y_true, y_pred)
    if mask is not None and out_mask is not None:
        mask = mask & out_mask
    elif out_mask is not None:
        mask = out_mask
    return reduce_weighted_values(values, sample_weight, mask,
                                  spec.get("reduction", "sum_over_batch_size"))


# ----- learning-rate schedules and optimizers -------------------------------------------------
def schedule(spec, step: int) -> float:
    """The learning rate at `step`: a float, or a {"kind": ...} schedule (Keras formulas)."""
    if not isinstance(spec, dict):
        return float(spec)
    a = spec
    if a["kind"] == "ExponentialDecay":
        p = step / a["decay_steps"]
        return a["initial_learning_rate"] * a["decay_rate"] ** (
            math.floor(p) if a.get("staircase") else p)
    if a["kind"] == "PiecewiseConstantDecay":
        bounds, values = a["boundaries"], a["values"]
        if step <= bounds[0]:
            return values[0]
        if step > bounds[-1]:
            return values[-1]
        return next(v for low, high, v in zip(bounds, bounds[1:], values[1:])
                    if low < step <= high)
    if a["kind"] == "CosineDecay":
        initial, decay_steps, alpha = a["initial_learning_rate"], a["decay_steps"], a["alpha"]
        target, warmup = a.get("warmup_target"), a.get("warmup_steps", 0)

        def decayed(s, peak):
            return peak * ((1 - alpha) * 0.5 * (1.0 + math.cos(math.pi * s / decay_steps))
                           + alpha)

        if target is None:
            return decayed(min(step, decay_steps), initial)
        s = min(step, decay_steps + warmup)
        if s < warmup:
            return (target - initial) * (s / warmup) + initial
        return decayed(s - warmup, target)
    raise NotImplementedError(f"reference: schedule {a['kind']}")


class KerasOptimizer:
    """SGD, RMSprop, Adagrad, Adam, AdamW with Keras 3's update formulas, on tensors."""

    def __init__(self, spec: dict):
        self.spec = dict(spec)
        self.kind = self.spec.pop("kind")
        self.iterations = 0
        self.slots: dict[str, list] = {}

    def _get(self, key, default):
        return self.spec.get(key, default)

    def _slot(self, name: str, index: int, like, initial: float = 0.0):
        arrays = self.slots.setdefault(name, {})
        if index not in arrays:
            arrays[index] = torch.full_like(like, initial)
        return arrays[index]

    def apply(self, variables: list, grads: list) -> None:
        grads = [g.detach().clone() for g in grads]
        clipnorm, clipvalue = self._get("clipnorm", None), self._get("clipvalue", None)
        global_clipnorm = self._get("global_clipnorm", None)
        if clipnorm:
            grads = [g * clipnorm / torch.clamp(g.norm(), min=clipnorm) for g in grads]
        elif global_clipnorm:
            norm = torch.sqrt(sum((g * g).sum() for g in grads))
            scale = global_clipnorm * torch.clamp(1.0 / norm, max=1.0 / global_clipnorm)
            grads = [g * scale for g in grads]
        elif clipvalue:
            grads = [g.clamp(-clipvalue, clipvalue) for g in grads]
        lr = schedule(self._get("learning_rate", 0.001 if self.kind != "SGD" else 0.01),
                      self.iterations)
        default_decay = 0.004 if self.kind == "AdamW" else None
        decay = self._get("weight_decay", default_decay)
        with torch.no_grad():
            if decay:
                for v in variables:
                    v.sub_(v * decay * lr)
            for index, (v, g) in enumerate(zip(variables, grads)):
                self._update(index, v, g, lr)
        self.iterations += 1

    def _update(self, index, v, g, lr) -> None:
        if self.kind == "SGD":
            momentum = self._get("momentum", 0.0)
            if momentum == 0:
                v.sub_(g * lr)
                return
            m = self._slot("momentum", index, v)
            m.copy_(m * momentum - g * lr)
            v.add_(m * momentum - g * lr if self._get("nesterov", False) else m)
        elif self.kind == "RMSprop":
            rho, momentum = self._get("rho", 0.9), self._get("momentum", 0.0)
            epsilon = self._get("epsilon", 1e-7)
            velocity = self._slot("velocity", index, v)
            velocity.copy_(rho * velocity + (1 - rho) * g * g)
            if self._get("centered", False):
                average = self._slot("average_gradient", index, v)
                average.copy_(rho * average + (1 - rho) * g)
                denominator = velocity - average * average + epsilon
            else:
                denominator = velocity + epsilon
            increment = lr * g / torch.sqrt(denominator)
            if momentum > 0:
                m = self._slot("momentum", index, v)
                m.copy_(momentum * m + increment)
                v.sub_(m)
            else:
                v.sub_(increment)
        elif self.kind == "Adagrad":
            accumulator = self._slot("accumulator", index, v,
                                     self._get("initial_accumulator_value", 0.1))
            accumulator.add_(g * g)
            v.sub_(lr * g / torch.sqrt(accumulator + self._get("epsilon", 1e-7)))
        elif self.kind in ("Adam", "AdamW"):
            beta_1, beta_2 = self._get("beta_1", 0.9), self._get("beta_2", 0.999)
            t = self.iterations + 1
            alpha = lr * math.sqrt(1 - beta_2**t) / (1 - beta_1**t)
            m, velocity = self._slot("momentum", index, v), self._slot("velocity", index, v)
            m.add_((g - m) * (1 - beta_1))
            velocity.add_((g * g - velocity) * (1 - beta_2))
            if self._get("amsgrad", False):
                v_hat = self._slot("velocity_hat", index, v)
                v_hat.copy_(torch.maximum(v_hat, velocity))
                velocity = v_hat
            v.sub_(m * alpha / (torch.sqrt(velocity) + self._get("epsilon", 1e-7)))
        else:
            raise NotImplementedError(f"reference: optimizer {self.kind}")


# ----- fit / evaluate -------------------------------------------------------------------------
def _targets(y, sparse: bool):
    return torch.tensor(np.asarray(y)).long() if sparse else tensor(y)


def loss_on_batch(ref: RefNet, loss_spec: dict, xs, y, sample_weight, training: bool):
    """The regularized Keras loss of one batch (a tensor), and the model's output."""
    y_pred, mask = ref.forward([tensor(x) for x in xs], training)
    weights = None if sample_weight is None else tensor(sample_weight)
    loss = keras_loss(loss_spec, _targets(y, loss_spec["kind"] == "scce"), y_pred, weights, mask)
    return loss + ref.regularization(), y_pred


def clipped_probabilities(loss_spec: dict, y_pred) -> bool:
    """Whether Keras clips a predicted probability (to [1e-7, 1 - 1e-7]) in this loss. There
    glassnet's fused softmax/sigmoid cross-entropy differs on purpose (docs/differences.md),
    so the suite does not compare such a case's loss."""
    if loss_spec["kind"] not in ("cce", "scce", "bce") or loss_spec.get("from_logits"):
        return False
    p = y_pred.detach()
    return bool((p < 1e-6).any() or (p > 1 - 1e-6).any())


def train_step(ref: RefNet, loss_spec: dict, optimizer: KerasOptimizer, xs, y,
               sample_weight=None) -> tuple[float, bool]:
    """One Keras train step: (the batch's loss, whether Keras clipped a probability)."""
    loss, y_pred = loss_on_batch(ref, loss_spec, xs, y, sample_weight, training=True)
    variables = ref.trainable_tensors
    grads = torch.autograd.grad(loss, variables, allow_unused=True)
    used = [(v, g) for v, g in zip(variables, grads) if g is not None]
    optimizer.apply([v for v, _ in used], [g for _, g in used])
    return loss.item(), clipped_probabilities(loss_spec, y_pred)


def _batches(n: int, batch_size: int):
    return [slice(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]


def evaluate(ref: RefNet, loss_spec: dict, xs, y, sample_weight,
             batch_size: int) -> tuple[float, bool]:
    """Keras' evaluate loss, the batch-size-weighted mean of the per-batch losses, and
    whether Keras clipped a probability on the way."""
    total, count, clipped = 0.0, 0, False
    for part in _batches(len(y), batch_size):
        with torch.no_grad():
            loss, y_pred = loss_on_batch(ref, loss_spec, [x[part] for x in xs], y[part],
                                         None if sample_weight is None else sample_weight[part],
                                         training=False)
        clipped |= clipped_probabilities(loss_spec, y_pred)
        total += loss.item() * len(y[part])
        count += len(y[part])
    return total / count, clipped


def class_weight_to_sample_weights(y, class_weight: dict) -> np.ndarray:
    """data_adapter_utils.class_weight_to_sample_weights (a missing class weighs 1)."""
    y = np.asarray(y)
    if y.ndim > 1:
        y = np.argmax(y, axis=-1) if y.shape[-1] != 1 else np.squeeze(y, axis=-1)
    return np.array([class_weight.get(int(c), 1.0) for c in np.round(y).astype(int)])


def fit(ref: RefNet, loss_spec: dict, optimizer: KerasOptimizer, xs, y, *, batch_size: int,
        epochs: int, sample_weight=None, class_weight=None, validation_split: float = 0.0,
        validation_data=None) -> tuple[dict[str, list[float]], bool]:
    """Keras' fit with shuffle=False: the History's "loss" (and "val_loss"), and whether
    Keras clipped a probability on the way."""
    if validation_split and validation_data is None:
        split_at = int(math.floor(len(y) * (1.0 - validation_split)))
        validation_data = ([x[split_at:] for x in xs], y[split_at:],
                           None if sample_weight is None else sample_weight[split_at:])
        xs, y = [x[:split_at] for x in xs], y[:split_at]
        sample_weight = None if sample_weight is None else sample_weight[:split_at]
    if class_weight is not None:
        if sample_weight is not None:
            raise ValueError("Keras: You cannot `class_weight` and `sample_weight` at the "
                             "same time.")
        sample_weight = class_weight_to_sample_weights(y, class_weight)
    history: dict[str, list[float]] = {"loss": []}
    clipped = False
    for _ in range(epochs):
        total, count = 0.0, 0
        for part in _batches(len(y), batch_size):
            loss, clip = train_step(ref, loss_spec, optimizer, [x[part] for x in xs], y[part],
                                    None if sample_weight is None else sample_weight[part])
            clipped |= clip
            total += loss * len(y[part])
            count += len(y[part])
        history["loss"].append(total / count)
        if validation_data is not None:
            val_x, val_y, val_weight = (tuple(validation_data) + (None,))[:3]
            value, clip = evaluate(ref, loss_spec, val_x, val_y, val_weight, batch_size)
            clipped |= clip
            history.setdefault("val_loss", []).append(value)
    return history, clipped


"""Optimizers: SGD, RMSprop, Adagrad, Adam, AdamW, with the Keras 3 update formulas.

An optimizer updates a list of `Parameter`s in place from their `.grad`:

    >>> from glassnet import optimizers
    >>> opt = optimizers.get("adam")             # or optimizers.Adam(learning_rate=1e-3)
    >>> opt.apply(model_parameters)              # one step; the model zeroes the grads after

Each step does, in Keras order:
    1. clip the gradients (at most one of clipnorm, clipvalue, global_clipnorm), in place;
    2. decoupled weight decay, w <- w - lr * weight_decay * w, when `weight_decay` is set;
    3. the optimizer's own update (`update_step`), in place with `out=` into preallocated
       slot buffers (created on the first `apply`, one per parameter, in its dtype);
    4. iterations += 1.

The learning rate is a float or a `schedules.LearningRateSchedule` evaluated at
`iterations` (0 at the first step). Scalars are cast to each weight's dtype, so float32
weights and slots stay float32.

Saving: `get_state()` returns every array needed to continue bitwise identically
({"iterations", "learning_rate", "<slot>/<index>"}), `set_state(state, params)` restores it;
`get_config()` / `from_config()` hold the hyper-parameters.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

import numpy as np

from glassnet import registry
from glassnet.backend import namespace, to_numpy
from glassnet.optimizers import schedules

Schedule = schedules.LearningRateSchedule


# Elementwise updates run over blocks of at most this many numbers of a parameter (see apply).
UPDATE_BLOCK = 65536


class Optimizer:
    """Base class: subclasses declare `slot_initial_values()` and implement `update_step`.

    Args:
        learning_rate: float >= 0, or a `LearningRateSchedule`.
        weight_decay: decoupled weight decay rate (w -= lr * weight_decay * w), or None.
        clipnorm: clip each gradient to this L2 norm: g * clipnorm / max(||g||, clipnorm).
        clipvalue: clip each gradient element to [-clipvalue, clipvalue].
        global_clipnorm: scale all gradients together so their joint L2 norm is at most this.
        name: default the lowercased class name.

    Attributes:
        iterations: the number of steps applied (int).
        learning_rate: the current learning rate (float); assign a float or a schedule.
    """

    def __init__(self, learning_rate: float | Schedule = 0.001, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = None):
        clips = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
        if sum(value is not None for value in clips.values()) > 1:
            given = ", ".join(f"{key}={value!r}" for key, value in clips.items())
            raise ValueError(
                f"only one of clipnorm, clipvalue and global_clipnorm can be set, got {given}"
            )
        self.clipnorm = _optional(_positive, "clipnorm", clipnorm)
        self.clipvalue = _optional(_positive, "clipvalue", clipvalue)
        self.global_clipnorm = _optional(_positive, "global_clipnorm", global_clipnorm)
        self.weight_decay = _optional(_non_negative, "weight_decay", weight_decay)
        self.name = name or type(self).__name__.lower()
        self.iterations = 0
        self._learning_rate: float | Schedule = 0.0
        self.learning_rate = learning_rate
        self._excluded_ids: set[int] = set()
        self._excluded_names: tuple[str, ...] = ()
        self._slots: dict[str, list] = {}     # slot name -> one array per parameter
        self._work_buffers: dict = {}         # dtype -> the shared scratch of `work`, never saved
        self._block: slice | None = None      # the block of the parameter `apply` is updating
        self._checked_values: list = []       # the weight arrays `_check_params` last passed
        self.built = False

    # ----- learning rate ---------------------------------------------------------------
    @property
    def learning_rate(self) -> float:
        """The rate for the next step: the float, or the schedule at `iterations`."""
        if isinstance(self._learning_rate, Schedule):
            return float(self._learning_rate(self.iterations))
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float | Schedule) -> None:
        if isinstance(value, Schedule):
            self._learning_rate = value
            return
        if isinstance(self._learning_rate, Schedule):
            # As Keras: a float would silently discard the schedule (e.g. ReduceLROnPlateau).
            raise TypeError(
                f"optimizer {self.name!r} was created with a LearningRateSchedule, so its "
                f"learning rate cannot be set to a float ({value!r}); create it with a float "
                "learning_rate to adjust it during training"
            )
        self._learning_rate = _non_negative("learning_rate", value)

    # ----- slots -----------------------------------------------------------------------
    def slot_initial_values(self) -> dict[str, float]:
        """{slot name: initial value} of the per-parameter buffers this optimizer keeps."""
        return {}

    def build(self, params) -> None:
        """Create the slot buffers for `params` (called by the first `apply`)."""
        params = list(params)
        self._slots = {
            name: [_full_like(p.value, initial) for p in params]
            for name, initial in self.slot_initial_values().items()
        }
        self._built_shapes = [(tuple(p.value.shape), p.value.dtype) for p in params]
        self._checked_values = []
        self.built = True

    def _check_params(self, params: list) -> None:
        values = [p.value for p in params]
        if len(values) == len(self._checked_values) and all(
                a is b for a, b in zip(values, self._checked_values)):
            return  # the very arrays checked at the last step (held here, so ids stay unique)
        shapes = [(tuple(p.value.shape), p.value.dtype) for p in params]
        if shapes == self._built_shapes:
            self._checked_values = values
            return
        if len(shapes) != len(self._built_shapes):
            problem = f"got {len(shapes)} parameters"
        else:
            index = next(i for i, (a, b) in enumerate(zip(shapes, self._built_shapes)) if a != b)
            problem = (f"parameter {index} ({params[index].name!r}) has shape/dtype "
                       f"{shapes[index]}, expected {self._built_shapes[index]}")
        raise ValueError(
            f"optimizer {self.name!r} was built for {len(self._built_shapes)} parameters, "
            f"{problem}; use a new optimizer (recompile) for a different set of parameters"
        )

    def exclude_from_weight_decay(self, var_list=None, var_names=None) -> None:
        """Skip weight decay for these Parameters, or those whose name contains any of
        `var_names` (e.g. ["bias"]), as Keras. Call before the first `apply`."""
        self._excluded_ids |= {id(p) for p in var_list or ()}
        self._excluded_names += tuple(var_names or ())

    # ----- one step --------------------------------------------------------------------
    # An optimizer whose update_step treats every number on its own (all the built-in ones)
    # is updated block by block; one that needs a whole parameter at once (a layer-wise norm,
    # as LARS or LAMB) sets this to False and gets whole arrays.
    elementwise = True

    def apply(self, params) -> None:
        """One update of every Parameter in `params` from its `.grad`, in place.

        `params` must be the same list (same order, shapes) at every call: slots are
        matched to parameters by position. Clipping rewrites `p.grad` in place.

        Blocks: for an `elementwise` optimizer, a parameter larger than UPDATE_BLOCK numbers
        is updated one flat block at a time (update_step gets 1-D views of w and g, and
        `slot`/`work` give the matching views). Same numbers, same order of operations per
        element; but the update's temporary is one block (256 KiB in float32) shared by all
        parameters instead of a copy of every parameter, and each block's arrays stay in
        cache through the update's several passes.
        """
        params = list(params)
        if not self.built:
            self.build(params)
        self._check_params(params)
        grads = [p.grad for p in params]
        self._clip_gradients(grads)
        learning_rate = self.learning_rate
        self._apply_weight_decay(params, learning_rate)
        for index, (param, grad) in enumerate(zip(params, grads)):
            w = param.value
            if not (self.elementwise and w.size > UPDATE_BLOCK and w.flags.c_contiguous
                    and grad.flags.c_contiguous):
                self.update_step(index, w, grad, learning_rate)
                continue
            w_flat, g_flat = w.reshape(-1), grad.reshape(-1)           # views: contiguous
            try:
                for start in range(0, w.size, UPDATE_BLOCK):
                    self._block = slice(start, start + UPDATE_BLOCK)
                    self.update_step(index, w_flat[self._block], g_flat[self._block],
                                     learning_rate)
            finally:
                self._block = None
        self.iterations += 1

    def update_step(self, index: int, w, g, learning_rate: float) -> None:
        """Update weight `w` (the `index`-th parameter) in place from its gradient `g`.

        w and g may be a flat block of the parameter (see `apply`); `self.slot(name, index)`
        and `self.work(w)` return arrays matching them.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement update_step")

    def _clip_gradients(self, grads: list) -> None:
        """Keras clipping, in place. Norms are computed as Python floats (no array upcast)."""
        if self.clipnorm is not None:
            for g in grads:
                g *= g.dtype.type(self.clipnorm / max(_norm(g), self.clipnorm))
        elif self.global_clipnorm is not None:
            total = math.sqrt(sum(_norm(g) ** 2 for g in grads))
            # A non-finite norm makes every gradient NaN, as Keras does, instead of a
            # silently wrong step.
            scale = (self.global_clipnorm / max(total, self.global_clipnorm)
                     if math.isfinite(total) else math.nan)
            for g in grads:
                g *= g.dtype.type(scale)
        elif self.clipvalue is not None:
            for g in grads:
                namespace(g).clip(g, -self.clipvalue, self.clipvalue, out=g)

    def _apply_weight_decay(self, params: list, learning_rate: float) -> None:
        """Decoupled decay w <- w * (1 - lr * weight_decay) (Loshchilov & Hutter, 2019)."""
        if not self.weight_decay:
            return
        for p in params:
            excluded = id(p) in self._excluded_ids or any(
                name in p.name for name in self._excluded_names)
            if not excluded:
                p.value *= p.value.dtype.type(1.0 - learning_rate * self.weight_decay)

    # ----- state and config ------------------------------------------------------------
    def get_state(self) -> dict[str, np.ndarray]:
        """Copies of everything a next step depends on, as NumPy arrays:
        "iterations" (int64), "learning_rate" (float64, only when not a schedule) and
        "<slot>/<index>" (e.g. "momentum/0"), in the parameters' dtypes."""
        state = {"iterations": np.array(self.iterations, dtype=np.int64)}
        if not isinstance(self._learning_rate, Schedule):
            state["learning_rate"] = np.array(self._learning_rate, dtype=np.float64)
        for name, arrays in self._slots.items():
            for index, array in enumerate(arrays):
                state[f"{name}/{index}"] = np.array(to_numpy(array))
        return state

    def set_state(self, state: dict[str, Any], params) -> None:
        """Restore `get_state()`'s output for `params` (the list later passed to `apply`).

        The state of an optimizer that never stepped (no slot keys, iterations 0) leaves it
        unbuilt, as it was. Everything is checked before anything changes: a bad state
        leaves the optimizer as it was."""
        params = list(params)
        iterations = _integer_state("iterations", state.get("iterations", 0))
        never_stepped = iterations == 0 and not any("/" in key for key in state)
        slot_names = () if never_stepped else self.slot_initial_values()
        slot_keys = {f"{name}/{index}" for name in slot_names for index in range(len(params))}
        expected = {"iterations"} | slot_keys
        if not isinstance(self._learning_rate, Schedule):
            expected.add("learning_rate")
        missing, unexpected = expected - set(state), set(state) - expected
        if missing or unexpected:
            raise ValueError(
                f"optimizer {self.name!r} state for {len(params)} parameters: missing keys "
                f"{sorted(missing)}, unexpected keys {sorted(unexpected)}"
            )
        for key in sorted(slot_keys):
            index = int(key.rsplit("/", 1)[1])
            shape, expected_shape = np.shape(state[key]), tuple(params[index].value.shape)
            if shape != expected_shape:
                raise ValueError(
                    f"optimizer state {key} (parameter {params[index].name!r}): expected "
                    f"shape {expected_shape}, got {shape}"
                )
        learning_rate = None
        if "learning_rate" in state:
            learning_rate = _non_negative("learning_rate", float(state["learning_rate"]))

        if never_stepped:
            self._slots, self.built = {}, False
        else:
            self.build(params)
            for name, arrays in self._slots.items():
                for index, slot in enumerate(arrays):
                    slot[...] = namespace(slot).asarray(state[f"{name}/{index}"],
                                                        dtype=slot.dtype)
        self.iterations = iterations
        if learning_rate is not None:
            self._learning_rate = learning_rate

    def get_config(self) -> dict[str, Any]:
        """Hyper-parameters (Keras keys); a schedule appears as its serialized dict."""
        learning_rate = self._learning_rate
        if isinstance(learning_rate, Schedule):
            learning_rate = schedules.serialize(learning_rate)
        return {"name": self.name, "learning_rate": learning_rate,
                "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects=None) -> Optimizer:
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"],
                                                            custom_objects)
        return cls(**config)

    def slot(self, name: str, index: int):
        """The `name` buffer of the `index`-th parameter (its current block, in `apply`)."""
        array = self._slots[name][index]
        return array if self._block is None else array.reshape(-1)[self._block]

    def work(self, like):
        """A scratch array shaped like `like`, for an update's temporary values.

        Views of one buffer per dtype, shared by every parameter (overwritten by the next
        call): the update of a block needs one temporary, not one per parameter.
        """
        xp = namespace(like)
        buffer = self._work_buffers.get(like.dtype)
        if buffer is None or buffer.size < like.size or namespace(buffer) is not xp:
            buffer = self._work_buffers[like.dtype] = xp.empty(like.size, dtype=like.dtype)
        return buffer[:like.size].reshape(like.shape)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learning_rate={self._learning_rate!r})"


@registry.register("optimizer", "sgd")
class SGD(Optimizer):
    """Gradient descent, with optional (Nesterov) momentum (Keras formulas).

        momentum == 0:   w <- w - lr * g
        momentum > 0:    v <- momentum * v - lr * g;  w <- w + v
        nesterov:        v <- momentum * v - lr * g;  w <- w + momentum * v - lr * g

    With a constant lr this is torch.optim.SGD, whose buffer b = momentum * b + g equals
    -v / lr; when lr changes between steps the two differ (Keras folds lr into v).

    Args:
        learning_rate: float or schedule, default 0.01.
        momentum: in [0, 1].
        nesterov: use Nesterov momentum.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see `Optimizer`.
    """

    def __init__(self, learning_rate: float | Schedule = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = "SGD"):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        self.momentum = _in_range("momentum", momentum, 0.0, 1.0, include_high=True)
        self.nesterov = bool(nesterov)

    def slot_initial_values(self) -> dict[str, float]:
        return {"momentum": 0.0} if self.momentum > 0 else {}

    def update_step(self, index, w, g, learning_rate):
        xp, scalar = namespace(w), w.dtype.type
        step = self.work(w)
        xp.multiply(g, scalar(learning_rate), out=step)        # lr * g
        if self.momentum == 0:
            w -= step
            return
        v = self.slot("momentum", index)
        v *= scalar(self.momentum)
        v -= step                                               # v = momentum * v - lr * g
        if self.nesterov:
            w -= step
            xp.multiply(v, scalar(self.momentum), out=step)
            w += step                                           # w += momentum * v - lr * g
        else:
            w += v

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


@registry.register("optimizer", "rmsprop")
class RMSprop(Optimizer):
    """Divide the gradient by a running root mean square of recent gradients (Hinton, 2012).

        v <- rho * v + (1 - rho) * g^2
        centered:  a <- rho * a + (1 - rho) * g;  denominator = v - a^2 + epsilon
        else:      denominator = v + epsilon
        step = lr * g / sqrt(denominator)
        momentum > 0:  m <- momentum * m + step;  w <- w - m
        else:          w <- w - step

    Keras adds epsilon *inside* the square root; torch.optim.RMSprop adds it outside
    (sqrt(v) + eps). The two agree when epsilon is negligible next to v.

    Args:
        learning_rate: float or schedule, default 0.001.
        rho: decay of the running averages, in [0, 1).
        momentum: in [0, 1].
        epsilon: > 0.
        centered: normalise by the estimated variance instead of the second moment.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see `Optimizer`.
    """

    def __init__(self, learning_rate: float | Schedule = 0.001, rho: float = 0.9,
                 momentum: float = 0.0, epsilon: float = 1e-7, centered: bool = False,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str | None = "rmsprop"):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        self.rho = _in_range("rho", rho, 0.0, 1.0)
        self.momentum = _in_range("momentum", momentum, 0.0, 1.0, include_high=True)
        self.epsilon = _positive("epsilon", epsilon)
        self.centered = bool(centered)

    def slot_initial_values(self) -> dict[str, float]:
        slots = {"velocity": 0.0}
        if self.momentum > 0:
            slots["momentum"] = 0.0
        if self.centered:
            slots["average_gradient"] = 0.0
        return slots

    def update_step(self, index, w, g, learning_rate):
        xp, scalar = namespace(w), w.dtype.type
        rho, step = scalar(self.rho), self.work(w)
        v = self.slot("velocity", index)
        v *= rho
        xp.square(g, out=step)
        step *= scalar(1 - self.rho)
        v += step                                               # v = rho v + (1 - rho) g^2
        if self.centered:
            a = self.slot("average_gradient", index)
            a *= rho
            xp.multiply(g, scalar(1 - self.rho), out=step)
            a += step                                           # a = rho a + (1 - rho) g
            xp.square(a, out=step)
            xp.subtract(v, step, out=step)                      # v - a^2
            step += scalar(self.epsilon)
        else:
            xp.add(v, scalar(self.epsilon), out=step)
        xp.sqrt(step, out=step)
        xp.divide(g, step, out=step)
        step *= scalar(learning_rate)                           # lr g / sqrt(denominator)
        if self.momentum > 0:
            m = self.slot("momentum", index)
            m *= scalar(self.momentum)
            m += step
            w -= m
        else:
            w -= step

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


@registry.register("optimizer", "adagrad")
class Adagrad(Optimizer):
    """Per-weight rates that shrink with the sum of squared gradients (Duchi et al., 2011).

        s <- s + g^2                       (s starts at initial_accumulator_value)
        w <- w - lr * g / sqrt(s + epsilon)

    Keras adds epsilon inside the square root; torch.optim.Adagrad adds it outside
    (sqrt(s) + eps). They agree when epsilon is negligible next to s.

    Args:
        learning_rate: float or schedule, default 0.001.
        initial_accumulator_value: starting value of s, >= 0.
        epsilon: > 0.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see `Optimizer`.
    """

    def __init__(self, learning_rate: float | Schedule = 0.001,
                 initial_accumulator_value: float = 0.1, epsilon: float = 1e-7,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str | None = None):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        self.initial_accumulator_value = _non_negative("initial_accumulator_value",
                                                       initial_accumulator_value)
        self.epsilon = _positive("epsilon", epsilon)

    def slot_initial_values(self) -> dict[str, float]:
        return {"accumulator": self.initial_accumulator_value}

    def update_step(self, index, w, g, learning_rate):
        xp, scalar = namespace(w), w.dtype.type
        s, step = self.slot("accumulator", index), self.work(w)
        xp.square(g, out=step)
        s += step                                               # s = s + g^2
        xp.add(s, scalar(self.epsilon), out=step)
        xp.sqrt(step, out=step)
        xp.divide(g, step, out=step)
        step *= scalar(learning_rate)
        w -= step                                               # w -= lr g / sqrt(s + eps)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


@registry.register("optimizer", "adam")
class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), in the Keras 3 form, with optional AMSGrad.

    At step t = iterations + 1:

        m <- m + (1 - beta_1) * (g - m)
        v <- v + (1 - beta_2) * (g^2 - v)
        amsgrad:  v_max <- max(v_max, v), used in place of v below
        alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
        w <- w - alpha * m / (sqrt(v) + epsilon)

    Epsilon convention: Keras adds epsilon to the *uncorrected* sqrt(v) ("epsilon hat" in
    the formula just before Section 2.1 of the paper). PyTorch instead computes
    lr / (1 - beta_1^t) * m / (sqrt(v / (1 - beta_2^t)) + eps), i.e. it adds eps to
    sqrt(v_hat). So Keras epsilon = torch eps * sqrt(1 - beta_2^t), a factor that changes
    with t: the two agree only when epsilon is negligible next to sqrt(v).

    Args:
        learning_rate: float or schedule, default 0.001.
        beta_1: decay of the first moment, in [0, 1).
        beta_2: decay of the second moment, in [0, 1).
        epsilon: > 0, added to sqrt(v) (see above).
        amsgrad: use the running maximum of v (Reddi et al., 2018).
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see `Optimizer`.
    """

    def __init__(self, learning_rate: float | Schedule = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str | None = "adam"):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        self.beta_1 = _in_range("beta_1", beta_1, 0.0, 1.0)
        self.beta_2 = _in_range("beta_2", beta_2, 0.0, 1.0)
        self.epsilon = _positive("epsilon", epsilon)
        self.amsgrad = bool(amsgrad)

    def slot_initial_values(self) -> dict[str, float]:
        slots = {"momentum": 0.0, "velocity": 0.0}
        if self.amsgrad:
            slots["velocity_hat"] = 0.0
        return slots

    def update_step(self, index, w, g, learning_rate):
        xp, scalar = namespace(w), w.dtype.type
        t = self.iterations + 1
        alpha = learning_rate * math.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)
        m, v = self.slot("momentum", index), self.slot("velocity", index)
        step = self.work(w)
        xp.subtract(g, m, out=step)
        step *= scalar(1 - self.beta_1)
        m += step                                               # m += (1 - b1)(g - m)
        xp.square(g, out=step)
        step -= v
        step *= scalar(1 - self.beta_2)
        v += step                                               # v += (1 - b2)(g^2 - v)
        if self.amsgrad:
            v_max = self.slot("velocity_hat", index)
            xp.maximum(v_max, v, out=v_max)
            v = v_max
        xp.sqrt(v, out=step)
        step += scalar(self.epsilon)
        xp.divide(m, step, out=step)
        step *= scalar(alpha)
        w -= step                                               # w -= alpha m / (sqrt(v) + eps)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


@registry.register("optimizer", "adamw")
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as Keras:

        w <- w * (1 - lr * weight_decay), then the `Adam` step (same epsilon convention).

    This is torch.optim.AdamW's decay (torch's default weight_decay is 0.01, Keras' 0.004).

    Args:
        learning_rate: float or schedule, default 0.001.
        weight_decay: >= 0, default 0.004.
        beta_1, beta_2, epsilon, amsgrad: see `Adam`.
        clipnorm, clipvalue, global_clipnorm, name: see `Optimizer`.
    """

    def __init__(self, learning_rate: float | Schedule = 0.001, weight_decay: float = 0.004,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str | None = "adamw"):
        if weight_decay is None:
            raise ValueError("AdamW: weight_decay must be a float >= 0, got None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay,
                         clipnorm, clipvalue, global_clipnorm, name)


def get(identifier) -> Optimizer:
    """An optimizer from an instance (returned as is), a name ("adam", case-insensitive,
    with default hyper-parameters) or a {'class_name', 'config'} dict."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return registry.deserialize("optimizer", identifier)
    if isinstance(identifier, str):
        by_lower_name = {name.lower(): cls for name, cls in registry.table("optimizer").items()}
        if identifier.lower() not in by_lower_name:
            raise ValueError(
                f"unknown optimizer {identifier!r}; valid names: {', '.join(sorted(by_lower_name))}"
            )
        return by_lower_name[identifier.lower()]()
    raise TypeError(
        f"optimizer: expected an Optimizer, a name or a config dict, got {identifier!r}"
    )


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    return registry.serialize(optimizer)


def deserialize(config: dict[str, Any], custom_objects=None) -> Optimizer:
    return registry.deserialize("optimizer", config, custom_objects)


# ----- helpers ---------------------------------------------------------------------------
def _norm(g) -> float:
    """L2 norm of an array as a Python float (a dot product: no temporary the size of g)."""
    flat = g.reshape(-1)
    return math.sqrt(float(namespace(g).dot(flat, flat)))


def _full_like(value, fill: float):
    return namespace(value).full_like(value, value.dtype.type(fill))


def _number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name}: expected a number, got {value!r}")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{name}: expected a number, got nan")
    return value


def _non_negative(name: str, value) -> float:
    number = _number(name, value)
    if not 0 <= number < math.inf:
        raise ValueError(f"{name}: expected a finite number >= 0, got {value!r}")
    return number


def _positive(name: str, value) -> float:
    number = _number(name, value)
    if not 0 < number < math.inf:
        raise ValueError(f"{name}: expected a finite number > 0, got {value!r}")
    return number


def _in_range(name: str, value, low: float, high: float, include_high: bool = False) -> float:
    number = _number(name, value)
    inside = low <= number <= high if include_high else low <= number < high
    if not inside:
        interval = f"[{low}, {high}]" if include_high else f"[{low}, {high})"
        raise ValueError(f"{name}: expected a number in {interval}, got {value!r}")
    return number


def _optional(check, name: str, value):
    return None if value is None else check(name, value)


def _integer_state(name: str, value) -> int:
    array = np.asarray(value)
    if array.shape != () or not np.issubdtype(array.dtype, np.integer) or array < 0:
        raise ValueError(
            f"optimizer state {name}: expected a non-negative integer scalar, got {value!r}"
        )
    return int(array)

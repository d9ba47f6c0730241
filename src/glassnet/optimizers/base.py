"""The Optimizer base class: learning rate, slots, clipping, weight decay, blocked updates, state.

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
from typing import Any

import numpy as np

from glassnet import checks
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
        self.clipnorm = checks.optional(checks.positive, "clipnorm", clipnorm)
        self.clipvalue = checks.optional(checks.positive, "clipvalue", clipvalue)
        self.global_clipnorm = checks.optional(checks.positive, "global_clipnorm", global_clipnorm)
        self.weight_decay = checks.optional(checks.non_negative, "weight_decay", weight_decay)
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
        self._learning_rate = checks.non_negative("learning_rate", value)

    # ----- slots -----------------------------------------------------------------------
    def slot_initial_values(self) -> dict[str, float]:
        """{slot name: initial value} of the per-parameter buffers this optimizer keeps."""
        return {}

    @classmethod
    def slot_shape(cls, name: str, value) -> tuple:
        """The shape of slot `name` for a parameter holding `value`: by default its shape
        (an optimizer with factored slots, as Adafactor, overrides this). A class method:
        loading a saved state checks shapes before the optimizer exists."""
        return tuple(value.shape)

    def build(self, params) -> None:
        """Create the slot buffers for `params` (called by the first `apply`)."""
        params = list(params)
        self._slots = {
            name: [_full_like(p.value, initial, self.slot_shape(name, p.value)) for p in params]
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
        _apply_constraints(params)
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
            name, index = key.rsplit("/", 1)
            index = int(index)
            shape = np.shape(state[key])
            expected_shape = self.slot_shape(name, params[index].value)
            if shape != expected_shape:
                raise ValueError(
                    f"optimizer state {key} (parameter {params[index].name!r}): expected "
                    f"shape {expected_shape}, got {shape}"
                )
        learning_rate = None
        if "learning_rate" in state:
            learning_rate = checks.non_negative("learning_rate", float(state["learning_rate"]))

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


# ----- helpers ---------------------------------------------------------------------------
def _apply_constraints(params) -> None:
    """W <- constraint(W), in place, for each parameter that has a constraint (as Keras, after
    the update; a parameter without one costs an attribute read)."""
    for param in params:
        constraint = getattr(param, "constraint", None)
        if constraint is not None:
            param.value[...] = constraint(param.value)


def _norm(g) -> float:
    """L2 norm of an array as a Python float (a dot product: no temporary the size of g)."""
    flat = g.reshape(-1)
    return math.sqrt(float(namespace(g).dot(flat, flat)))


def _full_like(value, fill: float, shape: tuple):
    return namespace(value).full(shape, value.dtype.type(fill), dtype=value.dtype)


def _integer_state(name: str, value) -> int:
    array = np.asarray(value)
    if array.shape != () or not np.issubdtype(array.dtype, np.integer) or array < 0:
        raise ValueError(
            f"optimizer state {name}: expected a non-negative integer scalar, got {value!r}"
        )
    return int(array)

"""The Layer contract every layer follows, and the Parameter that holds a weight.

A layer is two functions side by side, written in NumPy:

    forward(x, training=False) -> y        keeps what backward needs on `self`
    backward(dy) -> dx                     dy = dL/dy; adds dL/dW into each W.grad

plus a lazy `build(input_shape)` that creates the weights the first time the layer sees data.
Gradients accumulate (`+=`), as in micrograd and PyTorch, so a layer used twice gets the sum;
the model zeroes them before each step.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import itertools
import math
import re
from typing import Any

import numpy as np

from glassnet import checks, config
from glassnet.backend import namespace

_name_counters: dict[str, itertools.count] = {}

# Elements that layers may still allocate, or None for no limit (see `weight_budget`).
_weight_budget: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "glassnet_weight_budget", default=None)


# False inside `inference_only()`: layers keep nothing for a backward pass.
_keep_for_backward: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "glassnet_keep_for_backward", default=True)


@contextlib.contextmanager
def inference_only():
    """Layers called inside keep nothing for a backward pass (as torch.inference_mode).

    A forward normally keeps what backward needs (a Dense its input, a ReLU its output), so
    every intermediate array of a batch stays alive until the layer's next call. `predict`
    runs inside this: each array is freed as soon as the next layer has read it, and
    convolutions work through their im2col rows a slice of the batch at a time. A backward
    after such a forward raises an error saying so.
    """
    token = _keep_for_backward.set(False)
    try:
        yield
    finally:
        _keep_for_backward.reset(token)


def keeps_for_backward() -> bool:
    """False inside `inference_only()`."""
    return _keep_for_backward.get()


def require_forward_state(layer, state) -> None:
    """Raise a clear error when backward finds nothing kept by forward."""
    if state is None:
        raise RuntimeError(
            f"layer {layer.name!r} ({type(layer).__name__}): backward needs a forward pass "
            f"that kept its inputs; the last forward ran under inference_only() (as in "
            f"predict). Run forward again (training or not) before backward.")


@contextlib.contextmanager
def weight_budget(elements: int):
    """Layers built inside may allocate at most `elements` weight values in all.

    Loading a model file builds its layers before their weights can be compared with the
    file's: the loader caps the allocation at what the file itself holds, so a config that
    asks for a billion units fails at once instead of allocating gigabytes.
    """
    token = _weight_budget.set([int(elements)])
    try:
        yield
    finally:
        _weight_budget.reset(token)


def _snake_case(name: str) -> str:
    """Keras' rule: 'Dense' -> 'dense', 'Conv2D' -> 'conv2d', 'MaxPooling2D' -> 'max_pooling2d'."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(prefix: str) -> str:
    """'dense', 'dense_1', 'dense_2', ... as Keras names layers."""
    counter = _name_counters.setdefault(prefix, itertools.count())
    index = next(counter)
    return prefix if index == 0 else f"{prefix}_{index}"


def _marks_built(build):
    """Wrap a `build(input_shape)` so that it records the shapes and sets `built`, as Keras'
    build wrapper does: an explicit `layer.build(shape)` leaves the layer as its first call
    would, and the call then builds nothing more. Only the outermost call records: a
    subclass' build that calls `super().build(...)` runs the parent's inside its own."""

    @functools.wraps(build)
    def build_and_mark(self, input_shape) -> None:
        input_shape = tuple(input_shape)
        if getattr(self, "_building", False):      # super().build inside a subclass' build
            build(self, input_shape)
            return
        self._building = True
        try:
            build(self, input_shape)
        finally:
            self._building = False
        self.input_shape = input_shape
        self.output_shape = tuple(self.compute_output_shape(input_shape))
        self.built = True

    return build_and_mark


class Parameter:
    """A trainable array and the gradient of the loss with respect to it.

    Attributes:
        value: the weight itself, shape `shape`.
        grad: dL/dvalue, same shape and dtype, accumulated by `backward` (allocated the
            first time a gradient is computed or read: inference holds none).
        regularizer: optional penalty added to the loss (kernels only, by convention).
    """

    def __init__(self, value, name: str = "", trainable: bool = True, regularizer=None):
        self.value = value
        self._grad = None              # allocated when first needed: a model that only
        self._zero_pending = False     # predicts never holds gradients (as PyTorch's None)
        self.name = name
        self.trainable = trainable
        self.regularizer = regularizer

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def dtype(self):
        return self.value.dtype

    @property
    def grad(self):
        """dL/dvalue (see `zero_grad` for when its zeros are written)."""
        if self._grad is None:
            self._grad = namespace(self.value).zeros_like(self.value)
            self._zero_pending = False
        elif self._zero_pending:
            self._grad.fill(0)
            self._zero_pending = False
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        self._grad = value
        self._zero_pending = False

    def zero_grad(self) -> None:
        """Make the gradient zero, lazily: the zeros are written when `grad` is next read.

        Why lazily: Dense's and Conv's weight gradients are one matrix product each, which
        `add_matmul` writes straight into the zeroed gradient; writing zeros first would be
        a pass over the whole array that the product then overwrites. Reading `grad` (to
        add to it with `+=`, or to look at it) writes the zeros first, so every other use
        sees exactly a zeroed array.
        """
        self._zero_pending = True

    def add_matmul(self, a, b) -> None:
        """grad += a @ b. Right after `zero_grad` the product is written straight into grad:
        the same result without zeros written first, a temporary array or a second pass."""
        if self._grad is None:
            self._grad = namespace(a).matmul(a, b).astype(self.value.dtype, copy=False)
        elif self._zero_pending:
            namespace(a).matmul(a, b, out=self._grad)
        else:
            self._grad += a @ b
        self._zero_pending = False

    def assign(self, value) -> None:
        """Overwrite the weight in place, checking shape and values (see
        `checks.weight_values`: no NaN or inf, no cast that changes a value) first."""
        self.value[...] = self.checked(value)

    def checked(self, value) -> np.ndarray:
        """`value` as an array that `assign` may store: right shape, values kept by the cast."""
        value = np.asarray(value)
        if value.shape != self.value.shape:
            raise ValueError(
                f"weight {self.name!r}: expected shape {self.value.shape}, got {value.shape}"
            )
        return checks.weight_values(self.name, value, self.value.dtype)

    def __repr__(self) -> str:
        return f"Parameter({self.name!r}, shape={self.shape}, dtype={self.dtype})"


class Layer:
    """Base class: subclasses implement `build`, `forward`, `backward` (and `get_config`).

    Args:
        name: unique name; default from the class name ('dense', 'dense_1', ...).
        trainable: when False, the optimizer leaves this layer's weights alone.
        dtype: float dtype of weights and outputs; default `glassnet.config.floatx()`.
        input_shape: optional, without the batch axis; lets a Sequential build eagerly.
    """

    def __init__(self, name: str | None = None, trainable: bool = True, dtype=None,
                 input_shape: tuple[int, ...] | None = None):
        self.name = name or unique_name(_snake_case(type(self).__name__))
        self.trainable = bool(trainable)
        self._dtype = None if dtype is None else config.standardize_dtype(dtype)
        self._input_shape_arg = None if input_shape is None else tuple(input_shape)
        self._parameters: list[Parameter] = []
        self.built = False
        self.input_shape: tuple | None = None
        self.output_shape: tuple | None = None

    def __init_subclass__(cls, **kwargs):
        """A subclass' own `build` is wrapped by `_marks_built` (see there)."""
        super().__init_subclass__(**kwargs)
        if "build" in vars(cls):
            cls.build = _marks_built(vars(cls)["build"])

    # ----- weights ---------------------------------------------------------------------
    @property
    def dtype(self) -> str:
        return self._dtype or config.floatx()

    def add_weight(self, shape, initializer="zeros", name: str = "", trainable: bool = True,
                   regularizer=None) -> Parameter:
        """Create, initialise and track a Parameter of `shape` in this layer's dtype."""
        from glassnet import initializers

        if self.built:      # as Keras locks a built layer's state: no second set of weights
            raise ValueError(f"layer {self.name!r} is already built: it cannot add weight "
                             f"{name!r}; weights are created once, by the first build")
        budget = _weight_budget.get()
        if budget is not None:
            size = math.prod(int(d) for d in shape)
            if size > budget[0]:
                raise ValueError(f"layer {self.name!r}: weight {name!r} of shape {tuple(shape)} "
                                 f"needs {size:,} values, more than the {budget[0]:,} allowed")
            budget[0] -= size
        init = initializers.get(initializer)
        # C order always: updates and gradient checks write through `value.reshape(-1)` views
        value = np.ascontiguousarray(init(tuple(shape), dtype=self.dtype), dtype=self.dtype)
        param = Parameter(value, name=f"{self.name}/{name}", trainable=trainable,
                          regularizer=regularizer)
        self._parameters.append(param)
        return param

    def parameters(self, trainable_only: bool = False) -> list[Parameter]:
        """This layer's Parameters in creation (Keras weight) order."""
        params = list(self._parameters)
        if trainable_only:
            params = [p for p in params if p.trainable and self.trainable]
        return params

    @property
    def weights(self) -> list[Parameter]:
        return self.parameters()

    @property
    def trainable_weights(self) -> list[Parameter]:
        return self.parameters(trainable_only=True)

    @property
    def non_trainable_weights(self) -> list[Parameter]:
        trainable = {id(p) for p in self.trainable_weights}
        return [p for p in self.parameters() if id(p) not in trainable]

    def count_params(self) -> int:
        return int(sum(p.value.size for p in self.parameters()))

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights, in Keras order and shapes (Dense: kernel, then bias)."""
        return [np.array(p.value) for p in self.parameters()]

    def set_weights(self, weights) -> None:
        params = self.parameters()
        weights = list(weights)
        if len(weights) != len(params):
            raise ValueError(
                f"set_weights on layer {self.name!r}: expected {len(params)} arrays "
                f"({[p.shape for p in params]}), got {len(weights)}"
            )
        checked = [param.checked(value) for param, value in zip(params, weights)]
        for param, value in zip(params, checked):   # all checked first: all or nothing
            param.value[...] = value

    def zero_grad(self) -> None:
        for param in self.parameters():
            param.zero_grad()

    # ----- building -------------------------------------------------------------------
    @_marks_built
    def build(self, input_shape: tuple) -> None:
        """Create the weights for inputs of `input_shape` (batch axis first, may be None).

        Called by the layer's first call, or explicitly as in Keras; either way the layer
        is then built (`built`, `input_shape`, `output_shape` set) and is not built again.
        """

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        """Output shape for `input_shape` (batch axis included); default: unchanged."""
        return tuple(input_shape)

    def maybe_build(self, input_shape) -> None:
        """Build for `input_shape` unless built already (by a call or an explicit build)."""
        if not self.built:
            self.build(input_shape)

    # ----- the math -------------------------------------------------------------------
    def forward(self, x, training: bool = False):
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, dy):
        raise NotImplementedError(f"{type(self).__name__}.backward")

    def __call__(self, x, training: bool = False):
        """Eager call on an array: build on first use, then `forward`.

        On a symbolic tensor, or a list of them (merge layers), the call is recorded in the
        graph instead and the output's placeholder returned (see `SymbolicTensor.call`).
        """
        symbolic = getattr(x, "_glassnet_symbolic", False)
        if symbolic:
            return x.apply(self)
        if isinstance(x, (list, tuple)):
            first = next((t for t in x if getattr(t, "_glassnet_symbolic", False)), None)
            if first is not None:
                return first.call(self, x)
        self.maybe_build((None,) + tuple(np.shape(x))[1:])
        return self.forward(x, training=training)

    # ----- (de)serialisation ------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        config_ = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self._input_shape_arg is not None:
            config_["input_shape"] = list(self._input_shape_arg)
        return config_

    @classmethod
    def from_config(cls, config_: dict[str, Any]) -> Layer:
        """The layer `get_config` describes; `*_initializer` entries saved as
        {'class_name', 'config'} dicts become Initializer objects again."""
        config_ = {key: deserialize_initializer(value)
                   if key.endswith("_initializer") and isinstance(value, dict) else value
                   for key, value in config_.items()}
        return cls(**config_)

    # ----- the contract every registered layer passes (tests/layers/test_contract.py) ----
    differentiable_input = True          # False where the input is not differentiated (ids)

    @classmethod
    def contract_sample(cls, rng: np.random.Generator) -> tuple[dict[str, Any], Any]:
        """Constructor arguments and an input batch on which the layer contract is checked
        (gradients, config and saving round trips, build, dtype). Default: no arguments and
        x (N, F) = (3, 4) standard normal; a layer that needs arguments or another input
        (ids, sequences, images, a list of arrays) declares its own."""
        return {}, rng.standard_normal((3, 4))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} built={self.built}>"


# ----- config helpers shared by layers with initializers and regularizers -----------------------
def serialize_initializer(initializer):
    """A name stays a name; an Initializer object becomes its {'class_name', 'config'}."""
    from glassnet.registry import serialize

    return initializer if isinstance(initializer, str) else serialize(initializer)


def deserialize_initializer(spec):
    from glassnet import initializers

    return spec if isinstance(spec, str) else initializers.get(spec)


def weight_config(layer, *prefixes: str) -> dict:
    """The `<prefix>_initializer` and `<prefix>_regularizer` config entries of a layer, e.g.
    `weight_config(self, "kernel", "bias")` for Dense and Conv2D."""
    config_ = {}
    for prefix in prefixes:
        config_[f"{prefix}_initializer"] = serialize_initializer(
            getattr(layer, f"{prefix}_initializer"))
        config_[f"{prefix}_regularizer"] = serialize_optional(
            getattr(layer, f"{prefix}_regularizer"))
    return config_


def serialize_optional(obj):
    """None (no regularizer) stays None; anything else is serialized."""
    from glassnet.registry import serialize

    return None if obj is None else serialize(obj)

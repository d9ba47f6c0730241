"""The Layer contract every layer follows: what a model may call, each with a default.

A layer is two functions side by side, written in NumPy:

    forward(x, training=False) -> y        keeps what backward needs (`self.keep(...)`)
    backward(dy, input_gradient=True) -> dx
                                           dy = dL/dy; adds dL/dW into each W.grad

plus a lazy `build(input_shape)` that creates the weights the first time the layer sees data.
Gradients accumulate (`+=`), as in micrograd and PyTorch, so a layer used twice gets the sum;
the model zeroes them before each step.

Models call a layer through one door each way, `apply` (forward) and `backpropagate`
(backward), never `forward`/`backward` directly: hooks added with `add_hook` observe every
call there (diagnostics watches a re-run that way). The rest of the contract, with the
default a plain layer gets:

    supports_masking = False       the layer passes a padding mask on (from Embedding with
                                   mask_zero=True) to the next layer, as Keras' layers do;
                                   its forward gets `mask=` when it has that parameter
    compute_mask(x, mask)          the mask for the next layer: `mask` when
                                   supports_masking, else None (the mask stops here)
    skips_input_gradient = False   backward(dy, input_gradient=False) skips dL/dx
    backward_preactivation(dz)     raises: only layers with an output activation (Dense,
                                   Conv, activation layers) take dL/dz below it, for the
                                   fused softmax/sigmoid cross-entropy path
    activation = None              that output activation
    sublayers() -> []              layers inside this one (models, wrappers)
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from glassnet import config
from glassnet.layers import calling, calls, traced
from glassnet.layers.inference import (  # noqa: F401 (public here too)
    _keep_for_backward,
    inference_only,
    keeps_for_backward,
    require_forward_state,
)
from glassnet.layers.parameter import Parameter
from glassnet.naming import snake_case, unique_name

# Elements that layers may still allocate, or None for no limit (see `weight_budget`).
_weight_budget: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "glassnet_weight_budget", default=None)


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
        self.output_shape = _output_shape_at_build(self, input_shape)
        self.built = True

    return build_and_mark


def _output_shape_at_build(layer, input_shape):
    """compute_output_shape(input_shape); for a call()-style layer that does not declare it,
    found by a trial call, and None (known after the first call) when that fails."""
    if not layer._call_style or type(layer).compute_output_shape is not \
            Layer.compute_output_shape:
        shape = layer.compute_output_shape(input_shape)
        return shape if isinstance(shape, list) else tuple(shape)
    try:
        return traced.infer_output_shape(layer, input_shape)
    except ValueError:
        return None


def _traced_aware(own_call):
    """A layer's own `__call__` (merge layers, RNNs, models), with a call on traced tensors
    (inside a call()) recorded on the tape instead (see `layers.calling`)."""

    @functools.wraps(own_call)
    def call(self, *args, **kwargs):
        if args and calling.has_tensor(args[0]):
            return calling.call_layer(self, args, kwargs.pop("training", None),
                                      kwargs.pop("mask", None), kwargs, None)
        return own_call(self, *args, **kwargs)

    return call


class Layer:
    """Base class: subclasses implement `build`, `forward`, `backward` (and `get_config`).

    Or, as in Keras, `call(inputs, training=..., mask=...)` written with `glassnet.ops` (and
    optionally `build`): the forward runs `call` on a tape and the backward comes from it
    (see `glassnet.layers.traced`).

    Args:
        name: unique name; default from the class name ('dense', 'dense_1', ...).
        trainable: when False, the optimizer leaves this layer's weights alone.
        dtype: float dtype of weights and outputs; default `glassnet.config.floatx()`.
        input_shape: optional, without the batch axis; lets a Sequential build eagerly.
        input_dim: Keras' short form of input_shape=(input_dim,).
        build_input_shape: the shape a saved call()-style layer was built for; its weights
            are created for it when they are first asked for (loading a model file).
    """

    supports_masking = False      # passes a mask on (see `compute_mask`)
    takes_mask = False            # forward has a `mask` parameter (set per class)
    skips_input_gradient = False  # backward(dy, input_gradient=False) skips dL/dx
    activation = None             # the output activation, for the fused output path
    _hooks: tuple = ()            # see `add_hook`; an instance gets its own when one is added
    _glassnet_layer = True        # what `traced.tracked_layers` looks for in attributes
    _call_style = False           # True for a subclass written with call() (see traced.py)

    def __new__(cls, *args, **kwargs):
        layer = super().__new__(cls)
        if cls._call_style:       # for get_config's automatic config, as Keras records them
            layer._constructor_arguments = (args, kwargs)
        return layer

    def __init__(self, name: str | None = None, trainable: bool = True, dtype=None,
                 input_shape: tuple[int, ...] | None = None, input_dim: int | None = None,
                 build_input_shape=None, autocast: bool = True):
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        self._pending_build_shape = build_input_shape
        self.name = name or unique_name(snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self._dtype = None if dtype is None else config.standardize_dtype(dtype)
        self._input_shape_arg = None if input_shape is None else tuple(input_shape)
        self._parameters: list[Parameter] = []
        self.built = False
        self.input_shape: tuple | None = None
        self.output_shape: tuple | None = None

    def __init_subclass__(cls, **kwargs):
        """A subclass' own `build` is wrapped by `_marks_built` (see there), its own
        `__call__` by `_traced_aware`; one with `call` and no `forward` is call()-style."""
        super().__init_subclass__(**kwargs)
        cls._call_style = callable(getattr(cls, "call", None)) and cls.forward is Layer.forward
        cls.takes_mask = "mask" in inspect.signature(cls.forward).parameters
        if "build" in vars(cls):
            cls.build = _marks_built(vars(cls)["build"])
        if "__call__" in vars(cls):
            cls.__call__ = _traced_aware(vars(cls)["__call__"])

    # ----- weights ---------------------------------------------------------------------
    @property
    def dtype(self) -> str:
        """The float dtype of the weights and outputs: the one given, else floatx()."""
        return self._dtype or config.floatx()

    @dtype.setter
    def dtype(self, dtype) -> None:
        """Set before the layer is built (the weights are created in this dtype)."""
        self._dtype = None if dtype is None else config.standardize_dtype(dtype)

    @property
    def declared_dtype(self) -> str | None:
        """The dtype given to the layer (or set), None when it follows floatx()."""
        return self._dtype

    @property
    def declared_input_shape(self) -> tuple | None:
        """The `input_shape` given to the constructor (no batch axis), or None."""
        return self._input_shape_arg

    @property
    def trainable(self) -> bool:
        """False freezes the layer: the optimizer leaves its weights alone, and layers that
        behave differently in training (BatchNormalization) run in inference mode."""
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """As in Keras, setting it on a model or a wrapper sets it on every layer inside
        (the transfer-learning recipe: `base_model.trainable = False`)."""
        self._trainable = bool(value)
        for layer in self.sublayers():
            layer.trainable = value

    # ----- the first call on symbolic tensors (as Keras: later calls are not looked at) ------
    @property
    def input(self):
        """The input tensor (a list for a merge layer) of the layer's first graph call."""
        node = self._first_node("input")
        return list(node.inputs) if node.list_input else node.inputs[0]

    @property
    def output(self):
        return self._first_node("output")

    def _first_node(self, attribute: str):
        if not getattr(self, "_inbound_nodes", None):
            raise AttributeError(f"The layer {self.name} has never been called and thus has "
                                 f"no defined {attribute}.")
        return self._inbound_nodes[0]

    def sublayers(self) -> list[Layer]:
        """The layers inside this one (a model's, a wrapper's); none for a plain layer, the
        layers held in attributes for a call()-style one."""
        return traced.tracked_layers(self) if self._call_style else []

    def add_weight(self, shape=(), initializer=None, name: str = "", trainable: bool = True,
                   regularizer=None, *, dtype=None, constraint=None, **keras_options
                   ) -> Parameter:
        """Create, initialise and track a Parameter of `shape` in this layer's dtype.

        Keras' arguments: `initializer` None is Glorot uniform ("zeros" for integer
        weights); `dtype` another dtype for this weight; `autocast`, `aggregation` and
        `overwrite_with_gradient` are accepted and have no effect here.
        """
        from glassnet import constraints, initializers

        unknown = set(keras_options) - {"autocast", "aggregation", "overwrite_with_gradient"}
        if unknown:
            raise TypeError(f"add_weight: unexpected arguments {sorted(unknown)}")
        dtype = self.dtype if dtype is None else np.dtype(dtype).name
        if initializer is None:
            initializer = "glorot_uniform" if np.dtype(dtype).kind == "f" else "zeros"
        shape = tuple(shape) if shape is not None else ()

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
        made_as = dtype if np.dtype(dtype).kind == "f" else self.dtype
        value = np.ascontiguousarray(init(tuple(shape), dtype=made_as), dtype=dtype)
        if not name:              # Keras' default names, unique within the layer
            count = sum(p.name.rpartition("/")[2].startswith("variable")
                        for p in self._parameters)
            name = "variable" if count == 0 else f"variable_{count}"
        param = Parameter(value, name=f"{self.name}/{name}", trainable=trainable,
                          regularizer=regularizer)
        param.constraint = constraints.get(constraint)   # applied after each optimizer step
        self._parameters.append(param)
        return param

    def parameters(self, trainable_only: bool = False) -> list[Parameter]:
        """This layer's Parameters in creation (Keras weight) order (for a call()-style
        layer, its own and then those of the layers it holds)."""
        if self._call_style:
            return traced.tracked_parameters(self, trainable_only)
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
        """Output shape for `input_shape` (batch axis included); default: unchanged (for a
        call()-style layer: found by running call on a batch of one)."""
        if self._call_style:
            return traced.infer_output_shape(self, input_shape)
        return tuple(input_shape)

    def maybe_build(self, input_shape) -> None:
        """Build for `input_shape` unless built already (by a call or an explicit build)."""
        if not self.built:
            self.build(input_shape)

    # ----- the math -------------------------------------------------------------------
    def forward(self, x, training: bool = False, mask=None, **kwargs):
        """y for input x: a subclass writes it (or, Keras-style, writes `call`)."""
        if self._call_style:
            return traced.forward(self, x, training, mask, kwargs)
        raise NotImplementedError(
            f"{type(self).__name__} defines neither forward (and backward) nor call: write "
            f"call(self, inputs) with glassnet.ops, or forward and backward with NumPy")

    def backward(self, dy, input_gradient: bool = True):
        """dL/dy -> dL/dx, adding dL/dW into each weight's grad. With input_gradient=False
        (only called so when `skips_input_gradient`) dL/dx is not computed: None."""
        if self._call_style:
            return traced.backward(self, dy, input_gradient)
        raise NotImplementedError(
            f"{type(self).__name__}.backward: a layer that writes forward writes backward too "
            f"(dL/dy -> dL/dx); or write call() with glassnet.ops instead of both")

    def backward_preactivation(self, dz, input_gradient: bool = True):
        """backward from dL/dz, the gradient below the output activation (the fused
        softmax/sigmoid cross-entropy path). Layers with an `activation` implement it."""
        raise NotImplementedError(
            f"layer {self.name!r} ({type(self).__name__}) has no output activation to "
            f"start backward below; only layers that implement backward_preactivation "
            f"(Dense, Conv1D/Conv2D, activation layers) end a model whose loss is fused")

    @property
    def takes_preactivation_gradient(self) -> bool:
        """Whether this layer implements `backward_preactivation`."""
        return type(self).backward_preactivation is not Layer.backward_preactivation

    def compute_mask(self, x, mask=None):
        """The mask for the next layer, given this layer's input and its mask: passed on
        unchanged by a layer that supports masking (elementwise and per-step layers), else
        None, the mask stops here (Embedding, RNNs, pooling and merges override it). A
        call()-style layer gives the mask its output carries, if any."""
        carried = self.__dict__.get("_output_mask") if self._call_style else None
        if carried is not None:
            return carried
        return mask if self.supports_masking else None

    # ----- added losses (Keras' add_loss) ---------------------------------------------------
    def add_loss(self, loss) -> None:
        """Add `loss` (a scalar computed in call(), or its sum) to the training loss; its
        gradient flows back through the ops that made it. Cleared at each new forward pass."""
        traced.add_loss(self, loss)

    @property
    def losses(self) -> list:
        """The terms added by `add_loss` in the last forward pass, of this layer and the
        layers inside it, then the weight regularizers' penalties (as Keras lists them)."""
        penalties = [np.asarray(p.regularizer(p.value)) for p in self.parameters()
                     if p.regularizer is not None]
        return traced.added_losses(self) + penalties

    def keep(self, value):
        """What backward needs from this forward: `value`, or None inside inference_only()
        (predict), where nothing is kept and the layer's activation too lets go of what
        its forward kept. Use it as `self._x = self.keep(x)`."""
        if _keep_for_backward.get():
            return value
        if self.activation is not None:
            self.activation.forget()
        return None

    # ----- the one door each way, and its hooks -------------------------------------------
    def apply(self, x, training: bool = False, mask=None, **kwargs):
        """forward(x), as models call it: `mask` is passed on when the layer's forward takes
        one, hooks observe the call (see `add_hook`), and a second call in the same forward
        pass puts the first call's state aside for its backward (see `layers.calls`)."""
        if mask is not None and self.takes_mask:
            kwargs["mask"] = mask
        if _keep_for_backward.get():
            calls.before_forward(self)
        if not self._hooks:
            return self.forward(x, training=training, **kwargs)
        return self._run_hooks("forward", functools.partial(self.forward, x, training=training,
                                                            **kwargs))

    def backpropagate(self, dy, input_gradient: bool = True, preactivation: bool = False,
                      call: int | None = None):
        """backward(dy) (or backward_preactivation, with `preactivation`), as models call
        it: input_gradient=False reaches layers that can skip dL/dx (others compute it
        and the caller ignores it), and hooks observe the call (see `add_hook`). `call`
        is the number of the forward call this backward belongs to (`last_call` right after
        `apply`), for a layer called more than once in a pass; None: the latest."""
        calls.before_backward(self, call)
        skip = not input_gradient and self.skips_input_gradient
        if not self._hooks:
            return self._backward(dy, skip, preactivation)
        return self._run_hooks("backward", functools.partial(self._backward, dy, skip,
                                                             preactivation))

    @property
    def last_call(self) -> int:
        """The number of this layer's latest call in the current forward pass (0, 1, ...):
        what a model hands back to `backpropagate(..., call=)`."""
        return calls.last_call(self)

    def _backward(self, dy, skip: bool, preactivation: bool):
        method = self.backward_preactivation if preactivation else self.backward
        return method(dy, input_gradient=False) if skip else method(dy)

    def add_hook(self, hook: Callable) -> Callable[[], None]:
        """Observe every call of this layer through `apply` and `backpropagate`.

        `hook(layer, phase, call)` runs around the call: `phase` is "forward" or "backward",
        `call()` runs the layer (or the next hook) and the hook returns its result. Hooks
        added later run inside earlier ones. Returns a function that removes the hook.

        Example, the shape of every output:
            >>> def shapes(layer, phase, call):
            ...     result = call()
            ...     if phase == "forward":
            ...         print(layer.name, result.shape)
            ...     return result
            >>> remove = layer.add_hook(shapes)
        """
        self._hooks = (*self._hooks, hook)

        def remove() -> None:
            self._hooks = tuple(h for h in self._hooks if h is not hook)

        return remove

    @property
    def hooked(self) -> bool:
        """Whether hooks observe this layer's calls (the fusion pass then leaves it alone)."""
        return bool(self._hooks)

    def _run_hooks(self, phase: str, call: Callable):
        for hook in reversed(self._hooks):
            call = functools.partial(hook, self, phase, call)
        return call()

    def __call__(self, *args, training: bool | None = None, mask=None, **kwargs):
        """Eager call on an array: build on first use, then `apply`.

        On a symbolic tensor, or a list of them (merge layers), the call is recorded in the
        graph instead and the output's placeholder returned (see `SymbolicTensor.call`).
        On traced tensors (inside a call()) it is one record on the tape (see
        `layers.calling`). `training` not given is the enclosing call()'s, else False.
        """
        return calling.call_layer(self, args, training, mask, kwargs, self._eager_call)

    def _eager_call(self, x, training: bool, **kwargs):
        shape = (calling.input_shape(x) if self._call_style
                 else (None,) + tuple(np.shape(x))[1:])
        self.maybe_build(shape)
        return self.apply(x, training=training, **kwargs)

    # ----- (de)serialisation ------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """name, trainable, dtype (and input_shape if given). A call()-style layer that does
        not write get_config also records its constructor's arguments (as Keras), and,
        once built, the shape it was built for."""
        config_ = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self._input_shape_arg is not None:
            config_["input_shape"] = list(self._input_shape_arg)
        if self._call_style:
            if type(self).get_config is Layer.get_config:
                config_ = {**traced.constructor_config(self), **config_}
            if self.built and isinstance(self.input_shape, tuple):
                config_["build_input_shape"] = list(self.input_shape)
        return config_

    @classmethod
    def from_config(cls, config_: dict[str, Any]) -> Layer:
        """The layer `get_config` describes; `*_initializer` entries saved as
        {'class_name', 'config'} dicts become Initializer objects again."""
        config_ = {key: deserialize_initializer(value)
                   if key.endswith("_initializer") and isinstance(value, dict) else value
                   for key, value in config_.items()}
        if cls._call_style:
            pending = config_.pop("build_input_shape", None)
            accepted = traced.accepted_arguments(cls, config_)
            layer = cls(**accepted)
            if "name" not in accepted and "name" in config_:
                layer.name = config_["name"]
            if pending is not None:
                layer._pending_build_shape = pending
            return layer
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
    """The `<prefix>_initializer`, `<prefix>_regularizer` and (for a layer that takes one)
    `<prefix>_constraint` config entries of a layer, e.g. `weight_config(self, "kernel",
    "bias")` for Dense and Conv2D."""
    config_ = {}
    for prefix in prefixes:
        config_[f"{prefix}_initializer"] = serialize_initializer(
            getattr(layer, f"{prefix}_initializer"))
        config_[f"{prefix}_regularizer"] = serialize_optional(
            getattr(layer, f"{prefix}_regularizer"))
        if hasattr(layer, f"{prefix}_constraint"):
            from glassnet import constraints

            config_[f"{prefix}_constraint"] = constraints.serialize(
                getattr(layer, f"{prefix}_constraint"))
    return config_


def serialize_optional(obj):
    """None (no regularizer) stays None; anything else is serialized."""
    from glassnet.registry import serialize

    return None if obj is None else serialize(obj)

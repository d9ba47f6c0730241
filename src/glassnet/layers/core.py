"""The layers of a multilayer perceptron: Input, Dense, Flatten and Reshape."""

from __future__ import annotations

import math

import numpy as np

from glassnet import activations, constraints, regularizers
from glassnet.autodiff import Operators
from glassnet.backend import namespace
from glassnet.layers.base import Layer, require_forward_state, weight_config
from glassnet.registry import register
from glassnet.training.buffers import step_buffer


class SymbolicTensor(Operators):
    """The placeholder `Input(shape)` returns: a shape and dtype, no data.

    Python's operators and `glassnet.ops` functions on it add a node to the graph
    (`x + residual`, `ops.concatenate([a, b])`: see `layers.op_layer`).

    Calling a layer on it builds the layer for that shape and returns the next placeholder,
    so `Sequential([Input(shape=(256,)), Dense(30), ...])` knows every shape up front.
    Each placeholder also records the call that made it, one node of a graph:
    `layer(inputs) -> self`, which `Model(inputs, outputs)` (a Functional) walks.

    Attributes:
        layer: the layer that produced this tensor (an InputLayer at the root).
        inputs: the tensors that layer was called on (empty at the root).
        list_input: True when the layer was called on a list (a merge layer), so that
            forward hands it a list of arrays and backward returns one gradient for each.
    """

    _glassnet_symbolic = True

    def __init__(self, shape: tuple, dtype: str, layer: Layer | None = None, inputs=(),
                 list_input: bool = False):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.layer = layer
        self.inputs = tuple(inputs)
        self.list_input = bool(list_input)

    def apply(self, layer: Layer) -> SymbolicTensor:
        """`layer(self)`: build the layer for this shape, return its output placeholder."""
        return SymbolicTensor.call(layer, self)

    @staticmethod
    def call(layer: Layer, inputs) -> SymbolicTensor:
        """Record `layer(inputs)`, `inputs` a SymbolicTensor or a list of them (merge layers).

        The layer is built for the input shape(s) (a list of shapes for a list) on its first
        call; the result is the placeholder of the output.
        """
        many = isinstance(inputs, (list, tuple))
        tensors = list(inputs) if many else [inputs]
        if not tensors or not all(isinstance(t, SymbolicTensor) for t in tensors):
            kinds = [type(t).__name__ for t in tensors]
            raise TypeError(f"layer {layer.name!r}: a list of inputs must hold only symbolic "
                            f"tensors (from Input or another layer), got {kinds}")
        shape = [t.shape for t in tensors] if many else tensors[0].shape
        layer.maybe_build(shape)
        # A layer with weights (Embedding on int ids) computes in its float dtype; others
        # (Flatten, Reshape) pass their input's dtype on.
        dtype = layer.dtype if layer.parameters() else tensors[0].dtype
        output = SymbolicTensor(layer.compute_output_shape(shape), dtype, layer,
                                tensors, list_input=many)
        layer.__dict__.setdefault("_inbound_nodes", []).append(output)  # layer.input/.output
        return output

    def __repr__(self) -> str:
        return f"<SymbolicTensor shape={self.shape} dtype={self.dtype}>"


@register("layer")
class InputLayer(Layer):
    """Declares the input shape (without the batch axis) and dtype; forward is the identity.

    `dtype` is the dtype of the data: a float dtype (the default, floatx), or an integer or
    bool one (`Input(shape=(10,), dtype="int32")` for the ids an Embedding reads): `fit` and
    `predict` then give the model x in that dtype instead of casting it to float.
    """

    @classmethod
    def contract_sample(cls, rng):
        return {"shape": (4,)}, rng.standard_normal((3, 4))

    def __init__(self, shape=None, batch_size: int | None = None, dtype=None, name=None,
                 batch_shape=None, **kwargs):
        if batch_shape is not None:
            batch_shape = tuple(batch_shape)
        elif shape is not None:
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            batch_shape = (batch_size,) + shape
        else:
            raise ValueError("InputLayer: give `shape` (e.g. shape=(256,)) or `batch_shape`")
        if any(d is not None and (not isinstance(d, (int, np.integer)) or d <= 0)
               for d in batch_shape[1:]):
            raise ValueError(f"InputLayer: shape dimensions must be positive integers, "
                             f"got {batch_shape[1:]}")
        data_dtype = _integer_dtype(dtype)
        super().__init__(name=name, dtype=None if data_dtype else dtype, **kwargs)
        self._data_dtype = data_dtype
        self.batch_shape = batch_shape
        self.maybe_build(batch_shape)
        self._inbound_nodes = [SymbolicTensor(batch_shape, self.dtype, self)]

    @property
    def input(self):
        """The tensor `Input(...)` returns (an InputLayer's input is its output)."""
        return self.output

    @property
    def dtype(self) -> str:
        """The dtype of the input data: the integer or bool dtype given, else a float one."""
        return self._data_dtype or Layer.dtype.fget(self)

    @dtype.setter
    def dtype(self, dtype) -> None:
        self._data_dtype = _integer_dtype(dtype)
        Layer.dtype.fset(self, None if self._data_dtype else dtype)

    @property
    def data_dtype(self) -> str | None:
        """The integer or bool dtype x is given in (None: x is cast to the model's float)."""
        return self._data_dtype

    def forward(self, x, training=False):
        return x

    def backward(self, dy, input_gradient: bool = True):
        return dy

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "batch_shape": list(self.batch_shape)}


def _integer_dtype(dtype) -> str | None:
    """The name of an integer or bool dtype; None for None or a float dtype (checked by
    Layer); a TypeError for anything else."""
    if dtype is None:
        return None
    try:
        kind = np.dtype(dtype).kind
    except TypeError as error:
        raise TypeError(f"Input: dtype must be a float, integer or bool dtype, got "
                        f"{dtype!r}") from error
    if kind in "iub":
        return np.dtype(dtype).name
    if kind != "f":
        raise TypeError(f"Input: dtype must be a float, integer or bool dtype, got "
                        f"{np.dtype(dtype).name!r}")
    return None


def Input(shape=None, batch_size: int | None = None, dtype=None, name=None,  # noqa: N802
          batch_shape=None) -> SymbolicTensor:
    """A symbolic input of `shape` (no batch axis), as `keras.Input`: `Input(shape=(256,))`."""
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name,
                      batch_shape=batch_shape).output


def _check_last_axis(layer: Layer, x, expected: int) -> None:
    if np.ndim(x) < 2 or x.shape[-1] != expected:
        raise ValueError(
            f"layer {layer.name!r} ({type(layer).__name__}): expected input with last axis "
            f"{expected}, i.e. shape (batch, ..., {expected}), got shape {np.shape(x)}"
        )


@register("layer")
class Dense(Layer):
    """Affine map followed by an activation: y = f(x @ W + b).

    Shapes: x (N, n_in) -> y (N, units); W (n_in, units); b (units,). Inputs of higher rank
    (N, ..., n_in) are mapped along the last axis, as in Keras.
    Init: Glorot uniform, W ~ U(-a, a) with a = sqrt(6 / (n_in + units)); b = 0.

    Args:
        units: number of outputs.
        activation: name or ActivationFunction ("relu", "sigmoid", "softmax", ...); default linear.
        use_bias: whether to add b.
        kernel_initializer, bias_initializer: names or Initializer objects.
        kernel_regularizer, bias_regularizer: e.g. "l2" or regularizers.L2(1e-4).
        kernel_constraint, bias_constraint: e.g. constraints.MaxNorm(3.0), applied to the
            weight after each optimizer step.

    Example:
        >>> layer = Dense(3, activation="relu")
        >>> layer(np.ones((2, 5), dtype="float32")).shape
        (2, 3)
    """

    supports_masking = True      # per position: a padding mask passes on (Keras)

    @classmethod
    def contract_sample(cls, rng):
        return {"units": 3, "activation": "tanh"}, rng.standard_normal((3, 4))

    def __init__(self, units: int, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"Dense: units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def build(self, input_shape):
        n_in = input_shape[-1]
        if n_in is None:
            raise ValueError(f"Dense {self.name!r}: the last input axis must be known, "
                             f"got input shape {input_shape}")
        self.W = self.add_weight((n_in, self.units), self.kernel_initializer, name="kernel",
                                 regularizer=self.kernel_regularizer,
                                 constraint=self.kernel_constraint)
        self.b = (self.add_weight((self.units,), self.bias_initializer, name="bias",
                                  regularizer=self.bias_regularizer,
                                  constraint=self.bias_constraint) if self.use_bias else None)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def forward(self, x, training=False):
        _check_last_axis(self, x, self.W.shape[0])
        xp, W = namespace(x), self.W.value
        # z: an empty (N, units) array; in fit, the one of the last step (training.buffers)
        z = step_buffer(self, "z", x.shape[:-1] + (self.units,), xp.result_type(x, W), xp)
        xp.matmul(x, W, out=z)                        # (N, n_in) @ (n_in, units)
        if self.b is not None:
            z += self.b.value                         # in place: no second (N, units) array
        y = self.activation.forward_overwriting(z, training=training)  # z is ours
        self._x = self.keep(x)                        # for dL/dW (predict: nothing kept)
        return y

    skips_input_gradient = True  # see backward_preactivation's `input_gradient`

    def backward(self, dy, input_gradient: bool = True):
        """dL/dy (N, units) -> dL/dx (N, n_in); accumulates dL/dW and dL/db."""
        require_forward_state(self, getattr(self, "_x", None))
        return self.backward_preactivation(self.activation.backward(dy), input_gradient)

    def backward_preactivation(self, dz, input_gradient: bool = True):
        """dL/dz for z = x @ W + b (the model's fused softmax/cross-entropy path starts here).

        With input_gradient=False (the first layer of a model in training, whose dL/dx
        nobody reads) the weight gradients are accumulated and dL/dx is not computed.
        """
        require_forward_state(self, getattr(self, "_x", None))
        x2 = self._x.reshape(-1, self._x.shape[-1])   # (N·..., n_in)
        dz2 = dz.reshape(-1, self.units)              # (N·..., units)
        if self.trainable:
            self.W.add_matmul(x2.T, dz2)              # dL/dW += xᵀ dz: (n_in, N) @ (N, units)
            if self.b is not None:
                self.b.grad += dz2.sum(axis=0)        # b was broadcast over the batch
        if not input_gradient:
            return None
        W, xp = self.W.value, namespace(dz)
        dx = step_buffer(self, "dx", dz.shape[:-1] + W.shape[:1], xp.result_type(dz, W), xp)
        return xp.matmul(dz, W.T, out=dx)             # (N, units) @ (units, n_in)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            **weight_config(self, "kernel", "bias"),
        }


@register("layer")
class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1·d2·...); backward reshapes the gradient back."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"Flatten: only data_format='channels_last' is supported, "
                             f"got {data_format!r}")

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], size)

    def forward(self, x, training=False):
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy, input_gradient: bool = True):
        return dy.reshape(self._shape)


@register("layer")
class Reshape(Layer):
    """(N, *input) -> (N, *target_shape); one entry of target_shape may be -1."""

    @classmethod
    def contract_sample(cls, rng):
        return {"target_shape": (2, -1)}, rng.standard_normal((3, 2, 3))

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in target_shape) > 1 or any(d == 0 or d < -1 for d in target_shape):
            raise ValueError(f"Reshape: target_shape must hold positive sizes and at most one "
                             f"-1, got {target_shape}")
        self.target_shape = target_shape

    def compute_output_shape(self, input_shape):
        known = input_shape[1:]
        if -1 not in self.target_shape or any(d is None for d in known):
            shape = self.target_shape
        else:
            rest = math.prod(d for d in self.target_shape if d != -1)
            shape = tuple(math.prod(known) // rest if d == -1 else d for d in self.target_shape)
        if -1 not in self.target_shape and not any(d is None for d in known):
            if math.prod(known) != math.prod(self.target_shape):
                raise ValueError(f"Reshape {self.name!r}: cannot reshape input of shape "
                                 f"{tuple(known)} to {self.target_shape}")
        return (input_shape[0],) + tuple(shape)

    def forward(self, x, training=False):
        self._shape = x.shape
        try:
            return x.reshape((x.shape[0],) + self.target_shape)
        except ValueError as error:
            raise ValueError(f"Reshape {self.name!r}: cannot reshape input of shape "
                             f"{x.shape[1:]} to {self.target_shape}") from error

    def backward(self, dy, input_gradient: bool = True):
        return dy.reshape(self._shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


__all__ = ["Dense", "Flatten", "Input", "InputLayer", "Reshape", "SymbolicTensor"]

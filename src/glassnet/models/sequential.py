"""Sequential: a plain stack of layers, each one's output the next one's input."""

from __future__ import annotations

from typing import Any

from glassnet.layers.base import Layer
from glassnet.layers.core import InputLayer, SymbolicTensor
from glassnet.models import fusion
from glassnet.models.chain import backward_chain, forward_chain
from glassnet.models.model import Model
from glassnet.registry import deserialize, register, serialize


@register("layer")
class Sequential(Model):
    """A plain stack: each layer's output is the next layer's input.

    Example:
        >>> model = Sequential([Input(shape=(256,)), Dense(30, activation="sigmoid"),
        ...                     Dense(10, activation="softmax")])
    """

    def __init__(self, layers=None, name: str | None = None, dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        self._layers: list[Layer] = []
        self._graph_tensors = self._made_input = None    # see `_connect`
        self._stepsrun: list = []          # the last forward's layers or fused groups
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self) -> list[Layer]:
        return [layer for layer in self._layers if not isinstance(layer, InputLayer)]

    @property
    def input_dtype(self) -> str:
        """The integer or bool dtype of the Input, if it has one, else the float dtype."""
        first = self._layers[0] if self._layers else None
        return getattr(first, "data_dtype", None) or self.dtype

    # ----- the graph of a built Sequential (Keras' `inputs`, `outputs`) ----------------------
    @property
    def inputs(self) -> list[SymbolicTensor]:
        """[the input tensor] once the model is built (from its Input, or made for the
        shape it was built for), as Keras; AttributeError before."""
        return [self._graph("inputs")[0]]

    @property
    def outputs(self) -> list[SymbolicTensor]:
        """[the output tensor]: the input passed through every layer symbolically."""
        return [self._graph("outputs")[1]]

    @property
    def input(self) -> SymbolicTensor:
        return self._graph("input")[0]

    @property
    def output(self) -> SymbolicTensor:
        return self._graph("output")[1]

    def _graph(self, attribute: str) -> tuple[SymbolicTensor, SymbolicTensor]:
        """(input, output) tensors of the layers as built (made again if a build could not)."""
        if not self.built or not self.layers:
            raise AttributeError(f"Sequential model '{self.name}' has no defined {attribute} "
                                 f"yet.")
        if self._graph_tensors is None:
            self._graph_tensors = self._connect(self.input_shape)
        return self._graph_tensors

    def _connect(self, input_shape) -> tuple[SymbolicTensor, SymbolicTensor]:
        """Call every layer on symbolic tensors from the input, as Keras' Sequential does
        when it is built: each layer's `input` and `output` are then this graph's, so that
        `Model(model.inputs, model.layers[i].output)` extracts features. The input is the
        model's Input, or one made for the shape (kept while the shape stays)."""
        first = self._layers[0]
        if isinstance(first, InputLayer):
            x = first.output
        else:
            x = self._made_input
            if x is None or x.shape != tuple(input_shape) or x.dtype != self.input_dtype:
                # named, so that no Input(...) made later changes its default name
                x = InputLayer(batch_shape=input_shape, dtype=self.input_dtype,
                               name=f"{self.name}_input").output
                self._made_input = x
        y = x
        for layer in self.layers:
            y = SymbolicTensor.call(layer, y)
        return x, y

    def add(self, layer) -> None:
        """Append a layer (or an `Input(...)` placeholder, which fixes the input shape)."""
        if isinstance(layer, SymbolicTensor):
            if self._layers:
                raise ValueError("Sequential: an Input can only be the first element")
            layer = layer.layer
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a Layer, got {type(layer).__name__}")
        if isinstance(layer, InputLayer) and self._layers:
            raise ValueError("Sequential: an InputLayer can only be the first layer")
        if self.declared_dtype is not None and layer.declared_dtype is None \
                and not layer.built:
            layer.dtype = self.declared_dtype
        self._layers.append(layer)
        self.built = False
        first = self._layers[0]
        if isinstance(first, InputLayer):
            self.maybe_build(first.batch_shape)
        elif first.declared_input_shape is not None:
            self.maybe_build((None,) + first.declared_input_shape)

    def pop(self) -> Layer:
        if not self.layers:
            raise ValueError("Sequential.pop: the model has no layers")
        layer = self._layers.pop()
        self.built = False
        if self._layers and self.input_shape is not None:
            self.maybe_build(self.input_shape)
        return layer

    def build(self, input_shape) -> None:
        if not self.layers:
            raise ValueError(f"Sequential {self.name!r} has no layers to build")
        shape = tuple(input_shape)
        for layer in self.layers:
            try:
                layer.maybe_build(shape)
            except ValueError as error:
                raise ValueError(f"building layer {layer.name!r} for input shape {shape}: "
                                 f"{error}") from error
            shape = layer.output_shape
        try:
            self._graph_tensors = self._connect(tuple(input_shape))
        except (ValueError, TypeError, NotImplementedError):
            self._graph_tensors = None   # `inputs` raises the error if it is asked for

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.layers:
            shape = layer.compute_output_shape(shape)
        return shape

    def maybe_build(self, input_shape) -> None:
        if not self.built and self.layers:
            super().maybe_build(input_shape)

    def forward(self, x, training: bool = False, mask=None):
        """Each layer's output is the next one's input.

        A padding mask (from Embedding with mask_zero=True, or `mask` given to a nested
        Sequential) travels along as in Keras: every layer that supports masking passes it
        on (Dense, Dropout, activations, normalization, ...), the layers that use it get it
        (RNNs, GlobalAveragePooling1D), and one that does not support it ends it. The mask
        of the output is `output_mask` (the loss and metrics skip the masked steps).
        A layer used twice is two calls with their own state (see `glassnet.layers.calls`).
        After `compile`, some pairs of layers run as one exact fused group (see
        `glassnet.models.fusion`).
        """
        steps = fusion.steps(self)                       # a fused group runs like a layer
        y, self._calls_made, self._output_mask = forward_chain(steps, x, training, mask)
        self._stepsrun = steps
        return y

    def _fusion_chain(self) -> list[Layer]:
        """The layers the fusion pass plans over (`glassnet.models.fusion`)."""
        return self.layers

    def backward(self, dy, input_gradient: bool = True, from_preactivation: bool = False):
        """Backpropagate dL/dy through the layers in reverse; return dL/dx.

        With `from_preactivation`, dy is dL/dlogits of the last layer (fused output path).
        With `input_gradient=False` (training), the pass stops at the first layer with
        weights and that layer skips dL/dx: nobody reads the gradient of the data, and for a
        first Dense layer it is a product as large as the biggest one of the forward pass.
        A layer whose input is not differentiable (Embedding's ids) returns None, which
        ends the pass.
        """
        return backward_chain(self._stepsrun or self.layers, self._calls_made, dy,
                                     input_gradient, from_preactivation)

    def get_config(self) -> dict[str, Any]:
        layers = self.layers
        if self._layers and getattr(self._layers[0], "data_dtype", None):
            layers = self._layers  # an integer Input keeps its dtype, as in Keras' config
        config_ = {"name": self.name, "trainable": self.trainable,
                   "layers": [serialize(layer) for layer in layers]}
        if self._dtype is not None:
            config_["dtype"] = self._dtype
        if self.input_shape is not None:
            config_["build_input_shape"] = list(self.input_shape)
        return config_

    @classmethod
    def from_config(cls, config_: dict[str, Any], custom_objects=None) -> Sequential:
        layer_specs = config_.get("layers")
        if not isinstance(layer_specs, list):
            raise ValueError("Sequential config: 'layers' must be a list")
        model = cls(name=config_.get("name"), dtype=config_.get("dtype"),
                    trainable=config_.get("trainable", True))
        for spec in layer_specs:
            model.add(deserialize("layer", spec, custom_objects))
        shape = config_.get("build_input_shape")
        if shape is not None:
            model.maybe_build(tuple(shape))
        return model

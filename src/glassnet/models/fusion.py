"""The fusion pass: `compile` rewrites a model's plan of layers so that fewer passes run over
the largest tensors. The layers stay as they are; the plan says in which order their parts
run. Each rewrite gives the same numbers as the layers run one by one (tests/models/
test_fusion.py compares forward and every weight gradient, float32 and float64).

Two rewrites. The first, for a Conv1D/Conv2D/Dense with a bias b and a monotone
non-decreasing activation f (linear, relu, leaky_relu, elu, selu, sigmoid, tanh, softplus)
followed by a MaxPooling whose windows do not overlap (strides >= pool_size, the default):

    unfused:  y = maxpool(f(z + b))              z = conv(x, W): bias and f on every pixel
    fused:    y = f(maxpool(z) + b)              bias and f on the pooled pixels (2x2: 4x fewer)

Forward, bitwise: floating-point rounding is monotone (u <= v gives fl(u + b) <= fl(v + b)),
and so is f, so the max of f(fl(z_i + b)) over a window is f(fl(max z_i + b)), the same number.

Backward: dL/dz is f'(y) dy at the window's argmax and 0 elsewhere on both paths, the same
numbers when both pick the same argmax, so dW, db and dx are bitwise equal too. The argmax can
differ only where f(z + b) has a tie that z has not (a tie in z stays a tie, and both paths
then route to the first maximum): either f saturates (relu's 0, elu's -alpha, sigmoid's and
tanh's 1.0) and f'(y) is exactly 0 on both paths, so the gradient is 0 wherever it goes; or
rounding merged two distinct values (fl(z_i + b) == fl(z_j + b)), and then both have the same
y and so the same f'(y) dy, which the fused path sends to the larger z_j (the element exact
arithmetic would pick) and the unfused one to the first of the tied elements. The value of
the gradient is the same; only which of two inputs that tie in y receives it can differ.
Overlapping windows are left alone: a pixel that is the max of two windows would get
f'(y) dy_1 + f'(y) dy_2 fused against f'(y) (dy_1 + dy_2) unfused, equal only to rounding.

The second, for predict only: a Conv/Dense without activation followed by a
BatchNormalization (channels last) runs as one layer whose kernel and bias absorb the
normalization (see `NormalizationFolded`); to a few ulps, not bitwise. Training, and any
forward a backward may follow, runs the two layers as they are: gradients never see it.
The ONNX export writes the same pairs folded (`foldable`, `folded`: one home for the rule
and the arithmetic), wherever the layer's output goes to the normalization alone.

Off: `glassnet.config.set_fusion(False)` runs every layer on its own (checked at each
forward pass). A group also runs unfused while one of its layers has a hook (`add_hook`
observes each layer's own output).
"""

from __future__ import annotations

import contextlib

from glassnet import activations, config
from glassnet.backend import namespace
from glassnet.layers.base import Layer
from glassnet.layers.convolutional import Conv1D, Conv2D
from glassnet.layers.core import Dense
from glassnet.layers.inference import keeps_for_backward
from glassnet.layers.normalization import BatchNormalization
from glassnet.layers.parameter import Parameter
from glassnet.layers.pooling import MaxPooling1D, MaxPooling2D

_LINEAR_TYPES = (Conv1D, Conv2D, Dense)
_MAX_POOL_TYPES = (MaxPooling1D, MaxPooling2D)
_IDENTITY = activations.get("linear")


def _monotone(activation) -> bool:
    """Whether f is non-decreasing (elementwise, so that max commutes with it)."""
    kind = type(activation)
    if kind in (activations.Linear, activations.Sigmoid, activations.Tanh,
                activations.LeakyReLU, activations.SELU, activations.Softplus):
        return True
    if kind is activations.ReLU:
        return activation.negative_slope >= 0
    if kind is activations.ELU:
        return activation.alpha >= 0
    return False


class _Pair:
    """A Conv/Dense and the layer after it, run as one step through a layer's doors
    (`apply`, `backpropagate`, `last_call`, `compute_mask`, `parameters`); the subclasses
    say how (`apply`, `backpropagate`, `describe`)."""

    def __init__(self, linear: Layer, second: Layer):
        self.linear = linear
        self.layers = (linear, second)

    def parameters(self, trainable_only: bool = False):
        return [p for layer in self.layers for p in layer.parameters(trainable_only)]

    def compute_mask(self, x, mask=None):
        return self.layers[1].compute_mask(x, self.linear.compute_mask(x, mask))

    @property
    def last_call(self) -> tuple[int, int]:
        return self.linear.last_call, self.layers[1].last_call


class PoolBeforeActivation(_Pair):
    """A Conv/Dense and the MaxPooling after it, run as pool(z), then + b and f.

    Used by Sequential in place of the two layers, through the same doors (`apply`,
    `backpropagate`, `last_call`, `compute_mask`, `parameters`).
    Shapes (Conv2D): x (N, H, W, C) -> z (N, OH, OW, F) -> y (N, OH/p, OW/p, F); b (F,).
    """

    def __init__(self, linear: Layer, pool: Layer):
        super().__init__(linear, pool)
        self.pool = pool
        self._fused = False                 # how the last forward ran

    def describe(self) -> str:
        activation = self.linear.activation.name
        return (f"{self.linear.name} + {self.pool.name}: bias and {activation} after the "
                f"max pooling")

    def apply(self, x, training: bool = False, mask=None):
        self._fused = (_monotone(self.linear.activation)         # may be changed after compile
                       and not (self.linear.hooked or self.pool.hooked))
        if not self._fused:
            z = self.linear.apply(x, training=training, mask=mask)
            return self.pool.apply(z, training=training)
        if keeps_for_backward():             # the layer keeps what its backward will need
            with _linear_part(self.linear):
                z = self.linear.apply(x, training=training, mask=mask)  # conv(x, W)
        else:                                # predict: a stand-in, the layer left untouched
            part = stand_in(self.linear, b=None, activation=_IDENTITY)
            z = part.apply(x, training=training, mask=mask)             # (N, *out, F)
        pooled = self.pool.apply(z, training=training)              # (N, *out/p, F), ours
        if self.linear.b is not None:
            pooled += self.linear.b.value                # the same fl(z + b) as unfused
        activation = self.linear.activation
        y = activation.forward_overwriting(pooled, training=training)
        if not keeps_for_backward():                                # predict: keep nothing
            activation.forget()
        return y

    def backpropagate(self, dy, input_gradient: bool = True, preactivation: bool = False,
                      call: tuple[int, int] | None = None):
        """dL/dy (N, *out/p, F) -> dL/dx; accumulates dL/dW and dL/db in the linear layer."""
        linear_call, pool_call = call if call is not None else (None, None)
        if not self._fused:
            dy = self.pool.backpropagate(dy, call=pool_call)
            return self.linear.backpropagate(dy, input_gradient, call=linear_call)
        dz = self.linear.activation.backward(dy)                    # f'(y) dy, pooled
        dz = self.pool.backpropagate(dz, call=pool_call)            # 0 off each argmax
        # db sums dz over every position in the linear layer, as unfused (same numbers)
        return self.linear.backpropagate(dz, input_gradient, preactivation=True,
                                         call=linear_call)


@contextlib.contextmanager
def _linear_part(layer):
    """Inside, `layer` computes only z = x @ W (or conv(x, W)): its bias and activation are
    set aside and put back on the way out (the group applies them after the pool). For a
    training step, whose backward reads what the layer's forward kept on it; predict uses
    a `stand_in` instead."""
    bias, activation = layer.b, layer.activation
    layer.b, layer.activation = None, _IDENTITY
    try:
        yield
    finally:
        layer.b, layer.activation = bias, activation


class NormalizationFolded(_Pair):
    """A Conv/Dense without activation and the BatchNormalization after it; in predict one
    layer, its kernel and bias folded with the moving statistics (per output channel f):

        BN(z) = γ (z - μ) / sqrt(σ² + ε) + β,        z = x W + b
              = x (W s) + ((b - μ) s + β),            s = γ / sqrt(σ² + ε)

    One pass over the output instead of the normalization's four (subtract, scale, γ, β).
    Only inside `inference_only()` (predict), where no backward can follow; any other forward
    runs the two layers as they are, so training and gradients never see the fold. Not
    bitwise: W s is rounded where the unfused path rounds (z - μ) s (tests: a few ulps).
    """

    def __init__(self, linear: Layer, norm: Layer):
        super().__init__(linear, norm)
        self.norm = norm

    def describe(self) -> str:
        return (f"{self.linear.name} + {self.norm.name}: normalization folded into the "
                f"kernel and bias for predict")

    def apply(self, x, training: bool = False, mask=None):
        folds = (not training and not keeps_for_backward()         # may be changed after compile
                 and foldable(self.linear, self.norm, x.ndim)
                 and not (self.linear.hooked or self.norm.hooked))
        if not folds:
            z = self.linear.apply(x, training=training, mask=mask)
            return self.norm.apply(z, training=training, mask=self.linear.compute_mask(x, mask))
        return folded(self.linear, self.norm).apply(x, training=False, mask=mask)

    def backpropagate(self, dy, input_gradient: bool = True, preactivation: bool = False,
                      call: tuple[int, int] | None = None):
        """The two layers' backward (a folded forward keeps nothing: the linear layer's
        backward then says so, as after any predict)."""
        linear_call, norm_call = call if call is not None else (None, None)
        dy = self.norm.backpropagate(dy, preactivation=preactivation, call=norm_call)
        return self.linear.backpropagate(dy, input_gradient, call=linear_call)


def foldable(linear, norm, rank: int | None = None) -> bool:
    """Whether norm(linear(x)) can be computed by `linear` alone with folded weights: a
    Conv1D/Conv2D/Dense whose activation is linear (BN(f(z)) is not affine in z for any other
    f), then a BatchNormalization of its output channels, the last of the output's `rank`
    axes (unchecked while the rank is unknown, as at compile). Any epsilon, center and scale.
    That nothing else reads the linear layer's output is the caller's to check."""
    return (type(linear) in _LINEAR_TYPES and type(norm) is BatchNormalization
            and type(linear.activation) is activations.Linear
            and (rank is None or norm.axis in (-1, rank - 1)))


def folded_weights(linear, norm):
    """The kernel W s (..., F) and bias (b - μ) s + β (F,) of `NormalizationFolded`'s formula,
    s = γ / sqrt(σ² + ε), in the weights' dtype (b = 0 without a bias, γ = 1 without scale,
    β = 0 without center)."""
    W = linear.W.value
    s = 1.0 / namespace(W).sqrt(norm.moving_variance.value + norm.epsilon)      # as BN
    if norm.gamma is not None:
        s = norm.gamma.value * s
    b = -norm.moving_mean.value if linear.b is None \
        else linear.b.value - norm.moving_mean.value
    b = b * s
    if norm.beta is not None:
        b += norm.beta.value
    return W * s, b


def folded(linear, norm):
    """A `stand_in` of `linear` that computes norm(linear(x)) on its own: its kernel and bias
    are `folded_weights`. Predict runs it, and the ONNX export writes it (glassnet.export.onnx),
    so both fold with the same numbers."""
    W, b = folded_weights(linear, norm)
    return stand_in(linear, W=Parameter(W, name=linear.W.name),
                    b=Parameter(b, name=f"{linear.name}/bias"))


def stand_in(layer, **attributes):
    """A shallow copy of `layer` with `attributes` replaced (`b=None`, a folded `W`, ...): it
    computes what `layer` would with them, while `layer` itself is never changed, so a
    predict running at the same time in another thread (a server answering requests) sees
    the layer as it is. Only for forwards that keep nothing (inside `inference_only()`):
    whatever the copy's forward keeps stays on the copy."""
    copied = object.__new__(type(layer))           # as copy.copy does, without its detour
    copied.__dict__.update(vars(layer), **attributes)
    return copied


def _pool_before_activation(linear, pool) -> bool:
    return (type(linear) in _LINEAR_TYPES and type(pool) in _MAX_POOL_TYPES
            and all(s >= p for s, p in zip(pool.strides, pool.pool_size))
            and _monotone(linear.activation))


def plan(layers) -> list:
    """The layers, with each fusible pair replaced by its group (a layer seen twice is left
    alone, and so is a last MaxPooling: the fused loss path reads the last layer)."""
    layers = list(layers)
    once = {id(layer) for layer in layers
            if sum(other is layer for other in layers) == 1}
    steps, i = [], 0
    while i < len(layers):
        layer, following = layers[i], layers[i + 1] if i + 1 < len(layers) else None
        pair = following is not None and id(layer) in once and id(following) in once
        if pair and i + 2 < len(layers) and _pool_before_activation(layer, following):
            steps.append(PoolBeforeActivation(layer, following))
            i += 2
        elif pair and foldable(layer, following):
            steps.append(NormalizationFolded(layer, following))
            i += 2
        else:
            steps.append(layer)
            i += 1
    return steps


def compile_plan(model) -> None:
    """The pass `compile` runs: record the model's fused plan, for a model that runs its
    layers as a chain (`_fusion_chain`: Sequential, and a Functional model whose graph is
    one). Other models (subclasses with their own forward) get none."""
    chain = getattr(model, "_fusion_chain", None)
    layers = None if chain is None else chain()
    model._fusion_plan = None if layers is None else (tuple(map(id, layers)), plan(layers))


def graph_chain(nodes, inputs) -> list | None:
    """The layers of a Functional graph in order if it is a chain (one input, each node
    reading the one before, each layer once), else None."""
    if len(inputs) != 1:
        return None
    previous = inputs[0]
    for node in nodes:
        if node.list_input or len(node.inputs) != 1 or node.inputs[0] is not previous:
            return None
        previous = node
    layers = [node.layer for node in nodes]
    return layers if len({id(layer) for layer in layers}) == len(layers) else None


def steps(model) -> list:
    """What a forward pass runs: the compiled plan while it still matches the model's layers
    and fusion is on, else the layers one by one."""
    compiled = getattr(model, "_fusion_plan", None)
    chain = getattr(model, "_fusion_chain", None)
    layers = (chain() if chain is not None else None) or model.layers
    if not config.fusion() or compiled is None or compiled[0] != tuple(map(id, layers)):
        return layers
    return compiled[1]


def fused_chain(model) -> list | None:
    """For a Functional model: its plan if it is a chain with a fused group (then forward
    runs it as Sequential does, `chain.forward_chain`), else None (the graph runs as
    it is)."""
    planned = steps(model)
    return planned if any(not isinstance(step, Layer) for step in planned) else None


def describe(model) -> list[str]:
    """The summary's lines naming the fused groups (none when nothing is fused)."""
    groups = [step for step in steps(model)
              if isinstance(step, (PoolBeforeActivation, NormalizationFolded))]
    return [f"Fused: {group.describe()}" for group in groups]

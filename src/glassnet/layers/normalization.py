"""BatchNormalization and LayerNormalization: standardise activations, then scale and shift.

Both layers compute, over some set of axes A of the input,

    μ = mean_A(x),   σ² = mean_A((x - μ)²)            (the biased, population variance)
    x̂ = (x - μ) / sqrt(σ² + ε)
    y = γ · x̂ + β

and differ only in A: BatchNormalization reduces over every axis but the channel axis (the
batch and any spatial axes), LayerNormalization over the feature axes of each sample. Both
backward passes therefore share one derivative of x̂ with respect to x (`_standardize_backward`):

    dx = inv_std · (dx̂ - mean_A(dx̂) - x̂ · mean_A(dx̂ · x̂)),   dx̂ = γ · dy

(the two means are the derivative flowing through μ and through σ², respectively).
"""

from __future__ import annotations

from glassnet import config, constraints, regularizers
from glassnet.backend import namespace
from glassnet.distribution import current_shard, synchronized_sum
from glassnet.layers.base import (
    Layer,
    Parameter,
    require_forward_state,
    serialize_initializer,
    serialize_optional,
)
from glassnet.registry import register


# ----- the shared math ------------------------------------------------------------------
def _standardize(x, axes: tuple[int, ...], epsilon: float):
    """x̂ = (x - mean) / sqrt(var + ε) over `axes`; returns (x̂, mean, var, inv_std).

    mean, var and inv_std keep the reduced axes as size 1, so they broadcast against x.
    """
    xp = namespace(x)
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=axes, keepdims=True)   # biased: divides by m, not m-1
    inv_std = 1.0 / xp.sqrt(var + epsilon)   # ε is a Python float: keeps x's dtype (NEP 50)
    centered *= inv_std                      # in place: centered becomes x̂
    return centered, mean, var, inv_std


def _standardize_backward(dx_hat, x_hat, inv_std, axes: tuple[int, ...]):
    """dL/dx for x̂ = (x - mean_A(x)) · inv_std with the statistics taken from x itself.

    With m elements in each group of `axes`,
        dx = inv_std / m · (m·dx̂ - Σ_A dx̂ - x̂ · Σ_A(dx̂ · x̂))
    written with means so that no m appears. All arrays broadcast to x's shape.
    """
    mean_dx_hat = dx_hat.mean(axis=axes, keepdims=True)                 # through μ
    mean_dx_hat_x_hat = (dx_hat * x_hat).mean(axis=axes, keepdims=True)  # through σ²
    return inv_std * (dx_hat - mean_dx_hat - x_hat * mean_dx_hat_x_hat)


def _synchronized_standardize(x, axes: tuple[int, ...], epsilon: float):
    """`_standardize` with the statistics of the global batch of a data-parallel step: each
    rank's sums over `axes`, summed over the ranks (`synchronized_sum`); returns
    (x̂, mean, var, inv_std, m), m the number of values per channel in the global batch."""
    xp = namespace(x)
    local = x.sum(axis=axes, keepdims=True)
    m = synchronized_sum(xp.asarray([x.size // local.size], dtype=x.dtype))[0]
    mean = synchronized_sum(local) / m
    centered = x - mean
    var = synchronized_sum((centered * centered).sum(axis=axes, keepdims=True)) / m
    inv_std = 1.0 / xp.sqrt(var + epsilon)
    centered *= inv_std
    return centered, mean, var, inv_std, m


def _synchronized_standardize_backward(dx_hat, x_hat, inv_std, m, axes: tuple[int, ...]):
    """`_standardize_backward` with both means over the global batch (summed over ranks)."""
    sums = synchronized_sum(namespace(dx_hat).stack(
        [dx_hat.sum(axis=axes, keepdims=True), (dx_hat * x_hat).sum(axis=axes, keepdims=True)]))
    return inv_std * (dx_hat - sums[0] / m - x_hat * (sums[1] / m))


def _masked_standardize(x, w, axes: tuple[int, ...], epsilon: float):
    """`_standardize` with the statistics taken over the unmasked positions only (Keras'
    BatchNormalization with a padding mask), w = the mask as 0/1 broadcast against x:

        W = Σ_A w + δ,  μ = Σ_A w·x / W,  σ² = Σ_A w·(x - μ)² / W       (δ = config.epsilon(),
                                                                           as Keras adds it)
    Every position is normalized with them; returns (x̂, mean, var, inv_std, W).
    """
    xp = namespace(x)
    total = w.sum(axis=axes, keepdims=True) + config.epsilon()
    mean = (w * x).sum(axis=axes, keepdims=True) / total
    centered = x - mean
    var = (w * centered * centered).sum(axis=axes, keepdims=True) / total
    inv_std = 1.0 / xp.sqrt(var + epsilon)
    return centered * inv_std, mean, var, inv_std, total


def _masked_standardize_backward(dx_hat, x_hat, inv_std, w, total, mean, axes):
    """dL/dx for `_masked_standardize`: only unmasked positions move μ and σ², every
    position's x̂ depends on them (so the sums below run over all positions).

        dσ² = -inv_std² / 2 · Σ dx̂·x̂
        dμ  = -inv_std · Σ dx̂ + dσ² · (-2 δ μ / W)        (Σ w (x - μ) = δ μ, not 0)
        dx  = inv_std · dx̂ + w / W · (dμ + 2 dσ² (x - μ))
    """
    d_var = -0.5 * inv_std * inv_std * (dx_hat * x_hat).sum(axis=axes, keepdims=True)
    delta = total - w.sum(axis=axes, keepdims=True)
    d_mean = (-inv_std * dx_hat.sum(axis=axes, keepdims=True)
              - 2.0 * d_var * delta * mean / total)
    return inv_std * dx_hat + (w / total) * (d_mean + 2.0 * d_var * (x_hat / inv_std))


def _positive_axis(axis: int, rank: int, layer: Layer) -> int:
    """`axis` in [0, rank) (negative counts from the end), else ValueError naming the layer."""
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise TypeError(f"{type(layer).__name__} {layer.name!r}: axis must be an int, "
                        f"got {axis!r}")
    if not -rank <= axis < rank:
        raise ValueError(f"{type(layer).__name__} {layer.name!r}: axis {axis} is out of range "
                         f"for inputs of rank {rank} (valid: {-rank} to {rank - 1})")
    return axis % rank


def _broadcast_shape(rank: int, axes: tuple[int, ...], sizes: tuple[int, ...]) -> tuple:
    """(1, ..., size, ..., 1): the shape a weight over `axes` takes to broadcast against x."""
    shape = [1] * rank
    for axis, size in zip(axes, sizes):
        shape[axis] = size
    return tuple(shape)


class _Normalization(Layer):
    """What both layers share: γ/β creation, the affine map, checks and config."""

    supports_masking = True      # per position: a padding mask passes on (Keras)

    def __init__(self, epsilon: float, center: bool, scale: bool, beta_initializer,
                 gamma_initializer, beta_regularizer, gamma_regularizer, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if not float(epsilon) > 0:
            raise ValueError(f"{type(self).__name__}: epsilon must be positive, got {epsilon!r}")
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = beta_initializer
        self.gamma_initializer = gamma_initializer
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.gamma: Parameter | None = None
        self.beta: Parameter | None = None

    def _add_affine_weights(self, shape: tuple[int, ...]) -> None:
        """γ then β (Keras order), each only when `scale` / `center` asks for it."""
        if self.scale:
            self.gamma = self.add_weight(shape, self.gamma_initializer, name="gamma",
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight(shape, self.beta_initializer, name="beta",
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint)

    def _affine(self, x_hat):
        """y = γ · x̂ + β (either may be absent); γ and β reshaped to broadcast against x̂."""
        if self.gamma is not None:
            y = x_hat * self.gamma.value.reshape(self._param_shape)   # a new array ...
            if self.beta is not None:
                y += self.beta.value.reshape(self._param_shape)        # ... so add in place
            return y
        if self.beta is not None:
            return x_hat + self.beta.value.reshape(self._param_shape)
        return x_hat.copy()   # never hand out the x̂ kept for backward: callers may write to y

    def _affine_backward(self, dy, reduce_axes: tuple[int, ...]):
        """Accumulate dL/dγ = Σ dy·x̂ and dL/dβ = Σ dy over `reduce_axes`; return dL/dx̂ = γ·dy."""
        if self.trainable:
            if self.gamma is not None:
                self.gamma.grad += (dy * self._x_hat).sum(axis=reduce_axes).reshape(
                    self.gamma.shape)
            if self.beta is not None:
                self.beta.grad += dy.sum(axis=reduce_axes).reshape(self.beta.shape)
        if self.gamma is None:
            return dy
        return dy * self.gamma.value.reshape(self._param_shape)

    def _check_input(self, x) -> None:
        """Same rank as at build time, and the same sizes on the weights' axes."""
        layer = f"{type(self).__name__} {self.name!r}"
        if x.ndim != self._rank:
            raise ValueError(f"{layer}: expected input of rank {self._rank} (built for shape "
                             f"{self.input_shape}), got shape {x.shape}")
        for axis, size in zip(self._param_axes, self._param_sizes):
            if x.shape[axis] != size:
                raise ValueError(f"{layer}: expected size {size} on axis {axis} (built for shape "
                                 f"{self.input_shape}), got input shape {x.shape}")

    def _known_sizes(self, input_shape: tuple, axes: tuple[int, ...]) -> tuple[int, ...]:
        sizes = tuple(input_shape[axis] for axis in axes)
        if any(size is None for size in sizes):
            raise ValueError(f"{type(self).__name__} {self.name!r}: the normalized axes "
                             f"{axes} must have known sizes (the batch axis 0 cannot be one), "
                             f"got input shape {tuple(input_shape)}")
        return sizes

    def get_config(self):
        return {
            **super().get_config(),
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": serialize_initializer(self.beta_initializer),
            "gamma_initializer": serialize_initializer(self.gamma_initializer),
            "beta_regularizer": serialize_optional(self.beta_regularizer),
            "gamma_regularizer": serialize_optional(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }


# ----- BatchNormalization ---------------------------------------------------------------
@register("layer")
class BatchNormalization(_Normalization):
    """Normalize each channel with the batch's statistics (training) or running ones (inference).

    Training (`training=True` and `layer.trainable`), with A = every axis but `axis`:
        μ_B = mean_A(x),  σ²_B = mean_A((x - μ_B)²),  y = γ · (x - μ_B) / sqrt(σ²_B + ε) + β
        moving_mean     ← moving_mean · momentum + μ_B · (1 - momentum)
        moving_variance ← moving_variance · momentum + σ²_B · (1 - momentum)
    Inference: y = γ · (x - moving_mean) / sqrt(moving_variance + ε) + β, an affine map.

    The moving variance is fed the *biased* batch variance σ²_B (divided by m, the number of
    values per channel), as Keras 3 does (`ops.moments`). PyTorch's BatchNorm feeds its
    running_var the unbiased m/(m-1)·σ²_B instead, and its momentum weighs the *new* value:
    torch momentum = 1 - keras momentum.

    Shapes: x (N, C), (N, L, C) or (N, H, W, C) -> y of the same shape (for axis=-1);
    γ, β, moving_mean, moving_variance (C,). Weights in Keras order: gamma, beta, moving_mean,
    moving_variance; the moving ones are non-trainable (the optimizer skips them, saving
    keeps them).

    Frozen layer: as in Keras 3, `trainable=False` makes the layer run in inference mode
    even when called with `training=True` (fine-tuning a pretrained network keeps its
    statistics), and its moving statistics are not updated.

    Data parallelism (`glassnet.distribution.DataParallel`): by default each rank takes
    μ_B, σ²_B over its own part of the batch (as PyTorch's DDP), and the moving statistics
    become the mean of the ranks' updates. With `synchronized=True` the sums behind μ_B, σ²_B
    and the two means of backward are summed over the ranks (three small all-reduces a
    step), so the layer computes exactly what one process does with the whole batch.

    Args:
        axis: the channel axis, kept; statistics are taken over all the others.
        momentum: weight of the old value in the moving averages, in [0, 1].
        epsilon: added to the variance before the square root.
        center, scale: whether to learn β and γ.
        beta_initializer, gamma_initializer, moving_mean_initializer,
        moving_variance_initializer: names or Initializer objects.
        beta_regularizer, gamma_regularizer: e.g. "l2".
        synchronized: under data parallelism, the statistics of the whole global batch
            (Keras' argument); no effect on one process. With a padding mask the
            statistics stay per rank.

    Example:
        >>> bn = BatchNormalization()
        >>> y = bn(np.random.randn(32, 4).astype("float32"), training=True)
        >>> bool(np.allclose(y.mean(axis=0), 0, atol=1e-5))
        True
    """

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 synchronized: bool = False, **kwargs):
        super().__init__(epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint,
                         gamma_constraint, **kwargs)
        self.synchronized = bool(synchronized)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"BatchNormalization: axis must be an int, got {axis!r}")
        if not 0.0 <= float(momentum) <= 1.0:
            raise ValueError(f"BatchNormalization: momentum must be in [0, 1], got {momentum!r}")
        self.axis = axis
        self.momentum = float(momentum)
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer

    def build(self, input_shape):
        self._rank = len(input_shape)
        channel_axis = _positive_axis(self.axis, self._rank, self)
        self._param_axes = (channel_axis,)
        self._param_sizes = self._known_sizes(input_shape, self._param_axes)
        self._param_shape = _broadcast_shape(self._rank, self._param_axes, self._param_sizes)
        self._reduce_axes = tuple(a for a in range(self._rank) if a != channel_axis)
        self._add_affine_weights(self._param_sizes)
        self.moving_mean = self.add_weight(self._param_sizes, self.moving_mean_initializer,
                                           name="moving_mean", trainable=False)
        self.moving_variance = self.add_weight(self._param_sizes,
                                               self.moving_variance_initializer,
                                               name="moving_variance", trainable=False)

    def compute_output_shape(self, input_shape):
        _positive_axis(self.axis, len(input_shape), self)
        return tuple(input_shape)

    def forward(self, x, training=False, mask=None):
        """`mask` (N, T) from Embedding(mask_zero=True): in training, the batch statistics
        are taken over the unmasked positions only, as in Keras."""
        self._check_input(x)
        self._batch_statistics = bool(training) and self.trainable   # frozen: inference mode
        self._mask_weights = self._global_count = None
        if self._batch_statistics and self.synchronized and mask is None \
                and current_shard() is not None:
            x_hat, mean, var, inv_std, self._global_count = _synchronized_standardize(
                x, self._reduce_axes, self.epsilon)
            self._update_moving_statistics(mean, var)
        elif self._batch_statistics and mask is not None:
            w = namespace(x).asarray(mask).astype(x.dtype)
            w = w.reshape(w.shape + (1,) * (x.ndim - w.ndim))
            x_hat, mean, var, inv_std, total = _masked_standardize(x, w, self._reduce_axes,
                                                                   self.epsilon)
            self._update_moving_statistics(mean, var)
            self._mask_weights = self.keep((w, total, mean))
        elif self._batch_statistics:
            x_hat, mean, var, inv_std = _standardize(x, self._reduce_axes, self.epsilon)
            self._update_moving_statistics(mean, var)
        else:
            xp = namespace(x)
            mean = self.moving_mean.value.reshape(self._param_shape)         # (1, ..., C)
            var = self.moving_variance.value.reshape(self._param_shape)
            inv_std = 1.0 / xp.sqrt(var + self.epsilon)
            x_hat = (x - mean) * inv_std
        self._x_hat, self._inv_std = self.keep(x_hat), inv_std   # for backward
        return self._affine(x_hat)

    def _update_moving_statistics(self, mean, var) -> None:
        """moving ← moving · momentum + batch · (1 - momentum), in place (biased variance)."""
        for moving, batch in ((self.moving_mean, mean), (self.moving_variance, var)):
            moving.value *= self.momentum
            moving.value += (1.0 - self.momentum) * batch.reshape(moving.shape)

    def backward(self, dy, input_gradient: bool = True):
        """dL/dy -> dL/dx (both shaped like x); accumulates dL/dγ and dL/dβ.

        Training mode (the statistics depend on x), m values per channel:
            dx = γ · inv_std / m · (m·dy - Σ dy - x̂ · Σ dy·x̂)       sums over A, per channel
        Inference mode (the statistics are constants): dx = γ · inv_std · dy.
        """
        require_forward_state(self, getattr(self, "_x_hat", None))
        dx_hat = self._affine_backward(dy, self._reduce_axes)          # γ · dy, x's shape
        if self._batch_statistics and self._global_count is not None:
            return _synchronized_standardize_backward(dx_hat, self._x_hat, self._inv_std,
                                                      self._global_count, self._reduce_axes)
        if self._batch_statistics and self._mask_weights is not None:
            w, total, mean = self._mask_weights
            return _masked_standardize_backward(dx_hat, self._x_hat, self._inv_std, w, total,
                                                mean, self._reduce_axes)
        if self._batch_statistics:
            return _standardize_backward(dx_hat, self._x_hat, self._inv_std, self._reduce_axes)
        return dx_hat * self._inv_std                                  # inv_std: (1, ..., C)

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "synchronized": self.synchronized,
            "moving_mean_initializer": serialize_initializer(self.moving_mean_initializer),
            "moving_variance_initializer": serialize_initializer(
                self.moving_variance_initializer),
        }


# ----- LayerNormalization ---------------------------------------------------------------
@register("layer")
class LayerNormalization(_Normalization):
    """Normalize each sample over its feature axes: the same in training and inference.

        μ = mean_A(x),  σ² = mean_A((x - μ)²),  y = γ · (x - μ) / sqrt(σ² + ε) + β

    with A = `axis` (one axis or several), statistics taken per sample (and per position on
    the other axes). γ and β span the normalized axes: for x (N, T, C) and axis=-1 they are
    (C,); for axis=[1, 2] they are (T, C). As in Keras, their shape lists the sizes in the
    order `axis` gives them.

    Shapes: x (N, ..., C) -> y of the same shape; statistics (N, ..., 1).

    Args:
        axis: int or list of ints, the axes to normalize over (not the batch axis 0).
        epsilon: added to the variance before the square root.
        center, scale: whether to learn β and γ.
        beta_initializer, gamma_initializer: names or Initializer objects.
        beta_regularizer, gamma_regularizer: e.g. "l2".

    Example:
        >>> ln = LayerNormalization()
        >>> y = ln(np.random.randn(2, 5).astype("float32"))
        >>> bool(np.allclose(y.mean(axis=-1), 0, atol=1e-5))
        True
    """

    def __init__(self, axis: int | list[int] = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer="zeros", gamma_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint,
                         gamma_constraint, **kwargs)
        if isinstance(axis, (list, tuple)) and axis:
            self.axis = list(axis)
        elif isinstance(axis, int) and not isinstance(axis, bool):
            self.axis = axis
        else:
            raise TypeError(f"LayerNormalization: axis must be an int or a non-empty list of "
                            f"ints, got {axis!r}")

    def _axes(self, rank: int) -> tuple[int, ...]:
        """`axis` as positive ints, in the given order; no repeats, not the batch axis."""
        given = self.axis if isinstance(self.axis, list) else [self.axis]
        axes = tuple(_positive_axis(axis, rank, self) for axis in given)
        if len(set(axes)) != len(axes) or 0 in axes:
            raise ValueError(f"LayerNormalization {self.name!r}: axis must name distinct "
                             f"non-batch axes of inputs of rank {rank}, got {self.axis!r}")
        return axes

    def build(self, input_shape):
        self._rank = len(input_shape)
        given_axes = self._axes(self._rank)
        sizes = self._known_sizes(input_shape, given_axes)
        self._norm_axes = tuple(sorted(given_axes))
        self._param_axes = self._norm_axes
        self._param_sizes = tuple(input_shape[axis] for axis in self._norm_axes)
        self._param_shape = _broadcast_shape(self._rank, self._norm_axes, self._param_sizes)
        # Keras reshapes γ (sizes in the given order) onto the sorted axes: same here
        self._add_affine_weights(sizes)
        self._reduce_axes = tuple(a for a in range(self._rank) if a not in self._norm_axes)

    def compute_output_shape(self, input_shape):
        self._axes(len(input_shape))
        return tuple(input_shape)

    def forward(self, x, training=False):
        self._check_input(x)
        x_hat, _, _, inv_std = _standardize(x, self._norm_axes, self.epsilon)
        # (N, ..., C) and (N, ..., 1): for backward
        self._x_hat, self._inv_std = self.keep(x_hat), self.keep(inv_std)
        return self._affine(x_hat)

    def backward(self, dy, input_gradient: bool = True):
        """dL/dy -> dL/dx (both shaped like x); accumulates dL/dγ and dL/dβ.

        Per sample, with m = number of normalized elements:
            dx = inv_std / m · (m·dx̂ - Σ dx̂ - x̂ · Σ dx̂·x̂),   dx̂ = γ · dy, sums over `axis`
        dγ and dβ sum over the batch (and any other non-normalized axes).
        """
        require_forward_state(self, getattr(self, "_x_hat", None))
        dx_hat = self._affine_backward(dy, self._reduce_axes)
        return _standardize_backward(dx_hat, self._x_hat, self._inv_std, self._norm_axes)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


__all__ = ["BatchNormalization", "LayerNormalization"]

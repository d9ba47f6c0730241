"""Weight initializers: `init(shape, dtype) -> array`, with Keras 3 names, formulas and defaults.

The variance-scaling family draws W with Var(W) = scale / n, n a fan of the kernel, so that
activations neither grow nor shrink from layer to layer:

    initializer     scale  n                       distribution
    glorot_uniform  1      (fan_in + fan_out) / 2  U(-a, a), a = sqrt(3 scale / n)
    glorot_normal   1      (fan_in + fan_out) / 2  truncated normal
    he_uniform      2      fan_in                  uniform
    he_normal       2      fan_in                  truncated normal
    lecun_uniform   1      fan_in                  uniform
    lecun_normal    1      fan_in                  truncated normal

Glorot suits tanh/sigmoid (Glorot & Bengio, 2010), He suits ReLU (He et al., 2015).

Randomness: an initializer built with a `seed` returns the same values on every call (as in
Keras 3); without one it draws from `glassnet.random.global_generator()`, so
`glassnet.random.set_random_seed(s)` makes a whole model's initial weights reproducible.
Values are drawn in float64 and cast, so float32 and float64 weights from one seed agree.

    >>> from glassnet import initializers
    >>> w = initializers.get("he_normal")((784, 128), dtype="float32")
    >>> round(float(w.std()), 2), round((2 / 784) ** 0.5, 2)      # std sqrt(2 / fan_in)
    (0.05, 0.05)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from glassnet import checks, config, registry
from glassnet.random import global_generator


def compute_fans(shape: tuple[int, ...], input_axes=None, output_axes=None) -> tuple[int, int]:
    """(fan_in, fan_out) of a kernel, as Keras computes them.

    Dense (n_in, n_out): (n_in, n_out). Conv (*kernel_size, c_in, c_out): each input channel
    meets prod(kernel_size) weights, so (c_in * r, c_out * r) with r = prod(kernel_size).
    A vector (n,): (n, n); a scalar: (1, 1). With both `input_axes` and `output_axes` (Keras
    3.15, for kernels such as EinsumDense's): the products of those axes' sizes.
    """
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return (int(math.prod(shape[a] for a in input_axes)),
                int(math.prod(shape[a] for a in output_axes)))
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return int(shape[0]), int(shape[0])
    receptive_field = math.prod(shape[:-2])
    return int(shape[-2] * receptive_field), int(shape[-1] * receptive_field)


def _check_seed(seed) -> int | None:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                             or seed < 0):
        raise ValueError(f"seed: expected None or a non-negative integer, got {seed!r}")
    return None if seed is None else int(seed)


_DRAW_BLOCK = 65536          # values drawn at a time by `Initializer.sequential` (512 KiB)


def _check_shape(shape) -> tuple[int, ...]:
    try:
        shape = tuple(int(d) for d in shape)
    except TypeError as error:
        raise TypeError(f"shape: expected a tuple of ints, got {shape!r}") from error
    if any(d < 0 for d in shape):
        raise ValueError(f"shape: expected non-negative sizes, got {shape}")
    return shape


class Initializer:
    """Base class: `__call__(shape, dtype=None)` returns a new array of `shape`.

    Subclasses implement `generate(shape, rng)` (float64 values, or `rng` unused) and keep
    their constructor arguments in `get_config`. Those whose values are independent draws
    may also give `sequential(shape, rng)` (see there) to save memory while building.
    """

    seed: int | None = None

    def __call__(self, shape, dtype=None) -> np.ndarray:
        """An array of `shape` and `dtype` (default `config.floatx()`)."""
        dtype = config.standardize_dtype(dtype)
        shape = _check_shape(shape)
        rng = global_generator() if self.seed is None else np.random.default_rng(self.seed)
        draw = self.sequential(shape, rng)
        if draw is None:
            return np.asarray(self.generate(shape, rng)).astype(dtype, copy=False)
        # Block by block into the result: the generator reads its stream in the same order,
        # so the values equal generate(shape, rng).astype(dtype), without a float64 copy of
        # the whole weight beside it (for float32 weights, 3x the weight's memory at once).
        out = np.empty(shape, dtype=dtype)
        flat = out.reshape(-1)
        for start in range(0, flat.size, _DRAW_BLOCK):
            flat[start:start + _DRAW_BLOCK] = draw(min(_DRAW_BLOCK, flat.size - start))
        return out

    def generate(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__}.generate")

    def sequential(self, shape: tuple[int, ...], rng: np.random.Generator):
        """n -> the next n values of `generate(shape, rng)` in C order, or None.

        Only for values drawn one after another from `rng` (uniform, normal), where drawing
        in blocks reads the same stream as drawing all at once.
        """
        return None

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config_: dict[str, Any]) -> Initializer:
        return cls(**config_)

    def clone(self) -> Initializer:
        return type(self).from_config(self.get_config())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


# ----- constants ----------------------------------------------------------------------------
@registry.register("initializer", "zeros", "zero")
class Zeros(Initializer):
    """W = 0 (Keras' default for biases)."""

    def generate(self, shape, rng):
        return np.zeros(shape)


@registry.register("initializer", "ones", "one")
class Ones(Initializer):
    """W = 1."""

    def generate(self, shape, rng):
        return np.ones(shape)


@registry.register("initializer", "constant")
class Constant(Initializer):
    """W = value everywhere.

    Args:
        value: a number.
    """

    def __init__(self, value: float = 0.0):
        if np.ndim(value) != 0:
            raise ValueError(f"Constant: value must be a scalar, got shape {np.shape(value)}")
        self.value = float(value)

    def generate(self, shape, rng):
        return np.full(shape, self.value)

    def get_config(self):
        return {"value": self.value}


@registry.register("initializer", "identity", "IdentityInitializer")
class Identity(Initializer):
    """W = gain * I for a 2-D shape (rectangular: ones on the main diagonal)."""

    def __init__(self, gain: float = 1.0):
        self.gain = float(gain)

    def generate(self, shape, rng):
        if len(shape) != 2:
            raise ValueError(f"Identity: expected a 2-D shape, got {shape}")
        return self.gain * np.eye(*shape)

    def get_config(self):
        return {"gain": self.gain}


# ----- plain random distributions -------------------------------------------------------
def _truncated_normal(shape, mean: float, stddev: float, rng: np.random.Generator):
    """N(mean, stddev^2) restricted to [mean - 2 stddev, mean + 2 stddev].

    Out-of-range draws are redrawn (4.6% of them each round), as TensorFlow and Keras do.
    """
    z = rng.standard_normal(shape)
    outside = np.abs(z) > 2.0
    while outside.any():
        z[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(z) > 2.0
    return mean + stddev * z


@registry.register("initializer", "random_uniform", "uniform")
class RandomUniform(Initializer):
    """W ~ U(minval, maxval).

    Args:
        minval, maxval: the range, minval < maxval.
        seed: fixed seed (same values every call), or None for the global generator.
    """

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        if not minval < maxval:
            raise ValueError(f"RandomUniform: expected minval < maxval, got minval={minval!r}, "
                             f"maxval={maxval!r}")
        self.minval, self.maxval = float(minval), float(maxval)
        self.seed = _check_seed(seed)

    def generate(self, shape, rng):
        return rng.uniform(self.minval, self.maxval, shape)

    def sequential(self, shape, rng):
        return lambda n: rng.uniform(self.minval, self.maxval, n)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


@registry.register("initializer", "random_normal", "normal")
class RandomNormal(Initializer):
    """W ~ N(mean, stddev^2).

    Args:
        mean, stddev: of the normal distribution, stddev > 0.
        seed: fixed seed (same values every call), or None for the global generator.
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        self.mean = float(mean)
        self.stddev = checks.positive(f"{type(self).__name__}: stddev", stddev)
        self.seed = _check_seed(seed)

    def generate(self, shape, rng):
        return rng.normal(self.mean, self.stddev, shape)

    def sequential(self, shape, rng):
        return lambda n: rng.normal(self.mean, self.stddev, n)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


@registry.register("initializer", "truncated_normal")
class TruncatedNormal(RandomNormal):
    """W ~ N(mean, stddev^2), values beyond two stddev from the mean redrawn.

    (The truncated distribution's own standard deviation is 0.8796 * stddev.)
    """

    def generate(self, shape, rng):
        return _truncated_normal(shape, self.mean, self.stddev, rng)

    def sequential(self, shape, rng):
        return None                     # redraws would read the stream differently


# ----- variance scaling ---------------------------------------------------------------------
# Standard deviation of a standard normal truncated to [-2, 2]: dividing by it makes the
# truncated draws have exactly the intended variance (the constant Keras uses).
_TRUNCATED_STDDEV = 0.87962566103423978
_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform", "normal")


@registry.register("initializer", "variance_scaling")
class VarianceScaling(Initializer):
    """W with variance scale / n, n = fan_in, fan_out or their mean (see `compute_fans`).

        uniform:            U(-a, a), a = sqrt(3 scale / n)
        truncated_normal:   truncated N(0, s^2), s = sqrt(scale / n) / 0.87962566103423978
        untruncated_normal: N(0, scale / n)

    ("normal" means truncated_normal, as in Keras.)

    Args:
        scale: > 0.
        mode: "fan_in", "fan_out" or "fan_avg".
        distribution: "truncated_normal", "untruncated_normal", "uniform" ("normal" = truncated).
        seed: fixed seed (same values every call), or None for the global generator.
        input_axes, output_axes: the axes whose sizes multiply into fan_in and fan_out
            (both, or neither: then `compute_fans`' convention).
    """

    def __init__(self, scale: float = 1.0, mode: str = "fan_in",
                 distribution: str = "truncated_normal", seed: int | None = None,
                 input_axes=None, output_axes=None):
        self.scale = checks.positive(f"{type(self).__name__}: scale", scale)
        self.input_axes = _check_axes(input_axes, "input_axes")
        self.output_axes = _check_axes(output_axes, "output_axes")
        if mode not in _MODES:
            raise ValueError(f"{type(self).__name__}: mode must be one of {_MODES}, "
                             f"got {mode!r}")
        distribution = str(distribution).lower()
        if distribution not in _DISTRIBUTIONS:
            raise ValueError(f"{type(self).__name__}: distribution must be one of "
                             f"{_DISTRIBUTIONS}, got {distribution!r}")
        self.mode = mode
        self.distribution = "truncated_normal" if distribution == "normal" else distribution
        self.seed = _check_seed(seed)

    def variance(self, shape) -> float:
        """scale / n for a kernel of `shape`."""
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        return self.scale / max(1.0, n)

    def generate(self, shape, rng):
        variance = self.variance(shape)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return rng.uniform(-limit, limit, shape)
        if self.distribution == "untruncated_normal":
            return rng.normal(0.0, math.sqrt(variance), shape)
        return _truncated_normal(shape, 0.0, math.sqrt(variance) / _TRUNCATED_STDDEV, rng)

    def sequential(self, shape, rng):
        variance = self.variance(shape)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return lambda n: rng.uniform(-limit, limit, n)
        if self.distribution == "untruncated_normal":
            return lambda n: rng.normal(0.0, math.sqrt(variance), n)
        return None                     # truncated: redraws would read the stream differently

    def _axes_config(self) -> dict[str, Any]:
        """input_axes and output_axes, written only when given (configs stay as before)."""
        return {key: value for key, value in (("input_axes", self.input_axes),
                                              ("output_axes", self.output_axes))
                if value is not None}

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed, **self._axes_config()}


def _check_axes(axes, name: str) -> list[int] | None:
    if axes is None:
        return None
    if not isinstance(axes, (list, tuple)) or not all(
            isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axes):
        raise ValueError(f"{name}: expected None or a list of integers, got {axes!r}")
    return [int(a) for a in axes]


class _FixedVarianceScaling(VarianceScaling):
    """A named VarianceScaling (Glorot, He, LeCun): the seed and the fan axes are arguments."""

    _preset: tuple[float, str, str]

    def __init__(self, seed: int | None = None, input_axes=None, output_axes=None):
        scale, mode, distribution = self._preset
        super().__init__(scale=scale, mode=mode, distribution=distribution, seed=seed,
                         input_axes=input_axes, output_axes=output_axes)

    def get_config(self):
        return {"seed": self.seed, **self._axes_config()}


@registry.register("initializer", "glorot_uniform")
class GlorotUniform(_FixedVarianceScaling):
    """U(-a, a), a = sqrt(6 / (fan_in + fan_out)) (Keras' default for Dense and Conv kernels)."""

    _preset = (1.0, "fan_avg", "uniform")


@registry.register("initializer", "glorot_normal")
class GlorotNormal(_FixedVarianceScaling):
    """Truncated normal, stddev sqrt(2 / (fan_in + fan_out)) / 0.8796."""

    _preset = (1.0, "fan_avg", "truncated_normal")


@registry.register("initializer", "he_uniform")
class HeUniform(_FixedVarianceScaling):
    """U(-a, a), a = sqrt(6 / fan_in) (for ReLU networks)."""

    _preset = (2.0, "fan_in", "uniform")


@registry.register("initializer", "he_normal")
class HeNormal(_FixedVarianceScaling):
    """Truncated normal, stddev sqrt(2 / fan_in) / 0.8796 (for ReLU networks)."""

    _preset = (2.0, "fan_in", "truncated_normal")


@registry.register("initializer", "lecun_uniform")
class LecunUniform(_FixedVarianceScaling):
    """U(-a, a), a = sqrt(3 / fan_in)."""

    _preset = (1.0, "fan_in", "uniform")


@registry.register("initializer", "lecun_normal")
class LecunNormal(_FixedVarianceScaling):
    """Truncated normal, stddev sqrt(1 / fan_in) / 0.8796 (for SELU networks)."""

    _preset = (1.0, "fan_in", "truncated_normal")


@registry.register("initializer", "orthogonal", "OrthogonalInitializer")
class Orthogonal(Initializer):
    """W = gain * Q, Q with orthonormal rows or columns (Keras' default recurrent kernel).

    Q comes from the QR decomposition of a standard normal (rows, cols) matrix, rows =
    prod(shape[:-1]), with the signs of R's diagonal folded in so Q is uniformly distributed
    (Saxe et al., 2014; Mezzadri, 2007).
    """

    def __init__(self, gain: float = 1.0, seed: int | None = None):
        self.gain = float(gain)
        self.seed = _check_seed(seed)

    def generate(self, shape, rng):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: expected a shape of rank >= 2, "
                             f"got {shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = rng.standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))               # (max, min) * (min,): column signs
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


# ----- STFT: the Fourier basis as a convolution kernel ------------------------------------------
_WINDOWS = {   # w(n), n = 0 .. M-1 of a symmetric window of M points (scipy.signal's forms)
    "hann": lambda n, m: 0.5 - 0.5 * np.cos(2 * np.pi * n / (m - 1)),
    "hamming": lambda n, m: 0.54 - 0.46 * np.cos(2 * np.pi * n / (m - 1)),
    "blackman": lambda n, m: (0.42 - 0.5 * np.cos(2 * np.pi * n / (m - 1))
                              + 0.08 * np.cos(4 * np.pi * n / (m - 1))),
    "bartlett": lambda n, m: 1 - np.abs(2 * n / (m - 1) - 1),
    "boxcar": lambda n, m: np.ones_like(n),
}


def _window(name: str, length: int, periodic: bool) -> np.ndarray:
    """The window of `length` points; periodic: the first `length` of `length + 1` points
    (the form for spectral analysis, scipy's fftbins=True)."""
    m = length + 1 if periodic else length
    if m == 1:
        return np.ones(1)
    return _WINDOWS[name](np.arange(m, dtype=np.float64), m)[:length]


@registry.register("initializer", "stft", "STFTInitializer")
class STFT(Initializer):
    """The real or imaginary part of the DFT basis, windowed: a Conv1D kernel that computes a
    short-time Fourier transform (as Keras' STFTSpectrogram).

    Shape (T, 1, F): T the frame length, F = fft_length / 2 + 1 frequencies. With
    f = k / (2 (F - 1)) and window w,

        real:  W[t, 0, k] = cos(-2π t f) · w[t] / s        imag:  sin(-2π t f) · w[t] / s

    s = sqrt(Σ w²) for scaling="density", Σ |w| for "spectrum", 1 for None.

    Args:
        side: "real" or "imag".
        window: "hann", "hamming", "blackman", "bartlett", "boxcar", an array of T values,
            or None (no window, no scaling).
        scaling: "density", "spectrum" or None.
        periodic: the periodic form of a named window.
    """

    def __init__(self, side: str = "real", window="hann", scaling: str | None = "density",
                 periodic: bool = False):
        if side not in ("real", "imag"):
            raise ValueError(f"side should be 'real' or 'imag', not {side}")
        if isinstance(window, str) and window not in _WINDOWS:
            raise ValueError(f"STFT: window must be one of {sorted(_WINDOWS)}, an array or "
                             f"None, got {window!r}")
        if scaling is not None and scaling not in ("density", "spectrum"):
            raise ValueError(f"Scaling is invalid, it must be `None`, 'density' or "
                             f"'spectrum'. Received scaling={scaling}")
        self.side, self.window, self.scaling = side, window, scaling
        self.periodic = bool(periodic)

    def generate(self, shape, rng):
        if len(shape) != 3:
            raise ValueError(f"STFT: expected a shape (frame_length, channels, "
                             f"fft_length // 2 + 1), got {shape}")
        length, _, bins = shape
        t = np.arange(length, dtype=np.float64).reshape(length, 1, 1)
        f = np.arange(bins, dtype=np.float64).reshape(1, 1, bins) / ((bins - 1) * 2)
        angle = -2 * t * f * np.pi
        kernel = np.cos(angle) if self.side == "real" else np.sin(angle)
        if self.window is None:
            return np.broadcast_to(kernel, shape).copy()
        w = (_window(self.window, length, self.periodic) if isinstance(self.window, str)
             else np.asarray(self.window, dtype=np.float64))
        if w.shape != (length,):
            raise ValueError(f"The shape of `window` must be equal to [frame_length]. "
                             f"Received: window shape={w.shape}")
        scale = {"density": np.sqrt((w * w).sum()), "spectrum": np.abs(w).sum(),
                 None: 1.0}[self.scaling]
        return np.broadcast_to(kernel * w.reshape(length, 1, 1) / scale, shape).copy()

    def get_config(self):
        window = self.window if self.window is None or isinstance(self.window, str) \
            else np.asarray(self.window).tolist()
        return {"side": self.side, "window": window, "periodic": self.periodic,
                "scaling": self.scaling}


# Keras 3's other names for the classes (`keras.initializers.he_normal(seed=1)`)
zeros, ones, constant, identity, IdentityInitializer = Zeros, Ones, Constant, Identity, Identity
random_uniform, random_normal, truncated_normal = RandomUniform, RandomNormal, TruncatedNormal
variance_scaling, orthogonal, OrthogonalInitializer = VarianceScaling, Orthogonal, Orthogonal
glorot_uniform, glorot_normal, he_uniform, he_normal = (GlorotUniform, GlorotNormal, HeUniform,
                                                        HeNormal)
lecun_uniform, lecun_normal, stft, STFTInitializer = LecunUniform, LecunNormal, STFT, STFT


# ----- look-up -------------------------------------------------------------------------------
def get(identifier):
    """An initializer from a name ("glorot_uniform", "HeNormal"), a config dict or an instance.

    Instances are returned as they are, and so are plain callables `f(shape, dtype)`;
    None gives None (as in Keras). Unknown names raise ValueError listing the valid ones.
    """
    if identifier is None or isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, (str, dict)):
        return registry.deserialize("initializer", identifier)
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(f"initializer: expected a name, a dict, an Initializer or a callable, "
                    f"got {type(identifier).__name__} {identifier!r}")


def serialize(initializer: Initializer) -> dict[str, Any]:
    """{'class_name': ..., 'config': ...} (the Keras form)."""
    return registry.serialize(initializer)


def deserialize(config_, custom_objects: dict[str, Any] | None = None) -> Initializer:
    return registry.deserialize("initializer", config_, custom_objects)

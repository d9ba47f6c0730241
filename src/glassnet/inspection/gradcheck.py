"""Numerical gradient checking: is a layer's `backward` the derivative of its `forward`?

Every check compares the analytic gradient with float64 central differences,

    dL/dθ_i ≈ (L(θ + ε e_i) - L(θ - ε e_i)) / (2ε),

and reports, for the input and every parameter, the relative error
‖analytic - numeric‖ / max(‖analytic‖ + ‖numeric‖, tiny) (below 1e-6 passes). For a layer, the
scalar is L = Σ forward(x) · dy with a random upstream gradient dy (as in cs231n), so every
output element is exercised with a different weight.

    >>> from glassnet import layers, gradcheck
    >>> import numpy as np
    >>> report = gradcheck.check_layer(layers.Dense(3, activation="tanh"), np.random.randn(4, 5))
    >>> report.passed
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from glassnet.layers.base import Layer
from glassnet.layers.traced import total_added_loss

DEFAULT_TOLERANCE = 1e-6


@dataclass
class GradientError:
    """One tensor's comparison: its name and shape, the relative and absolute errors."""

    name: str
    shape: tuple
    relative_error: float
    max_abs_error: float
    checked: int
    tolerance: float

    @property
    def passed(self) -> bool:
        return bool(self.relative_error <= self.tolerance)


@dataclass
class GradcheckReport:
    """Per-tensor results; `passed` is True when every tensor is within tolerance."""

    subject: str
    results: list[GradientError] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)

    @property
    def worst(self) -> GradientError:
        return max(self.results, key=lambda r: r.relative_error)

    def __getitem__(self, name: str) -> GradientError:
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(name)

    def __str__(self) -> str:
        lines = [f"gradient check of {self.subject}: {'passed' if self.passed else 'FAILED'}",
                 f"  {'tensor':<28} {'shape':<16} {'rel. error':>11} {'max abs':>11}  checked"]
        for r in self.results:
            flag = "" if r.passed else f"  <-- above tolerance {r.tolerance:.0e}"
            lines.append(f"  {r.name:<28} {str(r.shape):<16} {r.relative_error:11.2e} "
                         f"{r.max_abs_error:11.2e}  {r.checked}{flag}")
        return "\n".join(lines)

    __repr__ = __str__


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """‖a - n‖ / max(‖a‖ + ‖n‖, 1e-12): scale-free, and 0 when both are exactly zero."""
    difference = np.linalg.norm((analytic - numeric).ravel())
    scale = np.linalg.norm(analytic.ravel()) + np.linalg.norm(numeric.ravel())
    return float(difference / max(scale, 1e-12))


def numerical_gradient(f, array: np.ndarray, indices, eps: float) -> np.ndarray:
    """Central differences of the scalar f() with respect to `array` (perturbed in place)."""
    flat = array.reshape(-1)  # a view: writes perturb the array f reads
    grad = np.zeros(array.size, dtype=np.float64)
    for i in indices:
        original = flat[i]
        flat[i] = original + eps
        plus = f()
        flat[i] = original - eps
        minus = f()
        flat[i] = original
        grad[i] = (plus - minus) / (2 * eps)
    return grad.reshape(array.shape)


def _indices(size: int, max_checks: int | None, rng: np.random.Generator) -> np.ndarray:
    if max_checks is None or size <= max_checks:
        return np.arange(size)
    return np.sort(rng.choice(size, size=max_checks, replace=False))


def _compare(name, analytic, numeric, indices, tolerance) -> GradientError:
    a = np.asarray(analytic, dtype=np.float64).reshape(-1)[indices]
    n = numeric.reshape(-1)[indices]
    max_abs = float(np.max(np.abs(a - n))) if a.size else 0.0
    return GradientError(name, tuple(np.shape(analytic)), relative_error(a, n), max_abs,
                         int(len(indices)), tolerance)


def _generators(obj) -> list[np.random.Generator]:
    """NumPy generators an object and the layers inside it keep (dropout masks, e.g. an RNN's
    in a Bidirectional): restored before each forward."""
    found = [v for v in vars(obj).values() if isinstance(v, np.random.Generator)]
    for child in obj.sublayers() if isinstance(obj, Layer) else []:
        found += [g for g in _generators(child) if all(g is not f for f in found)]
    return found


def to_float64(layer) -> None:
    """Convert a layer's parameters (and their grads) to float64 in place; a Layer, and
    every layer inside it, then computes in float64."""
    for param in getattr(layer, "parameters", lambda: [])():
        param.value = np.asarray(param.value, dtype=np.float64)
        param.grad = np.zeros_like(param.value)
    if isinstance(layer, Layer):
        layer.dtype = "float64"
        for child in layer.sublayers():
            to_float64(child)


def check_layer(layer, x, *, dy=None, training: bool = False, eps: float = 1e-6,
                tolerance: float = DEFAULT_TOLERANCE, max_checks: int | None = 2000,
                seed: int = 0, check_input: bool = True) -> GradcheckReport:
    """Check `layer.backward` against central differences of `layer.forward`.

    Args:
        layer: a Layer (or any object with forward/backward, e.g. an activation). Its
            weights are converted to float64 in place.
        x: input batch, cast to float64 (integer inputs such as token ids are left as they
            are and not differentiated).
        dy: upstream gradient dL/dy; default standard normal of the output's shape.
        training: passed to forward (dropout masks are replayed identically each call).
        max_checks: at most this many elements per tensor are perturbed (seeded sample).

    Returns:
        GradcheckReport with one entry for the input ("x") and one per parameter.
    """
    rng = np.random.default_rng(seed)
    x = np.array(x)
    differentiable_input = np.issubdtype(x.dtype, np.floating)
    if differentiable_input:
        x = x.astype(np.float64)
    if hasattr(layer, "maybe_build"):
        layer.maybe_build((None,) + x.shape[1:])
    to_float64(layer)
    generators = _generators(layer)
    states = [g.bit_generator.state for g in generators]

    def forward():
        for generator, state in zip(generators, states):
            generator.bit_generator.state = state
        return layer.forward(x, training=training)

    y = np.asarray(forward())
    if dy is None:
        dy = rng.standard_normal(y.shape)
    dy = np.asarray(dy, dtype=np.float64)
    if dy.shape != y.shape:
        raise ValueError(f"dy: expected the output's shape {y.shape}, got {dy.shape}")

    # Non-trainable weights (BatchNorm's moving statistics) have no gradient to check.
    params = [p for p in getattr(layer, "parameters", lambda: [])() if p.trainable]
    for param in params:
        param.grad = np.zeros_like(param.value)
    forward()
    dx = layer.backward(dy.copy())
    analytic = {param.name: np.array(param.grad) for param in params}

    def objective() -> float:      # with the terms a call()-style layer adds by add_loss
        return float(np.sum(np.asarray(forward(), dtype=np.float64) * dy)) + \
            total_added_loss(layer)

    report = GradcheckReport(getattr(layer, "name", type(layer).__name__))
    if check_input and differentiable_input:
        indices = _indices(x.size, max_checks, rng)
        numeric = numerical_gradient(objective, x, indices, eps)
        report.results.append(_compare("x", dx, numeric, indices, tolerance))
    for param in params:
        indices = _indices(param.value.size, max_checks, rng)
        numeric = numerical_gradient(objective, param.value, indices, eps)
        report.results.append(_compare(param.name, analytic[param.name], numeric, indices,
                                       tolerance))
    return report


def check_loss(loss, y_true, y_pred, sample_weight=None, *, mask=None, eps: float = 1e-6,
               tolerance: float = DEFAULT_TOLERANCE, max_checks: int | None = 2000,
               seed: int = 0) -> GradcheckReport:
    """Check `loss.gradient(y_true, y_pred)` against central differences of `loss(...)`
    (for reduction "none": of the sum of the entries), with the sample weights and mask."""
    rng = np.random.default_rng(seed)
    y_pred = np.array(y_pred, dtype=np.float64, order="C")   # C order: perturbed through a view
    y_true = np.asarray(y_true)
    if np.issubdtype(y_true.dtype, np.floating):
        y_true = y_true.astype(np.float64)

    masked = {} if mask is None else {"mask": mask}   # a loss without masks works too

    def objective() -> float:
        return float(np.sum(loss(y_true, y_pred, sample_weight=sample_weight, **masked)))

    analytic = loss.gradient(y_true, y_pred, sample_weight=sample_weight, **masked)
    indices = _indices(y_pred.size, max_checks, rng)
    numeric = numerical_gradient(objective, y_pred, indices, eps)
    report = GradcheckReport(getattr(loss, "name", type(loss).__name__))
    report.results.append(_compare("y_pred", analytic, numeric, indices, tolerance))
    return report


def check_regularizer(regularizer, weight, *, eps: float = 1e-6,
                      tolerance: float = DEFAULT_TOLERANCE) -> GradcheckReport:
    """Check `regularizer.gradient(W)` against central differences of `regularizer(W)`."""
    weight = np.array(weight, dtype=np.float64)
    analytic = regularizer.gradient(weight)
    indices = np.arange(weight.size)
    numeric = numerical_gradient(lambda: float(regularizer(weight)), weight, indices, eps)
    report = GradcheckReport(type(regularizer).__name__)
    report.results.append(_compare("W", analytic, numeric, indices, tolerance))
    return report


def check_model(model, x, y, sample_weight=None, *, eps: float = 1e-6,
                tolerance: float = DEFAULT_TOLERANCE, max_checks: int | None = 500,
                seed: int = 0) -> GradcheckReport:
    """Check every trainable weight of a compiled model on one batch.

    The scalar is the model's regularized loss in inference mode (dropout off). The model's
    weights are converted to float64 in place.
    """
    rng = np.random.default_rng(seed)
    x = np.asarray(x)
    x = x.astype(np.float64) if np.issubdtype(x.dtype, np.floating) else x
    y = np.asarray(y)
    y = y.astype(np.float64) if np.issubdtype(y.dtype, np.floating) else y
    model.maybe_build((None,) + x.shape[1:])
    to_float64(model)
    params = model.parameters(trainable_only=True)
    model.compute_gradients(x, y, sample_weight, training=False)
    analytic = [np.array(p.grad) for p in params]

    def objective() -> float:
        return model.compute_loss(x, y, sample_weight=sample_weight, training=False)

    report = GradcheckReport(getattr(model, "name", type(model).__name__))
    for param, grad in zip(params, analytic):
        indices = _indices(param.value.size, max_checks, rng)
        numeric = numerical_gradient(objective, param.value, indices, eps)
        report.results.append(_compare(param.name, grad, numeric, indices, tolerance))
    return report

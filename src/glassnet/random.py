"""One seeded source of randomness for initializers, dropout and shuffling, and Keras' random.

`set_random_seed(s)` resets it, so two runs with the same seed draw the same numbers and
end with bitwise-identical weights. Components that take their own `seed` use a private
generator made from that seed instead.

Keras' `keras.random` functions are here too, with its names and arguments: `normal`,
`uniform`, `truncated_normal`, `randint`, `shuffle`, `categorical`, `dropout` and
`SeedGenerator`. Their `seed` is None (the global generator), an int (the same numbers on
every call, as Keras) or a SeedGenerator (new numbers on every call, reproducibly).
"""

from __future__ import annotations

import numpy as np

from glassnet import config, numerics, ops
from glassnet.distribution import batch_rows, current_shard

_state = {"generator": np.random.default_rng()}


def set_random_seed(seed: int) -> None:
    """Seed glassnet's global generator (and NumPy's legacy global one, for user code)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
    _state["generator"] = np.random.default_rng(int(seed))
    np.random.seed(int(seed) % 2**32)  # noqa: NPY002 (user code on the legacy API)


def global_generator() -> np.random.Generator:
    """The generator used wherever no seed is given."""
    return _state["generator"]


def make_generator(seed: int | None = None) -> np.random.Generator:
    """A new generator: from `seed` if given, else drawn from the global generator."""
    if seed is None:
        seed = int(_state["generator"].integers(2**63))
    elif isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected None or a non-negative integer, got {seed!r}")
    return np.random.default_rng(int(seed))


def batch_random(generator: np.random.Generator, shape: tuple, dtype=np.float64,
                 per_sample: bool = True) -> np.ndarray:
    """`generator.random(shape, dtype)` for a batch whose first axis is the samples.

    Under data parallelism (inside a step's `distribution.current_shard()`), the numbers are
    drawn for the whole global batch and this rank keeps its rows: every rank's generator
    advances alike, and the masks are exactly those one process draws for the batch.
    `per_sample=False` (a draw shared by all samples): the same numbers on every rank.
    """
    shard = current_shard()
    if shard is None or not per_sample or not shape:
        return generator.random(shape, dtype=dtype)
    draw = generator.random((shard.total,) + tuple(shape[1:]), dtype=dtype)
    return draw[batch_rows(shard.total, shard, shape[0])]


# ----- Keras' keras.random ---------------------------------------------------------------------
class SeedGenerator:
    """A seed that advances: each draw given `seed=generator` gives new numbers, and two
    generators made with the same seed give the same sequence (as `keras.random.SeedGenerator`).

    Example, a layer's own reproducible noise:
        >>> self.seed_generator = SeedGenerator(1337)         # in __init__
        >>> noise = normal((n, 2), seed=self.seed_generator)  # in call
    """

    def __init__(self, seed: int | None = None, name: str | None = None, **kwargs):
        self.name = name or "seed_generator"
        self.generator = make_generator(seed)

    def next(self) -> np.random.Generator:
        """The generator the next draw uses."""
        return self.generator


def _generator(seed) -> np.random.Generator:
    """None: the global generator; an int: a fresh generator from it (the same numbers each
    call, as Keras' integer seeds); a SeedGenerator: its own, advancing."""
    if seed is None:
        return global_generator()
    if isinstance(seed, SeedGenerator):
        return seed.next()
    return make_generator(seed)


def _float(dtype) -> str:
    return config.standardize_dtype(dtype)


def normal(shape, mean: float = 0.0, stddev: float = 1.0, dtype=None, seed=None):
    """Draws from N(mean, stddev^2), an array of `shape` (floatx by default)."""
    return _generator(seed).normal(mean, stddev, shape).astype(_float(dtype))


def truncated_normal(shape, mean: float = 0.0, stddev: float = 1.0, dtype=None, seed=None):
    """Draws from N(mean, stddev^2), redrawn where more than two stddev from the mean."""
    generator = _generator(seed)
    values = generator.standard_normal(shape)
    outside = np.abs(values) > 2
    while outside.any():
        values[outside] = generator.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2
    return (mean + stddev * values).astype(_float(dtype))


def uniform(shape, minval: float = 0.0, maxval: float = 1.0, dtype=None, seed=None):
    """Draws from U[minval, maxval), an array of `shape`."""
    return _generator(seed).uniform(minval, maxval, shape).astype(_float(dtype))


def randint(shape, minval: int, maxval: int, dtype="int32", seed=None):
    """Integers drawn uniformly from [minval, maxval)."""
    return _generator(seed).integers(minval, maxval, shape).astype(dtype)


def shuffle(x, axis: int = 0, seed=None):
    """x with its slices along `axis` in a random order."""
    x = np.asarray(getattr(x, "value", x))
    order = _generator(seed).permutation(x.shape[axis])
    return np.take(x, order, axis=axis)


def categorical(logits, num_samples: int, dtype="int32", seed=None):
    """For each row of logits (N, C), `num_samples` class indices drawn from softmax(row)."""
    logits = np.asarray(getattr(logits, "value", logits), dtype=np.float64)
    probabilities = numerics.softmax(logits, -1)
    generator = _generator(seed)
    draws = [generator.choice(logits.shape[-1], size=num_samples, p=row)
             for row in probabilities]
    return np.asarray(draws).astype(dtype)


def dropout(inputs, rate: float, noise_shape=None, seed=None):
    """inputs with each entry zeroed with probability `rate` and the rest scaled by
    1 / (1 - rate) (an op: on a traced tensor the gradient flows through the kept ones)."""
    if not 0 <= rate < 1:
        raise ValueError(f"dropout: rate must be in [0, 1), got {rate}")
    shape = tuple(np.shape(getattr(inputs, "value", inputs)))
    noise_shape = shape if noise_shape is None else tuple(
        n if n is not None else d for n, d in zip(noise_shape, shape))
    keep = _generator(seed).random(noise_shape) >= rate
    dtype = np.asarray(getattr(inputs, "value", inputs)).dtype
    return ops.multiply(inputs, (keep / (1 - rate)).astype(dtype))

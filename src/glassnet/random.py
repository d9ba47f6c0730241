"""One seeded source of randomness for initializers, dropout and shuffling.

`set_random_seed(s)` resets it, so two runs with the same seed draw the same numbers and
end with bitwise-identical weights. Components that take their own `seed` use a private
generator made from that seed instead.
"""

from __future__ import annotations

import numpy as np

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

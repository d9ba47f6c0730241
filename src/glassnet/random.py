"""One seeded source of randomness for initializers, dropout and shuffling.

`set_random_seed(s)` resets it, so two runs with the same seed draw the same numbers and
end with bitwise-identical weights. Components that take their own `seed` use a private
generator made from that seed instead.
"""

from __future__ import annotations

import numpy as np

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

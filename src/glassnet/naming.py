"""Names: Keras' snake_case rule for class names, and unique default names."""

from __future__ import annotations

import itertools
import re

_counters: dict[str, itertools.count] = {}


def snake_case(name: str) -> str:
    """Keras' rule: 'Dense' -> 'dense', 'Conv2D' -> 'conv2d', 'MaxPooling2D' ->
    'max_pooling2d', 'MeanSquaredError' -> 'mean_squared_error'."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(prefix: str) -> str:
    """'dense', 'dense_1', 'dense_2', ... as Keras names layers."""
    counter = _counters.setdefault(prefix, itertools.count())
    index = next(counter)
    return prefix if index == 0 else f"{prefix}_{index}"


def reset_names() -> None:
    """Start the default names again from 'dense', 'dense_1', ... (`clear_session`)."""
    _counters.clear()

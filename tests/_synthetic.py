"""Small synthetic problems for training tests."""

import numpy as np


def spiral(n_per_class: int = 100, classes: int = 3, seed: int = 0):
    """The cs231n spiral: `classes` interleaved arms in 2-D; not linearly separable."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n_per_class * classes, 2), dtype="float32")
    y = np.zeros(n_per_class * classes, dtype="int64")
    for c in range(classes):
        r = np.linspace(0.0, 1.0, n_per_class)
        t = np.linspace(c * 4, (c + 1) * 4, n_per_class) + rng.standard_normal(n_per_class) * 0.2
        rows = slice(c * n_per_class, (c + 1) * n_per_class)
        x[rows] = np.c_[r * np.sin(t), r * np.cos(t)]
        y[rows] = c
    return x, y

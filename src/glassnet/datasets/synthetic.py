"""Small generated datasets from the seed posts: a 4-row truth table, sqrt-of-mean, and BMI.

All return float32 arrays `x` (n, d) and `y` (n, 1), ready for `model.fit(x, y)`.
"""

from __future__ import annotations

import numpy as np

from glassnet.random import make_generator


def tiny_table() -> tuple[np.ndarray, np.ndarray]:
    """The 4-row, 3-input table of the "Deep Learning using Numpy" seed post.

    The post shows its table only as an image, which we do not have; this is the classic
    table of that line of posts (Trask's "A Neural Network in 11 lines of Python"): the
    third input is always 1 (it acts as a bias) and the target is the XOR of the first two,
    so no single-layer network can fit it but one hidden layer can.

        x          y
        0 0 1      0
        0 1 1      1
        1 0 1      1
        1 1 1      0

    Returns:
        x float32 (4, 3), y float32 (4, 1).
    """
    x = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=np.float32)
    y = np.array([[0], [1], [1], [0]], dtype=np.float32)
    return x, y


def sqrt_mean(n: int = 1000, dim: int = 10, seed: int | None = None):
    """The regression task of the "First step towards deep learning" seed post.

        x ~ U(0, 1)^dim,   y = sqrt(mean(x))

    Args:
        n: number of rows.
        dim: number of inputs.
        seed: seed of the draws; None draws from glassnet's global generator.

    Returns:
        x float32 (n, dim), y float32 (n, 1), y in [0, 1).
    """
    _check_positive(n=n, dim=dim)
    x = make_generator(seed).random((n, dim), dtype=np.float32)
    y = np.sqrt(x.mean(axis=1, keepdims=True))  # (n, 1), float32
    return x, y


# Population model of bmi(): adult heights by sex and a log-normal BMI.
HEIGHT_MEAN_M = {"female": 1.62, "male": 1.76}
HEIGHT_SD_M = 0.07
BMI_MEDIAN = 25.0
BMI_LOG_SD = 0.15
OVERWEIGHT_BMI = 25.0


def bmi(n: int = 1000, seed: int | None = None):
    """Heights and weights of adults, labelled overweight (BMI >= 25) or not.

    The classification example of the "First step towards deep learning" seed post.
    Each person is drawn as:

        sex     ~ female or male, probability 1/2 each
        height  ~ Normal(1.62 m, 0.07 m) for women, Normal(1.76 m, 0.07 m) for men
        BMI     ~ LogNormal(log 25, 0.15)   (median 25, about 21..30 for the middle 80%)
        weight  = BMI * height^2  (kg)
        y       = 1 if weight / height^2 >= 25 else 0

    The median BMI at the threshold makes the classes about equal in size. y is computed
    from the float32 height and weight returned, so it agrees with them exactly.

    Args:
        n: number of people.
        seed: seed of the draws; None draws from glassnet's global generator.

    Returns:
        x float32 (n, 2) with columns [height_m, weight_kg]; y float32 (n, 1) in {0, 1}.
    """
    _check_positive(n=n)
    rng = make_generator(seed)
    male = rng.random(n) < 0.5
    height = rng.normal(np.where(male, HEIGHT_MEAN_M["male"], HEIGHT_MEAN_M["female"]), HEIGHT_SD_M)
    body_mass_index = rng.lognormal(np.log(BMI_MEDIAN), BMI_LOG_SD, size=n)
    weight = body_mass_index * height**2
    x = np.stack([height, weight], axis=1).astype(np.float32)  # (n, 2)
    recomputed = x[:, 1].astype(np.float64) / x[:, 0].astype(np.float64) ** 2
    y = (recomputed >= OVERWEIGHT_BMI).astype(np.float32)[:, None]  # (n, 1)
    return x, y


def _check_positive(**sizes: int) -> None:
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name}: expected a positive integer, got {value!r}")


__all__ = ["bmi", "sqrt_mean", "tiny_table"]

"""Comparing Keras' numbers with glassnet's: the largest relative difference, recorded.

Each test file makes one `Differences` its module's `differences` fixture and reports it at
the end (the `keras` and `h5py` fixtures are in tests/conftest.py).
"""

from __future__ import annotations

import numpy as np


class Differences:
    """The largest relative difference seen between Keras' and glassnet's numbers, printed
    when the module ends (`pytest -s` shows it)."""

    def __init__(self):
        self.worst, self.where = 0.0, ""

    def check(self, expected, actual, where: str, rtol: float = 1e-5,
              floor: float = 1e-6) -> float:
        """max |expected - actual| / max |expected| <= rtol (float32 numbers of both); an
        array all smaller than `floor` (a bias a batch norm after it makes irrelevant, whose
        gradient is rounding noise) is measured against `floor` instead."""
        expected, actual = np.asarray(expected), np.asarray(actual)
        assert expected.shape == actual.shape, f"{where}: {expected.shape} != {actual.shape}"
        scale = max(float(np.max(np.abs(expected))), floor) if expected.size else 1.0
        difference = float(np.max(np.abs(expected - actual))) / scale if expected.size else 0.0
        if difference > self.worst:
            self.worst, self.where = difference, where
        assert difference <= rtol, f"{where}: relative difference {difference:.2e} > {rtol:.0e}"
        return difference

    def report(self) -> None:
        print(f"\n[keras] worst relative difference {self.worst:.2e} ({self.where})")

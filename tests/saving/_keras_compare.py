"""Comparing Keras' numbers with glassnet's: the largest relative difference, recorded; and
the layer configs two `.keras` files hold, entry by entry.

Each test file makes one `Differences` its module's `differences` fixture and reports it at
the end (the `keras` and `h5py` fixtures are in tests/conftest.py).
"""

from __future__ import annotations

import json
import zipfile

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


# What glassnet writes differently from Keras, on purpose: Keras' bookkeeping (an id shared
# by equal objects), entries Keras writes at their default and reads when absent (initializer
# axes, Flatten's data_format, SimpleRNN's seed), the shape a layer was built for (Keras writes
# it for some layers only), and an Input's name and (for ids) dtype.
ALLOWED = ("shared_object_id", "/input_axes", "/output_axes", "build_config",
           "Flatten/config/data_format", "SimpleRNN/config/seed", "InputLayer/config/name",
           "InputLayer/config/dtype")


def config_differences(keras_file, glassnet_file, allowed=()) -> list[str]:
    """The entries of the layer specs in two .keras files that differ, as "Class/path"
    (ALLOWED and the `allowed` fragments of such paths aside)."""
    def specs(path):
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read("config.json"))["config"]["layers"]

    def walk(expected, actual, path):
        if isinstance(expected, dict) and isinstance(actual, dict):
            return [line for key in sorted(set(expected) | set(actual)) for line in walk(
                expected.get(key, "<absent>"), actual.get(key, "<absent>"), f"{path}/{key}")]
        if isinstance(expected, list) and isinstance(actual, list) \
                and len(expected) == len(actual):
            return [line for k, (e, a) in enumerate(zip(expected, actual))
                    for line in walk(e, a, f"{path}/{k}")]
        if expected == actual or any(part in path for part in (*ALLOWED, *allowed)):
            return []
        return [f"{path}: Keras {expected!r}, glassnet {actual!r}"]

    expected, actual = specs(keras_file), specs(glassnet_file)
    assert len(expected) == len(actual), f"{len(expected)} layers, glassnet {len(actual)}"
    return [line for e, a in zip(expected, actual) for line in walk(e, a, e["class_name"])]

"""Fixtures of the saving tests: real Keras 3 (torch backend) and h5py for the Keras files."""

from __future__ import annotations

import os

import numpy as np
import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def _missing(what: str, install: str):
    message = f"{what} is not installed ({install})"
    if IN_CI:
        pytest.fail(f"{message}; CI installs it with the reference extra")
    pytest.skip(message)


@pytest.fixture(scope="module")
def h5py():
    """h5py, which reading and writing Keras files needs; under CI a missing one fails."""
    try:
        import h5py as h5py_module
    except ImportError:
        _missing("h5py", 'pip install "glassnet[keras]"')
    return h5py_module


@pytest.fixture(scope="module")
def keras(h5py):
    """Keras 3.15 on its torch backend, imported once per module (the import takes seconds).

    KERAS_BACKEND must be set before the first import; a Keras already imported with another
    backend is refused rather than compared against.
    """
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras as keras_module
        import torch
    except ImportError:
        _missing("keras (with torch)", "pip install keras==3.15.1 torch==2.13.0")
    if keras_module.backend.backend() != "torch":
        pytest.fail(f"keras runs on {keras_module.backend.backend()!r}; these tests compare "
                    f"with its torch backend (set KERAS_BACKEND=torch)")
    torch.set_num_threads(1)
    return keras_module


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


@pytest.fixture(scope="module")
def differences():
    record = Differences()
    yield record
    print(f"\n[keras] worst relative difference {record.worst:.2e} ({record.where})")

"""Shared test fixtures: the data directory, PyTorch and Keras for reference tests, a seed."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"

# scikit-learn's estimator checks include one of array-API input (NumPy's namespace); it runs
# only when SciPy was imported with this set, so set it before anything imports SciPy.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def data_dir() -> Path:
    """../shared/data beside the checkout (or $GLASSNET_DATA)."""
    return Path(os.environ.get("GLASSNET_DATA", SHARED_DATA))


def require_data(relative: str) -> Path:
    """The path of a shared data file; under CI=true a missing file fails, else it skips."""
    path = data_dir() / relative
    if not path.exists():
        message = f"data file {path} is missing (put ../shared/data beside the checkout)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def pytest_addoption(parser):
    parser.addoption("--diff-cases", type=int, default=None,
                     help="tests/differential: run seeds 0..N-1 of every category "
                          "(default: each category's CI count; or GLASSNET_DIFF_CASES=N)")


@pytest.fixture
def torch():
    """PyTorch for reference comparisons; CI installs it, so there a missing torch fails."""
    try:
        import torch as torch_module
    except ImportError:
        if IN_CI:
            pytest.fail("torch is required for reference tests under CI "
                        "(pip install torch==2.13.0)")
        pytest.skip("torch not installed (pip install torch==2.13.0)")
    torch_module.set_num_threads(1)
    return torch_module


@pytest.fixture(scope="module")
def h5py():
    """h5py, which Keras files need (glassnet[keras]); CI installs it, so there a missing
    h5py fails."""
    try:
        import h5py as h5py_module
    except ImportError:
        if IN_CI:
            pytest.fail('h5py is required under CI (pip install "glassnet[keras]")')
        pytest.skip('h5py not installed (pip install "glassnet[keras]")')
    return h5py_module


@pytest.fixture(scope="module")
def keras(h5py):
    """Keras 3.15 on its torch backend, imported once per module (the import takes seconds);
    CI installs it, so there a missing keras fails. KERAS_BACKEND is set before the import;
    a Keras imported earlier with another backend fails the test."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras as keras_module
        import torch as torch_module
    except ImportError:
        if IN_CI:
            pytest.fail("keras is required for reference tests under CI "
                        "(pip install keras==3.15.1 torch==2.13.0)")
        pytest.skip("keras not installed (pip install keras==3.15.1 torch==2.13.0)")
    if keras_module.backend.backend() != "torch":
        pytest.fail(f"keras runs on {keras_module.backend.backend()!r}; the reference tests "
                    f"use its torch backend (set KERAS_BACKEND=torch)")
    torch_module.set_num_threads(1)
    return keras_module


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)

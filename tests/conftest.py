"""Shared test fixtures: the data directory, PyTorch for reference tests, a fixed seed."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
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


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)

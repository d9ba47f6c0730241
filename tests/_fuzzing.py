"""The fuzz harness shared by the model-file and data-file fuzz tests (tests/saving/,
tests/test_fuzz_data_files.py): a runner that watches each case, and the raw bytes of
hostile inputs (pickles, object arrays, crafted .npy headers, zips written without checks).

Every case is run by `Fuzzer.run`, which asserts:
- the outcome: a model (the damage was harmless, e.g. a flipped bit in a timestamp) or a
  `ModelFileError` whose message names the file; any other exception fails the test;
- time: under TIME_CAP CPU seconds (CPU time, so that a busy machine does not fail it;
  measured under tracemalloc, which slows every allocation);
- memory: tracemalloc's peak of new allocations under MEMORY_CAP bytes;
- no code execution: the canary file that a pickle payload would create never appears.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import struct
import time
import tracemalloc
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck

MEMORY_CAP = 50 * 2**20  # bytes of new allocations one case may peak at (tracemalloc)
TIME_CAP = 2.0  # CPU seconds one case may take
# Reproducible in CI: the same examples every run, none replayed from a local database.
HYPOTHESIS = dict(deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.too_slow])


class Measure:
    """What `measured()` saw: CPU seconds and tracemalloc's peak of new allocations."""

    seconds: float = 0.0
    peak: int = 0


@contextlib.contextmanager
def measured(memory: bool = True) -> Iterator[Measure]:
    """The block's CPU seconds and, with `memory`, its peak of new allocations (tracemalloc,
    which NumPy reports its arrays to; it also slows every allocation, so time a block that
    must be fast with memory=False)."""
    result = Measure()
    started = memory and not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    if memory:
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
    start = time.process_time()
    try:
        yield result
    finally:
        result.seconds = time.process_time() - start
        if memory:
            result.peak = tracemalloc.get_traced_memory()[1] - baseline
        if started:
            tracemalloc.stop()


class Fuzzer:
    """Runs one input at a time through a loader and checks how each one ends.

    Args:
        canary: the file a pickle payload would create if anything were unpickled.
        errors: the exception types that count as a clean refusal.
    """

    def __init__(self, canary: Path, errors: tuple[type[BaseException], ...]):
        self.canary = canary
        self.errors = errors
        self.count = 0
        self.outcomes: Counter[str] = Counter()

    def run(self, load: Callable[[Path], object], path: Path, label: str) -> str:
        """Call `load(path)`; return "loaded" or the error's class name, or fail the test."""
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
        start = time.process_time()
        try:
            load(path)
            outcome = "loaded"
        except self.errors as error:
            outcome = type(error).__name__
            assert path.name in str(error), f"{label}: message does not name the file: {error}"
        except Exception as error:  # noqa: BLE001 - anything else is the bug we hunt
            raise AssertionError(f"{label}: {type(error).__name__} escaped the loader: "
                                 f"{error}") from error
        elapsed = time.process_time() - start
        peak = tracemalloc.get_traced_memory()[1] - baseline
        assert elapsed < TIME_CAP, f"{label}: took {elapsed:.2f} s"
        assert peak < MEMORY_CAP, f"{label}: allocated {peak / 2**20:.1f} MiB"
        assert not self.canary.exists(), f"{label}: CODE RAN: the pickle canary exists"
        self.count += 1
        self.outcomes[outcome] += 1
        return outcome

    def report(self, name: str, minimum: int) -> None:
        """Print the count (`pytest -s` shows it) and check that at least `minimum` ran."""
        print(f"\n[fuzz] {name}: {self.count} cases, outcomes {dict(self.outcomes)}")
        assert self.count >= minimum, f"{name}: only {self.count} cases ran"


def pickle_payload(marker: Path) -> bytes:
    """A pickle that creates the folder `marker` when loaded: proof that code ran."""

    class Payload:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    return pickle.dumps(Payload(), protocol=2)


def object_npy(marker: Path) -> bytes:
    """A .npy of dtype object whose single element is `pickle_payload(marker)`."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|O", "fortran_order": False, "shape": (1,)})
    return header.getvalue() + pickle_payload(marker)


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip holding exactly `members`, written without any check (fixed timestamps)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = method
            zf.writestr(info, data)
    return buffer.getvalue()


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def npy_with_header(header: str, version: tuple[int, int] = (1, 0)) -> bytes:
    """A .npy preamble around an arbitrary header string (padded as numpy pads it)."""
    magic = b"\x93NUMPY" + bytes(version)
    text = header.encode("latin1", errors="replace")
    size_format = "<H" if version == (1, 0) else "<I"
    prefix = len(magic) + struct.calcsize(size_format)
    padding = -(prefix + len(text) + 1) % 64
    text += b" " * padding + b"\n"
    return magic + struct.pack(size_format, len(text)) + text

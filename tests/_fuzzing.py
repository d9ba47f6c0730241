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

Inputs sized to take seconds if a check were quadratic, and bombs at full size, run instead
in one fresh process each test (`run_fresh`, `check_fresh`): CPU time without tracemalloc
(which slows zipfile's parse of 100,000 entries tenfold), and memory as the resident
high-water mark above the process's baseline (FRESH_MEMORY_CAP), reset before each case.
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
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck

MEMORY_CAP = 50 * 2**20  # bytes of new allocations one case may peak at (tracemalloc)
TIME_CAP = 2.0  # CPU seconds one case may take
FRESH_MEMORY_CAP = 200 * 2**20  # bytes of resident memory above the baseline (run_fresh)
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
        self.worst_seconds = 0.0
        self.worst_peak = 0

    def run(self, load: Callable[[Path], object], path: Path, label: str) -> str:
        """Call `load(path)`; return "loaded" or the error's class name, or fail the test."""
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
        start = time.process_time()
        outcome = self._outcome(load, path, label)
        elapsed = time.process_time() - start
        peak = tracemalloc.get_traced_memory()[1] - baseline
        assert elapsed < TIME_CAP, f"{label}: took {elapsed:.2f} s"
        assert peak < MEMORY_CAP, f"{label}: allocated {peak / 2**20:.1f} MiB"
        assert not self.canary.exists(), f"{label}: CODE RAN: the pickle canary exists"
        self.count += 1
        self.outcomes[outcome] += 1
        self.worst_seconds = max(self.worst_seconds, elapsed)
        self.worst_peak = max(self.worst_peak, peak)
        return outcome

    def _outcome(self, load, path: Path, label: str) -> str:
        try:
            load(path)
        except self.errors as error:
            assert path.name in str(error), f"{label}: message does not name the file: {error}"
            return type(error).__name__
        except Exception as error:  # noqa: BLE001 - anything else is the bug we hunt
            raise AssertionError(f"{label}: {type(error).__name__} escaped the loader: "
                                 f"{error}") from error
        return "loaded"

    def report(self, name: str, minimum: int) -> None:
        """Print the figures (`pytest -s` shows them) and check that at least `minimum` ran."""
        print(f"\n[fuzz] {name}: {self.count} cases, outcomes {dict(self.outcomes)}, worst "
              f"{self.worst_seconds:.3f} s CPU, worst {self.worst_peak / 2**20:.1f} MiB peak")
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


def npy_header(shape: tuple, descr: str = "|u1") -> bytes:
    """The .npy header (version 1.0) of an array of `shape` and dtype `descr`."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False,
                                                  "shape": shape})
    return buffer.getvalue()


def zeros_member(zf: zipfile.ZipFile, name: str, size: int, prefix: bytes = b"",
                 method: int = zipfile.ZIP_DEFLATED) -> None:
    """Add member `name` to `zf` (open for writing): `prefix`, then `size` zero bytes,
    streamed 1 MiB at a time (a bomb of any size without holding it), deflated at level 1
    (512 MiB in ~0.5 s; ~220:1 instead of ~1000:1, the same shape of attack)."""
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = method
    for attribute in ("_compresslevel", "compress_level"):   # zipfile's before/after 3.13
        with contextlib.suppress(AttributeError):
            setattr(info, attribute, 1)
    chunk = bytes(2**20)
    with zf.open(info, "w", force_zip64=size > 2**30) as out:
        out.write(prefix)
        for _ in range(size // len(chunk)):
            out.write(chunk)
        out.write(bytes(size % len(chunk)))


def zeros_npy_member(zf: zipfile.ZipFile, name: str, size: int,
                     method: int = zipfile.ZIP_DEFLATED) -> None:
    """A member `name` holding an .npy of `size` uint8 zeros (streamed, see zeros_member)."""
    zeros_member(zf, name, size, npy_header((size,)), method)


def raw_zip(members: list[tuple[str, bytes]]) -> bytes:
    """A zip of stored `members` [(name, data)], written byte by byte: names may repeat,
    and 100,000 members take a fraction of a second (zipfile needs seconds)."""
    local, central, offset = [], [], 0
    for name, data in members:
        encoded, crc = name.encode(), zlib.crc32(data)
        # flags 0, stored, time 0, date 1980-01-01, crc, sizes, name length
        fields = (0, 0, 0, 0x21, crc, len(data), len(data), len(encoded))
        header = struct.pack("<4sHHHHHLLLHH", b"PK\x03\x04", 20, *fields, 0) + encoded
        central.append(struct.pack("<4sHHHHHHLLLHHHHHLL", b"PK\x01\x02", 20, 20, *fields,
                                   0, 0, 0, 0, 0, offset) + encoded)
        local.append(header + data)
        offset += len(header) + len(data)
    directory = b"".join(central)
    count = min(len(members), 0xFFFF)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(directory), offset, 0)
    return b"".join(local) + directory + end


# ----- cases in a fresh process ---------------------------------------------------------------
_FRESH_SCRIPT = r"""
import contextlib, io, json, sys, time
from pathlib import Path
from glassnet import cli
from glassnet.datasets import DatasetError, load_npz, read_idx
from glassnet.saving import ModelFileError, load_model, load_weights
from glassnet.saving.training_state import read_checkpoint

def status(field):                        # from /proc/self/status, in bytes
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024

def reset_peak():                         # VmHWM := VmRSS (Linux >= 4.0)
    with open("/proc/self/clear_refs", "w") as file:
        file.write("5")
    return status("VmRSS")

def into_mlp(path):
    from _saved_models import make_model
    model = make_model()
    model.build((None, 2, 3))
    load_weights(model, path)

def info(path):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = cli.main(["info", str(path)])
    raise SystemExit(f"exit {code}, {err.getvalue().count(chr(10))} line(s): {err.getvalue()}")

def backup(path):                         # as BackupAndRestore reads it: with the model
    model = folder / "backup-model.glassnet"
    read_checkpoint(path, load_model(model) if model.exists() else None)

LOADERS = {"model": load_model, "cli": info, "backup": backup, "npz": load_npz,
           "idx": read_idx, "weights": into_mlp}
folder = Path(sys.argv[1])
load_model(folder / "warm-up.glassnet")   # every lazy import done
results = []
for label, kind, name in json.loads(sys.argv[2]):
    baseline, start = reset_peak(), time.process_time()
    try:
        LOADERS[kind](folder / name)
        outcome = "loaded"
    except (ModelFileError, DatasetError) as error:
        outcome = f"{type(error).__name__}: {error}"
    except SystemExit as exit_:
        outcome = str(exit_)
    results.append((label, outcome, time.process_time() - start, status("VmHWM") - baseline))
print(json.dumps(results))
"""


def run_fresh(folder: Path, cases: list[tuple[str, str, str]]) -> list:
    """Run each case (label, kind, file name in `folder`) in one new Python process; kinds:
    model (load_model), cli (`glassnet info`), backup (read_checkpoint, with the model of
    folder/backup-model.glassnet if there is one, as BackupAndRestore reads it), npz
    (load_npz), idx (read_idx), weights (load_weights into _saved_models' MLP). Returns, per
    case, (label, outcome, CPU seconds, bytes of resident memory above the baseline)."""
    import json
    import subprocess
    import sys

    import glassnet

    try:
        with open("/proc/self/clear_refs", "w") as file:
            file.write("5")
    except OSError:
        import pytest

        pytest.skip("needs Linux's /proc/self/clear_refs to reset the memory high-water mark")
    from glassnet import layers

    glassnet.Sequential([layers.Input(shape=(2,)), layers.Dense(1)]).save(
        folder / "warm-up.glassnet")
    tests = Path(__file__).resolve().parent
    path = [str(Path(glassnet.__file__).resolve().parents[1]), str(tests / "saving"),
            os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(path)}
    result = subprocess.run([sys.executable, "-c", _FRESH_SCRIPT, str(folder),
                             json.dumps(cases)], capture_output=True, text=True, timeout=300,
                            env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def check_fresh(name: str, results: list, minimum: int) -> None:
    """Print `run_fresh`'s figures; every case refused (a CLI case: one line, status 2) in
    under TIME_CAP seconds and FRESH_MEMORY_CAP bytes above the baseline."""
    worst_seconds = max(r[2] for r in results)
    worst_memory = max(r[3] for r in results)
    print(f"\n[fuzz] {name}: {len(results)} cases in a fresh process, worst "
          f"{worst_seconds:.3f} s CPU, worst {worst_memory / 2**20:.1f} MiB above baseline")
    for label, outcome, seconds, grown in results:
        print(f"    {seconds:.3f} s {grown / 2**20:6.1f} MiB  {label}: {outcome[:90]!r}")
    for label, outcome, seconds, grown in results:
        assert outcome != "loaded", f"{label}: loaded"
        if outcome.startswith("exit"):
            assert outcome.startswith("exit 2, 1 line(s): glassnet: error: "), outcome
        assert seconds < TIME_CAP, f"{label}: took {seconds:.2f} s"
        assert grown < FRESH_MEMORY_CAP, f"{label}: {grown / 2**20:.1f} MiB"
    assert len(results) >= minimum, f"{name}: only {len(results)} cases ran"

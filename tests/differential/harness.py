"""The differential suite's plumbing: seeds, comparisons, and failure messages that replay.

Every case is a function of one integer seed (np.random.default_rng(seed) draws the model,
weights, data and settings), so a failure is replayed by its seed alone:

    GLASSNET_DIFF_SEEDS=17 pytest tests/differential/test_diff_masks.py
    pytest "tests/differential/test_diff_masks.py::test_masks[seed17]"

How many seeds run: each category has a default (a few hundred cases in all, under a minute);
`--diff-cases=N` or GLASSNET_DIFF_CASES=N runs seeds 0..N-1 of every category instead.
GLASSNET_DIFF_REPORT=path appends one JSON line per case (category, seed, worst error);
`python tests/differential/harness.py path` prints them as a table per category.

Errors are relative to the reference's scale: max |glassnet - reference| / max(max |reference|,
floor), floor 1e-3 (float64) or 1e-2 (float32), against 1e-9 for float64 cases and 5e-5 for
float32 ones (the "layers" category builds one seed in eight in float32); 10 times that for
what fit computes over several optimizer steps (Adam divides a gradient that is exactly
zero in exact arithmetic, e.g. a bias before BatchNormalization, by its own rounding noise).
"""

from __future__ import annotations

import contextlib
import json
import os
import traceback

import numpy as np
import pytest

import glassnet as gn

TOLERANCE = {"float64": 1e-9, "float32": 5e-5}
# Below this scale a tensor counts as zero: float32 sums that cancel to ~0 keep ~1e-8 of noise.
SCALE_FLOOR = {"float64": 1e-3, "float32": 1e-2}
FIT_FACTOR = 10                # fit's several optimizer steps amplify rounding a little
MAX_LISTED = 8                 # mismatches listed in a failure message


def category(name: str, default_cases: int):
    """Mark a test function `test_x(diff_seed, ...)` as one category of `default_cases` seeds."""

    def mark(function):
        function.diff_category = (name, default_cases)
        return function

    return mark


def case_count(config, default: int) -> int:
    value = config.getoption("--diff-cases", default=None) or os.environ.get(
        "GLASSNET_DIFF_CASES")
    return int(value) if value else default


def parametrize_seeds(metafunc) -> None:
    """The pytest_generate_tests of the differential test modules."""
    marked = getattr(metafunc.function, "diff_category", None)
    if marked is None or "diff_seed" not in metafunc.fixturenames:
        return
    chosen = os.environ.get("GLASSNET_DIFF_SEEDS")
    if chosen:
        seeds = [int(s) for s in chosen.replace(",", " ").split()]
    else:
        seeds = list(range(case_count(metafunc.config, marked[1])))
    metafunc.parametrize("diff_seed", seeds, ids=[f"seed{s}" for s in seeds])


def to_numpy(value) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def relative_error(actual, expected, floor: float = 1e-3) -> float:
    difference = np.abs(actual - expected)
    scale = max(float(np.max(np.abs(expected))) if expected.size else 0.0, floor)
    return float(np.max(difference)) / scale if difference.size else 0.0


class Case:
    """One seed of one category: collects the comparisons, fails once with all of them."""

    def __init__(self, category_name: str, seed: int, nodeid: str, dtype: str):
        self.category, self.seed, self.nodeid, self.dtype = category_name, seed, nodeid, dtype
        self.tolerance = TOLERANCE[dtype]
        self.trained = False           # set once fit ran: FIT_FACTOR applies from then on
        self.description = ""
        self.problems: list[str] = []
        self.notes: list[str] = []     # comparisons left out on purpose, for the report
        self.worst = 0.0
        self.checks = 0

    def compare(self, what: str, actual, expected, tolerance: float | None = None) -> None:
        """Record |glassnet - reference| for `what`; a shape mismatch is a problem too."""
        if tolerance is None:
            tolerance = self.tolerance * (FIT_FACTOR if self.trained else 1)
        self.checks += 1
        if actual is None:
            self.problems.append(f"{what}: glassnet gave None, the reference a value")
            return
        actual, expected = to_numpy(actual), to_numpy(expected)
        if actual.shape != expected.shape:
            self.problems.append(f"{what}: glassnet shape {actual.shape}, Keras reference "
                                 f"shape {expected.shape}")
            return
        if not np.all(np.isfinite(actual)):
            self.problems.append(f"{what}: glassnet gave non-finite values")
            return
        error = relative_error(actual, expected, SCALE_FLOOR[self.dtype])
        self.worst = max(self.worst, error)
        if error > tolerance:
            index = np.unravel_index(int(np.argmax(np.abs(actual - expected))), actual.shape)
            self.problems.append(
                f"{what}: relative error {error:.2e} > {tolerance:.0e}; at {tuple(map(int, index))}"
                f" glassnet {actual[index]:.8g}, Keras reference {expected[index]:.8g}")

    def note(self, what: str) -> None:
        self.notes.append(what)

    def expect(self, condition: bool, what: str) -> None:
        self.checks += 1
        if not condition:
            self.problems.append(what)

    def message(self) -> str:
        path = self.nodeid.split("::")[0]
        lines = [f"differential mismatch: category {self.category!r}, seed {self.seed} "
                 f"({self.dtype})", f"  case: {self.description}"]
        lines += [f"  - {problem}" for problem in self.problems[:MAX_LISTED]]
        if len(self.problems) > MAX_LISTED:
            lines.append(f"  ... and {len(self.problems) - MAX_LISTED} more")
        lines += [f"  replay: GLASSNET_DIFF_SEEDS={self.seed} pytest {path}",
                  f"      or: pytest \"{self.nodeid}\""]
        return "\n".join(lines)


def _where(error: BaseException) -> str:
    """The innermost frame of the traceback that lies in glassnet or in this suite."""
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if "glassnet" in f.filename or "differential" in f.filename]
    if not frames:
        return ""
    frame = frames[-1]
    return f" (at {os.path.basename(frame.filename)}:{frame.lineno} in {frame.name})"


@contextlib.contextmanager
def run_case(request, category_name: str, seed: int, dtype: str = "float64"):
    """Run one case in glassnet floatx `dtype` (restored after); fail with a replay message."""
    case = Case(category_name, seed, request.node.nodeid, dtype)
    previous = gn.config.floatx()
    gn.config.set_floatx(dtype)
    try:
        yield case
    except Exception as error:                      # glassnet refused or crashed
        case.problems.append(f"raised {type(error).__name__}: {error}{_where(error)}")
    finally:
        gn.config.set_floatx(previous)
    report = os.environ.get("GLASSNET_DIFF_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as file:
            file.write(json.dumps({"category": category_name, "seed": seed, "dtype": dtype,
                                   "worst": case.worst, "checks": case.checks, "notes": case.notes,
                                   "problems": case.problems[:4]}) + "\n")
    if case.problems:
        failure = pytest.fail.Exception(case.message(), pytrace=False)
        failure.__suppress_context__ = True          # the message already names the error
        raise failure


def load_reference():
    """The PyTorch reference modules (imported only once the `torch` fixture found torch)."""
    import reference
    import reference_train

    return reference, reference_train


def summarize(path: str) -> str:
    """A table of a GLASSNET_DIFF_REPORT file: cases, failures (with seeds) and the worst
    error of the passing cases, per category and dtype."""
    rows: dict = {}
    with open(path, encoding="utf-8") as file:
        for line in file:
            entry = json.loads(line)
            rows.setdefault((entry["category"], entry["dtype"]), []).append(entry)
    lines = [f"{'category':<18} {'dtype':<8} {'cases':>6} {'failed':>6} {'worst (passing)':>16}"
             f"  failing seeds"]
    for (name, dtype), entries in sorted(rows.items()):
        failed = sorted(e["seed"] for e in entries if e["problems"])
        worst = max((e["worst"] for e in entries if not e["problems"]), default=float("nan"))
        seeds = ",".join(map(str, failed[:30])) + (" ..." if len(failed) > 30 else "")
        lines.append(f"{name:<18} {dtype:<8} {len(entries):>6} {len(failed):>6} "
                     f"{worst:>16.2e}  {seeds}")
    return "\n".join(lines)


if __name__ == "__main__":          # python tests/differential/harness.py report.jsonl
    import sys

    print(summarize(sys.argv[1]))

"""glassnet against PyTorch (and scikit-learn, and the bare matrix products), side by side.

    python benchmarks/run.py                      # every case, 5 rounds (long on 2 cores)
    python benchmarks/run.py --quick              # a tenth of the samples, 3 rounds
    python benchmarks/run.py --only mlp-sgd-b128,cnn --rounds 7 --json results.json
    BENCH_THREADS=1 python benchmarks/run.py --quick   # every side on one thread

How it measures (issue 4):
- Same network, data and order: random float32 data from one seed; each round draws one
  permutation and every side trains one epoch on the same permuted arrays (glassnet through
  `fit(..., shuffle=False)`, torch on tensors sharing those arrays, in the same slices).
  glassnet's initial weights are copied into the torch (and scikit-learn) models, and the
  outputs are compared before timing ("max |dp|" in the JSON).
- Same threads: 2 for BLAS (the environment variables below are set before NumPy is
  imported, and threadpoolctl caps them again) and torch.set_num_threads(2); another count
  with BENCH_THREADS=n (an environment variable: it must be known before NumPy loads).
- Interleaved rounds: every round times each side once, in an order rotated from round to
  round, so a slow spell of the shared machine hits every side. A warm-up pass precedes.
- Reported: median seconds per epoch (per call for predict), and the median over rounds of
  the ratio to torch *in the same round*.
- Peak memory: each (case, side) runs once more in a fresh process. After the data is made
  and a throwaway copy of the model has run two batches (so one-off costs such as BLAS
  buffers and lazily loaded kernels are not counted), the kernel's peak-RSS counter is reset
  (/proc/self/clear_refs); we then build the model and train one epoch (or predict) and
  report peak RSS minus the RSS before: weights, gradients, optimizer state, activations
  and any copies, whoever allocates them. glibc is told to serve large blocks with mmap
  (MALLOC_MMAP_THRESHOLD_) so that freed memory really leaves the process.
"""

from __future__ import annotations

import os

THREADS = int(os.environ.get("BENCH_THREADS", "2"))
if THREADS < 1:
    raise SystemExit(f"BENCH_THREADS: expected a thread count >= 1, got {THREADS}")
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = str(THREADS)  # before NumPy loads its BLAS: read once, at load

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _peers  # noqa: E402

try:
    from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402
except ImportError:  # optional: the environment variables above already set the threads
    threadpool_info = threadpool_limits = None

MiB = 2**20


# ----- the cases ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One benchmark: a network, a task, a batch size, a sample count. Tasks: 'train' (one
    epoch of the compute: fit(shuffle=False) on pre-permuted arrays), 'fit' (one epoch of fit
    with its defaults: shuffle, validation_split=0.1, accuracy), 'predict'."""

    name: str
    network: str
    task: str
    batch: int
    samples: int
    frameworks: tuple[str, ...]
    optimizer: str = "sgd"
    repeat: int = 1           # predict on 1 sample: calls timed together, reported per call

    @property
    def unit(self) -> str:
        return "s/call" if self.task == "predict" else "s/epoch"


def all_cases(scale: float) -> list[Case]:
    """Issue 4's cases; `scale` multiplies the sample counts (--quick uses 0.1)."""
    def n(count: int) -> int:
        return max(8, round(count * scale))

    cases = [Case(f"mlp-{opt}-b{batch}", "mlp", "train", batch, n(60_000),
                  ("glassnet", "torch", "sklearn", "floor"), optimizer=opt)
             for opt in ("sgd", "adam") for batch in (32, 128, 512)]
    cases += [Case("mlp-call-adam-b128", "mlp", "train", 128, n(60_000),
                   ("glassnet", "glassnet-call", "torch"), optimizer="adam")]   # issue 16
    # end to end (issue 14): what a user's fit costs, shuffling and validation included
    cases += [Case("fit-mlp-sgd-b32", "mlp", "fit", 32, n(60_000), ("glassnet", "torch"))]
    cases += [Case("cnn-sgd-b64", "cnn", "train", 64, n(10_000), ("glassnet", "torch", "torch-cl")),
              Case("lstm-sgd-b64", "lstm", "train", 64, n(10_000), ("glassnet", "torch"))]
    for network, peers in (("mlp", ("glassnet", "torch")),
                           ("cnn", ("glassnet", "torch", "torch-cl"))):
        cases += [Case(f"predict-{network}-1", network, "predict", 1, 1, peers, repeat=100),
                  Case(f"predict-{network}-10000", network, "predict", _peers.PREDICT_BATCH,
                       n(10_000), peers)]
    return cases


def selected(case: Case, only: list[str] | None) -> bool:
    """`--only` tokens match whole dash-separated parts: 'mlp', 'b128', 'mlp-adam', 'cnn'."""
    return not only or any(f"-{token}-" in f"-{case.name}-" for token in only)


def make_data(case: Case, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Standard-normal float32 inputs and uniform int64 labels, from one seed per network."""
    return _peers.random_data(case.network, case.samples, seed)


def permuted(x: np.ndarray, y: np.ndarray, rng: np.random.Generator):
    """One epoch's order, the same arrays for every side (the gather is not timed)."""
    order = rng.permutation(len(x))
    return x[order], y[order]


# ----- timing -------------------------------------------------------------------------------
@dataclass
class Result:
    """What one side did in one case."""

    times: list[float] = field(default_factory=list)      # per round, seconds per unit
    ratios: list[float] = field(default_factory=list)     # per round, time / torch's time
    floor_ratios: list[float] = field(default_factory=list)
    peak_mib: float | None = None
    max_abs_dp: float | None = None                       # output agreement with glassnet
    note: str = ""                                        # unavailable / failed: why

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None


def timed(trainer, case: Case, data) -> float:
    """Seconds for one epoch (train) or one call (predict, averaged over `repeat` calls)."""
    start = time.perf_counter()
    if case.task != "predict":
        trainer.epoch(data)
    else:
        for _ in range(case.repeat):
            trainer.predict(data)
    return (time.perf_counter() - start) / case.repeat


def build_sides(case: Case, x, y, seed: int) -> tuple[dict, dict[str, Result]]:
    """The trainers that can run, glassnet's weights copied into the others, checked."""
    trainers, results = {}, {fw: Result() for fw in case.frameworks}
    for fw in case.frameworks:
        try:
            trainers[fw] = _peers.make_trainer(fw, case.network, case.optimizer, case.batch, seed,
                                               case.task)
        except _peers.Unavailable as error:
            results[fw].note = f"unavailable: {error}"
        except Exception as error:  # noqa: BLE001 (a broken side is reported, the run goes on)
            results[fw].note = f"failed: {type(error).__name__}: {error}"
    reference = trainers.get("glassnet")
    if reference is None:
        return trainers, results
    weights = reference.weights()
    probe = (x[:64], y[:64])
    expected = reference.predict(reference.prepare(*probe))
    for fw, trainer in trainers.items():
        if fw in ("torch", "torch-cl", "glassnet-call"):
            loaded = trainer.load(weights)
        elif fw == "sklearn":
            loaded = trainer.load(weights, (x, y))
        else:
            continue
        if not loaded:
            results[fw].note = "weights not copied (unknown layout): own initialisation"
            continue
        got = (trainer.model.predict_proba(probe[0]) if fw == "sklearn"
               else trainer.predict(trainer.prepare(*probe)))
        results[fw].max_abs_dp = float(np.max(np.abs(got - expected)))
    return trainers, results


def run_case(case: Case, rounds: int, seed: int) -> dict[str, Result]:
    """Warm up, then `rounds` interleaved rounds; fills times and per-round ratios."""
    x, y = make_data(case, seed)
    trainers, results = build_sides(case, x, y, seed)
    warm = min(len(x), 4 * case.batch)
    for fw, trainer in list(trainers.items()):
        try:
            timed(trainer, case, trainer.prepare(x[:warm], y[:warm]))
        except Exception as error:  # noqa: BLE001
            results[fw].note = f"failed: {type(error).__name__}: {error}"
            del trainers[fw]
    order_rng = np.random.default_rng([seed, 1])
    names = list(trainers)
    for round_index in range(rounds):
        xe, ye = permuted(x, y, order_rng) if case.task == "train" else (x, y)  # fit shuffles
        shift = round_index % max(1, len(names))
        this_round = {}
        for fw in names[shift:] + names[:shift]:          # rotated order: A B, then B A, ...
            data = trainers[fw].prepare(xe, ye)
            gc.collect()                                  # no collector pause inside a timing
            this_round[fw] = timed(trainers[fw], case, data)
        for fw, seconds in this_round.items():
            results[fw].times.append(seconds)
            if "torch" in this_round:
                results[fw].ratios.append(seconds / this_round["torch"])
            if "floor" in this_round:
                results[fw].floor_ratios.append(seconds / this_round["floor"])
    return results


# ----- memory, in a fresh process -------------------------------------------------------------
def _status_mib(key: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise OSError(f"/proc/self/status has no {key}")


def _release_free_heap_pages() -> None:
    """glibc's malloc_trim(0): free heap pages back to the kernel (no-op elsewhere)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def probe_memory(case: Case, framework: str, seed: int) -> dict:
    """Run inside the fresh process: peak RSS growth of building + one epoch (or predict)."""
    x, y = make_data(case, seed)
    xe, ye = permuted(x, y, np.random.default_rng([seed, 1]))
    del x, y
    two = min(len(xe), 2 * case.batch)
    throwaway = _peers.make_trainer(framework, case.network, case.optimizer, case.batch, seed,
                                    case.task)
    timed(throwaway, Case(**{**asdict(case), "repeat": 1}), throwaway.prepare(xe[:two], ye[:two]))
    # The throwaway stays alive: freed, its pages would be handed to the measured model by
    # the allocator and its weights would cost nothing. For the same reason every free page
    # left in the heap is given back to the kernel (malloc_trim) before the baseline: memory
    # a side reuses from the heap is counted as surely as memory it maps anew.
    gc.collect()
    _release_free_heap_pages()
    before = _status_mib("VmRSS")
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")                                  # reset VmHWM to the current RSS
    trainer = _peers.make_trainer(framework, case.network, case.optimizer, case.batch, seed,
                                  case.task)
    timed(trainer, Case(**{**asdict(case), "repeat": 1}), trainer.prepare(xe, ye))
    peak = _status_mib("VmHWM") - before
    del throwaway
    return {"peak_mib": peak, "rss_before_mib": before}


def measure_memory(case: Case, framework: str, args) -> float | None:
    command = [sys.executable, __file__, "--probe", case.name, framework, "--seed",
               str(args.seed), "--scale", str(args.scale)]
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(128 * 1024)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        print(f"  memory probe {case.name}/{framework} failed: {done.stderr.strip()[-300:]}",
              file=sys.stderr)
        return None
    return json.loads(lines[-1])["peak_mib"]


# ----- the machine ---------------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _numpy_blas() -> str:
    if threadpool_info is not None:
        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        if pools:
            return "; ".join(f"{p['internal_api']} {p.get('version')} "
                             f"({p.get('architecture', '?')}, {p['num_threads']} threads, "
                             f"{Path(p['filepath']).name})" for p in pools)
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # noqa: BLE001 (older NumPy: no dict mode)
        return "unknown"


def system_info() -> dict:
    info = {"cpu": _cpu_model(), "logical_cpus": os.cpu_count(), "threads": THREADS,
            "python": platform.python_version(), "platform": platform.platform(),
            "numpy": np.__version__, "numpy_blas": _numpy_blas(),
            "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
            "load_average_at_start": list(os.getloadavg())}
    for module in ("glassnet", "torch", "sklearn"):
        try:
            info[module] = __import__(module).__version__
        except Exception as error:  # noqa: BLE001
            info[module] = f"unavailable ({type(error).__name__})"
    try:
        import torch

        blas = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
        info["torch_blas"] = blas.group(1) if blas else "unknown"
        info["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    return info


# ----- the report ------------------------------------------------------------------------------
def _format(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ratio_cell(ratios: list[float]) -> str:
    if not ratios:
        return "-"
    return f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"


def _best_ratio(result: Result, reference: Result | None) -> float | None:
    """Fastest round over the reference's fastest round. On a shared machine noise only
    adds time, so the two minima estimate the undisturbed ratio; the per-round median is
    the figure the targets use, this one says how much of a gap is noise."""
    if reference is None or not result.times or not reference.times:
        return None
    return min(result.times) / min(reference.times)


def table(cases: list[Case], results: dict[str, dict[str, Result]]) -> str:
    """One row per (case, side); a side that did not run shows why instead of numbers."""
    head = ("case", "side", "median time", "x torch (min-max)", "best/best", "x floor",
            "peak MiB")
    rows, notes = [], {}
    for case in cases:
        for index, (fw, result) in enumerate(results[case.name].items()):
            label = f"{case.name} ({case.unit})" if index == 0 else ""
            if not result.times:
                notes[len(rows)] = result.note or "no timing"
                rows.append((label, fw))
                continue
            floor = (_format(statistics.median(result.floor_ratios), 2)
                     if result.floor_ratios else "-")
            rows.append((label, fw, _format(result.median, 4), _ratio_cell(result.ratios),
                         _format(_best_ratio(result, results[case.name].get("torch")), 2),
                         floor, _format(result.peak_mib, 1)))
    widths = [max([len(h)] + [len(r[i]) for r in rows if len(r) > i])
              for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths)),
             "  ".join("-" * w for w in widths)]
    for number, row in enumerate(rows):
        cells = [c.ljust(w) for c, w in zip(row, widths)]
        if number in notes:
            cells.append(notes[number])
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def target_checks(cases: list[Case], results: dict[str, dict[str, Result]]) -> list[dict]:
    """Issue 4's targets, each with the measured value (median of per-round ratios)."""
    checks = []

    def add(what: str, values: list[float], limit: float, best: float | None = None) -> None:
        if values:
            value = statistics.median(values)
            checks.append({"target": what, "value": round(value, 3), "limit": limit,
                           "met": value <= limit,
                           "best_over_best": None if best is None else round(best, 3)})

    for case in cases:
        gn = results[case.name].get("glassnet")
        if gn is None or not gn.times:
            continue
        sides = results[case.name]
        traced = sides.get("glassnet-call")
        if traced is not None:                 # issue 16: the call() path vs the built-in one
            if traced.times:
                add(f"{case.name}: glassnet call() / built-in layers",
                    [a / b for a, b in zip(traced.times, gn.times)], 1.5,
                    _best_ratio(traced, gn))
            continue
        limits = {"b128": 0.75, "b32": 0.6}
        best = {fw: _best_ratio(gn, sides.get(fw)) for fw in ("torch", "floor", "sklearn")}
        if case.network == "mlp" and case.task == "train":
            for tag, limit in limits.items():
                if case.name.endswith(tag):
                    add(f"{case.name}: glassnet / torch", gn.ratios, limit, best["torch"])
            if case.name.endswith("b512"):
                add(f"{case.name}: glassnet / floor", gn.floor_ratios, 1.3, best["floor"])
            sk = sides.get("sklearn")
            if sk is not None and sk.times:
                add(f"{case.name}: glassnet / sklearn",
                    [a / b for a, b in zip(gn.times, sk.times)], round(1 / 1.5, 3),
                    best["sklearn"])
        elif case.task == "train":
            add(f"{case.name}: glassnet / torch", gn.ratios, 1.0, best["torch"])
        torch_side = results[case.name].get("torch")
        if gn.peak_mib is not None and torch_side is not None and torch_side.peak_mib:
            checks.append({"target": f"{case.name}: peak memory glassnet <= torch",
                           "value": f"{gn.peak_mib:.1f} vs {torch_side.peak_mib:.1f} MiB",
                           "limit": "<=", "met": gn.peak_mib <= torch_side.peak_mib})
    return checks


def write_json_atomically(path: str, payload: dict) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    with tempfile.NamedTemporaryFile("w", dir=folder, suffix=".tmp", delete=False) as handle:
        json.dump(payload, handle, indent=1)
    os.replace(handle.name, path)


def write_report(args, info: dict, cases: list[Case], results: dict) -> None:
    write_json_atomically(args.json, {
        "system": info,
        "settings": {"rounds": args.rounds, "scale": args.scale, "seed": args.seed,
                     "threads": THREADS, "command": " ".join(sys.argv)},
        "cases": [{**asdict(case), "unit": case.unit,
                   "results": {fw: {**asdict(r), "median": r.median}
                               for fw, r in results[case.name].items()}}
                  for case in cases],
        "targets": target_checks(cases, results),
    })


# ----- command line ----------------------------------------------------------------------------
def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a tenth of the samples and 3 rounds (unless given)")
    parser.add_argument("--only", help="comma-separated parts of case names: mlp, cnn, lstm, "
                                       "predict, b128, mlp-adam, mlp-sgd-b32, ...")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 5, quick 3)")
    parser.add_argument("--json", help="also write every timing to this JSON file")
    parser.add_argument("--scale", type=float, help="multiply the sample counts (quick: 0.1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-memory", action="store_true", help="skip the memory probes")
    parser.add_argument("--list", action="store_true", help="list the case names and exit")
    parser.add_argument("--probe", nargs=2, metavar=("CASE", "SIDE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.scale = args.scale if args.scale is not None else (0.1 if args.quick else 1.0)
    args.rounds = args.rounds if args.rounds is not None else (3 if args.quick else 5)
    if args.rounds < 1 or args.scale <= 0:
        parser.error("--rounds must be >= 1 and --scale > 0")
    return args


def limit_threads() -> None:
    if threadpool_limits is not None:
        threadpool_limits(THREADS)
    try:
        import torch

        torch.set_num_threads(THREADS)
    except ImportError:
        pass


def main(argv=None) -> int:
    args = parse_args(argv)
    cases = all_cases(args.scale)
    if args.list:
        print("\n".join(case.name for case in cases))
        return 0
    if args.probe:
        case = next(c for c in cases if c.name == args.probe[0])
        if args.probe[1] in ("torch", "torch-cl"):
            limit_threads()
        elif threadpool_limits is not None:
            threadpool_limits(THREADS)
        print(json.dumps(probe_memory(case, args.probe[1], args.seed)))
        return 0
    only = [t for t in args.only.split(",") if t] if args.only else None
    cases = [case for case in cases if selected(case, only)]
    if not cases:
        print(f"--only {args.only!r} matches no case; --list shows them", file=sys.stderr)
        return 2
    limit_threads()
    info = system_info()
    results = {}
    for case in cases:
        print(f"{case.name}: {case.samples} samples, batch {case.batch}, "
              f"{args.rounds} rounds ...", file=sys.stderr, flush=True)
        results[case.name] = run_case(case, args.rounds, args.seed)
        if not args.no_memory:
            for fw, result in results[case.name].items():
                if result.times:
                    result.peak_mib = measure_memory(case, fw, args)
        print(table([case], results), file=sys.stderr, flush=True)   # progress, case by case
        if args.json:                                 # rewritten after each case: a run cut
            write_report(args, info, [c for c in cases if c.name in results], results)
    info["load_average_at_end"] = list(os.getloadavg())
    checks = target_checks(cases, results)
    if args.json:
        write_report(args, info, cases, results)
    print(f"glassnet {info['glassnet']} | torch {info.get('torch')} "
          f"(BLAS {info.get('torch_blas', '?')}, {info.get('torch_cpu_capability', '?')}, "
          f"{info.get('torch_threads', '?')} threads) | "
          f"scikit-learn {info['sklearn']} | numpy {info['numpy']} ({info['numpy_blas']})")
    print(f"{info['cpu']}, {info['logical_cpus']} logical CPUs, {THREADS} threads | "
          f"Python {info['python']} | load average {info['load_average_at_start'][0]:.2f} "
          f"-> {info['load_average_at_end'][0]:.2f}")
    if info["openblas_coretype"]:
        print(f"OPENBLAS_CORETYPE={info['openblas_coretype']} is set in the environment: "
              f"NumPy's OpenBLAS runs the kernels it names instead of those it would pick for "
              f"this CPU (unset it to compare each BLAS at its best: benchmarks/README.md)")
    print(f"{args.rounds} rounds, scale {args.scale}, seed {args.seed}; times are medians, "
          f"ratios the median of per-round ratios\n")
    print(table(cases, results))
    if checks:
        print("\ntargets (issue 4):")
        for check in checks:
            best = check.get("best_over_best")
            print(f"  {'met    ' if check['met'] else 'NOT met'}  {check['target']}: "
                  f"{check['value']} (limit {check['limit']}"
                  + ("" if best is None else f"; best/best {best}") + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Each side on the same cores its own way: glassnet on P processes, PyTorch on P threads.

    python benchmarks/cores.py                        # issue 14's cases, 2 cores, 3 rounds
    python benchmarks/cores.py --only cnn,predict-cnn --rounds 5
    python benchmarks/cores.py --scale 0.1 --json cores.json

run.py times both libraries in one process with the same thread count. There glassnet's
second core runs only OpenBLAS, while PyTorch's runs its elementwise kernels, pooling and
its LSTM cell too; and glassnet cannot run its own Python threads instead: a step holds the
GIL too much of the time (`threads.py --python-threads`: two independent models in two
threads gain 0.90-1.15x). glassnet's way to use several cores is data parallelism over
processes (`glassnet.distribution.DataParallel`, docs/distributed.md). This script measures
that way beside PyTorch's:

- glassnet-dp: `mpiexec -n P`, DataParallel, one BLAS thread per rank, the global batch split
  over the ranks (what `mpiexec -n 2 python train.py` does with a user's script);
- glassnet: one process, P BLAS threads (what run.py measures);
- torch: one process, torch.set_num_threads(P) (what a PyTorch user runs); torch-pad the
  same with MALLOC_TOP_PAD_ set (see TOP_PAD): the reference is the faster of the two.

The cases are run.py's: the same networks (benchmarks/_peers.py), data (run.py's seeds),
batch sizes and sample counts (scaled by --scale); `train` is one epoch of
fit(shuffle=False) / the PyTorch loop, `predict` one predict of every sample in batches of
1,000. Each (side, case) is launched fresh once a round, in an order rotated from round to
round. In that process one epoch (or predict) warms up, so every batch shape has been seen,
and the median of --repeats more is kept; for glassnet-dp each is the slowest rank's time.
Reported: the median over rounds, and the median of the per-round ratios to PyTorch (the
faster of torch and torch-pad in that round), with their range. Timings only on a quiet
machine; tests/test_benchmarks.py runs it on tiny sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _peers  # noqa: E402  (numpy loads here, after the launcher set the thread counts)

SIDES = ("glassnet-dp", "glassnet", "torch", "torch-pad")
# PyTorch's speed here depends on where glibc's malloc puts its tensors. With the defaults,
# a step can give its tensors' pages back to the kernel and fault them in again at the next
# one; with MALLOC_TOP_PAD_ (glibc keeps this much free memory at the top of the heap) the
# CNN epoch took ~42 ms instead of ~64. Which setting is faster depends on the case and its
# size: predict of 10,000 samples ran faster with it, of 4,000 samples without it.
# Inside run.py, glassnet's long-lived buffers change PyTorch's heap in the same process
# (there its CNN epoch is the fast one). So PyTorch runs both ways ("torch": glibc's
# defaults; "torch-pad": MALLOC_TOP_PAD_), and each round's ratios are taken against the
# faster of the two. glassnet reuses its buffers and runs with the defaults.
TOP_PAD = 64 * 2**20
# name: (network, task, batch, samples at scale 1), as in run.py
CASES = {
    "mlp-b32": ("mlp", "train", 32, 60_000),
    "mlp-b128": ("mlp", "train", 128, 60_000),
    "cnn": ("cnn", "train", 64, 10_000),
    "lstm": ("lstm", "train", 64, 10_000),
    "predict-cnn": ("cnn", "predict", 1000, 10_000),
}


# ----- inside a launched process ------------------------------------------------------------
def worker(args) -> dict:
    """Build the side's trainer, warm up, time one epoch or predict; rank 0 writes it."""
    import numpy as np

    network, task, batch, _ = CASES[args.case]
    x, y = _peers.random_data(network, args.samples)               # run.py's data
    comm = None
    if args.side.startswith("torch"):
        import torch

        torch.set_num_threads(args.cores)
        trainer = _peers.TorchTrainer(network, "sgd", batch)
    else:
        import glassnet as gn

        if args.side == "glassnet-dp":
            gn.distribution.set_distribution(gn.distribution.DataParallel())
            comm = gn.distribution.distribution().communicator
        trainer = _peers.GlassnetTrainer(network, "sgd", batch)

    def run(data):
        if task == "train":
            trainer.epoch(data)
        else:
            trainer.predict(data)

    data = trainer.prepare(x, y)
    run(data)               # warm-up: the whole epoch, so every batch shape has been seen
    times = []
    for _ in range(args.repeats):
        if comm is not None:
            comm.allreduce_sum(np.zeros(1))              # the ranks start together
        start = time.perf_counter()
        run(data)
        elapsed = time.perf_counter() - start
        if comm is not None:                             # the job takes the slowest rank's
            elapsed = float(comm.allgather_rows(np.array([elapsed])).max())
        times.append(elapsed)
    if comm is not None and comm.rank != 0:
        return {}
    return {"seconds": statistics.median(times), "all": times}


# ----- the launcher -------------------------------------------------------------------------
def launch(side: str, case: str, cores: int, samples: int, repeats: int,
           folder: Path) -> float:
    out = folder / f"{side}-{case}.json"
    out.unlink(missing_ok=True)
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", side, "--case", case,
               "--cores", str(cores), "--samples", str(samples), "--repeats", str(repeats),
               "--out", str(out)]
    if side == "glassnet-dp":
        command = [_peers.mpiexec(), "-n", str(cores)] + command
    threads = "1" if side == "glassnet-dp" else str(cores)
    pad = {"MALLOC_TOP_PAD_": str(TOP_PAD)} if side == "torch-pad" else {}
    env = {**os.environ, **pad, "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
           "MKL_NUM_THREADS": threads,
           "PYTHONPATH": os.pathsep.join([str(HERE.parent / "src"),
                                          os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, env=env)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"{side} {case} failed:\n{done.stderr.strip()[-1500:]}")
    return json.loads(out.read_text())["seconds"]


def measure(cases: list[str], cores: int, rounds: int, scale: float, repeats: int) -> dict:
    """{case: {side: [seconds per round]}}, every (side, case) launched once a round."""
    runs = [(case, side) for case in cases for side in SIDES]
    results = {case: {side: [] for side in SIDES} for case in cases}
    with tempfile.TemporaryDirectory() as folder:
        for round_index in range(rounds):
            shift = round_index % len(runs)
            for case, side in runs[shift:] + runs[:shift]:
                network, task, batch, samples = CASES[case]
                count = max(4 * batch, round(samples * scale))
                seconds = launch(side, case, cores, count, repeats, Path(folder))
                results[case][side].append(seconds)
                print(f"  round {round_index + 1}: {case:12} {side:12} {seconds:.4f} s",
                      flush=True)
    return results


def summary(results: dict) -> dict:
    """Per case and side: median seconds, and the median over rounds of the ratio to
    PyTorch in the same round (the faster of torch and torch-pad), with its range."""
    rows = {}
    for case, sides in results.items():
        torch_times = [min(a, b) for a, b in zip(sides["torch"], sides["torch-pad"])]
        for side, times in sides.items():
            ratios = [t / r for t, r in zip(times, torch_times)]
            rows[f"{case} {side}"] = {"median_s": statistics.median(times),
                                      "ratio": statistics.median(ratios),
                                      "ratio_min": min(ratios), "ratio_max": max(ratios)}
    return rows


def table(rows: dict, cores: int) -> str:
    lines = [f"| case, side ({cores} cores) | median s | x torch (min-max) |", "|---|---|---|"]
    for name, row in rows.items():
        lines.append(f"| {name} | {row['median_s']:.4f} | {row['ratio']:.2f} "
                     f"({row['ratio_min']:.2f}-{row['ratio_max']:.2f}) |")
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(CASES),
                        help=f"comma-separated cases (default all): {', '.join(CASES)}")
    parser.add_argument("--cores", type=int, default=2,
                        help="processes for glassnet-dp, threads for the others")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the sample counts")
    parser.add_argument("--repeats", type=int, default=3,
                        help="epochs (or predicts) timed in each launch, after one warm-up")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--worker", choices=SIDES, dest="side", help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--samples", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.cases = [c for c in args.only.split(",") if c]
    unknown = sorted(set(args.cases) - set(CASES))
    if unknown:
        parser.error(f"--only: unknown cases {unknown}; expected some of {list(CASES)}")
    if args.cores < 2 or min(args.rounds, args.repeats) < 1 or args.scale <= 0:
        parser.error(f"--cores must be >= 2 (got {args.cores}), --rounds and --repeats >= 1 "
                     f"(got {args.rounds}, {args.repeats}), --scale > 0 (got {args.scale})")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.side:
        result = worker(args)
        if result:
            Path(args.out).write_text(json.dumps(result))
        return 0
    print(f"{args.rounds} rounds, scale {args.scale:g}, {args.cores} cores "
          f"({os.cpu_count()} logical CPUs here)", flush=True)
    rows = summary(measure(args.cases, args.cores, args.rounds, args.scale, args.repeats))
    print()
    print(table(rows, args.cores))
    if args.json:                                    # atomically: never half a file
        partial = Path(f"{args.json}.partial")
        partial.write_text(json.dumps({"rows": rows, "cores": args.cores,
                                       "rounds": args.rounds, "scale": args.scale}, indent=2))
        os.replace(partial, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

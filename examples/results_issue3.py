"""Issue 3's four results at full length, as a table and a JSON file.

    python examples/results_issue3.py                      # all four, one after the other
    python examples/results_issue3.py --only cnn-mnist     # one (or several) of them
    python examples/results_issue3.py --table              # just print what is recorded

Each experiment writes its figures, model and metrics into OUT/NAME/ (default out/issue3/,
ignored by git) and its result into OUT/NAME.json as soon as it ends, so experiments can run
in separate processes; the table and OUT/results.json gather every NAME.json found.

    cnn-mnist    a small CNN on MNIST              target: test accuracy >= 99.0% in 10 epochs
    cnn-fashion  a CNN on Fashion-MNIST            target: test accuracy >= 91%
    lstm-mnist   an LSTM reading MNIST row by row  target: test accuracy >= 97%
    gru-sine     a GRU forecasting a noisy sine    target: MSE 5x below the last-value baseline

Data: MNIST and Fashion-MNIST from --data-dir (else $GLASSNET_DATA, the cache, a download).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from glassnet.demos import cnn, sequence
from glassnet.demos._common import DemoContext
from glassnet.io import atomic_write


def _cnn(which):
    return lambda ctx: cnn.experiment(ctx, which)


EXPERIMENTS = {
    # name: (what it trains, how its result is judged, run(ctx) -> metrics)
    "cnn-mnist": ("small CNN, MNIST", "test accuracy >= 99.0%, <= 10 epochs", _cnn("mnist")),
    "cnn-fashion": ("CNN, Fashion-MNIST", "test accuracy >= 91%", _cnn("fashion")),
    "lstm-mnist": ("LSTM over 28 rows of 28 pixels, MNIST", "test accuracy >= 97%",
                   sequence.lstm_experiment),
    "gru-sine": ("GRU, next value of a noisy sine", "MSE <= baseline MSE / 5",
                 sequence.gru_experiment),
}


def passed(name: str, metrics: dict) -> bool:
    if name == "cnn-mnist":
        return metrics["test_accuracy"] >= 0.99 and metrics["epochs"] <= 10
    if name == "cnn-fashion":
        return metrics["test_accuracy"] >= 0.91
    if name == "lstm-mnist":
        return metrics["test_accuracy"] >= 0.97
    return metrics["baseline_mse"] / metrics["mse"] >= 5


def result_line(name: str, metrics: dict) -> str:
    if name == "gru-sine":
        return (f"MSE {metrics['mse']:.5f} vs last-value {metrics['baseline_mse']:.5f}: "
                f"{metrics['baseline_mse'] / metrics['mse']:.1f}x better "
                f"(noise floor {metrics['noise_variance']:.5f})")
    return f"test accuracy {metrics['test_accuracy']:.2%} after {metrics['epochs']} epochs"


def run_one(name: str, out: Path, data_dir, seed: int, verbose: int) -> dict:
    ctx = DemoContext(name, out / name, seed=seed, data_dir=data_dir, verbose=verbose)
    start = time.perf_counter()
    metrics = EXPERIMENTS[name][2](ctx)
    record = {"name": name, "seed": seed, **metrics,
              "seconds": round(time.perf_counter() - start, 1),
              "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
              "command": f"python examples/results_issue3.py --only {name} --seed {seed}"}
    record["passed"] = passed(name, record)
    ctx.write_metrics(record)
    with atomic_write(out / f"{name}.json", mode="w") as file:
        json.dump(record, file, indent=2)
        file.write("\n")
    return record


def table(out: Path) -> list[dict]:
    """Print every recorded result as a table; write them all to OUT/results.json."""
    records = [json.loads((out / f"{name}.json").read_text()) for name in EXPERIMENTS
               if (out / f"{name}.json").exists()]
    rows = [("experiment", "model / data", "result", "target", "met", "time")]
    for record in records:
        name = record["name"]
        what, target, _ = EXPERIMENTS[name]
        rows.append((name, what, result_line(name, record), target,
                     "yes" if record["passed"] else "NO", f"{record['seconds'] / 60:.1f} min"))
    widths = [max(len(row[col]) for row in rows) for col in range(len(rows[0]))]
    for index, row in enumerate(rows):
        print(" | ".join(cell.ljust(width) for cell, width in zip(row, widths)))
        if index == 0:
            print("-+-".join("-" * width for width in widths))
    missing = [name for name in EXPERIMENTS if not (out / f"{name}.json").exists()]
    if missing:
        print(f"not run yet: {', '.join(missing)}")
    with atomic_write(out / "results.json", mode="w") as file:
        json.dump(records, file, indent=2)
        file.write("\n")
    return records


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(EXPERIMENTS), default=None,
                        help="run these experiments (default: all four)")
    parser.add_argument("--table", action="store_true", help="only print the recorded table")
    parser.add_argument("--out", type=Path, default=Path("out/issue3"))
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", type=int, default=2, help="fit's verbose (2: per epoch)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.table:
        for name in args.only or EXPERIMENTS:
            record = run_one(name, args.out, args.data_dir, args.seed, args.verbose)
            print(f"{name}: {result_line(name, record)} ({record['seconds']:.0f} s)",
                  flush=True)
    records = table(args.out)
    return 0 if records and all(record["passed"] for record in records) else 1


if __name__ == "__main__":
    sys.exit(main())

"""What a second thread buys glassnet and PyTorch, and what it costs the work after it.

    python benchmarks/threads.py                     # both parts, the issue-14 cases
    python benchmarks/threads.py --epochs --only cnn,lstm --rounds 5
    python benchmarks/threads.py --update --batch 32
    python benchmarks/threads.py --python-threads --only cnn,lstm

Three measurements (issue 14's analysis of the 2-thread ratios):

- `--epochs`: one training epoch of each benchmark network (benchmarks/_peers.py, the cases of
  run.py) for glassnet and torch at 1 and at 2 threads, each (framework, threads) in a fresh
  process of its own, so that no library's idle threads share the cores with the other's
  (run.py times both sides in one process). Rounds are interleaved; the minimum over rounds
  is reported, with the speed-up from the second thread.
- `--update`: the cost of the optimizer's update of a (784, 256) kernel (the MLP's first
  layer) right after a forward product x @ W computed on 1 or on 2 BLAS threads. With 2,
  the second core has read W too, and the update, a single-threaded NumPy pass that writes
  W, first has to take every cache line of W back from it. "again" is the same update run
  a second time, with W already in this core's cache.
- `--python-threads`: the most that glassnet could gain from running its own Python
  threads. Two independent models, each training on the same batches (the half batch a
  2-way data-parallel step would give each thread), first one after the other, then at
  once in two threads, with BLAS held at one thread. Nothing is shared and nothing is
  synchronised, so no threaded design can scale better than this. NumPy releases the GIL
  inside its kernels, but a step's Python and its many small array calls hold it: where the
  two loops at once take as long as one after the other, the GIL is the limit.

Timings only on a quiet machine; no test asserts on them (tests/test_benchmarks.py runs
both parts on tiny sizes).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NETWORKS = ("mlp", "cnn", "lstm")
BATCHES = {"mlp": 32, "cnn": 64, "lstm": 64}


# ----- one epoch in a fresh process --------------------------------------------------------
def epoch_seconds(framework: str, network: str, threads: int, batch: int, samples: int,
                  repeats: int) -> float:
    """Seconds of the fastest of `repeats` epochs, measured in a new Python process whose
    BLAS (and torch) use `threads` threads."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    args = [sys.executable, str(Path(__file__).resolve()), "--probe", framework, network,
            str(threads), str(batch), str(samples), str(repeats)]
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"{framework} {network}: {done.stderr.strip()[-500:]}")
    return float(done.stdout.split()[-1])


def probe(framework: str, network: str, threads: int, batch: int, samples: int,
          repeats: int) -> float:
    """Inside the fresh process: build the trainer as run.py does, warm up, time epochs."""
    import gc

    import numpy as np

    sys.path.insert(0, str(HERE))
    import _peers

    if framework == "torch":
        import torch

        torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((samples, *_peers.input_shape(network)), dtype=np.float32)
    y = rng.integers(0, _peers.CLASSES, size=samples)
    trainer = _peers.make_trainer(framework, network, "sgd", batch, 0)
    data = trainer.prepare(x, y)
    warm = min(samples, 4 * batch)
    trainer.epoch(trainer.prepare(x[:warm], y[:warm]))
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        trainer.epoch(data)
        best = min(best, time.perf_counter() - start)
    return best


def epochs_table(networks, rounds: int, scale: float, repeats: int) -> list[dict]:
    rows = []
    for network in networks:
        samples = max(8, round((60_000 if network == "mlp" else 10_000) * scale))
        batch = BATCHES[network]
        times: dict[tuple[str, int], list[float]] = {}
        for _ in range(rounds):
            for framework in ("glassnet", "torch"):
                for threads in (1, 2):
                    times.setdefault((framework, threads), []).append(
                        epoch_seconds(framework, network, threads, batch, samples, repeats))
        best = {key: min(values) for key, values in times.items()}
        rows.append({
            "network": network, "batch": batch, "samples": samples,
            **{f"{fw}_{t}t": best[(fw, t)] for fw in ("glassnet", "torch") for t in (1, 2)},
            "spread": {f"{fw}_{t}t": [min(v), statistics.median(v), max(v)]
                       for (fw, t), v in times.items()},
        })
    return rows


def print_epochs(rows: list[dict]) -> None:
    print("epoch seconds, minimum over rounds (each in a fresh process)")
    print(f"{'network':8} {'glassnet 1t':>12} {'2t':>8} {'speed-up':>9} {'torch 1t':>9} "
          f"{'2t':>8} {'speed-up':>9} {'ratio 1t':>9} {'ratio 2t':>9}")
    for r in rows:
        g1, g2, t1, t2 = r["glassnet_1t"], r["glassnet_2t"], r["torch_1t"], r["torch_2t"]
        print(f"{r['network']:8} {g1:12.4f} {g2:8.4f} {g1 / g2:9.2f} {t1:9.4f} {t2:8.4f} "
              f"{t1 / t2:9.2f} {g1 / t1:9.2f} {g2 / t2:9.2f}")


# ----- the update after a product on 1 or 2 threads ----------------------------------------
def update_after_product(batch: int, calls: int) -> dict[str, dict[str, float]]:
    """Microseconds of forward product, weight-gradient product, the finiteness check
    (vdot) and two SGD updates of W, with the products on 1 or 2 BLAS threads."""
    import numpy as np
    from threadpoolctl import ThreadpoolController

    blas = ThreadpoolController().select(internal_api="openblas").lib_controllers
    if not blas:
        raise SystemExit("--update: NumPy's BLAS is not OpenBLAS here; nothing to compare")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 784), dtype=np.float32)
    dz = rng.standard_normal((batch, 256), dtype=np.float32)
    W = rng.standard_normal((784, 256), dtype=np.float32) * np.float32(0.01)
    g, step, z = np.empty_like(W), np.empty_like(W), np.empty((batch, 256), np.float32)
    rate = np.float32(1e-6)

    def update():                                    # SGD's update_step: two passes
        np.multiply(g, rate, out=step)
        W.__isub__(step)

    results = {}
    for threads in (1, 2):
        for controller in blas:
            controller.set_num_threads(threads)
        totals = np.zeros(5)
        for _ in range(calls):
            t0 = time.perf_counter()
            np.matmul(x, W, out=z)                  # forward: both cores read W
            t1 = time.perf_counter()
            np.matmul(x.T, dz, out=g)               # dL/dW
            t2 = time.perf_counter()
            np.vdot(g, g)                           # the step's finiteness check
            t3 = time.perf_counter()
            update()                                # W's lines come back from the other core
            t4 = time.perf_counter()
            update()                                # again: W is in this core's cache now
            t5 = time.perf_counter()
            totals += (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)
        results[f"{threads} thread(s)"] = dict(zip(
            ("forward", "weight_gradient", "vdot", "update", "update_again"),
            (float(v) for v in totals / calls * 1e6)))
    return results


def print_update(batch: int, results: dict) -> None:
    print(f"(784, 256) kernel, batch {batch}: microseconds per call")
    print(f"{'products on':14} {'forward':>8} {'dL/dW':>8} {'vdot':>6} {'update':>8} "
          f"{'again':>7}")
    for name, r in results.items():
        print(f"{name:14} {r['forward']:8.0f} {r['weight_gradient']:8.0f} {r['vdot']:6.0f} "
              f"{r['update']:8.0f} {r['update_again']:7.0f}")


# ----- two training loops in two Python threads --------------------------------------------
def python_threads(network: str, batch: int, steps: int, rounds: int) -> dict[str, float]:
    """Seconds for `steps` training steps of two models one after the other, and at once
    in two Python threads (BLAS at one thread); the best of `rounds`."""
    import threading

    import numpy as np
    from threadpoolctl import threadpool_limits

    import glassnet as gn

    sys.path.insert(0, str(HERE))
    import _peers

    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch * steps, *_peers.input_shape(network)), dtype=np.float32)
    y = rng.integers(0, _peers.CLASSES, size=batch * steps)
    models = []
    for seed in (0, 1):
        gn.random.set_random_seed(seed)
        model = _peers.glassnet_network(network)
        model.compile(optimizer=gn.optimizers.SGD(learning_rate=0.01),
                      loss="sparse_categorical_crossentropy")
        models.append(model)

    def train(model):
        model.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0)

    sequential = concurrent = float("inf")
    with threadpool_limits(1):
        for model in models:                        # warm-up: build, buffers, caches
            train(model)
        for _ in range(rounds):
            start = time.perf_counter()
            train(models[0])
            train(models[1])
            sequential = min(sequential, time.perf_counter() - start)
            other = threading.Thread(target=train, args=(models[1],))
            start = time.perf_counter()
            other.start()
            train(models[0])
            other.join()
            concurrent = min(concurrent, time.perf_counter() - start)
    return {"sequential": sequential, "concurrent": concurrent,
            "speed_up": sequential / concurrent}


def print_python_threads(rows: dict[str, dict]) -> None:
    print("two models, BLAS at 1 thread: one after the other vs in two Python threads")
    print(f"{'network':8} {'batch':>6} {'one after other':>16} {'at once':>8} {'speed-up':>9}")
    for network, r in rows.items():
        print(f"{network:8} {r['batch']:6d} {r['sequential']:16.4f} {r['concurrent']:8.4f} "
              f"{r['speed_up']:9.2f}")


# ----- command line ------------------------------------------------------------------------
def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", action="store_true", help="only the epoch table")
    parser.add_argument("--update", action="store_true", help="only the update measurement")
    parser.add_argument("--python-threads", action="store_true",
                        help="only the two-models-in-two-threads measurement")
    parser.add_argument("--steps", type=int, default=60, help="steps of --python-threads")
    parser.add_argument("--only", help="comma-separated networks: mlp, cnn, lstm")
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per cell")
    parser.add_argument("--repeats", type=int, default=3, help="epochs timed in each process")
    parser.add_argument("--scale", type=float, default=0.1,
                        help="fraction of run.py's sample counts (default 0.1, as --quick)")
    parser.add_argument("--batch", type=int, default=32, help="batch of --update")
    parser.add_argument("--calls", type=int, default=300, help="calls timed by --update")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--probe", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    networks = tuple(args.only.split(",")) if args.only else NETWORKS
    unknown = [n for n in networks if n not in NETWORKS]
    if unknown:
        parser.error(f"--only: unknown networks {unknown}; expected some of {list(NETWORKS)}")
    if min(args.rounds, args.repeats, args.batch, args.calls, args.steps) < 1 or args.scale <= 0:
        parser.error("--rounds, --repeats, --batch, --calls and --steps must be >= 1, "
                     "--scale > 0")
    args.networks = networks
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.probe:
        framework, network, threads, batch, samples, repeats = args.probe
        print(probe(framework, network, int(threads), int(batch), int(samples), int(repeats)))
        return 0
    every = not (args.epochs or args.update or args.python_threads)
    payload = {}
    if args.epochs or every:
        payload["epochs"] = epochs_table(args.networks, args.rounds, args.scale, args.repeats)
        print_epochs(payload["epochs"])
    if args.update or every:
        payload["update"] = update_after_product(args.batch, args.calls)
        print_update(args.batch, payload["update"])
    if args.python_threads or every:
        # each thread gets the half batch that a 2-way split of run.py's batch gives it
        payload["python_threads"] = {
            network: {"batch": max(1, BATCHES[network] // 2),
                      **python_threads(network, max(1, BATCHES[network] // 2), args.steps,
                                       args.rounds)}
            for network in args.networks}
        print_python_threads(payload["python_threads"])
    if args.json:                                   # atomically: never half a file
        partial = Path(f"{args.json}.partial")
        partial.write_text(json.dumps(payload, indent=2))
        os.replace(partial, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Data-parallel training: 1 against 2 MPI processes, glassnet beside PyTorch DDP (issue 13).

    python benchmarks/distributed.py                  # MLP and CNN, 1 and 2 ranks, 3 rounds
    python benchmarks/distributed.py --quick          # a fifth of the samples, 2 rounds
    python benchmarks/distributed.py --only mlp --rounds 5 --json results.json
    python benchmarks/distributed.py --bucket-mb 0.1  # glassnet with gradient buckets

What is measured, per network (the MNIST MLP 784-256-128-10 at batch 128 and the CNN of
benchmarks/run.py at batch 64, random MNIST-shaped float32 data, SGD(0.01)):
- the time of one epoch (`fit(x, y, epochs=1, shuffle=False)`) on 1 and on 2 ranks started
  by `mpiexec -n P`, the global batch the same (each of 2 ranks steps on half of it);
- the same network in PyTorch DistributedDataParallel (gloo backend, CPU), the same ranks,
  batches and shards, launched by the same mpiexec;
- glassnet's all-reduce time per step (inside `Allreduce`, and with `--bucket-mb` inside
  the buckets' `Iallreduce`, `Testall` and `Waitall`; waiting for the slower rank included)
  and the bytes it reduces;
- scaling efficiency T1 / (P · TP): 100% when 2 ranks take half the time of one.
Every rank runs on one BLAS thread (OMP/OPENBLAS/MKL_NUM_THREADS=1, torch.set_num_threads(1)),
so P ranks use P cores. Each (framework, network, ranks) runs once a round, in an order
rotated from round to round, after a warm-up of a few batches in the same process; the
table gives the median over rounds (and the best, less sensitive to a busy machine).

`--bound` measures instead, in this one process, what a rank computes: one epoch at 1 rank
against one epoch of rank 0's shards in a world of 2 whose all-reduce is free (a stand-in
communicator), so T1 / (2 T_shard) is the efficiency 2 idle cores would reach before any
communication; it is far less sensitive to a busy machine than the timings of real ranks.

Afterwards, the cost model of docs/distributed.md from the measured one-rank step time:
ring all-reduce of n bytes over P ranks, t = 2(P-1) (α + n / (P β)), against the step's
compute, at 8, 64 and 256 ranks on 10 and 100 Gb/s links, for the MLP and a model of 10M
parameters (compute scaled by the parameter count, the per-rank batch kept).
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"  # one BLAS thread per rank, before NumPy loads its BLAS

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "src")]   # this checkout's glassnet
import _peers  # noqa: E402

NETWORKS = {"mlp": {"batch": 128, "samples": 60000}, "cnn": {"batch": 64, "samples": 10000}}
FRAMEWORKS = ("glassnet", "torch-ddp")
WARMUP_BATCHES = 8
LINKS = {"10 Gb/s": (10e9 / 8, 20e-6), "100 Gb/s": (100e9 / 8, 2e-6)}   # (bytes/s, α)
RANKS = (8, 64, 256)


# ----- the workers (one process per rank, under mpiexec) ------------------------------------
def make_data(network: str, samples: int) -> tuple[np.ndarray, np.ndarray]:
    """The same data on every rank (one seed): each takes its rows of every batch."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((samples,) + _peers.input_shape(network)).astype(np.float32)
    return x, rng.integers(0, _peers.CLASSES, samples).astype(np.int64)


def glassnet_worker(args) -> dict:
    import glassnet as gn

    gn.distribution.set_distribution(gn.distribution.DataParallel(bucket_cap_mb=args.bucket_mb))
    comm = gn.distribution.distribution().communicator
    trainer = _peers.GlassnetTrainer(args.network, "sgd", args.batch)
    x, y = make_data(args.network, args.samples)
    trainer.epoch((x[:WARMUP_BATCHES * args.batch], y[:WARMUP_BATCHES * args.batch]))
    comm.allreduce_sum(np.zeros(1))                       # start together
    seconds, nbytes = comm.reduce_seconds, comm.reduce_bytes
    start = time.perf_counter()
    trainer.epoch((x, y))
    elapsed = time.perf_counter() - start
    steps = -(-args.samples // args.batch)
    reduced = comm.reduce_seconds - seconds, comm.reduce_bytes - nbytes
    elapsed = comm.allreduce_sum(np.array([elapsed]))[0] / comm.size
    return {"epoch_seconds": elapsed, "steps": steps,
            "reduce_ms_per_step": 1e3 * reduced[0] / steps,
            "reduce_bytes_per_step": reduced[1] / steps}


def torch_worker(args) -> dict:
    import torch
    import torch.distributed as dist

    from glassnet.distribution import shard_bounds

    torch.set_num_threads(1)
    rank, size = int(os.environ.get("PMI_RANK", 0)), int(os.environ.get("PMI_SIZE", 1))
    dist.init_process_group("gloo", init_method=f"file://{args.rendezvous}", rank=rank,
                            world_size=size)
    torch.manual_seed(0)
    model = torch.nn.parallel.DistributedDataParallel(_peers.torch_network(args.network))
    optimizer = torch.optim.SGD(model.parameters(), lr=_peers.LEARNING_RATES["sgd"])
    loss_fn = torch.nn.CrossEntropyLoss()
    x, y = make_data(args.network, args.samples)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    if args.network == "cnn":
        xt = xt.permute(0, 3, 1, 2).contiguous()

    def epoch(count: int) -> None:
        for part in _peers.batch_slices(count, args.batch):
            first, last = shard_bounds(part.stop - part.start, rank, size)
            rows = slice(part.start + first, part.start + last)
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(xt[rows]), yt[rows]).backward()    # DDP averages over the ranks
            optimizer.step()

    epoch(WARMUP_BATCHES * args.batch)
    dist.barrier()
    start = time.perf_counter()
    epoch(len(xt))
    elapsed = torch.tensor([time.perf_counter() - start])
    dist.all_reduce(elapsed)
    dist.destroy_process_group()
    return {"epoch_seconds": float(elapsed[0]) / size}


def bound(networks: list[str], rounds: int, scale: float, bucket_mb: float | None = None) -> dict:
    """{network: {"one_rank_s", "shard_s", "efficiency"}}: best of `rounds` epochs each."""
    import glassnet as gn
    from glassnet.distribution import Distribution, SingleProcess

    class FreeAllReduce(SingleProcess):
        """Rank 0 of 2 whose collectives cost nothing (and change nothing)."""

        size = 2

        def allreduce_sum(self, buffer):
            self.reduce_calls += 1
            return buffer

    results = {}
    for network in networks:
        batch = NETWORKS[network]["batch"]
        x, y = make_data(network, max(int(NETWORKS[network]["samples"] * scale), 64 * batch))
        times = {}
        shards = Distribution(FreeAllReduce())
        shards.bucket_bytes = None if bucket_mb is None else int(bucket_mb * 2**20)
        for name, setting in (("one_rank_s", None), ("shard_s", shards)):
            gn.distribution.set_distribution(setting)
            trainer = _peers.GlassnetTrainer(network, "sgd", batch)
            trainer.epoch((x[:WARMUP_BATCHES * batch], y[:WARMUP_BATCHES * batch]))
            runs = []
            for _ in range(rounds):
                start = time.perf_counter()
                trainer.epoch((x, y))
                runs.append(time.perf_counter() - start)
            times[name] = min(runs)
        gn.distribution.set_distribution(None)
        times["efficiency"] = times["one_rank_s"] / (2 * times["shard_s"])
        results[network] = times
        print(f"  {network}: 1 rank {times['one_rank_s']:.3f} s/epoch, rank 0's shards of 2 "
              f"{times['shard_s']:.3f} s -> compute efficiency "
              f"{100 * times['efficiency']:.0f}%", flush=True)
    return results


def worker_main(args) -> None:
    result = (glassnet_worker if args.worker == "glassnet" else torch_worker)(args)
    if int(os.environ.get("PMI_RANK", 0)) == 0:
        Path(args.out).write_text(json.dumps(result))


# ----- the launcher --------------------------------------------------------------------------
def launch(framework: str, network: str, ranks: int, samples: int, folder: Path,
           bucket_mb: float | None = None) -> dict:
    out = folder / f"{framework}-{network}-{ranks}.json"
    rendezvous = folder / f"rendezvous-{time.monotonic_ns()}"
    command = [_peers.mpiexec(), "-n", str(ranks), sys.executable,
               str(Path(__file__).resolve()),
               "--worker", "glassnet" if framework == "glassnet" else "torch",
               "--network", network, "--batch", str(NETWORKS[network]["batch"]),
               "--samples", str(samples), "--out", str(out), "--rendezvous", str(rendezvous)]
    if bucket_mb is not None and framework == "glassnet":
        command += ["--bucket-mb", str(bucket_mb)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(HERE.parent / "src"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{framework} {network} on {ranks} ranks failed:\n{done.stderr}")
    return json.loads(out.read_text())


def measure(networks: list[str], rounds: int, scale: float,
            bucket_mb: float | None = None) -> dict:
    """{network: {framework: {ranks: [result per round]}}}, rounds interleaved."""
    runs = [(f, n, p) for n in networks for f in FRAMEWORKS for p in (1, 2)]
    results: dict = {n: {f: {1: [], 2: []} for f in FRAMEWORKS} for n in networks}
    with tempfile.TemporaryDirectory() as folder:
        for round_index in range(rounds):
            shift = round_index % len(runs)
            for framework, network, ranks in runs[shift:] + runs[:shift]:
                samples = max(int(NETWORKS[network]["samples"] * scale),
                              4 * WARMUP_BATCHES * NETWORKS[network]["batch"])
                result = launch(framework, network, ranks, samples, Path(folder), bucket_mb)
                result["samples"] = samples
                results[network][framework][ranks].append(result)
                print(f"  round {round_index + 1}: {framework:9} {network} {ranks} rank(s): "
                      f"{result['epoch_seconds']:.3f} s/epoch", flush=True)
    return results


def summary(results: dict) -> dict:
    rows = {}
    for network, sides in results.items():
        for framework, by_ranks in sides.items():
            one = [r["epoch_seconds"] for r in by_ranks[1]]
            two = [r["epoch_seconds"] for r in by_ranks[2]]
            row = {"one_rank_s": statistics.median(one), "two_ranks_s": statistics.median(two),
                   "one_rank_best_s": min(one), "two_ranks_best_s": min(two)}
            row["efficiency"] = row["one_rank_s"] / (2 * row["two_ranks_s"])
            row["efficiency_best"] = row["one_rank_best_s"] / (2 * row["two_ranks_best_s"])
            if framework == "glassnet":
                row["reduce_ms_per_step"] = statistics.median(
                    r["reduce_ms_per_step"] for r in by_ranks[2])
                row["reduce_bytes_per_step"] = by_ranks[2][0]["reduce_bytes_per_step"]
                row["step_ms_one_rank"] = 1e3 * row["one_rank_s"] / by_ranks[1][0]["steps"]
                row["steps"] = by_ranks[1][0]["steps"]
            rows[f"{network} {framework}"] = row
    return rows


def table(rows: dict) -> str:
    lines = ["| network, side | 1 rank s/epoch | 2 ranks s/epoch | efficiency (best) | "
             "all-reduce ms/step |", "|---|---|---|---|---|"]
    for name, row in rows.items():
        reduce = (f"{row['reduce_ms_per_step']:.3f} ({row['reduce_bytes_per_step'] / 1e6:.2f} MB)"
                  if "reduce_ms_per_step" in row else "-")
        lines.append(f"| {name} | {row['one_rank_s']:.2f} | {row['two_ranks_s']:.2f} | "
                     f"{100 * row['efficiency']:.0f}% ({100 * row['efficiency_best']:.0f}%) | "
                     f"{reduce} |")
    return "\n".join(lines)


def cost_model(step_seconds: float, parameters: int) -> str:
    """Expected efficiency t_c / (t_c + t_ring) with t_ring = 2(P-1)(α + n/(P β))."""
    models = {"MNIST MLP": (parameters, step_seconds),
              "10M-parameter model": (10_000_000, step_seconds * 10_000_000 / parameters)}
    lines = [f"per-rank step compute: MLP {1e3 * step_seconds:.2f} ms (measured, 1 rank), "
             f"10M model {1e3 * models['10M-parameter model'][1]:.1f} ms (scaled by "
             "parameters); float32 gradients", "",
             "| model | link | " + " | ".join(f"P={p}" for p in RANKS) + " |",
             "|---|---|" + "---|" * len(RANKS)]
    for name, (count, compute) in models.items():
        nbytes = 4 * count
        for link, (bandwidth, latency) in LINKS.items():
            cells = []
            for ranks in RANKS:
                ring = 2 * (ranks - 1) * (latency + nbytes / (ranks * bandwidth))
                cells.append(f"{100 * compute / (compute + ring):.0f}% "
                             f"({1e3 * ring:.1f} ms)")
            lines.append(f"| {name} | {link} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a fifth of the samples, 2 rounds")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the sample counts")
    parser.add_argument("--only", default="mlp,cnn", help="networks: mlp, cnn or both")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--bound", action="store_true",
                        help="in-process: the efficiency of the computation alone")
    parser.add_argument("--bucket-mb", type=float, default=None,
                        help="glassnet: gradient buckets of this many MiB (default: one "
                             "all-reduce after backward)")
    parser.add_argument("--worker", choices=("glassnet", "torch"), help=argparse.SUPPRESS)
    parser.add_argument("--network", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--samples", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--rendezvous", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        worker_main(args)
        return 0
    networks = [n for n in args.only.split(",") if n]
    unknown = set(networks) - set(NETWORKS)
    if unknown:
        print(f"--only: unknown networks {sorted(unknown)}; choose from mlp, cnn",
              file=sys.stderr)
        return 2
    rounds, scale = (2, args.scale / 5) if args.quick else (args.rounds, args.scale)
    if args.bound:
        report = bound(networks, rounds, scale, args.bucket_mb)
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2))
        return 0
    buckets = ("one all-reduce after backward" if args.bucket_mb is None
               else f"gradient buckets of {args.bucket_mb:g} MiB")
    print(f"{rounds} rounds, {', '.join(networks)}; one BLAS thread per rank; "
          f"{os.cpu_count()} cores; glassnet: {buckets}", flush=True)
    rows = summary(measure(networks, rounds, scale, args.bucket_mb))
    print()
    print(table(rows))
    report = {"rows": rows, "rounds": rounds, "scale": scale, "cores": os.cpu_count(),
              "bucket_mb": args.bucket_mb}
    if "mlp glassnet" in rows:
        parameters = sum(int(np.prod(s)) for s in ((784, 256), (256,), (256, 128), (128,),
                                                   (128, 10), (10,)))
        model = cost_model(rows["mlp glassnet"]["step_ms_one_rank"] / 1e3, parameters)
        print()
        print(model)
        report["cost_model"] = model
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`glassnet demo [NAME]`: run one seed demo, or the whole tour with its report.html.

`--ranks N` runs it data-parallel on N processes (`mpiexec -n N glassnet demo NAME`, which
works as well): rank 0 prints and writes the files.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys


def add_parser(subparsers) -> argparse.ArgumentParser:
    from glassnet.demos import DEMOS

    parser = subparsers.add_parser(
        "demo", help="reproduce the seed posts' examples (figures, model, metrics.json)",
        description="Run one demo, or with no NAME the tour of all demos that can run here "
                    "(writing report.html). Demos: " + ", ".join(DEMOS) + ".")
    parser.add_argument("name", nargs="?", choices=list(DEMOS), metavar="NAME",
                        help="one of: " + ", ".join(DEMOS) + " (default: the tour)")
    parser.add_argument("--out", default="demo-out", help="output folder (default demo-out)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--epochs", type=_positive_int, default=None,
                        help="epochs (iterations) instead of each demo's default")
    parser.add_argument("--data-dir", default=None,
                        help="folder with semeion.data, mnist/, fashion-mnist/ "
                             "(default: $GLASSNET_DATA, then the user cache, then download)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--ranks", type=_positive_int, default=1,
                        help="train on N MPI processes (needs mpi4py and mpiexec: "
                             'pip install "glassnet[mpi]")')
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _launch(args: argparse.Namespace) -> int:
    """The same command under `mpiexec -n RANKS`, without --ranks."""
    local = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    mpiexec = local if os.path.exists(local) else shutil.which("mpiexec")
    if mpiexec is None:
        print('glassnet demo: --ranks needs mpiexec; pip install "glassnet[mpi]"',
              file=sys.stderr)
        return 2
    command = [mpiexec, "-n", str(args.ranks), sys.executable, "-m", "glassnet", "demo"]
    command += [] if args.name is None else [args.name]
    command += ["--out", args.out, "--seed", str(args.seed)]
    command += [] if args.epochs is None else ["--epochs", str(args.epochs)]
    command += [] if args.data_dir is None else ["--data-dir", args.data_dir]
    command += ["--quiet"] if args.quiet else []
    return subprocess.run(command, check=False).returncode


def run(args: argparse.Namespace) -> int:
    if args.ranks > 1:
        return _launch(args)
    from glassnet import distribution
    from glassnet.demos import run_demo, run_tour

    if distribution.distribution() is None and distribution.launched_ranks() > 1:
        distribution.set_distribution(distribution.DataParallel())   # under mpiexec
    verbose = 0 if args.quiet else 2
    if args.name is None:
        results = run_tour(args.out, seed=args.seed, epochs=args.epochs,
                           data_dir=args.data_dir, verbose=verbose)
        ran = [r for r in results if r.error is None]
        print(f"ran {len(ran)} of {len(results)} demos; see {args.out}/report.html")
        return 0
    run_demo(args.name, args.out, seed=args.seed, epochs=args.epochs, data_dir=args.data_dir,
             verbose=verbose)
    return 0

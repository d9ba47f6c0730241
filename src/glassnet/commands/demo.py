"""`glassnet demo [NAME]`: run one seed demo, or the whole tour with its report.html."""

from __future__ import annotations

import argparse


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
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def run(args: argparse.Namespace) -> int:
    from glassnet.demos import run_demo, run_tour

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

"""`glassnet demo NAME`: the seed posts' systems, reproduced end to end.

Each demo writes its figures (PNG), its trained model (.glassnet) and a metrics.json into its
output folder. `glassnet demo` with no name runs the tour of all demos whose data can be had
and writes report.html, one self-contained page with every figure, metric and command.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from glassnet.datasets import DatasetError
from glassnet.demos import bmi, cnn, digits, mnist, regression, sequence, tiny
from glassnet.demos._common import DemoContext
from glassnet.demos.report import write_report


@dataclass(frozen=True)
class Demo:
    name: str
    title: str
    run: Callable[[DemoContext], dict]
    needs: str | None = None   # data it reads, for the "cannot run here" line


DEMOS = {demo.name: demo for demo in (
    Demo("tiny", tiny.TITLE, tiny.run),
    Demo("regression", regression.TITLE, regression.run),
    Demo("bmi", bmi.TITLE, bmi.run),
    Demo("digits", digits.TITLE, digits.run, needs="semeion.data"),
    Demo("mnist", "mnist: an MLP on MNIST", mnist.run_mnist, needs="mnist/*.gz"),
    Demo("fashion", "fashion: an MLP on Fashion-MNIST", mnist.run_fashion,
         needs="fashion-mnist/*.gz"),
    Demo("mnist-cnn", cnn.TITLE, cnn.run, needs="mnist/*.gz"),
    Demo("sequence", sequence.TITLE, sequence.run, needs="mnist/*.gz"),
)}


@dataclass
class DemoResult:
    name: str
    title: str
    metrics: dict | None
    figures: list[Path]
    command: str
    seconds: float
    error: str | None = None


def run_demo(name: str, out, seed: int = 0, epochs: int | None = None, data_dir=None,
             verbose: int = 1, echo=print) -> DemoResult:
    """Run one demo into the folder `out`; return its metrics and figures."""
    if name not in DEMOS:
        raise ValueError(f"unknown demo {name!r}; valid names: {', '.join(DEMOS)}")
    demo = DEMOS[name]
    ctx = DemoContext(name, Path(out), seed=seed, epochs=epochs, data_dir=data_dir,
                      verbose=verbose, echo=echo)
    echo(f"== {demo.title}")
    start = time.perf_counter()
    metrics = demo.run(ctx)
    seconds = time.perf_counter() - start
    ctx.write_metrics({**metrics, "seconds": round(seconds, 2)})
    return DemoResult(name, demo.title, metrics, ctx.figures, ctx.command(), seconds)


def run_tour(out, seed: int = 0, epochs: int | None = None, data_dir=None, verbose: int = 1,
             echo=print, names=None) -> list[DemoResult]:
    """Every demo (or `names`) into out/NAME/; a demo whose data is missing says so in one
    line and the tour goes on. Writes out/report.html."""
    out = Path(out)
    results = []
    for name in names or DEMOS:
        try:
            results.append(run_demo(name, out / name, seed, epochs, data_dir, verbose, echo))
        except DatasetError as error:
            # One line that also says where to get the file and where to put it.
            echo(f"{name}: skipped, its data cannot be had here: {' '.join(str(error).split())}")
            with contextlib.suppress(OSError):
                (out / name).rmdir()  # only if the demo left nothing in it
            results.append(DemoResult(name, DEMOS[name].title, None, [], "", 0.0,
                                      error=str(error)))
    report = write_report(results, out / "report.html")
    echo(f"report: {report}")
    return results

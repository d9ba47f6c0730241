"""What every demo shares: an output folder, a console, figures, the model file, metrics.json.

Under data parallelism (`glassnet demo NAME --ranks N`) every rank trains, rank 0 alone
prints and writes: the other ranks' `echo`, `figure`, `save_model`, `write_metrics` do nothing.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glassnet import distribution, plot
from glassnet.io import atomic_write


@dataclass
class DemoContext:
    """Where a demo writes, and how it was asked to run (seed, epochs, data folder)."""

    name: str
    out: Path
    seed: int = 0
    epochs: int | None = None
    data_dir: str | None = None
    verbose: int = 1
    echo: Callable[[str], None] = print
    figures: list[Path] = field(default_factory=list)

    def __post_init__(self):
        self.out = Path(self.out)
        self.chief = distribution.is_chief()
        if not self.chief:
            self.echo = _silent
            return
        self.out.mkdir(parents=True, exist_ok=True)

    def epochs_or(self, default: int) -> int:
        return default if self.epochs is None else self.epochs

    def figure(self, figure, filename: str) -> Path:
        """Save a matplotlib Figure as a PNG in the output folder."""
        if not self.chief:
            return self.out / filename
        path = plot.save(figure, self.out / filename)
        self.figures.append(path)
        return path

    def save_model(self, model, filename: str = "model.glassnet") -> Path:
        path = self.out / filename
        if self.chief:
            model.save(path)
        return path

    def command(self) -> str:
        """The command line that reproduces this run."""
        parts = ["glassnet", "demo", self.name, "--out", str(self.out), "--seed", str(self.seed)]
        if self.epochs is not None:
            parts += ["--epochs", str(self.epochs)]
        if self.data_dir is not None:
            parts += ["--data-dir", str(self.data_dir)]
        return shlex.join(parts)

    def write_metrics(self, metrics: dict[str, Any]) -> Path:
        path = self.out / "metrics.json"
        if not self.chief:
            return path
        record = {"demo": self.name, "command": self.command(), "seed": self.seed, **metrics}
        with atomic_write(path, mode="w") as file:
            json.dump(record, file, indent=2, sort_keys=False)
            file.write("\n")
        return path


def _silent(text: str) -> None:
    """The echo of ranks other than 0."""

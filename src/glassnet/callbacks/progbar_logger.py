"""ProgbarLogger: a tqdm bar per epoch (tqdm imported when one is first shown), or a line."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from glassnet import checks
from glassnet.callbacks.base import Callback, Logs
from glassnet.registry import register


def _format_value(value: Any) -> str:
    """Keras' progress-bar format: 4 decimals, or scientific notation below 1e-3."""
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"
    return str(value)


def _format_logs(logs: Logs | None) -> str:
    """'loss: 0.1234 - accuracy: 0.9500 - val_loss: ...'"""
    return " - ".join(f"{name}: {_format_value(value)}" for name, value in (logs or {}).items())


@register("callback")
class ProgbarLogger(Callback):
    """Prints progress: a tqdm bar per epoch (verbose=1) or one line per epoch (verbose=2).

    verbose=1:  Epoch 3/10:  40%|████      | 40/100 [00:01<00:01, ..., loss: 0.1234 - ...]
    verbose=2:  Epoch 3/10 - 0.12s - loss: 0.1234 - accuracy: 0.9500 - val_loss: 0.2345
    verbose=0:  nothing.

    Validation inside `fit` is silent; `evaluate` and `predict` get their own bar.

    Args:
        count_mode: "steps" (the bar counts batches). Keras 2's "samples" is not supported.
        file: where to write; None means `sys.stdout` at the time of writing.
        mininterval: seconds between two redraws of the bar; batches in between only
            store their logs, which keeps a bar cheap next to a fast training step.
    """

    def __init__(self, count_mode: str = "steps", file: TextIO | None = None,
                 mininterval: float = 0.1):
        super().__init__()
        checks.one_of("ProgbarLogger: count_mode", count_mode, ("steps",))
        self.file = file
        self.mininterval = mininterval
        self.verbose = 1
        self.epochs = 1
        self.steps: int | None = None
        self._bar: Any = None  # a tqdm bar while one is shown
        self._title = ""
        self._start = 0.0
        self._seen = 0
        self._last_postfix = 0.0
        self._in_fit = False

    def set_params(self, params):
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else int(verbose)
        self.epochs = params.get("epochs") or 1
        self.steps = params.get("steps")

    @property
    def _out(self) -> TextIO:
        return sys.stdout if self.file is None else self.file

    # --- hooks ---

    def on_train_begin(self, logs=None):
        self._in_fit = True  # validation runs inside fit are not shown

    def on_train_end(self, logs=None):
        self._close_bar()
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        self._begin(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self._advance(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._finish(logs)

    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._begin("Evaluate")

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._advance(batch, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self._finish(logs)

    def on_predict_begin(self, logs=None):
        self._begin("Predict")

    def on_predict_batch_end(self, batch, logs=None):
        self._advance(batch, None)  # prediction logs hold outputs, not numbers to show

    def on_predict_end(self, logs=None):
        self._finish(None)

    # --- drawing ---

    def _begin(self, title: str) -> None:
        self._close_bar()
        self._title = title
        self._start = time.perf_counter()
        self._seen = 0
        self._last_postfix = 0.0
        if self.verbose == 1:
            from tqdm import tqdm  # here: `import glassnet` does not load tqdm

            self._bar = tqdm(total=self.steps, desc=title, file=self._out, unit="step",
                             mininterval=self.mininterval, leave=True)

    def _advance(self, batch: int, logs: Logs | None) -> None:
        self._seen = batch + 1
        if self._bar is None:
            return
        now = time.perf_counter()
        if logs and now - self._last_postfix >= self.mininterval:
            self._bar.set_postfix_str(_format_logs(logs), refresh=False)
            self._last_postfix = now
        self._bar.update(self._seen - self._bar.n)  # tqdm redraws at most every mininterval

    def _finish(self, logs: Logs | None) -> None:
        if self.verbose == 1 and self._bar is not None:
            if self._bar.total is None:
                self._bar.total = self._seen  # the step count is known now
            self._bar.update(self._seen - self._bar.n)
            self._bar.set_postfix_str(_format_logs(logs), refresh=False)
            self._close_bar()  # close draws the final state
        elif self.verbose == 2:
            elapsed = time.perf_counter() - self._start
            parts = [self._title, f"{elapsed:.2f}s"] + ([_format_logs(logs)] if logs else [])
            print(" - ".join(parts), file=self._out, flush=True)

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


__all__ = ["ProgbarLogger"]

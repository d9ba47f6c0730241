"""A callback that stops fit as Ctrl-C would, at a chosen call of a chosen hook (the backup
and resume tests of callbacks/, saving/ and metrics/)."""

from __future__ import annotations

from glassnet import callbacks


class RaiseAt(callbacks.Callback):
    """Raises KeyboardInterrupt in `hook` the `count`-th time it runs (counted from this
    callback's creation); fit then writes its backup as after a real Ctrl-C."""

    def __init__(self, count: int, hook: str = "on_train_batch_end"):
        super().__init__()
        self.count, self.calls = count, 0
        setattr(self, hook, self._maybe_raise)

    def _maybe_raise(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.count:
            raise KeyboardInterrupt

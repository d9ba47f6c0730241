"""TensorBoard: the logs of `fit` as TensorBoard event files, in Keras 3's layout.

    log_dir/train/       epoch_<metric> at step = epoch (plus epoch_learning_rate),
                         batch_<metric> at step = the global batch with update_freq=N,
                         <layer>/<weight>/histogram every histogram_freq epochs,
                         the model's config as the text summary "keras" (write_graph)
    log_dir/validation/  epoch_<metric> of the val_ logs (the prefix dropped), and
                         evaluation_<metric>_vs_iterations at step = optimizer.iterations

The event files are written by tensorboardX (pure Python, the `tensorboard` extra:
`pip install "glassnet[tensorboard]"`), imported when the first file is opened; view them
with `tensorboard --logdir logs`.
"""

from __future__ import annotations

import json
import os
import time

import numpy as np

from glassnet.callbacks.base import Callback
from glassnet.registry import register


def _summary_writer_class():
    """tensorboardX.SummaryWriter, or an ImportError that names the extra to install."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError as error:
        raise ImportError("callbacks.TensorBoard writes its event files with tensorboardX; "
                          'install it with pip install "glassnet[tensorboard]" '
                          "(or pip install tensorboardX)") from error
    return SummaryWriter


@register("callback")
class TensorBoard(Callback):
    """Writes scalars, weight histograms and the model's config for TensorBoard.

    Args:
        log_dir: the folder of the run; "train" and "validation" are made inside it.
        histogram_freq: every how many epochs to write each weight's histogram (0: never).
        write_graph: write the model's config (JSON) as the text summary "keras". glassnet
            has no compiled graph to draw; TensorBoard shows the config under "Text".
        write_images: write each weight as an image too (with histogram_freq).
        write_steps_per_second: log the training speed (steps per second).
        update_freq: "epoch" (scalars once an epoch), "batch", or an integer N (the running
            logs every N batches as batch_<metric>, in addition to the epoch scalars).
        profile_batch: 0 only (there is no profiler to run).
        embeddings_freq, embeddings_metadata: 0 / None only (no embedding projector).

    Example:
        >>> model.fit(x, y, epochs=5, callbacks=[TensorBoard(log_dir="logs/run1")])
    """

    def __init__(self, log_dir: str | os.PathLike = "logs", histogram_freq: int = 0,
                 write_graph: bool = True, write_images: bool = False,
                 write_steps_per_second: bool = False, update_freq: str | int = "epoch",
                 profile_batch: int = 0, embeddings_freq: int = 0, embeddings_metadata=None):
        super().__init__()
        if update_freq not in ("epoch", "batch") and (
                isinstance(update_freq, bool) or not isinstance(update_freq, int)
                or update_freq < 1):
            raise ValueError(f"update_freq: expected 'epoch', 'batch' or an integer >= 1, "
                             f"got {update_freq!r}")
        if isinstance(histogram_freq, bool) or not isinstance(histogram_freq, int) \
                or histogram_freq < 0:
            raise ValueError(f"histogram_freq: expected an integer >= 0, got {histogram_freq!r}")
        if profile_batch:
            raise ValueError(f"profile_batch: glassnet has no profiler to run, expected 0, "
                             f"got {profile_batch!r}")
        if embeddings_freq or embeddings_metadata is not None:
            raise ValueError("embeddings_freq, embeddings_metadata: the embedding projector is "
                             f"not supported, expected 0 and None, got {embeddings_freq!r} "
                             f"and {embeddings_metadata!r}")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self._writers: dict = {}
        self._global_train_batch = 0
        self._in_fit = False
        self._epoch_start = self._batch_start = 0.0
        self._epoch_start_iterations = 0

    # ----- writers ----------------------------------------------------------------------
    def _writer(self, run: str):
        """The SummaryWriter of log_dir/<run> ("train" or "validation"), opened once."""
        if run not in self._writers:
            writer_class = _summary_writer_class()
            self._writers[run] = writer_class(logdir=os.path.join(self.log_dir, run))
        return self._writers[run]

    def _close_writers(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    # ----- hooks ------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        self._in_fit = True
        if self.write_graph and self.model is not None:
            try:
                config = {"class_name": type(self.model).__name__,
                          "config": self.model.get_config()}
            except NotImplementedError:   # a subclassed model without a config
                return
            self._writer("train").add_text("keras", json.dumps(config, default=str), 0)

    def on_train_end(self, logs=None):
        self._in_fit = False
        self._close_writers()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()
        self._epoch_start_iterations = self._iterations() or 0

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        self._batch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self.update_freq == "epoch" or self._global_train_batch % self.update_freq:
            return
        writer, step = self._writer("train"), self._global_train_batch
        if self.write_steps_per_second:
            seconds = max(time.perf_counter() - self._batch_start, 1e-12)
            writer.add_scalar("batch_steps_per_second", 1.0 / seconds, step)
        for name, value in (logs or {}).items():
            if np.ndim(value) == 0:
                writer.add_scalar(f"batch_{name}", float(value), step)

    def on_test_end(self, logs=None):
        iterations = self._iterations()
        if iterations is None or not logs:
            return
        writer = self._writer("validation")
        for name, value in logs.items():
            if np.ndim(value) == 0:
                writer.add_scalar(f"evaluation_{name}_vs_iterations", float(value), iterations)
        # evaluate has no later hook, and tensorboardX's flush leaves queued events
        # unwritten: close the file (a later write opens a new one in the same run). In
        # fit's validation the epoch's scalars follow: on_train_end closes it.
        if not self._in_fit:
            self._writers.pop("validation").close()

    def on_epoch_end(self, epoch, logs=None):
        self._log_epoch_scalars(epoch, dict(logs or {}))
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        for writer in self._writers.values():
            writer.flush()   # what the writer's thread has taken; all of it at on_train_end

    # ----- what is written --------------------------------------------------------------
    def _iterations(self) -> int | None:
        optimizer = getattr(self.model, "optimizer", None)
        return getattr(optimizer, "iterations", None)

    def _log_epoch_scalars(self, epoch: int, logs: dict) -> None:
        """epoch_<name> of the training logs to train/, of the val_ logs to validation/."""
        train = {name: value for name, value in logs.items() if not name.startswith("val_")}
        validation = {name[4:]: value for name, value in logs.items()
                      if name.startswith("val_")}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "learning_rate"):
            train.setdefault("learning_rate", float(optimizer.learning_rate))
        if self.write_steps_per_second:
            seconds = max(time.perf_counter() - self._epoch_start, 1e-12)
            steps = (self._iterations() or 0) - self._epoch_start_iterations
            train["steps_per_second"] = steps / seconds
        for run, values in (("train", train), ("validation", validation)):
            if values:
                writer = self._writer(run)
                for name, value in values.items():
                    if np.ndim(value) == 0:
                        writer.add_scalar(f"epoch_{name}", float(value), epoch)

    def _log_weights(self, epoch: int) -> None:
        """<weight path>/histogram (and /image) of every layer's weights, in train/."""
        writer = self._writer("train")
        for layer in getattr(self.model, "layers", []):
            for weight in layer.weights:
                name = (getattr(weight, "path", None) or weight.name).replace(":", "_")
                values = np.asarray(weight.value, dtype=np.float64)
                writer.add_histogram(f"{name}/histogram", values, epoch)
                image = _as_image(values) if self.write_images else None
                if image is not None:
                    writer.add_images(f"{name}/image", image, epoch, dataformats="NHWC")


def _as_image(values: np.ndarray) -> np.ndarray | None:
    """A weight as grey images (N, H, W, 1) in [0, 1] (min-max scaled, so that negative
    weights show): a vector as one row, a matrix with its longer side across (as Keras), a
    (H, W, C) kernel as C images; None for other shapes."""
    values = np.squeeze(values)
    if values.ndim == 1:
        values = values.reshape(1, 1, -1)
    elif values.ndim == 2:
        values = (values.T if values.shape[0] > values.shape[1] else values)[None]
    elif values.ndim == 3:
        values = np.transpose(values, (2, 0, 1))
    else:
        return None
    low, span = values.min(), np.ptp(values)
    return ((values - low) / span if span > 0 else np.zeros_like(values))[..., None]


__all__ = ["TensorBoard"]

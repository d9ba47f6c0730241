"""Small trainings run once on 1 process (in pytest) and once on 2 (`mpiexec -n 2 python
_scenarios.py OUT`), to be compared: the same data, seeds and calls on both sides.

Each scenario returns {name: array} (weights, history, evaluate/predict results); the MPI
run writes them per rank to OUT/<scenario>.rank<r>.npz. Sizes are chosen so that the last
batch is partial, some with a single sample (one rank then steps on a stand-in).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet import callbacks, layers, optimizers


@contextlib.contextmanager
def float64():
    previous = gn.config.floatx()
    gn.config.set_floatx("float64")
    try:
        yield
    finally:
        gn.config.set_floatx(previous)


def _weights(model) -> np.ndarray:
    return np.concatenate([p.value.ravel() for p in model.parameters()])


def _history(history) -> dict[str, np.ndarray]:
    return {f"history_{k}": np.asarray(v, dtype=np.float64) for k, v in history.history.items()}


def _data(n: int, shape: tuple, classes: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n,) + shape), rng.integers(0, classes, n)


def _mlp(dropout: float = 0.0) -> gn.Sequential:
    return gn.Sequential([layers.Input((6,)), layers.Dense(8, activation="tanh"),
                          layers.Dropout(dropout), layers.Dense(3, activation="softmax")])


# ----- scenarios --------------------------------------------------------------------------------
def mlp_sgd() -> dict[str, np.ndarray]:
    """SGD with momentum, shuffling, validation_split, class weights, Dropout; 102 samples:
    91 train (batches of 10, the last of 1) and 11 validation (the last batch of 1)."""
    gn.random.set_random_seed(1)
    x, y = _data(102, (6,), 3)
    model = _mlp(dropout=0.25)
    model.compile(optimizer=optimizers.SGD(0.1, momentum=0.9),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=10, epochs=3, verbose=0, shuffle=True,
                        validation_split=0.1, class_weight={0: 1.0, 1: 2.0, 2: 0.5})
    loss, accuracy = model.evaluate(x, y, batch_size=7, verbose=0)
    return {"weights": _weights(model), **_history(history),
            "evaluate": np.array([loss, accuracy]),
            "predict": model.predict(x[:13], batch_size=4, verbose=0)}


def cnn_adam() -> dict[str, np.ndarray]:
    """Conv2D, pooling, Adam, sample weights, one-hot targets; 30 samples in batches of 8."""
    gn.random.set_random_seed(2)
    x, labels = _data(30, (6, 6, 2), 4, seed=1)
    y = np.eye(4)[labels]
    weights = np.linspace(0.5, 1.5, 30)
    model = gn.Sequential([layers.Input((6, 6, 2)), layers.Conv2D(3, 3, activation="relu"),
                           layers.MaxPooling2D(), layers.Flatten(),
                           layers.Dense(4, activation="softmax")])
    model.compile(optimizer=optimizers.Adam(0.01), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, sample_weight=weights,
                        validation_data=(x[:9], y[:9]))
    return {"weights": _weights(model), **_history(history)}


def lstm() -> dict[str, np.ndarray]:
    """An LSTM over 5 steps, RMSprop, an L2 penalty; 25 sequences in batches of 7."""
    gn.random.set_random_seed(3)
    x, y = _data(25, (5, 3), 2, seed=2)
    model = gn.Sequential([layers.Input((5, 3)), layers.LSTM(4),
                           layers.Dense(2, activation="softmax", kernel_regularizer="l2")])
    model.compile(optimizer=optimizers.RMSprop(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, batch_size=7, epochs=2, verbose=0)
    return {"weights": _weights(model), **_history(history)}


def _bn_model(synchronized: bool) -> gn.Sequential:
    return gn.Sequential([layers.Input((6,)), layers.Dense(5),
                          layers.BatchNormalization(synchronized=synchronized),
                          layers.Dense(1)])


def bn_synchronized() -> dict[str, np.ndarray]:
    """BatchNormalization(synchronized=True), MSE; 45 samples in batches of 10."""
    gn.random.set_random_seed(4)
    x, y = _data(45, (6,), 2, seed=3)
    model = _bn_model(True)
    model.compile(optimizer=optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    history = model.fit(x, y.astype(float), batch_size=10, epochs=2, verbose=0)
    return {"weights": _weights(model), **_history(history),
            "predict": model.predict(x[:5], verbose=0)}


def bn_per_rank() -> dict[str, np.ndarray]:
    """BatchNormalization() with per-rank statistics: the ranks agree, one process differs."""
    gn.random.set_random_seed(4)
    x, y = _data(45, (6,), 2, seed=3)
    model = _bn_model(False)
    model.compile(optimizer=optimizers.SGD(0.05), loss="mse")
    history = model.fit(x, y.astype(float), batch_size=10, epochs=2, verbose=0)
    return {"weights": _weights(model), **_history(history)}


def sources(tmp: str) -> dict[str, np.ndarray]:
    """The same fit from a memory-mapped array, a PyDataset and a generator."""
    from glassnet.training.data import PyDataset

    x, y = _data(23, (6,), 3, seed=4)
    path = Path(tmp) / f"x_{gn.distribution.rank()}.npy"
    np.save(path, x)
    x_mapped = np.load(path, mmap_mode="r")

    class Batches(PyDataset):
        def __len__(self):
            return 5

        def __getitem__(self, index):
            part = slice(index * 5, index * 5 + 5)
            return x[part], y[part]

    def generator():
        while True:
            for start in range(0, 23, 5):
                yield x[start:start + 5], y[start:start + 5]

    results = {}
    for name, fit_args in (("memmap", {"x": x_mapped, "y": y, "batch_size": 5}),
                           ("dataset", {"x": Batches()}),
                           ("generator", {"x": generator(), "steps_per_epoch": 5})):
        gn.random.set_random_seed(5)
        model = _mlp()
        model.compile(optimizer=optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        history = model.fit(**fit_args, epochs=2, verbose=0)
        results[f"{name}_weights"] = _weights(model)
        results[f"{name}_loss"] = np.asarray(history.history["loss"])
    return results


def _backup_fit(backup_dir: str, interrupt_at: int | None):
    """The fit of the resume scenario: 3 epochs of 5 batches (the last partial), a backup
    every 3 batches; SIGTERM to rank 0 (or the one process) after batch `interrupt_at`."""
    gn.random.set_random_seed(6)
    x, y = _data(47, (6,), 3, seed=5)
    model = _mlp(dropout=0.2)
    model.compile(optimizer=optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    hooks = [callbacks.BackupAndRestore(backup_dir, save_freq=3)]
    if interrupt_at is not None and gn.distribution.is_chief():
        def stop(batch, logs):
            hooks[1].calls += 1
            if hooks[1].calls == interrupt_at:
                os.kill(os.getpid(), signal.SIGTERM)
        hooks.append(callbacks.LambdaCallback(on_train_batch_end=stop))
        hooks[1].calls = 0
    history = model.fit(x, y, batch_size=10, epochs=3, verbose=0, callbacks=hooks)
    return model, history


def backup_interrupted(backup_dir: str) -> dict[str, np.ndarray]:
    """Interrupted by SIGTERM (on rank 0 only) in epoch 2: the backup stays in backup_dir."""
    model, history = _backup_fit(backup_dir, interrupt_at=7)
    return {"weights": _weights(model), "epochs_done": np.array(len(history.epoch))}


def backup_resumed(backup_dir: str) -> dict[str, np.ndarray]:
    """The same fit again: resumes from the backup and completes."""
    model, history = _backup_fit(backup_dir, interrupt_at=None)
    return {"weights": _weights(model), **_history(history)}


def uninterrupted(backup_dir: str) -> dict[str, np.ndarray]:
    model, history = _backup_fit(backup_dir, interrupt_at=None)
    return {"weights": _weights(model), **_history(history)}


def weighted_losses() -> dict[str, np.ndarray]:
    """Losses whose divisor is known only per rank: a padding mask (Embedding with
    mask_zero, per-step labels), ignore_class with a synchronized BatchNormalization (its
    backward needs the global divisor first), a mean over the sample weights; and "sum"."""
    results = {}
    rng = np.random.default_rng(8)
    tokens = rng.integers(1, 9, (27, 6))
    tokens[:, 4:] *= rng.integers(0, 2, (27, 1))           # some sequences padded with 0
    labels = rng.integers(0, 3, (27, 6))
    gn.random.set_random_seed(9)
    model = gn.Sequential([layers.Input((6,)), layers.Embedding(9, 4, mask_zero=True),
                           layers.LSTM(5, return_sequences=True),
                           layers.Dense(3, activation="softmax")])
    model.compile(optimizer=optimizers.Adam(0.02), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(tokens, labels, batch_size=8, epochs=2, verbose=0)
    results["masked_weights"] = _weights(model)
    results["masked_loss"] = np.asarray(history.history["loss"])
    results["masked_accuracy"] = np.asarray(history.history["accuracy"])

    x, y = _data(33, (6,), 3, seed=9)
    for name, loss, model_fn in (
            ("ignore_class", gn.losses.SparseCategoricalCrossentropy(ignore_class=1),
             lambda: gn.Sequential([layers.Input((6,)), layers.Dense(5),
                                    layers.BatchNormalization(synchronized=True),
                                    layers.Dense(3, activation="softmax")])),
            ("sample_weight_mean", gn.losses.SparseCategoricalCrossentropy(
                reduction="mean_with_sample_weight"), _mlp),
            ("sum", gn.losses.SparseCategoricalCrossentropy(reduction="sum"), _mlp)):
        gn.random.set_random_seed(10)
        model = model_fn()
        model.compile(optimizer=optimizers.SGD(0.01), loss=loss)
        history = model.fit(x, y, batch_size=10, epochs=2, verbose=0,
                            sample_weight=np.linspace(0.2, 2.0, 33))
        results[f"{name}_weights"] = _weights(model)
        results[f"{name}_loss"] = np.asarray(history.history["loss"])
    return results


def keras_metrics() -> dict[str, np.ndarray]:
    """Metrics whose state is counts at thresholds, per class, or sums shaped by the data
    (F1Score per class, multi-label AUC, R2Score, IoU, top-k): summed over the ranks."""
    gn.random.set_random_seed(11)
    x, labels = _data(37, (6,), 3, seed=11)
    y = np.eye(3)[labels]
    model = _mlp()
    model.compile(optimizer=optimizers.Adam(0.02), loss="categorical_crossentropy",
                  metrics=["auc", "precision", gn.metrics.F1Score(),
                           gn.metrics.AUC(multi_label=True, curve="PR", name="pr_auc"),
                           gn.metrics.R2Score(), gn.metrics.OneHotMeanIoU(3),
                           gn.metrics.TopKCategoricalAccuracy(k=2),
                           gn.metrics.RecallAtPrecision(0.5), gn.metrics.FBetaScore(
                               average="weighted", beta=2.0)])
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, validation_split=0.2,
                        sample_weight=np.linspace(0.5, 1.5, 37))
    logs = model.evaluate(x, y, batch_size=6, verbose=0, return_dict=True)
    return {"weights": _weights(model), **_history(history),
            **{f"evaluate_{k}": np.asarray(v, dtype=np.float64) for k, v in logs.items()}}


def chief_outputs(out: str) -> dict[str, np.ndarray]:
    """CSVLogger and ModelCheckpoint, given the same paths on both ranks: rank 0 writes."""
    gn.random.set_random_seed(7)
    x, y = _data(20, (6,), 3, seed=6)
    model = _mlp()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=5, epochs=2, verbose=0,
              callbacks=[callbacks.CSVLogger(str(Path(out) / "log.csv")),
                         callbacks.ModelCheckpoint(str(Path(out) / "model.glassnet"))])
    return {"weights": _weights(model)}


def shared_layer() -> dict[str, np.ndarray]:
    """One Dense layer called twice in a pass (its gradient is final only after its second
    backward call), then another; SGD with Nesterov momentum, 23 samples in batches of 6."""
    gn.random.set_random_seed(11)
    x, y = _data(23, (6,), 3, seed=5)
    shared = layers.Dense(6, activation="tanh")
    model = gn.Sequential([layers.Input((6,)), shared, shared,
                           layers.Dense(3, activation="softmax")])
    model.compile(optimizer=optimizers.SGD(0.05, momentum=0.9, nesterov=True),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=6, epochs=2, verbose=0)
    return {"weights": _weights(model), **_history(history)}


SCENARIOS = {"mlp_sgd": mlp_sgd, "cnn_adam": cnn_adam, "lstm": lstm,
             "bn_synchronized": bn_synchronized, "bn_per_rank": bn_per_rank,
             "weighted_losses": weighted_losses, "keras_metrics": keras_metrics,
             "shared_layer": shared_layer}

# Run again with gradient buckets of 1 byte (every weight its own bucket, each started as
# backward finishes its layer): the results must equal the single all-reduce's bit for bit.
BUCKETED = ("mlp_sgd", "cnn_adam", "lstm", "bn_per_rank", "weighted_losses", "shared_layer")
TINY_BUCKET_MB = 2.0 ** -20


def main(out: str) -> None:
    """Every scenario under DataParallel, each rank's results to `out`."""
    gn.distribution.set_distribution(gn.distribution.DataParallel())
    rank = gn.distribution.rank()
    out_dir = Path(out)

    def save(name, results):
        np.savez(out_dir / f"{name}.rank{rank}.npz", **results)

    comm = gn.distribution.distribution().communicator
    with float64():
        for name, scenario in SCENARIOS.items():
            calls = comm.reduce_calls
            save(name, scenario())
            save(f"{name}_calls", {"calls": np.array(comm.reduce_calls - calls)})
        save("outputs", chief_outputs(out))
        save("sources", sources(out))
        backup = str(out_dir / "backup")
        save("backup_interrupted", backup_interrupted(backup))
        # leave a copy of the backup for the one-process resume in pytest
        if gn.distribution.is_chief():
            import shutil
            shutil.copytree(backup, out_dir / "backup_for_one_process")
        save("backup_resumed", backup_resumed(backup))
        gn.distribution.set_distribution(gn.distribution.DataParallel(
            bucket_cap_mb=TINY_BUCKET_MB))
        comm = gn.distribution.distribution().communicator
        for name in BUCKETED:
            calls = comm.reduce_calls
            save(f"{name}_buckets", SCENARIOS[name]())
            save(f"{name}_buckets_calls", {"calls": np.array(comm.reduce_calls - calls)})


if __name__ == "__main__":
    main(sys.argv[1])

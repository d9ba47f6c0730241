"""What the model-file fuzz tests share: real .glassnet files to damage, the runner (a clean
refusal is a ModelFileError), and the case counts each test must reach. Each test file wraps
`model_fuzzer` and `original_files` in its own `fuzz` and `originals` fixtures."""

from __future__ import annotations

import contextlib
import tracemalloc
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from _saved_models import trained

import glassnet as gn
from _fuzzing import Fuzzer, zip_bytes
from glassnet import layers, optimizers
from glassnet.saving import ModelFileError, load_model

# Fewest cases each test must run; the loops are deterministic and Hypothesis runs its
# fixed max_examples, so these are also what a run reports (plus a few).
MIN_CASES = {
    "truncated": 330,
    "bit_flips": 450,
    "inner_bit_flips": 300,
    "havoc": 150,
    "npy_headers": 250,
    "member_names": 40,
    "bombs": 14,
    "pickle": 10,
    "class_names": 300,
    "config_values": 300,
    "weird_json": 25,
    "weights_file": 150,
}
TOTAL_MIN_CASES = 2000  # across the model-file tests and tests/test_fuzz_data_files.py


@contextlib.contextmanager
def model_fuzzer(tmp_path: Path) -> Iterator[Fuzzer]:
    """A Fuzzer for model files, with tracemalloc running."""
    tracemalloc.start()
    try:
        yield Fuzzer(tmp_path / "canary", (ModelFileError,))
    finally:
        tracemalloc.stop()


def _mlp(rng):
    """test_model_file's MLP: Flatten, Reshape, regularizers, initializer configs, Dropout."""
    return trained(rng, "adam")[0]


def _cnn(rng):
    model = gn.Sequential([
        layers.Input(shape=(6, 6, 1)),
        layers.Conv2D(2, 3, padding="same", activation="relu"),
        layers.BatchNormalization(),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer=optimizers.SGD(0.1, momentum=0.9),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.train_on_batch(rng.standard_normal((4, 6, 6, 1)).astype("float32"),
                         np.array([0, 1, 2, 1]))
    return model


def _rnn(rng):
    model = gn.Sequential([
        layers.Input(shape=(5,)),
        layers.Embedding(20, 4, mask_zero=True),
        layers.Bidirectional(layers.LSTM(3)),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.train_on_batch(rng.integers(0, 20, (4, 5)), np.array([0.0, 1.0, 1.0, 0.0]))
    return model


def original_files(folder: Path) -> dict[str, bytes]:
    """{"mlp" | "cnn" | "rnn": the bytes of a trained model's .glassnet file}."""
    rng = np.random.default_rng(0)
    files = {}
    for name, make in (("mlp", _mlp), ("cnn", _cnn), ("rnn", _rnn)):
        path = folder / f"{name}.glassnet"
        make(rng).save(path)
        load_model(path)  # the unmodified file loads
        files[name] = path.read_bytes()
    return files


def run_bytes(fuzz: Fuzzer, tmp_path: Path, data: bytes, label: str,
              name: str = "case.glassnet", load=load_model) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return fuzz.run(load, path, label)


def run_members(fuzz, tmp_path, members: dict[str, bytes], label: str,
                method: int = zipfile.ZIP_DEFLATED, **kwargs) -> str:
    """`run_bytes` of a zip of `members` written with `method`."""
    return run_bytes(fuzz, tmp_path, zip_bytes(members, method), label, **kwargs)

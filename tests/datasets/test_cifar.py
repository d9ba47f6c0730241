"""CIFAR-10 and CIFAR-100 from small archives in the binary versions' format."""

from __future__ import annotations

import numpy as np
import pytest

from _dataset_files import offline, register, tar_gz
from glassnet import datasets
from glassnet.datasets import DatasetError, cifar10, cifar100


def records(labels: list[list[int]], seed: int) -> tuple[bytes, np.ndarray]:
    """Binary-version records: label byte(s), then 3072 pixel bytes; and the pixels."""
    pixels = np.random.default_rng(seed).integers(0, 256, (len(labels), 3072), dtype=np.uint8)
    rows = np.concatenate([np.array(labels, np.uint8), pixels], axis=1)
    return rows.tobytes(), pixels


def channels_last(pixels: np.ndarray) -> np.ndarray:
    """The planar R, G, B bytes of each record as (n, 32, 32, 3), written out by loops."""
    out = np.empty((len(pixels), 32, 32, 3), np.uint8)
    for n in range(len(pixels)):
        for channel in range(3):
            for row in range(32):
                for col in range(32):
                    out[n, row, col, channel] = pixels[n, channel * 1024 + row * 32 + col]
    return out


@pytest.fixture
def cifar10_folder(monkeypatch, tmp_path):
    offline(monkeypatch, tmp_path)
    members, expected = {}, {}
    for index, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        labels = [[(index + k) % 10] for k in range(3)]
        members[f"cifar-10-batches-bin/{name}.bin"], pixels = records(labels, index)
        expected[name] = (pixels, labels)
    members["cifar-10-batches-bin/batches.meta.txt"] = b"airplane\n"
    register(monkeypatch, tmp_path, "cifar-10-binary.tar.gz", tar_gz(members))
    return tmp_path, expected


def test_cifar10_matches_the_records(cifar10_folder):
    folder, expected = cifar10_folder
    (x_train, y_train), (x_test, y_test) = cifar10.load_data(data_dir=folder)
    assert x_train.shape == (15, 32, 32, 3) and x_test.shape == (3, 32, 32, 3)
    assert y_train.shape == (15, 1) and y_test.shape == (3, 1)
    assert x_train.dtype == y_train.dtype == np.uint8 and x_train.flags.c_contiguous
    pixels = np.concatenate([expected[f"data_batch_{i}"][0] for i in range(1, 6)])
    np.testing.assert_array_equal(x_train, channels_last(pixels))
    assert y_train.ravel().tolist() == [label for i in range(1, 6)
                                        for [label] in expected[f"data_batch_{i}"][1]]
    np.testing.assert_array_equal(x_test, channels_last(expected["test_batch"][0]))
    (again, _), _ = datasets.cifar10(data_dir=folder)
    np.testing.assert_array_equal(again, x_train)


def test_cifar100_fine_and_coarse_labels(monkeypatch, tmp_path):
    offline(monkeypatch, tmp_path)
    train, pixels = records([[1, 17], [19, 99], [0, 0]], 0)
    test, _ = records([[5, 50]], 1)
    register(monkeypatch, tmp_path, "cifar-100-binary.tar.gz",
             tar_gz({"cifar-100-binary/train.bin": train, "cifar-100-binary/test.bin": test}))
    (x_train, y_train), (_, y_test) = cifar100.load_data(data_dir=tmp_path)
    assert y_train.ravel().tolist() == [17, 99, 0] and y_test.tolist() == [[50]]
    assert y_train.dtype == np.int64 and y_train.shape == (3, 1)  # as Keras 3 returns them
    np.testing.assert_array_equal(x_train, channels_last(pixels))
    (_, coarse), _ = datasets.cifar100("coarse", data_dir=tmp_path)
    assert coarse.ravel().tolist() == [1, 19, 0]
    with pytest.raises(ValueError, match="label_mode"):
        cifar100.load_data("medium", data_dir=tmp_path)


@pytest.mark.parametrize("damage, message", [
    ("short", "not a whole number of 3073-byte records"),
    ("missing", "lacks"),
    ("label", "label 12 outside 0..9"),
    ("not-gzip", "not a readable .tar.gz"),
])
def test_damaged_archives_are_refused_before_arrays_are_built(monkeypatch, tmp_path, damage,
                                                             message):
    offline(monkeypatch, tmp_path)
    members = {f"cifar-10-batches-bin/{name}.bin": records([[1]], 0)[0]
               for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]}
    if damage == "short":
        members["cifar-10-batches-bin/test_batch.bin"] += b"\0"
    elif damage == "missing":
        del members["cifar-10-batches-bin/data_batch_3.bin"]
    elif damage == "label":
        members["cifar-10-batches-bin/test_batch.bin"] = records([[12]], 0)[0]
    data = b"not a gzip file" if damage == "not-gzip" else tar_gz(members)
    register(monkeypatch, tmp_path, "cifar-10-binary.tar.gz", data)
    with pytest.raises(DatasetError, match=message):
        cifar10.load_data(data_dir=tmp_path)

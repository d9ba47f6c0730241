"""MNIST / Fashion-MNIST loading from the shared files, and the IDX parser's checks."""

from __future__ import annotations

import gzip
import inspect
import io
import struct
import urllib.error

import numpy as np
import pytest

from conftest import data_dir, require_data
from glassnet.datasets import DatasetError, _files, fashion_mnist, mnist, read_idx

NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

# Published class counts of MNIST (e.g. in many tutorials and the TFDS catalogue).
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def mnist_data():
    for name in NAMES:
        require_data(f"mnist/{name}")
    return mnist(data_dir())


@pytest.fixture(scope="module")
def fashion_data():
    for name in NAMES:
        require_data(f"fashion-mnist/{name}")
    return fashion_mnist(data_dir())


def scaled_mean_std(images: np.ndarray) -> tuple[float, float]:
    """Mean and std of images / 255, from a histogram (no 47M-element float copy)."""
    counts = np.bincount(images.ravel(), minlength=256)
    values = np.arange(256) / 255.0
    mean = (counts * values).sum() / counts.sum()
    return mean, np.sqrt((counts * values**2).sum() / counts.sum() - mean**2)


def check_keras_layout(data):
    (x_train, y_train), (x_test, y_test) = data
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    for array in (x_train, y_train, x_test, y_test):
        assert array.dtype == np.uint8
    assert x_train.min() == 0 and x_train.max() == 255
    assert y_train.max() == 9 and y_test.max() == 9


def test_mnist_matches_keras_layout_and_class_counts(mnist_data):
    check_keras_layout(mnist_data)
    (x_train, y_train), (x_test, y_test) = mnist_data
    assert np.bincount(y_train).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(y_test).tolist() == MNIST_TEST_COUNTS
    assert y_train[:3].tolist() == [5, 0, 4] and y_test[:3].tolist() == [7, 2, 1]
    # The normalisation constants everyone uses for MNIST: mean 0.1307, std 0.3081 of x / 255.
    assert np.allclose(scaled_mean_std(x_train), (0.1307, 0.3081), atol=1e-4)


def test_fashion_mnist_has_6000_and_1000_per_class(fashion_data):
    check_keras_layout(fashion_data)
    (_, y_train), (_, y_test) = fashion_data
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
    # The published normalisation constants of Fashion-MNIST: mean 0.2860, std 0.3530.
    assert np.allclose(scaled_mean_std(fashion_data[0][0]), (0.2860, 0.3530), atol=1e-4)


def test_images_match_an_independent_parse(mnist_data):
    raw = gzip.decompress(require_data("mnist/t10k-images-idx3-ubyte.gz").read_bytes())
    expected = np.frombuffer(raw[16:], dtype=np.uint8).reshape(10000, 28, 28)
    np.testing.assert_array_equal(mnist_data[1][0], expected)


def test_mnist_downloads_missing_files_into_the_cache(monkeypatch, tmp_path, mnist_data):
    served = {}
    for name in NAMES:
        data = require_data(f"mnist/{name}").read_bytes()
        served[_files.FILES[f"mnist/{name}"].urls[1]] = data  # only the second mirror answers

    def opener(url, timeout=None):
        if url not in served:
            raise urllib.error.URLError("offline")
        return io.BytesIO(served[url])

    monkeypatch.setenv("GLASSNET_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(_files, "_urlopen", opener)
    (x_train, y_train), (x_test, y_test) = mnist()
    assert sorted(p.name for p in (tmp_path / "glassnet" / "mnist").iterdir()) == sorted(NAMES)
    np.testing.assert_array_equal(y_test, mnist_data[1][1])
    np.testing.assert_array_equal(x_train[-1], mnist_data[0][0][-1])


# ----------------------------------------------------------------------------- read_idx


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    header = struct.pack(">HBB", 0, type_code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def test_read_idx_round_trip_gzipped_and_plain(tmp_path, rng):
    images = rng.integers(0, 256, size=(5, 3, 4), dtype=np.uint8)
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(images)))
    (tmp_path / "a.idx").write_bytes(idx_bytes(images))
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz", 2051), images)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx", 2051), images)
    floats = rng.standard_normal((2, 3)).astype(np.float32)
    (tmp_path / "f.idx").write_bytes(idx_bytes(floats, 0x0D))
    result = read_idx(tmp_path / "f.idx")
    assert result.dtype == np.float32 and result.dtype.isnative
    np.testing.assert_array_equal(result, floats)


def test_read_idx_refuses_a_wrong_magic_number(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    (tmp_path / "labels.gz").write_bytes(gzip.compress(idx_bytes(labels)))
    with pytest.raises(DatasetError, match="magic number 2049, expected 2051"):
        read_idx(tmp_path / "labels.gz", magic=2051)
    (tmp_path / "text.gz").write_bytes(gzip.compress(b"hello world, not IDX"))
    with pytest.raises(DatasetError, match="not an IDX file"):
        read_idx(tmp_path / "text.gz")


def test_read_idx_refuses_a_payload_shorter_or_longer_than_the_header(tmp_path):
    images = np.zeros((4, 28, 28), dtype=np.uint8)
    for name, data in [("short", idx_bytes(images)[:-1]), ("long", idx_bytes(images) + b"\0")]:
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DatasetError, match=r"shape \(4, 28, 28\)"):
            read_idx(tmp_path / name, 2051)


def test_read_idx_lying_header_does_not_allocate(tmp_path):
    # Declares 4e9^3 bytes of pixels but holds 16: refused before anything is allocated.
    header = struct.pack(">HBB3I", 0, 0x08, 3, 4_000_000_000, 4_000_000_000, 4_000_000_000)
    (tmp_path / "liar").write_bytes(header + bytes(16))
    with pytest.raises(DatasetError, match="truncated or corrupt"):
        read_idx(tmp_path / "liar", 2051)
    (tmp_path / "stub").write_bytes(struct.pack(">HBB", 0, 0x08, 3) + b"\0\0")
    with pytest.raises(DatasetError, match="truncated IDX header"):
        read_idx(tmp_path / "stub", 2051)


def test_read_idx_refuses_a_truncated_gzip(tmp_path):
    data = require_data("mnist/t10k-labels-idx1-ubyte.gz").read_bytes()
    (tmp_path / "cut.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match="not a complete gzip file"):
        read_idx(tmp_path / "cut.gz", 2049)
    (tmp_path / "plain.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DatasetError, match="not a complete gzip file"):
        read_idx(tmp_path / "plain.gz", 2049)


def test_loader_refuses_a_truncated_file_in_a_data_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(_files, "_urlopen", None)  # any download attempt would fail loudly
    for name in NAMES:
        data = require_data(f"mnist/{name}").read_bytes()
        target = tmp_path / "mnist" / name
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(data[:-100] if name.startswith("t10k-labels") else data)
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte.gz is corrupt"):
        mnist(tmp_path)


# ----- Keras' spelling: modules with load_data, still callable as before --------------------
def test_keras_load_data_gives_the_same_arrays_as_the_function_forms(mnist_data, fashion_data):
    from glassnet import datasets

    for loaded, expected in ((datasets.mnist.load_data(data_dir=data_dir()), mnist_data),
                             (datasets.fashion_mnist.load_data(data_dir=data_dir()),
                              fashion_data)):
        for got, want in zip(loaded[0] + loaded[1], expected[0] + expected[1]):
            np.testing.assert_array_equal(got, want)
    assert datasets.fashion_mnist.CLASSES[9] == "Ankle boot"
    assert "data_dir" in str(inspect.signature(datasets.mnist))  # the call form's help


def test_a_copy_of_keras_mnist_npz_is_read_by_path(monkeypatch, tmp_path):
    from _dataset_files import npz_bytes, offline, register

    offline(monkeypatch, tmp_path)
    x = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    data = npz_bytes(x_train=x, y_train=np.array([3, 4], np.uint8), x_test=x[:1],
                     y_test=np.array([7], np.uint8))
    path = register(monkeypatch, tmp_path, "mnist.npz", data)
    (x_train, y_train), (x_test, y_test) = mnist.load_data(path=path)
    np.testing.assert_array_equal(x_train, x)
    assert y_train.tolist() == [3, 4] and y_test.tolist() == [7] and x_test.shape == (1, 28, 28)
    path.write_bytes(npz_bytes(x_train=x[:, :, :27], y_train=np.array([3, 4], np.uint8),
                               x_test=x[:1], y_test=np.array([7], np.uint8)))
    register(monkeypatch, tmp_path, "mnist.npz", path.read_bytes())
    with pytest.raises(DatasetError, match=r"expected \(n, 28, 28\)"):
        mnist.load_data(path=path)


def test_read_idx_refuses_ratios_past_the_data_limit(tmp_path, monkeypatch):
    # A 16 MiB image file of zeros gzips to 16 KB: read_idx inflated it (deflate allows it).
    from glassnet import saving

    zeros = np.zeros((256, 256, 256), dtype=np.uint8)
    (tmp_path / "zeros.gz").write_bytes(gzip.compress(idx_bytes(zeros)))
    with pytest.raises(DatasetError, match=r"zeros.gz: .*more than 100:1 "
                                           r"\(glassnet.saving.MAX_DATA_COMPRESSION_RATIO\)"):
        read_idx(tmp_path / "zeros.gz")
    monkeypatch.setattr(saving, "MAX_DATA_COMPRESSION_RATIO", 2000)
    assert read_idx(tmp_path / "zeros.gz").shape == (256, 256, 256)

"""Training on memory-mapped arrays: read one batch at a time, shuffled by batch, checked per
batch; peak memory stays bounded (and flat) as the file grows beyond it."""

from __future__ import annotations

import os
import tracemalloc

import numpy as np
import pytest

import glassnet as gn
from conftest import data_dir, require_data
from glassnet import layers
from glassnet.datasets.mnist import as_memmap, mnist
from glassnet.random import set_random_seed

MB = 2**20


def make_model(features: int = 5, seed: int = 11):
    set_random_seed(seed)
    model = gn.Sequential([layers.Input(shape=(features,)), layers.Dense(8, activation="relu"),
                           layers.Dropout(0.2), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


@pytest.fixture
def mapped(tmp_path):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((300, 5)).astype("float32")
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 2] > 0.3)
    return x, y, as_memmap(x, tmp_path / "x.npy"), as_memmap(y, tmp_path / "y.npy")


def same_weights(a, b):
    return all(u.tobytes() == v.tobytes() for u, v in zip(a.get_weights(), b.get_weights()))


def test_as_memmap_returns_a_read_only_file_view(mapped, tmp_path):
    x, _, x_mapped, _ = mapped
    assert isinstance(x_mapped, np.memmap) and not x_mapped.flags.writeable
    np.testing.assert_array_equal(x_mapped, x)
    before = os.stat(tmp_path / "x.npy").st_mtime_ns
    as_memmap(x, tmp_path / "x.npy")  # same array: the file is not rewritten
    assert os.stat(tmp_path / "x.npy").st_mtime_ns == before
    changed = as_memmap(x + 1, tmp_path / "x.npy")
    np.testing.assert_array_equal(changed, x + 1)


@pytest.mark.parametrize("shuffle", [False, True])
def test_fit_on_memmap_equals_fit_on_arrays_shuffled_by_batch(mapped, shuffle):
    """Memmaps shuffle the order of the batches: the same as shuffle="batch" in memory."""
    x, y, x_mapped, y_mapped = mapped
    in_memory = make_model()  # (each model right before its fit: both draw from the seed)
    expected = in_memory.fit(x, y, batch_size=32, epochs=3, verbose=0, validation_split=0.2,
                             shuffle="batch" if shuffle else False)
    on_disk = make_model()
    history = on_disk.fit(x_mapped, y_mapped, batch_size=32, epochs=3, verbose=0,
                          validation_split=0.2, shuffle=shuffle)
    assert same_weights(in_memory, on_disk)
    assert history.history == expected.history


def test_batch_shuffle_permutes_whole_batches():
    x = np.arange(40, dtype="float32").reshape(40, 1)
    seen = []

    model = gn.Sequential([layers.Input(shape=(1,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    forward = model.forward
    model.forward = lambda batch, training=False: (seen.append(batch[:, 0].copy()),
                                                   forward(batch, training))[1]
    set_random_seed(0)
    model.fit(x, x, batch_size=10, epochs=2, shuffle="batch", verbose=0)
    starts = [int(batch[0]) for batch in seen]
    assert all(np.array_equal(b, np.arange(b[0], b[0] + 10)) for b in seen)  # whole batches
    assert sorted(starts[:4]) == sorted(starts[4:]) == [0, 10, 20, 30]
    assert starts[:4] != [0, 10, 20, 30] or starts[4:] != [0, 10, 20, 30]


def test_uint8_memmap_is_cast_per_batch(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, (100, 5), dtype=np.uint8)
    y = rng.integers(0, 3, 100)
    in_memory, on_disk = make_model(), make_model()
    in_memory.fit(x, y, batch_size=16, shuffle=False, verbose=0)
    on_disk.fit(as_memmap(x, tmp_path / "x.npy"), y, batch_size=16, shuffle=False, verbose=0)
    assert same_weights(in_memory, on_disk)


def test_evaluate_and_predict_on_memmap(mapped):
    x, y, x_mapped, y_mapped = mapped
    model = make_model()
    assert (model.evaluate(x_mapped, y_mapped, verbose=0, return_dict=True)
            == model.evaluate(x, y, verbose=0, return_dict=True))
    np.testing.assert_array_equal(model.predict(x_mapped, verbose=0), model.predict(x, verbose=0))


def test_bad_values_are_found_in_the_batch_that_holds_them(tmp_path, mapped):
    x, y, _, _ = mapped
    x = x.copy()
    x[70, 3] = np.inf
    x_mapped = as_memmap(x, tmp_path / "bad.npy")
    model = make_model()
    with pytest.raises(ValueError, match=r"x \(samples 64:96\): contains inf at index \(6, 3\)"):
        model.fit(x_mapped, y, batch_size=32, shuffle=False, verbose=0)
    assert model.optimizer.iterations == 2  # the two batches before it were fine


def test_header_problems_are_found_before_any_step(tmp_path, mapped):
    x, y, x_mapped, _ = mapped
    complex_mapped = as_memmap(x.astype(np.complex64), tmp_path / "c.npy")
    with pytest.raises(TypeError, match=r"x: expected numbers .* complex64"):
        make_model().fit(complex_mapped, y, verbose=0)
    with pytest.raises(ValueError, match=r"x: expected shape \(n, 5\)"):
        make_model().fit(as_memmap(x[:, :4], tmp_path / "narrow.npy"), y, verbose=0)
    with pytest.raises(ValueError, match="same number of samples"):
        make_model().fit(x_mapped, y[:-1], verbose=0)
    with pytest.raises(ValueError, match="y: expected an array, got None"):
        make_model().fit(x_mapped, verbose=0)


def test_mnist_as_memmap(tmp_path):
    require_data("mnist/train-images-idx3-ubyte.gz")
    (x_train, y_train), (x_test, _) = mnist(data_dir(), mmap_dir=tmp_path)
    assert isinstance(x_train, np.memmap) and x_train.shape == (60000, 28, 28)
    assert x_train.dtype == np.uint8 and isinstance(y_train, np.memmap)
    assert sorted(p.name for p in tmp_path.iterdir())[0] == "mnist-x_test.npy"
    assert int(x_test[0].sum()) == int(mnist(data_dir())[1][0][0].sum())


# ----- memory bounded as the data grows -------------------------------------------------------
FEATURES, BATCH = 500, 1000


def write_dataset(folder, megabytes: int):
    """x float32 (n, 500) of `megabytes` MB and y uint8 (n,), written in chunks to .npy."""
    n = megabytes * MB // (4 * FEATURES)
    x = np.lib.format.open_memmap(folder / f"x{megabytes}.npy", "w+", np.float32, (n, FEATURES))
    y = np.lib.format.open_memmap(folder / f"y{megabytes}.npy", "w+", np.uint8, (n,))
    rng = np.random.default_rng(0)
    for start in range(0, n, 20_000):
        stop = min(start + 20_000, n)
        x[start:stop] = rng.random((stop - start, FEATURES), dtype=np.float32)
        y[start:stop] = (x[start:stop, 0] * 3).astype(np.uint8)
    x.flush()
    y.flush()
    del x, y
    return (np.load(folder / f"x{megabytes}.npy", mmap_mode="r"),
            np.load(folder / f"y{megabytes}.npy", mmap_mode="r"))


def traced_peak_of_one_epoch(x, y) -> int:
    model = make_model(FEATURES)
    tracemalloc.start()
    try:
        history = model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.isfinite(history.history["loss"][0])
    assert model.optimizer.iterations == -(-len(x) // BATCH)  # one pass over every batch
    return peak


def test_peak_memory_stays_flat_as_the_memmap_grows(tmp_path):
    peaks = {}
    try:
        for megabytes in (200, 400):
            x, y = write_dataset(tmp_path, megabytes)
            peaks[megabytes] = traced_peak_of_one_epoch(x, y)
            del x, y
    finally:
        for path in tmp_path.glob("*.npy"):
            path.unlink()
    print({f"{size} MB of data": f"peak {peak / MB:.1f} MB" for size, peak in peaks.items()})
    assert peaks[400] < 60 * MB                    # 400 MB of data, under 60 MB traced
    assert peaks[400] < 1.25 * peaks[200] + 1 * MB  # doubling the data: about the same peak

"""The Semeion digits: parsing against numpy.loadtxt, the seeded stratified 80/20 split."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import require_data
from glassnet.datasets import DatasetError, _files, semeion
from glassnet.datasets.semeion import load_semeion_file

CLASS_COUNTS = [161, 162, 159, 159, 161, 159, 161, 158, 155, 158]  # from SOURCES.md


@pytest.fixture(scope="module")
def path():
    return require_data("semeion.data")


@pytest.fixture(scope="module")
def split(path):
    return semeion(path.parent)


def rows_sorted(x, y):
    """The rows as a sorted list of (label, pixels) bytes: a multiset to compare splits."""
    return sorted(bytes([label]) + row.tobytes() for row, label in zip(x, y))


def test_file_parses_as_numpy_loadtxt_does(path):
    x, y = load_semeion_file(path)
    table = np.loadtxt(path)  # (1593, 266), the parse of SOURCES.md
    np.testing.assert_array_equal(x, table[:, :256])
    np.testing.assert_array_equal(y, table[:, 256:].argmax(axis=1))
    assert x.dtype == np.float32 and y.dtype == np.uint8
    assert np.bincount(y).tolist() == CLASS_COUNTS


def test_split_shapes_dtypes_and_values(split):
    (x_train, y_train), (x_test, y_test) = split
    assert x_train.shape == (1274, 256) and x_test.shape == (319, 256)
    assert y_train.shape == (1274,) and y_test.shape == (319,)
    assert x_train.dtype == np.float32 and y_train.dtype == np.uint8
    assert set(np.unique(x_train)) == {0.0, 1.0}


def test_split_is_stratified_like_scikit_learn(split, path):
    sklearn = pytest.importorskip("sklearn.model_selection")
    (_, y_train), (_, y_test) = split
    assert (np.bincount(y_train) + np.bincount(y_test)).tolist() == CLASS_COUNTS
    x, y = load_semeion_file(path)
    _, _, ref_train, ref_test = sklearn.train_test_split(x, y, test_size=0.2, stratify=y,
                                                         random_state=0)
    assert np.bincount(y_test).tolist() == np.bincount(ref_test).tolist()
    assert np.bincount(y_train).tolist() == np.bincount(ref_train).tolist()


def test_split_partitions_the_file(split, path):
    (x_train, y_train), (x_test, y_test) = split
    x, y = load_semeion_file(path)
    both = rows_sorted(np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test]))
    assert both == rows_sorted(x, y)


def test_split_depends_only_on_the_seed(split, path):
    (x_train, _), _ = split
    (again, _), _ = semeion(path.parent, seed=0)
    (other, _), _ = semeion(path.parent, seed=1)
    np.testing.assert_array_equal(x_train, again)
    assert not np.array_equal(x_train, other)
    (_, y_train), (_, y_test) = semeion(path.parent, test_size=0.5)
    assert len(y_test) == 797 and len(y_train) == 796  # ceil(0.5 * 1593) test rows


def test_corrupt_copy_is_refused(path, tmp_path, monkeypatch):
    monkeypatch.setattr(_files, "_urlopen", None)  # a download attempt would fail loudly
    data = bytearray(path.read_bytes())
    data[-6] = ord("1")  # a label column 0 -> 1: two ones in the last row
    (tmp_path / "semeion.data").write_bytes(bytes(data))
    with pytest.raises(DatasetError, match="SHA-256"):
        semeion(tmp_path)


def test_malformed_rows_are_reported_by_line(tmp_path):
    good = " ".join(["0.0000"] * 256 + ["1"] + ["0"] * 9)
    short = " ".join(["0.0000"] * 255 + ["1"] + ["0"] * 9)
    (tmp_path / "short.data").write_text(f"{good}\r\n{short}\r\n")
    with pytest.raises(DatasetError, match="line 2: 265 values, expected 266"):
        load_semeion_file(tmp_path / "short.data")
    two_labels = " ".join(["0.0000"] * 256 + ["1", "1"] + ["0"] * 8)
    (tmp_path / "labels.data").write_text(f"{good}\n{two_labels}\n")
    with pytest.raises(DatasetError, match="data row 2"):
        load_semeion_file(tmp_path / "labels.data")
    (tmp_path / "empty.data").write_text("\n")
    with pytest.raises(DatasetError, match="no data rows"):
        load_semeion_file(tmp_path / "empty.data")

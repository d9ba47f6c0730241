"""load_csv and load_npz: the happy paths, and errors that name the file, line and column."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet.datasets import DatasetError, load_csv, load_npz


def write(tmp_path, text: str, name: str = "table.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_numeric_table_matches_loadtxt(tmp_path, rng):
    table = rng.standard_normal((20, 4)).round(5)
    path = tmp_path / "numbers.csv"
    np.savetxt(path, table, delimiter=",", header="a,b,c,d", comments="")
    x, y, names = load_csv(path, return_names=True)  # default target: the last column
    reference = np.loadtxt(path, delimiter=",", skiprows=1)
    assert x.dtype == np.float32 and x.shape == (20, 3)
    assert y.dtype == np.float32 and y.shape == (20,)
    np.testing.assert_array_equal(x, reference[:, :3].astype(np.float32))
    np.testing.assert_array_equal(y, reference[:, 3].astype(np.float32))
    assert names.features == ["a", "b", "c"] and names.target == "d" and names.classes is None


def test_target_by_name_or_index_and_no_target(tmp_path):
    path = write(tmp_path, "h, w ,label\n1.5,60,0\n1.75,90,1\n")  # exact in float32
    x, y = load_csv(path, target="h")
    assert x.tolist() == [[60, 0], [90, 1]]
    assert y.tolist() == [1.5, 1.75]
    x, y = load_csv(path, target=1)
    assert x.tolist() == [[1.5, 0], [1.75, 1]] and y.tolist() == [60, 90]
    x, y = load_csv(path, target=None)
    assert x.shape == (2, 3) and y is None


def test_text_labels_become_sorted_integer_codes(tmp_path):
    text = "sepal,petal,species\n1,2,virginica\n3,4,setosa\n5,6,versicolor\n7,8,setosa\n"
    x, y, names = load_csv(write(tmp_path, text), target="species", return_names=True)
    assert names.classes == ["setosa", "versicolor", "virginica"]
    assert y.tolist() == [2, 0, 1, 0] and y.dtype == np.int64
    assert [names.classes[code] for code in y] == ["virginica", "setosa", "versicolor", "setosa"]


def test_no_header_other_delimiter_blank_lines_and_bom(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_bytes("\ufeff1;2;3\n\n4;5;6\n".encode())
    x, y, names = load_csv(path, target=0, delimiter=";", header=False, return_names=True)
    assert x.tolist() == [[2, 3], [5, 6]] and y.tolist() == [1, 4]
    assert names.features == ["column_1", "column_2"] and names.target == "column_0"


def test_missing_target_column_lists_the_columns(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n")
    with pytest.raises(DatasetError, match=r"'c' is not a column of the header: \['a', 'b'\]"):
        load_csv(path, target="c")
    with pytest.raises(DatasetError, match="index 5 is out of range for 2 columns"):
        load_csv(path, target=5)
    with pytest.raises(DatasetError, match="appears twice"):
        load_csv(write(tmp_path, "a,a\n1,2\n", "twice.csv"), target="a")
    with pytest.raises(ValueError, match="header=True"):
        load_csv(path, target="a", header=False)


def test_non_numeric_cell_names_line_and_column(tmp_path):
    path = write(tmp_path, "a,b,y\n1,2,0\n\n3,oops,1\n")
    with pytest.raises(DatasetError, match=r"table.csv, line 4, column 'b': 'oops' is not a"):
        load_csv(path)
    with pytest.raises(DatasetError, match="line 2, column 'a': '' is not a number"):
        load_csv(write(tmp_path, "a,y\n,1\n", "blank.csv"))


def test_ragged_rows_and_empty_files(tmp_path):
    with pytest.raises(DatasetError, match="line 3: 2 fields, expected 3"):
        load_csv(write(tmp_path, "a,b,y\n1,2,3\n4,5\n"))
    with pytest.raises(DatasetError, match="line 2: 3 fields, expected 2 .as in the first row"):
        load_csv(write(tmp_path, "1,2\n3,4,5\n"), header=False)
    with pytest.raises(DatasetError, match="empty"):
        load_csv(write(tmp_path, "\n\n"))
    with pytest.raises(DatasetError, match="no data rows"):
        load_csv(write(tmp_path, "a,b\n"))


def test_load_npz_round_trip_and_missing_keys(tmp_path, rng):
    x, y = rng.standard_normal((6, 2)).astype(np.float32), np.arange(6)
    np.savez(tmp_path / "data.npz", x=x, y=y, extra=np.zeros(3))
    loaded_x, loaded_y = load_npz(tmp_path / "data.npz")
    np.testing.assert_array_equal(loaded_x, x)
    np.testing.assert_array_equal(loaded_y, y)
    assert loaded_x.dtype == np.float32
    assert load_npz(tmp_path / "data.npz", x_key="extra", y_key=None)[1] is None
    with pytest.raises(DatasetError, match=r"no array 'labels'; the archive holds \['x', 'y'"):
        load_npz(tmp_path / "data.npz", y_key="labels")
    with pytest.raises(DatasetError, match="'x' has 6 rows but 'extra' has 3"):
        load_npz(tmp_path / "data.npz", y_key="extra")


def test_load_npz_never_unpickles(tmp_path):
    np.savez(tmp_path / "objects.npz", x=np.zeros((2, 2)), y=np.array([{"a": 1}, None]))
    with pytest.raises(DatasetError, match="'y' cannot be read"):
        load_npz(tmp_path / "objects.npz")


def test_load_npz_refuses_ratios_past_the_data_limit(tmp_path, monkeypatch):
    # 0.71 MB inflated to 734 MB: within deflate's 1032:1, far past what data compresses to.
    from glassnet import saving

    np.savez_compressed(tmp_path / "zeros.npz", x=np.zeros((4096, 4096), np.float32),
                        y=np.zeros(4096))
    assert (tmp_path / "zeros.npz").stat().st_size < 100_000
    with pytest.raises(DatasetError, match=r"zeros.npz.*'x.npy'.*compression ratio of "
                                           r"[\d,]+:1.*more than 100:1 .*"
                                           r"glassnet.saving.MAX_DATA_COMPRESSION_RATIO"):
        load_npz(tmp_path / "zeros.npz")
    monkeypatch.setattr(saving, "MAX_DATA_COMPRESSION_RATIO", 2000)   # documented way out
    assert load_npz(tmp_path / "zeros.npz")[0].shape == (4096, 4096)

"""`glassnet train / evaluate / predict` on users' CSV files, and their one-line errors."""

import csv
import json

import numpy as np
import pytest

from glassnet import cli


def write_csv(path, header, rows):
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def iris_like(tmp_path):
    """Three text classes separated by the first two features."""
    rng = np.random.default_rng(0)
    rows = []
    for label, centre in (("setosa", (0, 0)), ("versicolor", (3, 0)), ("virginica", (0, 3))):
        for point in rng.normal(centre, 0.5, size=(60, 2)):
            rows.append([f"{point[0]:.4f}", f"{point[1]:.4f}", f"{rng.normal():.4f}", label])
    rng.shuffle(rows)
    return write_csv(tmp_path / "flowers.csv", ["a", "b", "noise", "species"], rows)


@pytest.fixture
def regression_csv(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 10, size=(300, 2))
    y = 3 * x[:, 0] - 2 * x[:, 1] + 100 + rng.normal(0, 0.1, 300)
    rows = [[f"{a:.4f}", f"{b:.4f}", f"{t:.4f}"] for (a, b), t in zip(x, y)]
    return write_csv(tmp_path / "prices.csv", ["rooms", "age", "price"], rows)


def test_classification_round_trip(iris_like, tmp_path, capsys):
    out = tmp_path / "run"
    status = cli.main(["train", str(iris_like), "--target", "species", "--layers", "16",
                       "--epochs", "40", "--out", str(out), "--quiet"])
    assert status == 0
    for name in ("model.glassnet", "learning_curves.png", "metrics.json"):
        assert (out / name).exists()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "classification"
    assert metrics["classes"] == ["setosa", "versicolor", "virginica"]
    assert metrics["test"]["accuracy"] >= 0.9
    capsys.readouterr()

    assert cli.main(["evaluate", str(out / "model.glassnet"), str(iris_like)]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] >= 0.9

    # predict reorders columns by name and ignores the target column if present
    new = write_csv(tmp_path / "new.csv", ["noise", "b", "a"],
                    [["0", "0", "0"], ["0", "0", "3"], ["0", "3", "0"]])
    preds = tmp_path / "preds.csv"
    assert cli.main(["predict", str(out / "model.glassnet"), str(new),
                     "--output", str(preds)]) == 0
    rows = list(csv.reader(preds.open()))
    assert rows == [["prediction"], ["setosa"], ["versicolor"], ["virginica"]]


def test_regression_inferred_and_scaled(regression_csv, tmp_path, capsys):
    out = tmp_path / "reg"
    assert cli.main(["train", str(regression_csv), "--target", "price", "--epochs", "60",
                     "--out", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "regression"
    # targets around 100 with a spread of ~20: the output scaling layer makes this easy
    assert metrics["test"]["mae"] < 1.5
    capsys.readouterr()
    assert cli.main(["predict", str(out / "model.glassnet"), str(regression_csv)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "prediction" and len(lines) == 301
    assert abs(float(lines[1]) - 100) < 60


@pytest.mark.parametrize("argv,message", [
    (["train", "missing.csv", "--target", "y"], "file not found"),
    (["train", "{data}", "--target", "nope"], "target 'nope' is not a column"),
    (["train", "{data}", "--target", "species", "--layers", "a,b"], "expected sizes like"),
    (["train", "{data}", "--target", "species", "--task", "regression"], "holds text"),
    (["evaluate", "{data}", "{data}"], "error"),
    (["predict", "nope.glassnet", "{data}"], "file not found"),
])
def test_bad_files_and_arguments_give_one_line_and_status_2(argv, message, iris_like,
                                                             capsys):
    argv = [part.format(data=iris_like) for part in argv]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("glassnet: error: ") and err.count("\n") == 1
    assert message in err
    assert "Traceback" not in err


def test_ragged_csv_names_the_line(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,y\n1,2,0\n3,4\n")
    assert cli.main(["train", str(bad), "--target", "y"]) == 2
    assert "line 3" in capsys.readouterr().err


# ----- issue 15: a model's metadata is validated like the model itself ------------------------
@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    """A 2-feature, 3-class model (softmax output), and a CSV with its two feature columns."""
    import glassnet as gn
    from glassnet import layers

    folder = tmp_path_factory.mktemp("classifier")
    model = gn.Sequential([layers.Input(shape=(2,)), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    data = write_csv(folder / "new.csv", ["a", "b"], [["0", "1"], ["2", "3"], ["1", "1"]])
    return model, data


GOOD_METADATA = {"task": "classification", "features": ["a", "b"], "target": "species",
                 "classes": ["x", "y", "z"]}


@pytest.mark.parametrize("change, fragment", [
    # A short list gave an IndexError traceback, a dict a KeyError traceback, and a string
    # labelled every prediction with one of its characters.
    ({"classes": ["x"]}, "'classes'"),
    ({"classes": {"0": "x", "1": "y"}}, "'classes'"),
    ({"classes": "xyz"}, "'classes'"),
    ({"classes": ["x", "y", 3]}, "'classes'"),
    ({"classes": ["x", "x", "z"]}, "'classes'"),
    ({"features": "ab"}, "'features'"),
    ({"features": ["a"]}, "'features'"),
    ({"features": ["a", "a"]}, "'features'"),
    ({"features": [1, 2]}, "'features'"),
    ({"task": ["classification"]}, "'task'"),
    ({"target": {"x": 1}}, "'target'"),
])
@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_hostile_metadata_is_one_line_and_status_2(classifier, tmp_path, capsys, change,
                                                   fragment, command):
    from glassnet import saving

    model, data = classifier
    path = tmp_path / "model.glassnet"
    saving.save_model(model, path, metadata={**GOOD_METADATA, **change})
    assert cli.main([command, str(path), str(data)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err
    assert err.startswith("glassnet: error: ") and err.count("\n") == 1, err
    assert "model.glassnet" in err and "metadata" in err and fragment in err, err


def test_good_metadata_predicts(classifier, tmp_path, capsys):
    from glassnet import saving

    model, data = classifier
    path = tmp_path / "model.glassnet"
    saving.save_model(model, path, metadata=GOOD_METADATA)
    assert cli.main(["predict", str(path), str(data)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "prediction" and len(lines) == 4 and set(lines[1:]) <= {"x", "y", "z"}

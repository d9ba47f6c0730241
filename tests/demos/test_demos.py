"""Each demo runs and writes its figures, model and metrics.json; fast ones reach their targets."""

import json

import numpy as np
import pytest

import glassnet as gn
from conftest import data_dir, require_data
from glassnet.demos import DEMOS, run_demo, run_tour

PNG = b"\x89PNG\r\n\x1a\n"


def _check_outputs(result, out, figures):
    assert sorted(p.name for p in result.figures) == sorted(figures)
    for name in figures:
        assert (out / name).read_bytes()[:8] == PNG
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["demo"] == result.name and metrics["command"].startswith("glassnet demo")
    model = gn.load_model(out / "model.glassnet")
    assert model.count_params() > 0
    return metrics


def test_tiny_learns_the_table_at_full_length(tmp_path):
    lines = []
    result = run_demo("tiny", tmp_path, verbose=0, echo=lines.append)
    metrics = _check_outputs(result, tmp_path, ["loss.png"])
    assert metrics["accuracy"] == 1.0
    losses = [float(line.split()[-1]) for line in lines if line.startswith("iteration")]
    assert losses[-1] < losses[0] / 10  # the loss printed as it falls
    assert np.allclose(np.round(metrics["predictions"]), metrics["targets"])


def test_regression_reaches_r2_098(tmp_path):
    result = run_demo("regression", tmp_path, verbose=0, echo=lambda line: None)
    metrics = _check_outputs(result, tmp_path, ["loss.png", "predicted_vs_actual.png"])
    assert metrics["test_r2"] >= 0.98


def test_bmi_reaches_98_percent(tmp_path):
    result = run_demo("bmi", tmp_path, verbose=0, echo=lambda line: None)
    metrics = _check_outputs(result, tmp_path, ["learning_curves.png", "decision_boundary.png"])
    assert metrics["test_accuracy"] >= 0.98


def test_digits_seed_and_modern_recipes_at_full_length(tmp_path):
    require_data("semeion.data")
    lines = []
    result = run_demo("digits", tmp_path, verbose=0, data_dir=str(data_dir()),
                      echo=lines.append)
    metrics = _check_outputs(result, tmp_path, ["seed_recipe.png", "learning_curves.png",
                                                "guesses.png", "confusion_matrix.png",
                                                "diagnostics.png"])
    assert metrics["test_size"] == 319
    assert metrics["seed_recipe_test_accuracy"] >= 0.88
    assert metrics["modern_recipe_test_accuracy_mean"] >= 0.93
    assert sum(line.startswith("Actual: ") for line in lines) == 5
    assert sum(line.startswith("Guess: ") for line in lines) == 5
    assert any(line.startswith("Accuracy: ") for line in lines)
    assert (tmp_path / "seed_recipe.glassnet").exists()


@pytest.mark.parametrize("name,target", [("mnist", 0.98), ("fashion", 0.89)])
def test_mnist_mlp_demos_reach_their_targets_in_20_epochs(name, target, tmp_path):
    require_data("mnist/train-images-idx3-ubyte.gz" if name == "mnist"
                 else "fashion-mnist/train-images-idx3-ubyte.gz")
    result = run_demo(name, tmp_path, verbose=0, data_dir=str(data_dir()),
                      echo=lambda line: None)
    metrics = _check_outputs(result, tmp_path, ["learning_curves.png", "guesses.png",
                                                "confusion_matrix.png"])
    assert metrics["epochs"] == 20
    assert metrics["test_accuracy"] >= target


def test_tour_skips_missing_data_and_writes_one_report(tmp_path, monkeypatch):
    import urllib.error

    from glassnet.datasets import _files

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network in this test")

    monkeypatch.setattr(_files, "_urlopen", offline)
    monkeypatch.delenv("GLASSNET_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    lines = []
    results = run_tour(tmp_path, epochs=2, verbose=0, data_dir=str(tmp_path / "empty"),
                       echo=lines.append, names=["tiny", "digits"])
    assert [r.name for r in results] == ["tiny", "digits"]
    assert results[0].error is None and results[1].error is not None
    skipped = [line for line in lines if line.startswith("digits: skipped")]
    assert len(skipped) == 1 and "\n" not in skipped[0]
    assert "semeion.data" in skipped[0] and "put it at" in skipped[0]   # how to get it
    assert not (tmp_path / "digits").exists()
    page = (tmp_path / "report.html").read_text()
    assert "data:image/png;base64," in page and "glassnet demo tiny" in page
    assert "Skipped" in page


def test_unknown_demo_lists_the_valid_ones(tmp_path):
    with pytest.raises(ValueError, match="valid names: " + ", ".join(DEMOS)):
        run_demo("nope", tmp_path)

"""The CNN and recurrent demos: they run end to end on small subsets and learn; the sine data
and the results script do what they say. The full-length results come from
examples/results_issue3.py (minutes to tens of minutes), not from these tests."""

import functools
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from conftest import data_dir, require_data
from glassnet.demos import DEMOS, cnn, run_demo, sequence

PNG = b"\x89PNG\r\n\x1a\n"
SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "results_issue3.py"


def _quiet(line):
    pass


def _check_outputs(result, out, figures, model_files=("model.glassnet",)):
    assert sorted(p.name for p in result.figures) == sorted(figures)
    for name in figures:
        assert (out / name).read_bytes()[:8] == PNG
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["demo"] == result.name
    assert metrics["command"].startswith(f"glassnet demo {result.name}")
    for name in model_files:
        assert gn.load_model(out / name).count_params() > 0
    return metrics


def test_both_demos_are_in_the_tour():
    assert DEMOS["mnist-cnn"].run is cnn.run and DEMOS["mnist-cnn"].needs == "mnist/*.gz"
    assert DEMOS["sequence"].run is sequence.run and DEMOS["sequence"].needs == "mnist/*.gz"


def test_mnist_cnn_demo_on_a_subset_learns_and_draws(tmp_path, monkeypatch):
    require_data("mnist/train-images-idx3-ubyte.gz")
    full_load = cnn.load_images
    monkeypatch.setattr(cnn, "load_images", lambda which, folder, size: full_load(which, folder,
                                                                                    3000))
    result = run_demo("mnist-cnn", tmp_path, epochs=2, verbose=0, data_dir=str(data_dir()),
                      echo=_quiet)
    metrics = _check_outputs(result, tmp_path, ["learning_curves.png", "guesses.png",
                                                "confusion_matrix.png", "first_layer.png"])
    assert metrics["epochs"] == 2 and metrics["train_size"] == 3000
    assert metrics["test_size"] == 1000 and len(metrics["epoch_seconds"]) == 2
    assert metrics["test_accuracy"] > 0.7      # chance is 0.10; 2 epochs on 3000 digits


def test_saved_cnn_predicts_as_the_trained_one(tmp_path):
    model = cnn.small_cnn(cnn.CNNRecipe(filters=(4, 8), dense=16), steps=4, seed=1)
    x = np.random.default_rng(0).random((64, 28, 28, 1), dtype=np.float32)
    y = np.arange(64) % 10
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)   # BN's moving statistics move
    model.save(tmp_path / "cnn.glassnet")
    loaded = gn.load_model(tmp_path / "cnn.glassnet")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_first_layer_figure_has_a_filter_and_a_map_per_channel():
    model = cnn.small_cnn(cnn.CNNRecipe(filters=(6, 4), dense=8))
    figure = cnn.first_layer_figure(model, np.zeros((28, 28, 1), dtype=np.float32))
    assert len(figure.axes) == 1 + 2 * 6       # the input, then 6 filters and 6 maps


def test_sequence_demo_on_a_subset_learns_and_draws(tmp_path, monkeypatch):
    require_data("mnist/train-images-idx3-ubyte.gz")
    monkeypatch.setattr(sequence, "lstm_experiment",
                        functools.partial(sequence.lstm_experiment, train_size=3000))
    monkeypatch.setattr(sequence, "gru_experiment",
                        functools.partial(sequence.gru_experiment, length=3000))
    result = run_demo("sequence", tmp_path, epochs=3, verbose=0, data_dir=str(data_dir()),
                      echo=_quiet)
    metrics = _check_outputs(result, tmp_path,
                             ["learning_curves.png", "guesses.png", "confusion_matrix.png",
                              "gru_learning_curves.png", "forecast.png"],
                             model_files=("model.glassnet", "gru.glassnet"))
    assert metrics["lstm_epochs"] == 3 and metrics["gru_epochs"] == 3
    assert metrics["lstm_test_accuracy"] > 0.6   # 3 epochs on 3000 digits; chance 0.10
    assert metrics["gru_mse"] < metrics["gru_baseline_mse"] / 2


def test_sine_windows_pair_each_window_with_the_next_value():
    noisy, clean = sequence._sine_wave(5000, seed=3)
    assert noisy.dtype == np.float32 and noisy.shape == clean.shape == (5000,)
    assert abs(np.std(noisy - clean) - sequence.SINE_NOISE) < 0.005
    np.testing.assert_allclose(clean[:3], np.sin(sequence.SINE_STEP * np.arange(3)), atol=1e-7)
    x, y = sequence._windows(noisy, 4)
    assert x.shape == (4996, 4, 1) and y.shape == (4996, 1)
    np.testing.assert_array_equal(x[10, :, 0], noisy[10:14])
    assert y[10, 0] == noisy[14]


def test_sine_splits_keep_time_order_and_clean_targets():
    train, validation, test, clean_test = sequence.sine_splits(1000, seed=0)
    noisy, clean = sequence._sine_wave(1000, seed=0)
    sizes = [len(part[0]) for part in (train, validation, test)]
    assert sum(sizes) == 1000 - sequence.WINDOW
    # the first test target comes right after the last validation target, in time
    first_test = sequence.WINDOW + sizes[0] + sizes[1]
    assert validation[1][-1, 0] == noisy[first_test - 1] and test[1][0, 0] == noisy[first_test]
    np.testing.assert_array_equal(clean_test[:, 0], clean[first_test:])


def _load_script():
    spec = importlib.util.spec_from_file_location("results_issue3", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_results_script_judges_and_tabulates_records(tmp_path, capsys):
    script = _load_script()
    assert script.passed("cnn-mnist", {"test_accuracy": 0.9901, "epochs": 10})
    assert not script.passed("cnn-mnist", {"test_accuracy": 0.9930, "epochs": 11})
    assert not script.passed("cnn-fashion", {"test_accuracy": 0.9099})
    assert script.passed("lstm-mnist", {"test_accuracy": 0.97})
    assert script.passed("gru-sine", {"mse": 0.002, "baseline_mse": 0.010})
    assert not script.passed("gru-sine", {"mse": 0.0021, "baseline_mse": 0.010})
    record = {"name": "lstm-mnist", "test_accuracy": 0.9812, "epochs": 5, "seconds": 300.0,
              "passed": True}
    (tmp_path / "lstm-mnist.json").write_text(json.dumps(record))
    assert script.main(["--table", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "98.12%" in printed and "not run yet: cnn-mnist, cnn-fashion, gru-sine" in printed
    assert json.loads((tmp_path / "results.json").read_text()) == [record]


def test_results_script_refuses_unknown_experiments():
    with pytest.raises(SystemExit):
        _load_script().main(["--only", "nope", "--table"])

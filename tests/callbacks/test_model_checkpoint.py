"""ModelCheckpoint on a fake model: file names, best-only, save_freq, argument checks."""

from __future__ import annotations

import pytest
from _fake_fit import run_fit, val_losses

from glassnet import callbacks as cb


def test_model_checkpoint_formats_epoch_and_logs_into_the_path(tmp_path):
    pattern = str(tmp_path / "ckpt-{epoch:02d}-{val_loss:.2f}.glassnet")
    model, _ = run_fit([cb.ModelCheckpoint(pattern)], val_losses(0.5, 0.333, 0.7))
    names = sorted(path.name for path in tmp_path.iterdir())
    assert names == ["ckpt-01-0.50.glassnet", "ckpt-02-0.33.glassnet", "ckpt-03-0.70.glassnet"]
    assert [kind for kind, _ in model.saved] == ["model"] * 3


def test_model_checkpoint_save_best_only(tmp_path):
    pattern = str(tmp_path / "{epoch}.glassnet")
    checkpoint = cb.ModelCheckpoint(pattern, save_best_only=True)
    run_fit([checkpoint], val_losses(0.5, 0.6, 0.4, 0.45, 0.4))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["1.glassnet", "3.glassnet"]
    assert checkpoint.best == 0.4


def test_model_checkpoint_save_best_only_max_mode_and_threshold(tmp_path):
    pattern = str(tmp_path / "{epoch}.weights.npz")
    checkpoint = cb.ModelCheckpoint(pattern, monitor="val_accuracy", save_best_only=True,
                                    save_weights_only=True, initial_value_threshold=0.55)
    logs = [{"val_accuracy": value} for value in (0.5, 0.6, 0.58, 0.7)]
    model, _ = run_fit([checkpoint], logs)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["2.weights.npz", "4.weights.npz"]
    assert {kind for kind, _ in model.saved} == {"weights"}


def test_model_checkpoint_best_only_without_monitor_warns_and_saves(tmp_path):
    checkpoint = cb.ModelCheckpoint(str(tmp_path / "m.glassnet"), save_best_only=True)
    with pytest.warns(UserWarning, match="only with val_loss available"):
        model, _ = run_fit([checkpoint], [{"loss": 1.0}])
    assert len(model.saved) == 1


def test_model_checkpoint_save_freq_counts_batches_across_epochs(tmp_path):
    pattern = str(tmp_path / "e{epoch}-b{batch}.glassnet")
    checkpoint = cb.ModelCheckpoint(pattern, save_freq=3)
    run_fit([checkpoint], val_losses(1.0, 1.0), steps=4)
    # batches 1..8 overall: saves after the 3rd (epoch 1, batch 3) and the 6th (epoch 2, batch 2)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["e1-b3.glassnet",
                                                                "e2-b2.glassnet"]


def test_model_checkpoint_creates_the_folder(tmp_path):
    path = tmp_path / "a" / "b" / "model.glassnet"
    run_fit([cb.ModelCheckpoint(path)], val_losses(1.0))
    assert path.read_text() == "model"


@pytest.mark.parametrize(
    "filepath, weights_only",
    [("m.weights.npz", False), ("m.h5", False), ("m.glassnet", True), ("m.npz", True),
     ("m.keras", True), ("m.weights.h5", False)],
)
def test_model_checkpoint_rejects_wrong_extensions(filepath, weights_only):
    with pytest.raises(ValueError, match="must end in"):
        cb.ModelCheckpoint(filepath, save_weights_only=weights_only)


@pytest.mark.parametrize("save_freq", ["steps", 0, -2, 1.5, True])
def test_model_checkpoint_rejects_bad_save_freq(save_freq):
    with pytest.raises(ValueError, match="save_freq"):
        cb.ModelCheckpoint("m.glassnet", save_freq=save_freq)


def test_model_checkpoint_missing_format_field_names_it(tmp_path):
    checkpoint = cb.ModelCheckpoint(str(tmp_path / "{val_auc:.2f}.glassnet"))
    with pytest.raises(KeyError, match="val_auc"):
        run_fit([checkpoint], val_losses(1.0))


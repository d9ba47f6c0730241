"""CSVLogger on a fake model: the file after every epoch, append, separators."""

from __future__ import annotations

import csv

from _fake_fit import run_fit, val_losses

from glassnet import callbacks as cb


def read_rows(path, separator=","):
    with open(path, newline="") as file:
        return list(csv.reader(file, delimiter=separator))


def test_csv_logger_writes_header_and_one_row_per_epoch(tmp_path):
    path = tmp_path / "log.csv"
    rows_after_first_epoch = []
    spy = cb.LambdaCallback(
        on_epoch_end=lambda epoch, logs: rows_after_first_epoch.append(len(read_rows(path)))
    )
    logs = [{"loss": 0.5, "accuracy": 0.75, "val_loss": 0.25},
            {"loss": 0.25, "accuracy": 0.875}]
    run_fit([cb.CSVLogger(path), spy], logs)
    assert read_rows(path) == [
        ["epoch", "accuracy", "loss", "val_loss"],
        ["0", "0.75", "0.5", "0.25"],
        ["1", "0.875", "0.25", "NA"],
    ]
    assert rows_after_first_epoch == [2, 3]  # on disk after every epoch
    assert not [p for p in tmp_path.iterdir() if p.name != "log.csv"]  # no temporary left


def test_csv_logger_append_and_overwrite(tmp_path):
    path = tmp_path / "log.csv"
    run_fit([cb.CSVLogger(path, separator=";")], val_losses(0.5))
    run_fit([cb.CSVLogger(path, separator=";", append=True)], val_losses(0.25, 0.125))
    assert read_rows(path, ";") == [
        ["epoch", "loss", "val_loss"],
        ["0", "1.0", "0.5"],
        ["0", "1.0", "0.25"],
        ["1", "1.0", "0.125"],
    ]
    run_fit([cb.CSVLogger(path, separator=";")], val_losses(2.0))
    assert read_rows(path, ";") == [["epoch", "loss", "val_loss"], ["0", "1.0", "2.0"]]


def test_csv_logger_append_to_a_new_file_writes_a_header(tmp_path):
    path = tmp_path / "new.csv"
    run_fit([cb.CSVLogger(path, append=True)], [{"loss": 0.5}])
    assert read_rows(path) == [["epoch", "loss"], ["0", "0.5"]]

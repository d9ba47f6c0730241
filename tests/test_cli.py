"""The `glassnet` command line: --version, --help, `info`, and one-line errors."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers, optimizers, saving
from glassnet.cli import main


def run_module(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "glassnet", *args], capture_output=True,
                          text=True, timeout=120, env=env)


@pytest.fixture
def model_file(tmp_path, rng):
    model = gn.Sequential([layers.Input(shape=(4,)),
                           layers.Dense(5, activation="relu", name="hidden"),
                           layers.Dense(3, activation="softmax", name="output")])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.25, momentum=0.5),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    x = rng.standard_normal((8, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 8)]
    for _ in range(7):
        model.train_on_batch(x, y)
    path = tmp_path / "net.glassnet"
    model.save(path)
    return path


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2
    assert err.startswith("glassnet: error: ")
    assert err.count("\n") == 1 and err.endswith("\n")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"glassnet {gn.__version__}\n"
    assert gn.__version__ == "0.1.0"


def test_help_lists_info(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: glassnet")
    assert "info" in out and "--version" in out
    assert main(["info", "--help"]) == 0
    assert "MODEL_FILE" in capsys.readouterr().out


def test_info(model_file, capsys):
    assert main(["info", str(model_file)]) == 0
    out = capsys.readouterr().out
    for expected in [
        "hidden (Dense)", "output (Dense)", "(None, 5)", "(None, 3)",
        "25", "18", "Total params: 43",                # 4*5 + 5 and 5*3 + 3
        "SGD(", "learning_rate=0.25", "momentum=0.5", "CategoricalCrossentropy",
        "accuracy", "Optimizer steps taken: 7", "version 1",
        f"{model_file.stat().st_size:,} bytes",
    ]:
        assert expected in out, expected


def test_info_uncompiled(tmp_path, capsys):
    model = gn.Sequential([layers.Input(shape=(2,)), layers.Dense(1)])
    model.save(tmp_path / "plain.glassnet")
    assert main(["info", str(tmp_path / "plain.glassnet")]) == 0
    out = capsys.readouterr().out
    assert "Compiled: no" in out and "Total params: 3" in out


def test_info_missing_file(tmp_path, capsys):
    missing = tmp_path / "nothing.glassnet"
    code = main(["info", str(missing)])
    captured = capsys.readouterr()
    assert captured.out == ""
    assert_one_line_error(code, captured.err, "nothing.glassnet")


def test_info_broken_file(model_file, capsys):
    model_file.write_bytes(model_file.read_bytes()[:100])
    code = main(["info", str(model_file)])
    assert_one_line_error(code, capsys.readouterr().err, "net.glassnet", "not a valid zip")


def test_bad_arguments(capsys):
    assert_one_line_error(main([]), capsys.readouterr().err, "required")
    assert_one_line_error(main(["info"]), capsys.readouterr().err, "MODEL_FILE")
    assert_one_line_error(main(["frobnicate"]), capsys.readouterr().err, "frobnicate")
    assert_one_line_error(main(["info", "m.glassnet", "--bogus"]), capsys.readouterr().err,
                          "unrecognized arguments: --bogus")


def test_python_dash_m(model_file):
    result = run_module("--version")
    assert result.returncode == 0 and result.stdout == "glassnet 0.1.0\n"
    result = run_module("info", str(model_file))
    assert result.returncode == 0, result.stderr
    assert "hidden (Dense)" in result.stdout
    model_file.write_bytes(b"PK\x03\x04 definitely not a model")
    result = run_module("info", str(model_file))
    assert_one_line_error(result.returncode, result.stderr, "net.glassnet")


def test_info_on_a_hostile_file_is_one_line(model_file, capsys, monkeypatch):
    # A deflated weights member was inflated first: NumPy's _ArrayMemoryError escaped as a
    # traceback. The file is now refused before inflating; any MemoryError is one line too.
    with zipfile.ZipFile(model_file) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist()}
    buffer = io.BytesIO()
    np.savez(buffer, **{f"{i:04d}": np.zeros(2**24, np.uint8) for i in range(4)})
    members["model.weights.npz"] = buffer.getvalue()
    with zipfile.ZipFile(model_file, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    code = main(["info", str(model_file)])
    assert_one_line_error(code, capsys.readouterr().err, "net.glassnet",
                          "model.weights.npz would decompress to")

    def no_memory(path):
        raise MemoryError("Unable to allocate 1.3 GiB for an array")

    monkeypatch.setattr(saving, "model_summary_lines", no_memory)
    code = main(["info", str(model_file)])
    assert_one_line_error(code, capsys.readouterr().err, "out of memory")

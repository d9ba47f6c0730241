"""What ONNX export refuses, and how it says so: one clear error naming the class, the
option or the install command, never a file that computes something else."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from _onnx import require

import glassnet as gn
from glassnet import activations, layers
from glassnet.export.onnx import to_onnx


@pytest.fixture(autouse=True)
def _onnx():
    require("onnx")


class Doubled(layers.Dense):
    """A user's subclass: its forward may differ from Dense's, so it is not a Dense."""

    def forward(self, x, training=False):
        return 2 * super().forward(x, training)


class Square(activations.ActivationFunction):
    name = "square"

    def __call__(self, x):
        return x * x

    def forward(self, x, training=False):
        self._x = x
        return x * x

    def backward(self, dy):
        return 2 * self._x * dy


def test_a_layer_without_converter_is_named():
    model = gn.Sequential([gn.Input(shape=(3,)), Doubled(2, name="twice")])
    with pytest.raises(NotImplementedError, match=r"layer 'twice' of class Doubled has no ONNX "
                                                  r"converter; supported layers: .*Dense"):
        to_onnx(model)


def test_an_activation_without_rule_is_named():
    model = gn.Sequential([gn.Input(shape=(3,)), layers.Dense(2, activation=Square())])
    with pytest.raises(NotImplementedError, match="activation Square has no ONNX rule"):
        to_onnx(model)


def test_a_subclassed_model_is_refused():
    class Custom(gn.Sequential):
        pass

    model = Custom([gn.Input(shape=(3,)), layers.Dense(2)])
    with pytest.raises(NotImplementedError, match="model .* is a Custom; export writes "
                                                  "Sequential and Functional models"):
        to_onnx(model)


def test_an_unbuilt_sequential_is_refused():
    with pytest.raises(ValueError, match="is not built"):
        to_onnx(gn.Sequential([layers.Dense(2)]))


def test_two_outputs_are_refused():
    model = gn.Sequential([gn.Input(shape=(4, 3)),
                           layers.Bidirectional(layers.LSTM(2), merge_mode=None)])
    with pytest.raises(NotImplementedError, match="merge_mode=None"):
        to_onnx(model)


def test_a_model_with_two_outputs_is_refused():
    x = gn.Input(shape=(3,))
    model = gn.Model(x, [layers.Dense(2, name="p")(x), layers.Dense(1, name="q")(x)])
    with pytest.raises(ValueError, match=r"has 2 outputs \['p', 'q'\]; export supports"):
        to_onnx(model)


def test_formats_and_arguments(tmp_path):
    model = gn.Sequential([gn.Input(shape=(3,)), layers.Dense(2)])
    with pytest.raises(ValueError, match="format='tf_saved_model' needs a backend"):
        model.export(tmp_path / "m", format="tf_saved_model")
    with pytest.raises(ValueError, match="Unrecognized format='pmml'"):
        model.export(tmp_path / "m", format="pmml")
    with pytest.raises(ValueError, match="opset_version must be an integer from 17"):
        model.export(tmp_path / "m.onnx", opset_version=13, verbose=False)
    with pytest.raises(TypeError, match="unexpected arguments"):
        model.export(tmp_path / "m.onnx", verbose=False, dynamic_axes={})


def test_missing_onnx_is_one_line_with_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)          # import onnx now fails
    model = gn.Sequential([gn.Input(shape=(3,)), layers.Dense(2)])
    with pytest.raises(ImportError, match=r'pip install "glassnet\[onnx\]"') as error:
        model.export(tmp_path / "m.onnx", verbose=False)
    assert "\n" not in str(error.value)
    assert not (tmp_path / "m.onnx").exists()
    np.testing.assert_equal(model.predict(np.ones((1, 3)), verbose=0).shape, (1, 2))


def test_import_glassnet_loads_neither_onnx_nor_sklearn():
    """Both are optional extras: imported when a model is exported / a wrapper is made."""
    import subprocess

    code = ("import sys, glassnet, glassnet.export; "
            "print(sorted(m for m in ('onnx', 'onnxruntime', 'sklearn') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"

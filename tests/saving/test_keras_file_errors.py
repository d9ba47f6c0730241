"""What glassnet refuses in Keras files, and how it says so (no Keras needed, h5py only).

Files are written by glassnet and then edited: a Keras option glassnet lacks, a class it
does not have, a lambda, a mask glassnet would not pass on, a damaged weights part. Each is
refused with a ModelFileError that names the file, the layer and the option, never loaded as
an approximation; and a glassnet model that a Keras file cannot hold is refused on saving.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile

import numpy as np
import pytest

import glassnet as gn
from glassnet import activations, layers
from glassnet.saving import KerasExportError, ModelFileError
from glassnet.saving.keras_h5 import read_variables, variables_bytes


def _sequential():
    model = gn.Sequential([layers.Input((6, 4)), layers.Conv1D(3, 2, padding="causal"),
                           layers.LayerNormalization(), layers.GRU(3), layers.Dense(
                               2, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).standard_normal((4, 6, 4)).astype("float32")
    model.train_on_batch(x, np.eye(2, dtype="float32")[[0, 1, 1, 0]])
    return model


def _functional():
    ids = layers.Input((5,), name="ids")
    hidden = layers.LSTM(3)(layers.Embedding(9, 2, name="embed")(ids))
    return gn.Model(ids, layers.Dense(2)(hidden))


@pytest.fixture
def saved(h5py, tmp_path):
    path = tmp_path / "model.keras"
    _sequential().save(path)
    return path


def _members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _write(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _edit(path, edit):
    """Rewrite config.json with `edit(config)` (which changes it in place)."""
    members = _members(path)
    config = json.loads(members["config.json"])
    edit(config)
    members["config.json"] = json.dumps(config).encode()
    return _write(path, members)


def _layer(config, class_name):
    return next(spec for spec in config["config"]["layers"] if spec["class_name"] == class_name)


def _refused(path, *fragments):
    with pytest.raises(ModelFileError) as caught:
        gn.load_model(path)
    message = str(caught.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    return message


# ----- options and classes glassnet lacks ---------------------------------------------------
@pytest.mark.parametrize("class_name, key, value, fragments", [
    ("LayerNormalization", "rms_scaling", True, ["LayerNormalization", "rms_scaling"]),
    ("Conv1D", "groups", 3, ["Conv1D", "groups=3"]),
    ("Dense", "kernel_constraint", {"module": "keras.constraints", "class_name": "Clip",
                                    "config": {}}, ["Dense", "kernel_constraint", "Clip"]),
    ("Dense", "activation", "threshold", ["Dense", "'threshold'"]),
    ("GRU", "recurrent_activation", "my_gate", ["GRU", "my_gate"]),
    ("Conv1D", "data_format", "channels_first", ["Conv1D", "channels_first"]),
    ("Dense", "dtype", {"module": "keras", "class_name": "DTypePolicy",
                        "config": {"name": "mixed_float16"}}, ["Dense", "mixed_float16"]),
    ("Dense", "kernel_regularizer", {"module": "keras.regularizers",
                                     "class_name": "SpectralRegularizer", "config": {}},
     ["SpectralRegularizer"]),
    ("Dense", "quantization_config", {"mode": "int8"}, ["quantization_config"]),
])
def test_an_option_glassnet_lacks_is_named(saved, class_name, key, value, fragments):
    _edit(saved, lambda config: _layer(config, class_name)["config"].__setitem__(key, value))
    _refused(saved, *fragments)


def test_code_named_in_a_file_is_never_run(saved):
    original = saved.read_bytes()
    lambda_layer = {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
                    "config": {"name": "evil", "function": {
                        "class_name": "__lambda__", "config": {"code": "gASV..."}}}}
    _edit(saved, lambda config: config["config"]["layers"].insert(2, lambda_layer))
    _refused(saved, "'Lambda'", "never imported")
    saved.write_bytes(original)
    _edit(saved, lambda config: _layer(config, "Dense")["config"].__setitem__(
        "activation", {"module": "my_package.evil", "class_name": "function",
                       "config": "payload", "registered_name": "function"}))
    _refused(saved, "never loads code")
    saved.write_bytes(original)
    _edit(saved, lambda config: config.__setitem__("class_name", "MyModel"))
    _refused(saved, "'MyModel'", "subclassed")


def test_a_mask_reaching_a_softmax_layer_is_refused(h5py, tmp_path):
    """Keras' Softmax layer applies a mask it receives, glassnet's does not."""
    model = gn.Sequential([layers.Input((5,)), layers.Embedding(9, 3), layers.Softmax()])
    model.save(tmp_path / "softmax.keras")
    _edit(tmp_path / "softmax.keras", lambda config: _layer(
        config, "Embedding")["config"].__setitem__("mask_zero", True))
    _refused(tmp_path / "softmax.keras", "Softmax", "mask")


def test_file_level_problems(saved):
    members = _members(saved)
    _write(saved, {**members, "metadata.json": b'{"keras_version": "2.15.0"}'})
    _refused(saved, "keras_version", "Keras 3")
    _write(saved, {**members, "assets/vocabulary.txt": b"a\nb\n"})
    _refused(saved, "assets")
    weights = members.pop("model.weights.h5")
    _write(saved, {**members, "model.weights.npz": weights})
    _refused(saved, "model.weights.h5")


@pytest.mark.parametrize("edit, fragments", [
    (lambda c: c["optimizer"].__setitem__("class_name", "Nadam"), ["Nadam"]),
    (lambda c: c["optimizer"]["config"].__setitem__("use_ema", True), ["use_ema"]),
    (lambda c: c.__setitem__("loss", "my_custom_loss"), ["my_custom_loss"]),   # a user's fn
    (lambda c: c.__setitem__("loss_weights", [1.0]), ["loss_weights"]),
    (lambda c: c.__setitem__("metrics", [["accuracy"], ["mae"]]), ["metrics"]),
])
def test_compile_settings_glassnet_lacks(saved, edit, fragments):
    _edit(saved, lambda config: edit(config["compile_config"]))
    _refused(saved, "compile_config", *fragments)
    assert gn.load_model(saved, compile=False).predict(np.zeros((1, 6, 4)), verbose=0).shape \
        == (1, 2)


def test_weights_that_do_not_fit_are_refused_before_any_is_set(saved):
    members = _members(saved)
    _edit(saved, lambda config: _layer(config, "Dense")["config"].__setitem__("units", 3))
    _refused(saved, "dense", "shape (3, 3)", "(3, 2)")
    arrays = read_variables(members["model.weights.h5"], "test")
    arrays["layers/extra"] = [np.zeros(2, "float32")]
    members["model.weights.h5"] = variables_bytes([(p, p, a) for p, a in arrays.items()])
    _refused(_write(saved, members), "layers/extra")


def test_keras_weights_file_checks(h5py, tmp_path):
    model = _sequential()
    model.save_weights(tmp_path / "w.weights.h5")
    other = _sequential()
    other.load_weights(tmp_path / "w.weights.h5")
    for expected, actual in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(expected, actual)
    assert other.optimizer.iterations == model.optimizer.iterations
    smaller = gn.Sequential([layers.Input((6, 4)), layers.Conv1D(2, 2), layers.Flatten(),
                             layers.Dense(2)])
    before = smaller.get_weights()
    with pytest.raises(ModelFileError, match="w.weights.h5"):
        smaller.load_weights(tmp_path / "w.weights.h5")
    for expected, actual in zip(before, smaller.get_weights()):
        np.testing.assert_array_equal(expected, actual)       # left as it was


def test_a_user_defined_keras_class_names_what_to_do(saved):
    """A layer registered in Keras by its user (registered_name "package>Class"): its code is
    not in the file, and glassnet says how to bring such a layer over."""
    custom = {"module": None, "class_name": "Scale", "registered_name": "my_package>Scale",
              "config": {"name": "scale", "factor": 2.0}}
    _edit(saved, lambda config: config["config"]["layers"].insert(2, custom))
    _refused(saved, "'my_package>Scale'", "user-defined", ".glassnet", "register_serializable")


class _Scale(layers.Layer):
    """A user's call()-style layer: y = 2 x."""

    def call(self, inputs):
        return inputs * 2.0


# ----- models a Keras file cannot hold ------------------------------------------------------
@pytest.mark.parametrize("make, fragments", [
    (lambda: gn.Sequential([layers.Input((3,)), _Scale()]),
     ["(_Scale)", "user-defined", ".glassnet", "register_serializable", "custom_objects"]),
    (lambda: gn.Sequential([layers.Input((3,)), layers.Dense(
        2, activation=activations.LeakyReLU(0.1))]), ["activation", "LeakyReLU"]),
    (lambda: gn.Sequential([layers.Input((5,)), layers.Embedding(9, 3, mask_zero=True),
                            layers.Dense(4), layers.Softmax()]), ["Softmax", "mask"]),
    (lambda: gn.Sequential([layers.Dense(2)]), ["not built"]),
])
def test_models_keras_cannot_hold_are_refused_on_saving(h5py, tmp_path, make, fragments):
    with pytest.raises(KerasExportError) as caught:
        make().save(tmp_path / "refused.keras")
    for fragment in fragments:
        assert fragment in str(caught.value)
    assert not (tmp_path / "refused.keras").exists()



# ----- the format follows the extension -----------------------------------------------------
def test_extension_picks_the_format(h5py, tmp_path):
    model = _sequential()
    x = np.random.default_rng(1).standard_normal((3, 6, 4)).astype("float32")
    for name in ("m.keras", "m.glassnet"):
        model.save(tmp_path / name)
        loaded = gn.saving.load_model(tmp_path / name)
        np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                                   rtol=1e-6)
        assert loaded.optimizer.iterations == 1
    assert zipfile.ZipFile(tmp_path / "m.keras").namelist() == [
        "metadata.json", "config.json", "model.weights.h5"]
    with pytest.raises(ValueError, match="custom_objects"):
        gn.load_model(tmp_path / "m.keras", custom_objects={"Mine": object})
    with pytest.raises(FileExistsError):
        model.save(tmp_path / "m.keras", overwrite=False)
    with pytest.raises(ValueError, match=r"\.glassnet"):     # glassnet's format only, as before
        gn.saving.save_model(model, tmp_path / "other.keras")


def test_missing_h5py_names_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r'pip install "glassnet\[keras\]"'):
        _sequential().save(tmp_path / "m.keras")
    with pytest.raises(ImportError, match="h5py"):
        read_variables(io.BytesIO().getvalue(), "x")


def test_deflated_weights_are_checked_against_the_config_before_inflating(saved, h5py):
    # Issue 15 for .keras files: model.weights.h5 was inflated whole (1100:1 allowed) before
    # anything compared it with the model that config.json describes.
    import tracemalloc

    members = _members(saved)
    buffer = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buffer, "a") as h5_file:
        h5_file.create_dataset("layers/extra/vars/0", data=np.zeros(48 * 2**20, np.uint8))
    members["model.weights.h5"] = buffer.getvalue()
    with zipfile.ZipFile(saved, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    assert saved.stat().st_size < 300_000
    tracemalloc.start()
    try:
        _refused(saved, "model.weights.h5 would decompress to", "need at most")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, peak

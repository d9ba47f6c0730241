"""The .glassnet file: exact round trips, weights alone, and configs, classes or weights that
do not fit the model (each refused with a ModelFileError)."""

from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np
import pytest
from _saved_models import (
    assert_same_weights,
    edit_json,
    make_data,
    make_model,
    members,
    npz_bytes,
    rewrite,
    saved,
    trained,
)

import glassnet as gn
from _fuzzing import measured
from glassnet import layers, optimizers, regularizers
from glassnet.saving import (
    ModelFileError,
    load_model,
    load_weights,
    model_summary_lines,
    read_model_file,
    save_model,
    save_weights,
)


# ----- round trips -------------------------------------------------------------------------
def test_archive_layout(tmp_path, rng):
    model, path, _, _ = saved(tmp_path, rng)
    contents = members(path)
    assert sorted(contents) == sorted(["metadata.json", "config.json", "model.weights.npz",
                                       "optimizer.npz"])
    with zipfile.ZipFile(path) as zf:
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist())
    metadata = json.loads(contents["metadata.json"])
    assert metadata["format"] == "glassnet" and metadata["format_version"] == 1
    assert metadata["glassnet_version"] == gn.__version__
    assert metadata["class_name"] == "Sequential" and metadata["saved_at"]
    config = json.loads(contents["config.json"])
    assert config["class_name"] == "Sequential"
    assert config["compile_config"]["optimizer"]["class_name"] == "Adam"
    with np.load(io.BytesIO(contents["model.weights.npz"]), allow_pickle=False) as npz:
        assert sorted(npz.files) == [f"{i:04d}" for i in range(len(model.parameters()))]
        for i, weight in enumerate(model.get_weights()):
            assert np.array_equal(npz[f"{i:04d}"], weight)
    with np.load(io.BytesIO(contents["optimizer.npz"]), allow_pickle=False) as npz:
        assert int(npz["iterations"]) == 3


def test_round_trip_bitwise_predictions_and_config(tmp_path, rng):
    model, path, x, _ = saved(tmp_path, rng)
    loaded = load_model(path)
    assert type(loaded) is gn.Sequential and loaded.built and loaded.compiled
    assert loaded.get_config() == model.get_config()
    assert_same_weights(model, loaded)
    assert np.array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.optimizer.iterations == 3
    dense = loaded.layers[1]
    assert isinstance(dense.kernel_regularizer, regularizers.L2)
    assert dense.kernel_regularizer.get_config() == {"l2": pytest.approx(1e-3)}


def test_round_trip_keeps_regularized_loss(tmp_path, rng):
    model, path, x, y = saved(tmp_path, rng)
    loaded = load_model(path)
    # The penalties are part of the loss: equal only if the regularizers came back.
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    assert loaded._regularization_penalty() > 0


def test_float64_model(tmp_path, rng):
    model, x, _ = trained(rng, "sgd", dtype="float64")
    path = tmp_path / "f64.glassnet"
    save_model(model, path)
    loaded = load_model(path)
    assert all(w.dtype == np.float64 for w in loaded.get_weights())
    assert_same_weights(model, loaded)
    assert np.array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("make_optimizer", [
    lambda: optimizers.Adam(learning_rate=0.01),
    lambda: optimizers.SGD(learning_rate=0.1, momentum=0.9),
    lambda: optimizers.SGD(learning_rate=0.1, momentum=0.8, nesterov=True),
    lambda: optimizers.RMSprop(learning_rate=0.01, momentum=0.5, centered=True),
    lambda: optimizers.Adafactor(learning_rate=0.01),   # slots not shaped like the weights
    lambda: optimizers.Nadam(learning_rate=0.01),
], ids=["adam", "sgd_momentum", "sgd_nesterov", "rmsprop_centered", "adafactor", "nadam"])
def test_next_training_step_is_bitwise_identical(tmp_path, rng, make_optimizer):
    model, x, y = trained(rng, make_optimizer(), steps=4, dropout=False)
    path = tmp_path / "model.glassnet"
    model.save(path)
    loaded = load_model(path)
    for _ in range(2):
        assert loaded.train_on_batch(x, y) == model.train_on_batch(x, y)
        assert_same_weights(model, loaded)


def test_without_optimizer_state_next_step_differs(tmp_path, rng):
    """The previous test can fail: dropping optimizer.npz changes the next SGD-momentum step."""
    model, x, y = trained(rng, optimizers.SGD(learning_rate=0.1, momentum=0.9), dropout=False)
    path = tmp_path / "model.glassnet"
    model.save(path)
    rewrite(path, optimizer__npz=None)
    loaded = load_model(path)
    assert loaded.optimizer.iterations == 0
    loaded.train_on_batch(x, y)
    model.train_on_batch(x, y)
    assert not np.array_equal(loaded.get_weights()[0], model.get_weights()[0])


def test_compile_false_and_uncompiled_models(tmp_path, rng):
    model, path, x, _ = saved(tmp_path, rng)
    loaded = load_model(path, compile=False)
    assert not loaded.compiled
    assert np.array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))

    plain = make_model()
    save_model(plain, tmp_path / "plain.glassnet")
    assert "optimizer.npz" not in members(tmp_path / "plain.glassnet")
    again = load_model(tmp_path / "plain.glassnet")
    assert not again.compiled
    assert_same_weights(plain, again)


def test_compiled_but_untrained_has_no_optimizer_member(tmp_path):
    model = make_model()
    model.compile(optimizer="adam", loss="mse")
    model.save(tmp_path / "m.glassnet")
    assert "optimizer.npz" not in members(tmp_path / "m.glassnet")
    assert load_model(tmp_path / "m.glassnet").compiled


def test_suffix_and_overwrite(tmp_path, rng):
    model = make_model()
    for bad in ("model.keras", "model.h5", "model", ".glassnet"):
        with pytest.raises(ValueError, match=r"\.glassnet"):
            save_model(model, tmp_path / bad)
    path = tmp_path / "m.glassnet"
    model.save(path)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite"):
        model.save(path, overwrite=False)
    assert path.read_bytes() == before
    model.save(path, overwrite=True)
    with pytest.raises(TypeError, match="Model"):
        save_model(layers.Dense(3), tmp_path / "layer.glassnet")


def test_failure_mid_write_keeps_old_file(tmp_path, rng, monkeypatch):
    model, path, _, _ = saved(tmp_path, rng)
    before = path.read_bytes()
    original = zipfile.ZipFile.writestr
    calls = []

    def failing_writestr(self, name, data, *args, **kwargs):
        calls.append(name)
        if len(calls) == 3:            # two members are already in the temporary file
            raise OSError("disk full")
        return original(self, name, data, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", failing_writestr)
    model.train_on_batch(*make_data(rng))
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert len(calls) == 3
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.glassnet"]


# ----- weights only ------------------------------------------------------------------------
def test_save_and_load_weights(tmp_path, rng):
    model, x, _ = trained(rng, "adam")
    path = tmp_path / "m.weights.npz"
    model.save_weights(path)
    other = make_model()              # same architecture, different initial weights
    assert not np.array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))
    other.load_weights(path)
    assert_same_weights(model, other)
    assert np.array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))

    with pytest.raises(FileExistsError):
        save_weights(model, path, overwrite=False)
    for bad in ("m.npz", "m.weights.h5", "m.glassnet"):
        with pytest.raises(ValueError, match=r"\.weights\.npz"):
            save_weights(model, tmp_path / bad)
        with pytest.raises(ValueError, match=r"\.weights\.npz"):
            load_weights(model, tmp_path / bad)
    with pytest.raises(FileNotFoundError):
        load_weights(model, tmp_path / "absent.weights.npz")


def test_load_weights_validates_before_changing_anything(tmp_path, rng):
    model = make_model()
    before = model.get_weights()
    path = tmp_path / "bad.weights.npz"
    weights = {f"{i:04d}": w for i, w in enumerate(before)}

    weights["0002"] = np.zeros((8, 9), dtype=np.float32)      # third array: Dense(5) kernel
    path.write_bytes(npz_bytes(**weights))
    with pytest.raises(ModelFileError, match=r"kernel' .*expected shape \(8, 5\), got \(8, 9\)"):
        model.load_weights(path)
    weights = {f"{i:04d}": w for i, w in enumerate(before[:-1])}
    path.write_bytes(npz_bytes(**weights))
    with pytest.raises(ModelFileError, match="holds 5"):
        model.load_weights(path)
    path.write_bytes(npz_bytes(**{f"{i:04d}": w.astype(str) for i, w in enumerate(before)}))
    with pytest.raises(ModelFileError, match="numeric"):
        model.load_weights(path)
    for now, then in zip(model.get_weights(), before):
        assert np.array_equal(now, then)


# ----- configs, classes and weights that do not fit -------------------------------------
@pytest.mark.parametrize("class_name", ["os.system", "subprocess.Popen", "NoSuchModel"])
def test_unknown_model_class(tmp_path, rng, class_name):
    _, path, _, _ = saved(tmp_path, rng)
    edit_json(path, "config.json", lambda c: c.update(class_name=class_name))
    edit_json(path, "metadata.json", lambda m: m.update(class_name=class_name))
    with pytest.raises(ModelFileError, match=f"unknown layer '{class_name}'"):
        load_model(path)


def test_unknown_layer_and_optimizer_class(tmp_path, rng):
    _, path, _, _ = saved(tmp_path, rng)
    original = path.read_bytes()
    edit_json(path, "config.json",
              lambda c: c["config"]["layers"][1].update(class_name="os.system"))
    with pytest.raises(ModelFileError, match="unknown layer 'os.system'"):
        load_model(path)
    path.write_bytes(original)
    edit_json(path, "config.json",
              lambda c: c["compile_config"]["optimizer"].update(class_name="EvilOptimizer"))
    with pytest.raises(ModelFileError, match="unknown optimizer 'EvilOptimizer'"):
        load_model(path)
    assert load_model(path, compile=False).built     # compile=False never looks at it


def test_non_model_class_is_refused(tmp_path, rng):
    _, path, _, _ = saved(tmp_path, rng)
    edit_json(path, "config.json", lambda c: c.update(class_name="Dense"))
    edit_json(path, "metadata.json", lambda m: m.update(class_name="Dense"))
    with pytest.raises(ModelFileError, match="'Dense' is not a Model"):
        load_model(path)


def test_invalid_json_and_wrong_format(tmp_path, rng):
    _, path, _, _ = saved(tmp_path, rng)
    original = path.read_bytes()
    rewrite(path, config__json=b'{"class_name": "Sequential", ')
    with pytest.raises(ModelFileError, match="config.json is not valid JSON"):
        load_model(path)
    path.write_bytes(original)
    rewrite(path, metadata__json=b"[1, 2]")
    with pytest.raises(ModelFileError, match="JSON object"):
        load_model(path)
    path.write_bytes(original)
    edit_json(path, "metadata.json", lambda m: m.update(format_version=2))
    with pytest.raises(ModelFileError, match="format_version 2 is not supported"):
        load_model(path)
    path.write_bytes(original)
    edit_json(path, "metadata.json", lambda m: m.update(format="keras"))
    with pytest.raises(ModelFileError, match="'format' must be 'glassnet'"):
        load_model(path)


def test_wrong_weight_shape_and_count(tmp_path, rng):
    model, path, _, _ = saved(tmp_path, rng)
    weights = {f"{i:04d}": w for i, w in enumerate(model.get_weights())}
    original = path.read_bytes()
    weights["0000"] = np.zeros((6, 7), dtype=np.float32)
    rewrite(path, model__weights__npz=npz_bytes(**weights))
    with pytest.raises(ModelFileError,
                       match=r"weight 'dense(_\d+)?/kernel' .*expected shape \(6, 8\), "
                             r"got \(6, 7\)"):
        load_model(path)
    path.write_bytes(original)
    weights.pop("0005")
    rewrite(path, model__weights__npz=npz_bytes(**weights))
    with pytest.raises(ModelFileError, match="has 6 weight arrays.*holds 5"):
        load_model(path)
    path.write_bytes(original)
    weights = {f"{i:04d}": w for i, w in enumerate(model.get_weights())}
    weights["extra"] = np.zeros(1)
    rewrite(path, model__weights__npz=npz_bytes(**weights))
    with pytest.raises(ModelFileError, match="unexpected array name 'extra.npy'"):
        load_model(path)


def test_bad_optimizer_state(tmp_path, rng):
    model, path, _, _ = saved(tmp_path, rng)
    state = model.optimizer.get_state()
    state["momentum/0"] = np.zeros((2, 2), dtype=np.float32)
    rewrite(path, optimizer__npz=npz_bytes(**state))
    with pytest.raises(ModelFileError, match="optimizer.npz.*momentum/0"):
        load_model(path)


class _Double(layers.Layer):
    """A user layer that is not registered: loading needs custom_objects."""

    def forward(self, x, training=False):
        return x * x.dtype.type(2)

    def backward(self, dy):
        return dy * dy.dtype.type(2)


def test_custom_objects(tmp_path, rng):
    model = gn.Sequential([layers.Input(shape=(3,)), layers.Dense(2), _Double()])
    path = tmp_path / "custom.glassnet"
    model.save(path)
    with pytest.raises(ModelFileError, match="unknown layer '_Double'"):
        load_model(path)
    loaded = load_model(path, custom_objects={"_Double": _Double})
    x = rng.standard_normal((4, 3)).astype("float32")
    assert isinstance(loaded.layers[-1], _Double)
    assert np.array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


# ----- issue 15: hostile files, round 2 ------------------------------------------------------
def test_deflated_weights_are_checked_against_the_config_before_inflating(tmp_path, rng):
    # A 612 KB file peaked at 1.9 GB: model.weights.npz was inflated (and its arrays read)
    # before the count of weights was compared with the model's.
    model, path, _, _ = saved(tmp_path, rng)
    weights = {f"{i:04d}": w for i, w in enumerate(model.get_weights())}
    weights["0006"] = np.zeros(48 * 2**20, np.uint8)        # 48 MiB of zeros, deflated
    rewrite(path, model__weights__npz=npz_bytes(**weights))
    assert path.stat().st_size < 200_000
    for load in (load_model, read_model_file, model_summary_lines):
        with measured() as cost, pytest.raises(
                ModelFileError, match=r"model.weights.npz would decompress to 50,33\d,\d+ "
                                      r"bytes; the 6 weights .*119 values.* at most"):
            load(path)
        assert cost.peak < 4 * 2**20, load


def test_optimizer_state_is_checked_against_the_model_before_inflating(tmp_path, rng):
    model, path, _, _ = saved(tmp_path, rng)
    state = {**model.optimizer.get_state(), "m/0": np.zeros(48 * 2**20, np.uint8)}
    rewrite(path, optimizer__npz=npz_bytes(**state))
    with measured() as cost, pytest.raises(ModelFileError,
                                           match="optimizer.npz would decompress to"):
        load_model(path)
    assert cost.peak < 4 * 2**20


def _weights_with(model, index: int, value) -> bytes:
    weights = {f"{i:04d}": w for i, w in enumerate(model.get_weights())}
    weights[f"{index:04d}"] = value
    return npz_bytes(**weights)


@pytest.mark.parametrize("value, message", [
    # Each loaded silently and predicted NaN or garbage (at most a RuntimeWarning).
    (lambda w: np.where(w == w.flat[0], np.nan, w), "1 non-finite value"),
    (lambda w: np.full_like(w, np.inf), "40 non-finite values"),
    (lambda w: np.full(w.shape, 1e300), "1e\\+300 overflows float32"),
    (lambda w: np.full(w.shape, 2**62, np.int64), "integer 4611686018427387904 is not exact in "
                                                   "float32"),
    (lambda w: np.full(w.shape, 2**64 - 1, np.uint64), "integer 18446744073709551615"),
])
def test_weights_that_change_meaning_are_refused(tmp_path, rng, value, message):
    model, path, _, _ = saved(tmp_path, rng)
    kernel = model.get_weights()[2]                       # the second Dense's (8, 5) kernel
    rewrite(path, model__weights__npz=_weights_with(model, 2, value(kernel)))
    with pytest.raises(ModelFileError, match=rf"weight 'dense(_\d+)?/kernel' \(array 0002\): "
                                             rf".*{message}"):
        load_model(path)


def test_float32_values_that_overflow_a_float16_layer_are_refused(tmp_path):
    model = gn.Sequential([layers.Input(shape=(3,)), layers.Dense(2, dtype="float16")])
    path = tmp_path / "half.glassnet"
    model.save(path)
    kernel = np.full((3, 2), 1e5, np.float32)                  # float16 tops out at 65504
    rewrite(path, model__weights__npz=npz_bytes(**{"0000": kernel,
                                                   "0001": np.zeros(2, np.float32)}))
    with pytest.raises(ModelFileError, match=r"kernel' \(array 0000\): .*100000.0 overflows "
                                             r"float16"):
        load_model(path)


def test_big_endian_and_fortran_order_weights_load_exactly(tmp_path, rng):
    model, path, x, _ = saved(tmp_path, rng)
    weights = model.get_weights()
    stored = {f"{i:04d}": (np.asfortranarray(w) if i % 2 else w.astype(w.dtype.newbyteorder(">")))
              for i, w in enumerate(weights)}
    rewrite(path, model__weights__npz=npz_bytes(**stored))
    loaded = load_model(path)
    for got, want in zip(loaded.get_weights(), weights, strict=True):
        assert got.dtype == want.dtype and np.array_equal(got, want)
    assert np.array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))

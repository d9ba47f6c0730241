"""Saving and loading: exact round trips, and refusal of every kind of broken or hostile file."""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile

import numpy as np
import pytest

import glassnet as gn
from glassnet import initializers, layers, optimizers, regularizers, saving
from glassnet.saving import ModelFileError, load_model, load_weights, save_model, save_weights


# ----- helpers -----------------------------------------------------------------------------
def make_model(dtype=None, dropout: bool = True) -> gn.Sequential:
    """An MLP touching every saved feature: regularizers, custom initializers, shape layers."""
    stack = [
        layers.Input(shape=(2, 3)),
        layers.Flatten(),
        layers.Dense(8, activation="relu", kernel_initializer="he_normal",
                     bias_initializer=initializers.Constant(0.1),
                     kernel_regularizer=regularizers.L2(1e-3)),
        layers.Reshape((4, 2)),
        layers.Flatten(),
        layers.Dense(5, kernel_initializer=initializers.RandomNormal(stddev=0.3, seed=7),
                     bias_regularizer=regularizers.L1L2(l1=1e-4, l2=1e-3)),
        layers.Activation("tanh"),
    ]
    if dropout:
        stack.append(layers.Dropout(0.25, seed=3))
    stack.append(layers.Dense(3, activation="softmax"))
    return gn.Sequential(stack, dtype=dtype)


def make_data(rng, dtype="float32", n=16):
    x = rng.standard_normal((n, 2, 3)).astype(dtype)
    y = np.eye(3, dtype=dtype)[rng.integers(0, 3, n)]
    return x, y


def trained(rng, optimizer, steps=3, dtype=None, dropout=True):
    model = make_model(dtype=dtype, dropout=dropout)
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    x, y = make_data(rng, dtype or "float32")
    for _ in range(steps):
        model.train_on_batch(x, y)
    return model, x, y


def assert_same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb)
    for u, v in zip(wa, wb):
        assert u.dtype == v.dtype and u.shape == v.shape
        assert np.array_equal(u, v)   # bitwise for these finite values


def members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def write_archive(path, contents: dict, method=zipfile.ZIP_DEFLATED) -> None:
    """Write a zip with exactly `contents` ({name: bytes}), bypassing every check."""
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in contents.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=method)


def rewrite(path, **changes) -> None:
    """Replace members (name with '.' as '__', value bytes) or drop them (value None)."""
    contents = members(path)
    for key, value in changes.items():
        name = key.replace("__", ".")
        if value is None:
            contents.pop(name)
        else:
            contents[name] = value
    write_archive(path, contents)


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def npz_raw(members_: dict[str, bytes]) -> bytes:
    """An .npz whose .npy members are given as raw bytes (crafted headers, object arrays)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members_.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def saved(tmp_path, rng, optimizer="adam", name="model.glassnet"):
    model, x, y = trained(rng, optimizer)
    path = tmp_path / name
    model.save(path)
    return model, path, x, y


def edit_json(path, member: str, edit) -> None:
    data = json.loads(members(path)[member])
    edit(data)
    rewrite(path, **{member.replace(".", "__"): json.dumps(data).encode()})


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
], ids=["adam", "sgd_momentum", "sgd_nesterov", "rmsprop_centered"])
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


# ----- broken and hostile files ------------------------------------------------------------
@pytest.mark.parametrize("keep", [0, 10, 0.5, -22, -1])
def test_truncated_archive(tmp_path, rng, keep):
    _, path, _, _ = saved(tmp_path, rng)
    data = path.read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else keep
    path.write_bytes(data[:cut])
    with pytest.raises(ModelFileError, match=str(path.name)):
        load_model(path)


def test_not_a_zip(tmp_path):
    path = tmp_path / "notes.glassnet"
    path.write_text("just some text, not a model\n")
    with pytest.raises(ModelFileError, match="not a valid zip"):
        load_model(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.glassnet"):
        load_model(tmp_path / "absent.glassnet")


def _data_offset(path, name: str) -> tuple[int, int]:
    """(offset, length) of a member's compressed bytes in the archive."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    raw = path.read_bytes()
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:
                                                   info.header_offset + 30])
    return info.header_offset + 30 + name_len + extra_len, info.compress_size


@pytest.mark.parametrize("member", ["config.json", "model.weights.npz", "optimizer.npz"])
def test_bit_flip_in_member_data(tmp_path, rng, member):
    _, path, _, _ = saved(tmp_path, rng)
    offset, length = _data_offset(path, member)
    data = bytearray(path.read_bytes())
    data[offset + length // 2] ^= 0x10
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=member.replace(".", r"\.")):
        load_model(path)


def test_random_byte_flips_never_escape_as_other_errors(tmp_path, rng):
    _, path, _, _ = saved(tmp_path, rng)
    original = path.read_bytes()
    for position in rng.choice(len(original), size=60, replace=False):
        data = bytearray(original)
        data[position] ^= 1 << int(rng.integers(8))
        path.write_bytes(bytes(data))
        try:
            load_model(path)       # a flip in a timestamp or padding may well be harmless
        except ModelFileError:
            pass


def test_missing_member(tmp_path, rng):
    _, path, _, _ = saved(tmp_path, rng)
    rewrite(path, config__json=None)
    with pytest.raises(ModelFileError, match=r"missing \['config.json'\]"):
        load_model(path)


@pytest.mark.parametrize("name", ["../evil", "/etc/passwd", "sub/dir.json", "..\\evil.txt"])
def test_member_with_path_is_refused(tmp_path, rng, name):
    _, path, _, _ = saved(tmp_path, rng)
    contents = members(path)
    contents[name] = b"payload"
    write_archive(path, contents)
    with pytest.raises(ModelFileError, match="unsafe member name"):
        load_model(path)


def test_extra_member(tmp_path, rng):
    _, path, _, _ = saved(tmp_path, rng)
    contents = members(path)
    contents["notes.txt"] = b"hello"
    write_archive(path, contents)
    with pytest.raises(ModelFileError, match=r"unexpected \['notes.txt'\]"):
        load_model(path)


class _Payload:
    """Unpickling this creates a directory: proof that code from the file ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _object_npy(marker) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.array([_Payload(marker)], dtype=object),
                              allow_pickle=True)
    return buffer.getvalue()


def test_object_array_is_refused_without_running_it(tmp_path, rng):
    # Positive control: with pickle allowed, this payload does run.
    control = tmp_path / "control_marker"
    np.load(io.BytesIO(_object_npy(control)), allow_pickle=True)
    assert control.exists()

    model, path, _, _ = saved(tmp_path, rng)
    marker = tmp_path / "marker"
    weights = {f"{i:04d}.npy": _npy(w) for i, w in enumerate(model.get_weights())}
    weights["0000.npy"] = _object_npy(marker)
    rewrite(path, model__weights__npz=npz_raw(weights))
    with pytest.raises(ModelFileError, match="object arrays are refused"):
        load_model(path)
    assert not marker.exists()

    state = {"iterations.npy": _object_npy(marker)}
    model.save(path)
    rewrite(path, optimizer__npz=npz_raw(state))
    with pytest.raises(ModelFileError, match="object arrays are refused"):
        load_model(path)
    weights_path = tmp_path / "evil.weights.npz"
    weights_path.write_bytes(npz_raw(weights))
    with pytest.raises(ModelFileError, match="object arrays are refused"):
        model.load_weights(weights_path)
    assert not marker.exists()


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def test_huge_shape_in_npy_header(tmp_path, rng):
    model, path, _, _ = saved(tmp_path, rng)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (10**9, 10**9)})
    weights = {f"{i:04d}.npy": _npy(w) for i, w in enumerate(model.get_weights())}
    weights["0000.npy"] = header.getvalue() + b"\0" * 64
    rewrite(path, model__weights__npz=npz_raw(weights))
    with pytest.raises(ModelFileError, match=r"declares shape \(1000000000, 1000000000\)"):
        load_model(path)


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


def test_zip_bomb_over_the_size_cap(tmp_path, rng, monkeypatch):
    _, path, _, _ = saved(tmp_path, rng)
    monkeypatch.setattr(saving, "MAX_MEMBER_BYTES", 2**20)
    bomb = npz_bytes(**{"0000": np.zeros(2**19, dtype=np.float32)})   # 2 MiB of zeros
    rewrite(path, model__weights__npz=bomb)
    with zipfile.ZipFile(path) as zf:
        assert zf.getinfo("model.weights.npz").compress_size < 2**20 // 100   # tiny
    with pytest.raises(ModelFileError, match="would decompress to 2,097,"):
        load_model(path)
    monkeypatch.setattr(saving, "MAX_MEMBER_BYTES", 2**30)
    monkeypatch.setattr(saving, "MAX_TOTAL_BYTES", 2**20)
    with pytest.raises(ModelFileError, match="members would decompress to"):
        load_model(path)


def _set_declared_size(path, name: str, size: int) -> None:
    """Forge the uncompressed size of `name` in the central directory."""
    raw = bytearray(path.read_bytes())
    entry = raw.find(b"PK\x01\x02")
    while entry != -1:
        name_len = struct.unpack("<H", raw[entry + 28: entry + 30])[0]
        if raw[entry + 46: entry + 46 + name_len] == name.encode():
            raw[entry + 24: entry + 28] = struct.pack("<I", size)
            path.write_bytes(bytes(raw))
            return
        entry = raw.find(b"PK\x01\x02", entry + 1)
    raise AssertionError(f"no central directory entry for {name}")


def test_forged_declared_size_is_refused_before_inflating(tmp_path, rng):
    _, path, _, _ = saved(tmp_path, rng)
    _set_declared_size(path, "model.weights.npz", 0xFFFF_FFF0)     # ~4 GiB from ~2 KB
    with pytest.raises(ModelFileError, match="compression ratio"):
        load_model(path)


def test_only_stored_and_deflated_members(tmp_path, rng):
    _, path, _, _ = saved(tmp_path, rng)
    write_archive(path, members(path), method=zipfile.ZIP_BZIP2)
    with pytest.raises(ModelFileError, match="compression method"):
        load_model(path)


def test_stored_archive_loads(tmp_path, rng):
    """Another writer may store instead of deflate: the format checks contents, not method."""
    model, path, x, _ = saved(tmp_path, rng)
    write_archive(path, members(path), method=zipfile.ZIP_STORED)
    assert np.array_equal(load_model(path).predict(x, verbose=0), model.predict(x, verbose=0))


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


def test_directory_is_not_a_model_file(tmp_path):
    (tmp_path / "dir.glassnet").mkdir()
    with pytest.raises(ModelFileError, match="not a regular file"):
        load_model(tmp_path / "dir.glassnet")

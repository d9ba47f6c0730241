"""Models that touch every saved feature, and the zip surgery the saving tests do on their files."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np

import glassnet as gn
from glassnet import initializers, layers, regularizers


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

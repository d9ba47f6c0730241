"""Hostile backups (issue 15): a training_state.zip that no `fit` could have written is refused
with a ModelFileError naming the file and the field, before anything is restored.

The backup is a real one (written when a fit was interrupted at epoch 2, step 3), then edited
as an attacker would: state.json's fields, arrays.npz's arrays, the archive's layout.
"""

from __future__ import annotations

import io
import json
import math
import zipfile

import numpy as np
import pytest

import glassnet as gn
from _fuzzing import measured, npy_bytes, zip_bytes
from _interrupt import RaiseAt
from glassnet import callbacks, layers
from glassnet.random import set_random_seed
from glassnet.saving import ModelFileError
from glassnet.saving.training_state import FILE_NAME

EPOCHS, BATCH = 3, 16       # 150 samples, 20% validation: 120 training samples, 8 batches


def make_model():
    """Dropout (a layer generator), Adam (slots), BatchNorm, a metric beside the loss."""
    set_random_seed(7)
    model = gn.Sequential([layers.Input(shape=(6,)), layers.Dense(12, activation="relu"),
                           layers.BatchNormalization(), layers.Dropout(0.3),
                           layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def fit(model, folder, *extra):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((150, 6)).astype("float32")
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5)
    return model.fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=0, validation_split=0.2,
                     callbacks=[callbacks.BackupAndRestore(folder), *extra])


@pytest.fixture(scope="module")
def backup(tmp_path_factory) -> dict[str, bytes]:
    """The members of a real backup, written at epoch 2 (index 1), step 3."""
    folder = tmp_path_factory.mktemp("backup")
    with pytest.warns(RuntimeWarning, match="interrupted"):
        fit(make_model(), folder, RaiseAt(11))
    with zipfile.ZipFile(folder / FILE_NAME) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def write(folder, members: dict[str, bytes], method=zipfile.ZIP_STORED):
    folder.mkdir(exist_ok=True)
    (folder / FILE_NAME).write_bytes(zip_bytes(members, method))


def edited(backup, state=None, arrays=None) -> dict[str, bytes]:
    """The backup with `state(dict)` and `arrays(dict)` applied to state.json, arrays.npz."""
    contents = dict(backup)
    if state is not None:
        data = json.loads(contents["state.json"])
        state(data)
        contents["state.json"] = json.dumps(data).encode()
    if arrays is not None:
        with np.load(io.BytesIO(contents["arrays.npz"]), allow_pickle=False) as npz:
            data = {key: npz[key] for key in npz.files}
        arrays(data)
        contents["arrays.npz"] = zip_bytes({f"{k}.npy": npy_bytes(v) for k, v in data.items()},
                                           zipfile.ZIP_STORED)
    return contents


def assert_refused_before_restoring(folder, *fragments: str):
    """Resuming from `folder` raises a ModelFileError naming the file and `fragments`, and
    leaves the model, its optimizer and the global generator as they were."""
    model = make_model()
    weights = model.get_weights()
    generator = gn.random.global_generator().bit_generator.state
    with pytest.raises(ModelFileError) as error:
        fit(model, folder)
    message = str(error.value)
    assert FILE_NAME in message, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    for got, want in zip(model.get_weights(), weights, strict=True):
        assert np.array_equal(got, want), "a weight was restored before the refusal"
    assert model.optimizer.iterations == 0
    assert gn.random.global_generator().bit_generator.state == generator
    return message


def _set(path: str, value):
    """A state edit: set the field at dotted `path` ("targets.shape", "metrics.0.scalars")."""
    def edit(state):
        *parents, last = path.split(".")
        node = state
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return edit


@pytest.mark.parametrize("edit, fragments", [
    # Each of these gave TypeError / ValueError / MemoryError without the file's name ...
    (_set("targets.shape", [10**6, 10**6]), ["state.json", "targets.shape"]),
    (_set("targets.dtype", "os.system"), ["state.json", "targets.dtype", "'os.system'"]),
    (_set("targets.shape", [-4]), ["state.json", "targets.shape"]),
    (_set("rng.layers", 3), ["state.json", "rng.layers"]),
    (_set("metrics.1.scalars.__class__", 1.0), ["state.json", "metrics[1].scalars",
                                                "'__class__'"]),
    # ... and these resumed silently, though no fit could have written them.
    (_set("epoch", 10**9), ["state.json", "'epoch'", "[0, 3]"]),
    (_set("step", 10**18), ["state.json", "'step'", "[0, 8]"]),
    (_set("step", 9), ["state.json", "'step'", "[0, 8]"]),
    (_set("metrics.0.scalars.total", math.nan), ["state.json", "metrics[0].scalars.total"]),
    (_set("metrics.1.scalars.count", math.inf), ["state.json", "metrics[1].scalars.count"]),
    (_set("history.history.loss", ["0.5"]), ["state.json", "history", "'loss'"]),
    (_set("history.history.loss", [0.5, 0.4]), ["state.json", "history", "'loss'"]),
    (_set("history.epoch", [0, 0]), ["state.json", "history.epoch"]),
    (_set("history.epoch", [7]), ["state.json", "history.epoch"]),
    (_set("positions.train", 10**18), ["state.json", "positions.train"]),
    (_set("positions.test", 0), ["state.json", "positions"]),
    (_set("rng.global", 5), ["state.json", "rng.global"]),
    (_set("rng.global.state.state", -1), ["state.json", "rng.global"]),
    (_set("rng.legacy.pos", 10**6), ["state.json", "rng.legacy"]),
    (_set("rng.legacy.cached_gaussian", math.nan), ["state.json", "rng.legacy"]),
    (_set("metrics.1.arrays", ["zz"]), ["metrics[1].arrays", "'zz'"]),
    (_set("metrics.0.name", 7), ["state.json", "metrics[0].name"]),
    (_set("saved_at", ["now"]), ["state.json", "'saved_at'"]),
    (_set("evil", 1), ["state.json", "unexpected", "'evil'"]),
    (_set("num_batches", "8"), ["state.json", "'num_batches'"]),
])
def test_state_fields_no_fit_could_write_are_refused(tmp_path, backup, edit, fragments):
    write(tmp_path, edited(backup, state=edit))
    assert_refused_before_restoring(tmp_path, *fragments)


@pytest.mark.parametrize("edit, fragments", [
    (lambda a: a.update(extra=np.zeros(3)), ["arrays.npz", "unexpected", "'extra'"]),
    (lambda a: a.update(order=a["order"].astype(np.float64)), ["arrays.npz", "'order'"]),
    (lambda a: a.update(legacy_rng_keys=a["legacy_rng_keys"][:5]), ["'legacy_rng_keys'"]),
    (lambda a: a.pop("legacy_rng_keys"), ["arrays.npz", "'legacy_rng_keys'"]),
])
def test_arrays_no_fit_could_write_are_refused(tmp_path, backup, edit, fragments):
    write(tmp_path, edited(backup, arrays=edit))
    assert_refused_before_restoring(tmp_path, *fragments)


@pytest.mark.parametrize("inner, outer, fragments", [
    (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED, ["arrays.npz", "only stored"]),
    (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, ["uses compression method 8; only stored"]),
])
def test_nested_deflate_is_refused_before_inflating(tmp_path, backup, inner, outer, fragments):
    # The inner .npz was read without the nested limits, so the two ratios multiplied: a
    # 7 KB backup carrying an extra 1 GB array resumed silently (2.1 GB peak). Backups are
    # written stored: a deflated member, outer or inner, is refused before it is inflated.
    with np.load(io.BytesIO(backup["arrays.npz"]), allow_pickle=False) as npz:
        arrays = {f"{key}.npy": npy_bytes(npz[key]) for key in npz.files}
    arrays["extra.npy"] = npy_bytes(np.zeros(2**20 * (256 if inner else 64), np.uint8))
    write(tmp_path, {**backup, "arrays.npz": zip_bytes(arrays, inner)}, outer)
    assert (tmp_path / FILE_NAME).stat().st_size < 300_000
    with measured() as cost:
        assert_refused_before_restoring(tmp_path, *fragments)
    assert cost.peak < 8 * 2**20


def test_weights_that_change_meaning_are_refused_in_backups(tmp_path, backup):
    with np.load(io.BytesIO(backup["weights.npz"]), allow_pickle=False) as npz:
        weights = {key: npz[key] for key in npz.files}
    weights["0000"] = np.full(weights["0000"].shape, np.nan, np.float32)
    write(tmp_path, {**backup, "weights.npz": zip_bytes(
        {f"{k}.npy": npy_bytes(v) for k, v in weights.items()}, zipfile.ZIP_STORED)})
    assert_refused_before_restoring(tmp_path, "weights.npz", "/kernel' (array 0000)",
                                    "72 non-finite values")


def test_unchanged_backup_resumes(tmp_path, backup):
    write(tmp_path, backup)
    model = make_model()
    history = fit(model, tmp_path)
    assert history.epoch == [0, 1, 2] and len(history.history["loss"]) == 3

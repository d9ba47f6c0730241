"""Hostile backups, fuzzed (issue 15): a real training_state.zip, mutated as an attacker would.

- state mutations (Hypothesis, derandomized): any field of state.json, at any depth, set to
  a hostile JSON value (huge or negative integers, NaN, strings, lists, objects, null),
  deleted, or joined by an extra key; arrays.npz's arrays replaced, reshaped, recast, added;
- quadratic and nested backups, at full size, in a fresh process (`run_fresh`).

Each mutated backup is resumed by a real `fit` with BackupAndRestore: it resumes, or it ends
in a ModelFileError naming the file with the model's weights as they were (nothing restored
before the refusal). Figures are printed (`pytest -s`).
"""

from __future__ import annotations

import io
import json
import math
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import glassnet as gn
from _fuzzing import (
    HYPOTHESIS,
    Fuzzer,
    check_fresh,
    npy_bytes,
    run_fresh,
    unzip,
    zeros_npy_member,
    zip_bytes,
)
from glassnet import callbacks, layers
from glassnet.random import set_random_seed
from glassnet.saving import ModelFileError
from glassnet.saving.training_state import FILE_NAME

MIN_CASES = {"backup_state": 150, "backup_arrays": 40, "backup_files": 10}


def make_model():
    set_random_seed(3)
    model = gn.Sequential([layers.Input(shape=(4,)), layers.Dense(5, activation="relu"),
                           layers.Dropout(0.2), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def fit(model, folder, *extra):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype("float32")
    return model.fit(x, (x[:, 0] > 0).astype(int) + (x[:, 1] > 0), epochs=2, batch_size=16,
                     verbose=0, callbacks=[callbacks.BackupAndRestore(folder), *extra])


class _StopAt(callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if self.model.optimizer.iterations == 6:        # epoch 2, step 2 of 4
            raise KeyboardInterrupt


@pytest.fixture(scope="module")
def backup(tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("backup")
    with pytest.warns(RuntimeWarning, match="interrupted"):
        fit(make_model(), folder, _StopAt())
    return unzip((folder / FILE_NAME).read_bytes())


@pytest.fixture
def fuzz(tmp_path):
    import tracemalloc

    tracemalloc.start()
    try:
        yield Fuzzer(tmp_path / "canary", (ModelFileError,))
    finally:
        tracemalloc.stop()


def resume(path) -> None:
    """Resume the fit from the backup at `path`; a refusal must leave the model untouched."""
    model = make_model()
    before = model.get_weights()
    try:
        fit(model, path.parent)
    except ModelFileError:
        for got, want in zip(model.get_weights(), before, strict=True):
            assert np.array_equal(got, want), "a weight was restored before the refusal"
        raise


def _paths(node, prefix=()) -> list[tuple]:
    """Every path into a JSON value (dict keys, list indices), the root's children first."""
    items = node.items() if isinstance(node, dict) else enumerate(node) \
        if isinstance(node, list) else ()
    paths = []
    for key, child in items:
        paths.append((*prefix, key))
        paths += _paths(child, (*prefix, key))
    return paths


_HOSTILE = st.one_of(
    st.none(), st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([-1, 0, 1, 7, 624, 625, 10**9, 10**18, 2**63, 2**64, -(2**63)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, 1e300, -0.0]),
    st.text(max_size=8),
    st.sampled_from(["os.system", "__class__", "float64", "object", "MT19937", "PCG64",
                     "<U5", "|O", "../x", "train", "loss"]),
    st.lists(st.integers(-3, 10**6), max_size=4),
    st.lists(st.floats(allow_nan=True), max_size=3),
    st.dictionaries(st.sampled_from(["state", "inc", "bit_generator", "shape", "dtype", "a"]),
                    st.integers(-5, 2**130), max_size=3),
    st.just([[[[[[[[[[[]]]]]]]]]]]),
)


def test_backup_state_mutations(fuzz, tmp_path, backup):
    """Any field of state.json, at any depth: replaced, deleted, or joined by another key."""
    state = json.loads(backup["state.json"])
    paths = _paths(state)
    folder = tmp_path / "case"
    folder.mkdir()

    @given(path=st.sampled_from(paths), action=st.sampled_from(["set", "set", "delete", "add"]),
           value=_HOSTILE)
    @settings(max_examples=MIN_CASES["backup_state"] + 10, **HYPOTHESIS)
    def one_mutation(path, action, value):
        mutated = json.loads(backup["state.json"])
        *parents, last = path
        node = mutated
        for key in parents:
            node = node[key]
        if action == "set":
            node[last] = value
        elif action == "delete" and isinstance(node, dict):
            del node[last]
        elif action == "delete":
            node.pop(last)
        elif isinstance(node, dict):
            node["extra"] = value
        else:
            node.append(value)
        folder.mkdir(exist_ok=True)                  # a resumed fit removes its backup
        (folder / FILE_NAME).write_bytes(zip_bytes(
            {**backup, "state.json": json.dumps(mutated).encode()}, zipfile.ZIP_STORED))
        fuzz.run(resume, folder / FILE_NAME, f"{action} {'.'.join(map(str, path))} = "
                                             f"{value!r:.60}")

    one_mutation()
    assert fuzz.outcomes["ModelFileError"] > fuzz.count // 2
    fuzz.report("backup_state", MIN_CASES["backup_state"])


def test_backup_array_mutations(fuzz, tmp_path, backup):
    """arrays.npz, weights.npz and optimizer.npz: arrays recast, reshaped, replaced, added."""
    members = {name: unzip(backup[name]) for name in ("arrays.npz", "weights.npz",
                                                      "optimizer.npz")}
    variants = []
    for name, arrays in members.items():
        for key, data in sorted(arrays.items()):
            array = np.load(io.BytesIO(data))
            with np.errstate(invalid="ignore", over="ignore"):
                replacements = [array.astype(np.float64), array.astype(np.int8),
                                array.reshape(-1)[:-1] if array.size else array.reshape(1, -1),
                                np.full_like(array, np.nan, dtype=np.float64),
                                np.full(array.shape, 2**62, np.int64),
                                array[::-1].copy() if array.ndim else array + 1]
            variants += [(f"{name}: {key} as {r.dtype}{r.shape}", name,
                          {**arrays, key: npy_bytes(r)}) for r in replacements]
        variants.append((f"{name}: an extra array", name,
                         {**arrays, "extra.npy": npy_bytes(np.zeros(3))}))
        variants.append((f"{name}: emptied", name, {}))
    folder = tmp_path / "case"
    folder.mkdir()
    for label, name, arrays in variants:
        folder.mkdir(exist_ok=True)
        (folder / FILE_NAME).write_bytes(zip_bytes(
            {**backup, name: zip_bytes(arrays, zipfile.ZIP_STORED)}, zipfile.ZIP_STORED))
        fuzz.run(resume, folder / FILE_NAME, label)
    fuzz.report("backup_arrays", MIN_CASES["backup_arrays"])


def test_quadratic_and_nested_backups(tmp_path, backup):
    """Backups sized so that a quadratic check would take seconds, and bombs nested in
    them: each refused in under 2 s and 200 MB, in a fresh process, read as
    BackupAndRestore reads them (with the model)."""
    make_model().save(tmp_path / "backup-model.glassnet")
    state = json.loads(backup["state.json"])
    many = 200_000

    def edited(change):
        mutated = json.loads(backup["state.json"])
        change(mutated)
        return {**backup, "state.json": json.dumps(mutated).encode()}

    def history(s):
        s["history"]["epoch"] = list(range(many)) + [0]
        s["history"]["history"]["loss"] = [0.5] * many

    empty = npy_bytes(np.zeros(0, np.float32))
    arrays = unzip(backup["arrays.npz"])
    files = {
        "history: 200,001 epochs, the last out of order": edited(history),
        "history: 200,000 values then a string": edited(
            lambda s: s["history"]["history"].update(loss=[0.5] * many + ["x"])),
        "metrics: 200,000 scalars, the last '__class__'": edited(
            lambda s: s["metrics"][1]["scalars"].update(
                {**{f"a{i}": 0.0 for i in range(many)}, "__class__": 1.0})),
        "rng.layers: 100,000 states, the last an int": edited(
            lambda s: s["rng"].update(layers=[state["rng"]["global"]] * 100_000 + [3])),
        "state.json: 200,000 extra keys": edited(
            lambda s: s.update({f"k{i}": 0 for i in range(many)})),
        "arrays.npz: 60,000 arrays": {**backup, "arrays.npz": zip_bytes(
            {**arrays, **{f"m{i}.npy": empty for i in range(60_000)}}, zipfile.ZIP_STORED)},
        "weights.npz: 60,000 arrays": {**backup, "weights.npz": zip_bytes(
            {f"{i:05d}.npy": empty for i in range(60_000)}, zipfile.ZIP_STORED)},
        "optimizer.npz: 60,000 slots": {**backup, "optimizer.npz": zip_bytes(
            {f"m/{i}.npy": empty for i in range(60_000)}, zipfile.ZIP_STORED)},
    }
    cases = []
    for index, (label, members) in enumerate(files.items()):
        (tmp_path / f"b{index}.zip").write_bytes(zip_bytes(members, zipfile.ZIP_STORED))
        cases.append((label, "backup", f"b{index}.zip"))
    for label, inner, outer in (("256 MiB array, inner .npz deflated", zipfile.ZIP_DEFLATED,
                                 zipfile.ZIP_STORED),
                                ("256 MiB array, stored in a deflated member",
                                 zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)):
        name = f"b{len(cases)}.zip"
        with zipfile.ZipFile(tmp_path / name, "w", outer, compresslevel=1) as zf:
            for member in ("state.json", "weights.npz", "optimizer.npz"):
                zf.writestr(member, backup[member])
            with zf.open("arrays.npz", "w", force_zip64=True) as out, \
                    zipfile.ZipFile(out, "w") as npz:
                zeros_npy_member(npz, "extra.npy", 256 * 2**20, inner)
        cases.append((label, "backup", name))
    check_fresh("backup_files", run_fresh(tmp_path, cases), MIN_CASES["backup_files"])

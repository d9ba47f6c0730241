"""BackupAndRestore in one process: interrupt fit anywhere, resume, end bitwise-identical.

The reference is the same fit run without interruption. Interruptions are a callback raising
KeyboardInterrupt at a chosen hook and step (what Ctrl-C does outside fit's handler), or a
real SIGINT / SIGTERM sent to this process (which fit defers to the end of the step).
"""

from __future__ import annotations

import os
import signal
import zipfile

import numpy as np
import pytest

import glassnet as gn
from _interrupt import RaiseAt
from glassnet import callbacks, layers
from glassnet.random import set_random_seed
from glassnet.saving import ModelFileError
from glassnet.saving.training_state import FILE_NAME, read_checkpoint, write_checkpoint
from glassnet.training.data.pydataset import PyDataset

EPOCHS, BATCH = 4, 16


def make_model(seed: int = 7, optimizer="adam"):
    """Dropout (its own generator), Adam (slots), BatchNorm (moving statistics)."""
    set_random_seed(seed)
    model = gn.Sequential([layers.Input(shape=(6,)), layers.Dense(12, activation="relu"),
                           layers.BatchNormalization(), layers.Dropout(0.3),
                           layers.Dense(3, activation="softmax")])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def data(n: int = 150):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 6)).astype("float32")
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5)
    return x, y


class SignalAt(callbacks.Callback):
    """Sends `signum` to this process during the `count`-th training batch."""

    def __init__(self, signum: int, count: int):
        super().__init__()
        self.signum, self.count, self.calls = signum, count, 0

    def on_train_batch_begin(self, batch, logs=None):
        self.calls += 1
        if self.calls == self.count:
            os.kill(os.getpid(), self.signum)


def fit(model, backup_dir, *extra, save_freq="epoch", **kwargs):
    x, y = data()
    arguments = dict(epochs=EPOCHS, batch_size=BATCH, verbose=0, validation_split=0.2)
    arguments.update(kwargs)
    backup = callbacks.BackupAndRestore(backup_dir, save_freq=save_freq)
    return model.fit(x, y, callbacks=[backup, *extra], **arguments)


def assert_same_run(model, history, reference):
    weights, logs = reference
    for a, b in zip(model.get_weights(), weights):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    assert history.history == logs  # the running means of a resumed epoch included
    assert history.epoch == list(range(EPOCHS))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    model = make_model()
    history = fit(model, tmp_path_factory.mktemp("reference"))
    return model.get_weights(), history.history


# 150 samples, 20% validation: 120 training samples, 8 batches an epoch, 32 in all.
@pytest.mark.parametrize("save_freq", ["epoch", 5])
@pytest.mark.parametrize("hook, count", [
    ("on_train_batch_end", 3),        # mid-epoch, first epoch
    ("on_train_batch_end", 8),        # after the last step of an epoch, before its end
    ("on_train_batch_end", 19),       # mid-epoch, later
    ("on_train_batch_begin", 12),     # before a step
    ("on_epoch_begin", 3),            # before an epoch's order is drawn
])
def test_keyboard_interrupt_then_resume_is_bitwise_identical(tmp_path, reference, save_freq,
                                                              hook, count):
    with pytest.warns(RuntimeWarning, match="interrupted by KeyboardInterrupt"):
        history = fit(make_model(), tmp_path, RaiseAt(count, hook), save_freq=save_freq)
    assert len(history.epoch) < EPOCHS
    assert (tmp_path / FILE_NAME).exists()
    model = make_model()
    history = fit(model, tmp_path, save_freq=save_freq)
    assert_same_run(model, history, reference)
    assert not tmp_path.exists()  # delete_checkpoint=True: removed once training completed


def test_several_interruptions_in_a_row(tmp_path, reference):
    for count in (5, 2, 9, 1):
        with pytest.warns(RuntimeWarning, match="interrupted"):
            fit(make_model(), tmp_path, RaiseAt(count), save_freq=3)
    model = make_model()
    assert_same_run(model, fit(model, tmp_path, save_freq=3), reference)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_finishes_the_step_and_returns(tmp_path, reference, signum):
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    with pytest.warns(RuntimeWarning, match=f"interrupted by {signal.Signals(signum).name}"):
        history = fit(make_model(), tmp_path, SignalAt(signum, 11))
    assert {s: signal.getsignal(s) for s in before} == before  # handlers put back
    state = read_checkpoint(tmp_path / FILE_NAME)["state"]
    assert (state["epoch"], state["step"]) == (1, 3)  # batch 11 = epoch 1, step 2, finished
    assert history.epoch == [0]
    model = make_model()
    assert_same_run(model, fit(model, tmp_path), reference)


def test_interruption_inside_an_epoch_end_keeps_the_last_backup(tmp_path, reference):
    # An epoch's end (validation + callbacks) cannot be half-saved: the exception goes on,
    # and the backup the epoch end wrote before it (save_freq="epoch") is the resume point.
    with pytest.raises(KeyboardInterrupt):
        fit(make_model(), tmp_path, RaiseAt(2, "on_epoch_end"))
    state = read_checkpoint(tmp_path / FILE_NAME)["state"]
    assert (state["epoch"], state["step"]) == (2, 0)
    assert state["history"]["epoch"] == [0, 1]
    model = make_model()
    assert_same_run(model, fit(model, tmp_path), reference)


def test_interruption_without_backup_returns_cleanly(tmp_path):
    x, y = data()
    model = make_model()
    with pytest.warns(RuntimeWarning, match="nothing saved"):
        history = model.fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=0,
                            callbacks=[SignalAt(signal.SIGTERM, 4)])
    assert history.epoch == [] and model.optimizer.iterations == 4


def test_kept_checkpoint_resumes_at_the_end(tmp_path, reference):
    x, y = data()
    model = make_model()
    backup = callbacks.BackupAndRestore(tmp_path, delete_checkpoint=False)
    model.fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=0, validation_split=0.2,
              callbacks=[backup])
    assert (tmp_path / FILE_NAME).exists()
    again = make_model()  # nothing left to train: the backup's weights and History
    history = again.fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=0,
                        validation_split=0.2, callbacks=[backup])
    assert_same_run(again, history, reference)


def test_sgd_with_momentum_and_no_shuffle(tmp_path):
    optimizer = lambda: gn.optimizers.SGD(0.05, momentum=0.9)  # noqa: E731
    model = make_model(optimizer=optimizer())
    history = fit(model, tmp_path / "reference", shuffle=False)
    reference = model.get_weights(), history.history
    with pytest.warns(RuntimeWarning):
        fit(make_model(optimizer=optimizer()), tmp_path / "b",
            RaiseAt(13), shuffle=False, save_freq=4)
    model = make_model(optimizer=optimizer())
    assert_same_run(model, fit(model, tmp_path / "b", shuffle=False, save_freq=4), reference)


class Batches(PyDataset):
    """Batches of `data()`; on_epoch_end reshuffles the samples from glassnet's generator."""

    def __init__(self):
        super().__init__()
        self.x, self.y = data()
        self.order = np.arange(len(self.x))

    def __len__(self):
        return -(-len(self.x) // BATCH)

    def __getitem__(self, index):
        part = self.order[index * BATCH:(index + 1) * BATCH]
        return self.x[part], self.y[part]

    def on_epoch_end(self):
        self.order = gn.random.global_generator().permutation(len(self.x))


def test_pydataset_resumes_exactly(tmp_path):
    """Batch-order shuffling plus the dataset's own reshuffle (from the global generator);
    the dataset's own state (`order`) is rebuilt here from the restored generator."""

    def run(folder, *extra):
        model = make_model()
        backup = callbacks.BackupAndRestore(folder, save_freq=2)
        history = model.fit(Batches(), epochs=3, verbose=0, callbacks=[backup, *extra])
        return model, history

    model, history = run(tmp_path / "reference")
    reference = model.get_weights(), history.history
    with pytest.warns(RuntimeWarning):
        run(tmp_path / "b", RaiseAt(3))  # in the first epoch
    model, history = run(tmp_path / "b")
    for a, b in zip(model.get_weights(), reference[0]):
        assert a.tobytes() == b.tobytes()
    assert history.history == reference[1]


def test_generator_resumes_exactly(tmp_path):
    x, y = data(160)

    def batches():  # endless, deterministic: a resume skips the batches already used
        while True:
            for start in range(0, len(x), BATCH):
                yield x[start:start + BATCH], y[start:start + BATCH]

    def run(folder, *extra):
        model = make_model()
        backup = callbacks.BackupAndRestore(folder, save_freq=3)
        history = model.fit(batches(), epochs=3, steps_per_epoch=7, verbose=0,
                            callbacks=[backup, *extra])
        return model, history

    model, history = run(tmp_path / "reference")
    reference = model.get_weights(), history.history
    with pytest.warns(RuntimeWarning):
        run(tmp_path / "b", RaiseAt(10))
    model, history = run(tmp_path / "b")
    for a, b in zip(model.get_weights(), reference[0]):
        assert a.tobytes() == b.tobytes()
    assert history.history == reference[1]


def test_backup_of_another_fit_is_refused(tmp_path):
    with pytest.warns(RuntimeWarning):
        fit(make_model(), tmp_path, RaiseAt(3))
    with pytest.raises(ValueError, match="batches per epoch"):
        fit(make_model(), tmp_path, batch_size=BATCH * 2)


def test_model_must_be_built(tmp_path):
    x, y = data()
    model = gn.Sequential([layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="must be built"):
        model.fit(iter([(x, y)]), verbose=0, callbacks=[callbacks.BackupAndRestore(tmp_path)])


@pytest.mark.parametrize("bad", [0, -1, "batch", 2.5, True])
def test_save_freq_is_checked(tmp_path, bad):
    with pytest.raises(ValueError, match="save_freq"):
        callbacks.BackupAndRestore(tmp_path, save_freq=bad)


def test_checkpoint_is_json_and_plain_arrays(tmp_path):
    with pytest.warns(RuntimeWarning):
        fit(make_model(), tmp_path, RaiseAt(11))
    path = tmp_path / FILE_NAME
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["arrays.npz", "optimizer.npz", "state.json",
                                              "weights.npz"]
    contents = read_checkpoint(path)  # allow_pickle=False throughout
    assert contents["state"]["step"] == 3 and contents["arrays"]["order"].shape == (120,)
    assert len(contents["state"]["rng"]["layers"]) == 1  # the Dropout layer's generator


def test_corrupt_checkpoint_is_a_clear_error_or_falls_back(tmp_path, reference):
    with pytest.warns(RuntimeWarning):
        fit(make_model(), tmp_path, RaiseAt(11), save_freq=2)
    path = tmp_path / FILE_NAME
    path.write_bytes(path.read_bytes()[:300])  # a disk error, not a crash: writes are atomic
    with pytest.raises(ModelFileError, match=FILE_NAME):
        fit(make_model(), tmp_path)

    folder = tmp_path / "double"
    backup = callbacks.BackupAndRestore(folder, save_freq=2, double_checkpoint=True)
    x, y = data()
    with pytest.warns(RuntimeWarning):
        make_model().fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=0, validation_split=0.2,
                         callbacks=[backup, RaiseAt(11)])
    (folder / FILE_NAME).write_bytes(b"garbage")
    model = make_model()
    history = model.fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=0, validation_split=0.2,
                        callbacks=[callbacks.BackupAndRestore(folder, save_freq=2,
                                                              double_checkpoint=True)])
    assert_same_run(model, history, reference)


def forge(path, change):
    """Rewrite a backup with `change(state, arrays)` applied (as a hostile file would be)."""
    contents = read_checkpoint(path)
    state, arrays = contents["state"], dict(contents["arrays"])
    change(state, arrays)
    members = {"weights.npz": {f"{i:04d}": w for i, w in enumerate(contents["weights"])},
               "optimizer.npz": contents["optimizer"], "arrays.npz": arrays}
    write_checkpoint(path, state, members)


@pytest.mark.parametrize("change, error, message", [
    (lambda s, a: a.update(order=a["order"][::-1] % 7), ValueError, "not a permutation"),
    (lambda s, a: a.update(order=a["order"][:-1]), ValueError, "not a permutation"),
    (lambda s, a: s["metrics"][0]["scalars"].update(update_state=1.0), ValueError,
     "expected a number it already has"),
    (lambda s, a: s["metrics"][0]["scalars"].update(total="1"), ValueError,
     "expected a number it already has"),
    (lambda s, a: s["rng"].update({"global": {"bit_generator": "MT19937"}}), ModelFileError,
     "invalid generator state"),
    (lambda s, a: s.update(step=-1), ModelFileError, "'step' must be an integer"),
    (lambda s, a: s.update(history={"history": 3, "epoch": []}), ModelFileError, "'history'"),
    (lambda s, a: s.update(metrics={"a": 1}), ModelFileError, "'metrics' must be null"),
    (lambda s, a: s["rng"].update(layers=[]), ValueError, "holds 0 layer random generators"),
])
def test_forged_backup_is_refused(tmp_path, change, error, message):
    with pytest.warns(RuntimeWarning):
        fit(make_model(), tmp_path, RaiseAt(11))
    forge(tmp_path / FILE_NAME, change)
    with pytest.raises(error, match=message):
        fit(make_model(), tmp_path)


def test_keyboard_interrupt_inside_a_step_propagates_and_keeps_the_last_backup(
        tmp_path, reference):
    model = make_model()
    train_step, calls = model.train_step, []

    def interrupted_step(*args):  # as if Ctrl-C reached a step outside fit's handler
        calls.append(1)
        if len(calls) == 13:
            raise KeyboardInterrupt
        train_step(*args)

    model.train_step = interrupted_step
    with pytest.raises(KeyboardInterrupt):
        fit(model, tmp_path, save_freq=5)
    state = read_checkpoint(tmp_path / FILE_NAME)["state"]
    assert (state["epoch"], state["step"]) == (1, 2)  # the backup after 10 steps
    model = make_model()
    assert_same_run(model, fit(model, tmp_path, save_freq=5), reference)

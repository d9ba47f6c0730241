"""TensorBoard: event files read back (TFRecord framing parsed here) hold History's values."""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet import callbacks, layers

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="module")
def event_pb2():
    """tensorboardX's Event message (the `tensorboard` extra); CI installs it."""
    try:
        from tensorboardX.proto import event_pb2 as module
    except ImportError:
        if IN_CI:
            pytest.fail('tensorboardX is required under CI (pip install "glassnet[tensorboard]")')
        pytest.skip('tensorboardX not installed (pip install "glassnet[tensorboard]")')
    return module


def _records(path: Path):
    """The payloads of a TFRecord file: u64 length, u32 crc, payload, u32 crc, repeated."""
    data = path.read_bytes()
    offset = 0
    while offset < len(data):
        (length,) = struct.unpack_from("<Q", data, offset)
        offset += 12
        yield data[offset:offset + length]
        offset += length + 4


def _events(event_pb2, run_dir: Path):
    """(tag, step, value) of every summary value in the run's event files, in order."""
    found = []
    for path in sorted(run_dir.glob("events.out.tfevents.*")):
        for payload in _records(path):
            event = event_pb2.Event.FromString(payload)
            for value in event.summary.value:
                found.append((value.tag, event.step, value))
    return found


def _scalars(event_pb2, run_dir: Path) -> dict[str, dict[int, float]]:
    scalars: dict[str, dict[int, float]] = {}
    for tag, step, value in _events(event_pb2, run_dir):
        if value.WhichOneof("value") == "simple_value":
            scalars.setdefault(tag, {})[step] = value.simple_value
    return scalars


def _model():
    gn.utils.set_random_seed(0)
    model = gn.Sequential([layers.Input(shape=(4,)), layers.Dense(8, activation="relu"),
                           layers.Dense(1, activation="sigmoid", name="out")])
    model.compile(optimizer=gn.optimizers.Adam(0.01), loss="binary_crossentropy",
                  metrics=["accuracy", "auc"])
    return model


def _data(n=96):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    return x, (x[:, :1] - x[:, 1:2] > 0).astype(np.float32)


def test_epoch_scalars_equal_history_in_train_and_validation(tmp_path, event_pb2):
    x, y = _data()
    model = _model()
    epochs = 3
    history = model.fit(x, y, epochs=epochs, batch_size=16, validation_split=0.25, verbose=0,
                        callbacks=[callbacks.TensorBoard(log_dir=tmp_path)])
    train = _scalars(event_pb2, tmp_path / "train")
    validation = _scalars(event_pb2, tmp_path / "validation")
    for name, values in history.history.items():
        run, tag = (validation, name[4:]) if name.startswith("val_") else (train, name)
        written = run[f"epoch_{tag}"]
        assert sorted(written) == list(range(epochs))
        np.testing.assert_allclose([written[e] for e in range(epochs)], values, rtol=1e-6)
    assert set(train) == {f"epoch_{n}" for n in history.history if not n.startswith("val_")} \
        | {"epoch_learning_rate"}
    np.testing.assert_allclose(list(train["epoch_learning_rate"].values()), 0.01, rtol=1e-6)


def test_histograms_describe_the_weights_and_batch_scalars_follow_update_freq(tmp_path,
                                                                            event_pb2):
    x, y = _data()
    model = _model()
    board = callbacks.TensorBoard(log_dir=tmp_path, histogram_freq=2, update_freq=2,
                                  write_images=True)
    model.fit(x, y, epochs=3, batch_size=32, verbose=0, callbacks=[board])  # 3 batches/epoch
    events = _events(event_pb2, tmp_path / "train")
    histograms = {(tag, step): value.histo for tag, step, value in events
                  if value.WhichOneof("value") == "histo"}
    names = [w.name for layer in model.layers for w in layer.weights]
    assert set(histograms) == {(f"{name}/histogram", epoch) for name in names
                               for epoch in (0, 2)}
    for layer in model.layers:   # the last histograms were written after the last epoch
        for weight in layer.weights:
            histogram = histograms[(f"{weight.name}/histogram", 2)]
            assert histogram.num == weight.value.size
            assert histogram.sum == pytest.approx(float(weight.value.sum()), abs=1e-5)
            assert histogram.min == pytest.approx(float(weight.value.min()))
    images = {tag: value.image for tag, step, value in events if step == 2
              and value.WhichOneof("value") == "image"}
    kernel = model.layers[0].weights[0]                  # (4, 8): drawn 4 high, 8 across
    image = images[f"{kernel.name}/image"]
    assert (image.height, image.width) == (4, 8)
    assert image.encoded_image_string[:8] == b"\x89PNG\r\n\x1a\n"
    batch_steps = sorted(step for tag, step, _ in events if tag == "batch_loss")
    assert batch_steps == [2, 4, 6, 8]
    text = [value for tag, _, value in events if tag.startswith("keras")]
    assert text, "write_graph=True writes the model's config as text"


def test_evaluate_writes_evaluation_scalars_at_the_optimizer_step(tmp_path, event_pb2):
    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    board = callbacks.TensorBoard(log_dir=tmp_path)
    logs = model.evaluate(x, y, verbose=0, return_dict=True, callbacks=[board])
    scalars = _scalars(event_pb2, tmp_path / "validation")
    for name, value in logs.items():
        assert scalars[f"evaluation_{name}_vs_iterations"] == \
            {model.optimizer.iterations: pytest.approx(value, rel=1e-6)}


def test_a_missing_tensorboardx_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)   # import raises ImportError
    x, y = _data(32)
    with pytest.raises(ImportError, match=r"glassnet\[tensorboard\]"):
        _model().fit(x, y, epochs=1, verbose=0,
                     callbacks=[callbacks.TensorBoard(log_dir=tmp_path)])


@pytest.mark.parametrize(("argument", "value"), [("update_freq", "often"),
                                                  ("update_freq", 0),
                                                  ("histogram_freq", -1),
                                                  ("profile_batch", 2),
                                                  ("embeddings_freq", 1)])
def test_bad_arguments_name_themselves(argument, value):
    with pytest.raises(ValueError, match=argument):
        callbacks.TensorBoard(**{argument: value})


def test_only_the_chief_rank_writes_under_data_parallelism():
    from types import SimpleNamespace

    from glassnet.training.parallel import callbacks_for_rank

    board, stop = callbacks.TensorBoard(), callbacks.EarlyStopping()
    for rank, expected in ((0, [board, stop]), (1, [stop])):
        run = SimpleNamespace(communicator=SimpleNamespace(rank=rank))
        kept, _ = callbacks_for_rank([board, stop], 1, run)
        assert kept == expected

"""TensorBoard: the callback of the training guide writes event files
under log_dir/train and log_dir/validation, as Keras does."""

import numpy as np

import glassnet as keras


def test_tensorboard_writes_train_and_validation_event_files(rng, tmp_path):
    x = rng.normal(size=(32, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    callback = keras.callbacks.TensorBoard(log_dir=str(tmp_path / "logs"), histogram_freq=0,
                                           update_freq="epoch")
    model.fit(x, y, epochs=2, validation_split=0.25, verbose=0, callbacks=[callback])
    for run in ("train", "validation"):
        events = list((tmp_path / "logs" / run).glob("events.out.tfevents.*"))
        assert len(events) == 1 and events[0].stat().st_size > 0
    assert np.isfinite(model.evaluate(x, y, verbose=0))

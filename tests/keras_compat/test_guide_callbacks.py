"""The features of Keras' guide "Writing your own callbacks", in Keras-style code on
glassnet; the order of the hooks and what their logs hold are compared with Keras on torch."""

import numpy as np
import pytest

import glassnet as keras

HOOKS = ["on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
         "on_test_begin", "on_test_end", "on_predict_begin", "on_predict_end",
         "on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin",
         "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end"]


@pytest.fixture
def keras_ref(keras):
    """Keras 3 on torch (tests/conftest.py's fixture), beside `import glassnet as keras`."""
    return keras


@pytest.fixture
def data(rng):
    x = rng.normal(size=(64, 6)).astype("float32")
    return x, x @ rng.normal(size=(6, 1)).astype("float32")


def get_model(lib, learning_rate=0.05):
    model = lib.Sequential([lib.Input(shape=(6,)), lib.layers.Dense(1)])
    model.compile(optimizer=lib.optimizers.SGD(learning_rate=learning_rate),
                  loss="mean_squared_error", metrics=["mean_absolute_error"])
    return model


def recorder(lib, calls):
    """A Callback subclass that writes down every hook: its name, its index argument (the
    epoch or batch, for the hooks that take one) and the keys of its logs (None if None)."""

    def hook(name):
        if name.endswith(("_begin", "_end")) and ("batch" in name or "epoch" in name):
            def method(self, index, logs=None):
                calls.append((name, index, None if logs is None else sorted(logs)))
        else:
            def method(self, logs=None):
                calls.append((name, None, None if logs is None else sorted(logs)))
        return method

    return type("CustomCallback", (lib.callbacks.Callback,), {n: hook(n) for n in HOOKS})


def run_all(lib, data):
    x, y = data
    calls = []
    callback = recorder(lib, calls)
    model = get_model(lib)
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, validation_data=(x[:32], y[:32]),
              callbacks=[callback()])
    model.evaluate(x, y, batch_size=32, verbose=0, callbacks=[callback()])
    model.predict(x, batch_size=32, verbose=0, callbacks=[callback()])
    return calls


def test_hooks_run_in_keras_order_with_keras_arguments(keras_ref, data):
    ours, theirs = run_all(keras, data), run_all(keras_ref, data)
    assert [(name, index) for name, index, _ in ours] == \
        [(name, index) for name, index, _ in theirs]


def test_hook_logs_hold_what_keras_puts_there(keras_ref, data):
    ours, theirs = run_all(keras, data), run_all(keras_ref, data)
    mismatched = [(mine, reference) for mine, reference in zip(ours, theirs)
                  if (mine[2] or []) != (reference[2] or [])]
    assert not mismatched, mismatched[:5]


def test_callback_params_and_model_are_set(keras_ref, data):
    x, y = data
    seen = {}

    def capture(lib, key):
        class Capture(lib.callbacks.Callback):
            def on_train_begin(self, logs=None):
                seen[key] = {name: self.params.get(name) for name in ("epochs", "steps",
                                                                       "verbose")}
                seen[key + "_model"] = self.model is model
        return Capture()

    for lib, key in ((keras, "ours"), (keras_ref, "theirs")):
        model = get_model(lib)
        model.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=[capture(lib, key)])
    assert seen["ours"] == seen["theirs"]
    assert seen["ours_model"] and seen["theirs_model"]


def test_stop_training_ends_fit_after_the_epoch(data):
    x, y = data

    class StopAtSecondEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True

    history = get_model(keras).fit(x, y, epochs=10, verbose=0,
                                   callbacks=[StopAtSecondEpoch()])
    assert len(history.history["loss"]) == 2


class EarlyStoppingAtMinLoss(keras.callbacks.Callback):
    """Stop when the loss stops falling for `patience` epochs; keep the best weights."""

    def __init__(self, patience=0):
        super().__init__()
        self.patience = patience
        self.best_weights = None

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = np.inf

    def on_epoch_end(self, epoch, logs=None):
        current = logs.get("loss")
        if np.less(current, self.best):
            self.best = current
            self.wait = 0
            self.best_weights = self.model.get_weights()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                self.model.stop_training = True
                self.model.set_weights(self.best_weights)


def test_a_custom_early_stopping_restores_the_best_weights(data):
    x, y = data
    keras.utils.set_random_seed(0)
    model = get_model(keras, learning_rate=0.7)      # too large: the loss soon grows
    stopper = EarlyStoppingAtMinLoss(patience=1)
    history = model.fit(x, y, batch_size=64, epochs=30, verbose=0, callbacks=[stopper])
    losses = history.history["loss"]
    assert 0 < stopper.stopped_epoch == len(losses) - 1 < 29
    assert losses[-1] > min(losses)
    assert stopper.best == min(losses)
    for mine, best in zip(model.get_weights(), stopper.best_weights):
        np.testing.assert_array_equal(mine, best)


class CustomLearningRateScheduler(keras.callbacks.Callback):
    def __init__(self, schedule):
        super().__init__()
        self.schedule = schedule

    def on_epoch_begin(self, epoch, logs=None):
        learning_rate = float(np.array(self.model.optimizer.learning_rate))
        self.model.optimizer.learning_rate = self.schedule(epoch, learning_rate)


def test_a_custom_scheduler_sets_the_optimizer_learning_rate(data):
    x, y = data
    seen = []

    class Watch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(float(np.array(self.model.optimizer.learning_rate)))

    def halve_after_first(epoch, learning_rate):
        return learning_rate if epoch == 0 else learning_rate / 2

    model = get_model(keras, learning_rate=0.1)
    model.fit(x, y, epochs=4, verbose=0,
              callbacks=[CustomLearningRateScheduler(halve_after_first), Watch()])
    np.testing.assert_allclose(seen, [0.1, 0.05, 0.025, 0.0125])


def test_keras_learning_rate_scheduler_matches_the_custom_one(keras_ref, data):
    x, y = data
    rates = {}
    for lib in (keras, keras_ref):
        model = get_model(lib, learning_rate=0.1)
        history = model.fit(x, y, epochs=3, verbose=0, callbacks=[
            lib.callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))])
        rates[lib.__name__] = history.history.get("learning_rate")
    np.testing.assert_allclose(rates["glassnet"], rates["keras"], rtol=1e-6)

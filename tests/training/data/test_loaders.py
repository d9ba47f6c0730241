"""fit / evaluate / predict on a loader (torch's DataLoader), compared with Keras on torch."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import callbacks, layers


@pytest.fixture
def arrays(rng):
    x = rng.normal(size=(40, 5)).astype("float32")
    return x, (x[:, :1] - x[:, 1:2]).astype("float32")


def loader(torch, x, y, batch_size=16, shuffle=False):
    dataset = torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y))
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle)


def net(lib):
    model = lib.Sequential([lib.Input(shape=(5,)), lib.layers.Dense(3, activation="tanh"),
                            lib.layers.Dense(1)])
    model.compile(optimizer=lib.optimizers.SGD(learning_rate=0.1), loss="mse")
    return model


def test_fit_on_a_loader_trains_as_keras_does(torch, keras, arrays):
    x, y = arrays
    ours, theirs = net(gn), net(keras)
    theirs.set_weights(ours.get_weights())
    ours_history = ours.fit(loader(torch, x, y), epochs=3, verbose=0)
    theirs_history = theirs.fit(loader(torch, x, y), epochs=3, verbose=0)
    np.testing.assert_allclose(ours_history.history["loss"], theirs_history.history["loss"],
                               rtol=1e-5)
    for mine, reference in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6)


def test_every_epoch_is_a_full_new_pass(torch, arrays):
    x, y = arrays
    steps = []

    class Count(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            steps.append(self.model.optimizer.iterations)

    model = gn.Sequential([layers.Input(shape=(5,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(loader(torch, x, y, shuffle=True), epochs=3, verbose=0, callbacks=[Count()])
    assert [int(s) for s in steps] == [3, 6, 9]                   # 40 rows, batches of 16


def test_evaluate_and_predict_on_a_loader_equal_the_arrays(torch, arrays):
    x, y = arrays
    model = net(gn)
    np.testing.assert_allclose(model.evaluate(loader(torch, x, y), verbose=0),
                               model.evaluate(x, y, verbose=0), rtol=1e-6)
    np.testing.assert_array_equal(model.predict(loader(torch, x, y), verbose=0),
                                  model.predict(x, verbose=0))
    model.fit(x, y, validation_data=loader(torch, x, y), epochs=1, verbose=0)

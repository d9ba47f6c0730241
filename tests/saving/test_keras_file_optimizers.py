"""The optimizers and schedules added after Adam in `.keras` files, both ways, against
Keras 3.15 (torch backend): a model trained 3 steps in one library takes its next step in
the other to the same weights (float32, rtol 1e-5), so the slots landed where they belong."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn

# class name -> keyword arguments (a callable value is called with the optimizers module)
CASES = {
    "Adadelta": {"learning_rate": 1.0, "rho": 0.9},
    "Adafactor": {"learning_rate": 0.05},
    "Adamax": {"learning_rate": lambda m: m.schedules.CosineDecayRestarts(0.05, 2)},
    "Nadam": {"learning_rate": lambda m: m.schedules.ExponentialDecay(0.02, 3, 0.5)},
    "Ftrl": {"learning_rate": 0.1, "l1_regularization_strength": 0.01},
    "Lamb": {"learning_rate": lambda m: m.schedules.PolynomialDecay(0.05, 10)},
    "Lion": {"learning_rate": lambda m: m.schedules.InverseTimeDecay(0.01, 2, 0.5)},
}


def make_optimizer(module, class_name):
    kwargs = {k: v(module) if callable(v) else v for k, v in CASES[class_name].items()}
    return getattr(module, class_name)(**kwargs)


def data():
    rng = np.random.default_rng(0)
    return (rng.standard_normal((16, 5)).astype("float32"),
            rng.standard_normal((16, 2)).astype("float32"))


def assert_same_weights(keras_model, model):
    for expected, actual in zip(keras_model.get_weights(), model.get_weights()):
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("class_name", sorted(CASES))
def test_keras_to_glassnet_and_back(keras, tmp_path, class_name):
    keras.utils.set_random_seed(0)
    x, y = data()
    trained = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="tanh"),
                                keras.layers.Dense(2)])
    trained.compile(optimizer=make_optimizer(keras.optimizers, class_name), loss="mse")
    for _ in range(3):
        trained.train_on_batch(x, y)
    trained.save(tmp_path / "trained.keras")

    model = gn.load_model(tmp_path / "trained.keras")
    assert type(model.optimizer).__name__ == class_name
    assert model.optimizer.iterations == 3
    trained.train_on_batch(x, y)
    model.train_on_batch(x, y)
    assert_same_weights(trained, model)

    model.save(tmp_path / "back.keras")
    reloaded = keras.saving.load_model(tmp_path / "back.keras")
    assert int(reloaded.optimizer.iterations) == 4
    reloaded.train_on_batch(x, y)
    model.train_on_batch(x, y)
    assert_same_weights(reloaded, model)
    if class_name == "Nadam":                 # its momentum product, recomputed here
        np.testing.assert_allclose(float(reloaded.optimizer._u_product.numpy()),
                                   model.optimizer.u_product(5), rtol=1e-6)

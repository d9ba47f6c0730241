"""Whole models through Keras 3 files, against real Keras (torch backend).

Four models (issue 12): an MLP with dropout, a CNN with batch normalization after training
(its convolutions without bias: before a batch norm a bias only gathers rounding noise, which
Adam would scale up to full steps of either sign),
Embedding(mask_zero) -> Bidirectional LSTM -> GRU, and a Functional graph with a causal
Conv1D, LayerNormalization, Add and Concatenate. Each is trained in Keras, saved as `.keras`,
loaded by glassnet, which predicts the same (relative 1e-5) and trains it further (its next
step equal to Keras' own, except under dropout); and the same architecture trained in
glassnet, saved as `.keras`, is loaded by Keras, which predicts the same and continues from
glassnet's optimizer state. Also: `.weights.h5` both ways, and Keras' layer order for
Functional models (the weights file numbers layers of one class in that order).
"""

from __future__ import annotations

import numpy as np
import pytest
from _keras_compare import Differences

import glassnet as gn
from glassnet import layers

RNG = np.random.default_rng(7)


@pytest.fixture(scope="module")
def differences():
    record = Differences()
    yield record
    record.report()


def _classes(x, count: int = 3):
    """Labels a model can learn: the argmax of a fixed random projection of x."""
    flat = x.reshape(len(x), -1)
    return np.eye(count, dtype="float32")[np.argmax(flat @ RNG.standard_normal(
        (flat.shape[1], count)), axis=1)]


def _data(name: str):
    rng = np.random.default_rng(1)
    if name == "mlp":
        x = rng.standard_normal((96, 12)).astype("float32")
    elif name == "cnn":
        x = rng.random((48, 8, 8, 1)).astype("float32")
    elif name == "rnn":
        x = rng.integers(1, 20, size=(48, 7)).astype("float32")
        for row, length in zip(x, rng.integers(3, 8, size=48)):
            row[length:] = 0                                  # padded at the end
    else:
        x = rng.standard_normal((48, 10, 3)).astype("float32")
    return x, _classes(x)


# ----- the four models, in Keras and in glassnet ----------------------------------------------
def keras_model(keras, name: str):
    L = keras.layers
    if name == "mlp":
        return keras.Sequential([keras.Input((12,)), L.Dense(16, activation="relu"),
                                 L.Dropout(0.3), L.Dense(8, activation="relu"), L.Dropout(0.2),
                                 L.Dense(3, activation="softmax")])
    if name == "cnn":
        return keras.Sequential([keras.Input((8, 8, 1)),
                                 L.Conv2D(4, 3, padding="same", use_bias=False),
                                 L.BatchNormalization(), L.ReLU(), L.MaxPooling2D(),
                                 L.Conv2D(6, 3, use_bias=False), L.BatchNormalization(),
                                 L.GlobalAveragePooling2D(), L.Dense(3, activation="softmax")])
    if name == "rnn":
        return keras.Sequential([keras.Input((7,)), L.Embedding(20, 4, mask_zero=True),
                                 L.Bidirectional(L.LSTM(5, return_sequences=True)), L.GRU(4),
                                 L.Dense(3, activation="softmax")])
    x = keras.Input((10, 3), name="sequence")
    conv = L.Conv1D(4, 3, padding="causal", activation="relu")(x)
    normed = L.LayerNormalization()(conv)
    residual = L.Add()([conv, normed])
    joined = L.Concatenate()([residual, x])
    pooled = L.GlobalAveragePooling1D()(joined)
    return keras.Model(x, L.Dense(3, activation="softmax")(pooled))


def glassnet_model(name: str):
    if name == "mlp":
        return gn.Sequential([layers.Input((12,)), layers.Dense(16, activation="relu"),
                              layers.Dropout(0.3), layers.Dense(8, activation="relu"),
                              layers.Dropout(0.2), layers.Dense(3, activation="softmax")])
    if name == "cnn":
        return gn.Sequential([layers.Input((8, 8, 1)),
                              layers.Conv2D(4, 3, padding="same", use_bias=False),
                              layers.BatchNormalization(), layers.ReLU(),
                              layers.MaxPooling2D(), layers.Conv2D(6, 3, use_bias=False),
                              layers.BatchNormalization(), layers.GlobalAveragePooling2D(),
                              layers.Dense(3, activation="softmax")])
    if name == "rnn":
        return gn.Sequential([layers.Input((7,)), layers.Embedding(20, 4, mask_zero=True),
                              layers.Bidirectional(layers.LSTM(5, return_sequences=True)),
                              layers.GRU(4), layers.Dense(3, activation="softmax")])
    x = layers.Input((10, 3), name="sequence")
    conv = layers.Conv1D(4, 3, padding="causal", activation="relu")(x)
    normed = layers.LayerNormalization()(conv)
    residual = layers.Add()([conv, normed])
    joined = layers.Concatenate()([residual, x])
    pooled = layers.GlobalAveragePooling1D()(joined)
    return gn.Model(x, layers.Dense(3, activation="softmax")(pooled))


MODELS = ("mlp", "cnn", "rnn", "functional")


def _same_step(differences, keras_model, model, x, y, where: str) -> None:
    """One training step in each library from the same state gives the same weights."""
    keras_model.train_on_batch(x, y)
    model.train_on_batch(x, y)
    for k, (expected, actual) in enumerate(zip(keras_model.get_weights(), model.get_weights())):
        differences.check(expected, actual, f"{where}: a step, weight {k}", rtol=1e-4,
                          floor=1e-2)


@pytest.mark.parametrize("name", MODELS)
def test_trained_in_keras_continues_in_glassnet(keras, differences, tmp_path, name):
    keras.utils.set_random_seed(0)
    x, y = _data(name)
    trained = keras_model(keras, name)
    trained.compile(optimizer=keras.optimizers.Adam(0.01), loss="categorical_crossentropy",
                    metrics=["accuracy"])
    trained.fit(x, y, epochs=3, batch_size=16, verbose=0)
    trained.save(tmp_path / f"{name}.keras")

    model = gn.saving.load_model(tmp_path / f"{name}.keras")
    differences.check(trained.predict(x, verbose=0), model.predict(x, verbose=0),
                      f"{name}: Keras -> glassnet, predict")
    assert model.optimizer.iterations == int(trained.optimizer.iterations)
    assert model.optimizer.learning_rate == pytest.approx(0.01)
    if name == "mlp":                      # dropout: the two steps draw different masks
        before = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
        model.fit(x, y, epochs=5, batch_size=16, verbose=0)
        assert model.evaluate(x, y, verbose=0, return_dict=True)["loss"] < before
    else:
        _same_step(differences, trained, model, x, y, f"{name}: Keras -> glassnet")


@pytest.mark.parametrize("name", MODELS)
def test_trained_in_glassnet_continues_in_keras(keras, differences, tmp_path, name):
    gn.random.set_random_seed(0)
    x, y = _data(name)
    model = glassnet_model(name)
    model.compile(optimizer=gn.optimizers.Adam(0.01), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    model.save(tmp_path / f"{name}.keras")

    reloaded = keras.saving.load_model(tmp_path / f"{name}.keras")
    differences.check(model.predict(x, verbose=0), reloaded.predict(x, verbose=0),
                      f"{name}: glassnet -> Keras, predict")
    assert int(reloaded.optimizer.iterations) == model.optimizer.iterations
    if name != "mlp":
        _same_step(differences, reloaded, model, x, y, f"{name}: glassnet -> Keras")


def test_weights_files_both_ways(keras, differences, tmp_path):
    keras.utils.set_random_seed(1)
    x, y = _data("rnn")
    trained = keras_model(keras, "rnn")
    trained.compile(optimizer="rmsprop", loss="categorical_crossentropy")
    trained.fit(x, y, epochs=1, batch_size=16, verbose=0)
    trained.save_weights(tmp_path / "keras.weights.h5")
    model = glassnet_model("rnn")
    model.load_weights(tmp_path / "keras.weights.h5")
    differences.check(trained.predict(x, verbose=0), model.predict(x, verbose=0),
                      "rnn: Keras weights -> glassnet")

    model.compile(optimizer="rmsprop", loss="categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    model.save_weights(tmp_path / "glassnet.weights.h5")
    trained.load_weights(tmp_path / "glassnet.weights.h5")
    differences.check(model.predict(x, verbose=0), trained.predict(x, verbose=0),
                      "rnn: glassnet weights -> Keras")


def _branches(library, layers_module, inputs):
    """Dense layers of one class at several depths and branches: their order matters."""
    L = layers_module
    a = L.Dense(4, name="a")(inputs)
    b = L.Dense(4, name="b", activation="tanh")(inputs)
    c = L.Dense(4, name="c")(b)
    d = L.Dense(4, name="d", activation="relu")(L.Concatenate(name="join")([a, c]))
    e = L.Add(name="sum")([d, L.Dense(4, name="e")(a)])
    return library.Model(inputs, L.Dense(2, name="out")(e))


def test_functional_layer_order_matches_keras(keras, differences, tmp_path):
    """model.layers is in the order Keras' map_graph gives, glassnet writes the layers in it,
    and reads the weights of same-class layers into the right ones, in both directions."""
    keras.utils.set_random_seed(2)
    x = np.random.default_rng(3).standard_normal((5, 6)).astype("float32")
    from_keras = _branches(keras, keras.layers, keras.Input((6,), name="x"))
    from_keras.save(tmp_path / "keras.keras")
    model = gn.load_model(tmp_path / "keras.keras")
    assert [layer.name for layer in model.layers] == \
        [layer.name for layer in from_keras.layers]
    differences.check(from_keras.predict(x, verbose=0), model.predict(x, verbose=0),
                      "branches: Keras -> glassnet")

    built = _branches(gn, layers, layers.Input((6,), name="x"))
    built.save(tmp_path / "glassnet.keras")
    reloaded = keras.saving.load_model(tmp_path / "glassnet.keras")
    assert [layer.name for layer in reloaded.layers] == \
        [layer.name for layer in built.layers]
    differences.check(built.predict(x, verbose=0), reloaded.predict(x, verbose=0),
                      "branches: glassnet -> Keras")


def test_two_inputs_and_a_shared_layer_both_ways(keras, differences, tmp_path):
    keras.utils.set_random_seed(3)
    L = keras.layers
    rng = np.random.default_rng(4)
    x = [rng.standard_normal((5, 4)).astype("float32") for _ in range(2)]
    y = rng.standard_normal((5, 2)).astype("float32")
    left, right = keras.Input((4,), name="left"), keras.Input((4,), name="right")
    shared = L.Dense(3, activation="tanh", name="shared")
    merged = L.Concatenate()([shared(left), shared(right), L.Dense(2, name="own")(right)])
    trained = keras.Model([left, right], L.Dense(2, name="out")(merged))
    trained.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.5), loss="mse")
    trained.train_on_batch(x, y)
    trained.save(tmp_path / "two.keras")
    model = gn.load_model(tmp_path / "two.keras")
    differences.check(trained.predict(x, verbose=0), model.predict(x, verbose=0),
                      "two inputs: Keras -> glassnet")
    _same_step(differences, trained, model, x, y, "two inputs: Keras -> glassnet")
    model.save(tmp_path / "two_back.keras")
    reloaded = keras.saving.load_model(tmp_path / "two_back.keras")
    differences.check(model.predict(x, verbose=0), reloaded.predict(x, verbose=0),
                      "two inputs: glassnet -> Keras")
    _same_step(differences, reloaded, model, x, y, "two inputs: glassnet -> Keras")


def test_compile_settings_both_ways(keras, differences, tmp_path):
    """A schedule (no learning-rate variable), a loss and a metric given as functions, a
    metric object: all carried over, and the schedule goes on from the step count."""
    keras.utils.set_random_seed(4)
    x, y = _data("mlp")
    trained = keras.Sequential([keras.Input((12,)), keras.layers.Dense(
        3, activation=keras.activations.sigmoid)])
    schedule = keras.optimizers.schedules.ExponentialDecay(0.05, 4, 0.5)
    trained.compile(optimizer=keras.optimizers.Adam(schedule), loss=keras.losses.huber,
                    metrics=[keras.metrics.mean_absolute_error,
                             keras.metrics.CategoricalAccuracy(name="acc2"), "mse"])
    trained.fit(x, y, epochs=1, batch_size=32, verbose=0)
    trained.save(tmp_path / "compiled.keras")
    model = gn.load_model(tmp_path / "compiled.keras")
    assert model.optimizer.iterations == 3
    assert model.optimizer.learning_rate == pytest.approx(0.05 * 0.5 ** (3 / 4))
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "mean_absolute_error", "acc2", "mse"}
    _same_step(differences, trained, model, x, y, "compiled: Keras -> glassnet")
    model.save(tmp_path / "compiled_back.keras")
    reloaded = keras.saving.load_model(tmp_path / "compiled_back.keras")
    assert type(reloaded.optimizer.learning_rate).__name__ != "float"
    assert int(reloaded.optimizer.iterations) == 4
    _same_step(differences, reloaded, model, x, y, "compiled: glassnet -> Keras")


def _masked_models():
    sequential = gn.Sequential([gn.Input((6,)), gn.layers.Embedding(9, 3, mask_zero=True),
                                gn.layers.Dense(4), gn.layers.Dropout(0.1),
                                gn.layers.LayerNormalization(), gn.layers.GRU(2)])
    ids = gn.layers.Input((6,))
    embedded = gn.layers.Embedding(9, 3, mask_zero=True)(ids)
    merged = gn.layers.Add()([gn.layers.Dense(3)(embedded), embedded])
    functional = gn.Model(ids, gn.layers.GlobalAveragePooling1D()(
        gn.layers.LSTM(2, return_sequences=True)(merged)))
    masking = gn.Sequential([gn.Input((6, 2)), gn.layers.Masking(0.0), gn.layers.Rescaling(2.0),
                             gn.layers.GaussianNoise(0.1), gn.layers.Identity(),
                             gn.layers.LSTM(2, return_sequences=True),
                             gn.layers.GlobalAveragePooling1D()])
    return {"sequential": sequential, "functional": functional, "masking": masking}


@pytest.mark.parametrize("name", ["sequential", "functional", "masking"])
def test_masks_carried_through_layers_agree_with_keras(keras, differences, tmp_path, name):
    """A padding mask (Embedding's or Masking's) through Dense, Dropout, noise, rescaling,
    normalization and merges into an RNN and a pooling: glassnet and Keras compute the same
    from the same file."""
    model = _masked_models()[name]
    ids = np.array([[3, 5, 1, 0, 0, 0], [7, 1, 2, 4, 8, 0], [2, 0, 0, 0, 0, 0]])
    if name == "masking":                   # the same padding, on features of two channels
        ids = np.random.default_rng(3).standard_normal((3, 6, 2)) * (ids > 0)[..., None]
    model.save(tmp_path / f"{name}.keras")
    reloaded = keras.saving.load_model(tmp_path / f"{name}.keras")
    expected = model.predict(ids, verbose=0)
    np.testing.assert_allclose(np.asarray(reloaded.predict(ids, verbose=0)), expected,
                               rtol=1e-5, atol=1e-6)
    again = gn.load_model(tmp_path / f"{name}.keras")
    np.testing.assert_array_equal(again.predict(ids, verbose=0), expected)

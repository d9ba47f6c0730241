"""The features of Keras' guide "The Sequential model", in Keras-style code on glassnet."""

import numpy as np
import pytest
from _keras_compat import assert_close, same_weights

import glassnet as keras
from glassnet import layers


@pytest.fixture
def keras_ref(keras):
    """Keras 3 on torch (tests/conftest.py's fixture), beside `import glassnet as keras`."""
    return keras


def three_dense():
    return keras.Sequential([
        layers.Dense(2, activation="relu", name="layer1"),
        layers.Dense(3, activation="relu", name="layer2"),
        layers.Dense(4, name="layer3"),
    ])


def test_sequential_from_a_list_is_called_on_an_array_like_keras(keras_ref, rng):
    x = rng.normal(size=(5, 3)).astype("float32")
    model = three_dense()
    y = model(x)
    assert [layer.name for layer in model.layers] == ["layer1", "layer2", "layer3"]
    theirs = keras_ref.Sequential([
        keras_ref.layers.Dense(2, activation="relu"), keras_ref.layers.Dense(3, activation="relu"),
        keras_ref.layers.Dense(4)])
    theirs(x)
    same_weights(model, theirs)
    assert_close(y, theirs(x).detach().numpy())


def test_add_pop_and_name(rng):
    model = keras.Sequential(name="my_sequential")
    model.add(layers.Dense(2, activation="relu"))
    model.add(layers.Dense(3, activation="relu"))
    model.add(layers.Dense(4))
    assert len(model.layers) == 3 and model.name == "my_sequential"
    model.pop()
    assert len(model.layers) == 2
    assert model(rng.normal(size=(1, 5))).shape == (1, 3)


def test_a_layer_creates_its_weights_on_first_call():
    layer = layers.Dense(3)
    assert layer.weights == []
    layer(np.ones((1, 4), dtype="float32"))
    assert [tuple(w.shape) for w in layer.weights] == [(4, 3), (3,)]


def test_a_model_without_input_has_no_weights_until_built():
    model = keras.Sequential([layers.Dense(2, activation="relu"), layers.Dense(4)])
    assert model.weights == []
    model.build((None, 4))
    assert [tuple(w.shape) for w in model.weights] == [(4, 2), (2,), (2, 4), (4,)]


def test_input_first_gives_shapes_and_a_summary(keras_ref, capsys):
    model = keras.Sequential()
    model.add(keras.Input(shape=(4,)))
    model.add(layers.Dense(2, activation="relu"))
    assert len(model.layers) == 1                  # the Input is not a layer of the model
    assert len(model.weights) == 2 and model.output_shape == (None, 2)
    via_argument = keras.Sequential([layers.Dense(2, activation="relu", input_shape=(4,))])
    assert via_argument.output_shape == (None, 2)
    model.summary()
    text = capsys.readouterr().out
    theirs = keras_ref.Sequential([keras_ref.Input(shape=(4,)), keras_ref.layers.Dense(2)])
    assert model.count_params() == theirs.count_params() == 10
    assert "Total params: 10" in text and "(None, 2)" in text


def test_stacked_convolutions_have_keras_output_shapes(keras_ref):
    """The guide's debugging workflow: add layers and read the output shape after each."""

    def stack(lib):
        return [lib.Input(shape=(250, 250, 3)),
                lib.layers.Conv2D(32, 5, strides=2, activation="relu"),
                lib.layers.Conv2D(32, 3, activation="relu"), lib.layers.MaxPooling2D(3),
                lib.layers.Conv2D(32, 3, activation="relu", padding="same"),
                lib.layers.MaxPooling2D(2), lib.layers.GlobalMaxPooling2D(),
                lib.layers.Dense(10)]

    ours, theirs = keras.Sequential(), keras_ref.Sequential()
    for mine, keras_layer in zip(stack(keras), stack(keras_ref)):
        ours.add(mine)
        theirs.add(keras_layer)
        if len(theirs.layers):
            assert ours.output_shape == theirs.output_shape
    assert ours.count_params() == theirs.count_params()


def test_frozen_layers_keep_their_weights_while_the_head_trains(rng):
    model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(16, activation="relu"),
                              layers.Dense(16, activation="relu"), layers.Dense(3)])
    for layer in model.layers[:-1]:
        layer.trainable = False
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 4
    frozen = [w.copy() for w in model.get_weights()[:4]]
    head = [w.copy() for w in model.get_weights()[4:]]
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(
        from_logits=True))
    model.fit(rng.normal(size=(32, 8)), rng.integers(0, 3, 32), epochs=2, verbose=0)
    after = model.get_weights()
    for before, now in zip(frozen, after[:4]):
        np.testing.assert_array_equal(before, now)
    assert not np.array_equal(head[0], after[4])


def test_fit_evaluate_predict_save_and_load(rng, tmp_path):
    x = rng.normal(size=(128, 4)).astype("float32")
    y = (x[:, 0] - x[:, 1] > 0).astype("int64")
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(16, activation="relu"),
                              layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=15, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert accuracy > 0.9
    model.save(tmp_path / "model.keras")
    restored = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))

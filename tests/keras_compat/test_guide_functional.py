"""The features of Keras' guide "The Functional API", in Keras-style code on glassnet."""

import numpy as np
import pytest
from _keras_compat import assert_close, same_weights

import glassnet as keras
from glassnet import layers, ops


@pytest.fixture
def keras_ref(keras):
    """Keras 3 on torch (tests/conftest.py's fixture), beside `import glassnet as keras`."""
    return keras


def mlp(lib, name="mnist_model"):
    inputs = lib.Input(shape=(20,))
    x = lib.layers.Dense(16, activation="relu")(inputs)
    x = lib.layers.Dense(16, activation="relu")(x)
    outputs = lib.layers.Dense(4)(x)
    return lib.Model(inputs=inputs, outputs=outputs, name=name)


def test_input_and_layer_calls_make_a_model_like_keras(keras_ref, rng):
    inputs = keras.Input(shape=(20,))
    assert inputs.shape == (None, 20) and inputs.dtype == "float32"
    model, theirs = mlp(keras), mlp(keras_ref)
    assert model.name == "mnist_model"
    assert model.count_params() == theirs.count_params()
    same_weights(model, theirs)
    x = rng.normal(size=(6, 20)).astype("float32")
    assert_close(model(x), theirs(x).detach().numpy())
    assert_close(model.predict(x, verbose=0), theirs.predict(x, verbose=0))


def test_a_functional_model_trains(rng):
    x = rng.normal(size=(256, 20)).astype("float32")
    y = np.argmax(x[:, :4], axis=1)
    keras.utils.set_random_seed(0)
    model = mlp(keras)
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  optimizer=keras.optimizers.RMSprop(0.01), metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=12, validation_split=0.2, verbose=0)
    assert history.history["accuracy"][-1] > 0.85     # chance is 0.25
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert accuracy > 0.85


def test_a_saved_model_loads_in_glassnet_and_in_keras(keras_ref, rng, tmp_path):
    model = mlp(keras)
    model.compile(optimizer="adam", loss="mse")
    path = tmp_path / "my_model.keras"
    model.save(path)
    x = rng.normal(size=(3, 20)).astype("float32")
    expected = model.predict(x, verbose=0)
    np.testing.assert_array_equal(keras.models.load_model(path).predict(x, verbose=0), expected)
    assert_close(keras_ref.models.load_model(path).predict(x, verbose=0), expected)


def encoder_decoder():
    encoder_input = keras.Input(shape=(12, 12, 1), name="img")
    x = layers.Conv2D(8, 3, activation="relu")(encoder_input)
    x = layers.MaxPooling2D(2)(x)
    encoder_output = layers.GlobalMaxPooling2D()(x)
    encoder = keras.Model(encoder_input, encoder_output, name="encoder")
    decoder_input = keras.Input(shape=(8,), name="encoded_img")
    x = layers.Reshape((2, 2, 2))(decoder_input)
    x = layers.Conv2DTranspose(4, 3, strides=2, activation="relu")(x)
    decoder_output = layers.Conv2DTranspose(1, 3, strides=2, padding="same")(x)
    decoder = keras.Model(decoder_input, decoder_output, name="decoder")
    return encoder, decoder


def test_one_graph_of_layers_defines_several_models(rng):
    encoder_input = keras.Input(shape=(12, 12, 1))
    code = layers.GlobalMaxPooling2D()(layers.Conv2D(8, 3)(encoder_input))
    decoded = layers.Reshape((12, 12, 1))(layers.Dense(144)(code))
    encoder = keras.Model(encoder_input, code)
    autoencoder = keras.Model(encoder_input, decoded)
    x = rng.normal(size=(2, 12, 12, 1)).astype("float32")
    assert encoder(x).shape == (2, 8) and autoencoder(x).shape == (2, 12, 12, 1)
    # the encoder's layers are the autoencoder's: the same weights
    assert all(any(w is v for v in autoencoder.weights) for w in encoder.weights)


def test_models_are_called_like_layers(rng):
    encoder, decoder = encoder_decoder()
    autoencoder_input = keras.Input(shape=(12, 12, 1), name="img")
    encoded = encoder(autoencoder_input)
    autoencoder = keras.Model(autoencoder_input, decoder(encoded), name="autoencoder")
    x = rng.normal(size=(2, 12, 12, 1)).astype("float32")
    assert_close(autoencoder(x), decoder(encoder(x)))
    assert autoencoder.count_params() == encoder.count_params() + decoder.count_params()


def test_an_ensemble_averages_its_models(rng):
    def get_model():
        inputs = keras.Input(shape=(8,))
        return keras.Model(inputs, layers.Dense(1)(inputs))

    models = [get_model() for _ in range(3)]
    inputs = keras.Input(shape=(8,))
    outputs = layers.Average()([model(inputs) for model in models])
    ensemble = keras.Model(inputs=inputs, outputs=outputs)
    x = rng.normal(size=(4, 8)).astype("float32")
    assert_close(ensemble(x), np.mean([model(x) for model in models], axis=0))


def test_several_inputs_train_together(rng):
    keras.utils.set_random_seed(0)
    title = keras.Input(shape=(None,), dtype="int32", name="title")
    tags = keras.Input(shape=(6,), name="tags")
    title_features = layers.LSTM(8)(layers.Embedding(50, 8)(title))
    x = layers.Concatenate()([title_features, tags])
    priority = layers.Dense(1, name="priority")(x)
    model = keras.Model(inputs=[title, tags], outputs=priority)
    title_data = rng.integers(1, 50, size=(64, 7))
    tags_data = rng.integers(0, 2, size=(64, 6)).astype("float32")
    target = tags_data[:, :1] * 2.0 - 1.0          # learnable from the tags alone
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    history = model.fit([title_data, tags_data], target, epochs=8, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert model.predict([title_data, tags_data], verbose=0).shape == (64, 1)


def test_a_toy_resnet_with_add_trains(rng):
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(8, 8, 3), name="img")
    x = layers.Conv2D(8, 3, activation="relu", padding="same")(inputs)
    block_1_output = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(8, 3, activation="relu", padding="same")(block_1_output)
    x = layers.Conv2D(8, 3, activation="relu", padding="same")(x)
    block_2_output = layers.Add()([x, block_1_output])
    x = layers.GlobalAveragePooling2D()(block_2_output)
    outputs = layers.Dense(2)(layers.Dropout(0.2)(x))
    model = keras.Model(inputs, outputs, name="toy_resnet")
    images = rng.normal(size=(64, 8, 8, 3)).astype("float32")
    labels = (images[..., 0].mean(axis=(1, 2)) > 0).astype("int64")
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["acc"])
    history = model.fit(images, labels, batch_size=16, epochs=15, verbose=0)
    assert history.history["acc"][-1] > 0.8                        # chance is 0.5


def test_a_shared_layer_uses_one_set_of_weights(rng):
    shared_embedding = layers.Embedding(100, 4)
    text_input_a = keras.Input(shape=(5,), dtype="int32")
    text_input_b = keras.Input(shape=(5,), dtype="int32")
    encoded_a = layers.Flatten()(shared_embedding(text_input_a))
    encoded_b = layers.Flatten()(shared_embedding(text_input_b))
    model = keras.Model([text_input_a, text_input_b],
                        layers.Concatenate()([encoded_a, encoded_b]))
    assert len(model.weights) == 1
    ids_a, ids_b = rng.integers(0, 100, size=(2, 2, 5))
    y, swapped = model([ids_a, ids_b]), model([ids_b, ids_a])
    assert_close(y[:, :20], swapped[:, 20:])
    assert_close(y[:, 20:], swapped[:, :20])


class CustomDense(layers.Layer):
    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="random_normal",
                                 trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units})
        return config


def test_a_custom_layer_round_trips_through_the_config(rng):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, CustomDense(10)(inputs))
    new_model = keras.Model.from_config(model.get_config(),
                                        custom_objects={"CustomDense": CustomDense})
    new_model.set_weights(model.get_weights())
    x = rng.normal(size=(3, 4)).astype("float32")
    assert_close(new_model(x), model(x))


def test_functional_and_subclassed_models_mix(rng):
    units, timesteps, input_dim = 6, 5, 3

    class CustomRNN(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.projection_1 = layers.Dense(units=units, activation="tanh")
            self.projection_2 = layers.Dense(units=units, activation="tanh")
            inputs = keras.Input((timesteps, units))       # a functional model inside
            self.classifier = keras.Model(inputs, layers.Conv1D(1, timesteps)(inputs))

        def call(self, inputs):
            outputs = []
            state = ops.zeros(shape=(ops.shape(inputs)[0], units))
            for t in range(ops.shape(inputs)[1]):
                x = inputs[:, t, :]
                h = self.projection_1(x)
                y = h + self.projection_2(state)
                state = y
                outputs.append(y)
            features = ops.stack(outputs, axis=1)
            return self.classifier(features)

    inputs = keras.Input(batch_shape=(None, timesteps, input_dim))
    outputs = CustomRNN()(layers.Conv1D(input_dim, 3, padding="same")(inputs))
    keras.utils.set_random_seed(0)
    model = keras.Model(inputs, outputs)
    x = rng.normal(size=(2, timesteps, input_dim)).astype("float32")
    assert model(x).shape == (2, 1, 1)
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, np.ones((2, 1, 1)), epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]

"""A convolutional denoising autoencoder, as in Keras' code examples: Conv2D and
MaxPooling2D down, Conv2DTranspose up, trained to map noisy MNIST digits to clean ones."""

import numpy as np
from _keras_compat import mnist_subset

import glassnet as keras
from glassnet import layers


def noise(images, rng, factor=0.4):
    noisy = images + factor * rng.normal(size=images.shape).astype("float32")
    return np.clip(noisy, 0.0, 1.0)


def test_the_autoencoder_removes_noise(rng):
    (train, _), (test, _) = mnist_subset(train=1000, test=200)
    noisy_train, noisy_test = noise(train, rng), noise(test, rng)
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(8, (3, 3), activation="relu", padding="same")(inputs)
    x = layers.MaxPooling2D((2, 2), padding="same")(x)
    x = layers.Conv2D(8, (3, 3), activation="relu", padding="same")(x)
    x = layers.MaxPooling2D((2, 2), padding="same")(x)
    x = layers.Conv2DTranspose(8, (3, 3), strides=2, activation="relu", padding="same")(x)
    x = layers.Conv2DTranspose(8, (3, 3), strides=2, activation="relu", padding="same")(x)
    outputs = layers.Conv2D(1, (3, 3), activation="sigmoid", padding="same")(x)
    autoencoder = keras.Model(inputs, outputs)
    assert autoencoder.output_shape == (None, 28, 28, 1)
    autoencoder.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
    history = autoencoder.fit(noisy_train, train, epochs=4, batch_size=32, shuffle=True,
                              validation_data=(noisy_test, test), verbose=0)
    assert history.history["val_loss"][-1] < history.history["val_loss"][0]
    denoised = autoencoder.predict(noisy_test, verbose=0)
    error = np.mean((denoised - test) ** 2)
    # closer to the clean digits than the noisy input is, and than the mean digit is
    assert error < 0.6 * np.mean((noisy_test - test) ** 2)
    assert error < 0.6 * np.mean((train.mean(axis=0) - test) ** 2)

"""On MNIST (slow: minutes, run in CI): a call()-style residual CNN reaches 98.5% test
accuracy in two epochs, and a variational autoencoder written as in Keras' subclassing guide
trains.

    pytest -m slow tests/models/test_subclassing_mnist.py     # these alone
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from conftest import data_dir, require_data
from glassnet import datasets, layers, ops

pytestmark = pytest.mark.slow


def _mnist():
    require_data("mnist/train-images-idx3-ubyte.gz")
    (x, y), (x_test, y_test) = datasets.mnist(data_dir=data_dir())
    scale = np.float32(1 / 255)
    return (x[..., None] * scale, y.astype("int64")), (x_test[..., None] * scale,
                                                      y_test.astype("int64"))


class ResidualCNN(gn.Model):
    """stem conv - pool - [conv - conv] + skip - conv - pool - dense, in one call()."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

        def conv(filters, padding="same"):
            return layers.Conv2D(filters, 3, padding=padding, use_bias=False,
                                 kernel_initializer="he_normal")

        self.stem, self.stem_norm = conv(16), layers.BatchNormalization()
        self.conv_a, self.norm_a = conv(16), layers.BatchNormalization()
        self.conv_b, self.norm_b = conv(16), layers.BatchNormalization()
        self.widen, self.widen_norm = conv(32, "valid"), layers.BatchNormalization()
        self.pool = layers.MaxPooling2D(2)                 # called twice: two calls, one layer
        self.flatten = layers.Flatten()
        self.hidden = layers.Dense(128, activation="relu", kernel_initializer="he_normal")
        self.dropout = layers.Dropout(0.3)
        self.classes = layers.Dense(10, activation="softmax")

    def call(self, x, training=False):
        h = self.pool(ops.relu(self.stem_norm(self.stem(x))))            # (14, 14, 16)
        r = ops.relu(self.norm_a(self.conv_a(h)))
        h = ops.relu(h + self.norm_b(self.conv_b(r)))                    # the residual
        h = self.pool(ops.relu(self.widen_norm(self.widen(h))))          # (6, 6, 32)
        return self.classes(self.dropout(self.hidden(self.flatten(h))))


def test_a_call_style_residual_cnn_reaches_98_5_percent_in_two_epochs():
    (x, y), (x_test, y_test) = _mnist()
    gn.utils.set_random_seed(0)
    model = ResidualCNN()
    steps = 2 * int(np.ceil(len(x) / 128))
    model.compile(optimizer=gn.optimizers.Adam(gn.schedules.CosineDecay(2e-3, steps, 0.01)),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=128, verbose=0)
    accuracy = model.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"]
    print(f"residual CNN (call()), 2 epochs: test accuracy {accuracy:.4f}")
    assert accuracy >= 0.985


class Sampling(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seeds = gn.random.SeedGenerator(1337)

    def call(self, inputs):
        mean, log_var = inputs
        return mean + ops.exp(0.5 * log_var) * gn.random.normal(ops.shape(mean),
                                                                seed=self.seeds)


class Encoder(layers.Layer):
    def __init__(self, latent=16, hidden=256, **kwargs):
        super().__init__(**kwargs)
        self.proj = layers.Dense(hidden, activation="relu")
        self.mean, self.log_var = layers.Dense(latent), layers.Dense(latent)
        self.sampling = Sampling()

    def call(self, inputs):
        h = self.proj(inputs)
        mean, log_var = self.mean(h), self.log_var(h)
        return mean, log_var, self.sampling((mean, log_var))


class Decoder(layers.Layer):
    def __init__(self, width=784, hidden=256, **kwargs):
        super().__init__(**kwargs)
        self.proj = layers.Dense(hidden, activation="relu")
        self.out = layers.Dense(width, activation="sigmoid")

    def call(self, z):
        return self.out(self.proj(z))


class VAE(gn.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder = Encoder(), Decoder()

    def call(self, inputs):
        mean, log_var, z = self.encoder(inputs)
        # the ELBO per pixel: the summed KL over the latent units, divided by the pixels the
        # reconstruction loss ("mse") averages over; at weight 1 per latent unit the KL
        # outweighs the pixels and the decoder learns the mean image (posterior collapse)
        kl = -0.5 * ops.mean(ops.sum(1 + log_var - ops.square(mean) - ops.exp(log_var),
                                     axis=-1))
        self.add_loss(kl / ops.shape(inputs)[-1])
        return self.decoder(z)


def test_a_variational_autoencoder_trains_on_mnist():
    (x, _), (x_test, _) = _mnist()
    x, x_test = x.reshape(len(x), -1), x_test.reshape(len(x_test), -1)
    gn.utils.set_random_seed(0)
    vae = VAE()
    vae.compile(optimizer=gn.optimizers.Adam(1e-3), loss="mse")
    history = vae.fit(x, x, epochs=2, batch_size=64, verbose=0)
    reconstructed = vae.predict(x_test, verbose=0)
    error = float(np.mean((reconstructed - x_test) ** 2))
    baseline = float(np.mean((x_test - x.mean(axis=0)) ** 2))    # the mean image
    print(f"VAE: loss {history.history['loss']}, test MSE {error:.4f} (mean image "
          f"{baseline:.4f})")
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert error < 0.7 * baseline

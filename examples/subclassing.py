"""Layers, models, losses and metrics written Keras' way -- only the forward, with glassnet.ops.

    python examples/subclassing.py [--data-dir ../shared/data] [--mnist]

Each section is one feature of Keras' subclassing guide, on the Semeion digits (16x16,
1593 images) so that the whole walk takes seconds; `--mnist` trains the variational
autoencoder of the last section on MNIST instead.

    1. a layer with weights made in build; 2. a non-trainable weight; 3. layers inside a
    layer; 4. add_loss; 5. the training argument; 6. get_config; 7. a Model subclass that
    fits, evaluates and saves; 8. a loss written as a function, a Metric subclass;
    9. a variational autoencoder (encoder, decoder, a sampling layer, the KL term by add_loss)
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet import datasets, gradcheck, layers, metrics, ops
from glassnet.registry import register_serializable


# 1. weights made in build, once the input width is known ---------------------------------------
class Linear(layers.Layer):
    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), name="w")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="b")

    def call(self, inputs):
        return inputs @ self.w + self.b                    # operators on tensors are ops

    def get_config(self):                                  # 6. what from_config rebuilds
        return {**super().get_config(), "units": self.units}


# 2. a non-trainable weight, updated in call ------------------------------------------------------
class RunningMean(layers.Layer):
    def build(self, input_shape):
        self.total = self.add_weight(shape=(input_shape[-1],), initializer="zeros",
                                     trainable=False, name="total")
        self.count = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                     name="count")

    def call(self, inputs):
        self.total.assign_add(ops.sum(inputs, axis=0))
        self.count.assign_add(ops.shape(inputs)[0])
        return self.total / self.count


# 3 + 4 + 5. layers inside a layer, an activity penalty, dropout only in training -----------------
class Block(layers.Layer):
    def __init__(self, units=64, rate=0.2, penalty=1e-3, **kwargs):
        super().__init__(**kwargs)
        self.linear = Linear(units)
        self.norm = layers.LayerNormalization()            # a built-in layer: its own backward
        self.rate, self.penalty = rate, penalty
        self.seeds = gn.random.SeedGenerator(0)

    def call(self, inputs, training=False):
        h = ops.relu(self.norm(self.linear(inputs)))
        self.add_loss(self.penalty * ops.mean(ops.square(h)))
        if training:
            h = gn.random.dropout(h, self.rate, seed=self.seeds)
        return h


# 7. a Model subclass ------------------------------------------------------------------------------
@register_serializable                 # load_model finds the class by its name
class Classifier(gn.Model):
    def __init__(self, hidden=64, classes=10, **kwargs):
        super().__init__(**kwargs)
        self.hidden, self.classes = hidden, classes
        self.block = Block(hidden)
        self.head = layers.Dense(classes, activation="softmax")

    def call(self, x, training=False):
        return self.head(self.block(x))

    def get_config(self):
        return {**super().get_config(), "hidden": self.hidden, "classes": self.classes}


# 8. a loss as a plain function, a metric as a subclass --------------------------------------------
def focal_crossentropy(y_true, y_pred, gamma=2.0):
    """Sparse focal loss: -(1 - p_t)^gamma log p_t, p_t the probability of the true class."""
    labels = ops.cast(ops.reshape(y_true, (-1, 1)), "int32")            # (N,) -> (N, 1)
    p_t = ops.take_along_axis(y_pred, labels, axis=-1)[:, 0]
    p_t = ops.clip(p_t, 1e-7, 1.0)
    return -((1 - p_t) ** gamma) * ops.log(p_t)


class TopTwoAccuracy(metrics.Metric):
    def __init__(self, name="top_two", **kwargs):
        super().__init__(name=name, **kwargs)
        self.hits = self.add_variable(shape=(), name="hits")
        self.seen = self.add_variable(shape=(), name="seen")

    def update_state(self, y_true, y_pred, sample_weight=None):
        _, best = ops.top_k(y_pred, 2)
        labels = ops.reshape(ops.cast(y_true, "int32"), (-1, 1))
        self.hits.assign_add(ops.sum(ops.cast(ops.any(best == labels, axis=-1), "float32")))
        self.seen.assign_add(ops.shape(y_pred)[0])

    def result(self):
        return self.hits / ops.maximum(self.seen, 1.0)


# 9. a variational autoencoder ---------------------------------------------------------------------
class Sampling(layers.Layer):
    """z = mean + exp(log_var / 2) * eps, eps ~ N(0, 1): the reparameterisation trick."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seeds = gn.random.SeedGenerator(1337)

    def call(self, inputs):
        mean, log_var = inputs
        eps = gn.random.normal(ops.shape(mean), seed=self.seeds)
        return mean + ops.exp(0.5 * log_var) * eps


class Encoder(layers.Layer):
    def __init__(self, latent=8, hidden=128, **kwargs):
        super().__init__(**kwargs)
        self.proj = layers.Dense(hidden, activation="relu")
        self.mean, self.log_var = layers.Dense(latent), layers.Dense(latent)
        self.sampling = Sampling()

    def call(self, inputs):
        h = self.proj(inputs)
        mean, log_var = self.mean(h), self.log_var(h)
        return mean, log_var, self.sampling((mean, log_var))


class VAE(gn.Model):
    def __init__(self, width, latent=8, hidden=128, **kwargs):
        super().__init__(**kwargs)
        self.encoder = Encoder(latent, hidden)
        self.decoder_hidden = layers.Dense(hidden, activation="relu")
        self.decoder_out = layers.Dense(width, activation="sigmoid")

    def call(self, inputs):
        mean, log_var, z = self.encoder(inputs)
        kl = -0.5 * ops.mean(ops.sum(1 + log_var - ops.square(mean) - ops.exp(log_var), -1))
        self.add_loss(kl / ops.shape(inputs)[1])             # per pixel, as the MSE is
        return self.decoder_out(self.decoder_hidden(z))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--mnist", action="store_true", help="train the VAE on MNIST")
    args = parser.parse_args()
    gn.utils.set_random_seed(0)
    (x, y), (x_test, y_test) = datasets.semeion(data_dir=args.data_dir)

    print("1. deferred build:", Linear(4)(x[:2]).shape)
    gn.config.set_floatx("float64")                         # gradient checks in float64
    sample = np.random.default_rng(0).standard_normal((4, 5))
    print("   gradient check of Linear and Block:",
          gradcheck.check_layer(Linear(3), sample).passed,
          gradcheck.check_layer(Block(6), sample).passed)
    gn.config.set_floatx("float32")
    running = RunningMean()
    running(x[:10])
    print("2. running mean of the first 20 rows:", running(x[10:20])[:3],
          "trainable:", running.trainable_weights)
    block = Block(16)
    block(x[:8])
    print("3. weights tracked through nested layers:", [w.name for w in block.weights])
    print("4. add_loss terms of the last call:", [float(t) for t in block.losses])
    print("5. zeros with training=True (ReLU + dropout):",
          float(np.mean(block(x[:8], training=True) == 0)))
    print("6. config:", Linear.from_config(Linear(7).get_config()).units)

    model = Classifier()
    model.compile(optimizer=gn.optimizers.Adam(1e-3), loss=focal_crossentropy,
                  metrics=["accuracy", TopTwoAccuracy()])
    model.fit(x, y, epochs=30, batch_size=32, validation_split=0.1, verbose=0)
    print("7+8. test:", model.evaluate(x_test, y_test, verbose=0, return_dict=True))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "classifier.glassnet"
        model.save(path)
        loaded = gn.load_model(path, custom_objects={"focal_crossentropy": focal_crossentropy,
                                                     "TopTwoAccuracy": TopTwoAccuracy})
        same = np.allclose(loaded.predict(x_test, verbose=0), model.predict(x_test, verbose=0))
        print("    saved and loaded, same predictions:", same)

    images = x
    if args.mnist:
        (train, _), _ = datasets.mnist(data_dir=args.data_dir)
        images = train.reshape(len(train), -1).astype("float32") / 255.0
    vae = VAE(images.shape[1])
    vae.compile(optimizer=gn.optimizers.Adam(1e-3), loss="mse")
    history = vae.fit(images, images, epochs=2 if args.mnist else 20, batch_size=64, verbose=0)
    print("9. VAE loss (MSE + KL) per epoch:", [round(v, 4) for v in history.history["loss"]])


if __name__ == "__main__":
    main()

"""Keras' "Making new layers and models via subclassing", feature by feature, with layers of
our own: call()-style Layer and Model subclasses written with glassnet.ops."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import gradcheck, layers, ops
from glassnet.registry import register_serializable


class Affine(layers.Layer):
    """y = x A + c with both weights made in __init__ (the input width is an argument)."""

    def __init__(self, width=4, features=3, **kwargs):
        super().__init__(**kwargs)
        self.A = self.add_weight(shape=(features, width), initializer="random_normal")
        self.c = self.add_weight(shape=(width,), initializer="zeros")

    def call(self, inputs):
        return inputs @ self.A + self.c


class LazyAffine(layers.Layer):
    """The same map with weights made in build, once the input width is known."""

    def __init__(self, width=4, **kwargs):
        super().__init__(**kwargs)
        self.width = width

    def build(self, input_shape):
        self.A = self.add_weight(shape=(input_shape[-1], self.width), initializer="glorot_uniform",
                                 name="A")
        self.c = self.add_weight(shape=(self.width,), initializer="zeros", name="c")

    def call(self, inputs):
        return ops.matmul(inputs, self.A) + self.c

    def get_config(self):
        return {**super().get_config(), "width": self.width}


class RunningTotal(layers.Layer):
    """A non-trainable weight updated by each call (the column sums seen so far)."""

    def build(self, input_shape):
        self.total = self.add_weight(shape=(input_shape[-1],), initializer="zeros",
                                     trainable=False, name="total")

    def call(self, inputs):
        self.total.assign_add(ops.sum(inputs, axis=0))
        return self.total


class Stack(layers.Layer):
    """Nested layers held in attributes: a list of LazyAffine blocks and a Dense."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.blocks = [LazyAffine(5), LazyAffine(5)]
        self.head = layers.Dense(2)

    def call(self, inputs):
        x = inputs
        for block in self.blocks:
            x = ops.tanh(block(x))
        return self.head(x)


class Penalised(layers.Layer):
    """add_loss: a penalty on the activations, rate * mean(x^2)."""

    def __init__(self, rate=0.1, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * ops.mean(ops.square(inputs)))
        return inputs


class NoisyDuringTraining(layers.Layer):
    """The training argument: inverted dropout when training, identity otherwise."""

    def call(self, inputs, training=None):
        if training:
            return gn.random.dropout(inputs, rate=0.5, seed=gn.random.SeedGenerator(0))
        return inputs


@pytest.fixture(autouse=True)
def _float32():
    yield
    gn.config.set_floatx("float32")


def test_weights_made_in_init_are_tracked_and_used():
    layer = Affine(width=4, features=3)
    assert len(layer.weights) == 2 and len(layer.trainable_weights) == 2
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(layer(x), x @ layer.A.numpy() + layer.c.numpy(), rtol=1e-6)


def test_weights_made_in_build_wait_for_the_first_call():
    layer = LazyAffine(width=6)
    assert not layer.built and layer.weights == []
    y = layer(np.zeros((4, 3), "float32"))
    assert layer.built and y.shape == (4, 6)
    assert [w.shape for w in layer.weights] == [(3, 6), (6,)]
    assert layer.output_shape == (None, 6)


def test_non_trainable_weight_is_not_trained_and_updates_in_call():
    layer = RunningTotal()
    layer(np.ones((2, 3)))
    out = layer(np.ones((4, 3)))
    np.testing.assert_allclose(out, [6.0, 6.0, 6.0])
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 1


def test_nested_layers_track_their_weights_in_order():
    stack = Stack()
    stack(np.zeros((2, 3), "float32"))
    assert len(stack.weights) == 6
    assert [w.shape for w in stack.weights] == [(3, 5), (5,), (5, 5), (5,), (5, 2), (2,)]
    assert stack.sublayers() == stack.blocks + [stack.head]


def test_add_loss_collects_per_forward_pass_and_reaches_the_outer_layer():
    class Outer(layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner = Penalised(rate=0.5)

        def call(self, inputs):
            return self.inner(inputs)

    outer = Outer()
    x = np.full((2, 3), 2.0, "float32")
    outer(x)
    outer(x)                             # a new pass: the terms of the last pass only
    assert len(outer.losses) == 1
    assert float(outer.losses[0]) == pytest.approx(0.5 * 4.0)


def test_regularizer_penalties_are_listed_in_losses():
    class WithKernelPenalty(layers.Layer):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(3, kernel_regularizer=gn.regularizers.L2(1e-3))

        def call(self, inputs):
            return self.dense(inputs)

    layer = WithKernelPenalty()
    layer(np.ones((2, 4), "float32"))
    kernel = layer.dense.W.numpy()
    assert len(layer.losses) == 1
    assert float(layer.losses[0]) == pytest.approx(1e-3 * np.sum(kernel ** 2), rel=1e-5)


def test_training_argument_reaches_call_and_nested_layers():
    layer = NoisyDuringTraining()
    x = np.ones((8, 50), "float32")
    np.testing.assert_array_equal(layer(x), x)
    dropped = layer(x, training=True)
    assert set(np.unique(dropped)) <= {0.0, 2.0} and (dropped == 0).any()

    class Outer(layers.Layer):
        def __init__(self):
            super().__init__()
            self.noise = NoisyDuringTraining()

        def call(self, inputs, training=False):
            return self.noise(inputs)          # inherits the outer call's training

    assert (Outer()(x, training=True) == 0).any()
    np.testing.assert_array_equal(Outer()(x), x)


def test_get_config_and_from_config_round_trip():
    layer = LazyAffine(width=7, name="lazy")
    clone = LazyAffine.from_config(layer.get_config())
    assert clone.width == 7 and clone.name == "lazy"
    auto = Affine(width=5, features=2)          # no get_config written: Keras' automatic one
    config = auto.get_config()
    assert config["width"] == 5 and config["features"] == 2
    assert Affine.from_config(config).A.shape == (2, 5)


def test_a_layer_that_holds_a_layer_in_its_config_says_what_to_do():
    class Holder(layers.Layer):
        def __init__(self, inner=None, **kwargs):
            super().__init__(**kwargs)
            self.inner = inner

        def call(self, inputs):
            return self.inner(inputs)

    with pytest.raises(NotImplementedError, match="override get_config"):
        Holder(inner=layers.Dense(2)).get_config()


@pytest.mark.parametrize("make", [lambda: Affine(4, 3), LazyAffine, Stack,
                                  lambda: Penalised(0.3)])
def test_traced_layers_pass_the_gradient_check(make):
    gn.config.set_floatx("float64")
    layer = make()
    x = np.random.default_rng(0).standard_normal((4, 3))
    report = gradcheck.check_layer(layer, x)
    assert report.passed, report.worst


@register_serializable
class Regressor(gn.Model):
    """A Model subclass: nested traced and built-in layers, a penalty through add_loss."""

    def __init__(self, hidden=16, **kwargs):
        super().__init__(**kwargs)
        self.hidden = hidden
        self.body = LazyAffine(hidden)
        self.out = layers.Dense(1)

    def call(self, x, training=False):
        h = ops.relu(self.body(x))
        self.add_loss(1e-4 * ops.sum(ops.square(self.body.A)))
        return self.out(h)

    def get_config(self):
        return {**super().get_config(), "hidden": self.hidden}


def _regression_data(n=256):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 4)).astype("float32")
    return x, (x @ np.array([[1.0], [-2.0], [0.5], [0.0]]) + 0.3).astype("float32")


def test_a_model_subclass_fits_evaluates_predicts_and_summarises(capsys):
    gn.random.set_random_seed(0)
    x, y = _regression_data()
    model = Regressor()
    model.compile(optimizer=gn.optimizers.Adam(0.01), loss="mse")
    history = model.fit(x, y, epochs=20, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.05 < history.history["loss"][0]
    assert model.evaluate(x, y, verbose=0) < 0.05
    assert model.predict(x[:5], verbose=0).shape == (5, 1)
    assert model.output_shape == (None, 1)
    model.summary()
    printed = capsys.readouterr().out
    assert "lazy_affine" in printed and "Trainable params: 97" in printed   # + Adam's, in Total


def test_the_add_loss_term_joins_the_training_loss():
    gn.random.set_random_seed(0)
    x, y = _regression_data(32)
    model = Regressor()
    model.compile(optimizer="sgd", loss="mse")
    loss = model.train_on_batch(x, y)
    y_pred = model.predict(x, verbose=0)
    penalty = 1e-4 * np.sum(model.body.A.numpy() ** 2)  # before the step's update... almost
    assert loss == pytest.approx(np.mean((y_pred - y) ** 2) + penalty, rel=0.05)


def test_a_model_subclass_saves_and_loads(tmp_path):
    gn.random.set_random_seed(1)
    x, y = _regression_data(64)
    model = Regressor(hidden=8)
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=2, verbose=0)
    path = tmp_path / "regressor.glassnet"
    model.save(path)
    loaded = gn.load_model(path)
    assert type(loaded) is Regressor and loaded.hidden == 8
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)
    loaded.fit(x, y, epochs=1, verbose=0)        # training goes on from the saved state


def test_a_sequential_model_may_hold_call_style_layers():
    gn.random.set_random_seed(0)
    x, y = _regression_data()
    model = gn.Sequential([layers.Input(shape=(4,)), LazyAffine(8), Penalised(0.01),
                           layers.Dense(1)])
    model.compile(optimizer=gn.optimizers.Adam(0.02), loss="mse")
    history = model.fit(x, y, epochs=10, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] / 4
    assert len(model.losses) == 1


def test_a_functional_model_may_hold_call_style_layers():
    inputs = gn.Input(shape=(3,))
    outputs = layers.Dense(2)(Stack()(inputs))
    model = gn.Model(inputs, outputs)
    assert model.output_shape == (None, 2)
    assert model.predict(np.zeros((5, 3)), verbose=0).shape == (5, 2)


class Sampling(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seeds = gn.random.SeedGenerator(7)

    def call(self, inputs):
        mean, log_var = inputs
        return mean + ops.exp(0.5 * log_var) * gn.random.normal(ops.shape(mean), seed=self.seeds)


class Encoder(layers.Layer):
    def __init__(self, latent=2, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(16, activation="relu")
        self.mean, self.log_var = layers.Dense(latent), layers.Dense(latent)
        self.sampling = Sampling()

    def call(self, inputs):
        h = self.hidden(inputs)
        mean, log_var = self.mean(h), self.log_var(h)
        return mean, log_var, self.sampling((mean, log_var))


class VAE(gn.Model):
    def __init__(self, width=8, **kwargs):
        super().__init__(**kwargs)
        self.encoder = Encoder()
        self.decoder = gn.Sequential([layers.Dense(16, activation="relu"),
                                      layers.Dense(width, activation="sigmoid")])

    def call(self, inputs):
        mean, log_var, z = self.encoder(inputs)
        self.add_loss(-0.5 * ops.mean(1 + log_var - ops.square(mean) - ops.exp(log_var)))
        return self.decoder(z)


def test_a_variational_autoencoder_trains():
    """Encoder and decoder layers, a sampling layer (a layer returning three tensors feeds
    the model), the KL term through add_loss; data on a 2-D manifold in 8 dimensions."""
    gn.random.set_random_seed(0)
    rng = np.random.default_rng(0)
    codes = rng.uniform(-1, 1, (512, 2))
    x = 1 / (1 + np.exp(-codes @ rng.standard_normal((2, 8)) * 2))
    vae = VAE(8)
    vae.compile(optimizer=gn.optimizers.Adam(0.01), loss="mse")
    history = vae.fit(x.astype("float32"), x.astype("float32"), epochs=15, batch_size=64,
                      verbose=0)
    assert history.history["loss"][-1] < 0.6 * history.history["loss"][0]
    kl = float(vae.losses[0])
    assert kl > 0 and len(vae.weights) == 10


def test_compile_without_a_loss_trains_on_the_add_loss_terms_alone():
    inputs = gn.Input(shape=(3,))
    model = gn.Model(inputs, Penalised(rate=1.0)(layers.Dense(4)(inputs)))
    model.compile(optimizer=gn.optimizers.SGD(0.1))
    x = np.ones((8, 3), "float32")
    history = model.fit(x, np.zeros((8, 4), "float32"), epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    plain = gn.Sequential([gn.Input(shape=(3,)), layers.Dense(2)])
    plain.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="no loss was given"):
        plain.fit(x, np.zeros((8, 2)), verbose=0)

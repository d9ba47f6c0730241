"""A NaN or inf loss or gradient stops training at once, names where it began, and keeps the
weights of before the bad step (glassnet.training.guard, model.train_step)."""

import time

import numpy as np
import pytest

import glassnet as gn
from glassnet import diagnostics, layers
from glassnet.activations import ActivationFunction
from glassnet.diagnostics import DivergenceError
from glassnet.training import guard
from glassnet.utils import set_random_seed

# The failed step itself runs with NumPy's default error handling, which warns.
pytestmark = pytest.mark.filterwarnings("ignore:.*encountered in:RuntimeWarning")


def regression_data(rng, n=256, features=8):
    x = rng.standard_normal((n, features)).astype("float32")
    y = rng.standard_normal((n, 1)).astype("float32")
    return x, y


def onehot_data(rng, n=256, features=8, classes=3):
    x = rng.standard_normal((n, features)).astype("float32")
    return x, np.eye(classes, dtype="float32")[rng.integers(0, classes, n)]


def weights_and_iteration(model):
    return [w.copy() for w in model.get_weights()], model.optimizer.iterations


def assert_same_weights(expected, model):
    for a, b in zip(expected, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)   # bitwise; NaN compares equal to NaN here


class StateAtEachBatch(gn.callbacks.Callback):
    """Keeps the weights and optimizer state seen at the start of every batch."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_batch_begin(self, batch, logs=None):
        self.seen.append((self.model.get_weights(), self.model.optimizer.get_state()))


# --- the huge learning rate -------------------------------------------------------------------


def regression_mlp():
    model = gn.Sequential([layers.Input(shape=(8,)), layers.Dense(16, activation="relu"),
                           layers.Dense(1)])
    model.compile(optimizer=gn.optimizers.SGD(learning_rate=10.0, momentum=0.5), loss="mse")
    return model


def classification_mlp():
    model = gn.Sequential([layers.Input(shape=(8,)), layers.Dense(16, activation="tanh"),
                           layers.Dense(16, activation="relu"),
                           layers.Dense(3, activation="softmax")])
    model.compile(optimizer=gn.optimizers.SGD(learning_rate=1e8), loss="categorical_crossentropy")
    return model


@pytest.mark.parametrize("make_model,make_data", [(regression_mlp, regression_data),
                                                  (classification_mlp, onehot_data)])
def test_huge_learning_rate_stops_fit_before_the_bad_update(rng, make_model, make_data):
    set_random_seed(0)
    x, y = make_data(rng)
    model = make_model()
    record = StateAtEachBatch()
    with pytest.raises(DivergenceError) as caught:
        model.fit(x, y, epochs=50, batch_size=64, verbose=0, callbacks=[record])
    error = caught.value
    # The weights and the optimizer state are those at the start of the failed batch.
    weights, optimizer_state = record.seen[-1]
    assert_same_weights(weights, model)
    state = model.optimizer.get_state()
    assert state.keys() == optimizer_state.keys()
    for key in state:
        np.testing.assert_array_equal(state[key], optimizer_state[key])
    # The step is named; it is the number of updates that were applied.
    assert error.iteration == model.optimizer.iterations == len(record.seen) - 1 > 0
    assert f"step {error.iteration}" in str(error)
    # The first non-finite value is located in a layer of the model, with NumPy's operation.
    assert error.site.layer in {layer.name for layer in model.layers}
    assert f"layer {error.site.layer!r}" in str(error)
    assert "overflow encountered in" in error.site.operation
    assert "lower the learning rate" in error.hint
    # Epochs completed before the failure stay in the History.
    completed = error.iteration // 4              # 256 samples, batches of 64
    assert model.history.epoch == list(range(completed))
    assert len(model.history.history.get("loss", [])) == completed
    assert isinstance(error, FloatingPointError) and isinstance(error, ArithmeticError)


# --- the from_logits mistake ------------------------------------------------------------------


@pytest.mark.parametrize("output", [
    layers.Dense(3, activation="relu"),                             # outputs that may all be 0
    layers.Dense(3, kernel_initializer="zeros", bias_initializer="zeros"),   # linear, sum 0
])
def test_probabilities_loss_on_non_probabilities_hints_from_logits(rng, output):
    set_random_seed(0)
    x, y = onehot_data(rng)
    model = gn.Sequential([layers.Input(shape=(8,)), layers.Dense(16, activation="relu"),
                           output])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    before, iteration = weights_and_iteration(model)
    with pytest.raises(DivergenceError) as caught:
        model.fit(x, y, epochs=3, batch_size=256, verbose=0)
    error = caught.value
    assert error.site.phase == "loss"
    assert "divide" in error.site.operation
    assert "from_logits=True" in error.hint and repr(output.name) in error.hint
    assert error.iteration == iteration == model.optimizer.iterations == 0
    assert_same_weights(before, model)


def test_no_from_logits_hint_when_the_output_is_a_softmax(rng):
    x, y = onehot_data(rng, n=32)
    model = gn.Sequential([layers.Input(shape=(8,)), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    model.layers[0].W.value[0, 0] = np.inf
    with pytest.raises(DivergenceError) as caught:
        model.train_on_batch(x, y)
    assert "from_logits" not in caught.value.hint


# --- NaN already in the weights ---------------------------------------------------------------


def test_nan_in_the_weights_is_named_and_nothing_changes(rng):
    x, y = onehot_data(rng, n=32)
    model = gn.Sequential([layers.Input(shape=(8,)), layers.Dense(16, activation="relu"),
                           layers.BatchNormalization(), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)           # slots, moving statistics
    model.layers[2].W.value[3, 1] = np.nan                        # the Dense after the BN
    before, iteration = weights_and_iteration(model)
    state = model.optimizer.get_state()
    with pytest.raises(DivergenceError) as caught:
        model.train_on_batch(x, y)
    error = caught.value
    assert error.site.phase == "weights"
    assert error.site.layer == model.layers[2].name
    assert "1 NaN" in error.site.operation and "kernel" in error.site.operation
    assert "already" in error.hint
    # BatchNormalization ran in training mode and moved its statistics: they are put back.
    assert_same_weights(before, model)
    assert model.optimizer.iterations == iteration
    for key, value in model.optimizer.get_state().items():
        np.testing.assert_array_equal(value, state[key])


# --- an overflow inside an activation ---------------------------------------------------------


class NaiveExponential(ActivationFunction):
    """exp(x) as a user might write it: overflows float32 above x = 88.7."""

    name = "naive_exponential"

    def __call__(self, x):
        return np.exp(x)

    def forward(self, x, training=False):
        self._y = np.exp(x)
        return self._y

    def backward(self, dy):
        return dy * self._y


def test_overflow_in_an_activation_names_the_activation_and_the_operation(rng):
    x, y = regression_data(rng, n=32)
    model = gn.Sequential([layers.Input(shape=(8,)), layers.Dense(4),
                           layers.Dense(4, activation=NaiveExponential()), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=1, verbose=0)                      # finite at first
    with pytest.raises(DivergenceError) as caught:
        model.fit(x * 1e3, y, epochs=1, verbose=0)            # inputs on a far larger scale
    site = caught.value.site
    assert (site.phase, site.layer) == ("forward", model.layers[1].name)
    assert site.part == "activation 'naive_exponential'"
    assert site.operation == "overflow encountered in exp"
    assert "activation 'naive_exponential'" in str(caught.value)
    assert "normalise the inputs" in caught.value.hint


# --- the cheap check --------------------------------------------------------------------------


def grads(*arrays):
    params = []
    for array in arrays:
        param = gn.layers.base.Parameter(np.zeros_like(array))
        param.grad[...] = array
        params.append(param)
    return params


def test_step_is_finite_checks_the_loss_and_every_gradient():
    finite = grads(np.ones((3, 2), "float32"), np.zeros(2, "float32"))
    assert diagnostics.step_is_finite(0.5, finite)
    assert not diagnostics.step_is_finite(float("nan"), finite)
    assert not diagnostics.step_is_finite(float("inf"), finite)
    for bad in (np.nan, np.inf, -np.inf):
        assert not diagnostics.step_is_finite(0.5, grads(np.ones(3, "float32"),
                                                         np.array([1, bad], "float32")))


def test_step_is_finite_accepts_huge_finite_gradients():
    # g·g overflows float32 (and float16 above 256), but no gradient is NaN or inf.
    assert diagnostics.step_is_finite(1.0, grads(np.full(4, 1e30, "float32")))
    assert diagnostics.step_is_finite(1.0, grads(np.full(4, 300, "float16")))


def test_fit_adds_epoch_and_batch_to_the_message():
    error = DivergenceError(7, None, "lower the learning rate.", float("nan"), float("nan"))
    assert "step 7" in str(error) and "epoch" not in str(error)
    assert error.at(epoch=1, batch=3) is error
    assert "epoch 1, batch 3" in str(error) and "step 7" in str(error)
    assert "re-run of the batch stayed finite" in str(error)


# --- normal training is unchanged, and the check is cheap ------------------------------------


def train_mlp(x, y, epochs):
    set_random_seed(3)
    model = gn.Sequential([layers.Input(shape=(x.shape[1],)),
                           layers.Dense(64, activation="relu"), layers.Dropout(0.2),
                           layers.BatchNormalization(),
                           layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    start = time.perf_counter()
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    return model, time.perf_counter() - start


def test_the_check_changes_nothing_in_normal_training(rng, monkeypatch, capsys):
    x = rng.standard_normal((512, 32)).astype("float32")
    y = np.eye(10, dtype="float32")[rng.integers(0, 10, 512)]
    timings = {True: [], False: []}
    models = {}
    for _ in range(3):
        for check in (True, False):
            with monkeypatch.context() as patch:
                if not check:
                    patch.setattr(guard, "step_is_finite", lambda loss, params: True)
                models[check], elapsed = train_mlp(x, y, epochs=3)
            timings[check].append(elapsed)
    assert_same_weights(models[False].get_weights(), models[True])
    assert models[True].history.history == models[False].history.history
    with capsys.disabled():   # benchmark-ish: printed, never asserted (shared CPU)
        with_check, without_check = min(timings[True]), min(timings[False])
        print(f"\n[divergence check] 3 epochs of a 32-64-10 MLP, best of 3: {with_check:.4f} s "
              f"with the check, {without_check:.4f} s without "
              f"({with_check / without_check - 1:+.1%})")

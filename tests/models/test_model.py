"""Sequential models end to end: training results, fit/evaluate/predict, dtypes, bad input."""

import numpy as np
import pytest

import glassnet as gn
from _synthetic import spiral
from glassnet import gradcheck, layers
from glassnet.utils import set_random_seed

TINY_X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype="float32")
TINY_Y = np.array([[0], [1], [1], [0]], dtype="float32")


def mlp(hidden=(16,), n_in=2, n_out=3, activation="relu", output="softmax", **kwargs):
    stack = [layers.Input(shape=(n_in,))]
    stack += [layers.Dense(units, activation=activation) for units in hidden]
    stack.append(layers.Dense(n_out, activation=output))
    return gn.Sequential(stack, **kwargs)


# ----- training results -------------------------------------------------------------------
def test_seed_table_learned_to_100_percent():
    set_random_seed(0)
    model = mlp(hidden=(4,), n_in=3, n_out=1, activation="sigmoid", output="sigmoid")
    model.compile(optimizer=gn.optimizers.SGD(learning_rate=2.0), loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(TINY_X, TINY_Y, epochs=3000, batch_size=None, verbose=0)
    assert history.history["accuracy"][-1] == 1.0
    assert history.history["loss"][-1] < history.history["loss"][0] / 10
    np.testing.assert_array_equal(model.predict(TINY_X, verbose=0).round(), TINY_Y)


def test_spiral_three_classes_above_95_percent():
    set_random_seed(1)
    x, y = spiral()
    model = mlp(hidden=(64,))
    rate = gn.schedules.CosineDecay(0.02, decay_steps=200 * 10, alpha=0.05)  # no late spikes
    model.compile(optimizer=gn.optimizers.Adam(learning_rate=rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=200, batch_size=32, verbose=0)
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert accuracy >= 0.95, accuracy


def test_twelve_hidden_layers_train_and_pass_gradient_check():
    """The depth the seed post said hand-written gradients cannot reach."""
    set_random_seed(2)
    x, y = spiral()
    hidden = [layers.Dense(32, activation="relu", kernel_initializer="he_normal")
              for _ in range(12)]
    model = gn.Sequential([layers.Input(shape=(2,)), *hidden, layers.Dense(3, "softmax")])
    model.compile(optimizer=gn.optimizers.Adam(learning_rate=0.003),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=150, batch_size=32, verbose=0)
    assert model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] >= 0.95
    report = gradcheck.check_model(model, x[:16], y[:16])
    assert report.passed, report
    assert len(report.results) == 2 * 13


def test_fused_softmax_cross_entropy_equals_the_chain_rule(rng):
    model = mlp(hidden=(5,), n_in=4, n_out=3, activation="tanh", dtype="float64")
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    x = rng.standard_normal((6, 4))
    y = np.eye(3)[rng.integers(0, 3, 6)]
    assert model._fused_activation() is not None
    model.compute_gradients(x, y)
    fused = [p.grad.copy() for p in model.parameters()]
    for p in model.parameters():
        p.zero_grad()
    y_pred = model.forward(x, training=True)
    model.backward(model.loss.gradient(y, y_pred))  # dL/dp, then softmax's own backward
    for a, b in zip(fused, (p.grad for p in model.parameters())):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_regularized_model_passes_gradient_check(rng):
    model = gn.Sequential([layers.Input(shape=(4,)),
                           layers.Dense(5, activation="sigmoid", kernel_regularizer="l2"),
                           layers.Dense(2, activation="softmax",
                                        kernel_regularizer=gn.regularizers.L1L2(0.01, 0.02))])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    report = gradcheck.check_model(model, rng.standard_normal((5, 4)),
                                   np.eye(2)[rng.integers(0, 2, 5)])
    assert report.passed, report


# ----- fit / evaluate / predict -----------------------------------------------------------
def test_history_validation_split_and_full_batch(rng):
    x = rng.standard_normal((50, 3)).astype("float32")
    y = (x.sum(axis=1, keepdims=True) > 0).astype("float32")
    model = mlp(hidden=(4,), n_in=3, n_out=1, output="sigmoid")
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, batch_size=None, validation_split=0.2, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 3 for v in history.history.values())
    assert model.optimizer.iterations == 3  # one full batch per epoch
    # Keras takes the validation fraction from the end, before shuffling:
    expected = model.evaluate(x[40:], y[40:], verbose=0, return_dict=True)
    assert history.history["val_loss"][-1] == pytest.approx(expected["loss"], rel=1e-6)


def test_batches_per_epoch_and_initial_epoch(rng):
    x = rng.standard_normal((10, 3)).astype("float32")
    y = rng.standard_normal((10, 2)).astype("float32")
    model = mlp(hidden=(4,), n_in=3, n_out=2, output="linear")
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    history = model.fit(x, y, epochs=5, batch_size=4, initial_epoch=2, verbose=0)
    assert history.epoch == [2, 3, 4]
    assert model.optimizer.iterations == 3 * 3


def test_validation_data_evaluate_predict_and_batch_methods(rng):
    x = rng.standard_normal((20, 3)).astype("float32")
    y = rng.integers(0, 3, 20)
    model = mlp(hidden=(8,), n_in=3)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=2, batch_size=8, validation_data=(x[:5], y[:5]),
                        verbose=0)
    assert "val_accuracy" in history.history
    result = model.evaluate(x, y, batch_size=7, verbose=0, return_dict=True)
    assert set(result) == {"loss", "accuracy"}
    full = model.evaluate(x, y, batch_size=None, verbose=0, return_dict=True)
    assert result["loss"] == pytest.approx(full["loss"], rel=1e-5)
    probs = model.predict(x, batch_size=6, verbose=0)
    assert probs.shape == (20, 3) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(model.predict_on_batch(x), probs, rtol=1e-6)
    loss, accuracy = model.train_on_batch(x, y)
    assert np.isfinite(loss) and 0 <= accuracy <= 1
    assert set(model.test_on_batch(x, y, return_dict=True)) == {"loss", "accuracy"}


def test_class_weight_equals_sample_weight(rng):
    x = rng.standard_normal((12, 3)).astype("float32")
    y = rng.integers(0, 2, 12)
    results = []
    for kwargs in ({"class_weight": {0: 1.0, 1: 3.0}}, {"sample_weight": np.where(y, 3.0, 1.0)}):
        set_random_seed(5)
        model = mlp(hidden=(4,), n_in=3, n_out=2)
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        model.fit(x, y, epochs=2, batch_size=5, verbose=0, **kwargs)
        results.append(model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_zero_sample_weight_ignores_a_sample(rng):
    x = rng.standard_normal((6, 3)).astype("float32")
    y = rng.standard_normal((6, 1)).astype("float32")
    model = mlp(hidden=(4,), n_in=3, n_out=1, output="linear")
    model.compile(optimizer="sgd", loss="mse")
    weights = np.array([1, 1, 1, 1, 1, 0], dtype="float32")
    changed = y.copy()
    changed[5] += 100
    a = model.evaluate(x, y, sample_weight=weights, verbose=0)
    b = model.evaluate(x, changed, sample_weight=weights, verbose=0)
    assert a == b


def test_sample_weights_reach_weighted_metrics_only(rng):
    """Keras: `metrics` ignore sample and class weights, `weighted_metrics` use them."""
    x = rng.standard_normal((40, 3)).astype("float32")
    y = rng.integers(0, 2, 40)
    weights = rng.uniform(0.1, 3.0, 40)
    model = mlp(hidden=(4,), n_in=3, n_out=2)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"],
                  weighted_metrics=[gn.metrics.SparseCategoricalAccuracy(name="weighted_acc")])
    result = model.evaluate(x, y, sample_weight=weights, verbose=0, return_dict=True)
    hits = np.argmax(model.predict(x, verbose=0), axis=1) == y
    np.testing.assert_allclose(result["accuracy"], hits.mean(), rtol=1e-6)
    np.testing.assert_allclose(result["weighted_acc"], np.average(hits, weights=weights),
                               rtol=1e-5)


def test_summary_lists_layers_shapes_and_counts():
    model = gn.Sequential([layers.Input(shape=(256,)), layers.Dense(30, activation="sigmoid"),
                           layers.Dense(20, activation="sigmoid"),
                           layers.Dense(10, activation="softmax")], name="digits")
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert 'Model: "digits"' in text
    assert "(None, 30)" in text and "7,710" in text and "620" in text and "210" in text
    assert "Total params: 8,540" in text and "Non-trainable params: 0" in text


def test_trainable_false_freezes_a_layer(rng):
    model = mlp(hidden=(4,), n_in=3, n_out=2)
    model.layers[0].trainable = False
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    before = model.get_weights()
    model.fit(rng.standard_normal((8, 3)), rng.integers(0, 2, 8), epochs=2, verbose=0)
    after = model.get_weights()
    np.testing.assert_array_equal(before[0], after[0])
    assert not np.array_equal(before[2], after[2])
    lines = []
    model.summary(print_fn=lines.append)
    assert "Non-trainable params: 16" in "\n".join(lines)


def test_lazy_build_without_input(rng):
    model = gn.Sequential([layers.Dense(4, activation="relu"), layers.Dense(1)])
    assert not model.built
    model.compile(optimizer="adam", loss="mse")
    model.fit(rng.standard_normal((10, 6)), rng.standard_normal((10, 1)), verbose=0)
    assert model.built and model.input_shape == (None, 6)
    assert model.layers[0].W.shape == (6, 4)


def test_keras_style_script_runs_with_imports_changed(rng):
    import glassnet as keras  # the only change a Keras MLP script needs

    x = rng.standard_normal((64, 8)).astype("float32")
    y = keras.utils.to_categorical(rng.integers(0, 3, 64), num_classes=3)
    model = keras.Sequential([
        keras.Input(shape=(8,)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                  loss=keras.losses.CategoricalCrossentropy(), metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2)
    history = model.fit(x, y, batch_size=16, epochs=3, validation_split=0.25,
                        callbacks=[stop], verbose=0)
    assert len(history.history["val_accuracy"]) >= 1
    score = model.evaluate(x, y, verbose=0)
    assert len(score) == 2


# ----- dtypes and reproducibility ---------------------------------------------------------
def _all_float_arrays(model):
    arrays = []
    for p in model.parameters():
        arrays += [p.value, p.grad]
    # slot arrays ("m/0", "velocity/3", ...), not the scalar bookkeeping (iterations, lr)
    arrays += [v for k, v in model.optimizer.get_state().items() if "/" in k]
    return [a for a in arrays if np.asarray(a).dtype.kind == "f"]


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop", "adagrad", "adamw"])
def test_float32_training_never_upcasts(optimizer, rng):
    model = gn.Sequential([layers.Input(shape=(5,)),
                           layers.Dense(8, activation="gelu", kernel_regularizer="l2"),
                           layers.Dropout(0.1), layers.Dense(3, activation="softmax")])
    model.compile(optimizer=gn.optimizers.get(optimizer), loss="categorical_crossentropy")
    x = rng.standard_normal((16, 5))  # float64 input: cast once, at the door
    y = np.eye(3)[rng.integers(0, 3, 16)]
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert {a.dtype for a in _all_float_arrays(model)} == {np.dtype("float32")}
    assert model.predict(x, verbose=0).dtype == np.float32
    y_pred = model.forward(x.astype("float32"), training=True)
    assert y_pred.dtype == np.float32
    assert model.backward(y_pred, from_preactivation=True).dtype == np.float32


def test_float64_per_model_and_globally(rng):
    model = mlp(hidden=(4,), n_in=3, n_out=2, dtype="float64")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(rng.standard_normal((8, 3)), rng.integers(0, 2, 8), verbose=0)
    assert {p.value.dtype for p in model.parameters()} == {np.dtype("float64")}
    gn.config.set_floatx("float64")
    try:
        layer = layers.Dense(2)
        layer.maybe_build((None, 3))
        assert layer.W.value.dtype == np.float64
    finally:
        gn.config.set_floatx("float32")


def _train_once(seed):
    set_random_seed(seed)
    x, y = spiral(30)
    model = gn.Sequential([layers.Input(shape=(2,)), layers.Dense(16, activation="relu"),
                           layers.Dropout(0.3), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    return model.get_weights()


def test_same_seed_gives_bitwise_identical_weights():
    first, second, other = _train_once(7), _train_once(7), _train_once(8)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


# ----- bad input is refused before any work ------------------------------------------------
@pytest.fixture
def compiled(rng):
    model = mlp(hidden=(4,), n_in=3, n_out=3)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


X = np.zeros((6, 3), dtype="float32")
Y = np.array([0, 1, 2, 0, 1, 2])


@pytest.mark.parametrize("kwargs,error,pattern", [
    ({"x": X, "y": Y[:5]}, ValueError, r"x has 6, y has 5"),
    ({"x": X[:, :2], "y": Y}, ValueError, r"x: expected shape \(n, 3\).*got \(6, 2\)"),
    ({"x": np.where(np.eye(6, 3) > 0, np.nan, X), "y": Y}, ValueError, r"x: contains nan"),
    ({"x": X, "y": np.array([0, 1, 3, 0, 1, 2])}, ValueError, r"labels must be in \[0, 3\)"),
    ({"x": X, "y": np.array([0, 1, 2.5, 0, 1, 2])}, ValueError, r"integer class labels"),
    ({"x": X, "y": np.array([0, -1, 2, 0, 1, 2])}, ValueError, r"labels must be in"),
    ({"x": X[:0], "y": Y[:0]}, ValueError, r"x: is empty"),
    ({"x": X.astype(str), "y": Y}, TypeError, r"x: expected numbers.*string"),
    ({"x": X.astype(complex), "y": Y}, TypeError, r"complex"),
    ({"x": X.astype(object), "y": Y}, TypeError, r"object"),
    ({"x": X, "y": Y, "batch_size": 0}, ValueError, r"batch_size: expected an integer >= 1"),
    ({"x": X, "y": Y, "batch_size": 2.5}, ValueError, r"batch_size"),
    ({"x": X, "y": Y, "epochs": -1}, ValueError, r"epochs: expected an integer >= 0"),
    ({"x": X, "y": Y, "validation_split": 1.0}, ValueError, r"validation_split: .*\[0, 1\)"),
    ({"x": X, "y": Y, "validation_split": -0.1}, ValueError, r"validation_split"),
    ({"x": X, "y": Y, "sample_weight": np.ones(5)}, ValueError, r"sample_weight"),
    ({"x": X, "y": Y, "sample_weight": -np.ones(6)}, ValueError, r"non-negative"),
    ({"x": X, "y": Y, "verbose": 3}, ValueError, r"verbose"),
])
def test_bad_fit_arguments_are_refused_before_any_work(compiled, kwargs, error, pattern):
    before = compiled.get_weights()
    with pytest.raises(error, match=pattern):
        compiled.fit(**{"verbose": 0, **kwargs})
    assert compiled.optimizer.iterations == 0
    for a, b in zip(before, compiled.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_inf_in_targets_and_bad_one_hot_width(rng):
    model = mlp(hidden=(4,), n_in=3, n_out=3)
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    with pytest.raises(ValueError, match="y: contains inf"):
        model.fit(X, np.full((6, 3), np.inf), verbose=0)
    with pytest.raises(ValueError, match=r"targets of shape \(n, 3\)"):
        model.fit(X, np.zeros((6, 4)), verbose=0)


@pytest.mark.parametrize("call,pattern", [
    (lambda: gn.Sequential([layers.Dense(2)]).compile(loss="nope"), r"unknown loss 'nope'.*mse"),
    (lambda: gn.Sequential([layers.Dense(2)]).compile(optimizer="fast", loss="mse"),
     r"(?i)unknown optimizer 'fast'.*adam"),
    (lambda: layers.Dense(2, activation="relux"), r"unknown activation 'relux'.*relu"),
    (lambda: layers.Dense(2, kernel_initializer="glorot").maybe_build((None, 3)),
     r"unknown initializer 'glorot'.*glorot_uniform"),
])
def test_unknown_names_list_the_valid_ones(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_fit_before_compile_says_so(rng):
    with pytest.raises(RuntimeError, match="compile"):
        mlp().fit(rng.standard_normal((4, 2)), np.zeros(4), verbose=0)


def test_predict_checks_feature_count():
    model = mlp(hidden=(4,), n_in=3)
    with pytest.raises(ValueError, match=r"expected shape \(n, 3\)"):
        model.predict(np.zeros((2, 4)), verbose=0)


def test_training_skips_only_the_unused_input_gradient(rng):
    """compute_gradients stops at the first layer with weights; the gradients are those of
    the full backward pass."""
    model = gn.Sequential([layers.Input(shape=(2, 3)), layers.Flatten(),
                           layers.Dense(4, activation="relu"), layers.Dense(2, "softmax")],
                          dtype="float64")
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    x, y = rng.standard_normal((5, 2, 3)), np.eye(2)[rng.integers(0, 2, 5)]
    calls = []
    flatten = model.layers[0]
    original = flatten.backward
    flatten.backward = lambda dy: calls.append(dy) or original(dy)
    model.compute_gradients(x, y)
    assert calls == []                       # nothing below the first Dense runs
    fast = [p.grad.copy() for p in model.parameters()]
    for p in model.parameters():
        p.zero_grad()
    y_pred = model.forward(x, training=True)
    dx = model.backward(model.loss.gradient(y, y_pred))
    assert dx.shape == x.shape and len(calls) == 1
    for a, p in zip(fast, model.parameters()):
        np.testing.assert_allclose(a, p.grad, rtol=1e-10, atol=1e-12)


def test_target_checks_follow_the_loss_class_not_its_name():
    class LabelLoss(gn.losses.SparseCategoricalCrossentropy):
        """A user's subclass whose name says nothing about sparse labels."""

    model = mlp(hidden=(4,), n_in=3, n_out=3)
    model.compile(optimizer="sgd", loss=LabelLoss())
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\)"):
        model.fit(X, np.array([0, 1, 3, 0, 1, 2]), verbose=0)
    model.fit(X, Y, verbose=0)  # integer labels accepted, not compared with (n, 3)


def test_predict_keeps_nothing_for_backward_and_says_so(rng):
    """predict runs under layers.inference_only(): no layer keeps its input or output (the
    batch's arrays are freed as soon as they are read); a backward after it is refused with
    a clear error, and a new forward makes backward work again."""
    from glassnet.layers.base import inference_only

    model = gn.Sequential([layers.Input(shape=(8, 8, 1)),
                           layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(2),
                           layers.Flatten(), layers.Dense(5, activation="relu"),
                           layers.Dense(3, activation="softmax")])
    x = rng.standard_normal((6, 8, 8, 1)).astype("float32")
    expected = model.forward(x, training=False)
    np.testing.assert_array_equal(model.predict(x, verbose=0), expected)
    conv, pool, _, dense = model.layers[:4]
    assert conv._x_pad is None and pool._x_pad is None and dense._x is None
    assert all(getattr(layer.activation, "_saved", None) is None for layer in (conv, dense))
    with pytest.raises(RuntimeError, match="inference_only"):
        model.backward(np.ones_like(expected))
    with inference_only():                          # the context manager itself, nested use
        model.forward(x, training=False)
    model.forward(x, training=False)
    assert model.backward(np.ones_like(expected)).shape == x.shape

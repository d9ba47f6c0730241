"""Functional models, Model(inputs, outputs): training, gradients through branches and
shared layers, multi-input data, deep graphs, configs, saving, summary and errors."""

import sys

import numpy as np
import pytest

import glassnet as gn
from _synthetic import spiral
from glassnet import gradcheck, layers
from glassnet.functional import Functional
from glassnet.utils import set_random_seed


def residual_model(width=32, name=None):
    """x -> Dense(relu) -> [Dense(relu) -> Dense] + skip -> Dense(softmax)."""
    x = layers.Input(shape=(2,))
    stem = layers.Dense(width, activation="relu")(x)
    h = layers.Dense(width, activation="relu")(stem)
    h = layers.Dense(width)(h)
    h = layers.Add()([stem, h])
    return gn.Model(x, layers.Dense(3, activation="softmax")(h), name=name)


def check_graph(model, xs, seed=0, eps=1e-6):
    """Largest relative error of backward's dL/dx_i and dL/dW against central differences
    of L = Σ forward(xs) · dy (float64), for a model with one or several inputs."""
    rng = np.random.default_rng(seed)
    gradcheck.to_float64(model)
    xs = [np.array(x, dtype=np.float64) for x in xs]
    feed = xs if len(xs) > 1 else xs[0]
    dy = rng.standard_normal(model.forward(feed).shape)
    params = model.parameters()
    for param in params:
        param.zero_grad()
    model.forward(feed)
    dxs = model.backward(dy.copy())
    dxs = dxs if len(xs) > 1 else [dxs]

    def objective():
        return float(np.sum(model.forward(feed) * dy))

    errors = []
    for array, analytic in [*zip(xs, dxs), *((p.value, np.array(p.grad)) for p in params)]:
        numeric = gradcheck.numerical_gradient(objective, array, range(array.size), eps)
        errors.append(gradcheck.relative_error(analytic, numeric))
    return max(errors)


# ----- training and gradients ---------------------------------------------------------------
def test_residual_block_trains_on_spiral_and_passes_gradient_check():
    set_random_seed(1)
    x, y = spiral()
    model = residual_model()
    assert isinstance(model, Functional) and isinstance(model, gn.Model)
    # A decaying rate: at a constant 0.02, Adam's loss spikes now and then late in training,
    # and whether the last epoch lands on a spike depends on the BLAS kernel's rounding.
    rate = gn.schedules.CosineDecay(0.02, decay_steps=100 * 10, alpha=0.05)  # 10 steps/epoch
    model.compile(optimizer=gn.optimizers.Adam(learning_rate=rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    assert model._fused_activation() is not None   # softmax + cross-entropy, fused
    model.fit(x, y, epochs=100, batch_size=32, verbose=0)
    assert model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] >= 0.95
    report = gradcheck.check_model(model, x[:16], y[:16])
    assert report.passed, report
    assert len(report.results) == 8


def test_residual_model_input_gradient(rng):
    report = gradcheck.check_layer(residual_model(width=5), rng.standard_normal((4, 2)))
    assert report.passed, report


def test_tensor_feeding_two_branches_gets_the_summed_gradient(rng):
    """x -> a -> (b1, b2) -> Add: dL/da = dy W1ᵀ + dy W2ᵀ (all linear, no bias)."""
    x = layers.Input(shape=(4,))
    a = layers.Dense(3, use_bias=False)(x)
    b1 = layers.Dense(2, use_bias=False)
    b2 = layers.Dense(2, use_bias=False)
    model = gn.Model(x, layers.Add()([b1(a), b2(a)]), dtype="float64")
    gradcheck.to_float64(model)
    wa, w1, w2 = (layer.W.value for layer in model.layers[1:4])   # after the InputLayer
    xs = rng.standard_normal((5, 4))
    dy = rng.standard_normal((5, 2))
    np.testing.assert_allclose(model.forward(xs), xs @ wa @ w1 + xs @ wa @ w2, rtol=1e-12)
    dx = model.backward(dy)
    da = dy @ w1.T + dy @ w2.T                                  # the two paths, added
    np.testing.assert_allclose(dx, da @ wa.T, rtol=1e-12)
    np.testing.assert_allclose(model.layers[1].W.grad, xs.T @ da, rtol=1e-12)


def test_branches_joined_by_concatenate_pass_finite_differences(rng):
    x = layers.Input(shape=(3,))
    a = layers.Dense(4, activation="tanh")(x)
    left = layers.Dense(2, activation="sigmoid")(a)
    right = layers.Dense(3, activation="relu", bias_initializer="ones")(a)
    joined = layers.Concatenate()([left, right, a])             # `a` is read three times
    model = gn.Model(x, layers.Dense(2)(joined))
    assert check_graph(model, [rng.standard_normal((5, 3))]) < 1e-6


def test_shared_layer_weights_once_and_gradients_summed(rng):
    """A siamese pair: one Dense on both inputs equals two Dense with the same weights, the
    shared gradient being the sum of theirs."""
    a, b = layers.Input(shape=(3,)), layers.Input(shape=(3,))
    shared = layers.Dense(4, activation="tanh")
    model = gn.Model([a, b], layers.Dense(1)(layers.Subtract()([shared(a), shared(b)])))
    assert model.layers.count(shared) == 1
    assert len(model.parameters()) == 4 and model.count_params() == 16 + 5

    c, d = layers.Input(shape=(3,)), layers.Input(shape=(3,))
    first, second, head = layers.Dense(4, "tanh"), layers.Dense(4, "tanh"), layers.Dense(1)
    twin = gn.Model([c, d], head(layers.Subtract()([first(c), second(d)])))
    first.set_weights(shared.get_weights())
    second.set_weights(shared.get_weights())
    head.set_weights(model.layers[-1].get_weights())

    xs = [rng.standard_normal((6, 3)).astype("float32") for _ in range(2)]
    dy = rng.standard_normal((6, 1)).astype("float32")
    np.testing.assert_allclose(model.forward(xs), twin.forward(xs), rtol=1e-6)
    dx_model, dx_twin = model.backward(dy), twin.backward(dy)
    for got, expected in zip(dx_model, dx_twin):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(shared.W.grad, first.W.grad + second.W.grad, rtol=1e-5)
    assert check_graph(model, xs) < 1e-6


def test_shared_layer_twice_on_one_path(rng):
    """y = f(f(x)): the second call must not overwrite the first call's cache."""
    x = layers.Input(shape=(3,))
    f = layers.Dense(3, activation="tanh", bias_initializer="random_normal")
    model = gn.Model(x, f(f(x)))
    report = gradcheck.check_layer(model, rng.standard_normal((4, 3)))
    assert report.passed, report


def test_deep_chain_of_300_layers_without_recursion(rng):
    """Sorting, forward, backward and config round trip are loops: they work with a
    recursion limit that a recursive graph walk of this depth would exceed."""
    x = layers.Input(shape=(2,))
    h = x
    for _ in range(300):
        h = layers.Dense(2, kernel_initializer="identity")(h)
    frames, frame = 0, sys._getframe()
    while frame is not None:
        frames, frame = frames + 1, frame.f_back
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(frames + 150)                 # far fewer than 300 levels left
    try:
        model = gn.Model(x, h)
        xs = rng.standard_normal((3, 2)).astype("float32")
        np.testing.assert_allclose(model.forward(xs), xs, rtol=1e-5)
        assert model.backward(np.ones((3, 2), dtype="float32")).shape == (3, 2)
        config = model.get_config()
        restored = Functional.from_config(config)
        # layers listed last-first: each call still waits only for its own input
        backwards = Functional.from_config({**config, "layers": config["layers"][::-1]})
    finally:
        sys.setrecursionlimit(limit)
    assert len(restored.layers) == 301        # the InputLayer and 300 Dense
    assert backwards.get_config() == config


def test_multi_input_model_fits_evaluates_predicts(rng):
    set_random_seed(3)
    a, b = layers.Input(shape=(3,), name="left"), layers.Input(shape=(2,), name="right")
    h = layers.Dense(8, activation="tanh")(layers.Concatenate()([a, b]))
    model = gn.Model(inputs=[a, b], outputs=layers.Dense(1, activation="sigmoid")(h))
    assert model.input_shape == [(None, 3), (None, 2)] and model.output_shape == (None, 1)
    xa = rng.standard_normal((200, 3)).astype("float32")
    xb = rng.standard_normal((200, 2)).astype("float32")
    y = (xa[:, :1] + xb[:, 1:] > 0).astype("float32")       # needs both inputs
    model.compile(optimizer=gn.optimizers.Adam(0.05), loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit([xa, xb], y, epochs=30, batch_size=32, verbose=0,
                        validation_split=0.25)
    assert history.history["accuracy"][-1] >= 0.95
    assert "val_loss" in history.history
    logs = model.evaluate([xa, xb], y, verbose=0, return_dict=True)
    assert logs["accuracy"] >= 0.95
    predictions = model.predict([xa, xb], batch_size=64, verbose=0)
    assert predictions.shape == (200, 1) and predictions.dtype == np.float32
    by_name = model.predict({"right": xb, "left": xa}, verbose=0)
    np.testing.assert_array_equal(by_name, predictions)
    model.fit([xa, xb], y, epochs=1, verbose=0, validation_data=([xa[:10], xb[:10]], y[:10]))
    assert np.isfinite(model.train_on_batch([xa[:8], xb[:8]], y[:8])[0])
    assert check_graph(model, [xa[:4], xb[:4]]) < 1e-6


def test_integer_ids_branch_gets_no_gradient(rng):
    """Embedding ids are not differentiable: backward gives None for that input."""
    ids, extra = layers.Input(shape=(4,)), layers.Input(shape=(2,))
    embedded = layers.Flatten()(layers.Embedding(10, 3)(ids))
    joined = layers.Concatenate()([embedded, layers.Dense(3)(extra)])
    model = gn.Model([ids, extra], layers.Dense(2, activation="softmax")(joined))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x_ids = rng.integers(0, 10, (20, 4))
    x_extra = rng.standard_normal((20, 2))
    model.fit([x_ids, x_extra], rng.integers(0, 2, 20), epochs=2, verbose=0)
    model.forward([x_ids, x_extra.astype("float32")])
    d_ids, d_extra = model.backward(np.ones((20, 2), dtype="float32"))
    assert d_ids is None and d_extra.shape == (20, 2)


def test_keras_call_forms_and_eager_call(rng):
    x = layers.Input(shape=(3,))
    y = layers.Dense(2)(x)
    by_keyword = gn.Model(inputs=x, outputs=y, name="kw")
    by_list = gn.Model([x], [y])
    assert type(by_keyword) is Functional and by_keyword.name == "kw"
    data = rng.standard_normal((4, 3)).astype("float32")
    np.testing.assert_array_equal(by_keyword(data), by_list.predict(data, verbose=0))
    assert by_keyword.layers == by_list.layers and by_keyword.input_shape == (None, 3)
    assert type(gn.Sequential([x.layer, layers.Dense(1)])) is gn.Sequential


def test_model_used_as_a_layer_in_another_model(rng):
    inner_x = layers.Input(shape=(3,))
    inner = gn.Model(inner_x, layers.Dense(3, activation="tanh")(inner_x))
    x = layers.Input(shape=(3,))
    outer = gn.Model(x, layers.Dense(1)(inner(inner(x))))       # shared, and nested
    assert outer.compute_output_shape((None, 3)) == (None, 1)
    assert check_graph(outer, [rng.standard_normal((4, 3))]) < 1e-6


# ----- config, saving, summary ----------------------------------------------------------------
def siamese_model():
    a, b = layers.Input(shape=(3,), name="a"), layers.Input(shape=(3,), name="b")
    shared = layers.Dense(4, activation="relu", name="shared")
    joined = layers.Concatenate(name="join")([shared(a), shared(b), a])
    return gn.Model([a, b], layers.Dense(2, activation="softmax", name="head")(joined),
                    name="siamese")


def test_get_config_lists_inbound_nodes_by_layer_name():
    config = siamese_model().get_config()
    by_name = {entry["name"]: entry for entry in config["layers"]}
    assert list(by_name) == ["a", "b", "shared", "join", "head"]
    assert by_name["shared"]["inbound_nodes"] == [[["a", 0, 0]], [["b", 0, 0]]]
    assert by_name["join"]["inbound_nodes"] == [[["shared", 0, 0], ["shared", 1, 0],
                                                 ["a", 0, 0]]]
    assert config["input_layers"] == [["a", 0, 0], ["b", 0, 0]]
    assert config["output_layers"] == [["head", 0, 0]]


@pytest.mark.parametrize("build", [residual_model, siamese_model])
def test_from_config_rebuilds_the_same_graph(build):
    model = build()
    restored = Functional.from_config(model.get_config())
    assert restored.get_config() == model.get_config()
    assert [p.shape for p in restored.parameters()] == [p.shape for p in model.parameters()]


def test_model_from_config_rebuilds_a_functional_model_with_custom_objects():
    """Keras scripts call `keras.Model.from_config(config, custom_objects=...)`."""

    class Doubled(layers.Layer):
        def call(self, inputs):
            return inputs * 2.0

    x = layers.Input(shape=(3,))
    model = gn.Model(x, layers.Dense(2)(Doubled(name="doubled")(x)))
    restored = gn.Model.from_config(model.get_config(), custom_objects={"Doubled": Doubled})
    assert isinstance(restored, Functional)
    assert [type(layer) for layer in restored.layers if layer.name == "doubled"] == [Doubled]
    assert restored.get_config() == model.get_config()


def test_save_and_load_give_bitwise_identical_predictions(tmp_path, rng):
    model = siamese_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    xs = [rng.standard_normal((16, 3)).astype("float32") for _ in range(2)]
    model.fit(xs, rng.integers(0, 2, 16), epochs=2, verbose=0)
    model.save(tmp_path / "siamese.glassnet")
    loaded = gn.load_model(tmp_path / "siamese.glassnet")
    assert type(loaded) is Functional and loaded.name == "siamese"
    np.testing.assert_array_equal(loaded.predict(xs, verbose=0), model.predict(xs, verbose=0))
    assert loaded.get_config() == model.get_config()
    assert loaded.optimizer.get_config() == model.optimizer.get_config()


def test_save_and_load_residual_model(tmp_path, rng):
    model = residual_model()
    model.save(tmp_path / "residual.glassnet")
    loaded = gn.load_model(tmp_path / "residual.glassnet")
    x = rng.standard_normal((8, 2)).astype("float32")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_summary_shows_connections_and_counts():
    lines = []
    siamese_model().summary(line_length=200, print_fn=lines.append)
    text = "\n".join(lines)
    assert lines[0] == 'Model: "siamese"' and "Connected to" in lines[2]
    assert "shared (Dense)" in text and "a[0][0], b[0][0]" in text
    assert "shared[0][0], shared[1][0], a[0][0]" in text
    assert "Total params: 40" in text            # shared 3·4+4 = 16 once, head 11·2+2 = 24


# ----- errors -------------------------------------------------------------------------------
def test_outputs_not_connected_to_inputs():
    a, b = layers.Input(shape=(2,), name="given"), layers.Input(shape=(2,), name="other")
    with pytest.raises(ValueError, match=r"not connected to the inputs \['given'\].*'other'"):
        gn.Model(a, layers.Dense(1)(layers.Add()([a, b])))


def test_unused_input_is_refused():
    a, b = layers.Input(shape=(2,)), layers.Input(shape=(2,), name="unused")
    with pytest.raises(ValueError, match=r"inputs \['unused'\] are not used"):
        gn.Model([a, b], layers.Dense(1)(a))


def test_wrong_number_of_input_arrays_for_fit():
    a, b = layers.Input(shape=(2,), name="p"), layers.Input(shape=(3,), name="q")
    model = gn.Model([a, b], layers.Dense(1)(layers.Concatenate()([a, b])))
    model.compile(optimizer="sgd", loss="mse")
    x2, x3, y = np.ones((4, 2)), np.ones((4, 3)), np.ones((4, 1))
    with pytest.raises(ValueError, match=r"2 inputs \['p', 'q'\].*list of 2 arrays, got 3"):
        model.fit([x2, x3, x3], y, verbose=0)
    with pytest.raises(ValueError, match=r"list of 2 arrays, got ndarray of shape \(4, 2\)"):
        model.fit(x2, y, verbose=0)
    with pytest.raises(ValueError, match=r"keys \['p', 'q'\].*missing \['q'\]"):
        model.predict({"p": x2}, verbose=0)
    with pytest.raises(ValueError, match=r"x\[1\] \(input 'q'\): expected shape \(n, 3\)"):
        model.fit([x2, x2], y, verbose=0)
    with pytest.raises(ValueError, match="same number of samples"):
        model.fit([x2, x3[:3]], y, verbose=0)


def test_add_shape_mismatch_in_a_graph():
    a, b = layers.Input(shape=(3,)), layers.Input(shape=(4,))
    with pytest.raises(ValueError, match=r"Add 'add\w*'.*\(None, 3\), \(None, 4\)"):
        layers.Add()([a, b])


def test_other_construction_errors():
    x = layers.Input(shape=(2,))
    y = layers.Dense(2)(x)
    with pytest.raises(ValueError, match="only a model with one output can be called"):
        gn.Model(x, [y, layers.Dense(1)(x)])(layers.Input(shape=(2,)))
    with pytest.raises(ValueError, match=r"inputs\[0\] must come from Input"):
        gn.Model(y, layers.Dense(1)(y))
    with pytest.raises(ValueError, match="at least one layer"):
        gn.Model(x, x)
    with pytest.raises(TypeError, match="symbolic tensor"):
        gn.Model(np.ones((1, 2)), y)
    with pytest.raises(ValueError, match=r"unique.*\['twin'\]"):
        gn.Model(x, layers.Dense(1, name="twin")(layers.Dense(2, name="twin")(x)))
    sequence = layers.Input(shape=(5, 2))
    outputs = layers.LSTM(3, return_state=True)(sequence)
    with pytest.raises(ValueError, match="returns several tensors"):
        gn.Model(sequence, outputs)


def test_bad_configs_are_refused():
    config = residual_model().get_config()
    broken = {**config, "layers": config["layers"][:2] + config["layers"][3:]}
    with pytest.raises(ValueError, match="unknown layer"):
        Functional.from_config(broken)
    with pytest.raises(ValueError, match="'layers' must be a non-empty list"):
        Functional.from_config({**config, "layers": None})
    cycle = [dict(entry) for entry in config["layers"]]
    cycle[1]["inbound_nodes"] = [[[cycle[2]["name"], 0, 0]]]   # first Dense reads the second
    with pytest.raises(ValueError, match="cannot connect layers"):
        Functional.from_config({**config, "layers": cycle})
    with pytest.raises(ValueError, match="output_layers"):
        Functional.from_config({**config, "output_layers": [["nowhere", 0, 0]]})

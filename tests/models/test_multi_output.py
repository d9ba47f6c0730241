"""Models with several inputs and outputs, trained and evaluated as Keras 3.15 does.

Each reference test builds the same graph in Keras (torch backend) and in glassnet, copies
Keras' initial weights into glassnet, runs the same fit/evaluate without shuffling, and
compares the History keys (exactly) and values (float32: rtol 1e-4 over a few SGD epochs).
"""

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers

RTOL, ATOL = 1e-4, 1e-6


def graph(lib, dict_inputs=False, dict_outputs=False):
    """Two inputs (a: 3 features, b: 2) -> a tanh layer -> a regression output (1 unit,
    'reg') and a softmax classification output (3 classes, 'cls')."""
    a = lib.Input((3,), name="a")
    b = lib.Input((2,), name="b")
    h = lib.layers.Dense(5, activation="tanh", name="hid")(
        lib.layers.Concatenate(name="cat")([a, b]))
    reg = lib.layers.Dense(1, name="reg")(h)
    cls = lib.layers.Dense(3, activation="softmax", name="cls")(h)
    inputs = {"a": a, "b": b} if dict_inputs else [a, b]
    outputs = {"r_out": reg, "c_out": cls} if dict_outputs else [reg, cls]
    return lib.Model(inputs, outputs)


def twin(keras, **kwargs):
    """The same model in Keras and glassnet, with Keras' initial weights copied over."""
    reference, model = graph(keras, **kwargs), graph(gn, **kwargs)
    for name in ("hid", "reg", "cls"):
        model.get_layer(name).set_weights(reference.get_layer(name).get_weights())
    return reference, model


@pytest.fixture
def data(rng):
    n = 24
    return {"xa": rng.normal(size=(n, 3)).astype("float32"),
            "xb": rng.normal(size=(n, 2)).astype("float32"),
            "yr": rng.normal(size=(n, 1)).astype("float32"),
            "yc": rng.integers(0, 3, n),
            "wr": rng.uniform(0.2, 2.0, n).astype("float32"),
            "wc": rng.uniform(0.2, 2.0, n).astype("float32")}


def assert_logs_match(actual: dict, expected: dict):
    assert list(actual) == list(expected)          # the same keys, in Keras' sorted order
    for key in expected:
        np.testing.assert_allclose(actual[key], expected[key], rtol=RTOL, atol=ATOL,
                                   err_msg=key)


def compile_both(keras, reference, model, **kwargs):
    reference.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), **kwargs)
    model.compile(optimizer=gn.optimizers.SGD(learning_rate=0.1), **kwargs)


# ----- fit and evaluate against Keras -------------------------------------------------------
def test_list_outputs_fit_history_and_evaluate_match_keras(keras, data):
    reference, model = twin(keras)
    settings = dict(loss=["mse", "sparse_categorical_crossentropy"], loss_weights=[0.5, 2.0],
                    metrics=[["mae"], ["accuracy"]])
    compile_both(keras, reference, model, **settings)
    x, y = [data["xa"], data["xb"]], [data["yr"], data["yc"]]
    val = ([data["xa"][:8], data["xb"][:8]], [data["yr"][:8], data["yc"][:8]])
    fit = dict(epochs=3, batch_size=5, shuffle=False, validation_data=val, verbose=0)
    expected = reference.fit(x, y, **fit).history
    actual = model.fit(x, y, **fit).history
    assert "reg_loss" in actual and "val_cls_accuracy" in actual
    assert_logs_match(actual, expected)
    assert model.metrics_names == reference.metrics_names
    assert_logs_match(model.evaluate(x, y, verbose=0, return_dict=True),
                      reference.evaluate(x, y, verbose=0, return_dict=True))
    # the list: loss, each output's loss, then the metrics by name (Keras' order)
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0),
                               reference.evaluate(x, y, verbose=0), rtol=RTOL)
    for got, want in zip(model.predict(x, verbose=0), reference.predict(x, verbose=0)):
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def test_dict_inputs_outputs_sample_weights_and_weighted_metrics_match_keras(keras, data):
    reference, model = twin(keras, dict_inputs=True, dict_outputs=True)
    settings = dict(loss={"r_out": "mse", "c_out": "sparse_categorical_crossentropy"},
                    loss_weights={"r_out": 1.5, "c_out": 0.5},
                    metrics={"c_out": ["accuracy"]},
                    weighted_metrics={"r_out": ["mae"], "c_out": ["accuracy"]})
    compile_both(keras, reference, model, **settings)
    x = {"a": data["xa"], "b": data["xb"]}
    y = {"r_out": data["yr"], "c_out": data["yc"]}
    weights = {"r_out": data["wr"], "c_out": data["wc"]}
    fit = dict(epochs=2, batch_size=6, shuffle=False, validation_split=0.25, verbose=0,
               sample_weight=weights)
    expected = reference.fit(x, y, **fit).history
    actual = model.fit(x, y, **fit).history
    assert "c_out_weighted_accuracy" in actual
    assert_logs_match(actual, expected)
    evaluate = dict(verbose=0, return_dict=True, sample_weight=weights)
    assert_logs_match(model.evaluate(x, y, **evaluate), reference.evaluate(x, y, **evaluate))
    # the list: loss, the outputs' losses in the order of the loss dict, the rest by name
    evaluate["return_dict"] = False
    np.testing.assert_allclose(model.evaluate(x, y, **evaluate),
                               reference.evaluate(x, y, **evaluate), rtol=RTOL)
    got, want = model.predict(x, verbose=0), reference.predict(x, verbose=0)
    assert isinstance(got, dict) and sorted(got) == sorted(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=RTOL, atol=ATOL)


def test_one_loss_for_every_output_and_one_sample_weight_for_all(keras, rng):
    """A single loss applies to each output; one sample-weight array to each output."""
    reference = keras.Model(*_two_regressions(keras))
    model = gn.Model(*_two_regressions(gn))
    for name in ("h", "p", "q"):
        model.get_layer(name).set_weights(reference.get_layer(name).get_weights())
    compile_both(keras, reference, model, loss="mse", metrics=["mae", ["mse", "mae"]])
    x = rng.normal(size=(20, 4)).astype("float32")
    y = [rng.normal(size=(20, 2)).astype("float32"), rng.normal(size=(20, 1)).astype("float32")]
    w = rng.uniform(0.5, 1.5, 20).astype("float32")
    val = (x[:7], [y[0][:7], y[1][:7]], [w[:7], None])     # weights for one output only
    fit = dict(epochs=2, batch_size=8, shuffle=False, verbose=0, sample_weight=w,
               validation_data=val)
    assert_logs_match(model.fit(x, y, **fit).history, reference.fit(x, y, **fit).history)
    assert_logs_match(model.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True),
                      reference.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True))
    for a, b in ((model.train_on_batch(x, y, return_dict=True),
                  reference.train_on_batch(x, y, return_dict=True)),
                 (model.test_on_batch(x, y, return_dict=True),
                  reference.test_on_batch(x, y, return_dict=True))):
        assert_logs_match(a, b)


def _two_regressions(lib):
    x = lib.Input((4,), name="x")
    h = lib.layers.Dense(6, activation="relu", name="h")(x)
    return x, [lib.layers.Dense(2, name="p")(h), lib.layers.Dense(1, name="q")(h)]


def test_an_output_without_loss_is_not_trained_as_in_keras(keras, data):
    reference, model = twin(keras)
    compile_both(keras, reference, model, loss=["mse", None])
    x, y = [data["xa"], data["xb"]], [data["yr"], data["yc"]]
    before = model.get_layer("cls").get_weights()
    fit = dict(epochs=2, batch_size=8, shuffle=False, verbose=0)
    assert_logs_match(model.fit(x, y, **fit).history, reference.fit(x, y, **fit).history)
    for got, want in zip(model.get_layer("cls").get_weights(), before):
        np.testing.assert_array_equal(got, want)
    # the targets of the untrained output may be left out
    assert model.evaluate(x, [data["yr"]], verbose=0) == pytest.approx(
        reference.evaluate(x, [data["yr"]], verbose=0), rel=RTOL)


# ----- the gradient of the total loss ---------------------------------------------------------
def test_gradients_of_weighted_sum_match_torch_in_float64(torch, rng):
    """Σ w_i loss_i through a graph where one output also feeds the other (no fused
    gradient there) and one output is a fused softmax + cross-entropy."""
    x_in = gn.Input((3,), name="x", dtype="float64")
    h = layers.Dense(4, activation="tanh", name="h", dtype="float64")(x_in)
    first = layers.Dense(2, name="first", dtype="float64")(h)
    second = layers.Dense(3, activation="softmax", name="second", dtype="float64")(
        layers.Concatenate(dtype="float64")([h, first]))
    model = gn.Model(x_in, [first, second], dtype="float64")
    model.compile(optimizer="sgd", loss=["mse", "sparse_categorical_crossentropy"],
                  loss_weights=[0.3, 1.7])
    x = rng.normal(size=(6, 3))
    y = [rng.normal(size=(6, 2)), rng.integers(0, 3, 6)]
    loss, _ = model.compute_gradients(x, _targets(model, y))
    weights = {name: [torch.tensor(w, requires_grad=True)
                      for w in model.get_layer(name).get_weights()]
               for name in ("h", "first", "second")}
    xt = torch.tensor(x)
    ht = torch.tanh(xt @ weights["h"][0] + weights["h"][1])
    ft = ht @ weights["first"][0] + weights["first"][1]
    logits = torch.cat([ht, ft], 1) @ weights["second"][0] + weights["second"][1]
    total = (0.3 * torch.mean((ft - torch.tensor(y[0])) ** 2)
             + 1.7 * torch.nn.functional.cross_entropy(logits, torch.tensor(y[1])))
    total.backward()
    assert loss == pytest.approx(total.item(), rel=1e-12)
    for name, tensors in weights.items():
        params = model.get_layer(name).parameters()
        for param, tensor in zip(params, tensors):
            np.testing.assert_allclose(param.grad, tensor.grad.numpy(), rtol=1e-10,
                                       atol=1e-12, err_msg=f"{name}.{param.name}")


def test_one_softmax_layer_making_two_outputs_gets_both_gradients(torch, rng):
    """A layer called twice, each call an output: the fused path needs each call's logits,
    so it is not taken; the gradients add up over both calls."""
    a, b = gn.Input((3,), name="a", dtype="float64"), gn.Input((3,), name="b", dtype="float64")
    shared = layers.Dense(4, activation="softmax", name="shared", dtype="float64")
    model = gn.Model([a, b], [shared(a), shared(b)], dtype="float64")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", loss_weights=None)
    x = [rng.normal(size=(5, 3)), rng.normal(size=(5, 3))]
    y = [rng.integers(0, 4, 5), rng.integers(0, 4, 5)]
    loss, _ = model.compute_gradients(model.prepare_inputs(x), _targets(model, y))
    kernel, bias = (torch.tensor(w, requires_grad=True) for w in shared.get_weights())
    total = sum(torch.nn.functional.cross_entropy(torch.tensor(xi) @ kernel + bias,
                                                  torch.tensor(yi)) for xi, yi in zip(x, y))
    total.backward()
    assert loss == pytest.approx(total.item(), rel=1e-12)
    np.testing.assert_allclose(shared.parameters()[0].grad, kernel.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(shared.parameters()[1].grad, bias.grad.numpy(), rtol=1e-10)


class Penalised(layers.Layer):
    """add_loss: rate * mean(x^2) of what passes through."""

    def __init__(self, rate=0.1, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * gn.ops.mean(gn.ops.square(inputs)))
        return inputs


def test_add_loss_and_penalties_join_the_total_even_on_an_untrained_output(torch, rng):
    """L = w_0 · mse(p) + add_loss on the branch of q (which has no loss) + L2 penalty."""
    x_in = gn.Input((3,), name="x", dtype="float64")
    h = layers.Dense(4, activation="tanh", name="h", dtype="float64",
                     kernel_regularizer=gn.regularizers.L2(0.01))(x_in)
    p = layers.Dense(2, name="p", dtype="float64")(h)
    q = layers.Dense(2, name="q", dtype="float64")(Penalised(0.3, dtype="float64")(h))
    model = gn.Model(x_in, [p, q], dtype="float64")
    model.compile(optimizer="sgd", loss=["mse", None], loss_weights=[2.0, 1.0])
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    loss, _ = model.compute_gradients(x, _targets(model, [y]))
    kernel, bias = (torch.tensor(w, requires_grad=True) for w in model.get_layer("h")
                    .get_weights())
    p_kernel, p_bias = (torch.tensor(w) for w in model.get_layer("p").get_weights())
    ht = torch.tanh(torch.tensor(x) @ kernel + bias)
    total = (2.0 * torch.mean((ht @ p_kernel + p_bias - torch.tensor(y)) ** 2)
             + 0.3 * torch.mean(ht ** 2) + 0.01 * torch.sum(kernel ** 2))
    total.backward()
    assert loss == pytest.approx(total.item(), rel=1e-12)
    np.testing.assert_allclose(model.get_layer("h").parameters()[0].grad, kernel.grad.numpy(),
                               rtol=1e-10)
    np.testing.assert_allclose(model.get_layer("h").parameters()[1].grad, bias.grad.numpy(),
                               rtol=1e-10)


def _targets(model, y):
    from glassnet.training.data import prepare

    return prepare.target_array(model, y)


# ----- errors -------------------------------------------------------------------------------
@pytest.fixture
def compiled():
    model = graph(gn)
    model.compile(optimizer="sgd", loss=["mse", "sparse_categorical_crossentropy"])
    return model


def test_compile_errors_name_the_argument():
    model = graph(gn)
    with pytest.raises(ValueError, match=r"loss is a list of 3.*2 outputs \['reg', 'cls'\]"):
        model.compile(loss=["mse", "mse", "mse"])
    with pytest.raises(ValueError, match=r"loss has keys \['nope'\]"):
        model.compile(loss={"reg": "mse", "nope": "mse"})
    with pytest.raises(ValueError, match=r"loss has keys \['reg'\]; expected every output"):
        model.compile(loss={"reg": "mse"})
    with pytest.raises(ValueError, match=r"metrics=\['mae'\].*one entry per output"):
        model.compile(loss="mse", metrics=["mae"])
    with pytest.raises(ValueError, match="loss_weights.*structure of loss"):
        model.compile(loss="mse", loss_weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="no output"):
        model.compile(loss=[None, None])


def test_data_errors_name_the_input_or_output(compiled, data):
    x = [data["xa"], data["xb"]]
    y = [data["yr"], data["yc"]]
    with pytest.raises(ValueError, match=r"y: unknown keys \['bad'\]; expected the output "
                                         r"names \['reg', 'cls'\]"):
        compiled.fit(x, {"reg": data["yr"], "bad": data["yc"]}, verbose=0)
    with pytest.raises(ValueError, match=r"y\[1\] \(output 'cls'\): missing"):
        compiled.fit(x, {"reg": data["yr"]}, verbose=0)
    with pytest.raises(ValueError, match=r"expected a list of 2 arrays .* got ndarray"):
        compiled.fit(x, data["yr"], verbose=0)
    with pytest.raises(ValueError, match=r"y\[1\] \(output 'cls'\) has 23"):
        compiled.fit(x, [data["yr"], data["yc"][:-1]], verbose=0)
    with pytest.raises(ValueError, match=r"y\[0\] \(output 'reg'\): expected targets of "
                                         r"shape \(n, 1\)"):
        compiled.fit(x, [data["yc"][:, None].repeat(2, 1), data["yc"]], verbose=0)
    with pytest.raises(ValueError, match=r"sample_weight\[1\] \(output 'cls'\): expected "
                                         r"non-negative"):
        compiled.fit(x, y, sample_weight=[None, -data["wc"]], verbose=0)
    with pytest.raises(ValueError, match=r"x: expected a dict with keys \['a', 'b'\].*"
                                         r"missing \['b'\]"):
        compiled.fit({"a": data["xa"]}, y, verbose=0)
    with pytest.raises(ValueError, match="class_weight: not supported"):
        compiled.fit(x, y, class_weight={0: 1.0}, verbose=0)


# ----- files --------------------------------------------------------------------------------
@pytest.mark.parametrize("dict_outputs", [False, True])
def test_save_and_load_keep_the_compile_settings_per_output(tmp_path, data, dict_outputs):
    model = graph(gn, dict_inputs=dict_outputs, dict_outputs=dict_outputs)
    names = model.output_names
    model.compile(optimizer=gn.optimizers.Adam(1e-3),
                  loss={names[0]: "sparse_categorical_crossentropy", names[1]: "mse"}
                  if dict_outputs else ["mse", gn.losses.SparseCategoricalCrossentropy()],
                  loss_weights=[0.25, 4.0],
                  metrics={names[0]: ["accuracy"]} if dict_outputs else [["mae"], ["accuracy"]])
    x = {"b": data["xb"], "a": data["xa"]} if dict_outputs else [data["xa"], data["xb"]]
    y = ({"c_out": data["yc"], "r_out": data["yr"]} if dict_outputs
         else [data["yr"], data["yc"]])
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.glassnet")
    loaded = gn.load_model(tmp_path / "m.glassnet")
    assert loaded.output_names == names and loaded.input_names == model.input_names
    assert loaded.outputs_by_name == loaded.inputs_by_name == dict_outputs
    assert loaded.get_compile_config() == model.get_compile_config()
    assert loaded.evaluate(x, y, verbose=0, return_dict=True) == pytest.approx(
        model.evaluate(x, y, verbose=0, return_dict=True))
    history = loaded.fit(x, y, epochs=1, verbose=0).history
    assert sorted(history) == sorted(model.fit(x, y, epochs=1, verbose=0).history)


def test_backup_and_restore_resumes_mid_epoch_with_the_same_history(tmp_path, data):
    """BackupAndRestore after every step; an interruption in epoch 2, then the same fit
    resumes with each output's running metrics and ends where an uninterrupted fit ends."""
    x, y = [data["xa"], data["xb"]], [data["yr"], data["yc"]]

    def fresh():
        model = graph(gn)
        model.compile(optimizer=gn.optimizers.SGD(0.1),
                      loss=["mse", "sparse_categorical_crossentropy"],
                      metrics=[["mae"], ["accuracy"]], weighted_metrics=[[], ["accuracy"]])
        return model

    first = fresh()
    start = first.get_weights()
    fit = dict(epochs=3, batch_size=5, shuffle=False, verbose=0,
               sample_weight=[None, data["wc"]])
    expected = first.fit(x, y, **fit).history

    def stop(batch, logs):
        if interrupted.fit_progress.epoch == 1 and batch == 2:
            raise KeyboardInterrupt

    interrupted = fresh()
    interrupted.set_weights(start)
    backup = gn.callbacks.BackupAndRestore(tmp_path, save_freq=1)
    with pytest.warns(RuntimeWarning, match="interrupted"):
        interrupted.fit(x, y, callbacks=[backup, gn.callbacks.LambdaCallback(
            on_train_batch_end=stop)], **fit)
    resumed = fresh()
    resumed.set_weights(start)
    history = resumed.fit(x, y, callbacks=[gn.callbacks.BackupAndRestore(tmp_path)], **fit)
    assert_logs_match(history.history, expected)


def test_data_parallelism_refuses_several_outputs(monkeypatch, compiled, data):
    from glassnet.training import parallel

    monkeypatch.setattr(parallel.distribution, "communicator", lambda: object())
    with pytest.raises(ValueError, match="has 2 outputs; data parallelism"):
        compiled.fit([data["xa"], data["xb"]], [data["yr"], data["yc"]], verbose=0)


def test_a_generator_of_list_batches_trains_as_the_arrays_do(data):
    """Batches (x, y, sample_weight) from a generator go through the same checks."""
    x, y = [data["xa"], data["xb"]], [data["yr"], data["yc"]]
    arrays, generated = graph(gn), graph(gn)
    generated.set_weights(arrays.get_weights())
    for model in (arrays, generated):
        model.compile(optimizer=gn.optimizers.SGD(0.1),
                      loss=["mse", "sparse_categorical_crossentropy"])
    expected = arrays.fit(x, y, batch_size=6, epochs=1, shuffle=False, verbose=0).history

    def batches():
        for start in range(0, 24, 6):
            part = slice(start, start + 6)
            yield [a[part] for a in x], {"reg": y[0][part], "cls": y[1][part]}

    history = generated.fit(batches(), epochs=1, verbose=0).history
    assert_logs_match(history, expected)

    def bad():
        yield x, [y[0], y[1][:, None].astype("float32") + 5]

    with pytest.raises(ValueError, match=r"y\[1\] \(output 'cls'\) \(batch 0 of the "
                                         r"generator\): labels must be in \[0, 3\)"):
        generated.fit(bad(), epochs=1, verbose=0)


def test_a_diverging_step_is_refused_and_the_weights_kept(compiled, data):
    x, y = [data["xa"], data["xb"]], [data["yr"] * 1e30, data["yc"]]
    before = compiled.get_weights()
    from glassnet.training.guard import DivergenceError

    with pytest.raises(DivergenceError, match="training diverged"):
        compiled.fit(x, y, epochs=1, verbose=0)
    for got, want in zip(compiled.get_weights(), before):
        np.testing.assert_array_equal(got, want)


def test_shuffling_keeps_inputs_targets_and_weights_together(data):
    """One full batch an epoch: the mean losses do not depend on the order, so a shuffled
    fit matches an unshuffled one exactly when every array moved with the others."""
    x = {"a": data["xa"], "b": data["xb"]}
    y = {"reg": data["yr"], "cls": data["yc"]}
    weights = {"reg": data["wr"], "cls": data["wc"]}
    histories, start = [], graph(gn).get_weights()
    for order in (False, True):
        model = graph(gn)
        model.set_weights(start)
        model.compile(optimizer=gn.optimizers.SGD(0.1),
                      loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
                      weighted_metrics={"cls": ["accuracy"]})
        histories.append(model.fit(x, y, sample_weight=weights, batch_size=None, epochs=3,
                                   shuffle=order, verbose=0).history)
    assert_logs_match(histories[1], histories[0])

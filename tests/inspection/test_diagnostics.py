"""glassnet.diagnostics.report / plot: per-layer numbers checked by hand on tiny models,
and the promise that measuring changes nothing."""

import json
import math

import numpy as np
import pytest
from matplotlib.figure import Figure

import glassnet as gn
from glassnet import diagnostics, layers
from glassnet.utils import set_random_seed


def float64_mlp(activation="relu", units=4, optimizer=None, n_in=3):
    model = gn.Sequential([layers.Input(shape=(n_in,)), layers.Dense(units, activation=activation),
                           layers.Dense(2)], dtype="float64")
    model.compile(optimizer=optimizer or gn.optimizers.SGD(learning_rate=0.1), loss="mse")
    return model


def data(rng, n=16, n_in=3):
    return rng.standard_normal((n, n_in)), rng.standard_normal((n, 2))


def norm(array) -> float:
    return float(np.linalg.norm(np.asarray(array, dtype=np.float64).ravel()))


def test_gradient_norms_are_those_of_compute_gradients(rng):
    set_random_seed(0)
    model = gn.Sequential([layers.Input(shape=(5,)), layers.Dense(6, activation="tanh"),
                           layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    x = rng.standard_normal((20, 5)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 20)]
    report = diagnostics.report(model, x, y)
    loss, _ = model.compute_gradients(x, y)
    grads = {p.name: p.grad.copy() for p in model.parameters(trainable_only=True)}
    assert report.loss == pytest.approx(loss, rel=1e-6)
    for row in report.parameters:
        assert row.gradient_norm == pytest.approx(norm(grads[row.name]), rel=1e-6)
    for layer in model.layers:
        expected = math.sqrt(sum(norm(grads[p.name]) ** 2 for p in layer.parameters()))
        assert report.layer(layer.name).gradient_norm == pytest.approx(expected, rel=1e-6)


def test_sgd_update_ratio_is_learning_rate_times_gradient_over_weight(rng):
    model = float64_mlp(optimizer=gn.optimizers.SGD(learning_rate=0.05))
    x, y = data(rng)
    report = diagnostics.report(model, x, y)
    model.compute_gradients(x, y)
    for layer in model.layers:
        grad = math.sqrt(sum(norm(p.grad) ** 2 for p in layer.parameters()))
        weight = math.sqrt(sum(norm(p.value) ** 2 for p in layer.parameters()))
        row = report.layer(layer.name)
        assert row.update_norm == pytest.approx(0.05 * grad, rel=1e-9)    # ΔW = -lr g
        assert row.update_ratio == pytest.approx(0.05 * grad / weight, rel=1e-9)


def test_adam_first_update_is_keras_first_step(rng):
    # First Adam step, by hand: m = (1 - b1) g, v = (1 - b2) g², alpha = lr sqrt(1 - b2) /
    # (1 - b1), ΔW = -alpha m / (sqrt(v) + eps) = -lr s g / (s |g| + eps), s = sqrt(1 - b2).
    adam = gn.optimizers.Adam(learning_rate=1e-3)
    model = float64_mlp(optimizer=adam)
    x, y = data(rng)
    report = diagnostics.report(model, x, y)
    assert not adam.built and adam.iterations == 0       # measured, not taken
    model.compute_gradients(x, y)
    s = math.sqrt(1 - adam.beta_2)
    for row, param in zip(report.parameters, model.parameters(), strict=True):
        step = 1e-3 * s * param.grad / (s * np.abs(param.grad) + adam.epsilon)
        assert row.update_norm == pytest.approx(norm(step), rel=1e-9)


def test_dead_relu_units_are_those_never_active(rng):
    model = float64_mlp(activation="relu", units=4)
    dense = model.layers[0]
    dense.W.value[...] = 1.0
    dense.b.value[...] = [0.0, 0.0, -1e3, -1e3]     # units 2 and 3 can never turn on
    x = np.abs(data(rng)[0]) + 0.1                  # positive inputs: units 0 and 1 always on
    report = diagnostics.report(model, x, data(rng)[1])
    assert report.layer(dense.name).dead_fraction == 0.5
    assert report.layer(dense.name).saturated_fraction is None
    dense.b.value[...] = [0.0, -1e3, -1e3, -1e3]
    assert diagnostics.report(model, x, data(rng)[1]).layer(dense.name).dead_fraction == 0.75
    # A unit active for a single sample is alive.
    dense.b.value[...] = [0.0, 0.0, 0.0, 0.0]
    x[:, :] = -1.0
    x[7] = 1.0
    assert diagnostics.report(model, x, data(rng)[1]).layer(dense.name).dead_fraction == 0.0


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_saturated_fraction_counts_outputs_near_the_asymptotes(rng, activation):
    model = float64_mlp(activation=activation, units=8)
    dense = model.layers[0]
    dense.W.value[...] *= 30.0                      # huge weights: most outputs saturate
    x, y = data(rng, n=50)
    z = x @ dense.W.value + dense.b.value
    if activation == "sigmoid":
        out = 1 / (1 + np.exp(-z))
        expected = np.mean((out < 0.01) | (out > 0.99))
    else:
        expected = np.mean(np.abs(np.tanh(z)) > 0.99)
    assert 0.3 < expected < 1.0                     # the case is not trivial
    row = diagnostics.report(model, x, y).layer(dense.name)
    assert row.saturated_fraction == pytest.approx(expected, abs=1e-12)
    assert row.dead_fraction is None
    assert row.activation == activation


def test_report_changes_nothing_training_after_it_is_bitwise_identical(rng):
    x = rng.standard_normal((64, 6)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 64)]

    def train(measure: bool):
        set_random_seed(7)
        model = gn.Sequential([layers.Input(shape=(6,)), layers.Dense(8, activation="relu"),
                               layers.Dropout(0.3), layers.BatchNormalization(),
                               layers.Dense(3, activation="softmax")])
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        if measure:
            diagnostics.report(model, x[:16], y[:16])     # before any step: optimizer unbuilt
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        if measure:
            diagnostics.report(model, x, y)               # between epochs
            assert not model.optimizer.built or model.optimizer.iterations == 8
        model.fit(x, y, epochs=1, batch_size=16, verbose=0)
        return model

    measured, plain = train(True), train(False)
    for a, b in zip(measured.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    for key, value in plain.optimizer.get_state().items():
        np.testing.assert_array_equal(measured.optimizer.get_state()[key], value)


def test_table_and_dict(rng):
    model = float64_mlp(activation="sigmoid")
    report = diagnostics.report(model, *data(rng))
    text = str(report)
    lines = text.splitlines()
    assert "grad norm" in lines[1] and "update/weight" in lines[1] and "saturated" in lines[1]
    assert len(lines) == 3 + len(model.layers)
    assert all(layer.name in text for layer in model.layers)
    record = json.loads(json.dumps(report.to_dict()))
    first = record["layers"][model.layers[0].name]
    assert first["dead_relu_fraction"] is None and 0 <= first["saturated_fraction"] <= 1
    assert first["gradient_norm"] == pytest.approx(report.layers[0].gradient_norm)
    with pytest.raises(KeyError, match="no layer 'nope'"):
        report.layer("nope")


def test_plot_has_one_axes_per_quantity(rng, tmp_path):
    model = float64_mlp(activation="relu")
    report = diagnostics.report(model, *data(rng))
    figure = diagnostics.plot(report)
    assert isinstance(figure, Figure) and len(figure.axes) == 4
    titles = [ax.get_title() for ax in figure.axes]
    assert any("gradient norm" in t for t in titles) and any("dead ReLU" in t for t in titles)
    assert any("update / weight" in t for t in titles) and any("saturated" in t for t in titles)
    # One bar per layer and report; two reports side by side; written atomically to `path`.
    assert len(figure.axes[0].patches) == len(report.layers)
    pair = diagnostics.plot({"before": report, "after": report}, path=tmp_path / "d.png")
    assert len(pair.axes[0].patches) == 2 * len(report.layers)
    assert (tmp_path / "d.png").stat().st_size > 0


def test_report_needs_a_compiled_model(rng):
    model = gn.Sequential([layers.Input(shape=(3,)), layers.Dense(2)])
    with pytest.raises(RuntimeError, match="compile"):
        diagnostics.report(model, *data(rng))


def test_locate_nonfinite_on_a_healthy_batch_is_none_and_harmless(rng):
    model = float64_mlp()
    x, y = data(rng)
    before = model.get_weights()
    assert diagnostics.locate_nonfinite(model, x, y) is None
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    # The wrappers are gone afterwards: methods are the class's again.
    assert all("forward" not in vars(layer) for layer in model.layers)
    assert type(model.loss).__name__ == "MeanSquaredError"


def test_nested_models_are_looked_into(rng):
    inner = gn.Sequential([layers.Dense(4, activation="relu"), layers.Dense(4)], name="inner")
    model = gn.Sequential([layers.Input(shape=(3,)), inner, layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = (a.astype("float32") for a in data(rng))
    report = diagnostics.report(model, x, y)
    assert [row.name for row in report.layers] == [*(layer.name for layer in inner.layers),
                                                   model.layers[-1].name]
    inner.layers[1].W.value[0, 0] = np.inf
    site = diagnostics.locate_nonfinite(model, x, y)
    assert (site.phase, site.layer) == ("weights", inner.layers[1].name)

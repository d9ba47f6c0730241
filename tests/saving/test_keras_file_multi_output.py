"""`.keras` files of models with several inputs and outputs, both ways with Keras 3.15:
the graph (list or dict inputs and outputs) and the compile settings per output."""

import numpy as np
import pytest

import glassnet as gn


def graph(lib, keyed: bool):
    a, b = lib.Input((3,), name="a"), lib.Input((2,), name="b")
    h = lib.layers.Dense(5, activation="tanh", name="hid")(
        lib.layers.Concatenate(name="cat")([a, b]))
    reg = lib.layers.Dense(1, name="reg")(h)
    cls = lib.layers.Dense(3, activation="softmax", name="cls")(h)
    if keyed:
        return lib.Model({"a": a, "b": b}, {"r_out": reg, "c_out": cls})
    return lib.Model([a, b], [reg, cls])


def settings(lib, keyed: bool) -> dict:
    if keyed:
        return dict(loss={"r_out": "mse", "c_out": lib.losses.SparseCategoricalCrossentropy()},
                    loss_weights={"r_out": 2.0, "c_out": 0.5},
                    metrics={"c_out": ["accuracy"]}, weighted_metrics={"r_out": ["mae"]})
    return dict(loss=["mse", "sparse_categorical_crossentropy"], loss_weights=[1.0, 0.5],
                metrics=[["mae"], ["accuracy"]])


def data(keyed: bool):
    rng = np.random.default_rng(3)
    xa, xb = rng.normal(size=(12, 3)).astype("float32"), rng.normal(size=(12, 2)).astype(
        "float32")
    yr, yc = rng.normal(size=(12, 1)).astype("float32"), rng.integers(0, 3, 12)
    if keyed:
        return {"a": xa, "b": xb}, {"r_out": yr, "c_out": yc}
    return [xa, xb], [yr, yc]


def assert_same_results(model, reference, keyed: bool):
    x, y = data(keyed)
    got = model.evaluate(x, y, verbose=0, return_dict=True)
    want = reference.evaluate(x, y, verbose=0, return_dict=True)
    assert list(got) == list(want)
    for key in want:
        assert got[key] == pytest.approx(want[key], rel=1e-5), key


@pytest.mark.parametrize("keyed", [False, True])
def test_keras_file_from_keras_loads_with_its_compile_settings(keras, tmp_path, keyed):
    reference = graph(keras, keyed)
    reference.compile(optimizer="sgd", **settings(keras, keyed))
    reference.save(tmp_path / "m.keras")
    model = gn.load_model(tmp_path / "m.keras")
    assert model.output_names == (["c_out", "r_out"] if keyed else ["reg", "cls"])
    assert_same_results(model, reference, keyed)


@pytest.mark.parametrize("keyed", [False, True])
def test_keras_file_from_glassnet_loads_in_keras(keras, tmp_path, keyed):
    model = graph(gn, keyed)
    model.compile(optimizer="sgd", **settings(gn, keyed))
    model.save(tmp_path / "m.keras")
    reference = keras.saving.load_model(tmp_path / "m.keras")
    assert reference.compiled
    assert_same_results(model, reference, keyed)

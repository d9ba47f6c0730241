"""Looking into a model as Keras 3 users do: inputs/outputs, layer.input/output, get_layer,
from_config, clone_model and summary(), each compared with Keras 3.15 on its torch backend."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers


def _both(lib, seq: bool):
    """The same small model in glassnet or Keras (`lib` is either module)."""
    L = lib.layers
    if seq:
        return lib.Sequential([lib.Input(shape=(5,)), L.Dense(4, name="d1"),
                               L.BatchNormalization(name="bn"), L.Dense(2, name="d2")],
                              name="seq")
    a, b = lib.Input(shape=(3,), name="a"), lib.Input(shape=(3,), name="b")
    shared = L.Dense(4, name="shared")
    h = L.Concatenate(name="cat")([shared(a), shared(b), a])
    h = L.Dense(6, activation="relu", name="hidden")(h)
    return lib.Model([a, b], L.Dense(2, name="head")(L.Add(name="add")([h, h])),
                     name="siamese")


def _chain(lib):
    x = lib.Input(shape=(7,), name="x")
    return lib.Model(x, lib.layers.Dense(1, name="out")(lib.layers.Dense(3, name="h")(x)),
                     name="chain")


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch):
    """Keras prints through rich, which crops its table to the console's width."""
    monkeypatch.setenv("COLUMNS", "200")


def _table(model, **kwargs) -> tuple[list[list[str]], list[str]]:
    """summary()'s rows (each cell's lines joined) and its totals lines."""
    lines = []
    model.summary(line_length=140, print_fn=lambda text, **_: lines.extend(
        str(text).splitlines()), **kwargs)
    rows, current, totals = [], None, []
    for line in lines:
        if line.startswith(("│", "┃")):
            cells = [c.strip() for c in re.split("[│┃]", line)[1:-1]]
            if current is None:
                current = cells
            else:
                current = [f"{a} {b}".strip() for a, b in zip(current, cells)]
        elif line.startswith(("├", "└", "┡")):
            rows.append(current)
            current = None
        elif line.strip().startswith(("Total", "Trainable", "Non-trainable", "Optimizer")):
            totals.append(line.strip())
    return rows, totals


def _other(lib, kind):
    L = lib.layers
    if kind == "unbuilt":
        return lib.Sequential([L.Dense(3, name="a"), L.Dense(2, name="b")], name="s")
    if kind == "rnn":
        return lib.Sequential([lib.Input(shape=(5, 2)), L.LSTM(3, return_sequences=True,
                                                               name="l"), L.GRU(2, name="g")])
    inner = lib.Sequential([lib.Input(shape=(4,)), L.Dense(3, name="i1"),
                            L.Dense(2, name="i2")], name="inner")
    x = lib.Input(shape=(4,), name="x")
    return lib.Model(x, L.Dense(1, name="o")(inner(x)), name="outer")


@pytest.mark.parametrize("expand_nested", [False, True])
@pytest.mark.parametrize("kind", ["sequential", "graph", "chain", "unbuilt", "rnn", "nested"])
def test_summary_rows_and_totals_match_keras(keras, kind, expand_nested):
    def make(lib):
        if kind in ("unbuilt", "rnn", "nested"):
            return _other(lib, kind)
        return _chain(lib) if kind == "chain" else _both(lib, kind == "sequential")

    ours, theirs = make(gn), make(keras)
    assert _table(ours, expand_nested=expand_nested) == \
        _table(theirs, expand_nested=expand_nested)


def test_summary_counts_a_built_optimizer_and_frozen_layers_as_keras(keras, rng):
    x, y = rng.standard_normal((8, 5)).astype("float32"), rng.standard_normal((8, 2))
    tables = []
    for lib in (gn, keras):
        model = _both(lib, seq=True)
        model.get_layer("d1").trainable = False
        model.compile(optimizer=lib.optimizers.Adam(), loss="mse")
        model.fit(x, y.astype("float32"), epochs=1, verbose=0)
        tables.append(_table(model, show_trainable=True))
    assert tables[0] == tables[1]
    assert any(line.startswith("Optimizer params") for line in tables[0][1])


def test_inputs_outputs_and_layer_tensors(keras):
    for lib in (gn, keras):
        model = _both(lib, seq=True)
        assert [tuple(t.shape) for t in model.inputs] == [(None, 5)]
        assert [tuple(t.shape) for t in model.outputs] == [(None, 2)]
        graph = _both(lib, seq=False)
        assert tuple(graph.output.shape) == (None, 2)
        assert [tuple(t.shape) for t in graph.input] == [(None, 3), (None, 3)]
        cat = graph.get_layer("cat")
        assert tuple(cat.output.shape) == (None, 11) and len(cat.input) == 3
        # a shared layer's input and output are those of its first call, as in Keras
        shared = graph.get_layer("shared")
        assert shared.input is graph.inputs[0]
        assert cat.input[0] is shared.output
    never_called = layers.Dense(2)
    with pytest.raises(AttributeError, match="has never been called"):
        _ = never_called.output


def test_sequential_without_input_has_inputs_once_built():
    model = gn.Sequential([layers.Dense(3, name="a"), layers.Dense(1, name="b")])
    with pytest.raises(AttributeError, match="no defined inputs"):
        _ = model.inputs
    model.build((None, 4))
    assert model.input.shape == (None, 4) and model.output.shape == (None, 1)
    assert model.get_layer("b").input.shape == (None, 3)
    assert model.output is model.outputs[0]            # made once per build


@pytest.mark.parametrize("arguments", [{}, {"name": "zz"}, {"index": 9},
                                       {"name": "d1", "index": 0}])
def test_get_layer_errors_match_keras(keras, arguments):
    messages = []
    for lib in (gn, keras):
        with pytest.raises(ValueError) as error:
            _both(lib, seq=True).get_layer(**arguments)
        messages.append(str(error.value))
    assert messages[0] == messages[1]


def test_get_layer_by_name_and_index_as_keras(keras):
    for lib in (gn, keras):
        model = _both(lib, seq=True)
        assert [model.get_layer(index=i).name for i in (0, 1, -1)] == ["d1", "bn", "d2"]
        assert model.get_layer("bn") is model.layers[1]
    graph = _both(gn, seq=False)
    assert graph.get_layer("a") is graph.inputs[0].layer          # an Input, by name


@pytest.mark.parametrize("seq", [True, False])
def test_model_from_config_revives_any_saved_model(seq, rng):
    model = _both(gn, seq)
    config = model.get_config()
    for revive in (gn.Model.from_config, type(model).from_config):
        twin = revive(config, custom_objects={})
        assert type(twin) is type(model) and twin.get_config() == config
    twin = gn.Model.from_config(config)
    twin.set_weights(model.get_weights())
    x = ([rng.standard_normal((4, 3)) for _ in range(2)] if not seq
         else rng.standard_normal((4, 5)))
    np.testing.assert_array_equal(twin.predict(x, verbose=0), model.predict(x, verbose=0))


def test_model_from_config_of_a_subclass_names_the_missing_arguments():
    class Wide(gn.Model):
        def __init__(self, width, **kwargs):
            super().__init__(**kwargs)
            self.dense = layers.Dense(width)

        def call(self, inputs):
            return self.dense(inputs)

    with pytest.raises(TypeError, match="Unable to revive model from config"):
        Wide.from_config({"name": "w"})


@pytest.mark.parametrize("seq", [True, False])
def test_clone_model_has_the_architecture_and_new_weights(keras, seq):
    for lib in (gn, keras):
        model = _both(lib, seq)
        twin = lib.models.clone_model(model)
        assert twin.get_config() == model.get_config()
        assert [w.shape for w in twin.get_weights()] == [w.shape for w in model.get_weights()]
        kernels = [(a, b) for a, b in zip(model.get_weights(), twin.get_weights())
                   if a.ndim == 2]
        assert kernels and not any(np.array_equal(a, b) for a, b in kernels)
    graph = gn.models.clone_model(_both(gn, seq=False))
    shared = graph.get_layer("shared")       # a shared layer stays one layer, called twice
    assert len(graph._layer_nodes[id(shared)]) == 2


def test_clone_model_options(keras):
    model = _both(gn, seq=False)
    model.compile(optimizer="adam", loss="mse")
    kept = model.get_layer("hidden")
    twin = gn.models.clone_model(
        model, clone_function=lambda layer: layer if layer is kept else
        type(layer).from_config(layer.get_config()))
    assert twin.get_layer("hidden") is kept and twin.compiled
    a, b = layers.Input(shape=(3,), name="a"), layers.Input(shape=(3,), name="b")
    on_given = gn.models.clone_model(model, input_tensors=[a, b])
    assert on_given.inputs == [a, b]
    with pytest.raises(ValueError, match="same structure"):
        gn.models.clone_model(model, input_tensors=[a])
    with pytest.raises(ValueError, match="Unexpected keyword"):
        gn.models.clone_model(model, bogus=1)
    seq = _both(gn, seq=True)
    with pytest.raises(ValueError, match="not supported with Sequential"):
        gn.models.clone_model(seq, call_function=lambda layer, x: layer(x))
    with pytest.raises(ValueError) as ours:
        gn.models.clone_model(seq, input_tensors=[a, b])
    with pytest.raises(ValueError) as theirs:
        keras.models.clone_model(_both(keras, seq=True),
                                 input_tensors=[keras.Input((3,)), keras.Input((3,))])
    assert str(ours.value) == str(theirs.value)


def test_clone_model_of_a_subclass_uses_its_config(rng):
    class Wide(gn.Model):
        def __init__(self, width, **kwargs):
            super().__init__(**kwargs)
            self.width = width
            self.dense = layers.Dense(width)

        def call(self, inputs):
            return self.dense(inputs)

    model = Wide(3, name="wide")
    x = rng.standard_normal((2, 4)).astype("float32")
    model(x)
    twin = gn.models.clone_model(model)
    assert type(twin) is Wide and twin.width == 3 and twin.name == "wide"
    twin(x)
    assert not np.array_equal(twin.get_weights()[0], model.get_weights()[0])
    with pytest.raises(ValueError, match="only supported for Sequential models or Functional"):
        gn.models.clone_model(model, clone_function=lambda layer: layer)


@pytest.mark.parametrize("with_input", [True, False])
def test_a_sequential_layers_outputs_extract_features_as_in_keras(with_input, rng):
    """Keras' recipe: Model(model.inputs, [layer.output for layer in model.layers])."""
    stack = [layers.Dense(5, activation="relu", name="h1"), layers.Dense(3, name="h2"),
             layers.Dense(1, name="out")]
    model = gn.Sequential(([layers.Input(shape=(4,))] if with_input else []) + stack)
    if not with_input:
        model.build((None, 4))
    extractor = gn.Model(inputs=model.inputs, outputs=model.get_layer("h2").output)
    x = rng.standard_normal((6, 4)).astype("float32")
    hidden = model.get_layer("h2")(model.get_layer("h1")(x))
    np.testing.assert_allclose(extractor.predict(x, verbose=0), hidden, rtol=1e-6)
    assert model.get_layer("h1").input is model.input
    assert model.get_layer("out").output is model.output


@pytest.mark.parametrize("seq", [True, False])
def test_to_json_and_model_from_json(seq, tmp_path, rng):
    model = _both(gn, seq)
    text = model.to_json(indent=2)
    twin = gn.models.model_from_json(text, custom_objects={})
    assert type(twin) is type(model) and twin.get_config() == model.get_config()
    gn.models.save_model(model, tmp_path / "m.glassnet")
    x = ([rng.standard_normal((3, 3)) for _ in range(2)] if not seq
         else rng.standard_normal((3, 5)))
    np.testing.assert_array_equal(gn.load_model(tmp_path / "m.glassnet").predict(x, verbose=0),
                                  model.predict(x, verbose=0))
    with pytest.raises(ValueError, match="not a model"):
        gn.models.model_from_json(json.dumps(layers.serialize(layers.Dense(2))))
    with pytest.raises(ValueError, match="model_from_json"):
        gn.models.model_from_json("{not json")
    layer = layers.deserialize(layers.serialize(layers.Dense(3, activation="relu", name="d")))
    assert isinstance(layer, layers.Dense) and layer.get_config()["activation"] == "relu"


def test_summary_layer_range_and_bad_arguments_as_keras(keras):
    tables = [_table(_both(lib, seq=False), layer_range=["shared", "hid.*"])
              for lib in (gn, keras)]
    assert tables[0] == tables[1] and len(tables[0][0]) == 4      # header + 3 layers
    with pytest.raises(ValueError, match="layer_range"):
        _both(gn, seq=True).summary(layer_range=["d1"])
    with pytest.raises(ValueError, match="Insufficient console width"):
        _both(gn, seq=True).summary(line_length=6)

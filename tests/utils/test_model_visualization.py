"""plot_model: a valid image file, every layer of a branching model drawn, Keras' arguments."""

from __future__ import annotations

import struct

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers
from glassnet.utils import plot_model
from glassnet.utils.model_graph import model_graph


def _branching_model():
    """Two inputs, a branch that skips a layer (residual), a concatenation."""
    a = layers.Input(shape=(8,), name="a")
    b = layers.Input(shape=(3,), name="b")
    h = layers.Dense(8, activation="relu", name="trunk")(a)
    side = layers.Dense(8, name="side")(layers.Dense(8, activation="tanh", name="deep")(h))
    merged = layers.Add(name="residual")([h, side])
    joined = layers.Concatenate(name="join")([merged, b])
    return gn.Model([a, b], layers.Dense(1, activation="sigmoid", name="head")(joined))


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _box_texts(figure) -> list[str]:
    return [text.get_text() for text in figure.axes[0].texts if text.get_text()]


def test_writes_a_png_with_a_box_for_every_layer(tmp_path):
    model = _branching_model()
    path = tmp_path / "model.png"
    figure = plot_model(model, to_file=path, show_shapes=True, dpi=50)
    width, height = _png_size(path)
    expected = figure.get_size_inches() * 50
    assert (width, height) == (round(expected[0]), round(expected[1]))
    import matplotlib.image
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[:2] == (height, width) and np.ptp(pixels) > 0   # decodes, not blank
    texts = _box_texts(figure)
    names = ["a", "b", "trunk", "deep", "side", "residual", "join", "head"]
    assert sorted(text.splitlines()[0] for text in texts) == sorted(
        f"{layer.name} ({type(layer).__name__})"
        for layer in model.layers)                  # InputLayers included, as Keras
    assert len(texts) == len(names)
    head = next(text for text in texts if text.startswith("head"))
    assert "Input shape: (None, 11)" in head and "Output shape: (None, 1)" in head


def test_the_graph_has_the_models_connections_and_routes_skips_around():
    graph = model_graph(_branching_model())
    assert set(graph.edges) == {("a", "trunk"), ("trunk", "deep"), ("deep", "side"),
                                ("trunk", "residual"), ("side", "residual"),
                                ("residual", "join"), ("b", "join"), ("join", "head")}
    ranks = {node.name: node.rank for node in graph.layers}
    assert all(ranks[target] > ranks[source] for source, target in graph.edges)
    # trunk -> residual skips the ranks of deep and side: one waypoint in each
    assert len(graph.routes[("trunk", "residual")]) == 2
    for rank in set(ranks.values()):     # no two boxes (or waypoints) share a place
        positions = [node.position for node in graph.nodes if node.rank == rank]
        assert len(set(positions)) == len(positions)


def test_sequential_left_to_right_without_names_or_suffix(tmp_path):
    model = gn.Sequential([layers.Input(shape=(4,)), layers.Dense(3, activation="relu"),
                           layers.Dropout(0.1), layers.Dense(1)])
    path = tmp_path / "plain"
    figure = plot_model(model, to_file=path, show_layer_names=False, rankdir="LR",
                        show_dtype=True, show_layer_activations=True, show_trainable=True,
                        dpi=40)
    _png_size(path)   # PNG without a suffix, as Keras
    texts = _box_texts(figure)
    assert [text.splitlines()[0] for text in texts] == ["Dense", "Dropout", "Dense"]
    assert "Activation: relu" in texts[0] and "dtype: float32" in texts[0]
    assert all("Trainable" in text for text in texts)
    assert model_graph(model).edges == [(model.layers[0].name, model.layers[1].name),
                                        (model.layers[1].name, model.layers[2].name)]


def test_other_formats_follow_the_suffix(tmp_path):
    model = gn.Sequential([layers.Input(shape=(2,)), layers.Dense(1)])
    plot_model(model, to_file=tmp_path / "m.svg")
    assert (tmp_path / "m.svg").read_text().lstrip().startswith("<?xml")


def test_bad_arguments_are_named():
    model = gn.Sequential([layers.Input(shape=(2,)), layers.Dense(1)])
    with pytest.raises(ValueError, match="rankdir"):
        plot_model(model, rankdir="BT")
    with pytest.raises(TypeError, match="colour"):
        plot_model(model, colour="red")


def test_a_subclassed_model_is_one_box_and_an_unbuilt_model_is_refused(tmp_path):
    class TwoLayers(gn.Model):
        def __init__(self):
            super().__init__(name="two_layers")
            self.hidden, self.out = layers.Dense(3), layers.Dense(1)

        def call(self, x):
            return self.out(self.hidden(x))

    model = TwoLayers()
    with pytest.raises(ValueError, match="not built"):
        plot_model(model, to_file=tmp_path / "m.png")
    model(np.zeros((2, 4), "float32"))
    figure = plot_model(model, to_file=tmp_path / "m.png")
    assert _box_texts(figure) == ["two_layers (TwoLayers)"]

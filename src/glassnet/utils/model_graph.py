"""A model's layer graph, laid out in ranks: what `plot_model` draws (no drawing here).

The graph comes from the model's own config, the form Keras saves: a Sequential model is a
chain of its layers; a functional model lists, for every layer, the layers each of its calls
read ("inbound_nodes"), so edges are (source layer, layer), once per pair.

Layout, the layered (Sugiyama) way in two steps:

1. rank: each layer one below its lowest-placed source, rank(v) = 1 + max rank(u) over the
   edges u -> v (inputs at rank 0), so every edge points down; an edge that skips ranks (a
   residual connection) gets a waypoint in each rank it crosses, so it is routed around the
   boxes in between instead of through them;
2. order within a rank: by the mean position of the layer's sources (the barycentre), which
   keeps branches apart and avoids most crossings; ties keep the model's order.

    >>> graph = model_graph(model)
    >>> [node.name for node in graph.nodes], graph.edges
    (['input', 'dense', 'dense_1'], [('input', 'dense'), ('dense', 'dense_1')])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class LayerNode:
    """One box of the drawing: a layer and where it goes (rank down, position across)."""

    name: str
    class_name: str
    layer: Any = None           # the layer object, for its shapes, dtype and activation
    rank: int = 0
    position: float = 0.0
    waypoint: bool = False      # a bend of a long edge, not a layer


@dataclass
class ModelGraph:
    """nodes: the layers (and waypoints); edges: (source, target) layer names; routes: the
    waypoints each edge passes, in order (empty for an edge between adjacent ranks)."""

    nodes: list[LayerNode] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)
    routes: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def node(self, name: str) -> LayerNode:
        return next(node for node in self.nodes if node.name == name)

    @property
    def layers(self) -> list[LayerNode]:
        return [node for node in self.nodes if not node.waypoint]


def model_graph(model) -> ModelGraph:
    """The layers of a Sequential or functional model and the edges between them, laid out.

    A subclassed model (its own `call`) has no graph to read: it is one box, as in Keras.
    """
    from glassnet.models.functional import Functional
    from glassnet.models.sequential import Sequential

    if not getattr(model, "built", False):
        raise ValueError(f"model: {model.name!r} is not built yet; call it on data or "
                         "give its first layer an input shape before drawing it")
    graph = ModelGraph()
    if not isinstance(model, (Functional, Sequential)):
        graph.nodes.append(LayerNode(model.name, type(model).__name__, model))
        return graph
    layers = _layers_by_name(model)
    entries = model.get_config().get("layers") or [] if isinstance(model, Functional) else []
    if entries:                                     # functional: the calls name their sources
        for entry in entries:
            name = entry["name"]
            graph.nodes.append(LayerNode(name, entry["class_name"], layers.get(name)))
            for call in entry["inbound_nodes"]:
                for source, *_ in call:
                    if (source, name) not in graph.edges:
                        graph.edges.append((source, name))
    else:                                           # Sequential: a chain
        for layer in model.layers:
            graph.nodes.append(LayerNode(layer.name, type(layer).__name__, layer))
        graph.edges = [(a.name, b.name) for a, b in zip(graph.nodes, graph.nodes[1:])]
    if not graph.nodes:
        raise ValueError(f"model: {model.name!r} has no layers to draw")
    _rank(graph)
    _add_waypoints(graph)
    _order(graph)
    return graph


def _layers_by_name(model) -> dict[str, Any]:
    found = {tensor.layer.name: tensor.layer for tensor in getattr(model, "inputs", None) or []
             if getattr(tensor, "layer", None) is not None}
    found.update({layer.name: layer for layer in model.layers})
    return found


def _rank(graph: ModelGraph) -> None:
    """rank(v) = 1 + max rank of v's sources; the config lists sources first (topological)."""
    sources = {node.name: [a for a, b in graph.edges if b == node.name] for node in graph.nodes}
    ranks: dict[str, int] = {}
    for node in graph.nodes:
        ranks[node.name] = 1 + max((ranks[s] for s in sources[node.name] if s in ranks),
                                   default=-1)
        node.rank = ranks[node.name]


def _add_waypoints(graph: ModelGraph) -> None:
    """One waypoint node in every rank an edge skips over."""
    ranks = {node.name: node.rank for node in graph.nodes}
    for source, target in graph.edges:
        route = []
        for rank in range(ranks[source] + 1, ranks[target]):
            route.append(f"{source}->{target}@{rank}")
            graph.nodes.append(LayerNode(route[-1], "", rank=rank, waypoint=True))
        graph.routes[(source, target)] = route


def _order(graph: ModelGraph) -> None:
    """Positions across each rank, centred on 0, ordered by the sources' mean position."""
    placed: dict[str, float] = {}
    segments = [pair for (source, target), route in graph.routes.items()
                for pair in zip([source, *route], [*route, target])]
    for rank in range(max(node.rank for node in graph.nodes) + 1):
        row = [node for node in graph.nodes if node.rank == rank]

        def barycentre(item: tuple[int, LayerNode]) -> tuple[float, int]:
            index, node = item
            above = [placed[a] for a, b in segments if b == node.name and a in placed]
            return (sum(above) / len(above) if above else float(index), index)

        row = [node for _, node in sorted(enumerate(row), key=barycentre)]
        for index, node in enumerate(row):
            node.position = index - (len(row) - 1) / 2
            placed[node.name] = node.position

"""`layers.serialize(layer)` and `layers.deserialize(config)`, Keras' names for a layer's
{'class_name', 'config'} and back (a new layer, new weights once built)."""

from __future__ import annotations

from typing import Any

from glassnet import registry


def serialize(layer) -> dict[str, Any]:
    """{'class_name': ..., 'config': layer.get_config()}."""
    return registry.serialize(layer)


def deserialize(config, custom_objects: dict[str, Any] | None = None):
    """The layer a {'class_name', 'config'} dict (or a class name) describes."""
    return registry.deserialize("layer", config, custom_objects)


__all__ = ["deserialize", "serialize"]

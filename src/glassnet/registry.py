"""Names to classes, for `get("relu")`-style look-ups and for loading saved models.

A saved model names its classes as strings. Loading resolves each string here, in a table
of glassnet's own classes plus those the user registers or passes as `custom_objects`; it
never imports a module or evaluates anything named in a file.
"""

from __future__ import annotations

import inspect
from typing import Any

# kind ("layer", "loss", "optimizer", ...) -> {name: class or function}
_TABLES: dict[str, dict[str, Any]] = {}


def register(kind: str, *names: str):
    """Class decorator: make `cls` loadable under its class name and any extra `names`."""

    def decorator(obj):
        table = _TABLES.setdefault(kind, {})
        for name in (obj.__name__, *names):
            table[name] = obj
        return obj

    return decorator


def register_serializable(obj=None, *, kind: str = "layer"):
    """Public decorator for user classes (custom layers, losses...) so models using them load."""
    if obj is None:
        return lambda cls: register(kind)(cls)
    return register(kind)(obj)


def table(kind: str) -> dict[str, Any]:
    return _TABLES.setdefault(kind, {})


def lookup(kind: str, name: str, custom_objects: dict[str, Any] | None = None) -> Any:
    """The class or function registered as `name`, else ValueError listing the valid names."""
    if not isinstance(name, str):
        raise TypeError(f"{kind}: expected a name (str), got {type(name).__name__}")
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    entries = table(kind)
    if name in entries:
        return entries[name]
    valid = ", ".join(sorted(entries))
    raise ValueError(f"unknown {kind} {name!r}; valid names: {valid}")


def serialize(obj) -> dict[str, Any]:
    """{'class_name': ..., 'config': ...}, the form Keras uses in saved configs."""
    return {"class_name": type(obj).__name__, "config": obj.get_config()}


def deserialize(kind: str, spec: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """An object from a name or a {'class_name', 'config'} dict (as written by `serialize`)."""
    if isinstance(spec, str):
        entry = lookup(kind, spec, custom_objects)
        return entry() if isinstance(entry, type) else entry
    if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str):
        raise ValueError(
            f"{kind}: expected a name or a {{'class_name', 'config'}} dict, got {spec!r}"
        )
    config = spec.get("config") or {}
    if not isinstance(config, dict):
        raise ValueError(f"{kind} {spec['class_name']!r}: 'config' must be a dict, got {config!r}")
    cls = lookup(kind, spec["class_name"], custom_objects)
    if "custom_objects" in inspect.signature(cls.from_config).parameters:
        return cls.from_config(config, custom_objects=custom_objects)  # it names others
    return cls.from_config(config)

"""Layers: each file holds one family, with forward and backward side by side."""

from glassnet.layers.base import Layer, Parameter

__all__ = ["Layer", "Parameter"]

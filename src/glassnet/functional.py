"""`glassnet.functional`: the functional model's home is now `glassnet.models.functional`."""

from glassnet.models.functional import Functional, MultiInputBatch

__all__ = ["Functional", "MultiInputBatch"]

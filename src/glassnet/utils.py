"""Small public helpers, under the names Keras users look for."""

from __future__ import annotations

from glassnet.preprocessing import to_categorical
from glassnet.random import set_random_seed
from glassnet.training.data.pydataset import PyDataset, Sequence

__all__ = ["PyDataset", "Sequence", "set_random_seed", "to_categorical"]

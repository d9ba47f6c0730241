"""Embedding: integer ids -> rows of a trainable table."""

from __future__ import annotations

import numpy as np

from glassnet import constraints, regularizers
from glassnet.backend import namespace
from glassnet.layers.base import (
    Layer,
    require_forward_state,
    serialize_initializer,
    serialize_optional,
)
from glassnet.registry import register


@register("layer")
class Embedding(Layer):
    """Look-up y[n, t] = E[ids[n, t]]: a Dense layer on one-hot inputs, without the one-hots.

    Shapes: ids (N, ...) integers in [0, input_dim) -> y (N, ..., output_dim);
    embeddings E (input_dim, output_dim). Init: U(-0.05, 0.05) ("uniform", as Keras).

    Backward: dL/dE[k] = Σ over positions holding id k of dL/dy there (a scatter-add).
    Ids are not differentiable, so `backward` returns None (nothing flows to earlier layers).

    Args:
        input_dim: vocabulary size (largest id + 1).
        output_dim: size D of each embedding vector.
        embeddings_initializer, embeddings_regularizer, embeddings_constraint: as in Keras.
        mask_zero: id 0 is padding: `compute_mask(ids)` gives ids != 0 for the next layer
            (then id 0 cannot stand for a word, so input_dim should be vocabulary + 1).

    Example:
        >>> layer = Embedding(10, 4)
        >>> layer(np.array([[1, 2, 0]])).shape
        (1, 3, 4)
    """

    differentiable_input = False         # ids: backward returns None

    @classmethod
    def contract_sample(cls, rng):
        return {"input_dim": 5, "output_dim": 3}, rng.integers(0, 5, size=(3, 4))

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None,
                 mask_zero: bool = False, **kwargs):
        super().__init__(**kwargs)
        for argument, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"Embedding: {argument} must be a positive integer, "
                                 f"got {value!r}")
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        self.embeddings_initializer = embeddings_initializer
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)

    def build(self, input_shape):
        self.embeddings = self.add_weight((self.input_dim, self.output_dim),
                                          self.embeddings_initializer, name="embeddings",
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def compute_mask(self, x, mask=None):
        """ids != 0 (same shape as the ids) when mask_zero, else None."""
        return namespace(x).asarray(x) != 0 if self.mask_zero else None

    def _check_ids(self, x):
        """Integer ids in [0, input_dim); float arrays holding whole numbers are accepted
        (fit and predict cast inputs to floatx)."""
        xp = namespace(x)
        x = xp.asarray(x)
        if np.issubdtype(x.dtype, np.floating):
            if not bool(xp.all(x == xp.floor(x))):
                raise ValueError(f"Embedding {self.name!r}: expected integer ids, got "
                                 f"non-integer values of dtype {x.dtype}")
            x = x.astype(np.intp)
        elif not np.issubdtype(x.dtype, np.integer):
            raise ValueError(f"Embedding {self.name!r}: expected integer ids, got dtype "
                             f"{x.dtype}")
        if x.size and (int(x.min()) < 0 or int(x.max()) >= self.input_dim):
            raise ValueError(f"Embedding {self.name!r}: ids must be in [0, input_dim) = "
                             f"[0, {self.input_dim}), got values in "
                             f"[{int(x.min())}, {int(x.max())}]")
        return x

    def forward(self, x, training=False):
        ids = self._check_ids(x)
        self._ids = self.keep(ids)                    # for the scatter in backward
        return self.embeddings.value[ids]             # (N, ...) -> (N, ..., D)

    def backward(self, dy, input_gradient: bool = True):
        """dL/dy (N, ..., D) -> None; adds each position's dy into its id's row of dL/dE."""
        require_forward_state(self, getattr(self, "_ids", None))
        if self.trainable:
            ids = self._ids.reshape(-1)
            rows = dy.reshape(-1, self.output_dim)    # (N·..., D)
            np.add.at(self.embeddings.grad, ids, rows)  # repeated ids add up (no overwrite)
        return None

    def get_config(self):
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": serialize_initializer(self.embeddings_initializer),
            "embeddings_regularizer": serialize_optional(self.embeddings_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
        }


__all__ = ["Embedding"]

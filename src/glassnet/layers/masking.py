"""Masks: Masking makes one from the data, PassesMask and Identity hand one on unchanged.

A mask is a (N, T) bool array, True where a time step holds data; a model hands it from the
layer that makes it (Masking, or Embedding with mask_zero) to the next layers that take
`mask=` (the recurrent ones skip masked steps). Layers that change no step, such as the
noise layers, take it and give it on (`PassesMask`), as Keras' `supports_masking` does.
"""

from __future__ import annotations

from glassnet import checks
from glassnet.backend import namespace
from glassnet.layers.base import Layer, require_forward_state
from glassnet.registry import register


class PassesMask:
    """Mixin for a layer that leaves the steps where they are: it accepts the mask the
    previous layer made (`forward(x, mask=...)`, which it may ignore) and hands the same
    mask to the next layer."""

    supports_masking = True

    def compute_mask(self, x, mask=None):
        return mask


@register("layer")
class Masking(Layer):
    """Skip time steps whose features all equal `mask_value` (Keras `layers.Masking`).

        keep[n, t] = any_f(x[n, t, f] != mask_value)          the mask handed on
        y[n, t, f] = x[n, t, f] · keep[n, t]                  masked steps become 0

    backward: dL/dx = dL/dy · keep (no gradient flows into a masked step; the mask itself
    is piecewise constant, so it adds nothing).

    Shapes: x (N, T, F) -> y (N, T, F); mask (N, T). Any rank works: the mask covers every
    axis but the last.

    Args:
        mask_value: the value that marks padding (default 0.0).

    Example:
        >>> model = Sequential([Input(shape=(10, 8)), Masking(0.0), LSTM(32)])
        >>> # steps of x that are all zeros are skipped by the LSTM
    """

    supports_masking = True

    @classmethod
    def contract_sample(cls, rng):
        # No step equals the mask value: at a masked step y = 0 jumps to y = x as soon as one
        # feature moves, and central differences would see that jump (tests/layers/
        # test_masking.py checks masked steps).
        return {"mask_value": 0.0}, rng.standard_normal((2, 3, 4))        # (N, T, F)

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = checks.number("Masking: mask_value", mask_value, finite=False)

    def _keep(self, x):
        """(N, ..., 1) bool: True where some feature differs from mask_value."""
        return namespace(x).any(x != self.mask_value, axis=-1, keepdims=True)

    def compute_mask(self, x, mask=None):
        """(N, T) bool: the mask for the next layer (the incoming mask is replaced)."""
        return self._keep(x)[..., 0]

    def forward(self, x, training=False, mask=None):
        keep = self._keep(x)
        self._keep_mask = self.keep(keep)
        return x * keep.astype(x.dtype)

    def backward(self, dy, input_gradient: bool = True):
        """dL/dy (N, T, F) -> dL/dx (N, T, F): zero at masked steps."""
        keep = getattr(self, "_keep_mask", None)
        require_forward_state(self, keep)
        return dy * keep.astype(dy.dtype)

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}


@register("layer")
class Identity(PassesMask, Layer):
    """y = x; dL/dx = dL/dy. A placeholder where no operation is wanted (Keras
    `layers.Identity`); a mask passes through it."""

    def forward(self, x, training=False, mask=None):
        return x

    def backward(self, dy, input_gradient: bool = True):
        return dy

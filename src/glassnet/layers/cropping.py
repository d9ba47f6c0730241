"""Borders of sequences and images: Cropping1D, Cropping2D and ZeroPadding1D (channels_last).

Cropping and zero padding are each other's backward: cropping drops rows at the borders,
so their gradient is zero and backward pads dy back with zeros; padding adds constant zeros,
so backward crops dy to the interior. (ZeroPadding2D lives in layers/reshaping.py.)
"""

from __future__ import annotations

from glassnet.layers import _windows
from glassnet.layers.base import Layer
from glassnet.registry import register


def border_pair(value, name: str, layer: str) -> tuple[int, int]:
    """An int n -> (n, n); a pair (before, after) kept; each a non-negative int."""
    values = (value, value) if isinstance(value, int) else value
    try:
        before, after = values
    except (TypeError, ValueError):
        before = after = None
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
               for v in (before, after)):
        raise ValueError(f"{layer}: {name} must be a non-negative int or a pair (before, "
                         f"after) of non-negative ints, got {value!r}")
    return before, after


def _cropped_size(layer, size, pair, axis_name: str):
    """size - before - after along one axis (None stays None); ValueError if nothing is left."""
    if size is None:
        return None
    if sum(pair) >= size:
        raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}): cropping {pair} "
                         f"leaves nothing of the {axis_name} axis of size {size}")
    return size - sum(pair)


@register("layer")
class Cropping1D(Layer):
    """Drop steps at both ends of a sequence: (N, T, C) -> (N, T - before - after, C).

        y[n, t, c] = x[n, before + t, c]
        dL/dx = dL/dy with `before` and `after` zero steps put back

    Args:
        cropping: int (both ends) or (before, after); default (1, 1).

    Example:
        >>> Cropping1D((1, 2))(np.ones((2, 6, 3), dtype="float32")).shape
        (2, 3, 3)
    """

    @classmethod
    def contract_sample(cls, rng):
        return {}, rng.standard_normal((2, 5, 3))                        # (N, T, C)

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = border_pair(cropping, "cropping", "Cropping1D")

    def compute_output_shape(self, input_shape):
        _windows.check_input_rank(self, input_shape, 1)
        n, steps, channels = input_shape
        return n, _cropped_size(self, steps, self.cropping, "steps"), channels

    def forward(self, x, training=False):
        _, steps, _ = self.compute_output_shape(x.shape)
        return _windows.crop(x, (self.cropping,), (steps,))

    def backward(self, dy, input_gradient: bool = True):
        """dL/dy (N, T', C) -> dL/dx (N, T, C): zeros at the cropped steps."""
        return _windows.pad(dy, (self.cropping,))

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping}


def _cropping_pairs(cropping) -> tuple[tuple[int, int], tuple[int, int]]:
    """Keras forms: int c -> ((c, c), (c, c)); (ch, cw) -> ((ch, ch), (cw, cw)); pairs kept
    (each of the two entries may be an int or a pair)."""
    if isinstance(cropping, int) and not isinstance(cropping, bool):
        cropping = (cropping, cropping)
    try:
        height, width = cropping
    except (TypeError, ValueError):
        raise ValueError("Cropping2D: cropping must be an int, (crop_h, crop_w) or "
                         f"((top, bottom), (left, right)), got {cropping!r}") from None
    return (border_pair(height, "cropping[0]", "Cropping2D"),
            border_pair(width, "cropping[1]", "Cropping2D"))


@register("layer")
class Cropping2D(Layer):
    """Drop rows and columns at the image's borders (Keras `layers.Cropping2D`).

        y[n, i, j, c] = x[n, top + i, left + j, c]
        dL/dx = dL/dy padded back with zeros (top, bottom, left, right)

    Shapes: (N, H, W, C) -> (N, H - top - bottom, W - left - right, C).

    Args:
        cropping: int, (crop_h, crop_w) (symmetric) or ((top, bottom), (left, right));
            default ((0, 0), (0, 0)).
        data_format: None or "channels_last".

    Example:
        >>> Cropping2D(((2, 2), (4, 4)))(np.ones((2, 28, 28, 3), dtype="float32")).shape
        (2, 24, 20, 3)
    """

    @classmethod
    def contract_sample(cls, rng):
        return {"cropping": ((1, 0), (0, 2))}, rng.standard_normal((2, 4, 5, 2))

    def __init__(self, cropping=((0, 0), (0, 0)), data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = _cropping_pairs(cropping)
        self.data_format = _windows.check_data_format(data_format, "Cropping2D")

    def compute_output_shape(self, input_shape):
        _windows.check_input_rank(self, input_shape, 2)
        n, height, width, channels = input_shape
        return (n, _cropped_size(self, height, self.cropping[0], "height"),
                _cropped_size(self, width, self.cropping[1], "width"), channels)

    def forward(self, x, training=False):
        _, height, width, _ = self.compute_output_shape(x.shape)
        return _windows.crop(x, self.cropping, (height, width))

    def backward(self, dy, input_gradient: bool = True):
        """dL/dy (N, H', W', C) -> dL/dx (N, H, W, C): zeros where x was cropped."""
        return _windows.pad(dy, self.cropping)

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping,
                "data_format": self.data_format}


@register("layer")
class ZeroPadding1D(Layer):
    """Zeros at both ends of a sequence: (N, T, C) -> (N, before + T + after, C).

    backward crops dL/dy back to the T steps of x (the zeros are constants).

    Args:
        padding: int (both ends) or (before, after); default 1.
        data_format: None or "channels_last".

    Example:
        >>> ZeroPadding1D(2)(np.ones((2, 2, 3), dtype="float32")).shape
        (2, 6, 3)
    """

    @classmethod
    def contract_sample(cls, rng):
        return {"padding": (1, 2)}, rng.standard_normal((2, 3, 2))       # (N, T, C)

    def __init__(self, padding=1, data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.padding = border_pair(padding, "padding", "ZeroPadding1D")
        self.data_format = _windows.check_data_format(data_format, "ZeroPadding1D")

    def compute_output_shape(self, input_shape):
        _windows.check_input_rank(self, input_shape, 1)
        n, steps, channels = input_shape
        return n, None if steps is None else steps + sum(self.padding), channels

    def forward(self, x, training=False):
        _windows.check_input_rank(self, x.shape, 1)
        self._steps = x.shape[1]
        return _windows.pad(x, (self.padding,))

    def backward(self, dy, input_gradient: bool = True):
        """dL/dy (N, T + pads, C) -> dL/dx (N, T, C): the steps of x."""
        return _windows.crop(dy, (self.padding,), (self._steps,))

    def get_config(self):
        return {**super().get_config(), "padding": self.padding,
                "data_format": self.data_format}

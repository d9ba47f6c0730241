"""Layers that move pixels without weights: ZeroPadding2D and UpSampling2D (channels_last).

(Flatten and Reshape live in layers/core.py.)
"""

from __future__ import annotations

from glassnet.backend import namespace
from glassnet.layers import _windows
from glassnet.layers.base import Layer
from glassnet.registry import register


def _padding_pairs(padding) -> tuple[tuple[int, int], tuple[int, int]]:
    """Keras forms: int p -> ((p, p), (p, p)); (ph, pw) -> ((ph, ph), (pw, pw)); pairs kept."""
    try:
        if isinstance(padding, int):
            pairs = ((padding, padding), (padding, padding))
        elif all(isinstance(p, int) for p in padding):
            ph, pw = padding
            pairs = ((ph, ph), (pw, pw))
        else:
            (top, bottom), (left, right) = padding
            pairs = ((top, bottom), (left, right))
    except (TypeError, ValueError):
        pairs = None
    if pairs is None or not all(isinstance(p, int) and not isinstance(p, bool) and p >= 0
                                for pair in pairs for p in pair):
        raise ValueError("ZeroPadding2D: padding must be an int, (pad_h, pad_w) or "
                         f"((top, bottom), (left, right)) of non-negative ints, got {padding!r}")
    return pairs


@register("layer")
class ZeroPadding2D(Layer):
    """Zeros around the image: (N, H, W, C) -> (N, top + H + bottom, left + W + right, C).

    Backward crops the gradient back to the interior (the zeros are constants).

    Args:
        padding: int, (pad_h, pad_w) (symmetric) or ((top, bottom), (left, right)).
        data_format: None or "channels_last".

    Example:
        >>> ZeroPadding2D(((1, 2), (0, 1)))(np.ones((1, 4, 4, 3), dtype="float32")).shape
        (1, 7, 5, 3)
    """

    @classmethod
    def contract_sample(cls, rng):
        return {}, rng.standard_normal((2, 3, 3, 2))                     # (N, H, W, C)

    def __init__(self, padding=(1, 1), data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _padding_pairs(padding)
        self.data_format = _windows.check_data_format(data_format, "ZeroPadding2D")

    def compute_output_shape(self, input_shape):
        _windows.check_input_rank(self, input_shape, 2)
        n, height, width, channels = input_shape
        (top, bottom), (left, right) = self.padding
        return (n, None if height is None else top + height + bottom,
                None if width is None else left + width + right, channels)

    def forward(self, x, training=False):
        _windows.check_input_rank(self, x.shape, 2)
        self._spatial = x.shape[1:-1]
        return _windows.pad(x, self.padding)

    def backward(self, dy, input_gradient: bool = True):
        """dL/dy (N, H + pads, W + pads, C) -> dL/dx (N, H, W, C): the interior."""
        return _windows.crop(dy, self.padding, self._spatial)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding,
                "data_format": self.data_format}


@register("layer")
class UpSampling2D(Layer):
    """Nearest-neighbour upsampling: every pixel repeated size_h × size_w times.

    y[n, i, j, c] = x[n, i // s_h, j // s_w, c];  dL/dx[n, i, j, c] = Σ of dy over the block.

    Shapes: (N, H, W, C) -> (N, H·s_h, W·s_w, C).

    Args:
        size: int or (s_h, s_w); default (2, 2).
        data_format: None or "channels_last".
        interpolation: "nearest" (the only one supported so far).
    """

    @classmethod
    def contract_sample(cls, rng):
        return {}, rng.standard_normal((2, 3, 3, 2))                     # (N, H, W, C)

    def __init__(self, size=(2, 2), data_format: str | None = None,
                 interpolation: str = "nearest", **kwargs):
        super().__init__(**kwargs)
        self.size = _windows.normalize_tuple(size, 2, "size", "UpSampling2D")
        self.data_format = _windows.check_data_format(data_format, "UpSampling2D")
        if interpolation != "nearest":
            raise ValueError(f"UpSampling2D: interpolation={interpolation!r} is not supported "
                             "yet; only 'nearest' is")
        self.interpolation = interpolation

    def compute_output_shape(self, input_shape):
        _windows.check_input_rank(self, input_shape, 2)
        n, height, width, channels = input_shape
        sh, sw = self.size
        return (n, None if height is None else height * sh,
                None if width is None else width * sw, channels)

    def forward(self, x, training=False):
        _windows.check_input_rank(self, x.shape, 2)
        n, height, width, channels = x.shape
        sh, sw = self.size
        # broadcast each pixel over an (s_h, s_w) block, then one copy into the image
        blocks = namespace(x).broadcast_to(x[:, :, None, :, None, :],
                                           (n, height, sh, width, sw, channels))
        return blocks.reshape(n, height * sh, width * sw, channels)

    def backward(self, dy, input_gradient: bool = True):
        """dL/dy (N, H·s_h, W·s_w, C) -> dL/dx (N, H, W, C): sum over each block."""
        n, height, width, channels = dy.shape
        sh, sw = self.size
        return dy.reshape(n, height // sh, sh, width // sw, sw, channels).sum(axis=(2, 4))

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation}

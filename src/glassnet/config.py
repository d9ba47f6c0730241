"""Global settings: the default float dtype and the fuzz factor epsilon (Keras names).

    >>> import glassnet as gn
    >>> gn.config.floatx()
    'float32'
    >>> gn.config.set_floatx("float64")   # every layer built after this uses float64
"""

from __future__ import annotations

_FLOAT_DTYPES = ("float16", "float32", "float64")
_settings = {"floatx": "float32", "epsilon": 1e-7, "fusion": True}


def floatx() -> str:
    """The default float dtype of weights and of inputs cast by `fit`/`predict`."""
    return _settings["floatx"]


def set_floatx(value: str) -> None:
    """Set the default float dtype: 'float32' (the default) or 'float64'."""
    value = str(value)
    if value not in _FLOAT_DTYPES:
        raise ValueError(f"set_floatx: expected one of {_FLOAT_DTYPES}, got {value!r}")
    _settings["floatx"] = value


def epsilon() -> float:
    """The small constant added to denominators (Keras default 1e-7)."""
    return _settings["epsilon"]


def set_epsilon(value: float) -> None:
    if not value > 0:
        raise ValueError(f"set_epsilon: expected a positive float, got {value!r}")
    _settings["epsilon"] = float(value)


def fusion() -> bool:
    """Whether models run their compiled fusion plan (see `glassnet.models.fusion`)."""
    return _settings["fusion"]


def set_fusion(enabled: bool) -> None:
    """Turn the exact layer fusions `compile` plans on (the default) or off; glassnet's own
    setting, Keras has none. Off, every layer runs on its own (checked at each forward)."""
    if not isinstance(enabled, bool):
        raise TypeError(f"set_fusion: expected True or False, got {enabled!r}")
    _settings["fusion"] = enabled


def standardize_dtype(dtype) -> str:
    """Name of a float dtype ('float32'), from None (the default), a string or a NumPy dtype."""
    if dtype is None:
        return floatx()
    import numpy as np

    try:
        name = np.dtype(dtype).name
    except TypeError as error:
        raise TypeError(f"dtype: expected one of {_FLOAT_DTYPES}, got {dtype!r}") from error
    if name not in _FLOAT_DTYPES:
        raise TypeError(f"dtype: expected one of {_FLOAT_DTYPES}, got {name!r}")
    return name


def backend() -> str:
    """The name of the array library underneath: "numpy" (as `keras.config.backend()`)."""
    return "numpy"


def image_data_format() -> str:
    """"channels_last": images are (N, H, W, C) unless a layer is given data_format."""
    return "channels_last"

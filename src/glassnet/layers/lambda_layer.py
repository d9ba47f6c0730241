"""Lambda: a layer around a function written with glassnet.ops (Keras `layers.Lambda`)."""

from __future__ import annotations

from typing import Any

from glassnet.layers.base import Layer


class Lambda(Layer):
    """y = function(x, **arguments), differentiated through the ops the function calls.

    Write the function with `glassnet.ops` (Keras asks for `keras.ops` the same way): then it
    runs on arrays, on the tape of a training step (its backward is the ops' vector-Jacobian
    products) and on the symbolic tensors of the functional API (which give the output
    shape).

    Args:
        function: a callable of the input (a tensor, or a list of tensors).
        output_shape: accepted for Keras' signature; the shape comes from running `function`.
        mask: None (the input's mask is handed on, as Keras' `supports_masking`), a callable
            `mask(inputs, previous_mask) -> mask`, or a fixed mask.
        arguments: keyword arguments for `function`.

    A Lambda layer is not saved: its function is code, and glassnet's files hold none
    (Keras loads one only with safe_mode=False). Write a Layer subclass to save it.

    Example:
        >>> scaled = layers.Lambda(lambda x: ops.tanh(x) * 2.0)(inputs)
    """

    supports_masking = True

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda: function must be callable, got {function!r}")
        if arguments is not None and not isinstance(arguments, dict):
            raise TypeError(f"Lambda: arguments must be a dict or None, got {arguments!r}")
        self.function = function
        self.output_shape_arg = output_shape
        self.mask = mask
        self.arguments = dict(arguments or {})

    def call(self, inputs):
        return self.function(inputs, **self.arguments)

    def compute_mask(self, inputs, mask=None):
        if callable(self.mask):
            return self.mask(inputs, mask)
        return mask if self.mask is None else self.mask

    def get_config(self) -> dict[str, Any]:
        raise TypeError(f"Lambda layer {self.name!r}: its Python function cannot be saved "
                        f"(glassnet files hold no code); write a Layer subclass with call() "
                        f"and get_config() instead")


__all__ = ["Lambda"]

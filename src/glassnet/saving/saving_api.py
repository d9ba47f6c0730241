"""`glassnet.load_model` / `glassnet.saving.load_model`: the format follows the extension.

    .glassnet       glassnet's own format, with the whole training state (model_file.py)
    .keras          Keras 3's model file (keras_file.py)

    >>> model = glassnet.saving.load_model("from_keras.keras")

Saving picks the format the same way through the model's methods: `model.save("x.keras")`,
`model.save_weights("w.weights.h5")` write Keras' formats, other paths glassnet's.
(`glassnet.saving.save_model` and `save_weights` write glassnet's formats only, as before.)
"""

from __future__ import annotations

import os
from typing import Any

from glassnet.saving import keras_file, model_file


def load_model(filepath: str | os.PathLike, custom_objects: dict[str, Any] | None = None,
               compile: bool = True, safe_mode: bool = True):
    """The model saved in `filepath`: a `.keras` file (Keras 3) or a `.glassnet` file.

    Args:
        filepath: the file.
        custom_objects: {name: class} for your own registered classes in `.glassnet` files.
            A `.keras` file is read with glassnet's built-in layers only (a custom class in
            it is an error), so custom_objects must be empty then.
        compile: compile with the saved optimizer, loss and metrics, and restore the
            optimizer's state, so that `fit` continues.
        safe_mode: accepted for Keras compatibility; loading never runs code from a file.

    Raises:
        FileNotFoundError: no such file.
        ModelFileError (a ValueError): the file is not valid, or holds something glassnet
            lacks (the message names the file and the problem).
    """
    if keras_file.is_keras_file(filepath):
        if custom_objects:
            raise ValueError(f"load_model: custom_objects {sorted(custom_objects)} cannot be "
                             f"used with a .keras file: glassnet reads Keras files with its "
                             f"built-in layers only")
        return keras_file.load_model(filepath, compile=compile, safe_mode=safe_mode)
    return model_file.load_model(filepath, custom_objects=custom_objects, compile=compile,
                                 safe_mode=safe_mode)


__all__ = ["load_model"]

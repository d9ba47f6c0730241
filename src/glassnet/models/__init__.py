"""Models: `Model` (and `Model(inputs, outputs)`, a `Functional` graph), `Sequential`.

    model.py        Model: layers, parameters, compile, metrics, summary, files; the
                    training methods call `glassnet.training`
    sequential.py   Sequential: a plain stack of layers
    functional.py   Functional: any directed acyclic graph of layers
    summary.py      summary(): Keras 3's table of layers, shapes, parameter counts
    cloning.py      clone_model: the same architecture with new weights

`load_model` is `glassnet.saving.load_model`, here too as in `keras.models`.
"""

from glassnet.models.cloning import clone_model
from glassnet.models.functional import Functional
from glassnet.models.model import Model, model_from_json, save_model
from glassnet.models.sequential import Sequential

__all__ = ["Functional", "Model", "Sequential", "clone_model", "load_model", "model_from_json",
           "save_model"]


def __getattr__(name: str):
    if name == "load_model":   # saving reads model files into these classes: import it late
        from glassnet.saving import load_model

        return load_model
    raise AttributeError(f"module 'glassnet.models' has no attribute {name!r}")

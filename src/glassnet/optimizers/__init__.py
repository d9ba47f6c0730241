"""Optimizers: SGD, RMSprop, Adagrad, Adadelta, Adam, AdamW, Adamax, Nadam, Lion, Lamb, Ftrl,
Adafactor, with the Keras 3 update formulas.

An optimizer updates a list of `Parameter`s in place from their `.grad`:

    >>> from glassnet import optimizers
    >>> opt = optimizers.get("adam")             # or optimizers.Adam(learning_rate=1e-3)
    >>> opt.apply(model_parameters)              # one step; the model zeroes the grads after

Each step does, in Keras order:
    1. clip the gradients (at most one of clipnorm, clipvalue, global_clipnorm), in place;
    2. decoupled weight decay, w <- w - lr * weight_decay * w, when `weight_decay` is set;
    3. the optimizer's own update (`update_step`), in place with `out=` into preallocated
       slot buffers (created on the first `apply`, one per parameter, in its dtype);
    4. iterations += 1.

The learning rate is a float or a `schedules.LearningRateSchedule` evaluated at
`iterations` (0 at the first step). Scalars are cast to each weight's dtype, so float32
weights and slots stay float32.

Saving: `get_state()` returns every array needed to continue bitwise identically
({"iterations", "learning_rate", "<slot>/<index>"}), `set_state(state, params)` restores it;
`get_config()` / `from_config()` hold the hyper-parameters.

Layout: `base.py` the Optimizer class (the step, clipping, decay, state), one file per
optimizer, `schedules.py` the learning-rate schedules (also `glassnet.schedules`), this file
the look-up by name and (de)serialisation.
"""

from __future__ import annotations

from typing import Any

from glassnet import registry
from glassnet.optimizers import schedules
from glassnet.optimizers.adadelta import Adadelta
from glassnet.optimizers.adafactor import Adafactor
from glassnet.optimizers.adagrad import Adagrad
from glassnet.optimizers.adam import Adam
from glassnet.optimizers.adamax import Adamax
from glassnet.optimizers.adamw import AdamW
from glassnet.optimizers.base import UPDATE_BLOCK, Optimizer, Schedule
from glassnet.optimizers.ftrl import Ftrl
from glassnet.optimizers.lamb import Lamb
from glassnet.optimizers.lion import Lion
from glassnet.optimizers.nadam import Nadam
from glassnet.optimizers.rmsprop import RMSprop
from glassnet.optimizers.sgd import SGD

__all__ = [
    "SGD", "UPDATE_BLOCK", "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax",
    "Ftrl", "Lamb", "Lion", "Nadam", "Optimizer", "RMSprop", "Schedule",
    "deserialize", "get", "schedules", "serialize",
]


def get(identifier) -> Optimizer:
    """An optimizer from an instance (returned as is), a name ("adam", case-insensitive,
    with default hyper-parameters) or a {'class_name', 'config'} dict."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return registry.deserialize("optimizer", identifier)
    if isinstance(identifier, str):
        by_lower_name = {name.lower(): cls for name, cls in registry.table("optimizer").items()}
        if identifier.lower() not in by_lower_name:
            raise ValueError(
                f"unknown optimizer {identifier!r}; valid names: {', '.join(sorted(by_lower_name))}"
            )
        return by_lower_name[identifier.lower()]()
    raise TypeError(
        f"optimizer: expected an Optimizer, a name or a config dict, got {identifier!r}"
    )


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    return registry.serialize(optimizer)


def deserialize(config: dict[str, Any], custom_objects=None) -> Optimizer:
    return registry.deserialize("optimizer", config, custom_objects)

"""Dataset modules that can also be called: `datasets.mnist()` and `datasets.mnist.load_data()`.

Keras' datasets are modules with a `load_data` function (`keras.datasets.mnist.load_data()`);
glassnet's were functions (`glassnet.datasets.mnist()`). Both spellings work because each such
module's class is switched (Python allows assigning a module's `__class__`) to one whose call
runs the module's loader function.
"""

from __future__ import annotations

import inspect
import sys
import types


class CallableModule(types.ModuleType):
    """A module whose call runs the function `make_callable` gave it."""

    def __call__(self, *args, **kwargs):
        return self.__dict__["__glassnet_call__"](*args, **kwargs)


def make_callable(module_name: str, function) -> None:
    """Make the module `module_name` callable as `function` (with its signature, for help)."""
    module = sys.modules[module_name]
    module.__class__ = CallableModule
    module.__glassnet_call__ = function
    module.__signature__ = inspect.signature(function)

"""scikit-learn, imported when `glassnet.wrappers` is: its base classes, or stand-ins.

scikit-learn is an optional extra (`pip install "glassnet[sklearn]"`), never needed by
glassnet itself. Without it the wrapper classes still import (as in Keras), and creating
one raises a one-line ImportError with the install command.
"""

from __future__ import annotations

import contextlib

import numpy as np

from glassnet.random import global_generator, set_random_seed

try:
    import sklearn
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
    from sklearn.utils.multiclass import check_classification_targets, type_of_target
    from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data
except ImportError:          # the classes below let the module import; __init__ refuses
    sklearn = None

    class BaseEstimator:     # type: ignore[no-redef]
        pass

    class ClassifierMixin:   # type: ignore[no-redef]
        pass

    class RegressorMixin:    # type: ignore[no-redef]
        pass

    class TransformerMixin:  # type: ignore[no-redef]
        pass

    check_classification_targets = type_of_target = check_is_fitted = None
    check_random_state = validate_data = None


def require_sklearn(owner: str) -> None:
    """ImportError naming the install command when scikit-learn is missing."""
    if sklearn is None:
        raise ImportError(f"{owner} needs scikit-learn: pip install scikit-learn "
                          f'(or pip install "glassnet[sklearn]")')


@contextlib.contextmanager
def seeded(random_state):
    """Run the block with glassnet's generator seeded from `random_state` (an int or a
    numpy RandomState, as scikit-learn takes it), then put the generators back as they were:
    the fit is reproducible and the caller's own random stream is left untouched.
    None: the block draws from glassnet's global generator as it stands."""
    if random_state is None:
        yield
        return
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        seed = int(random_state)
    else:
        seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    saved = global_generator().bit_generator.state
    legacy = np.random.get_state()  # noqa: NPY002  (set_random_seed reseeds it too)
    set_random_seed(seed)
    try:
        yield
    finally:
        global_generator().bit_generator.state = saved
        np.random.set_state(legacy)  # noqa: NPY002


__all__ = ["BaseEstimator", "ClassifierMixin", "RegressorMixin", "TransformerMixin",
           "check_classification_targets", "check_is_fitted", "require_sklearn", "seeded",
           "sklearn", "type_of_target", "validate_data"]

"""glassnet: deep learning in plain NumPy that reads like a textbook and trains like a framework.

    import glassnet as gn
    from glassnet import layers

    model = gn.Sequential([layers.Input(shape=(256,)),
                           layers.Dense(30, activation="sigmoid"),
                           layers.Dense(10, activation="softmax")])
    model.compile(optimizer=gn.optimizers.SGD(learning_rate=0.5),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=500, batch_size=None, validation_split=0.2)
"""

__version__ = "0.1.0"

from glassnet import (  # noqa: E402  (the version is set before submodules import)
    activations,
    autodiff,
    callbacks,
    config,
    datasets,
    diagnostics,
    distribution,
    functional,
    gradcheck,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    preprocessing,
    random,
    regularizers,
    saving,
    schedules,
    utils,
)
from glassnet.initializers import Initializer  # noqa: E402
from glassnet.layers import Input, Layer  # noqa: E402
from glassnet.losses import Loss  # noqa: E402
from glassnet.metrics import Metric  # noqa: E402
from glassnet.models import Model, Sequential  # noqa: E402
from glassnet.optimizers import Optimizer  # noqa: E402
from glassnet.regularizers import Regularizer  # noqa: E402
from glassnet.saving import load_model  # noqa: E402

__all__ = [
    "Initializer", "Input", "Layer", "Loss", "Metric", "Model", "Optimizer", "Regularizer",
    "Sequential", "activations", "autodiff", "callbacks", "config",
    "datasets", "diagnostics", "distribution", "functional", "gradcheck", "initializers",
    "layers", "load_model", "losses", "export", "metrics", "models", "ops", "optimizers",
    "plot", "preprocessing", "random", "regularizers", "saving", "schedules", "utils",
    "wrappers",
]

# Imported on first use: matplotlib (plot), onnx (export) and scikit-learn (wrappers) are
# never needed to train, and each is an optional extra.
_LAZY = ("plot", "export", "wrappers")


def __getattr__(name: str):
    """`glassnet.plot`, `glassnet.export`, `glassnet.wrappers`: imported on first use."""
    if name in _LAZY:
        import importlib

        return importlib.import_module(f"glassnet.{name}")
    raise AttributeError(f"module 'glassnet' has no attribute {name!r}")

"""scikit-learn estimators around glassnet models, as Keras 3's `keras.wrappers`:

    from glassnet.wrappers import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer

scikit-learn is an optional extra (`pip install "glassnet[sklearn]"`); `import glassnet`
never imports it.
"""

from glassnet.wrappers.sklearn_wrapper import (
    SKLBase,
    SKLearnClassifier,
    SKLearnRegressor,
    SKLearnTransformer,
)

__all__ = ["SKLBase", "SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]

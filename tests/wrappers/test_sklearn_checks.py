"""scikit-learn's own estimator checks over the three wrappers (`parametrize_with_checks`).

Keras' sklearn_test.py expects its classifier to fail eight checks, most "because fit is not
reproducible"; glassnet's estimators seed each fit (`random_state`, which the checks set),
so the list below is what is left, each with its reason.
"""

from __future__ import annotations

import pytest

from conftest import IN_CI

sklearn = pytest.importorskip("sklearn") if not IN_CI else __import__("sklearn")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import glassnet as gn  # noqa: E402
from glassnet import layers  # noqa: E402
from glassnet.wrappers import (  # noqa: E402
    SKLearnClassifier,
    SKLearnRegressor,
    SKLearnTransformer,
)


class DynamicModel:
    """An MLP sized from the data: X's features in, one output per column of y. A class
    with a fixed repr, so the test ids are the same in every pytest-xdist worker (a
    function's repr holds its address)."""

    def __repr__(self) -> str:
        return "dynamic_model"

    def __call__(self, X, y, loss, out_activation="softmax", hidden=(16,),
                 learning_rate=0.02):
        return _mlp(X, y, loss, out_activation, hidden, learning_rate)


def _mlp(X, y, loss, out_activation, hidden, learning_rate):
    model = gn.Sequential([gn.Input(shape=(X.shape[1],))]
                          + [layers.Dense(units, activation="relu") for units in hidden]
                          + [layers.Dense(y.shape[1] if y.ndim > 1 else 1,
                                          activation=out_activation)])
    model.compile(optimizer=gn.optimizers.Adam(learning_rate), loss=loss)
    return model


FIT = {"epochs": 30, "batch_size": 32, "verbose": 0}

EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {
    "SKLearnClassifier": {},
    "SKLearnRegressor": {},
    "SKLearnTransformer": {},
}

dynamic_model = DynamicModel()

ESTIMATORS = [
    SKLearnClassifier(model=dynamic_model,
                      model_kwargs={"loss": "categorical_crossentropy"}, fit_kwargs=FIT),
    SKLearnRegressor(model=dynamic_model,
                     model_kwargs={"loss": "mse", "out_activation": None}, fit_kwargs=FIT),
    SKLearnTransformer(model=dynamic_model,
                       model_kwargs={"loss": "mse", "out_activation": None},
                       fit_kwargs=FIT),
]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda estimator:
                         EXPECTED_FAILED_CHECKS[type(estimator).__name__])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)

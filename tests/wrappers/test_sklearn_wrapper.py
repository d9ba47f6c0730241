"""The wrappers' own behaviour: Keras 3's API (model as a callable or a compiled model,
warm_start, model_kwargs, fit_kwargs, classes_, model_, history_), labels of any kind,
predict_proba, seeded fits; and a Pipeline + GridSearchCV on the Semeion digits."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from conftest import IN_CI, require_data

sklearn = pytest.importorskip("sklearn") if not IN_CI else __import__("sklearn")

from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import glassnet as gn  # noqa: E402
from glassnet import datasets, layers  # noqa: E402
from glassnet.random import global_generator, set_random_seed  # noqa: E402
from glassnet.wrappers import (  # noqa: E402
    SKLearnClassifier,
    SKLearnRegressor,
    SKLearnTransformer,
    _sklearn,
)

FIT = {"epochs": 15, "batch_size": 16, "verbose": 0}


def build(X, y, hidden=(16,), loss="categorical_crossentropy", out_activation="softmax"):
    model = gn.Sequential([gn.Input(shape=(X.shape[1],))]
                          + [layers.Dense(units, activation="relu") for units in hidden]
                          + [layers.Dense(y.shape[1], activation=out_activation)])
    model.compile(optimizer=gn.optimizers.Adam(0.02), loss=loss)
    return model


def blobs(n=90, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    centers = rng.normal(0, 3, (classes, 4))
    return (centers[labels] + rng.normal(0, 0.5, (n, 4))).astype(np.float32), labels


@pytest.mark.parametrize("names", [None, np.array(["cat", "dog", "emu"]),
                                   np.array(["cat", "dog", "emu"], dtype=object)])
def test_classifier_labels_classes_and_probabilities(names):
    X, labels = blobs()
    y = labels if names is None else names[labels]
    clf = SKLearnClassifier(model=build, fit_kwargs=FIT, random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, np.unique(y))
    assert clf.model_.output_shape == (None, 3)
    assert (clf.predict(X) == y).mean() > 0.9
    assert clf.predict(X).dtype == np.asarray(y).dtype
    proba = clf.predict_proba(X)
    assert proba.shape == (90, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))
    assert sorted(clf.history_) == ["loss"] and len(clf.history_["loss"]) == clf.epoch_ == 15


def test_binary_decision_function_is_one_column():
    X, labels = blobs(classes=2)
    y = np.where(labels == 1, 1, -1)
    clf = SKLearnClassifier(model=build, fit_kwargs=FIT, random_state=0).fit(X, y)
    scores = clf.decision_function(X)
    assert scores.shape == (90,)
    np.testing.assert_array_equal(np.where(scores > 0, 1, -1), clf.predict(X))


def test_a_compiled_model_is_copied_with_new_weights():
    X, y = blobs()
    template = build(X, np.eye(3)[y], hidden=(8,))
    template.compile(optimizer=gn.optimizers.SGD(0.1), loss="categorical_crossentropy")
    before = [w.copy() for w in template.get_weights()]
    clf = SKLearnClassifier(model=template, fit_kwargs=FIT, random_state=1).fit(X, y)
    assert clf.model_ is not template
    assert isinstance(clf.model_.optimizer, gn.optimizers.SGD)            # compile kept
    for w, b in zip(template.get_weights(), before):                      # param untouched
        np.testing.assert_array_equal(w, b)
    assert not np.allclose(clf.model_.get_weights()[0], before[0])
    with pytest.raises(RuntimeError, match="needs to be compiled"):
        SKLearnClassifier(model=gn.Sequential([gn.Input(shape=(4,)), layers.Dense(3)])).fit(X, y)


def test_warm_start_trains_the_same_model_further():
    X, y = blobs()
    clf = SKLearnClassifier(model=build, warm_start=True, fit_kwargs={**FIT, "epochs": 3},
                            random_state=0)
    clf.fit(X, y)
    first, first_loss = clf.model_, clf.history_["loss"][-1]
    clf.fit(X, y)
    assert clf.model_ is first and clf.history_["loss"][0] < first_loss * 1.01
    cold = SKLearnClassifier(model=build, fit_kwargs={**FIT, "epochs": 3}, random_state=0)
    cold.fit(X, y)
    second = cold.model_
    cold.fit(X, y)
    assert cold.model_ is not second


def test_warm_start_from_a_given_model_starts_from_its_weights():
    X, y = blobs()
    template = build(X, np.eye(3)[y])
    clf = SKLearnClassifier(model=template, warm_start=True, fit_kwargs={**FIT, "epochs": 0})
    clf.fit(X, y)
    for w, t in zip(clf.model_.get_weights(), template.get_weights()):
        np.testing.assert_array_equal(w, t)
    assert clf.model_ is not template


def test_fit_kwargs_model_kwargs_and_precedence():
    X, y = blobs()
    fit_kwargs = dict(FIT)
    clf = SKLearnClassifier(model=build, model_kwargs={"hidden": [5, 6]}, fit_kwargs=fit_kwargs,
                            random_state=0)
    clf.fit(X, y, epochs=2)
    assert fit_kwargs == FIT                                              # not modified
    assert len(clf.history_["loss"]) == 2
    assert [layer.units for layer in clf.model_.layers] == [5, 6, 3]


def test_seeded_fits_repeat_and_leave_the_global_generator_alone():
    X, y = blobs()
    set_random_seed(5)
    expected_draw = global_generator().random()
    set_random_seed(5)
    a = SKLearnClassifier(model=build, fit_kwargs=FIT, random_state=3).fit(X, y)
    assert global_generator().random() == expected_draw                   # untouched
    b = SKLearnClassifier(model=build, fit_kwargs=FIT, random_state=3).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = SKLearnClassifier(model=build, fit_kwargs=FIT, random_state=4).fit(X, y)
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))


def test_sample_weight_reaches_fit_and_one_class_is_refused():
    X, y = blobs()
    clf = SKLearnClassifier(model=build, fit_kwargs=FIT, random_state=0)
    clf.fit(X, y, sample_weight=np.ones(len(y)))
    with pytest.raises(ValueError, match=r"sample_weight leaves only the class\(es\) \[1\]"):
        clf.fit(X, y, sample_weight=(y == 1).astype(float))


def test_regressor_one_and_several_targets():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    Y = np.stack([X @ [1.0, -2.0, 0.5], X[:, 0] - X[:, 2]], axis=1)
    kwargs = {"loss": "mse", "out_activation": None, "hidden": (32,)}
    reg = SKLearnRegressor(model=build, model_kwargs=kwargs, fit_kwargs={**FIT, "epochs": 60},
                           random_state=0)
    assert reg.fit(X, Y[:, 0]).predict(X).shape == (80,)
    assert reg.predict(X).dtype == np.float64 and reg.score(X, Y[:, 0]) > 0.9
    assert reg.fit(X, Y).predict(X).shape == (80, 2)


def test_transformer_outputs_the_model():
    X, y = blobs()
    kwargs = {"loss": "mse", "out_activation": None}
    trs = SKLearnTransformer(model=build, model_kwargs=kwargs, fit_kwargs=FIT, random_state=0)
    Xt = trs.fit(X, np.eye(3)[y]).transform(X)
    assert Xt.shape == (90, 3)
    np.testing.assert_array_equal(Xt, trs.model_.predict(X, verbose=0))


def test_pickled_estimator_predicts_the_same():
    X, y = blobs()
    clf = SKLearnClassifier(model=build, fit_kwargs=FIT, random_state=0).fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


def test_missing_sklearn_is_one_line_with_the_install_command(monkeypatch):
    monkeypatch.setattr(_sklearn, "sklearn", None)
    with pytest.raises(ImportError, match="pip install scikit-learn") as error:
        SKLearnClassifier(model=build)
    assert "\n" not in str(error.value)


def test_pipeline_and_grid_search_on_semeion():
    """Scaling + an MLP, two widths by 3-fold cross-validation, on the real digits."""
    (x_train, y_train), (x_test, y_test) = datasets.semeion(require_data("semeion.data").parent)
    pipeline = make_pipeline(StandardScaler(), SKLearnClassifier(
        model=build, fit_kwargs={"epochs": 8, "batch_size": 64, "verbose": 0}, random_state=0))
    search = GridSearchCV(pipeline, {"sklearnclassifier__model_kwargs": [
        {"hidden": [16]}, {"hidden": [48]}]}, cv=3)
    search.fit(x_train, y_train)
    assert search.best_params_["sklearnclassifier__model_kwargs"] in ({"hidden": [16]},
                                                                     {"hidden": [48]})
    assert search.best_score_ > 0.8
    assert search.score(x_test, y_test) > 0.8
    np.testing.assert_array_equal(search.best_estimator_[-1].classes_, np.arange(10))

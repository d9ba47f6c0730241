"""scikit-learn estimators around glassnet models, with Keras 3's API.

    from glassnet.wrappers import SKLearnClassifier

    def build(X, y, hidden=(32,)):                       # y arrives one-hot: (n, classes)
        model = gn.Sequential([gn.Input(shape=(X.shape[1],))]
                              + [layers.Dense(h, activation="relu") for h in hidden]
                              + [layers.Dense(y.shape[1], activation="softmax")])
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        return model

    clf = SKLearnClassifier(model=build, model_kwargs={"hidden": [32]},
                            fit_kwargs={"epochs": 20, "verbose": 0}, random_state=0)
    GridSearchCV(make_pipeline(StandardScaler(), clf), {...}).fit(X, y)

Each estimator trains `model_`, a glassnet model: a fresh one per `fit`, from `model` --
a callable `model(X=..., y=..., **model_kwargs)` returning a compiled model, or a compiled
model, copied (same architecture and compile settings, new weights) -- or, with
`warm_start=True`, the one of the previous fit, trained further.

Where glassnet goes beyond Keras' wrappers, so that scikit-learn's own estimator checks
pass (tests/wrappers):
  - `random_state` (scikit-learn's name): an int seeds each fit (weights, dropout,
    shuffling), so fitting twice gives the same model; None draws from glassnet's global
    generator (`glassnet.random.set_random_seed`).
  - `warm_start` works (Keras' ignores it), and `fit_kwargs` is never modified.
  - `predict_proba`; `decision_function` is one column for two classes, as scikit-learn
    expects (the positive class's output minus the negative one's).
  - a `sample_weight` that leaves a single class is refused with a clear error.
  - the regressor takes several targets, and predicts float64.
"""

from __future__ import annotations

import copy

import numpy as np

from glassnet import Model, registry
from glassnet.wrappers._sklearn import (
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    TransformerMixin,
    check_classification_targets,
    check_is_fitted,
    require_sklearn,
    seeded,
    type_of_target,
    validate_data,
)


def _fresh_copy(model):
    """A model with `model`'s architecture and compile settings and new weights (Keras'
    clone_model, then compile as the original was)."""
    clone = registry.deserialize("layer", registry.serialize(model))
    clone.compile_from_config(model.get_compile_config())
    return clone


def _check_compiled(model) -> None:
    if not getattr(model, "compiled", False) or model.loss is None or model.optimizer is None:
        raise RuntimeError("Given model needs to be compiled, and have a loss and an "
                           "optimizer.")


class SKLBase(BaseEstimator):
    """What the three estimators share: building the model, fitting it, predicting.

    Args:
        model: a compiled glassnet Model (copied with new weights for each fit, unless
            warm_start), or a callable `model(X=..., y=..., **model_kwargs)` returning one.
        warm_start: train the model of the previous fit further instead of a new one (with
            a Model as `model`, the first fit starts from its weights).
        model_kwargs: keyword arguments for the callable `model`.
        fit_kwargs: keyword arguments for `model.fit` (epochs, batch_size, verbose, ...);
            those given to `fit` itself take precedence.
        random_state: an int (or numpy RandomState) seeding each fit; None uses glassnet's
            global generator.

    Attributes:
        model_: the fitted glassnet model.
        history_: the fit's History logs, {metric: [value per epoch]}.
        n_features_in_: the number of features seen in fit.
    """

    def __init__(self, model, warm_start: bool = False, model_kwargs=None, fit_kwargs=None,
                 random_state=None):
        require_sklearn(type(self).__name__)
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs
        self.random_state = random_state

    @property
    def epoch_(self) -> int:
        """The number of epochs the last fit ran."""
        return len(next(iter(getattr(self, "history_", {}).values()), []))

    def _get_model(self, X, y):
        if self.warm_start and hasattr(self, "model_"):
            return self.model_
        if isinstance(self.model, Model):
            _check_compiled(self.model)
            return copy.deepcopy(self.model) if self.warm_start else _fresh_copy(self.model)
        if not callable(self.model):
            raise TypeError(f"{type(self).__name__}: model must be a compiled glassnet Model or "
                            f"a callable returning one, got {type(self.model).__name__}")
        return self.model(X=X, y=y, **(self.model_kwargs or {}))

    def _validate(self, X, y):
        return validate_data(self, X, y)

    def fit(self, X, y, **kwargs):
        """Fit the model on X (n_samples, n_features) and y; `kwargs` go to `model.fit`.

        Returns the estimator.
        """
        X, y = self._validate(X, y)
        target = self._process_target(y, reset=True)
        self._check_sample_weight(y, kwargs.get("sample_weight"))
        fit_kwargs = {**(self.fit_kwargs or {}), **kwargs}
        with seeded(self.random_state):
            model = self._get_model(X, target)
            _check_compiled(model)
            history = model.fit(X, target, **fit_kwargs)
        self.model_ = model
        self.history_ = dict(getattr(history, "history", None) or {})
        return self

    def _check_sample_weight(self, y, sample_weight) -> None:
        """Hook for the classifier (a weighting that leaves one class)."""

    def _raw_predict(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self.model_.predict(X, verbose=0)

    def predict(self, X):
        """The model's prediction for X, as targets (class labels for the classifier)."""
        return self._reverse_process_target(self._raw_predict(X))

    def _process_target(self, y, reset: bool = False):
        """y as the model trains on it: (n, k); remembers whether y was one column."""
        if reset:
            self._target_ndim = np.ndim(y)
        return y.reshape(-1, 1) if np.ndim(y) == 1 else y

    def _reverse_process_target(self, y):
        return y[:, 0] if self._target_ndim == 1 and y.ndim == 2 else y


class SKLearnClassifier(ClassifierMixin, SKLBase):
    """A scikit-learn classifier around a glassnet model (Keras' `SKLearnClassifier`).

    The model sees y one-hot encoded, (n_samples, n_classes) in the order of `classes_`
    (two columns for two classes), and should end in a softmax. Labels may be integers or
    strings.

    Attributes (besides SKLBase's):
        classes_: the class labels, sorted.
    """

    def _validate(self, X, y):
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        return X, y

    def _process_target(self, y, reset: bool = False):
        target_type = type_of_target(y)
        if target_type not in ("binary", "multiclass"):
            raise ValueError(f"Only binary and multiclass target types are supported. "
                             f"Target type: {target_type}")
        if reset:
            self.classes_ = np.unique(y)
            if len(self.classes_) == 1:
                raise ValueError("Classifier can't train when only one class is present.")
        index = np.searchsorted(self.classes_, y)
        return np.eye(len(self.classes_), dtype=np.float32)[index]

    def _check_sample_weight(self, y, sample_weight) -> None:
        if sample_weight is None:
            return
        weighted = np.unique(np.asarray(y)[np.asarray(sample_weight).reshape(-1) != 0])
        if len(weighted) < 2:
            raise ValueError(f"{type(self).__name__}: sample_weight leaves only the class(es) "
                             f"{weighted.tolist()} with a non-zero weight; a classifier needs "
                             f"at least two classes")

    def _reverse_process_target(self, y):
        return self.classes_[np.argmax(y, axis=1)]

    def predict_proba(self, X):
        """The model's outputs, (n_samples, n_classes): probabilities for a softmax model."""
        return self._raw_predict(X)

    def decision_function(self, X):
        """The model's raw outputs (n_samples, n_classes); for two classes one column, the
        positive class's output minus the negative's (> 0 where `predict` says classes_[1]),
        the shape scikit-learn expects."""
        raw = self._raw_predict(X)
        return raw[:, 1] - raw[:, 0] if raw.shape[1] == 2 else raw


class SKLearnRegressor(RegressorMixin, SKLBase):
    """A scikit-learn regressor around a glassnet model (Keras' `SKLearnRegressor`).

    The model sees y as (n_samples, n_targets) (one column for a 1-D y) and predicts the
    same; `predict` returns float64, 1-D for a 1-D y.
    """

    def _validate(self, X, y):
        return validate_data(self, X, y, y_numeric=True, multi_output=True)

    def predict(self, X):
        return super().predict(X).astype(np.float64)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class SKLearnTransformer(TransformerMixin, SKLBase):
    """A scikit-learn transformer around a glassnet model (Keras' `SKLearnTransformer`):
    fitted on (X, y) like the regressor, `transform(X)` is the model's output, e.g. the
    embedding a network learned. (A transformer in scikit-learn's sense, not attention.)
    """

    def _validate(self, X, y):
        return validate_data(self, X, y, y_numeric=True, multi_output=True)

    def transform(self, X):
        """The model's outputs for X, (n_samples, n_outputs)."""
        return self._raw_predict(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        tags.target_tags.required = True            # the model learns to predict y
        return tags


__all__ = ["SKLBase", "SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]

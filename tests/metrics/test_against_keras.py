"""Every metric class against Keras 3.15 (torch backend), driven by the class registry.

`SPECS` names each metric with its arguments and the kind of data it reads. The first test
checks that SPECS, glassnet.metrics.METRIC_CLASSES and the metric classes in `keras.metrics`
are the same set, so a new metric (in glassnet or in Keras) cannot skip the comparison. Each
case feeds two random batches to a glassnet metric and to Keras' (with and without sample
weights), compares the results, resets both and compares again after one more batch; the
config must hold Keras' argument names and rebuild an equal metric. `FUNCTIONS` does the
same for the per-sample functions `keras.metrics` exports.
"""

from __future__ import annotations

import inspect
import re
import zlib

import numpy as np
import pytest

from glassnet import metrics

N, K, C = 24, 3, 5   # samples a batch, outputs of regression / multi-label data, classes


def _one_hot(labels, classes=C):
    return np.eye(classes, dtype=np.float32)[labels]


def _probabilities(rng, shape):
    z = rng.normal(size=shape)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


# Each data kind: rng -> (y_true, y_pred) for one batch (float32, as a model's outputs).
DATA = {
    "binary": lambda rng: (rng.integers(0, 2, (N, K)).astype(np.float32),
                           rng.uniform(0, 1, (N, K)).astype(np.float32)),
    "binary_column": lambda rng: (rng.integers(0, 2, (N, 1)).astype(np.float32),
                                  rng.uniform(0, 1, (N, 1)).astype(np.float32)),
    "logits": lambda rng: (rng.integers(0, 2, (N, K)).astype(np.float32),
                           rng.normal(0, 2, (N, K)).astype(np.float32)),
    "signed": lambda rng: (rng.choice([-1.0, 1.0], (N, K)).astype(np.float32),
                           rng.normal(0, 1, (N, K)).astype(np.float32)),
    "categorical": lambda rng: (_one_hot(rng.integers(0, C, N)), _probabilities(rng, (N, C))),
    "class_logits": lambda rng: (_one_hot(rng.integers(0, C, N)),
                                 rng.normal(0, 2, (N, C)).astype(np.float32)),
    "sparse": lambda rng: (rng.integers(0, C, (N, 1)), _probabilities(rng, (N, C))),
    "sparse_flat": lambda rng: (rng.integers(0, C, N), _probabilities(rng, (N, C))),
    "distributions": lambda rng: (_probabilities(rng, (N, C)), _probabilities(rng, (N, C))),
    "regression": lambda rng: (rng.normal(0, 1, (N, K)).astype(np.float32),
                               rng.normal(0, 1, (N, K)).astype(np.float32)),
    "correlated": lambda rng: (lambda y: (y, (0.7 * y + rng.normal(0, 0.5, y.shape))
                                          .astype(np.float32)))(
        rng.normal(0, 1, (N, 6)).astype(np.float32)),
    "positive": lambda rng: (rng.uniform(0, 3, (N, K)).astype(np.float32),
                             rng.uniform(0.1, 3, (N, K)).astype(np.float32)),
    "labels": lambda rng: (rng.integers(0, C, N), rng.integers(0, C, N)),
    "values": lambda rng: (None, rng.normal(0, 1, (N, K)).astype(np.float32)),
}

# class name -> [(constructor arguments, data kind), ...]
SPECS = {
    "Mean": [({}, "values")],
    "Sum": [({}, "values")],
    "MeanMetricWrapper": [({"fn": "mean_squared_error"}, "regression")],
    "MeanSquaredError": [({}, "regression")],
    "RootMeanSquaredError": [({}, "regression")],
    "MeanAbsoluteError": [({}, "regression")],
    "MeanAbsolutePercentageError": [({}, "regression")],
    "MeanSquaredLogarithmicError": [({}, "positive")],
    "CosineSimilarity": [({}, "regression"), ({"axis": 1}, "regression")],
    "LogCoshError": [({}, "regression")],
    "R2Score": [({}, "regression"), ({"class_aggregation": "variance_weighted_average"},
                                     "regression"),
                ({"class_aggregation": None}, "regression"),
                ({"num_regressors": 2}, "regression")],
    "AUC": [({}, "binary"), ({"curve": "PR"}, "binary"), ({"num_thresholds": 7}, "binary"),
            ({"summation_method": "minoring"}, "binary"),
            ({"curve": "PR", "summation_method": "majoring"}, "binary"),
            ({"multi_label": True}, "binary"), ({"multi_label": True, "curve": "PR"}, "binary"),
            ({"multi_label": True, "label_weights": [0.5, 1.0, 2.0]}, "binary"),
            ({"label_weights": [0.5, 1.0, 2.0]}, "binary"),
            ({"thresholds": [0.2, 0.5, 0.7]}, "binary"), ({"from_logits": True}, "logits")],
    "FalseNegatives": [({}, "binary"), ({"thresholds": [0.3, 0.6]}, "binary")],
    "FalsePositives": [({}, "binary"), ({"thresholds": 0.7}, "binary")],
    "TrueNegatives": [({}, "binary"), ({"thresholds": [0.3, 0.6]}, "binary")],
    "TruePositives": [({}, "binary"), ({"thresholds": [0.1, 0.6, 0.9]}, "binary")],
    "Precision": [({}, "binary"), ({"thresholds": [0.3, 0.6]}, "binary"),
                  ({"top_k": 2}, "categorical"), ({"class_id": 1}, "categorical"),
                  ({"top_k": 2, "class_id": 3}, "categorical")],
    "Recall": [({}, "binary"), ({"thresholds": 0.3}, "binary"), ({"top_k": 2}, "categorical"),
               ({"class_id": 2}, "categorical")],
    "PrecisionAtRecall": [({"recall": 0.6}, "binary"),
                          ({"recall": 0.5, "num_thresholds": 11, "class_id": 1}, "categorical")],
    "RecallAtPrecision": [({"precision": 0.5}, "binary"),
                          ({"precision": 0.3, "num_thresholds": 1}, "binary")],
    "SensitivityAtSpecificity": [({"specificity": 0.5}, "binary"),
                                 ({"specificity": 0.7, "num_thresholds": 20}, "binary")],
    "SpecificityAtSensitivity": [({"sensitivity": 0.5}, "binary"),
                                 ({"sensitivity": 0.8, "class_id": 0}, "categorical")],
    "ConcordanceCorrelation": [({}, "correlated"), ({"axis": 0}, "correlated")],
    "PearsonCorrelation": [({}, "correlated"), ({"axis": 0}, "correlated")],
    "Hinge": [({}, "binary"), ({}, "signed")],
    "SquaredHinge": [({}, "binary"), ({}, "signed")],
    "CategoricalHinge": [({}, "categorical")],
    "KLDivergence": [({}, "distributions")],
    "Poisson": [({}, "positive")],
    "BinaryCrossentropy": [({}, "binary"), ({"from_logits": True, "label_smoothing": 0.1},
                                            "logits")],
    "CategoricalCrossentropy": [({}, "categorical"),
                                ({"from_logits": True, "label_smoothing": 0.2},
                                 "class_logits")],
    "SparseCategoricalCrossentropy": [({}, "sparse"), ({"from_logits": True}, "sparse_flat")],
    "Accuracy": [({}, "labels")],
    "BinaryAccuracy": [({}, "binary"), ({"threshold": 0.7}, "binary_column")],
    "CategoricalAccuracy": [({}, "categorical")],
    "SparseCategoricalAccuracy": [({}, "sparse"), ({}, "sparse_flat")],
    "TopKCategoricalAccuracy": [({}, "categorical"), ({"k": 2}, "categorical")],
    "SparseTopKCategoricalAccuracy": [({"k": 2}, "sparse"), ({"k": 3}, "sparse_flat")],
    "F1Score": [({}, "categorical"), ({"average": "macro"}, "categorical"),
                ({"average": "micro", "threshold": 0.3}, "binary"),
                ({"average": "weighted"}, "categorical")],
    "FBetaScore": [({"beta": 2.0}, "categorical"),
                   ({"beta": 0.5, "average": "macro", "threshold": 0.4}, "binary")],
    "IoU": [({"num_classes": C, "target_class_ids": [0, 2]}, "labels"),
            ({"num_classes": C, "target_class_ids": [1, 3], "ignore_class": 3}, "labels")],
    "BinaryIoU": [({}, "binary_column"),
                  ({"target_class_ids": [1], "threshold": 0.3}, "binary_column")],
    "MeanIoU": [({"num_classes": C}, "labels"),
                ({"num_classes": C, "sparse_y_true": False, "sparse_y_pred": False},
                 "categorical")],
    "OneHotIoU": [({"num_classes": C, "target_class_ids": [0, 4]}, "categorical")],
    "OneHotMeanIoU": [({"num_classes": C}, "categorical")],
}

# Keras keeps IoU's confusion matrix in integers and truncates float weights: whole weights.
WHOLE_WEIGHTS = {"IoU", "BinaryIoU", "MeanIoU", "OneHotIoU", "OneHotMeanIoU"}

CASES = [pytest.param(name, kwargs, kind, weighted,
                      id=f"{name}-{i}-{'weighted' if weighted else 'plain'}")
         for name, specs in SPECS.items() for i, (kwargs, kind) in enumerate(specs)
         for weighted in (False, True)
         if not (weighted and kwargs.get("axis") == 0)]   # axis 0 is the sample axis


def _keras_metric_classes(keras):
    base = keras.metrics.Metric
    return {name for name in dir(keras.metrics)
            if inspect.isclass(getattr(keras.metrics, name))
            and issubclass(getattr(keras.metrics, name), base) and name != "Metric"}


def test_every_keras_metric_is_in_glassnet_and_in_the_specs(keras):
    keras_names = _keras_metric_classes(keras)
    ours = {cls.__name__ for cls in metrics.METRIC_CLASSES}
    assert ours == keras_names
    assert set(SPECS) == keras_names
    functions = {name for name in dir(keras.metrics) if not name[0].isupper()}
    assert functions <= set(dir(metrics)), sorted(functions - set(dir(metrics)))


def _make(module, name, kwargs, keras_side):
    kwargs = dict(kwargs)
    if "fn" in kwargs:   # MeanMetricWrapper: each library's own function
        kwargs["fn"] = getattr(module.losses if keras_side else module.metrics, kwargs["fn"])
    return getattr(module.metrics, name)(**kwargs)


def _update(metric, batch, weights):
    y_true, y_pred = batch
    if y_true is None:   # Mean, Sum: update_state(values, sample_weight)
        metric.update_state(y_pred, sample_weight=weights)
    else:
        metric.update_state(y_true, y_pred, sample_weight=weights)


def _value(result):
    return np.asarray(result.detach().cpu().numpy() if hasattr(result, "detach") else result,
                      dtype=np.float64)


@pytest.mark.parametrize(("name", "kwargs", "kind", "weighted"), CASES)
def test_metric_matches_keras(keras, name, kwargs, kind, weighted):
    import glassnet

    rng = np.random.default_rng(zlib.crc32(f"{name}{kind}{weighted}{kwargs}".encode()))
    ours, theirs = _make(glassnet, name, kwargs, False), _make(keras, name, kwargs, True)
    # the default name, History's key (Keras numbers later unnamed instances: auc_1, ...)
    assert ours.name == re.sub(r"_\d+$", "", theirs.name) or ours.name == theirs.name
    batches = [DATA[kind](rng) for _ in range(3)]
    weights = [None] * 3
    if weighted:
        weights = [rng.integers(0, 4, N).astype(np.int32) if name in WHOLE_WEIGHTS
                   else rng.uniform(0.0, 2.0, N).astype(np.float32) for _ in range(3)]
    for batch, w in zip(batches[:2], weights[:2]):
        _update(ours, batch, w)
        _update(theirs, batch, w)
    expected = _value(theirs.result())
    np.testing.assert_allclose(_value(ours.result()), expected, rtol=2e-5, atol=2e-6)

    ours.reset_state()
    theirs.reset_state()
    _update(ours, batches[2], weights[2])
    _update(theirs, batches[2], weights[2])
    np.testing.assert_allclose(_value(ours.result()), _value(theirs.result()),
                               rtol=2e-5, atol=2e-6)

    if name == "MeanMetricWrapper":
        return
    config = ours.get_config()
    missing = set(theirs.get_config()) - set(config)   # glassnet may keep more (an axis)
    assert not missing, f"config lacks Keras' keys {missing}"
    rebuilt = type(ours).from_config(config)
    _update(rebuilt, batches[2], weights[2])
    np.testing.assert_allclose(_value(rebuilt.result()), _value(ours.result()), rtol=1e-12)


def test_every_keras_metric_name_resolves_to_the_same_class(keras):
    from keras.src.metrics import ALL_OBJECTS_DICT

    for key, cls in ALL_OBJECTS_DICT.items():
        if cls.__name__ in ("Metric", "MeanMetricWrapper"):
            continue   # abstract, or needs a function
        kwargs = next((kwargs for kwargs, _ in SPECS[cls.__name__]), {})
        if any(p.default is inspect.Parameter.empty and p.kind is p.POSITIONAL_OR_KEYWORD
               for p in list(inspect.signature(cls).parameters.values())):
            metric = metrics.get({"class_name": key, "config": kwargs})
        else:
            metric = metrics.get(key)
            assert metric.name == key   # the name given is the History key, as in Keras
        assert type(metric).__name__ == cls.__name__, key


@pytest.mark.filterwarnings(   # raised inside Keras' own fit on the torch backend
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
def test_metrics_by_name_in_compile_give_keras_history_keys(keras):
    import glassnet

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = _one_hot((x[:, 0] > 0).astype(int) + 2 * (x[:, 1] > 0) + (x[:, 2] > 1))  # (64, C)
    names = ["auc", "precision", "recall", "mape", "top_k_categorical_accuracy", "accuracy"]

    def history(module):
        model = module.Sequential([module.layers.Input((4,)),
                                   module.layers.Dense(C, activation="softmax")])
        model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=names)
        return model.fit(x, y, epochs=2, batch_size=16, validation_split=0.25,
                         verbose=0).history

    ours, theirs = history(glassnet), history(keras)
    assert set(ours) == set(theirs)
    assert all(len(values) == 2 for values in ours.values())


# keras.metrics' functions -> [(keyword arguments, data kind), ...]
FUNCTIONS = {
    "binary_accuracy": [({}, "binary"), ({"threshold": 0.3}, "binary")],
    "binary_crossentropy": [({}, "binary"), ({"from_logits": True, "label_smoothing": 0.1},
                                             "logits")],
    "binary_focal_crossentropy": [({}, "binary"), ({"apply_class_balancing": True,
                                                    "gamma": 1.5, "from_logits": True,
                                                    "label_smoothing": 0.2}, "logits")],
    "categorical_accuracy": [({}, "categorical")],
    "categorical_crossentropy": [({}, "categorical"), ({"from_logits": True}, "class_logits")],
    "categorical_focal_crossentropy": [({}, "categorical"),
                                       ({"alpha": 0.5, "gamma": 1.0, "from_logits": True,
                                         "label_smoothing": 0.1}, "class_logits")],
    "categorical_hinge": [({}, "categorical")],
    "concordance_correlation": [({}, "correlated")],
    "hinge": [({}, "binary"), ({}, "signed")],
    "huber": [({}, "regression"), ({"delta": 0.5}, "regression")],
    "kl_divergence": [({}, "distributions")],
    "log_cosh": [({}, "regression")],
    "mean_absolute_error": [({}, "regression")],
    "mean_absolute_percentage_error": [({}, "regression")],
    "mean_squared_error": [({}, "regression")],
    "mean_squared_logarithmic_error": [({}, "positive")],
    "pearson_correlation": [({}, "correlated")],
    "poisson": [({}, "positive")],
    "sparse_categorical_accuracy": [({}, "sparse_flat")],
    "sparse_categorical_crossentropy": [({}, "sparse"), ({"from_logits": True},
                                                         "sparse_flat")],
    "sparse_top_k_categorical_accuracy": [({"k": 2}, "sparse_flat"), ({"k": 3}, "sparse")],
    "squared_hinge": [({}, "binary")],
    "top_k_categorical_accuracy": [({"k": 2}, "categorical")],
}


def test_every_keras_metric_function_is_compared(keras):
    functions = {name for name in dir(keras.metrics)
                 if not name[0].isupper() and not name.startswith("_")}
    assert set(FUNCTIONS) == functions - {"get", "serialize", "deserialize"}


@pytest.mark.parametrize(("name", "kwargs", "kind"),
                         [(name, kwargs, kind) for name, specs in FUNCTIONS.items()
                          for kwargs, kind in specs])
def test_metric_function_matches_keras(keras, name, kwargs, kind):
    rng = np.random.default_rng(zlib.crc32(f"{name}{kind}{kwargs}".encode()))
    y_true, y_pred = DATA[kind](rng)
    ours = getattr(metrics, name)(y_true, y_pred, **kwargs)
    theirs = _value(getattr(keras.metrics, name)(y_true, y_pred, **kwargs))
    if name == "binary_accuracy":   # glassnet's is per sample, Keras' per entry (N, K)
        theirs = theirs.mean(axis=-1)
    np.testing.assert_allclose(_value(ours), theirs, rtol=2e-5, atol=2e-6)

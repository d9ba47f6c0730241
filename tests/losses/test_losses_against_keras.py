"""Every loss class against Keras 3.15 (torch backend), driven by the registry.

`SPECS` names each loss with the name `compile` knows it by, and the arguments and data kind
of each case. The first test checks that SPECS, `glassnet.losses.LOSS_CLASSES` and the loss
classes in `keras.losses` are the same set (less `LEFT_OUT`), so a new loss in glassnet or in
Keras cannot skip the checks. Each case is compared with Keras for every reduction, with and
without sample weights; its analytic gradient against float64 central differences and
against torch autograd through Keras' own value; its config against Keras' and a round trip;
and each loss trains a tiny model, `compile(loss=name)`, to a lower loss.
"""

from __future__ import annotations

import inspect
import zlib

import numpy as np
import pytest

import glassnet as gn
from glassnet import gradcheck, layers, losses, ops
from glassnet.losses.circle import _circle_gradient
from glassnet.random import set_random_seed

N, K, C = 8, 3, 4   # samples a batch, outputs of elementwise data, classes

# Keras classes (and their functions) glassnet does not have, and why: none.
LEFT_OUT: dict[str, str] = {}
LEFT_OUT_FUNCTIONS: set[str] = set()
# Config keys glassnet writes beyond Keras': these Keras classes take the argument but leave
# it out of their config (a round trip loses it); glassnet keeps it.
EXTRA_CONFIG = {"SparseCategoricalCrossentropy": {"axis"}, "Huber": {"delta"},
                "CosineSimilarity": {"axis"}}

# class name: (the name compile(loss=...) resolves, [(kwargs, data kind), ...])
SPECS = {
    "MeanSquaredError": ("mean_squared_error", [({}, "real")]),
    "MeanAbsoluteError": ("mean_absolute_error", [({}, "real")]),
    "MeanAbsolutePercentageError": ("mean_absolute_percentage_error", [({}, "real")]),
    "MeanSquaredLogarithmicError": ("mean_squared_logarithmic_error", [({}, "positive")]),
    "Huber": ("huber", [({}, "real"), ({"delta": 0.5}, "real")]),
    "LogCosh": ("log_cosh", [({}, "real")]),
    "CosineSimilarity": ("cosine_similarity", [({}, "real"), ({"axis": 1}, "sequences")]),
    "BinaryCrossentropy": ("binary_crossentropy", [
        ({}, "binary"), ({"from_logits": True, "label_smoothing": 0.1}, "logits")]),
    "CategoricalCrossentropy": ("categorical_crossentropy", [
        ({}, "onehot"), ({"from_logits": True, "label_smoothing": 0.1}, "class_logits")]),
    "SparseCategoricalCrossentropy": ("sparse_categorical_crossentropy", [
        ({}, "labels"), ({"from_logits": True}, "label_logits")]),
    "BinaryFocalCrossentropy": ("binary_focal_crossentropy", [
        ({}, "binary"),
        ({"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5, "from_logits": True,
          "label_smoothing": 0.1}, "logits"),
        ({"gamma": 0.5, "axis": 1}, "binary_sequences")]),
    "CategoricalFocalCrossentropy": ("categorical_focal_crossentropy", [
        ({}, "onehot"),
        ({"alpha": 0.5, "gamma": 3.0, "from_logits": True, "label_smoothing": 0.1},
         "class_logits")]),
    "CategoricalGeneralizedCrossEntropy": ("categorical_generalized_cross_entropy", [
        ({}, "labels"), ({"q": 0.2}, "labels")]),
    "KLDivergence": ("kl_divergence", [({}, "distributions")]),
    "Poisson": ("poisson", [({}, "positive")]),
    "Hinge": ("hinge", [({}, "signed"), ({}, "binary_scores")]),
    "SquaredHinge": ("squared_hinge", [({}, "signed"), ({}, "binary_scores")]),
    "CategoricalHinge": ("categorical_hinge", [({}, "onehot_scores")]),
    "Dice": ("dice", [({}, "binary"), ({"axis": (1, 2)}, "masks")]),
    "Tversky": ("tversky", [({}, "binary"), ({"alpha": 0.3, "beta": 0.7, "axis": (1, 2)},
                                              "masks")]),
    "Circle": ("circle", [({}, "embeddings"),
                          ({"gamma": 5.0, "margin": 0.25, "remove_diagonal": False},
                           "embeddings")]),
    "CTC": ("ctc", [({}, "label_sequences")]),
}
CASES = [(name, kwargs, kind) for name, (_, cases) in SPECS.items() for kwargs, kind in cases]
IDS = [f"{name}-{kind}{'-' + ','.join(kwargs) if kwargs else ''}" for name, kwargs, kind in CASES]
REDUCTIONS = ["sum_over_batch_size", "mean", "sum", "mean_with_sample_weight", "none"]


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _embeddings(rng, size=5):
    """Labels (N,) of 3 groups and one sample alone in its group (no positives: a loss of
    0, left out of the reduction), with unit-norm embeddings (N, size)."""
    labels = rng.integers(0, 3, N)
    labels[0] = 7
    embeddings = rng.normal(size=(N, size))
    return labels, embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)


def _label_sequences(rng, steps=9, length=4):
    """Label sequences (N, L) in [1, C), 0-padded at the end (one empty, one with repeats,
    which need a blank between them), and logits (N, T, C)."""
    labels = rng.integers(1, C, (N, length))
    labels[np.arange(length) >= rng.integers(0, length + 1, N)[:, None]] = 0
    labels[0], labels[1] = [2, 2, 3, 3], 0
    return labels, rng.normal(0, 2, (N, steps, C))


# Each data kind: rng -> (y_true, y_pred), float64 (cast to float32 for Keras' values).
DATA = {
    "real": lambda rng: (rng.normal(size=(N, K)), rng.normal(size=(N, K))),
    "sequences": lambda rng: (rng.normal(size=(N, 5, K)), rng.normal(size=(N, 5, K))),
    "positive": lambda rng: (rng.uniform(0, 3, (N, K)), rng.uniform(0.1, 3, (N, K))),
    "binary": lambda rng: (rng.integers(0, 2, (N, K)) * 1.0, rng.uniform(0.05, 0.95, (N, K))),
    "binary_sequences": lambda rng: (rng.integers(0, 2, (N, 5, K)) * 1.0,
                                     rng.uniform(0.05, 0.95, (N, 5, K))),
    "logits": lambda rng: (rng.integers(0, 2, (N, K)) * 1.0, rng.normal(0, 2, (N, K))),
    "onehot": lambda rng: (np.eye(C)[rng.integers(0, C, N)], _softmax(rng.normal(size=(N, C)))),
    "class_logits": lambda rng: (np.eye(C)[rng.integers(0, C, N)], rng.normal(0, 2, (N, C))),
    "labels": lambda rng: (rng.integers(0, C, N), _softmax(rng.normal(size=(N, C)))),
    "label_logits": lambda rng: (rng.integers(0, C, N), rng.normal(0, 2, (N, C))),
    "distributions": lambda rng: (_softmax(rng.normal(size=(N, C))),
                                  _softmax(rng.normal(size=(N, C)))),
    "signed": lambda rng: (rng.choice([-1.0, 1.0], (N, K)), rng.normal(size=(N, K))),
    "binary_scores": lambda rng: (rng.integers(0, 2, (N, K)) * 1.0, rng.normal(size=(N, K))),
    "onehot_scores": lambda rng: (np.eye(C)[rng.integers(0, C, N)], rng.normal(size=(N, C))),
    "masks": lambda rng: (rng.integers(0, 2, (N, 5, 5, 1)) * 1.0,
                          rng.uniform(0.05, 0.95, (N, 5, 5, 1))),
    "embeddings": _embeddings,
    "label_sequences": _label_sequences,
}


def _data(name, kind, seed=0, kwargs=None):
    """(y_true, y_pred, sample weights): (N,), or of the entries' shape when they have more
    axes than the batch's (Keras cannot broadcast (N,) weights against entries (N, T))."""
    rng = np.random.default_rng(zlib.crc32(f"{name}{kind}{seed}".encode()))
    y_true, y_pred = DATA[kind](rng)
    entries = getattr(losses, name)(**(kwargs or {})).entry_shape(y_pred)
    return y_true, y_pred, rng.uniform(0.2, 2.0, entries if len(entries) > 1 else N)


def _keras_float32(array):
    array = np.asarray(array)
    return array if array.dtype.kind in "iu" else array.astype(np.float32)


def _keras_classes(keras):
    return {name for name, obj in vars(keras.losses).items()
            if inspect.isclass(obj) and issubclass(obj, keras.losses.Loss)
            and obj is not keras.losses.Loss}


# --------------------------------------------------------------------------- the registry


def test_every_keras_loss_is_in_glassnet_and_in_the_specs(keras):
    glassnet_classes = {cls.__name__ for cls in losses.LOSS_CLASSES}
    assert set(SPECS) == glassnet_classes
    assert glassnet_classes | set(LEFT_OUT) == _keras_classes(keras)
    for name in SPECS:
        assert isinstance(getattr(losses, name)(), losses.Loss)


def test_every_keras_loss_function_exists_with_keras_arguments(keras):
    skip = {"get", "serialize", "deserialize"} | LEFT_OUT_FUNCTIONS
    functions = {name for name, obj in vars(keras.losses).items()
                 if inspect.isfunction(obj) and name not in skip}
    for name in functions:
        ours = inspect.signature(getattr(losses, name)).parameters
        theirs = inspect.signature(getattr(keras.losses, name)).parameters
        assert list(ours) == list(theirs), name
        assert [p.default for p in ours.values()] == [p.default for p in theirs.values()], name


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("name", "kwargs", "kind"), CASES, ids=IDS)
def test_loss_matches_keras(keras, name, kwargs, kind, reduction, weighted):
    y_true, y_pred, weights = _data(name, kind, kwargs=kwargs)
    y_true, y_pred, weights = map(_keras_float32, (y_true, y_pred, weights))
    sample_weight = weights if weighted else None
    ours = getattr(losses, name)(reduction=reduction, **kwargs)
    theirs = getattr(keras.losses, name)(reduction=reduction, **kwargs)
    expected = theirs(y_true, y_pred, sample_weight=sample_weight).cpu().numpy()
    actual = ours(y_true, y_pred, sample_weight=sample_weight)
    assert actual.dtype == np.float32
    np.testing.assert_allclose(actual, expected, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize(("name", "kwargs", "kind"), CASES, ids=IDS)
def test_function_matches_keras(keras, name, kwargs, kind):
    function = SPECS[name][0]
    y_true, y_pred, _ = map(_keras_float32, _data(name, kind, kwargs=kwargs))
    if name == "CategoricalGeneralizedCrossEntropy":   # Keras' function has no default q
        kwargs = {"q": 0.5, **kwargs}
    tensors = map(keras.ops.convert_to_tensor, (y_true, y_pred))
    expected = getattr(keras.losses, function)(*tensors, **kwargs).cpu().numpy()
    actual = getattr(losses, function)(y_true, y_pred, **kwargs)
    np.testing.assert_allclose(actual, expected, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "mean_with_sample_weight"])
@pytest.mark.parametrize(("name", "kwargs", "kind"), CASES, ids=IDS)
def test_masked_loss_and_gradient(keras, torch, name, kwargs, kind, reduction):
    """A mask of the entries (padding) as Keras reads one from y_pred; its gradient against
    central differences. A loss of the whole batch (axis=None) has no entries to mask."""
    from keras.src.backend import set_keras_mask

    y_true, y_pred, weights = _data(name, kind, seed=3, kwargs=kwargs)
    ours = getattr(losses, name)(reduction=reduction, **kwargs)
    entries = ours.entry_shape(y_pred)
    mask = np.random.default_rng(4).random(entries or (N,)) > 0.3
    if not entries:
        with pytest.raises(ValueError, match="mask"):
            ours(y_true, y_pred, weights, mask=mask)
        return
    tensor = keras.ops.convert_to_tensor(_keras_float32(y_pred))
    set_keras_mask(tensor, torch.tensor(mask))
    theirs = getattr(keras.losses, name)(reduction=reduction, **kwargs)
    expected = theirs(_keras_float32(y_true), tensor, sample_weight=_keras_float32(weights))
    actual = ours(*map(_keras_float32, (y_true, y_pred, weights)), mask=mask)
    np.testing.assert_allclose(actual, expected.cpu().numpy(), rtol=2e-5, atol=2e-6)
    report = gradcheck.check_loss(ours, y_true, y_pred, weights, mask=mask)
    assert report.passed, str(report)


# --------------------------------------------------------------------------- gradients


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "none"])
@pytest.mark.parametrize(("name", "kwargs", "kind"), CASES, ids=IDS)
def test_gradient_matches_central_differences(name, kwargs, kind, reduction):
    y_true, y_pred, weights = _data(name, kind, seed=1, kwargs=kwargs)
    loss = getattr(losses, name)(reduction=reduction, **kwargs)
    report = gradcheck.check_loss(loss, y_true, y_pred, weights)
    assert report.passed, str(report)


@pytest.mark.parametrize(("name", "kwargs", "kind"), CASES, ids=IDS)
def test_gradient_matches_torch_autograd_through_keras(keras, torch, name, kwargs, kind):
    y_true, y_pred, weights = _data(name, kind, seed=2, kwargs=kwargs)
    leaf = torch.tensor(y_pred, dtype=torch.float64, requires_grad=True)
    theirs = getattr(keras.losses, name)(dtype="float64", **kwargs)
    theirs(torch.tensor(y_true), leaf, sample_weight=torch.tensor(weights)).backward()
    ours = getattr(losses, name)(**kwargs).gradient(y_true, y_pred, sample_weight=weights)
    assert ours.shape == y_pred.shape and ours.dtype == np.float64
    # Keras computes Circle and CTC in float32 whatever the inputs' dtype
    np.testing.assert_allclose(ours, leaf.grad.numpy(), rtol=1e-5,
                               atol=1e-5 * np.abs(ours).max())


# --------------------------------------------------------------------------- names, configs


def test_get_resolves_every_keras_name(keras):
    from keras.src.losses import ALL_OBJECTS_DICT

    function_classes = {}
    for class_name in _keras_classes(keras) - set(LEFT_OUT):
        function_classes[getattr(keras.losses, class_name)().fn] = class_name
    names = dict(ALL_OBJECTS_DICT)
    names.update({name: getattr(keras.losses, name) for name in _keras_classes(keras)})
    for name, obj in names.items():
        if name in LEFT_OUT or name in LEFT_OUT_FUNCTIONS or name in ("Loss",
                                                                      "LossFunctionWrapper"):
            continue
        expected = obj.__name__ if inspect.isclass(obj) else function_classes[obj]
        assert type(losses.get(name)).__name__ == expected, name
    for short, function in [("kld", "kl_divergence"), ("mape", "mean_absolute_percentage_error"),
                            ("msle", "mean_squared_logarithmic_error"), ("logcosh", "log_cosh"),
                            ("MSE", "mean_squared_error"), ("KLD", "kl_divergence")]:
        assert getattr(losses, short) is getattr(losses, function)
        assert type(losses.get(short)) is type(losses.get(function))
    for name, (function, _) in SPECS.items():
        assert type(losses.get(getattr(losses, function))).__name__ == name


@pytest.mark.parametrize(("name", "kwargs", "kind"), CASES, ids=IDS)
def test_config_matches_keras_and_round_trips(keras, name, kwargs, kind):
    ours = getattr(losses, name)(reduction="sum", **kwargs)
    theirs = getattr(keras.losses, name)(reduction="sum", **kwargs).get_config()
    config = ours.get_config()
    # dtype: Keras writes it only when set; glassnet always (None: y_pred's own dtype)
    assert set(config) - {"dtype"} == set(theirs) | EXTRA_CONFIG.get(name, set())
    for key, value in theirs.items():
        assert config[key] == value, key
    rebuilt = losses.deserialize(losses.serialize(ours))
    assert type(rebuilt) is type(ours) and rebuilt.get_config() == config
    y_true, y_pred, weights = _data(name, kind, kwargs=kwargs)
    np.testing.assert_array_equal(rebuilt(y_true, y_pred, weights), ours(y_true, y_pred, weights))


# --------------------------------------------------------------------------- training

# data kind: (output activation, the target from the scores s = x @ W)
TARGETS = {
    "real": (None, lambda s: s),
    "positive": ("softplus", lambda s: np.exp(0.5 * s)),
    "binary": ("sigmoid", lambda s: (s > 0) * 1.0),
    "onehot": ("softmax", lambda s: np.eye(s.shape[1])[s.argmax(1)]),
    "labels": ("softmax", lambda s: s.argmax(1)),
    "distributions": ("softmax", lambda s: _softmax(2 * s)),
    "signed": (None, lambda s: np.sign(s)),
    "onehot_scores": (None, lambda s: np.eye(s.shape[1])[s.argmax(1)]),
}


def _task(kind, rng):
    """(model, x, y): a tiny model and 64 samples for a loss reading data of `kind`."""
    inputs = layers.Input(shape=(6,))
    hidden = layers.Dense(16, activation="tanh")(inputs)
    x = rng.normal(size=(64, 6)).astype(np.float32)
    if kind == "embeddings":          # unit-norm embeddings, as Keras advises for Circle
        outputs = ops.normalize(layers.Dense(8)(hidden), axis=-1)
        return gn.Model(inputs, outputs), x, (x @ rng.normal(size=(6, 3))).argmax(1)
    if kind == "label_sequences":     # per-step logits (N, T, C) for CTC
        inputs = layers.Input(shape=(9, 6))
        outputs = layers.Dense(C)(layers.Dense(16, activation="tanh")(inputs))
        labels = np.concatenate([_label_sequences(rng)[0] for _ in range(64 // N)])
        return gn.Model(inputs, outputs), rng.normal(size=(64, 9, 6)).astype(np.float32), labels
    activation, target = TARGETS[kind]
    units = C if kind in ("onehot", "labels", "distributions", "onehot_scores") else K
    model = gn.Model(inputs, layers.Dense(units, activation=activation)(hidden))
    return model, x, target(x @ rng.normal(size=(6, units)))


@pytest.mark.parametrize("name", list(SPECS))
def test_each_loss_trains_a_model_by_name(name):
    function, cases = SPECS[name]
    set_random_seed(1)
    model, x, y = _task(cases[0][1], np.random.default_rng(5))
    model.compile(optimizer="adam", loss=function)
    assert type(model.loss).__name__ == name
    history = model.fit(x, y, epochs=6, batch_size=16, verbose=0).history["loss"]
    assert np.all(np.isfinite(history)) and history[-1] < 0.95 * history[0], history


def test_circle_with_reference_embeddings_matches_keras(keras, torch):
    rng = np.random.default_rng(3)
    labels, embeddings = _embeddings(rng)
    ref_labels, refs = _embeddings(rng)
    kwargs = {"ref_labels": ref_labels, "ref_embeddings": refs, "gamma": 10.0}
    leaf = torch.tensor(embeddings, requires_grad=True)
    expected = keras.losses.circle(torch.tensor(labels), leaf, **kwargs)
    expected.sum().backward()
    np.testing.assert_allclose(losses.circle(labels, embeddings, **kwargs),
                               expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    grad = _circle_gradient(labels, embeddings, **kwargs)     # the class never passes refs
    np.testing.assert_allclose(grad, leaf.grad.numpy(), rtol=1e-5, atol=1e-5)

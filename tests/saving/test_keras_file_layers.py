"""Every layer glassnet and Keras 3 share, through `.keras` files both ways, against real Keras.

For each layer: a small model around it is built and trained (two steps) in Keras 3.15 on its
torch backend and saved as `.keras`; glassnet loads it and predicts the same (float32,
relative 1e-5); one more training step in each library from the same file gives the same
weights (so the optimizer's state came along); glassnet saves it as `.keras`, Keras loads
that, predicts the same, and its next step matches glassnet's again; and `.weights.h5` files
carry the weights both ways. The layer configs glassnet writes are Keras' own, entry by entry
(`_keras_compare.ALLOWED` lists the exceptions).

Every built-in layer has a case here or a reason in NOT_IN_KERAS (checked at the end).
"""

from __future__ import annotations

import numpy as np
import pytest
from _keras_compare import Differences, config_differences

import glassnet as gn
from glassnet import registry
from glassnet.saving.keras_layers import NOT_IN_KERAS, SUPPORTED

N = 6                                            # samples in a batch


@pytest.fixture(scope="module")
def differences():
    record = Differences()
    yield record
    record.report()


def _sequential(keras, shape, *layers, dtype="float32"):
    """Input(shape) -> layers -> Flatten -> Dense(3): a trainable model around `layers`."""
    return keras.Sequential([keras.Input(shape, dtype=dtype), *layers, keras.layers.Flatten(),
                             keras.layers.Dense(3)])


def _merge(keras, layer):
    """Two Dense branches of one input, merged by `layer`, then Dense(3)."""
    L = keras.layers
    x = keras.Input((5,), name="features")
    merged = layer([L.Dense(4, name="left")(x), L.Dense(4, activation="tanh", name="right")(x)])
    return keras.Model(x, L.Dense(3)(merged))


def _ids(rng, shape):
    ids = rng.integers(1, 10, size=(N, *shape)).astype("float32")
    ids[: N // 2, -2:] = 0                       # padding at the end of half the samples
    return ids


# name -> (model builder, input shape or "ids"); the builders see `keras` and its layers L.
CASES = {
    "Dense": lambda k, L: _sequential(k, (5,), L.Dense(
        4, activation="relu", kernel_regularizer=k.regularizers.L2(0.01))),
    "Dense frozen": lambda k, L: _sequential(k, (5,), L.Dense(4, trainable=False), L.Dense(4)),
    "Activation": lambda k, L: _sequential(k, (5,), L.Dense(4), L.Activation("softplus")),
    "ReLU": lambda k, L: _sequential(k, (5,), L.Dense(4), L.ReLU(
        max_value=1.5, negative_slope=0.1, threshold=0.2)),
    "LeakyReLU": lambda k, L: _sequential(k, (5,), L.Dense(4), L.LeakyReLU(0.2)),
    "ELU": lambda k, L: _sequential(k, (5,), L.Dense(4), L.ELU(0.5)),
    "Softmax": lambda k, L: _sequential(k, (5,), L.Dense(4), L.Softmax()),
    "Dropout": lambda k, L: _sequential(k, (5,), L.Dense(4, activation="gelu"), L.Dropout(0.3)),
    "Reshape": lambda k, L: _sequential(k, (3, 4), L.Reshape((4, 3)), L.Dense(2)),
    "Conv1D": lambda k, L: _sequential(k, (9, 2), L.Conv1D(
        4, 3, strides=2, padding="same", activation="sigmoid")),
    "Conv1D causal": lambda k, L: _sequential(k, (9, 2), L.Conv1D(
        3, 2, dilation_rate=2, padding="causal")),
    "Conv2D": lambda k, L: _sequential(k, (7, 6, 2), L.Conv2D(
        3, (3, 2), strides=(2, 1), padding="same", activation="relu")),
    "MaxPooling1D": lambda k, L: _sequential(k, (7, 2), L.MaxPooling1D(3, 2, padding="same")),
    "MaxPooling2D": lambda k, L: _sequential(k, (7, 6, 2), L.MaxPooling2D(2)),
    "AveragePooling1D": lambda k, L: _sequential(k, (7, 2), L.AveragePooling1D(2)),
    "AveragePooling2D": lambda k, L: _sequential(k, (7, 7, 2), L.AveragePooling2D(
        3, 2, padding="same")),
    "GlobalMaxPooling1D": lambda k, L: _sequential(k, (7, 2), L.GlobalMaxPooling1D()),
    "GlobalAveragePooling1D": lambda k, L: _sequential(k, (7, 2), L.GlobalAveragePooling1D()),
    "GlobalMaxPooling2D": lambda k, L: _sequential(k, (5, 4, 2), L.GlobalMaxPooling2D()),
    "GlobalAveragePooling2D": lambda k, L: _sequential(k, (5, 4, 2), L.GlobalAveragePooling2D(
        keepdims=True)),
    "ZeroPadding2D": lambda k, L: _sequential(k, (4, 3, 2), L.ZeroPadding2D(((1, 2), (0, 1)))),
    "UpSampling2D": lambda k, L: _sequential(k, (3, 2, 2), L.UpSampling2D((2, 3))),
    "BatchNormalization": lambda k, L: _sequential(k, (4, 3), L.Dense(3), L.BatchNormalization(
        momentum=0.8, epsilon=1e-2)),
    "LayerNormalization": lambda k, L: _sequential(k, (4, 3), L.LayerNormalization(
        axis=[1, 2], epsilon=1e-4)),
    "Embedding": lambda k, L: _sequential(k, (5,), L.Embedding(10, 3), dtype="int32"),
    "Embedding mask_zero": lambda k, L: _sequential(k, (5,), L.Embedding(
        10, 3, mask_zero=True), L.LSTM(2)),
    "SimpleRNN": lambda k, L: _sequential(k, (5, 2), L.SimpleRNN(
        3, return_sequences=True, go_backwards=True)),
    "LSTM": lambda k, L: _sequential(k, (5, 2), L.LSTM(3)),
    "GRU": lambda k, L: _sequential(k, (5, 2), L.GRU(3, return_sequences=True)),
    "GRU reset_after=False": lambda k, L: _sequential(k, (5, 2), L.GRU(3, reset_after=False)),
    "Bidirectional": lambda k, L: _sequential(k, (5, 2), L.Bidirectional(
        L.LSTM(3, return_sequences=True), merge_mode="sum")),
    "Bidirectional GRU": lambda k, L: _sequential(k, (5, 2), L.Bidirectional(L.GRU(2))),
    "TimeDistributed": lambda k, L: _sequential(k, (4, 3), L.TimeDistributed(
        L.Dense(2, activation="tanh"))),
    "Add": lambda k, L: _merge(k, L.Add()),
    "Subtract": lambda k, L: _merge(k, L.Subtract()),
    "Multiply": lambda k, L: _merge(k, L.Multiply()),
    "Average": lambda k, L: _merge(k, L.Average()),
    "Maximum": lambda k, L: _merge(k, L.Maximum()),
    "Minimum": lambda k, L: _merge(k, L.Minimum()),
    "Concatenate": lambda k, L: _merge(k, L.Concatenate()),
    "Dot": lambda k, L: _merge(k, L.Dot(axes=1)),
    "Dot normalize": lambda k, L: _merge(k, L.Dot(axes=-1, normalize=True)),
    "LSTM dropout": lambda k, L: _sequential(k, (5, 2), L.LSTM(
        3, dropout=0.2, recurrent_dropout=0.3, seed=4)),
    "Dense orthogonal_regularizer": lambda k, L: _sequential(k, (5,), L.Dense(
        4, kernel_regularizer=k.regularizers.OrthogonalRegularizer(0.1, mode="columns"))),
    "Conv1DTranspose": lambda k, L: _sequential(k, (5, 2), L.Conv1DTranspose(
        3, 3, strides=2, padding="same", activation="tanh")),
    "Conv2DTranspose": lambda k, L: _sequential(k, (4, 3, 2), L.Conv2DTranspose(
        3, (3, 2), strides=(2, 1))),
    "Conv3D": lambda k, L: _sequential(k, (4, 5, 4, 2), L.Conv3D(
        3, (2, 3, 2), strides=(1, 2, 1), padding="same", activation="relu")),
    "DepthwiseConv2D": lambda k, L: _sequential(k, (5, 5, 2), L.DepthwiseConv2D(
        3, depth_multiplier=2, strides=2, padding="same")),
    "SeparableConv2D": lambda k, L: _sequential(k, (6, 5, 2), L.SeparableConv2D(
        4, (3, 2), depth_multiplier=2, activation="elu")),
    "MaxPooling3D": lambda k, L: _sequential(k, (4, 5, 4, 2), L.MaxPooling3D(2)),
    # padding split evenly: where it is not, Keras' torch backend repeats edge values into
    # the mean, its other backends (and glassnet) leave the padding out
    "AveragePooling3D": lambda k, L: _sequential(k, (3, 5, 3, 2), L.AveragePooling3D(
        3, 2, padding="same")),
    "GlobalMaxPooling3D": lambda k, L: _sequential(k, (3, 4, 3, 2), L.GlobalMaxPooling3D()),
    "GlobalAveragePooling3D": lambda k, L: _sequential(k, (3, 4, 3, 2),
                                                       L.GlobalAveragePooling3D()),
    "Cropping1D": lambda k, L: _sequential(k, (7, 2), L.Cropping1D((1, 2))),
    "Cropping2D": lambda k, L: _sequential(k, (6, 5, 2), L.Cropping2D(((1, 0), (2, 1)))),
    "ZeroPadding1D": lambda k, L: _sequential(k, (5, 2), L.ZeroPadding1D((2, 1))),
    "UpSampling1D": lambda k, L: _sequential(k, (4, 2), L.UpSampling1D(3)),
    "RepeatVector": lambda k, L: _sequential(k, (5,), L.Dense(3), L.RepeatVector(4),
                                             L.SimpleRNN(2)),
    "Permute": lambda k, L: _sequential(k, (4, 3), L.Permute((2, 1)), L.Dense(2)),
    "Masking": lambda k, L: _sequential(k, (5, 2), L.Masking(0.0), L.LSTM(3)),
    "Identity": lambda k, L: _sequential(k, (5,), L.Dense(4), L.Identity()),
    "GaussianNoise": lambda k, L: _sequential(k, (5,), L.Dense(4), L.GaussianNoise(0.3)),
    "GaussianDropout": lambda k, L: _sequential(k, (5,), L.Dense(4), L.GaussianDropout(0.3)),
    "AlphaDropout": lambda k, L: _sequential(k, (5,), L.Dense(4, activation="selu"),
                                             L.AlphaDropout(0.2)),
    "SpatialDropout1D": lambda k, L: _sequential(k, (5, 2), L.Conv1D(3, 2),
                                                 L.SpatialDropout1D(0.3)),
    "SpatialDropout2D": lambda k, L: _sequential(k, (5, 4, 2), L.Conv2D(3, 2),
                                                 L.SpatialDropout2D(0.3)),
    "Rescaling": lambda k, L: _sequential(k, (5,), L.Rescaling([0.5, 2.0, 1.0, 3.0, 0.1],
                                                              offset=-1.0)),
    "CategoryEncoding": lambda k, L: _sequential(k, (4,), L.CategoryEncoding(
        10, output_mode="count"), dtype="int32"),
    "Normalization": lambda k, L: _sequential(k, (4,), _adapted(L.Normalization())),
    "Normalization given": lambda k, L: _sequential(k, (4,), L.Normalization(
        mean=[0.5, -1.0, 2.0, 0.0], variance=[4.0, 0.25, 1.0, 2.0])),
}
# a step in each library draws its own mask or noise
RANDOM_IN_TRAINING = ("Dropout", "LSTM dropout", "GaussianNoise", "GaussianDropout",
                      "AlphaDropout", "SpatialDropout1D", "SpatialDropout2D")


def _adapted(layer):
    """A Normalization adapted to data with its own mean and spread per feature."""
    rng = np.random.default_rng(1)
    layer.adapt(rng.standard_normal((50, 4)) * [1.0, 3.0, 0.5, 2.0] + [0.0, 1.0, -2.0, 4.0])
    return layer


def _input(keras_model, rng):
    shape = tuple(keras_model.input_shape[1:])
    if keras_model.layers[0].__class__.__name__ in ("Embedding", "CategoryEncoding"):
        return _ids(rng, shape)
    return rng.standard_normal((N, *shape)).astype("float32")


def _compare_weights(differences, keras_model, glassnet_model, where):
    # Keras' Normalization also keeps a `count`, which glassnet does not use
    # Keras' Normalization also keeps a `count`, which glassnet does not use, and keeps
    # statistics given as arguments in its config, glassnet as weights
    keras_weights = [w.numpy() for w in keras_model.weights if not w.path.endswith("/count")]
    weights = [p.value for layer in glassnet_model.layers for p in layer.parameters()
               if not getattr(layer, "statistics_in_config", False)]
    assert len(keras_weights) == len(weights), f"{where}: {len(keras_weights)} weights, " \
                                               f"glassnet {len(weights)}"
    for k, (expected, actual) in enumerate(zip(keras_weights, weights)):
        differences.check(expected, actual, f"{where}, weight {k}", rtol=1e-4, floor=1e-2)


@pytest.mark.parametrize("case", sorted(CASES))
def test_layer_both_ways(keras, differences, tmp_path, case):
    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)
    keras_model = CASES[case](keras, keras.layers)
    keras_model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9), loss="mse")
    x = _input(keras_model, rng)
    y = rng.standard_normal((N, 3)).astype("float32")
    for _ in range(2):
        keras_model.train_on_batch(x, y)
    keras_model.save(tmp_path / "from_keras.keras")

    model = gn.load_model(tmp_path / "from_keras.keras")
    differences.check(keras_model.predict(x, verbose=0), model.predict(x, verbose=0),
                      f"{case}: Keras -> glassnet, predict")
    keras_model.train_on_batch(x, y)
    model.train_on_batch(x, y)
    if case not in RANDOM_IN_TRAINING:
        _compare_weights(differences, keras_model, model, f"{case}: Keras -> glassnet, a step")

    model.save(tmp_path / "from_glassnet.keras")
    assert config_differences(tmp_path / "from_keras.keras",
                               tmp_path / "from_glassnet.keras") == []
    reloaded = keras.saving.load_model(tmp_path / "from_glassnet.keras")
    differences.check(model.predict(x, verbose=0), reloaded.predict(x, verbose=0),
                      f"{case}: glassnet -> Keras, predict")
    reloaded.train_on_batch(x, y)
    model.train_on_batch(x, y)
    if case not in RANDOM_IN_TRAINING:
        _compare_weights(differences, reloaded, model, f"{case}: glassnet -> Keras, a step")

    # .weights.h5 both ways, each into a model whose weights are two steps apart
    model.save_weights(tmp_path / "glassnet.weights.h5")
    keras_model.load_weights(tmp_path / "glassnet.weights.h5")
    differences.check(model.predict(x, verbose=0), keras_model.predict(x, verbose=0),
                      f"{case}: glassnet -> Keras, weights file")
    keras_model.train_on_batch(x, y)
    keras_model.save_weights(tmp_path / "keras.weights.h5")
    model.load_weights(tmp_path / "keras.weights.h5")
    differences.check(keras_model.predict(x, verbose=0), model.predict(x, verbose=0),
                      f"{case}: Keras -> glassnet, weights file")


def test_every_layer_is_mapped_and_tested():
    """Every built-in glassnet layer either goes through Keras files, with a case above (so a
    new layer cannot skip this test), or is listed in NOT_IN_KERAS with the reason."""
    built_in = {cls.__name__ for cls in registry.table("layer").values()
                if cls.__module__.startswith("glassnet.")}
    built_in |= {obj.__name__ for obj in vars(gn.layers).values() if isinstance(obj, type)
                 and issubclass(obj, gn.layers.Layer) and obj is not gn.layers.Layer}
    mapped = set(SUPPORTED) | {"OpLayer"}      # ops: keras_ops.py, test_keras_file_ops.py
    assert built_in - mapped - set(NOT_IN_KERAS) == set(), "neither mapped nor listed"
    assert set(SUPPORTED) & set(NOT_IN_KERAS) == set()
    assert all(len(reason) > 20 for reason in NOT_IN_KERAS.values())
    tested = {name.split()[0] for name in CASES} | {"InputLayer", "Flatten"}
    assert tested == set(SUPPORTED)


def test_normalization_axis_by_number(keras, differences, tmp_path, h5py):
    """Keras' Normalization(axis=1) on (N, C) data is glassnet's last axis; another axis is
    refused by name."""
    x = np.random.default_rng(2).standard_normal((N, 3)).astype("float32")
    for axis, loads in ((1, True), (None, False)):
        statistics = ({"mean": [1.0, -2.0, 0.5], "variance": [4.0, 0.25, 1.0]} if axis
                      else {"mean": 1.0, "variance": 4.0})     # axis=None: one of each
        keras_model = keras.Sequential([keras.Input((3,)), keras.layers.Normalization(
            axis=axis, **statistics), keras.layers.Dense(2)])
        keras_model.save(tmp_path / "normalization.keras")
        if loads:
            model = gn.load_model(tmp_path / "normalization.keras")
            differences.check(keras_model.predict(x, verbose=0), model.predict(x, verbose=0),
                              "Normalization(axis=1): Keras -> glassnet, predict")
        else:
            with pytest.raises(gn.saving.ModelFileError, match="Normalization.*axis"):
                gn.load_model(tmp_path / "normalization.keras")

"""Each layer exported to ONNX predicts in onnxruntime what glassnet predicts (batch 1 and 9).

Two sets: every registered layer on the sample its class declares (`contract_sample`, so a
layer added later is exported or refused by name here), and the options that change the
graph (padding modes, strides, masks, go_backwards, merge modes, ...).
"""

from __future__ import annotations

import numpy as np
import pytest
from _onnx import assert_same, randomize, require

import glassnet as gn
from glassnet import layers, registry
from glassnet.export.onnx import converters

REGISTERED = sorted({cls for cls in registry.table("layer").values()
                     if cls.__module__.startswith("glassnet.") and not issubclass(cls, gn.Model)},
                    key=lambda cls: cls.__name__)


def test_every_registered_layer_has_a_converter():
    missing = [cls.__name__ for cls in REGISTERED if cls not in converters()]
    assert missing == []


def _like(x, rng, batch):
    """A batch of `batch` samples shaped (and typed) like the sample x."""
    if isinstance(x, list):
        return [_like(item, rng, batch) for item in x]
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.integer):
        return rng.integers(0, int(x.max()) + 1, size=(batch,) + x.shape[1:]).astype(np.float32)
    return rng.standard_normal((batch,) + x.shape[1:]).astype(np.float32)


def _single_layer_model(layer, sample):
    samples = sample if isinstance(sample, list) else [sample]
    inputs = [gn.Input(shape=np.shape(s)[1:]) for s in samples]
    return gn.Model(inputs if isinstance(sample, list) else inputs[0],
                    layer(inputs if isinstance(sample, list) else inputs[0]))


@pytest.mark.parametrize("cls", REGISTERED, ids=lambda cls: cls.__name__)
def test_registered_layer_on_its_contract_sample(cls):
    require("onnxruntime")
    rng = np.random.default_rng(0)
    kwargs, sample = cls.contract_sample(rng)
    if cls is layers.InputLayer:
        model = gn.Sequential([gn.Input(shape=np.shape(sample)[1:]), layers.Dense(2)])
    else:
        model = _single_layer_model(cls(**kwargs), sample)
    randomize(model, rng)
    assert_same(model, lambda batch: _like(sample, rng, batch), f"contract/{cls.__name__}")


# ----- options ---------------------------------------------------------------------------------
def _float_input(shape):
    return lambda rng, batch: rng.standard_normal((batch, *shape)).astype(np.float32)


CASES = {
    # name: (input shape, layers)
    "dense_relu_no_bias": ((5,), [layers.Dense(4, activation="relu", use_bias=False)]),
    "dense_rank3": ((3, 5), [layers.Dense(4, activation="sigmoid")]),
    "flatten_reshape": ((2, 3, 4), [layers.Flatten(), layers.Reshape((4, -1))]),
    "dropout": ((6,), [layers.Dropout(0.5), layers.Dense(3)]),
    "relu_options": ((7,), [layers.ReLU(max_value=1.0, negative_slope=0.2, threshold=0.3)]),
    "relu_cap": ((7,), [layers.ReLU(max_value=0.5)]),
    "leaky_relu": ((7,), [layers.LeakyReLU(0.1)]),
    "elu": ((7,), [layers.ELU(0.7)]),
    "softmax_axis1": ((3, 4), [layers.Softmax(axis=1)]),
    "conv1d_valid_strided": ((11, 3), [layers.Conv1D(4, 3, strides=2, activation="tanh")]),
    "conv1d_same_strided": ((10, 3), [layers.Conv1D(4, 4, strides=3, padding="same")]),
    "conv1d_causal_dilated": ((9, 2), [layers.Conv1D(3, 3, padding="causal",
                                                     dilation_rate=2)]),
    "conv1d_same_stride_over_kernel": ((7, 2), [layers.Conv1D(2, 1, strides=3,
                                                              padding="same")]),
    "conv2d_valid": ((6, 7, 2), [layers.Conv2D(3, (2, 3), activation="relu")]),
    "conv2d_same_even_kernel": ((6, 7, 2), [layers.Conv2D(3, 2, padding="same")]),
    "conv2d_same_strided": ((7, 8, 2), [layers.Conv2D(3, 3, strides=2, padding="same",
                                                      use_bias=False)]),
    "conv2d_dilated": ((8, 8, 1), [layers.Conv2D(2, 3, dilation_rate=2, padding="same")]),
    "max_pool2d_same_overlapping": ((7, 6, 2), [layers.MaxPooling2D(3, strides=2,
                                                                    padding="same")]),
    "max_pool1d": ((9, 2), [layers.MaxPooling1D(2)]),
    "average_pool2d_same": ((5, 7, 2), [layers.AveragePooling2D(2, padding="same")]),
    "average_pool1d_same_overlapping": ((8, 3), [layers.AveragePooling1D(3, strides=2,
                                                                         padding="same")]),
    "global_max2d_keepdims": ((4, 5, 3), [layers.GlobalMaxPooling2D(keepdims=True)]),
    "global_average1d_keepdims": ((6, 3), [layers.GlobalAveragePooling1D(keepdims=True)]),
    "zero_padding_asymmetric": ((3, 4, 2), [layers.ZeroPadding2D(((1, 2), (0, 3)))]),
    "up_sampling_2_3": ((3, 4, 2), [layers.UpSampling2D((2, 3))]),
    "batch_norm_4d": ((4, 5, 3), [layers.BatchNormalization()]),
    "batch_norm_axis1_no_affine": ((3, 4), [layers.BatchNormalization(axis=1, center=False,
                                                                      scale=False)]),
    "layer_norm_two_axes": ((3, 4), [layers.LayerNormalization(axis=[1, 2])]),
    "layer_norm_middle_axis": ((3, 4), [layers.LayerNormalization(axis=1, center=False)]),
    "simple_rnn_relu_sequences": ((5, 3), [layers.SimpleRNN(4, activation="relu",
                                                            return_sequences=True)]),
    "lstm_backwards": ((6, 3), [layers.LSTM(4, go_backwards=True)]),
    "lstm_no_bias_sequences": ((6, 3), [layers.LSTM(4, use_bias=False, return_sequences=True)]),
    "gru_reset_before": ((5, 3), [layers.GRU(4, reset_after=False)]),
    "gru_reset_after_backwards_sequences": ((5, 3), [layers.GRU(4, go_backwards=True,
                                                                return_sequences=True)]),
    "gru_no_bias": ((5, 3), [layers.GRU(3, use_bias=False)]),
    "lstm_hard_activations": ((5, 3), [layers.LSTM(3, activation="relu",
                                                   recurrent_activation="softplus")]),
    "bidirectional_sum_sequences": ((5, 3), [layers.Bidirectional(
        layers.GRU(3, return_sequences=True), merge_mode="sum")]),
    "bidirectional_mul": ((5, 3), [layers.Bidirectional(layers.SimpleRNN(3),
                                                        merge_mode="mul")]),
    "bidirectional_ave_sequences": ((5, 3), [layers.Bidirectional(
        layers.LSTM(3, return_sequences=True), merge_mode="ave")]),
    "time_distributed_conv": ((3, 5, 5, 2), [layers.TimeDistributed(layers.Conv2D(2, 3))]),
    "time_distributed_dense": ((4, 3), [layers.TimeDistributed(layers.Dense(2,
                                                                            activation="elu"))]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_option(name):
    require("onnxruntime")
    shape, stack = CASES[name]
    rng = np.random.default_rng(1)
    model = gn.Sequential([gn.Input(shape=shape), *stack])
    randomize(model, rng)
    assert_same(model, lambda batch: _float_input(shape)(rng, batch), f"option/{name}")


ACTIVATIONS = ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu",
               "softplus", "softmax", "silu", {"class_name": "GELU",
                                               "config": {"approximate": True}}]


@pytest.mark.parametrize("activation", ACTIVATIONS, ids=str)
def test_activation(activation):
    require("onnxruntime")
    rng = np.random.default_rng(2)
    model = gn.Sequential([gn.Input(shape=(3, 6)), layers.Activation(activation)])
    assert_same(model, lambda batch: 3 * rng.standard_normal((batch, 3, 6)).astype(np.float32),
                f"activation/{activation}")


def test_normalization_with_a_constant_feature_and_inverted():
    require("onnxruntime")
    rng = np.random.default_rng(3)
    for invert in (False, True):
        model = gn.Sequential([gn.Input(shape=(3,)), layers.Normalization(
            mean=[1.0, -2.0, 0.5], variance=[4.0, 0.0, 0.25], invert=invert)])
        assert_same(model, lambda batch: rng.standard_normal((batch, 3)).astype(np.float32),
                    f"option/normalization_invert_{invert}")


# ----- merges and masks --------------------------------------------------------------------------
MERGES = [layers.Add, layers.Subtract, layers.Multiply, layers.Average, layers.Maximum,
          layers.Minimum, lambda: layers.Concatenate(axis=1)]


@pytest.mark.parametrize("make", MERGES, ids=lambda m: getattr(m, "__name__", "Concatenate"))
def test_merge_of_three_or_two(make):
    require("onnxruntime")
    rng = np.random.default_rng(4)
    count = 2 if make is layers.Subtract else 3
    inputs = [gn.Input(shape=(2, 4), name=f"in{k}") for k in range(count)]
    model = gn.Model(inputs, make()([layers.Dense(4)(x) for x in inputs]))
    randomize(model, rng)
    assert_same(model, lambda batch: [rng.standard_normal((batch, 2, 4)).astype(np.float32)
                                      for _ in range(count)], f"merge/{count}")


def _ids_with_padding(rng, batch, steps=7, vocabulary=6):
    """Ids with zeros (padding) at the end and, for some samples, in the middle."""
    ids = rng.integers(1, vocabulary, size=(batch, steps))
    for row, length in zip(ids, rng.integers(1, steps + 1, size=batch)):
        row[length:] = 0
    ids[::3, 1] = 0
    return ids.astype(np.float32)


MASKED = {
    "simple_rnn": lambda: [layers.SimpleRNN(3)],
    "lstm_sequences": lambda: [layers.LSTM(3, return_sequences=True)],
    "gru_backwards": lambda: [layers.GRU(3, go_backwards=True)],
    "gru_zero_output_last": lambda: [layers.GRU(3, zero_output_for_mask=True)],
    "lstm_then_gru": lambda: [layers.LSTM(3, return_sequences=True), layers.GRU(2)],
    "bidirectional_concat_sequences": lambda: [layers.Bidirectional(
        layers.LSTM(3, return_sequences=True)), layers.GRU(2)],
    "bidirectional_last": lambda: [layers.Bidirectional(layers.SimpleRNN(2))],
    "dropout_passes_the_mask_on": lambda: [layers.Dropout(0.2), layers.LSTM(2)],
    "dense_and_normalization_pass_it_on": lambda: [
        layers.Dense(3), layers.LayerNormalization(), layers.GRU(2)],
    "global_average_pooling_1d_over_unmasked_steps": lambda: [
        layers.Dense(3), layers.GlobalAveragePooling1D()],
}


@pytest.mark.parametrize("name", sorted(MASKED))
def test_padding_mask_from_embedding(name):
    require("onnxruntime")
    rng = np.random.default_rng(5)
    model = gn.Sequential([gn.Input(shape=(7,)), layers.Embedding(6, 4, mask_zero=True),
                           *MASKED[name]()])
    randomize(model, rng)
    assert_same(model, lambda batch: _ids_with_padding(rng, batch), f"mask/{name}")


def test_variable_length_sequences():
    """An open time axis stays open: one file serves 4 and 11 steps."""
    require("onnxruntime")
    from _onnx import relative_difference, run, session

    from glassnet.export.onnx import to_onnx

    rng = np.random.default_rng(6)
    model = gn.Sequential([gn.Input(shape=(None, 3)), layers.Conv1D(4, 3, padding="causal"),
                           layers.LSTM(5, return_sequences=True), layers.GRU(2)])
    randomize(model, rng)
    sess = session(to_onnx(model))
    for steps in (4, 11):
        x = rng.standard_normal((9, steps, 3)).astype(np.float32)
        assert relative_difference(run(sess, x), model.predict(x, verbose=0)) <= 1e-5


def test_functional_model_carries_the_padding_mask():
    require("onnxruntime")
    rng = np.random.default_rng(6)
    inputs = gn.Input(shape=(7,))
    embedded = layers.Embedding(6, 4, mask_zero=True)(inputs)
    merged = layers.Add()([layers.Dense(4)(embedded), embedded])
    model = gn.Model(inputs, layers.GRU(3)(merged))

    randomize(model, rng)
    assert_same(model, lambda batch: _ids_with_padding(rng, batch), "mask/functional")

"""Model introspection: get_layer, model.inputs / outputs, layer.input /
output on symbolic graphs, clone_model, as the Sequential and Functional guides use them."""

import numpy as np
from _keras_compat import assert_close

import glassnet as keras
from glassnet import layers


def test_a_feature_extractor_from_a_named_intermediate_layer(rng):
    initial_model = keras.Sequential([
        keras.Input(shape=(20, 20, 3)),
        layers.Conv2D(4, 5, strides=2, activation="relu"),
        layers.Conv2D(4, 3, activation="relu", name="my_intermediate_layer"),
        layers.Conv2D(4, 3, activation="relu"),
    ])
    feature_extractor = keras.Model(
        inputs=initial_model.inputs,
        outputs=initial_model.get_layer(name="my_intermediate_layer").output)
    x = rng.normal(size=(1, 20, 20, 3)).astype("float32")
    features = feature_extractor(x)
    assert features.shape == (1, 6, 6, 4)
    first_two = keras.Sequential(initial_model.layers[:2])
    assert_close(features, first_two(x))


def test_get_layer_by_name_and_index_and_node_tensors():
    inputs = keras.Input(shape=(4,), name="features")
    hidden = layers.Dense(3, name="hidden")(inputs)
    model = keras.Model(inputs, layers.Dense(1, name="head")(hidden))
    assert model.get_layer("hidden") is model.layers[1]
    assert model.get_layer(index=2).name == "head"
    assert model.inputs[0].shape == (None, 4) and model.outputs[0].shape == (None, 1)
    assert model.get_layer("hidden").output.shape == (None, 3)
    assert model.get_layer("head").input.shape == (None, 3)


def test_clone_model_copies_the_architecture_with_new_weights(rng):
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(3, activation="relu"),
                              layers.Dense(2)])
    clone = keras.models.clone_model(model)
    assert [type(layer) for layer in clone.layers] == [type(layer) for layer in model.layers]
    assert [w.shape for w in clone.get_weights()] == [w.shape for w in model.get_weights()]
    assert not np.array_equal(clone.get_weights()[0], model.get_weights()[0])
    clone.set_weights(model.get_weights())
    x = rng.normal(size=(2, 4)).astype("float32")
    assert_close(clone(x), model(x))

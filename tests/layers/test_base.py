"""The Layer contract of layers/base.py: an explicit `build(shape)` marks the layer built."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import gradcheck, layers


def test_explicit_build_marks_the_layer_built_and_the_call_keeps_its_weights():
    # Keras code builds layers by hand; the first call must not build a second weight set
    dense = layers.Dense(3)
    dense.build((None, 5))
    assert dense.built
    assert dense.input_shape == (None, 5) and dense.output_shape == (None, 3)
    kernel = dense.W
    dense(np.ones((2, 5)))
    assert len(dense.parameters()) == 2 and dense.count_params() == 5 * 3 + 3
    assert dense.W is kernel


def test_gradcheck_of_an_explicitly_built_layer_checks_its_only_weights():
    dense = layers.Dense(3, activation="tanh")
    dense.build((None, 5))
    report = gradcheck.check_layer(dense, np.random.default_rng(0).standard_normal((4, 5)))
    assert report.passed, report
    assert [r.name for r in report.results] == ["x", f"{dense.name}/kernel",
                                                f"{dense.name}/bias"]


def test_a_second_build_creates_no_second_weight_set():
    # As Keras 3 (its state is locked once built): a layer with weights refuses to make more
    dense = layers.Dense(3)
    dense.build((None, 5))
    with pytest.raises(ValueError, match="already built"):
        dense.build((None, 5))
    assert len(dense.parameters()) == 2


def test_a_layer_without_weights_and_a_subclass_calling_super_build_are_marked_built():
    flatten = layers.Flatten()
    flatten.build((None, 2, 3))
    assert flatten.built and flatten.output_shape == (None, 6)
    lstm = layers.LSTM(4)                     # LSTM.build calls super().build, then edits a bias
    lstm.build((None, 3, 2))
    assert lstm.built and lstm.output_shape == (None, 4)
    assert len(lstm.parameters()) == 3


def test_a_user_layer_built_by_hand_is_built_once():
    class Scale(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight((input_shape[-1],), "ones", name="w")

        def forward(self, x, training=False):
            return x * self.w.value

    scale = Scale()
    scale.build((None, 4))
    scale(np.ones((2, 4)))
    assert scale.built and len(scale.parameters()) == 1


def test_models_build_explicitly_and_keep_their_weights():
    model = gn.Sequential([layers.Dense(3), layers.Dense(2)])
    model.build((None, 5))
    assert model.built and model.output_shape == (None, 2)
    count = model.count_params()
    model.predict(np.ones((2, 5)), verbose=0)
    model.build((None, 5))                    # its layers are built already: nothing new
    assert model.count_params() == count == 5 * 3 + 3 + 3 * 2 + 2
    inputs = gn.Input(shape=(5,))
    functional = gn.Model(inputs, layers.Dense(2)(inputs))
    functional.build((None, 5))
    assert functional.built and functional.count_params() == 12

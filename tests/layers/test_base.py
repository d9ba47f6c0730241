"""The Layer contract of layers/base.py: an explicit `build(shape)` marks the layer built."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import gradcheck, layers
from glassnet.layers.parameter import Parameter


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


# ----- issue 15: weights whose cast would change the model's meaning -------------------------
@pytest.mark.parametrize("value, message", [
    (np.array([[np.nan, 0.0], [0.0, 0.0], [0.0, 0.0]]), "1 non-finite value "),
    (np.full((3, 2), -np.inf), "6 non-finite values"),
    (np.full((3, 2), 1e300), "1e\\+300 overflows float32"),
    (np.full((3, 2), 2**62, np.int64), "integer 4611686018427387904 is not exact in float32"),
    (np.full((3, 2), 2**64 - 1, np.uint64), "integer 18446744073709551615 is not exact"),
    (np.full((3, 2), 1j), "complex"),
])
def test_set_weights_refuses_values_that_the_cast_would_change(value, message):
    dense = layers.Dense(2)
    dense.build((None, 3))
    before = dense.get_weights()
    with pytest.raises(ValueError, match=rf"weight '{dense.name}/kernel': .*{message}"):
        dense.set_weights([value, np.zeros(2)])
    with pytest.raises(ValueError, match=rf"weight '{dense.name}/bias': .*non-finite"):
        dense.set_weights([np.ones((3, 2)), np.array([0.0, np.nan])])   # the kernel is fine
    for got, want in zip(dense.get_weights(), before, strict=True):
        assert np.array_equal(got, want)                   # nothing was assigned
    with pytest.raises(ValueError, match="overflows float32"):
        dense.W.assign(np.full((3, 2), -1e39))


def test_set_weights_keeps_exact_and_rounding_casts():
    # float64 -> float32 rounds (as Keras does); small integers and bools are exact.
    dense = layers.Dense(2, dtype="float16")
    dense.build((None, 3))
    dense.set_weights([np.full((3, 2), 0.1), np.array([2048, -2048])])
    assert dense.get_weights()[0][0, 0] == np.float16(0.1)
    dense.set_weights([np.full((3, 2), 65504.0), np.array([True, False])])
    with pytest.raises(ValueError, match="integer 4097 is not exact in float16"):
        dense.set_weights([np.ones((3, 2)), np.array([4097, 0])])
    empty = Parameter(np.zeros((0, 2), np.float32), name="empty")
    empty.assign(np.zeros((0, 2), np.uint64))

"""Every loss class through a `.keras` file's compile config, both ways, against real Keras
(torch backend): the class and its arguments arrive, and the loaded model's loss equals the
saved one's on the same batch."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import losses

# Arguments other than the defaults, where a class has any (Keras' names).
ARGUMENTS = {
    "BinaryFocalCrossentropy": {"gamma": 1.5, "apply_class_balancing": True},
    "CategoricalFocalCrossentropy": {"alpha": 0.5},
    "CategoricalGeneralizedCrossEntropy": {"q": 0.3},
    "Tversky": {"alpha": 0.3, "beta": 0.7},
    "Circle": {"gamma": 20.0, "margin": 0.3},
    "BinaryCrossentropy": {"label_smoothing": 0.1},
}
NAMES = [cls.__name__ for cls in losses.LOSS_CLASSES]


def _model(library):
    """The same tiny model in Keras or glassnet."""
    return library.Sequential([library.Input((4,)), library.layers.Dense(3)])


@pytest.mark.parametrize("name", NAMES)
def test_a_loss_object_goes_through_a_keras_file_both_ways(keras, tmp_path, name):
    kwargs = ARGUMENTS.get(name, {})
    theirs = _model(keras)
    theirs.compile(optimizer="sgd", loss=getattr(keras.losses, name)(**kwargs))
    theirs.save(tmp_path / "keras.keras")
    ours = gn.load_model(tmp_path / "keras.keras")
    assert type(ours.loss).__name__ == name
    for key, value in kwargs.items():
        assert getattr(ours.loss, key) == value, key

    ours.save(tmp_path / "glassnet.keras")
    back = keras.saving.load_model(tmp_path / "glassnet.keras")
    assert type(back.loss).__name__ == name
    for key, value in kwargs.items():
        assert getattr(back.loss, key) == value, key


def test_a_loaded_hinge_model_computes_keras_loss(keras, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 4)).astype("float32")
    y = rng.choice([-1.0, 1.0], (16, 3)).astype("float32")
    theirs = _model(keras)
    theirs.compile(optimizer="sgd", loss=keras.losses.SquaredHinge())
    theirs.save(tmp_path / "hinge.keras")
    ours = gn.load_model(tmp_path / "hinge.keras")
    expected = theirs.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), expected, rtol=1e-5)

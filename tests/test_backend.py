"""glassnet.backend's Keras functions (`keras.backend`, `keras.config`, `keras.utils`)."""

import glassnet
from glassnet import backend, config, layers


def test_keras_backend_functions_answer_as_keras_does(keras):
    for name in ["floatx", "epsilon", "image_data_format"]:
        assert getattr(backend, name)() == getattr(keras.backend, name)()
        assert getattr(config, name)() == getattr(keras.config, name)()
    assert backend.backend() == config.backend() == "numpy"
    assert backend.standardize_dtype("float64") == "float64"


def test_clear_session_starts_default_names_again(keras):
    for lib in (glassnet, keras):
        lib.backend.clear_session()
        first = [lib.layers.Dense(1).name, lib.layers.Dense(1).name]
        lib.utils.clear_session()
        again = lib.layers.Dense(1).name
        assert (first, again) == (["dense", "dense_1"], "dense")
    model = glassnet.Sequential([glassnet.Input(shape=(2,)), layers.Dense(1)])
    glassnet.backend.clear_session()
    assert model.predict([[1.0, 2.0]], verbose=0).shape == (1, 1)

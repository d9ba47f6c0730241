"""Plot_model: the Functional guide draws its models with
keras.utils.plot_model(model, "file.png", show_shapes=True)."""

import glassnet as keras
from glassnet import layers


def test_plot_model_writes_a_png(tmp_path):
    inputs = keras.Input(shape=(784,))
    x = layers.Dense(64, activation="relu")(inputs)
    model = keras.Model(inputs, layers.Dense(10)(x), name="mnist_model")
    path = tmp_path / "my_first_model_with_shape_info.png"
    keras.utils.plot_model(model, str(path), show_shapes=True)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

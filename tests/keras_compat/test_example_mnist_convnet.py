"""A simple MNIST convnet, as in Keras' code examples, on a slice of the real MNIST."""

import numpy as np
from _keras_compat import mnist_subset

import glassnet as keras
from glassnet import layers

NUM_CLASSES = 10
INPUT_SHAPE = (28, 28, 1)


def test_a_small_convnet_learns_mnist_digits():
    (x_train, y_train), (x_test, y_test) = mnist_subset(train=2000, test=500)
    y_train = keras.utils.to_categorical(y_train, NUM_CLASSES)
    y_test = keras.utils.to_categorical(y_test, NUM_CLASSES)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=INPUT_SHAPE),
        layers.Conv2D(8, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(16, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(NUM_CLASSES, activation="softmax"),
    ])
    assert model.output_shape == (None, NUM_CLASSES)
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.Adam(3e-3),
                  metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=64, epochs=3, validation_split=0.1,
                        verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    score = model.evaluate(x_test, y_test, verbose=0)
    assert score[1] > 0.8                              # chance is 0.1
    predicted = np.argmax(model.predict(x_test[:20], verbose=0), axis=1)
    assert (predicted == np.argmax(y_test[:20], axis=1)).mean() > 0.6

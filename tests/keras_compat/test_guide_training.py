"""The features of Keras' guide "Training & evaluation with the built-in methods", in
Keras-style code on glassnet; losses and metrics are compared with Keras on torch, on the
same weights and data."""

import numpy as np
import pytest
from _keras_compat import assert_close, same_weights

import glassnet as keras
from glassnet import ops


@pytest.fixture
def keras_ref(keras):
    """Keras 3 on torch (tests/conftest.py's fixture), beside `import glassnet as keras`."""
    return keras


@pytest.fixture
def data(rng):
    x = rng.normal(size=(96, 8)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int64")
    return x, y


def get_model(lib, softmax=True):
    inputs = lib.Input(shape=(8,), name="digits")
    x = lib.layers.Dense(16, activation="relu", name="dense_1")(inputs)
    x = lib.layers.Dense(16, activation="relu", name="dense_2")(x)
    outputs = lib.layers.Dense(2, activation="softmax" if softmax else None,
                               name="predictions")(x)
    return lib.Model(inputs=inputs, outputs=outputs)


def twins(keras_ref, softmax=True):
    """The same model in glassnet and in Keras, with glassnet's weights in both."""
    keras.utils.set_random_seed(0)
    ours, theirs = get_model(keras, softmax), get_model(keras_ref, softmax)
    same_weights(ours, theirs)
    return ours, theirs


def test_fit_with_validation_data_gives_keras_history_keys(keras_ref, data):
    x, y = data
    histories = []
    for lib in (keras, keras_ref):
        model = get_model(lib)
        model.compile(optimizer=lib.optimizers.RMSprop(),
                      loss=lib.losses.SparseCategoricalCrossentropy(),
                      metrics=[lib.metrics.SparseCategoricalAccuracy()])
        history = model.fit(x, y, batch_size=32, epochs=2, validation_data=(x[:16], y[:16]),
                            verbose=0)
        histories.append(history.history)
    assert histories[0].keys() == histories[1].keys()
    assert all(len(values) == 2 for values in histories[0].values())


@pytest.mark.parametrize("loss, metrics", [
    ("sparse_categorical_crossentropy", ["sparse_categorical_accuracy"]),
    ("sparse_categorical_crossentropy", ["accuracy"]),
])
def test_evaluate_and_predict_match_keras(keras_ref, data, loss, metrics):
    x, y = data
    ours, theirs = twins(keras_ref)
    for model in (ours, theirs):
        model.compile(optimizer="rmsprop", loss=loss, metrics=metrics)
    assert_close(ours.evaluate(x, y, batch_size=32, verbose=0),
                 theirs.evaluate(x, y, batch_size=32, verbose=0))
    assert_close(ours.predict(x[:3], verbose=0), theirs.predict(x[:3], verbose=0))
    both = [m.evaluate(x, y, verbose=0, return_dict=True) for m in (ours, theirs)]
    assert both[0].keys() == both[1].keys()


def test_a_loss_function_of_y_true_and_y_pred_matches_keras(keras_ref, data):
    x, y = data
    y_one_hot = np.eye(2, dtype="float32")[y]
    ours, theirs = twins(keras_ref)
    for lib, model in ((keras, ours), (keras_ref, theirs)):
        def custom_mean_squared_error(y_true, y_pred, lib=lib):
            return lib.ops.mean(lib.ops.square(y_true - y_pred), axis=-1)

        model.compile(optimizer="adam", loss=custom_mean_squared_error)
    assert_close(ours.evaluate(x, y_one_hot, verbose=0),
                 theirs.evaluate(x, y_one_hot, verbose=0))
    history = ours.fit(x, y_one_hot, batch_size=32, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def custom_mse_class(lib):
    class CustomMSE(lib.losses.Loss):
        def __init__(self, regularization_factor=0.1, name="custom_mse"):
            super().__init__(name=name)
            self.regularization_factor = regularization_factor

        def call(self, y_true, y_pred):
            mse = lib.ops.mean(lib.ops.square(y_true - y_pred), axis=-1)
            reg = lib.ops.mean(lib.ops.square(0.5 - y_pred), axis=-1)
            return mse + reg * self.regularization_factor

    return CustomMSE


def test_a_loss_subclass_with_a_parameter_matches_keras(keras_ref, data):
    x, y = data
    y_one_hot = np.eye(2, dtype="float32")[y]
    ours, theirs = twins(keras_ref)
    ours.compile(optimizer="adam", loss=custom_mse_class(keras)(regularization_factor=0.3))
    theirs.compile(optimizer="adam", loss=custom_mse_class(keras_ref)(regularization_factor=0.3))
    assert_close(ours.evaluate(x, y_one_hot, verbose=0),
                 theirs.evaluate(x, y_one_hot, verbose=0))


def true_positives_metric(lib):
    class CategoricalTruePositives(lib.metrics.Metric):
        def __init__(self, name="categorical_true_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            y_pred = lib.ops.reshape(lib.ops.argmax(y_pred, axis=1), (-1, 1))
            values = lib.ops.cast(y_true, "int32") == lib.ops.cast(y_pred, "int32")
            values = lib.ops.cast(values, "float32")
            if sample_weight is not None:
                values = lib.ops.multiply(values, lib.ops.cast(sample_weight, "float32"))
            self.true_positives.assign_add(lib.ops.sum(values))

        def result(self):
            return self.true_positives.value

        def reset_state(self):
            self.true_positives.assign(0.0)

    return CategoricalTruePositives


def test_a_metric_subclass_matches_keras(keras_ref, data):
    x, y = data
    labels = y.reshape(-1, 1)
    ours, theirs = twins(keras_ref)
    ours.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                 metrics=[true_positives_metric(keras)()])
    theirs.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                   metrics=[true_positives_metric(keras_ref)()])
    mine = ours.evaluate(x, labels, batch_size=32, verbose=0, return_dict=True)
    reference = theirs.evaluate(x, labels, batch_size=32, verbose=0, return_dict=True)
    assert mine["categorical_true_positives"] == reference["categorical_true_positives"]
    assert mine["categorical_true_positives"] == np.sum(np.argmax(ours.predict(x, verbose=0),
                                                                  axis=1) == y)
    history = ours.fit(x, labels, batch_size=32, epochs=2, verbose=0)
    assert all(0 <= v <= len(x) for v in history.history["categorical_true_positives"])


def activity_model(lib, rate):
    class ActivityRegularizationLayer(lib.layers.Layer):
        def call(self, inputs):
            self.add_loss(lib.ops.sum(inputs) * rate)
            return inputs

    inputs = lib.Input(shape=(8,), name="digits")
    x = lib.layers.Dense(16, activation="relu", name="dense_1")(inputs)
    x = ActivityRegularizationLayer()(x)
    x = lib.layers.Dense(16, activation="relu", name="dense_2")(x)
    return lib.Model(inputs, lib.layers.Dense(2, name="predictions")(x))


def test_add_loss_in_a_layer_counts_in_the_loss_as_in_keras(keras_ref, data):
    x, y = data
    keras.utils.set_random_seed(0)
    ours, theirs = activity_model(keras, 0.01), activity_model(keras_ref, 0.01)
    same_weights(ours, theirs)
    for lib, model in ((keras, ours), (keras_ref, theirs)):
        model.compile(optimizer="rmsprop",
                      loss=lib.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert_close(ours.evaluate(x, y, batch_size=96, verbose=0),
                 theirs.evaluate(x, y, batch_size=96, verbose=0))


def test_validation_split_holds_out_the_last_part(data):
    x, y = data
    model = get_model(keras)
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                  metrics=["sparse_categorical_accuracy"])
    history = model.fit(x, y, batch_size=16, validation_split=0.25, epochs=1, verbose=0)
    assert set(history.history) == {"loss", "sparse_categorical_accuracy", "val_loss",
                                    "val_sparse_categorical_accuracy"}
    # the validation loss is the evaluation of the last quarter after the epoch
    assert_close(history.history["val_loss"][0], model.evaluate(x[72:], y[72:], verbose=0)[0])


def test_a_py_dataset_feeds_fit_and_evaluate(data):
    x, y = data

    class ExamplePyDataset(keras.utils.PyDataset):
        def __init__(self, x, y, batch_size, **kwargs):
            super().__init__(**kwargs)
            self.x, self.y, self.batch_size = x, y, batch_size

        def __len__(self):
            return int(np.ceil(len(self.x) / float(self.batch_size)))

        def __getitem__(self, idx):
            batch = slice(idx * self.batch_size, (idx + 1) * self.batch_size)
            return self.x[batch], self.y[batch]

    model = get_model(keras)
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
    history = model.fit(ExamplePyDataset(x, y, 32), epochs=2, verbose=0,
                        validation_data=ExamplePyDataset(x[:32], y[:32], 32))
    assert set(history.history) == {"loss", "val_loss"}
    assert_close(model.evaluate(ExamplePyDataset(x, y, 32), verbose=0),
                 model.evaluate(x, y, batch_size=32, verbose=0))


def test_sample_weights_weigh_the_loss_as_in_keras(keras_ref, data, rng):
    x, y = data
    sample_weight = rng.uniform(0.5, 2.0, size=len(x)).astype("float32")
    ours, theirs = twins(keras_ref)
    for model in (ours, theirs):
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                      metrics=["sparse_categorical_accuracy"])
    assert_close(ours.evaluate(x, y, sample_weight=sample_weight, verbose=0),
                 theirs.evaluate(x, y, sample_weight=sample_weight, verbose=0))


def test_class_weights_steer_training_as_in_keras(keras_ref, data):
    x, y = data
    class_weight = {0: 1.0, 1: 4.0}
    ours, theirs = twins(keras_ref)
    for lib, model in ((keras, ours), (keras_ref, theirs)):
        model.compile(optimizer=lib.optimizers.SGD(learning_rate=0.1),
                      loss="sparse_categorical_crossentropy")
        model.fit(x, y, class_weight=class_weight, batch_size=32, epochs=2, shuffle=False,
                  verbose=0)
    assert_close(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-4,
                 atol=1e-5)


def test_callbacks_stop_early_and_checkpoint_to_keras_files(data, tmp_path):
    x, y = data
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=1e9, patience=1),
        keras.callbacks.ModelCheckpoint(filepath=str(tmp_path / "mymodel_{epoch}.keras"),
                                        save_best_only=True, monitor="val_loss"),
    ]
    model = get_model(keras)
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=20, batch_size=32, callbacks=callbacks,
                        validation_split=0.2, verbose=0)
    # no epoch improves by 1e9: training stops after the first epoch plus `patience`
    val_loss = history.history["val_loss"]
    assert len(val_loss) == 2
    # the checkpoint keeps every epoch that improved on the best so far (no min_delta)
    improved = [1] + ([2] if val_loss[1] < val_loss[0] else [])
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"mymodel_{e}.keras" for e in improved]
    restored = keras.models.load_model(tmp_path / "mymodel_1.keras")
    assert restored.predict(x[:2], verbose=0).shape == (2, 2)


def test_a_learning_rate_schedule_matches_keras(keras_ref):
    schedules = [lib.optimizers.schedules.ExponentialDecay(
        0.1, decay_steps=3, decay_rate=0.5, staircase=True) for lib in (keras, keras_ref)]
    for step in [0, 1, 2, 3, 7, 30]:
        assert_close(schedules[0](step), float(schedules[1](step)))
    optimizer = keras.optimizers.SGD(learning_rate=schedules[0])
    model = get_model(keras)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    model.fit(np.zeros((32, 8), "float32"), np.zeros(32, "int64"), batch_size=8, epochs=1,
              verbose=0)
    assert_close(float(optimizer.learning_rate), 0.1 * 0.5)     # after 4 steps
    assert_close(ops.convert_to_numpy(optimizer.iterations), 4)


def test_a_generator_and_a_torch_data_loader_feed_fit(torch, data):
    x, y = data

    def batches():
        while True:
            for start in range(0, len(x), 32):
                yield x[start:start + 32], y[start:start + 32]

    model = get_model(keras)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(batches(), steps_per_epoch=3, epochs=3, verbose=0)
    dataset = torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y))
    train_loader = torch.utils.data.DataLoader(dataset, batch_size=32, shuffle=True)
    history = model.fit(train_loader, epochs=5, verbose=0,
                        validation_data=torch.utils.data.DataLoader(dataset, batch_size=48))
    assert history.history["val_accuracy"][-1] > 0.85
    assert_close(model.evaluate(torch.utils.data.DataLoader(dataset, batch_size=48), verbose=0),
                 model.evaluate(x, y, batch_size=48, verbose=0))

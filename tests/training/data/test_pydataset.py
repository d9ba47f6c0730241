"""fit / evaluate / predict on a PyDataset or a generator: same numbers as on the arrays,
batch-index shuffling, on_epoch_end, and per-batch checks with errors naming the batch."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers
from glassnet.random import set_random_seed
from glassnet.training.data.pydataset import PyDataset, Sequence

BATCH = 10


def make_model(seed: int = 3):
    set_random_seed(seed)
    model = gn.Sequential([layers.Input(shape=(4,)), layers.Dense(8, activation="tanh"),
                           layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def arrays(n: int = 45):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype(int) + (x[:, 1] > 0), rng.uniform(0.5, 2.0, n)


class Slices(PyDataset):
    """Batch i = samples [i*BATCH, (i+1)*BATCH) of `arrays()`; records what was asked."""

    def __init__(self, with_weights: bool = False, x_only: bool = False, n: int = 45):
        super().__init__()
        self.x, self.y, self.w = arrays(n)
        self.with_weights, self.x_only = with_weights, x_only
        self.requested: list[int] = []
        self.epochs_ended = 0

    def __len__(self):
        return -(-len(self.x) // BATCH)

    def __getitem__(self, index):
        self.requested.append(index)
        part = slice(index * BATCH, (index + 1) * BATCH)
        if self.x_only:
            return self.x[part]
        if self.with_weights:
            return self.x[part], self.y[part], self.w[part]
        return self.x[part], self.y[part]

    def on_epoch_end(self):
        self.epochs_ended += 1


def same_weights(a, b):
    return all(u.tobytes() == v.tobytes() for u, v in zip(a.get_weights(), b.get_weights()))


@pytest.mark.parametrize("with_weights", [False, True])
def test_fit_on_pydataset_equals_fit_on_arrays(with_weights):
    x, y, w = arrays()
    on_arrays = make_model()
    expected = on_arrays.fit(x, y, sample_weight=w if with_weights else None, batch_size=BATCH,
                             epochs=3, shuffle=False, verbose=0)
    on_dataset = make_model()
    dataset = Slices(with_weights=with_weights)
    history = on_dataset.fit(dataset, epochs=3, shuffle=False, verbose=0)
    assert same_weights(on_arrays, on_dataset)
    assert history.history == expected.history
    assert dataset.requested == [0, 1, 2, 3, 4] * 3 and dataset.epochs_ended == 3


def test_shuffle_permutes_batch_indices_each_epoch():
    dataset = Slices()
    make_model().fit(dataset, epochs=4, verbose=0)
    epochs = [dataset.requested[i:i + 5] for i in range(0, 20, 5)]
    assert all(sorted(e) == [0, 1, 2, 3, 4] for e in epochs)   # each batch once an epoch
    assert len({tuple(e) for e in epochs}) > 1                 # in a new order
    # ... drawn from glassnet's seeded generator: the same seed gives the same orders
    again = Slices()
    make_model().fit(again, epochs=4, verbose=0)
    assert again.requested == dataset.requested


def test_class_weight_applies_per_batch():
    x, y, _ = arrays()
    weights = {0: 1.0, 1: 3.0, 2: 0.5}
    on_arrays, on_dataset = make_model(), make_model()
    on_arrays.fit(x, y, class_weight=weights, batch_size=BATCH, shuffle=False, verbose=0)
    on_dataset.fit(Slices(), class_weight=weights, shuffle=False, verbose=0)
    assert same_weights(on_arrays, on_dataset)


def test_evaluate_and_predict_on_pydataset_and_generators():
    x, y, _ = arrays()
    model = make_model()
    expected = model.evaluate(x, y, batch_size=BATCH, verbose=0, return_dict=True)
    assert model.evaluate(Slices(), verbose=0, return_dict=True) == expected

    def generator():
        for start in range(0, len(x), BATCH):
            yield x[start:start + BATCH], y[start:start + BATCH]

    assert model.evaluate(generator(), verbose=0, return_dict=True) == expected
    predicted = model.predict(x, batch_size=BATCH, verbose=0)
    np.testing.assert_array_equal(model.predict(Slices(x_only=True), verbose=0), predicted)
    np.testing.assert_array_equal(model.predict(Slices(), verbose=0), predicted)  # y ignored
    np.testing.assert_array_equal(model.predict((b for b, _ in generator()), verbose=0),
                                  predicted)
    np.testing.assert_array_equal(model.predict(Slices(), steps=2, verbose=0), predicted[:20])


def test_generator_with_steps_per_epoch_equals_arrays():
    x, y, _ = arrays(40)

    def endless():
        while True:
            for start in range(0, len(x), BATCH):
                yield x[start:start + BATCH], y[start:start + BATCH]

    on_arrays, on_generator = make_model(), make_model()
    expected = on_arrays.fit(x, y, batch_size=BATCH, epochs=3, shuffle=False, verbose=0)
    history = on_generator.fit(endless(), steps_per_epoch=4, epochs=3, verbose=0)
    assert same_weights(on_arrays, on_generator)
    assert history.history == expected.history


def test_generator_without_steps_runs_one_epoch_then_warns():
    x, y, _ = arrays(40)
    batches = ((x[i:i + BATCH], y[i:i + BATCH]) for i in range(0, 40, BATCH))
    model = make_model()
    with pytest.warns(UserWarning, match="ran out of data"):
        history = model.fit(batches, epochs=3, verbose=0)
    assert history.epoch == [0] and model.optimizer.iterations == 4


def test_validation_data_as_pydataset():
    x, y, _ = arrays()
    model = make_model()
    history = model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0,
                        validation_data=Slices())
    evaluated = model.evaluate(x, y, batch_size=BATCH, verbose=0, return_dict=True)
    assert history.history["val_loss"][-1] == evaluated["loss"]
    assert history.history["val_accuracy"][-1] == evaluated["accuracy"]


class Broken(Slices):
    """One bad batch: NaN, a wrong feature count, or x alone."""

    def __init__(self, problem: str):
        super().__init__()
        self.problem = problem

    def __getitem__(self, index):
        x, y = super().__getitem__(index)
        if index != 2:
            return x, y
        if self.problem == "nan":
            x = x.copy()
            x[3, 1] = np.nan
            return x, y
        if self.problem == "shape":
            return x[:, :3], y
        if self.problem == "labels":
            return x, y + 5
        return (x,)


@pytest.mark.parametrize("problem, error, message", [
    ("nan", ValueError, r"x \(Broken\[2\]\): contains nan at index \(3, 1\)"),
    ("shape", ValueError, r"x \(Broken\[2\]\): expected shape \(n, 4\)"),
    ("labels", ValueError, r"y \(Broken\[2\]\): labels must be in \[0, 3\)"),
    ("x alone", ValueError, r"Broken\[2\]: expected a batch \(x, y\)"),
])
def test_bad_batch_is_named(problem, error, message):
    with pytest.raises(error, match=message):
        make_model().fit(Broken(problem), shuffle=False, verbose=0)


def test_strings_in_a_generator_batch_are_refused():
    batches = iter([(np.array([["a"] * 4]), np.array([0]))])
    with pytest.raises(TypeError, match=r"x \(batch 0 of the generator\): expected numbers"):
        make_model().fit(batches, verbose=0)


def test_arguments_that_a_dataset_supplies_itself():
    x, y, w = arrays()
    with pytest.raises(ValueError, match="y: must be None when x is a PyDataset"):
        make_model().fit(Slices(), y, verbose=0)
    with pytest.raises(ValueError, match="sample_weight: must be None when x is a generator"):
        make_model().fit(iter([(x, y)]), sample_weight=w, verbose=0)
    with pytest.raises(ValueError, match="validation_split: only supported"):
        make_model().fit(Slices(), validation_split=0.2, verbose=0)


def test_empty_pydataset_and_bad_tuples():
    class Empty(PyDataset):
        def __len__(self):
            return 0

    with pytest.raises(ValueError, match="has 0 batches"):
        make_model().fit(Empty(), verbose=0)
    x, y, w = arrays()
    with pytest.raises(ValueError, match="tuple of 4 items"):
        make_model().fit(iter([(x, y, w, w)]), verbose=0)


def test_base_class_and_keras_alias():
    assert Sequence is PyDataset
    with pytest.raises(NotImplementedError, match="__len__"):
        len(PyDataset())
    assert Slices().num_batches == 5

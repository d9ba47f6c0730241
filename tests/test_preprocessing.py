"""train_test_split, to_categorical and the scalers, compared with scikit-learn and Keras rules."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet.preprocessing import MinMaxScaler, StandardScaler, to_categorical, train_test_split
from glassnet.random import set_random_seed
from glassnet.registry import lookup

sklearn = pytest.importorskip("sklearn")
from sklearn import model_selection  # noqa: E402
from sklearn import preprocessing as sk  # noqa: E402

# ----------------------------------------------------------------------------- train_test_split

SIZES = [
    {},
    {"test_size": 0.2},
    {"test_size": 0.33},
    {"test_size": 7},
    {"train_size": 0.5},
    {"train_size": 11},
    {"train_size": 0.6, "test_size": 0.3},
    {"train_size": 10, "test_size": 5},
]


@pytest.mark.parametrize("n", [17, 50])
@pytest.mark.parametrize("sizes", SIZES)
def test_split_sizes_and_unshuffled_split_match_sklearn(n, sizes):
    x = np.arange(n * 2).reshape(n, 2)
    y = np.arange(n)
    ours = train_test_split(x, y, shuffle=False, **sizes)
    reference = model_selection.train_test_split(x, y, shuffle=False, **sizes)
    for mine, theirs in zip(ours, reference, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    shuffled = train_test_split(x, y, seed=0, **sizes)
    assert [len(part) for part in shuffled] == [len(part) for part in reference]


def test_shuffled_split_keeps_rows_aligned_and_disjoint(rng):
    x = rng.standard_normal((40, 3))
    y = np.arange(40)
    names = [f"row{i}" for i in range(40)]  # a list is split too
    x_train, x_test, y_train, y_test, n_train, n_test = train_test_split(x, y, names, seed=5)
    assert (len(y_train), len(y_test)) == (30, 10)
    np.testing.assert_array_equal(x_train, x[y_train])
    np.testing.assert_array_equal(x_test, x[y_test])
    assert list(n_test) == [f"row{i}" for i in y_test]
    assert sorted(np.concatenate([y_train, y_test])) == list(range(40))
    assert not np.array_equal(y_test, np.arange(30, 40))  # actually shuffled


def test_split_seed_repeats_and_none_follows_the_global_seed():
    y = np.arange(100)
    assert np.array_equal(train_test_split(y, seed=3)[1], train_test_split(y, seed=3)[1])
    assert not np.array_equal(train_test_split(y, seed=3)[1], train_test_split(y, seed=4)[1])
    set_random_seed(11)
    first = train_test_split(y)[1]
    set_random_seed(11)
    np.testing.assert_array_equal(train_test_split(y)[1], first)


@pytest.mark.parametrize(
    ("counts", "test_size"),
    [([161, 162, 159, 159, 161, 159, 161, 158, 155, 158], 0.2), ([50, 30, 20], 0.3),
     ([7, 13, 40, 3], 0.25), ([10, 10, 10], 6)],
)
def test_stratified_counts_match_sklearn(counts, test_size):
    y = np.repeat(np.arange(len(counts)), counts)
    np.random.default_rng(0).shuffle(y)
    _, y_test = train_test_split(y, test_size=test_size, stratify=y, seed=1)
    _, ref_test = model_selection.train_test_split(y, test_size=test_size, stratify=y,
                                                   random_state=1)
    assert len(y_test) == len(ref_test)
    ours, theirs = np.bincount(y_test), np.bincount(ref_test)
    # Ties in the rounding are broken at random (differently); otherwise counts agree.
    assert np.abs(ours - theirs).max() <= 1
    exact = np.asarray(counts) * len(y_test) / len(y)
    assert np.all(np.abs(ours - exact) < 1)


def test_stratified_split_by_one_hot_labels():
    labels = np.repeat(np.arange(3), [20, 20, 10])
    one_hot = np.eye(3)[labels]
    _, test = train_test_split(one_hot, test_size=0.2, stratify=one_hot, seed=0)
    assert test.sum(axis=0).tolist() == [4, 4, 2]


def test_split_errors():
    x = np.zeros((10, 2))
    with pytest.raises(ValueError, match="array 1 has 9"):
        train_test_split(x, np.zeros(9))
    with pytest.raises(ValueError, match="test_size: expected a fraction in"):
        train_test_split(x, test_size=1.5)
    with pytest.raises(ValueError, match=r"row count in \[1, 9\], got 10"):
        train_test_split(x, test_size=10)
    with pytest.raises(ValueError, match="more than the 10 rows"):
        train_test_split(x, test_size=0.5, train_size=0.6)
    with pytest.raises(ValueError, match="needs shuffle=True"):
        train_test_split(x, shuffle=False, stratify=np.zeros(10))
    with pytest.raises(ValueError, match="class 2 has only 1 row"):
        train_test_split(x, stratify=[0, 0, 0, 0, 1, 1, 1, 1, 1, 2])
    with pytest.raises(ValueError, match="at least one array"):
        train_test_split()
    with pytest.raises(TypeError, match="test_size"):
        train_test_split(x, test_size="half")


# ----------------------------------------------------------------------------- to_categorical


def test_to_categorical_follows_keras_shapes():
    y = np.array([2, 0, 1, 2])
    expected = np.eye(3, dtype=np.float32)[y]
    np.testing.assert_array_equal(to_categorical(y), expected)
    np.testing.assert_array_equal(to_categorical(y[:, None]), expected)  # (n, 1) -> (n, k)
    assert to_categorical([[1, 2], [0, 3]], num_classes=5).shape == (2, 2, 5)
    assert to_categorical(y, num_classes=6).shape == (4, 6)
    assert to_categorical(y).dtype == np.float32
    assert to_categorical(y, dtype="uint8").dtype == np.uint8
    np.testing.assert_array_equal(to_categorical(np.array([1.0, 0.0])), [[0, 1], [1, 0]])


def test_to_categorical_matches_torch_one_hot(torch):
    y = np.random.default_rng(0).integers(0, 7, size=50)
    reference = torch.nn.functional.one_hot(torch.from_numpy(y), num_classes=9).numpy()
    np.testing.assert_array_equal(to_categorical(y, num_classes=9), reference)


def test_to_categorical_errors():
    with pytest.raises(ValueError, match=r"\[0, 2\].*from 0 to 3"):
        to_categorical([0, 3], num_classes=3)
    with pytest.raises(ValueError, match="from -1"):
        to_categorical([-1, 1])
    with pytest.raises(ValueError, match="non-integer"):
        to_categorical([0.5, 1.0])
    with pytest.raises(TypeError, match="dtype <U3"):
        to_categorical(["cat", "dog"])
    with pytest.raises(ValueError, match="empty"):
        to_categorical(np.array([], dtype=int))


# ----------------------------------------------------------------------------- scalers


def data(rng) -> np.ndarray:
    x = rng.standard_normal((30, 4)) * [1.0, 10.0, 0.01, 3.0] + [0.0, 5.0, -2.0, 100.0]
    x[:, 3] = 7.0  # a constant feature: scale falls back to 1
    return x


@pytest.mark.parametrize(("with_mean", "with_std"), [(True, True), (False, True), (True, False)])
def test_standard_scaler_matches_sklearn(rng, with_mean, with_std):
    x, x_new = data(rng), data(rng)
    ours = StandardScaler(with_mean=with_mean, with_std=with_std).fit(x)
    theirs = sk.StandardScaler(with_mean=with_mean, with_std=with_std).fit(x)
    for name in ("mean_", "var_", "scale_"):
        if getattr(theirs, name) is None:
            assert getattr(ours, name) is None
        else:
            np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-12)
    np.testing.assert_allclose(ours.transform(x_new), theirs.transform(x_new), rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(ours.inverse_transform(ours.transform(x_new)), x_new, rtol=1e-12)
    assert ours.n_features_in_ == 4 and ours.n_samples_seen_ == 30


@pytest.mark.parametrize(("feature_range", "clip"), [((0, 1), False), ((-1, 2), False),
                                                      ((0, 1), True)])
def test_min_max_scaler_matches_sklearn(rng, feature_range, clip):
    x, x_new = data(rng), data(rng) * 1.5
    ours = MinMaxScaler(feature_range, clip=clip).fit(x)
    theirs = sk.MinMaxScaler(feature_range=feature_range, clip=clip).fit(x)
    for name in ("data_min_", "data_max_", "data_range_", "scale_", "min_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-12)
    np.testing.assert_allclose(ours.transform(x_new), theirs.transform(x_new), rtol=1e-10,
                               atol=1e-12)
    transformed = ours.fit_transform(x)
    np.testing.assert_allclose(transformed.min(axis=0)[:3], feature_range[0], atol=1e-12)
    np.testing.assert_allclose(transformed.max(axis=0)[:3], feature_range[1], atol=1e-12)
    if not clip:
        np.testing.assert_allclose(ours.inverse_transform(ours.transform(x_new)), x_new,
                                   rtol=1e-12)


@pytest.mark.parametrize("scaler", [StandardScaler, MinMaxScaler])
def test_scalers_keep_float32_and_cast_integers(rng, scaler):
    x = rng.standard_normal((20, 3)).astype(np.float32)
    assert scaler().fit(x).transform(x).dtype == np.float32
    assert scaler().fit(x).inverse_transform(x).dtype == np.float32
    assert scaler().fit_transform(np.arange(12).reshape(6, 2)).dtype == np.float32


@pytest.mark.parametrize("scaler", [StandardScaler, MinMaxScaler])
def test_scaler_errors(scaler):
    with pytest.raises(ValueError, match="not fitted yet"):
        scaler().transform(np.zeros((2, 3)))
    fitted = scaler().fit(np.arange(6.0).reshape(2, 3))
    with pytest.raises(ValueError, match="4 features, but the scaler was fitted on 3"):
        fitted.transform(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"got \(6,\)"):
        scaler().fit(np.arange(6.0))
    with pytest.raises(ValueError, match="NaN"):
        scaler().fit(np.array([[1.0], [np.nan]]))


def test_min_max_scaler_rejects_an_empty_range():
    with pytest.raises(ValueError, match=r"min < max, got \(1, 1\)"):
        MinMaxScaler((1, 1))


@pytest.mark.parametrize("scaler", [StandardScaler(), MinMaxScaler((-2, 2), clip=True)])
def test_config_round_trip_restores_a_fitted_scaler(rng, scaler):
    x = data(rng)
    scaler.fit(x)
    config = scaler.get_config()
    assert all(isinstance(config[name], np.ndarray) for name in type(scaler)._state)
    restored = lookup("preprocessing", type(scaler).__name__).from_config(config)
    np.testing.assert_array_equal(restored.transform(x), scaler.transform(x))
    unfitted = type(scaler).from_config(type(scaler)().get_config())
    with pytest.raises(ValueError, match="not fitted"):
        unfitted.transform(x)


def test_keras_preprocessing_paths_reach_the_same_functions():
    """Older Keras scripts: `from keras.preprocessing.sequence import pad_sequences`,
    `keras.preprocessing.timeseries_dataset_from_array`."""
    import glassnet
    from glassnet.preprocessing.sequence import pad_sequences

    assert pad_sequences is glassnet.utils.pad_sequences
    assert glassnet.preprocessing.sequence.pad_sequences is pad_sequences
    assert glassnet.preprocessing.timeseries_dataset_from_array is \
        glassnet.utils.timeseries_dataset_from_array
    np.testing.assert_array_equal(pad_sequences([[1, 2], [3]], padding="post"), [[1, 2], [3, 0]])
    with pytest.raises(AttributeError, match="text_dataset_from_directory"):
        glassnet.preprocessing.text_dataset_from_directory  # noqa: B018

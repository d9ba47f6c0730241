"""Initializers: Keras 3 formulas checked on large samples, seeds, fans, look-up, bad args."""

from __future__ import annotations

import math

import numpy as np
import pytest

from glassnet import config, initializers, registry
from glassnet import random as gn_random
from glassnet.layers.base import Layer

TRUNCATED_STD = 0.87962566103423978     # std of N(0, 1) truncated to [-2, 2]

# name, scale, fan mode, uniform?  (Keras 3's definitions)
VARIANCE_SCALING = [
    ("glorot_uniform", 1.0, "fan_avg", True),
    ("glorot_normal", 1.0, "fan_avg", False),
    ("he_uniform", 2.0, "fan_in", True),
    ("he_normal", 2.0, "fan_in", False),
    ("lecun_uniform", 1.0, "fan_in", True),
    ("lecun_normal", 1.0, "fan_in", False),
]
ALL_NAMES = ["zeros", "ones", "constant", "random_uniform", "random_normal", "truncated_normal",
             "variance_scaling", "orthogonal", "identity"] + [v[0] for v in VARIANCE_SCALING]


@pytest.mark.parametrize(("shape", "fans"), [
    ((), (1, 1)), ((7,), (7, 7)), ((4, 6), (4, 6)),
    ((5, 8, 16), (40, 80)),                  # Conv1D (k, c_in, c_out)
    ((3, 3, 8, 16), (72, 144)),              # Conv2D (kh, kw, c_in, c_out)
    ((2, 3, 3, 4, 5), (72, 90)),             # Conv3D
])
def test_compute_fans(shape, fans):
    assert initializers.compute_fans(shape) == fans


@pytest.mark.parametrize(("name", "scale", "mode", "uniform"), VARIANCE_SCALING)
@pytest.mark.parametrize("shape", [(800, 600), (3, 3, 96, 128)])
def test_variance_scaling_family_matches_keras_formulas(name, scale, mode, uniform, shape):
    fan_in, fan_out = initializers.compute_fans(shape)
    n = {"fan_in": fan_in, "fan_avg": (fan_in + fan_out) / 2}[mode]
    target_std = math.sqrt(scale / n)
    w = initializers.get({"class_name": name, "config": {"seed": 7}})(shape, dtype="float64")
    assert w.shape == shape and w.dtype == np.float64
    assert abs(w.mean()) < 0.01 * target_std
    assert w.std() == pytest.approx(target_std, rel=0.01)
    if uniform:
        limit = math.sqrt(3 * scale / n)
        assert np.abs(w).max() <= limit
        assert np.abs(w).max() > 0.999 * limit           # the whole range is used
    else:
        bound = 2 * target_std / TRUNCATED_STD           # 2 stddev of the untruncated draw
        assert np.abs(w).max() <= bound
        assert np.abs(w).max() > 0.99 * bound


def test_glorot_uniform_limit_for_a_dense_kernel():
    """The textbook formula a = sqrt(6 / (n_in + n_out))."""
    w = initializers.GlorotUniform(seed=0)((300, 100))
    limit = math.sqrt(6 / 400)
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit


def test_random_uniform_normal_and_truncated_normal():
    shape = (1000, 500)
    w = initializers.RandomUniform(minval=-0.2, maxval=0.6, seed=1)(shape, dtype="float64")
    assert w.min() >= -0.2 and w.max() < 0.6
    assert w.mean() == pytest.approx(0.2, abs=2e-3)
    assert w.std() == pytest.approx(0.8 / math.sqrt(12), rel=0.01)

    w = initializers.RandomNormal(mean=1.0, stddev=0.5, seed=1)(shape, dtype="float64")
    assert w.mean() == pytest.approx(1.0, abs=2e-3)
    assert w.std() == pytest.approx(0.5, rel=0.01)

    w = initializers.TruncatedNormal(mean=-1.0, stddev=0.5, seed=1)(shape, dtype="float64")
    assert w.mean() == pytest.approx(-1.0, abs=2e-3)
    assert w.std() == pytest.approx(0.5 * TRUNCATED_STD, rel=0.01)
    assert w.min() >= -2.0 and w.max() <= 0.0             # mean -+ 2 stddev
    assert w.min() < -1.99 and w.max() > -0.01


def test_variance_scaling_modes_and_untruncated_normal():
    shape = (400, 1600)
    w = initializers.VarianceScaling(scale=3.0, mode="fan_out",
                                     distribution="untruncated_normal", seed=2)(shape)
    assert w.std() == pytest.approx(math.sqrt(3.0 / 1600), rel=0.01)
    assert np.abs(w).max() > 4 * math.sqrt(3.0 / 1600)     # not truncated
    normal = initializers.VarianceScaling(distribution="normal", seed=2)
    assert normal.distribution == "truncated_normal"        # Keras' alias


def test_constant_zeros_ones_identity_orthogonal():
    assert np.all(initializers.Zeros()((3, 4)) == 0)
    assert np.all(initializers.Ones()((3, 4)) == 1)
    assert np.all(initializers.Constant(2.5)((2, 2)) == 2.5)
    np.testing.assert_array_equal(initializers.Identity(gain=2.0)((3, 4)), 2 * np.eye(3, 4))
    for shape in [(6, 4), (4, 6), (3, 2, 4)]:
        w = initializers.Orthogonal(gain=1.5, seed=0)(shape, dtype="float64")
        flat = w.reshape(-1, shape[-1])
        gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
        np.testing.assert_allclose(gram, 2.25 * np.eye(len(gram)), atol=1e-12)


@pytest.mark.parametrize("name", ALL_NAMES)
@pytest.mark.parametrize("dtype", [None, "float32", "float64", "float16"])
def test_dtype_and_shape(name, dtype):
    w = initializers.get(name)((5, 5), dtype=dtype)
    assert w.shape == (5, 5)
    assert w.dtype == np.dtype(dtype or config.floatx())


def test_seeded_initializer_repeats_and_unseeded_draws_anew():
    seeded = initializers.HeNormal(seed=42)
    np.testing.assert_array_equal(seeded((20, 30)), seeded((20, 30)))
    np.testing.assert_array_equal(seeded((20, 30)), initializers.HeNormal(seed=42)((20, 30)))
    assert not np.array_equal(seeded((20, 30)), initializers.HeNormal(seed=43)((20, 30)))
    unseeded = initializers.HeNormal()
    assert not np.array_equal(unseeded((20, 30)), unseeded((20, 30)))
    # drawn in float64, then cast: one seed gives the same weights in both dtypes
    np.testing.assert_array_equal(seeded((20, 30), dtype="float32"),
                                  seeded((20, 30), dtype="float64").astype(np.float32))


def test_global_seed_makes_unseeded_initializers_reproducible():
    def draw():
        gn_random.set_random_seed(123)
        return [initializers.get(name)((10, 8)) for name in
                ("glorot_uniform", "he_normal", "random_normal", "orthogonal")]

    first, second = draw(), draw()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1])


def test_add_weight_uses_initializers():
    gn_random.set_random_seed(0)
    layer = Layer()
    kernel = layer.add_weight((3, 3, 4, 8), "he_uniform", name="kernel")
    assert kernel.value.dtype == np.float32
    assert np.abs(kernel.value).max() <= math.sqrt(6 / 36)


# ----- look-up and configs ----------------------------------------------------------------
@pytest.mark.parametrize(("identifier", "cls"), [
    ("glorot_uniform", initializers.GlorotUniform), ("GlorotUniform", initializers.GlorotUniform),
    ("he_normal", initializers.HeNormal), ("random_uniform", initializers.RandomUniform),
    ("uniform", initializers.RandomUniform), ("normal", initializers.RandomNormal),
    ("zeros", initializers.Zeros), ("zero", initializers.Zeros), ("ones", initializers.Ones),
    ("orthogonal", initializers.Orthogonal), (initializers.Zeros, initializers.Zeros),
    ({"class_name": "RandomNormal", "config": {"stddev": 0.1}}, initializers.RandomNormal),
])
def test_get_resolves(identifier, cls):
    assert type(initializers.get(identifier)) is cls


def test_get_passes_instances_callables_and_none_through():
    instance = initializers.Constant(3.0)
    assert initializers.get(instance) is instance
    assert initializers.get(None) is None

    def custom(shape, dtype=None):
        return np.full(shape, 7.0, dtype=dtype)

    assert initializers.get(custom) is custom


def test_get_rejects_unknown_names_listing_valid_ones():
    with pytest.raises(ValueError, match="glorot_uniform") as info:
        initializers.get("xavier")
    assert "he_normal" in str(info.value)
    with pytest.raises(TypeError):
        initializers.get(3.5)


@pytest.mark.parametrize("initializer", [
    initializers.GlorotUniform(seed=3), initializers.RandomUniform(-1.0, 2.0, seed=4),
    initializers.TruncatedNormal(stddev=0.3, seed=5), initializers.Constant(0.5),
    initializers.VarianceScaling(2.0, "fan_avg", "uniform", seed=6),
    initializers.Orthogonal(gain=2.0, seed=7),
], ids=lambda i: type(i).__name__)
def test_config_round_trip_gives_the_same_values(initializer):
    restored = initializers.get(registry.serialize(initializer))
    assert restored.get_config() == initializer.get_config()
    np.testing.assert_array_equal(restored((6, 5)), initializer((6, 5)))


@pytest.mark.parametrize(("factory", "argument"), [
    (lambda: initializers.RandomUniform(minval=0.1, maxval=0.1), "minval"),
    (lambda: initializers.RandomUniform(minval=1.0, maxval=-1.0), "minval"),
    (lambda: initializers.RandomNormal(stddev=0.0), "stddev"),
    (lambda: initializers.TruncatedNormal(stddev=-1.0), "stddev"),
    (lambda: initializers.VarianceScaling(scale=0.0), "scale"),
    (lambda: initializers.VarianceScaling(mode="fan_sum"), "mode"),
    (lambda: initializers.VarianceScaling(distribution="cauchy"), "distribution"),
    (lambda: initializers.GlorotUniform(seed=-1), "seed"),
    (lambda: initializers.HeNormal(seed=1.5), "seed"),
    (lambda: initializers.Constant([1.0, 2.0]), "value"),
])
def test_bad_arguments_raise_value_error(factory, argument):
    with pytest.raises(ValueError, match=argument):
        factory()


def test_bad_shapes_and_dtypes():
    with pytest.raises(ValueError, match="rank"):
        initializers.Orthogonal()((5,))
    with pytest.raises(ValueError, match="2-D"):
        initializers.Identity()((2, 2, 2))
    with pytest.raises(ValueError, match="shape"):
        initializers.Zeros()((3, -1))
    with pytest.raises(TypeError, match="dtype"):
        initializers.Zeros()((3,), dtype="int32")


@pytest.mark.parametrize("name", ["random_uniform", "random_normal", "truncated_normal",
                                  "glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
                                  "lecun_uniform", "lecun_normal", "orthogonal"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_values_drawn_in_blocks_equal_one_draw(name, dtype):
    """`__call__` fills uniform/normal weights block by block (no float64 copy of the whole
    weight): the values are exactly generate(shape, rng) cast, also across block borders."""
    shape = (300, 450)                          # 135,000 values: three blocks
    assert math.prod(shape) > 2 * initializers._DRAW_BLOCK
    initializer = initializers.get({"class_name": name, "config": {"seed": 7}})
    expected = initializer.generate(shape, np.random.default_rng(7)).astype(dtype)
    np.testing.assert_array_equal(initializer(shape, dtype=dtype), expected)
    blocked = initializer.sequential(shape, np.random.default_rng(7)) is not None
    assert blocked == (name in ("random_uniform", "random_normal", "glorot_uniform",
                                "he_uniform", "lecun_uniform"))


# ----- every Keras 3 name, with Keras' arguments and values ------------------------------------
def _keras_names(keras):
    return [name for name in dir(keras.initializers) if not name.startswith("_")
            and name not in ("get", "serialize", "deserialize", "Initializer")]


def test_every_keras_initializer_name_exists_with_keras_arguments(keras):
    import inspect

    names = _keras_names(keras)
    assert [name for name in names if not hasattr(initializers, name)] == []
    for name in names:
        ours = inspect.signature(getattr(initializers, name)).parameters
        theirs = inspect.signature(getattr(keras.initializers, name)).parameters
        if any(p.kind is p.VAR_POSITIONAL for p in theirs.values()):
            continue                                         # Zeros, Ones: no arguments
        assert {k: p.default for k, p in ours.items()} == \
            {k: p.default for k, p in theirs.items()}, name


def _without_unset_axes(config):
    return {k: v for k, v in config.items()
            if not (k in ("input_axes", "output_axes") and v is None)}


def test_default_configs_equal_keras(keras):
    for name in _keras_names(keras):
        ours = getattr(initializers, name)().get_config()
        theirs = _without_unset_axes(getattr(keras.initializers, name)().get_config())
        if getattr(initializers, name) is initializers.Identity:
            theirs = {"gain": 1.0, **theirs}        # Keras' Identity leaves its gain out
        assert ours == theirs, name


@pytest.mark.parametrize(("name", "kwargs", "shape"), [
    ("Zeros", {}, (3, 4)), ("ones", {}, (2, 5)), ("Constant", {"value": 0.25}, (4, 2)),
    ("Identity", {"gain": 2.0}, (3, 5)), ("identity", {}, (4, 4)),
    ("STFT", {}, (16, 1, 9)), ("stft", {"side": "imag", "window": "hamming"}, (10, 1, 6)),
    ("STFT", {"window": "blackman", "scaling": "spectrum", "periodic": True}, (12, 1, 7)),
    ("STFT", {"window": "bartlett", "scaling": None}, (8, 1, 5)),
    ("STFT", {"window": None}, (6, 1, 4)),
])
def test_deterministic_values_equal_keras(keras, name, kwargs, shape):
    ours = getattr(initializers, name)(**kwargs)(shape, dtype="float32")
    theirs = keras.ops.convert_to_numpy(getattr(keras.initializers, name)(**kwargs)(
        shape, dtype="float32"))
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("name", "kwargs", "shape"), [
    ("random_uniform", {"minval": -0.3, "maxval": 0.7}, (400, 300)),
    ("RandomNormal", {"mean": 0.5, "stddev": 0.2}, (400, 300)),
    ("truncated_normal", {"stddev": 0.3}, (400, 300)),
    ("glorot_normal", {}, (300, 500)), ("GlorotUniform", {}, (3, 3, 40, 60)),
    ("he_uniform", {}, (500, 200)), ("HeNormal", {}, (500, 200)),
    ("lecun_uniform", {}, (500, 200)), ("LecunNormal", {}, (500, 200)),
    ("variance_scaling", {"scale": 3.0, "mode": "fan_out", "distribution": "uniform"},
     (200, 400)),
    ("VarianceScaling", {"mode": "fan_avg", "distribution": "untruncated_normal",
                         "input_axes": [0, 1], "output_axes": [2]}, (30, 20, 50)),
    ("he_normal", {"input_axes": [0], "output_axes": [1, 2]}, (300, 4, 50)),
    ("orthogonal", {"gain": 1.5}, (300, 200)),
])
def test_random_moments_match_keras(keras, name, kwargs, shape):
    """Different random numbers, the same distribution: mean, std and range agree."""
    ours = getattr(initializers, name)(**kwargs, seed=1)(shape, dtype="float64")
    theirs = keras.ops.convert_to_numpy(getattr(keras.initializers, name)(**kwargs, seed=1)(
        shape, dtype="float32")).astype(np.float64)
    scale = theirs.std()
    assert abs(ours.mean() - theirs.mean()) < 0.02 * scale + 0.01 * abs(theirs.mean())
    assert ours.std() == pytest.approx(scale, rel=0.02)
    quantiles = [0.005, 0.1, 0.5, 0.9, 0.995]          # the shape: truncation, uniform edges
    np.testing.assert_allclose(np.quantile(ours, quantiles), np.quantile(theirs, quantiles),
                               atol=0.06 * scale)


def test_orthogonal_is_keras_orthogonal(keras):
    for shape in [(6, 4), (4, 6), (3, 2, 5)]:
        w = initializers.Orthogonal(gain=2.0, seed=0)(shape, dtype="float64")
        flat = w.reshape(-1, shape[-1])
        small = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
        np.testing.assert_allclose(small, 4.0 * np.eye(len(small)), atol=1e-12)
    assert initializers.OrthogonalInitializer is initializers.Orthogonal
    assert registry.serialize(initializers.Orthogonal())["class_name"] == \
        keras.initializers.serialize(keras.initializers.Orthogonal())["class_name"]
    # configs written by earlier glassnet versions name the class OrthogonalInitializer
    assert type(initializers.get({"class_name": "OrthogonalInitializer", "config": {}})) is \
        initializers.Orthogonal


def test_stft_and_axes_arguments_are_checked():
    with pytest.raises(ValueError, match="side"):
        initializers.STFT(side="both")
    with pytest.raises(ValueError, match="window"):
        initializers.STFT(window="kaiser")
    with pytest.raises(ValueError, match="Scaling"):
        initializers.STFT(scaling="power")
    with pytest.raises(ValueError, match="window"):
        initializers.STFT(window=np.ones(3))((4, 1, 3))
    with pytest.raises(ValueError, match="input_axes"):
        initializers.GlorotUniform(input_axes="0")
    assert initializers.get(registry.serialize(
        initializers.HeNormal(seed=2, input_axes=[0], output_axes=[1]))).get_config() == \
        {"seed": 2, "input_axes": [0], "output_axes": [1]}

"""BatchNormalization and LayerNormalization: gradients, PyTorch references, moving statistics,
training, configs and errors."""

import numpy as np
import pytest

import glassnet as gn
from _synthetic import spiral
from glassnet import gradcheck, layers, registry
from glassnet.layers.normalization import BatchNormalization, LayerNormalization
from glassnet.utils import set_random_seed

SHAPES = [(6, 3), (5, 4, 3), (3, 4, 5, 2), (7, 5)]   # (N, C), (N, L, C), (N, H, W, C), odd sizes
AFFINE = [(True, True), (False, True), (True, False), (False, False)]   # (center, scale)
RANDOM_AFFINE = {"beta_initializer": "random_normal", "gamma_initializer": "random_normal"}


def _assert_passed(report, layer):
    """x and the trainable weights pass; the moving statistics are not differentiated."""
    for name in ["x"] + [p.name for p in layer.trainable_weights]:
        assert report[name].passed, report


def _random_moving_statistics(layer, rng):
    """Non-trivial moving statistics (positive variance), so inference mode is not x itself."""
    weights = layer.get_weights()
    weights[-2] = rng.standard_normal(weights[-2].shape)
    weights[-1] = rng.uniform(0.5, 2.0, weights[-1].shape)
    layer.set_weights(weights)


# ----- gradient checks ------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("center,scale", AFFINE)
def test_batchnorm_gradients_training(shape, center, scale, rng):
    layer = BatchNormalization(center=center, scale=scale, **RANDOM_AFFINE)
    report = gradcheck.check_layer(layer, rng.standard_normal(shape) * 3 + 1, training=True)
    # x and the trainable weights only: the moving statistics are not differentiated
    assert report.passed, report
    assert [r.name for r in report.results] == ["x"] + [p.name for p in layer.trainable_weights]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("center,scale", AFFINE)
def test_batchnorm_gradients_inference(shape, center, scale, rng):
    layer = BatchNormalization(center=center, scale=scale, **RANDOM_AFFINE)
    layer.maybe_build((None,) + shape[1:])
    _random_moving_statistics(layer, rng)
    report = gradcheck.check_layer(layer, rng.standard_normal(shape), training=False)
    _assert_passed(report, layer)


@pytest.mark.parametrize("shape,axis", [((4, 3, 5), 1), ((3, 2, 4, 5), -3), ((2, 3, 4, 2), 2)])
def test_batchnorm_gradients_other_axis(shape, axis, rng):
    layer = BatchNormalization(axis=axis, **RANDOM_AFFINE)
    x = rng.standard_normal(shape)
    assert gradcheck.check_layer(layer, x, training=True).passed
    assert layer.gamma.shape == (shape[axis],)
    _assert_passed(gradcheck.check_layer(layer, x, training=False), layer)


@pytest.mark.parametrize("shape,axis", [((4, 5), -1), ((1, 6), -1), ((3, 4, 5), -1),
                                        ((2, 3, 4, 5), [1, 2, 3]), ((2, 3, 4, 5), [-1, -3]),
                                        ((3, 4, 5), [2, 1]), ((1, 3, 4), 1)])
@pytest.mark.parametrize("center,scale", AFFINE)
def test_layernorm_gradients(shape, axis, center, scale, rng):
    layer = LayerNormalization(axis=axis, center=center, scale=scale, **RANDOM_AFFINE)
    report = gradcheck.check_layer(layer, rng.standard_normal(shape) * 2 - 1)
    assert report.passed, report


def test_frozen_batchnorm_runs_in_inference_mode(rng):
    """Keras 3: `trainable=False` means inference mode even under training=True."""
    layer = BatchNormalization(trainable=False, **RANDOM_AFFINE)
    x = rng.standard_normal((8, 3)).astype("float32")
    layer(x)
    _random_moving_statistics(layer, rng)
    before = [w.copy() for w in layer.get_weights()]
    y = layer(x, training=True)
    np.testing.assert_array_equal(y, layer(x, training=False))
    for old, new in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(old, new)          # no moving-statistics update
    assert not np.allclose(y.mean(axis=0), before[1], atol=1e-3)   # not batch-normalized
    report = gradcheck.check_layer(layer, rng.standard_normal((8, 3)), training=True)
    assert report["x"].passed, report                    # the affine map's derivative
    assert not np.any(layer.gamma.grad)                  # frozen: no weight gradients


# ----- PyTorch references -----------------------------------------------------------------------
def _torch_batchnorm(torch, shape, momentum, epsilon, layer):
    """nn.BatchNorm1d/2d with `layer`'s γ, β and moving statistics, torch momentum = 1 - ours."""
    module = (torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm1d)(
        shape[-1], eps=epsilon, momentum=1.0 - momentum, dtype=torch.float64)
    gamma, beta, moving_mean, moving_variance = layer.get_weights()
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(gamma))
        module.bias.copy_(torch.from_numpy(beta))
        module.running_mean.copy_(torch.from_numpy(moving_mean))
        module.running_var.copy_(torch.from_numpy(moving_variance))
    return module


def _channels_first(torch, array):
    """(N, C), (N, L, C), (N, H, W, C) -> torch (N, C), (N, C, L), (N, C, H, W)."""
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    return tensor.permute(0, tensor.ndim - 1, *range(1, tensor.ndim - 1)) if array.ndim > 2 \
        else tensor


def _channels_last(tensor):
    return tensor.permute(0, *range(2, tensor.ndim), 1) if tensor.ndim > 2 else tensor


@pytest.mark.parametrize("shape", [(16, 3), (5, 6, 4), (3, 5, 4, 2)])
def test_batchnorm_matches_torch_training(shape, torch, rng):
    momentum, epsilon = 0.9, 1e-3
    layer = BatchNormalization(momentum=momentum, epsilon=epsilon, dtype="float64",
                               **RANDOM_AFFINE)
    layer.maybe_build((None,) + shape[1:])
    _random_moving_statistics(layer, rng)
    module = _torch_batchnorm(torch, shape, momentum, epsilon, layer).train()
    m = int(np.prod(shape[:-1]))                    # values per channel
    for step in range(3):                           # several batches: the running stats drift
        x = rng.standard_normal(shape) * (step + 1) + step
        dy = rng.standard_normal(shape)
        old_mean, old_var = layer.moving_mean.value.copy(), layer.moving_variance.value.copy()
        torch_old_var = module.running_var.detach().numpy().copy()
        layer.zero_grad()
        y = layer(x, training=True)
        dx = layer.backward(dy)
        xt = _channels_first(torch, x).requires_grad_(True)
        yt = module(xt)
        yt.backward(_channels_first(torch, dy))
        # forward and backward (tolerances: float64 round-off)
        np.testing.assert_allclose(y, _channels_last(yt).detach().numpy(), rtol=1e-10,
                                   atol=1e-12)
        np.testing.assert_allclose(dx, _channels_last(xt.grad).numpy(), rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(layer.gamma.grad, module.weight.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(layer.beta.grad, module.bias.grad.numpy(), rtol=1e-10)
        module.weight.grad = module.bias.grad = None
        # running mean: the same update
        np.testing.assert_allclose(layer.moving_mean.value, module.running_mean.numpy(),
                                   rtol=1e-12, atol=1e-14)
        # running variance: Keras feeds the biased batch variance, torch the unbiased one
        batch_var = (layer.moving_variance.value - momentum * old_var) / (1 - momentum)
        torch_batch_var = ((module.running_var.numpy() - momentum * torch_old_var)
                           / (1 - momentum))
        np.testing.assert_allclose(batch_var * m / (m - 1), torch_batch_var, rtol=1e-9)
        np.testing.assert_allclose(batch_var, x.reshape(-1, shape[-1]).var(axis=0), rtol=1e-9)
        assert not np.allclose(layer.moving_mean.value, old_mean)
        # keep both running variances equal, so the next step compares the update again
        layer.moving_variance.assign(module.running_var.numpy())


@pytest.mark.parametrize("shape", [(16, 3), (5, 6, 4), (3, 5, 4, 2)])
def test_batchnorm_matches_torch_inference(shape, torch, rng):
    layer = BatchNormalization(epsilon=1e-2, dtype="float64", **RANDOM_AFFINE)
    layer.maybe_build((None,) + shape[1:])
    _random_moving_statistics(layer, rng)
    module = _torch_batchnorm(torch, shape, 0.99, 1e-2, layer).eval()
    x, dy = rng.standard_normal(shape), rng.standard_normal(shape)
    y = layer(x, training=False)
    dx = layer.backward(dy)
    xt = _channels_first(torch, x).requires_grad_(True)
    yt = module(xt)
    yt.backward(_channels_first(torch, dy))
    np.testing.assert_allclose(y, _channels_last(yt).detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, _channels_last(xt.grad).numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.gamma.grad, module.weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(layer.beta.grad, module.bias.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("shape,axis", [((4, 7), -1), ((1, 5), -1), ((3, 4, 6), -1),
                                        ((2, 3, 4, 5), [-2, -1])])
def test_layernorm_matches_torch(shape, axis, torch, rng):
    epsilon = 1e-3                                   # torch's default is 1e-5: passed explicitly
    layer = LayerNormalization(axis=axis, epsilon=epsilon, dtype="float64", **RANDOM_AFFINE)
    x, dy = rng.standard_normal(shape), rng.standard_normal(shape)
    y = layer(x)
    dx = layer.backward(dy)
    normalized_shape = layer.gamma.shape
    module = torch.nn.LayerNorm(normalized_shape, eps=epsilon, dtype=torch.float64)
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(layer.gamma.value))
        module.bias.copy_(torch.from_numpy(layer.beta.value))
    xt = torch.from_numpy(x).requires_grad_(True)
    yt = module(xt)
    yt.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(layer.gamma.grad, module.weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(layer.beta.grad, module.bias.grad.numpy(), rtol=1e-10)


# ----- forward semantics ---------------------------------------------------------------------
def test_moving_statistics_follow_keras_update_over_batches(rng):
    momentum = 0.8
    layer = BatchNormalization(momentum=momentum)
    expected_mean, expected_var = np.zeros(2), np.ones(2)
    for step in range(4):
        x = (rng.standard_normal((3, 4, 5, 2)) * (step + 2) + [step, -step]).astype("float32")
        y = layer(x, training=True)
        pixels = x.astype(np.float64).reshape(-1, 2)
        expected_mean = expected_mean * momentum + pixels.mean(axis=0) * (1 - momentum)
        expected_var = expected_var * momentum + pixels.var(axis=0) * (1 - momentum)  # ddof=0
        np.testing.assert_allclose(layer.moving_mean.value, expected_mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(layer.moving_variance.value, expected_var, rtol=1e-5)
        # training output: this batch's statistics
        manual = (pixels - pixels.mean(0)) / np.sqrt(pixels.var(0) + 1e-3)
        np.testing.assert_allclose(y.reshape(-1, 2), manual, rtol=1e-4, atol=1e-5)
    # inference: the moving statistics, and nothing is updated
    before = layer.get_weights()
    y = layer(x, training=False)
    manual = (x - expected_mean) / np.sqrt(expected_var + 1e-3)
    np.testing.assert_allclose(y, manual, rtol=1e-4, atol=1e-5)
    for old, new in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_layernorm_normalizes_each_sample(rng):
    x = (rng.standard_normal((3, 4, 6)) * [[[1], [5], [0.1], [2]]] + 7).astype("float32")
    y = LayerNormalization(epsilon=1e-6)(x)
    np.testing.assert_allclose(y.mean(axis=-1), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=-1), 1, rtol=1e-3)
    y = LayerNormalization(axis=[1, 2], epsilon=1e-6)(x)
    np.testing.assert_allclose(y.mean(axis=(1, 2)), 0, atol=1e-5)
    assert not np.allclose(y.mean(axis=-1), 0, atol=1e-2)   # not per row any more


@pytest.mark.parametrize("make", [BatchNormalization, LayerNormalization])
def test_float32_in_float32_out(make, rng):
    layer = make(**RANDOM_AFFINE)
    x = rng.standard_normal((4, 3, 5)).astype("float32")
    for training in (True, False):
        y = layer(x, training=training)
        assert y.dtype == np.float32
        assert layer.backward(np.ones_like(y)).dtype == np.float32
    assert all(w.dtype == np.float32 for w in layer.get_weights())
    assert all(p.grad.dtype == np.float32 for p in layer.parameters())


def test_output_does_not_alias_saved_state(rng):
    """Writing into y (in-place activations do) must not corrupt what backward kept."""
    x = rng.standard_normal((5, 3))
    for layer in (BatchNormalization(center=False, scale=False),
                  LayerNormalization(center=False, scale=False)):
        y = layer(x, training=True)
        expected = layer.backward(np.ones_like(y) + x)
        y[...] = 123.0
        np.testing.assert_array_equal(layer.backward(np.ones_like(y) + x), expected)


# ----- weights, shapes, configs -------------------------------------------------------------
def test_batchnorm_weights_in_keras_order_and_trainability():
    layer = BatchNormalization(name="bn")
    layer.maybe_build((None, 4, 4, 3))
    assert [p.name for p in layer.weights] == ["bn/gamma", "bn/beta", "bn/moving_mean",
                                               "bn/moving_variance"]
    assert [p.name for p in layer.trainable_weights] == ["bn/gamma", "bn/beta"]
    assert [p.name for p in layer.non_trainable_weights] == ["bn/moving_mean",
                                                             "bn/moving_variance"]
    gamma, beta, mean, var = layer.get_weights()
    assert all(w.shape == (3,) for w in (gamma, beta, mean, var))
    assert np.all(gamma == 1) and np.all(beta == 0) and np.all(mean == 0) and np.all(var == 1)
    bare = BatchNormalization(center=False, scale=False, name="bare")
    bare.maybe_build((None, 3))
    assert [p.name for p in bare.weights] == ["bare/moving_mean", "bare/moving_variance"]


def test_layernorm_weights_span_the_axes():
    layer = LayerNormalization(axis=[1, 2], name="ln")
    layer.maybe_build((None, 3, 4, 5))
    assert [p.name for p in layer.weights] == ["ln/gamma", "ln/beta"]
    assert layer.gamma.shape == (3, 4) and layer.beta.shape == (3, 4)


@pytest.mark.parametrize("layer", [
    BatchNormalization(axis=1, momentum=0.9, epsilon=1e-5, center=False,
                       gamma_initializer="random_normal", moving_variance_initializer="zeros",
                       gamma_regularizer="l2", name="bn_config"),
    LayerNormalization(axis=[1, -1], epsilon=1e-6, scale=False, beta_regularizer="l2",
                       name="ln_config"),
    LayerNormalization(),
], ids=["batchnorm", "layernorm-list", "layernorm-default"])
def test_config_round_trip(layer):
    config_ = layer.get_config()
    clone = registry.deserialize("layer", registry.serialize(layer))
    assert type(clone) is type(layer)
    assert clone.get_config() == config_
    if isinstance(layer, LayerNormalization) and isinstance(layer.axis, list):
        assert config_["axis"] == [1, -1]          # saved as a list, not a tuple


def test_compute_output_shape_and_symbolic_build():
    assert BatchNormalization().compute_output_shape((None, 5, 3)) == (None, 5, 3)
    assert LayerNormalization(axis=[1, 2]).compute_output_shape((None, 5, 3)) == (None, 5, 3)
    output = BatchNormalization()(layers.Input(shape=(4, 2)))
    assert output.shape == (None, 4, 2)


# ----- errors ------------------------------------------------------------------------------------
def test_batchnorm_rejects_bad_axis_and_inputs():
    with pytest.raises(ValueError, match=r"axis 3 is out of range for inputs of rank 3"):
        BatchNormalization(axis=3).maybe_build((None, 4, 2))
    with pytest.raises(ValueError, match=r"known sizes"):
        BatchNormalization(axis=0).maybe_build((None, 4))
    layer = BatchNormalization(name="bn_err")
    layer(np.ones((2, 3), dtype="float32"), training=True)
    with pytest.raises(ValueError, match=r"'bn_err'.*expected size 3 on axis 1.*\(2, 4\)"):
        layer(np.ones((2, 4), dtype="float32"))
    with pytest.raises(ValueError, match=r"'bn_err'.*rank 2.*\(2, 1, 3\)"):
        layer(np.ones((2, 1, 3), dtype="float32"))


@pytest.mark.parametrize("kwargs,error,match", [
    ({"momentum": 1.5}, ValueError, "momentum"),
    ({"momentum": -0.1}, ValueError, "momentum"),
    ({"epsilon": 0.0}, ValueError, "epsilon"),
    ({"axis": 1.0}, TypeError, "axis"),
    ({"axis": [1]}, TypeError, "axis"),
])
def test_batchnorm_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        BatchNormalization(**kwargs)


def test_layernorm_rejects_bad_axis():
    with pytest.raises(TypeError, match="axis"):
        LayerNormalization(axis="last")
    with pytest.raises(TypeError, match="axis"):
        LayerNormalization(axis=[])
    with pytest.raises(ValueError, match="out of range"):
        LayerNormalization(axis=[1, 3]).maybe_build((None, 4, 2))
    with pytest.raises(ValueError, match="distinct non-batch"):
        LayerNormalization(axis=[1, -2]).maybe_build((None, 4, 2))
    with pytest.raises(ValueError, match="distinct non-batch"):
        LayerNormalization(axis=[0, 1]).maybe_build((3, 4))
    layer = LayerNormalization(name="ln_err")
    layer(np.ones((2, 3), dtype="float32"))
    with pytest.raises(ValueError, match=r"'ln_err'.*expected size 3 on axis 1"):
        layer(np.ones((2, 5), dtype="float32"))


# ----- in a model ----------------------------------------------------------------------------
def _bn_mlp(momentum=0.9):
    return gn.Sequential([layers.Input(shape=(2,)),
                          layers.Dense(32, activation="relu"),
                          BatchNormalization(momentum=momentum),
                          layers.Dense(32, activation="relu"),
                          BatchNormalization(momentum=momentum),
                          layers.Dense(3, activation="softmax")])


def test_mlp_with_batchnorm_trains_and_predicts_with_moving_statistics():
    set_random_seed(3)
    x, y = spiral(n_per_class=60)
    model = _bn_mlp()
    model.compile(optimizer=gn.optimizers.Adam(learning_rate=0.01),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=40, batch_size=32, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0], losses
    bn = model.layers[1]
    assert not np.allclose(bn.moving_mean.value, 0)              # statistics were tracked
    batch = x[::9]
    inference = model.predict(batch, verbose=0)
    np.testing.assert_allclose(inference, model.forward(batch, training=False), rtol=1e-6)
    assert not np.allclose(inference, model.forward(batch, training=True), atol=1e-3)
    assert model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] > 0.7


def test_optimizer_leaves_moving_statistics_alone():
    """momentum=1 freezes the update rule; weight decay would shrink anything the optimizer
    touched, gradient or not."""
    set_random_seed(4)
    x, y = spiral(n_per_class=20)
    model = _bn_mlp(momentum=1.0)
    model.compile(optimizer=gn.optimizers.SGD(learning_rate=0.1, weight_decay=0.5),
                  loss="sparse_categorical_crossentropy")
    gamma_before = model.layers[1].gamma.value.copy()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    for bn in (model.layers[1], model.layers[3]):
        np.testing.assert_array_equal(bn.moving_mean.value, 0)
        np.testing.assert_array_equal(bn.moving_variance.value, 1)
        assert bn.moving_mean not in model.parameters(trainable_only=True)
    assert not np.array_equal(model.layers[1].gamma.value, gamma_before)   # γ does train


def test_saved_model_keeps_moving_statistics(tmp_path):
    set_random_seed(5)
    x, y = spiral(n_per_class=20)
    model = gn.Sequential([layers.Input(shape=(2,)), layers.Dense(8, activation="relu"),
                           BatchNormalization(momentum=0.5),
                           LayerNormalization(axis=[-1], scale=False),
                           layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    path = tmp_path / "bn.glassnet"
    gn.saving.save_model(model, path)
    loaded = gn.load_model(path)
    assert [type(layer).__name__ for layer in loaded.layers][1:3] == ["BatchNormalization",
                                                                       "LayerNormalization"]
    for saved, restored in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(saved, restored)
    assert not np.allclose(loaded.layers[1].moving_variance.value, 1)
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))

"""The numbers behind docs/differences.md: where glassnet departs from Keras 3 or PyTorch.

    python examples/differences.py

Each section runs glassnet (float64) on a small input chosen to make the difference visible
and prints it beside Keras 3's formula (written out here from Keras' source, cited in the
document) and, where PyTorch is installed, torch's own result.
"""

from __future__ import annotations

import math

import numpy as np

import glassnet as gn
from glassnet import layers

try:
    import torch
except ImportError:                                  # the PyTorch columns are left out
    torch = None


def section(title: str) -> None:
    print(f"\n== {title}")


def one_step(optimizer, g: float, w: float = 1.0, steps: int = 1) -> float:
    """w after `steps` updates of one scalar weight with constant gradient g: the change."""
    param = layers.Parameter(np.array([w]), name="w")
    for _ in range(steps):
        param.grad = np.array([g])
        optimizer.apply([param])
    return float(param.value[0]) - w


def torch_step(make, g: float, w: float = 1.0, steps: int = 1, schedule=None) -> float:
    weight = torch.tensor([w], dtype=torch.float64, requires_grad=True)
    optimizer = make([weight])
    scheduler = schedule(optimizer) if schedule else None
    for _ in range(steps):
        weight.grad = torch.tensor([g], dtype=torch.float64)
        optimizer.step()
        if scheduler:
            scheduler.step()
    return float(weight.detach()[0]) - w


def adam() -> None:
    section("Adam: epsilon added to the uncorrected sqrt(v)")
    lr, b1, b2 = 0.1, 0.9, 0.999
    for g, eps in ((1e-4, 1e-3), (1e-4, 1e-7), (1.0, 1e-7)):
        ours = one_step(gn.optimizers.Adam(lr, b1, b2, epsilon=eps), g)
        keras = -lr * math.sqrt(1 - b2) / (1 - b1) * (1 - b1) * g / (
            math.sqrt((1 - b2) * g * g) + eps)
        line = f"  g={g:g} eps={eps:g}: glassnet dw={ours:.6e}  Keras formula {keras:.6e}"
        if torch:
            theirs = torch_step(lambda p, eps=eps: torch.optim.Adam(p, lr, (b1, b2), eps=eps), g)
            line += f"  torch.optim.Adam {theirs:.6e}"
        print(line)


def rmsprop_adagrad() -> None:
    section("RMSprop / Adagrad: epsilon inside the square root")
    lr, rho, g = 0.01, 0.9, 1e-4
    for eps in (1e-7, 1e-10):
        ours = one_step(gn.optimizers.RMSprop(lr, rho=rho, epsilon=eps), g)
        keras = -lr * g / math.sqrt((1 - rho) * g * g + eps)
        line = f"  RMSprop g={g:g} eps={eps:g}: glassnet {ours:.6e}  Keras {keras:.6e}"
        if torch:
            theirs = torch_step(lambda p, eps=eps: torch.optim.RMSprop(p, lr, alpha=rho,
                                                                     eps=eps), g)
            line += f"  torch {theirs:.6e}"
        print(line)
    for eps in (1e-7, 1e-10):
        ours = one_step(gn.optimizers.Adagrad(lr, initial_accumulator_value=0.0, epsilon=eps), g)
        keras = -lr * g / math.sqrt(g * g + eps)
        line = f"  Adagrad g={g:g} eps={eps:g} (accumulator 0): glassnet {ours:.6e}  Keras " \
               f"{keras:.6e}"
        if torch:
            theirs = torch_step(lambda p, eps=eps: torch.optim.Adagrad(p, lr, eps=eps), g)
            line += f"  torch {theirs:.6e}"
        print(line)


def momentum() -> None:
    section("SGD momentum: the learning rate folded into the velocity")
    g, m = 1.0, 0.9
    constant = one_step(gn.optimizers.SGD(0.1, momentum=m), g, steps=3)
    decay = gn.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    scheduled = one_step(gn.optimizers.SGD(decay, momentum=m), g, steps=3)
    # Keras: v <- m v - lr_t g; w <- w + v, with lr_t = 0.1, 0.05, 0.025
    v, keras = 0.0, 0.0
    for lr_t in (0.1, 0.05, 0.025):
        v = m * v - lr_t * g
        keras += v
    print(f"  constant lr 0.1, 3 steps: glassnet {constant:.6f}")
    print(f"  lr 0.1, 0.05, 0.025:      glassnet {scheduled:.6f}  Keras {keras:.6f}")
    if torch:
        same = torch_step(lambda p: torch.optim.SGD(p, 0.1, momentum=m), g, steps=3)
        halving = torch_step(lambda p: torch.optim.SGD(p, 0.1, momentum=m), g, steps=3,
                             schedule=lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.5))
        print(f"  torch.optim.SGD: constant {same:.6f}, halving {halving:.6f}")


def clipping() -> None:
    section("clipnorm (per tensor) and global_clipnorm (all tensors together)")
    grads = [np.array([3.0]), np.array([4.0])]

    def clipped(**clip):
        params = [layers.Parameter(np.zeros(1), name=f"w{i}") for i in range(2)]
        for p, g in zip(params, grads):
            p.grad = g.copy()
        gn.optimizers.SGD(1.0, **clip).apply(params)
        return [float(-p.value[0]) for p in params]

    print(f"  grads (3, 4): clipnorm=1 -> glassnet {clipped(clipnorm=1.0)}  (Keras: each "
          f"tensor to norm 1: [1.0, 1.0])")
    print(f"  global_clipnorm=1 -> glassnet {clipped(global_clipnorm=1.0)}  (Keras: [0.6, 0.8])")
    if torch:
        tensors = [torch.tensor(g, requires_grad=True) for g in grads]
        for t, g in zip(tensors, grads):
            t.grad = torch.tensor(g)
        torch.nn.utils.clip_grad_norm_(tensors, 1.0)
        print(f"  torch clip_grad_norm_(max_norm=1) -> "
              f"{[float(t.grad[0]) for t in tensors]} (scale 1 / (norm + 1e-6))")


def fused_cross_entropy() -> None:
    section("softmax + cross-entropy from the logits, without probability clipping")
    model = gn.Sequential([layers.Input(shape=(1,)), layers.Dense(2, activation="softmax")])
    model.set_weights([np.zeros((1, 2)), np.array([0.0, 30.0])])   # logits (0, 30)
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    x, y = np.ones((1, 1)), np.array([[1.0, 0.0]])                   # the true class is 0
    loss, _ = model.compute_gradients(x, y)
    bias_grad = model.layers[0].weights[1].grad
    p = model.predict(x, verbose=0)
    keras = -math.log(max(p[0, 0] / p[0].sum(), 1e-7))
    standalone = float(gn.losses.CategoricalCrossentropy()(y, p))
    print(f"  logits (0, 30), class 0: glassnet model loss {loss:.4f}, dL/dlogits "
          f"{bias_grad.tolist()}")
    print(f"  Keras: -log(clip(p, 1e-7, 1 - 1e-7)) = {keras:.4f}, dL/dlogits = [0, 0] (clipped)")
    print(f"  glassnet's loss object on the probabilities (no fusion): {standalone:.4f}")


def masked_initial_state() -> None:
    section("masked steps before the first unmasked one, with an initial state")
    rnn = layers.SimpleRNN(2, return_sequences=True)
    x = np.ones((1, 3, 1))
    rnn.build((None, 3, 1))
    rnn.set_weights([np.full((1, 2), 0.5), np.eye(2) * 0.5, np.zeros(2)])
    h0 = np.array([[0.3, -0.2]])
    y = rnn(x, mask=np.array([[False, True, True]]), initial_state=[h0])
    print(f"  mask (F, T, T), h0 {h0[0].tolist()}: glassnet output at step 0 = "
          f"{y[0, 0].tolist()}")
    print("  Keras TensorFlow/PyTorch backends: [0.0, 0.0]; JAX/NumPy backends: h0")


def time_distributed_batchnorm() -> None:
    section("TimeDistributed(BatchNormalization) in training")
    x = np.array([[[0.0], [10.0]], [[2.0], [14.0]]])                 # (N=2, T=2, C=1)
    bn = layers.BatchNormalization(momentum=0.9, epsilon=1e-3)
    td = layers.TimeDistributed(bn)
    y = td(x, training=True)
    moving_mean = td.get_weights()[2][0]
    per_step = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + 1e-3)   # Keras: each step alone
    keras_mean = 0.0
    for t in range(2):                                                 # T updates in a row
        keras_mean = keras_mean * 0.9 + x[:, t].mean() * 0.1
    print(f"  glassnet y[:, :, 0] = {np.round(y[..., 0], 4).tolist()}, moving_mean "
          f"{moving_mean:.4f}")
    print(f"  Keras    y[:, :, 0] = {np.round(per_step[..., 0], 4).tolist()}, moving_mean "
          f"{keras_mean:.4f}")


def normalization_zero_variance() -> None:
    section("Normalization with a constant (zero-variance) feature")
    norm = layers.Normalization()
    norm.adapt(np.array([[1.0, 0.0], [1.0, 2.0]]))                    # feature 0 is constant
    y = norm(np.array([[1.5, 1.0]]))
    print(f"  adapt on feature 0 = 1 always, then x0 = 1.5: glassnet {y[0, 0]:.4g}, Keras "
          f"(x - mean) / max(std, 1e-7) = {0.5 / 1e-7:.4g}")


def class_and_sample_weight() -> None:
    section("class_weight together with sample_weight")
    model = gn.Sequential([layers.Input(shape=(1,)), layers.Dense(2, activation="softmax")])
    model.set_weights([np.zeros((1, 2)), np.zeros(2)])
    model.compile(optimizer=gn.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
    x, y = np.ones((2, 1)), np.array([0, 1])
    loss = model.train_on_batch(x, y, sample_weight=np.array([1.0, 3.0]),
                                class_weight={0: 2.0, 1: 0.5})
    print(f"  weights (1, 3) x class weights (2, 0.5): glassnet loss {loss:.4f} = "
          f"log 2 (1*2 + 3*0.5) / 2 = {math.log(2) * 3.5 / 2:.4f}; Keras raises ValueError")


def label_smoothing_axis() -> None:
    section("CategoricalCrossentropy(label_smoothing, axis=1) on (N, T, C)")
    y = np.zeros((1, 2, 3))
    y[0, 0, :] = 1.0                                                   # one-hot along axis 1
    p = np.full((1, 2, 3), 0.5)
    ours = float(gn.losses.CategoricalCrossentropy(label_smoothing=0.2, axis=1)(y, p))
    keras_targets = y * 0.8 + 0.2 / 3                                  # Keras: C = shape[-1]
    keras = float(np.mean(-(keras_targets * np.log(0.5)).sum(axis=1)))
    print(f"  glassnet {ours:.6f} (smoothing over the 2 entries of axis 1); Keras {keras:.6f} "
          f"(over shape[-1] = 3)")


if __name__ == "__main__":
    gn.config.set_floatx("float64")
    for show in (adam, rmsprop_adagrad, momentum, clipping, fused_cross_entropy,
                 masked_initial_state, time_distributed_batchnorm,
                 normalization_zero_variance, class_and_sample_weight, label_smoothing_axis):
        show()

"""Differential tests, category "optimizers": Keras 3's update formulas over several steps.

Each case trains a small random model with `fit(shuffle=False)` for a few epochs under a
random optimizer (SGD with or without (Nesterov) momentum, RMSprop (momentum, centered),
Adagrad, Adam (amsgrad), AdamW), a constant learning rate or a schedule
(ExponentialDecay, PiecewiseConstantDecay, CosineDecay with or without warmup), at most one
of clipnorm / clipvalue / global_clipnorm, decoupled weight decay, and L1/L2 kernel
penalties; the epsilons are drawn large sometimes (1e-1), so that where epsilon enters the
formula shows in the numbers. Compared: the History losses, every weight after training,
and the optimizer's iteration count.
"""

from __future__ import annotations

import numpy as np

import checks
import harness
import specs
from generators import Ctx, Graph, chance, input_shape, next_layer, pick, targets
from specs import L


def pytest_generate_tests(metafunc):
    harness.parametrize_seeds(metafunc)


def schedule_spec(rng, initial: float) -> dict:
    kind = pick(rng, ["ExponentialDecay", "PiecewiseConstantDecay", "CosineDecay"])
    if kind == "ExponentialDecay":
        return {"kind": kind, "initial_learning_rate": initial,
                "decay_steps": int(rng.integers(1, 4)),
                "decay_rate": round(float(rng.uniform(0.3, 0.95)), 3),
                "staircase": chance(rng, 0.5)}
    if kind == "PiecewiseConstantDecay":
        boundaries = sorted(int(b) for b in rng.choice(np.arange(0, 8), size=2, replace=False))
        values = [initial, initial * 0.5, initial * 0.1]
        return {"kind": kind, "boundaries": boundaries, "values": values}
    spec = {"kind": kind, "initial_learning_rate": initial,
            "decay_steps": int(rng.integers(2, 8)),
            "alpha": round(float(rng.uniform(0.0, 0.5)), 3)}
    if chance(rng, 0.5):
        spec["warmup_target"] = initial * 2
        spec["warmup_steps"] = int(rng.integers(1, 4))
        spec["initial_learning_rate"] = initial * 0.1
    return spec


def optimizer_spec(rng) -> dict:
    kind = pick(rng, ["SGD", "SGD", "RMSprop", "Adagrad", "Adam", "AdamW"])
    rate = float(rng.uniform(0.01, 0.2))
    spec = {"kind": kind,
            "learning_rate": schedule_spec(rng, rate) if chance(rng, 0.4) else rate}
    epsilon = pick(rng, [1e-7, 1e-3, 0.1])
    if kind == "SGD" and chance(rng, 0.7):
        spec["momentum"] = round(float(rng.uniform(0.3, 0.95)), 3)
        spec["nesterov"] = chance(rng, 0.5)
    elif kind == "RMSprop":
        spec.update(rho=round(float(rng.uniform(0.5, 0.99)), 3), epsilon=epsilon,
                    centered=chance(rng, 0.4))
        if chance(rng, 0.5):
            spec["momentum"] = round(float(rng.uniform(0.3, 0.9)), 3)
    elif kind == "Adagrad":
        spec.update(initial_accumulator_value=pick(rng, [0.0, 0.1, 0.5]), epsilon=epsilon)
    elif kind in ("Adam", "AdamW"):
        spec.update(beta_1=round(float(rng.uniform(0.5, 0.95)), 3),
                    beta_2=pick(rng, [0.9, 0.99, 0.999]), epsilon=epsilon,
                    amsgrad=chance(rng, 0.3))
    if kind == "AdamW" or (kind != "SGD" and chance(rng, 0.2)):
        spec["weight_decay"] = round(float(rng.uniform(0.01, 0.3)), 3)
    clip = pick(rng, [None, None, "clipnorm", "clipvalue", "global_clipnorm"])
    if clip is not None:
        spec[clip] = round(float(rng.uniform(0.02, 0.5)), 3)
    return spec


def small_net(rng):
    """Input -> 1..3 layers (a Dense with an L1/L2 kernel penalty now and then) -> Dense."""
    shape = input_shape(rng, pick(rng, ["flat", "flat", "sequence"]))
    graph = Graph([shape], sequential=chance(rng, 0.7))
    tensor, ctx = 0, Ctx(training=True)
    for _ in range(int(rng.integers(1, 4))):
        if len(shape) == 1 or chance(rng, 0.5):
            units = int(rng.integers(2, 6))
            args = {"units": units, "activation": pick(rng, ["tanh", "relu", "sigmoid"])}
            if chance(rng, 0.3):
                args["kernel_regularizer"] = pick(rng, [{"l2": 0.01}, {"l1": 0.01},
                                                         {"l1": 0.005, "l2": 0.02}])
            layer, shape = L("Dense", args), shape[:-1] + (units,)
        else:
            layer, shape = next_layer(rng, shape, ctx)
        tensor = graph.add(layer, tensor, shape)
    if len(shape) > 1:
        shape = (int(np.prod(shape)),)
        tensor = graph.add(L("Flatten", {}), tensor, shape)
    loss = pick(rng, [{"kind": "mse"}, {"kind": "cce", "from_logits": True}])
    classes = int(rng.integers(2, 4))
    graph.add(L("Dense", {"units": classes, "activation": "linear"}), tensor, (classes,))
    return graph, loss


@harness.category("optimizers", 100)
def test_optimizers(diff_seed, torch, request):
    rng = np.random.default_rng(diff_seed)
    with harness.run_case(request, "optimizers", diff_seed) as case:
        graph, loss = small_net(rng)
        optimizer = optimizer_spec(rng)
        net = graph.net
        case.description = f"{specs.describe(net)}; loss {loss}; optimizer {optimizer}"
        model, ref = checks.build_pair(net, rng)
        n = int(rng.integers(4, 13))
        arrays = specs.inputs_for(net, rng, n, "float64")
        y = targets(rng, loss, (n, *graph.shapes[-1]))
        batch_size, epochs = int(rng.integers(2, n + 1)), int(rng.integers(2, 4))
        checks.compare_fit(case, model, ref, loss, optimizer, arrays, y,
                           batch_size=batch_size, epochs=epochs)
        steps = epochs * -(-n // batch_size)
        case.expect(model.optimizer.iterations == steps,
                    f"optimizer.iterations: glassnet {model.optimizer.iterations}, Keras {steps}")

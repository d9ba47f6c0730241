"""A forward that predict may run in two threads at once never reads back what it stored.

Layers, activations and models keep what their backward needs on themselves (`self._y = y`). In
predict nothing reads those attributes again, so two threads may share a model, as long
as a forward computes into local names and only stores them: `self._y = f(x); return
self._y` would return whatever the other thread's forward stored in between. This test
reads the source (the race itself is too short to catch by running it) and names each
forward that reads an attribute of self after writing it in the same method; the few that
may are listed with the reason. The recurrent layers keep the loop's arrays on the layer
and instead take turns (a lock per layer in `_RNN.forward`), tested by running predicts at
once; different layers do not wait for each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

import glassnet as gn
from _concurrent import predicts_at_once
from glassnet import layers

SOURCE = Path(gn.__file__).resolve().parent
METHODS = {"forward", "forward_overwriting", "_pool"}
ALLOWED = {
    # the same value in every predict (training=False), read to choose the branch
    ("normalization.py", "BatchNormalization", "forward", "_batch_statistics"),
    # training only: predict returns x before the mask is drawn
    ("regularization.py", "Dropout", "forward", "_mask"),
}


def read_back_attributes(function: ast.FunctionDef) -> set[str]:
    """Attributes of self that `function` loads on a line after its first store to them."""
    stores: dict[str, int] = {}
    for node in ast.walk(function):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id == "self" and isinstance(node.ctx, ast.Store)):
            stores[node.attr] = min(node.lineno, stores.get(node.attr, node.lineno))
    return {node.attr for node in ast.walk(function)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id == "self" and isinstance(node.ctx, ast.Load)
            and node.attr in stores and node.lineno > stores[node.attr]}


def findings() -> set[tuple[str, str, str, str]]:
    found = set()
    for folder in ("layers", "activations", "models"):
        for path in sorted((SOURCE / folder).glob("*.py")):
            for cls in ast.walk(ast.parse(path.read_text())):
                if not isinstance(cls, ast.ClassDef):
                    continue
                for function in cls.body:
                    if isinstance(function, ast.FunctionDef) and function.name in METHODS:
                        found |= {(path.name, cls.name, function.name, attribute)
                                  for attribute in read_back_attributes(function)}
    return found


def test_no_forward_reads_back_what_it_stored():
    unexpected = sorted(findings() - ALLOWED)
    assert not unexpected, (
        "these forwards read an attribute of self after storing it; compute into a local "
        f"name and store it (see this module's docstring): {unexpected}")


def test_the_check_finds_the_pattern_it_forbids():
    source = ("class A:\n    def forward(self, x):\n        self._y = x + 1\n"
              "        return self._y\n")
    (function,) = ast.parse(source).body[0].body
    assert read_back_attributes(function) == {"_y"}
    clean = "class A:\n    def forward(self, x):\n        y = x + 1\n        self._y = y\n" \
            "        return y\n"
    (function,) = ast.parse(clean).body[0].body
    assert read_back_attributes(function) == set()


def test_every_allowed_exception_still_exists():
    """An exception that no longer occurs is taken off the list."""
    assert ALLOWED <= findings()


def test_recurrent_layers_take_turns_in_predicts_run_at_once():
    """Three threads predicting through an LSTM and a GRU with batches of different sizes
    get the one-at-a-time results (without the lock: shape errors and wrong numbers)."""
    gn.random.set_random_seed(31)
    model = gn.Sequential([layers.Input((6, 3)), layers.LSTM(8, return_sequences=True),
                           layers.GRU(5), layers.Dense(2)])
    rng = np.random.default_rng(32)
    inputs = [rng.standard_normal((n, 6, 3)).astype("float32") for n in (37, 200, 5, 64)]
    wrong, errors = predicts_at_once(model, inputs, batch_size=128, rounds=10)
    assert not errors and not wrong


def test_a_recurrent_layer_waits_only_for_its_own_forward():
    """Each recurrent layer has its own forward lock: while one layer's is held, a forward
    through another layer finishes, and one through the same layer waits until it is
    released (two models in two threads do not take turns)."""
    import copy
    import threading

    from glassnet.layers.rnn import forward_lock

    gn.random.set_random_seed(33)
    first, second = layers.LSTM(4), layers.GRU(3)
    x = np.random.default_rng(34).standard_normal((2, 5, 3)).astype("float32")
    expected = first(x)
    second(x)
    assert forward_lock(first) is forward_lock(first)
    assert forward_lock(first) is not forward_lock(second)

    results = {}

    def run(name, layer):
        results[name] = layer(x)

    with forward_lock(first):
        other = threading.Thread(target=run, args=("second", second))
        other.start()
        other.join(timeout=30)
        assert not other.is_alive()                     # another layer: not held up
        same = threading.Thread(target=run, args=("first", first))
        same.start()
        same.join(timeout=0.3)
        assert same.is_alive() and "first" not in results  # the same layer: waits
    same.join(timeout=30)
    assert not same.is_alive()
    np.testing.assert_array_equal(results["first"], expected)

    twin = copy.deepcopy(first)                          # the lock is not a layer attribute
    np.testing.assert_array_equal(twin(x), expected)
    assert forward_lock(twin) is not forward_lock(first)

"""tools/keras_census.py: glassnet against the installed Keras 3's public API, name by name."""

from __future__ import annotations

import importlib.util
import inspect
import json
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[1] / "tools" / "keras_census.py"
spec = importlib.util.spec_from_file_location("keras_census", TOOL)
keras_census = importlib.util.module_from_spec(spec)
sys.modules.setdefault("keras_census", keras_census)    # dataclasses look their module up
spec.loader.exec_module(keras_census)

# What a Keras MLP / convnet / RNN script touches first: each must be at Keras' path.
CORE = [
    "keras.Input", "keras.Sequential", "keras.Model", "keras.Layer", "keras.Loss",
    "keras.Metric", "keras.Optimizer", "keras.models.Sequential",
    "keras.models.Model", "keras.models.load_model", "keras.saving.load_model",
    "keras.layers.Dense", "keras.layers.Conv2D", "keras.layers.MaxPooling2D",
    "keras.layers.Flatten", "keras.layers.Dropout", "keras.layers.Embedding",
    "keras.layers.LSTM", "keras.layers.GRU", "keras.layers.SimpleRNN",
    "keras.layers.BatchNormalization", "keras.layers.Input", "keras.layers.Layer",
    "keras.losses.SparseCategoricalCrossentropy", "keras.losses.MeanSquaredError",
    "keras.metrics.Metric", "keras.optimizers.Adam", "keras.optimizers.SGD",
    "keras.callbacks.Callback", "keras.callbacks.EarlyStopping",
    "keras.callbacks.ModelCheckpoint", "keras.datasets.mnist.load_data",
    "keras.utils.to_categorical", "keras.utils.set_random_seed", "keras.ops.relu",
    "keras.ops.matmul", "keras.activations.relu", "keras.initializers.GlorotUniform",
    "keras.regularizers.L2", "keras.optimizers.schedules.ExponentialDecay",
]


@pytest.fixture(scope="module")
def result(keras):
    return keras_census.census(keras)


@pytest.fixture(scope="module")
def entries(result):
    return {entry.name: entry for module in result.values() for entry in module}


def test_census_walks_every_public_module_and_sorts_every_name(keras, result):
    assert {"keras", "keras.layers", "keras.losses", "keras.optimizers.schedules",
            "keras.datasets.mnist", "keras.ops.nn"} <= set(result)
    assert not any(module.startswith("keras.src") for module in result)
    # every public layer class of Keras is counted once
    layers = {e.name.rpartition(".")[2] for e in result["keras.layers"]}
    assert {name for name in dir(keras.layers) if not name.startswith("_")} == layers
    for module in result.values():
        for entry in module:
            assert entry.status in keras_census.STATUSES
            assert bool(entry.differences) == (entry.status == "differs"), entry
    rows = keras_census.summary(result)
    total = rows["total"]
    assert sum(total.values()) == sum(len(es) for m, es in result.items()
                                      if not m.startswith("keras.applications"))
    assert sum(total.values()) > 1000


def test_core_names_are_at_keras_paths(entries):
    absent = [name for name in CORE if entries[name].status not in ("present", "differs")]
    assert not absent, absent


def test_core_layers_take_keras_arguments_and_defaults(entries):
    """The arguments a Keras script passes to these exist in glassnet with Keras' defaults
    (activity regularizers, LoRA and the like aside)."""
    for name in ["keras.layers.Flatten", "keras.layers.Dropout", "keras.layers.MaxPooling2D",
                 "keras.layers.Reshape", "keras.losses.MeanSquaredError",
                 "keras.callbacks.EarlyStopping", "keras.callbacks.ModelCheckpoint"]:
        assert entries[name].status == "present", (name, entries[name].differences)
    for name in ["keras.layers.Dense", "keras.layers.Conv2D", "keras.layers.LSTM"]:
        defaults = [d for d in entries[name].differences if "default" in d]
        assert not defaults, (name, defaults)
    for name in ["keras.layers.Dense", "keras.layers.Conv2D", "keras.layers.Conv1DTranspose",
                 "keras.layers.SeparableConv2D", "keras.layers.Embedding", "keras.layers.GRU",
                 "keras.layers.BatchNormalization", "keras.layers.LayerNormalization"]:
        missing = [d for d in entries[name].differences if "constraint" in d]
        assert not missing, (name, missing)          # every *_constraint Keras takes


def test_left_out_names_come_from_the_docs_and_none_is_stale(result, entries):
    names, parameters = keras_census.read_left_out()
    assert "keras.distribution.*" in names and "lora_rank" in parameters
    assert entries["keras.quantizers.Quantizer"].status == "left out"
    assert "accelerator" in entries["keras.quantizers.Quantizer"].reason
    assert keras_census.stale_left_out(result) == []
    # a listed parameter is not counted as absent: Dense lacks lora_rank without a difference
    assert not any("lora" in d for d in entries["keras.layers.Dense"].differences)


def test_a_name_glassnet_lacks_counts_as_missing_unless_listed(keras, tmp_path):
    listing = tmp_path / "keras_api.md"
    listing.write_text("## Left out\n\n| name | why |\n|---|---|\n"
                       "| `keras.quantizers.*` | a reason |\n", encoding="utf-8")
    result = keras_census.census(keras, left_out_file=listing)
    statuses = {e.name: e.status for module in result.values() for e in module}
    assert statuses["keras.quantizers.Quantizer"] == "left out"
    assert statuses["keras.export.ExportArchive"] == "missing"   # listed in docs only
    assert keras_census.stale_left_out(result, listing) == []


def test_compare_finds_absent_parameters_defaults_requirements_and_order():
    def theirs(units, activation=None, use_bias=True, *, seed=None, **kwargs):
        pass

    def ours(units, use_bias=False, activation=None, extra=1, needed=None, **kwargs):
        pass

    def strict(units, activation, use_bias=True, seed=None):
        pass

    problems = keras_census.compare(theirs, ours, left_out_parameters={})
    assert "no parameter seed (glassnet takes **kwargs)" in problems
    assert "use_bias: default False, Keras True" in problems
    assert any(p.startswith("order: positional parameter 2") for p in problems)
    assert not any("extra" in p for p in problems)        # an optional extra is fine
    problems = keras_census.compare(theirs, strict, left_out_parameters={"seed": "why"})
    assert problems == ["activation: default required, Keras None"]
    assert keras_census.compare(theirs, theirs, left_out_parameters={}) == []


def test_class_parameters_follow_kwargs_up_the_mro():
    class Base:
        def __init__(self, name=None, trainable=True):
            pass

    class Child(Base):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)

    named, open_ended = keras_census.parameters(Child)
    assert list(named) == ["units", "name", "trainable"] and not open_ended
    named, open_ended = keras_census.parameters(Child, follow_kwargs=False)
    assert list(named) == ["units"] and open_ended
    assert isinstance(named["units"], inspect.Parameter)


def test_command_line_prints_the_table_and_json(keras, capsys):
    assert keras_census.main(["--module", "keras.losses", "--summary"]) == 0
    text = capsys.readouterr().out
    assert "keras.losses" in text and "present" in text and "total" in text
    assert keras_census.main(["--module", "keras.layers", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["keras_version"] == keras.__version__
    assert set(report["names"]) == {"keras.layers"}
    layer_count = sum(report["counts"]["keras.layers"].values())
    assert layer_count == len(report["names"]["keras.layers"]) > 100
    with pytest.raises(SystemExit):
        keras_census.main(["--module", "keras.nothing"])

"""Hostile configs in otherwise valid model files: class names that name code, odd JSON
values, and layers sized to exhaust memory. Each loads or ends in a ModelFileError naming
the file (the harness: tests/_fuzzing.py; the files: tests/saving/_fuzz_models.py)."""

from __future__ import annotations

import copy
import json

import pytest
from _fuzz_models import MIN_CASES, model_fuzzer, original_files, run_members
from hypothesis import given, settings
from hypothesis import strategies as st

from _fuzzing import HYPOTHESIS, unzip


@pytest.fixture
def fuzz(tmp_path):
    with model_fuzzer(tmp_path) as fuzzer:
        yield fuzzer


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> dict[str, bytes]:
    return original_files(tmp_path_factory.mktemp("originals"))


# ----- configs that name code, and odd values ------------------------------------------------
HOSTILE_NAMES = ["os.system", "builtins.eval", "__import__", "eval", "exec", "compile",
                 "subprocess.Popen", "posix.system", "pickle.loads", "numpy.load",
                 "glassnet.saving.load_model", "__builtins__", "__class__", "__subclasses__",
                 "object", "type", "Layer", "Model", "Parameter", "", " Dense", "dense\n",
                 "Dense.__init__", "lambda x: x", "${jndi:x}"]


def _set(document: dict, path: tuple, value) -> None:
    for key in path[:-1]:
        document = document[key]
    document[path[-1]] = value


def _name_slots(config: dict) -> dict[str, tuple[tuple, bool]]:
    """Where a saved config names something: {label: (path, takes a spec dict too)}."""
    slots = {"model class": (("class_name",), False),
             "optimizer class": (("compile_config", "optimizer", "class_name"), False),
             "optimizer": (("compile_config", "optimizer"), True),
             "loss": (("compile_config", "loss"), True),
             "metric": (("compile_config", "metrics", 0), True)}
    for index, spec in enumerate(config["config"]["layers"]):
        slots[f"layer {index} class"] = (("config", "layers", index, "class_name"), False)
        for key in ("activation", "kernel_initializer", "bias_initializer", "kernel_regularizer",
                    "embeddings_initializer", "recurrent_initializer", "gamma_initializer",
                    "layer"):  # "layer": the LSTM inside Bidirectional
            if key in spec["config"]:
                slots[f"layer {index} {key}"] = (("config", "layers", index, "config", key),
                                                 True)
    return slots


def test_class_names(fuzz, tmp_path, originals):
    """Every place a name is resolved, given names of modules, builtins and dunders."""
    for model_name in ("mlp", "rnn"):
        contents = unzip(originals[model_name])
        config = json.loads(contents["config.json"])
        for number, (slot, (path, takes_spec)) in enumerate(_name_slots(config).items()):
            # Each slot gets every third name (in turn), each name a third of the slots.
            for index, hostile in list(enumerate(HOSTILE_NAMES))[number % 3::3]:
                edited, metadata = copy.deepcopy(config), json.loads(contents["metadata.json"])
                # A bare name, or (every other one) a {"class_name", "config"} spec.
                value = {"class_name": hostile, "config": {}} if takes_spec and index % 2 \
                    else hostile
                if path == ("compile_config", "metrics", 0):
                    edited["compile_config"]["metrics"] = [None]
                _set(edited, path, value)
                if slot == "model class":
                    metadata["class_name"] = hostile  # else the metadata check refuses first
                run_members(fuzz, tmp_path, {**contents,
                                             "config.json": json.dumps(edited).encode(),
                                             "metadata.json": json.dumps(metadata).encode()},
                            f"{model_name} {slot} = {value!r}")
    assert fuzz.outcomes["loaded"] == 0
    fuzz.report("class_names", MIN_CASES["class_names"])


def _json_paths(value, prefix=()) -> list[tuple]:
    """Every path (tuple of keys and indices) into a JSON value, the root included."""
    paths = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            paths += _json_paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths += _json_paths(item, prefix + (index,))
    return paths


_REGISTERED = ["Dense", "Sequential", "Conv2D", "LSTM", "Bidirectional", "Embedding",
               "GlorotUniform", "Constant", "L2", "Adam", "SGD", "ExponentialDecay", "relu"]
_LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 50), st.integers(10**5, 10**9),
    st.integers(10**12, 2**70),
    st.integers(-(2**70), -(10**12)), st.sampled_from([10**400, -(10**400), 0, -1, 2**63]),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(HOSTILE_NAMES + _REGISTERED))
_JSON = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(["class_name", "config", "units", "name", "dtype",
                                         "layers", "shape", "seed", "x"]), inner, max_size=4),
        st.fixed_dictionaries({"class_name": st.sampled_from(HOSTILE_NAMES + _REGISTERED),
                               "config": inner})),
    max_leaves=12)


def test_config_values(fuzz, tmp_path, originals):
    """A random JSON value put at a random place of a real config (or a key dropped)."""
    contents = {name: unzip(data) for name, data in originals.items()}

    @given(model_name=st.sampled_from(["mlp", "cnn", "rnn"]),
           member=st.sampled_from(["config.json"] * 3 + ["metadata.json"]),
           where=st.floats(0, 1, exclude_max=True),
           action=st.sampled_from(["set", "drop", "add"]), value=_JSON)
    @settings(max_examples=MIN_CASES["config_values"] + 10, **HYPOTHESIS)
    def one_edit(model_name, member, where, action, value):
        members = contents[model_name]
        document = json.loads(members[member])
        paths = _json_paths(document)
        path = paths[int(where * len(paths))]
        document = _edit(document, path, action, value)
        run_members(fuzz, tmp_path, {**members, member: json.dumps(document).encode()},
                    f"{model_name} {member} {action} {path} = {value!r}")

    one_edit()
    fuzz.report("config_values", MIN_CASES["config_values"])


def _edit(document, path: tuple, action: str, value):
    """`document` with `value` set at `path`, or added beside it, or `path` dropped."""
    if not path:
        return value  # the whole document replaced, whatever the action
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    if action == "set":
        parent[key] = value
    elif action == "drop":
        del parent[key]
    elif isinstance(parent, list):
        parent.insert(key, value)
    else:
        parent[f"extra_{key}"] = value
    return document


def test_weird_json(fuzz, tmp_path, originals):
    """Text-level JSON oddities: nesting, huge numbers, NaN, duplicate keys, encodings."""
    contents = unzip(originals["mlp"])
    text = contents["config.json"].decode()
    config = json.loads(text)
    units = '"units": 8'
    assert units in text
    cases = {
        "nested 100 000 deep": "[" * 100_000 + "]" * 100_000,
        "objects nested 100 000 deep": '{"a":' * 100_000 + "1" + "}" * 100_000,
        "lists nested 990 deep as a config value": text.replace(
            units, '"units": ' + "[" * 990 + "]" * 990),
        "Sequential nested 300 deep": _nest_sequential(config, 300),
        "Sequential nested 5000 deep": _nest_sequential(config, 5000),
        "a 5000-digit integer": text.replace(units, '"units": ' + "9" * 5000),
        "a 4000-digit integer": text.replace(units, '"units": ' + "9" * 4000),
        "1e999 units": text.replace(units, '"units": 1e999'),
        "NaN units": text.replace(units, '"units": NaN'),
        "-Infinity units": text.replace(units, '"units": -Infinity'),
        "NaN learning rate": text.replace('"learning_rate": 0.001', '"learning_rate": NaN'),
        "1e999 learning rate": text.replace('"learning_rate": 0.001', '"learning_rate": 1e999'),
        "duplicate units": text.replace(units, '"units": 8, "units": 9'),
        "duplicate class_name": text.replace('"class_name": "Sequential"',
                                             '"class_name": "os.system", '
                                             '"class_name": "Sequential"', 1),
        "empty": "", "null": "null", "a list": "[]", "a string": '"Sequential"',
        "a number": "1", "trailing garbage": text + "}", "single quotes": text.replace('"', "'"),
        "lone surrogate in a name": text.replace('"sequential"', '"\\ud800"'),
        "NUL in a name": text.replace('"sequential"', '"seq\\u0000"'),
        "a 100 000-element list": text.replace(units, '"units": [' + "0," * 10**5 + "0]"),
        "a megabyte string": text.replace('"sequential"', '"' + "s" * 2**20 + '"'),
    }
    loaded = [label for label, document in cases.items()
              if run_members(fuzz, tmp_path, {**contents, "config.json": document.encode()},
                             label) == "loaded"]
    # A model name is any string, and a Sequential may hold a Sequential: these are valid.
    assert loaded == ["Sequential nested 300 deep", "lone surrogate in a name",
                      "NUL in a name", "a megabyte string"]
    for label, data in (("UTF-16", text.encode("utf-16")), ("BOM", b"\xef\xbb\xbf" + text.encode()),
                        ("Latin-1 byte", text.replace("sequential", "s\xe9q").encode("latin1"))):
        run_members(fuzz, tmp_path, {**contents, "config.json": data}, label)
    metadata = contents["metadata.json"].decode()
    for label, document in (("duplicate format", metadata.replace(
                                '"format": "glassnet"', '"format": "x", "format": "glassnet"')),
                            ("huge version", metadata.replace('"format_version": 1',
                                                              '"format_version": 1e999'))):
        run_members(fuzz, tmp_path, {**contents, "metadata.json": document.encode()}, label)
    assert fuzz.outcomes["loaded"] == len(loaded)
    fuzz.report("weird_json", MIN_CASES["weird_json"])


def _nest_sequential(config: dict, depth: int) -> str:
    """The config's model wrapped in `depth` Sequentials of one layer each, as JSON text."""
    head = '{"name": "s", "layers": [{"class_name": "Sequential", "config": '
    inner = json.dumps(config["config"])
    return (json.dumps({**config, "config": "INNER"})
            .replace('"INNER"', head * depth + inner + "}]}" * depth))


@pytest.mark.parametrize("edit", [
    lambda c: c["config"]["layers"][1]["config"].update(units=10**6),
    lambda c: c["config"]["layers"][1]["config"].update(units=10**8),
    lambda c: c["config"].update(build_input_shape=[None, 10**5, 10**4]),
])
def test_huge_layer_in_config(fuzz, tmp_path, originals, edit):
    """Found by the fuzzing: layers allocated the weights a config asked for (100 MB for
    10**6 units) before the file's arrays were compared; now capped near what the file holds
    (`layers.base.weight_budget`, set by `saving.build_model`)."""
    contents = unzip(originals["mlp"])
    config = json.loads(contents["config.json"])
    edit(config)
    assert run_members(fuzz, tmp_path, {**contents, "config.json": json.dumps(config).encode()},
                       "huge layer") == "ModelFileError"

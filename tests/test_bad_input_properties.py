"""Bad numbers in, clear errors out: fit/evaluate/predict on random shapes, dtypes and labels.

Issue 6, item 5. Hypothesis (derandomized, a fixed number of examples) draws x, y and
sample_weight for small models compiled with each of mse, binary, categorical and sparse
categorical cross-entropy: shapes right and wrong, dtypes from bool to datetime, NaN/inf
and float32-overflowing values at random places, and label encodings (one-hot, sparse ints,
fractions, negatives, out of range, (N, 1) vs (N,)).

An oracle (`Case.problems`) says, from what was drawn, which arguments are invalid. Then:
- valid arguments: the call works: finite loss, outputs of shape (N, units), finite;
- invalid ones: a ValueError or TypeError whose message names one of the invalid arguments,
  raised by glassnet's own checks (the traceback's last frame is in glassnet/training/data/
  or the training loop), never from inside NumPy, a layer or a loss.
"""

from __future__ import annotations

import re
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import PurePath

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import glassnet as gn
from glassnet import layers
from glassnet.random import set_random_seed

MAX_EXAMPLES = 500
FEATURES = 4
# loss -> (output units, output activation)
MODELS = {
    "mse": (2, "linear"),
    "binary_crossentropy": (1, "sigmoid"),
    "categorical_crossentropy": (3, "softmax"),
    "sparse_categorical_crossentropy": (3, "softmax"),
}
# The files whose checks may raise: glassnet's own argument checks.
CHECKERS = ("glassnet/training/data/checks.py", "glassnet/training/data/adapters.py",
            "glassnet/training/data/prepare.py", "glassnet/training/trainer.py",
            "glassnet/models/model.py")
NUMERIC = ["float32", "float64", "float16", "int8", "int64", "uint8", "bool"]
NON_NUMERIC = ["complex64", "object", "str", "bytes", "datetime64[s]", "timedelta64[s]"]
COUNTS: dict[str, int] = {}


@dataclass
class Case:
    """One drawn call, and the arguments the oracle knows to be invalid (with why)."""

    loss: str
    method: str
    x: object
    y: object = None
    sample_weight: object = None
    batch_size: int = 2
    problems: dict[str, str] = field(default_factory=dict)

    def bad(self, argument: str, why: str) -> None:
        self.problems.setdefault(argument, why)


# ----- drawing arguments ---------------------------------------------------------------------
def _with_dtype(draw, values: np.ndarray, case: Case, argument: str):
    """`values` in a drawn dtype; a non-numeric one makes `argument` invalid."""
    dtype = draw(st.sampled_from(NUMERIC * 3 + NON_NUMERIC))
    if dtype in NON_NUMERIC:
        case.bad(argument, f"dtype {dtype}")
        if dtype in ("str", "bytes", "object"):
            return values.astype(dtype)
        if dtype.startswith(("datetime", "timedelta")):
            return values.astype(np.int64).astype(dtype)
        return values.astype(dtype) + 1j
    if dtype == "bool":
        return values != 0  # keeps 0/1 labels as they are
    if np.dtype(dtype).kind in "iu":
        rounded = np.rint(values)
        info = np.iinfo(dtype)
        return np.clip(rounded, info.min, info.max).astype(dtype)
    return values.astype(dtype)


def _damage(draw, values: np.ndarray, case: Case, argument: str) -> np.ndarray:
    """Maybe put NaN, inf or a float32-overflowing value (1e300) at a random place."""
    kind = draw(st.sampled_from([None] * 9 + ["nan", "inf", "-inf", "1e300"]))
    if kind is None or values.size == 0 or values.dtype.kind != "f":
        return values
    values = values.copy()
    index = draw(st.integers(0, values.size - 1))
    with np.errstate(over="ignore"):  # 1e300 in float16/float32 is inf: still bad
        values.reshape(-1)[index] = float(kind)
    case.bad(argument, f"holds {kind}")
    return values


def _features(draw, case: Case, n: int):
    shape = draw(st.sampled_from([(n, FEATURES)] * 12 + [(n, FEATURES - 1), (n, FEATURES + 1),
                                                         (n,), (n, FEATURES, 1), ()]))
    if shape != (n, FEATURES):
        case.bad("x", f"shape {shape}")
    x = draw(st.sampled_from([0.5, 3.0, 100.0])) * np.asarray(np.random.default_rng(
        draw(st.integers(0, 99))).standard_normal(shape))
    # np.asarray: arithmetic on a 0-d array gives a NumPy scalar
    x = _damage(draw, np.asarray(_with_dtype(draw, np.asarray(x), case, "x")), case, "x")
    if draw(st.integers(0, 9)) == 0 and x.ndim == 2 and x.dtype.kind in "biuf":
        return x.tolist()  # nested Python lists are accepted too
    return x


def _targets(draw, case: Case, n: int):
    """Labels in one of the encodings, some valid for this loss and some not."""
    units = MODELS[case.loss][0]
    rng = np.random.default_rng(draw(st.integers(0, 99)))
    encoding = draw(st.sampled_from(["one-hot", "sparse", "sparse (n,1)", "probability",
                                     "one-hot", "sparse", "fractions",
                                     "negative", "out of range", "regression",
                                     "wrong length"]))
    length = n + 1 if encoding == "wrong length" else n
    classes = rng.integers(0, max(units, 2), length)
    y = {
        "one-hot": np.eye(max(units, 2))[classes],
        "sparse": classes.astype(np.float64),
        "sparse (n,1)": classes.astype(np.float64)[:, None],
        "fractions": classes + 0.25,
        "negative": -1.0 - classes,
        "out of range": classes + float(max(units, 2)),
        "regression": rng.standard_normal((length, units)),
        "probability": rng.uniform(0, 1, (length, units)),
        "wrong length": classes.astype(np.float64),
    }[encoding]
    if encoding == "wrong length":
        case.bad("y", "one sample more than x")
    y = np.asarray(_with_dtype(draw, y, case, "y"))
    if y.dtype.kind in "biuf":
        _judge_targets(case, y, units)
    return _damage(draw, y, case, "y")


def _judge_targets(case: Case, y: np.ndarray, units: int) -> None:
    """The oracle for numeric y (as it will be passed): what each loss accepts."""
    values = y.astype(np.float64)
    if case.loss == "sparse_categorical_crossentropy":
        if y.shape[1:] not in ((), (1,)):
            case.bad("y", f"shape {y.shape} for sparse labels")
        elif (values != np.round(values)).any() or (values < 0).any() or (values >= units).any():
            case.bad("y", f"sparse labels {values.ravel().tolist()} not in 0..{units - 1}")
    elif case.loss == "categorical_crossentropy":
        if y.shape[1:] != (units,):
            case.bad("y", f"shape {y.shape} for {units} classes")
    elif case.loss == "binary_crossentropy":
        if y.shape[1:] not in ((), (1,)):
            case.bad("y", f"shape {y.shape} for one output")
        elif (values < 0).any() or (values > 1).any():
            case.bad("y", "values outside [0, 1]")
    elif y.shape[1:] != (units,) and not (units == 1 and y.shape[1:] == ()):
        case.bad("y", f"shape {y.shape} for outputs (n, {units})")  # mse


def _weights(draw, case: Case, n: int):
    kind = draw(st.sampled_from([None] * 3 + ["ok", "(n, 1)", "negative", "short", "(n, 2)",
                                              "nan", "str"]))
    if kind is None:
        return None
    weights = np.random.default_rng(n).uniform(0.5, 2.0, n)
    if kind == "(n, 1)":
        return weights[:, None]
    if kind == "ok":
        return weights
    case.bad("sample_weight", kind)
    if n and kind in ("negative", "nan"):
        weights[0] = {"negative": -1.0, "nan": np.nan}[kind]
    return {"short": weights[:-1], "(n, 2)": np.stack([weights, weights], 1),
            "str": weights.astype(str)}.get(kind, weights)


@st.composite
def cases(draw) -> Case:
    case = Case(loss=draw(st.sampled_from(sorted(MODELS))),
                method=draw(st.sampled_from(["fit", "fit", "evaluate", "predict"])), x=None)
    n = draw(st.sampled_from([4, 1, 2, 3, 5, 0]))  # Hypothesis favours the first ones
    case.x = _features(draw, case, n)
    case.batch_size = draw(st.integers(1, 4))
    if case.method != "predict":
        case.y = _targets(draw, case, n)
        case.sample_weight = _weights(draw, case, n)
    if n == 0:
        for argument in ("x", "y"):
            case.bad(argument, "no samples")
    return case


# ----- running one ---------------------------------------------------------------------------
def _model(loss: str) -> gn.Sequential:
    units, activation = MODELS[loss]
    set_random_seed(0)
    model = gn.Sequential([layers.Input(shape=(FEATURES,)),
                           layers.Dense(5, activation="tanh"),
                           layers.Dense(units, activation=activation)])
    model.compile(optimizer="sgd", loss=loss)
    return model


def run(case: Case):
    model = _model(case.loss)
    if case.method == "fit":
        history = model.fit(case.x, case.y, sample_weight=case.sample_weight, epochs=1,
                            batch_size=case.batch_size, verbose=0)
        return history.history["loss"][-1]
    if case.method == "evaluate":
        return model.evaluate(case.x, case.y, sample_weight=case.sample_weight,
                              batch_size=case.batch_size, verbose=0)
    return model.predict(case.x, batch_size=case.batch_size, verbose=0)


def check(case: Case) -> str:
    """Run `case`; assert the oracle's verdict; return "ok" or the error's type name."""
    try:
        result = run(case)
    except (ValueError, TypeError) as error:
        frame = traceback.extract_tb(error.__traceback__)[-1]
        where = PurePath(frame.filename).as_posix()
        assert case.problems, f"valid {case} refused: {type(error).__name__}: {error}"
        assert where.endswith(CHECKERS), (
            f"{type(error).__name__} raised in {where}:{frame.lineno} ({frame.name}), not by "
            f"glassnet's checks: {error}\n{case}")
        named = {arg for arg in case.problems
                 if re.search(rf"(^|[\s(]){re.escape(arg)}\b", str(error))}
        assert named, f"message names none of {sorted(case.problems)}: {error}\n{case}"
        return type(error).__name__
    except Exception as error:  # noqa: BLE001 - any other type is a failure to report
        raise AssertionError(f"{type(error).__name__} escaped: {error}\n{case}") from error
    assert not case.problems, f"accepted although {case.problems}: {case}"
    if case.method == "predict":
        n = len(case.x)
        assert result.shape == (n, MODELS[case.loss][0]) and np.isfinite(result).all()
    else:
        assert np.isfinite(result), f"loss {result} for {case}"
    return "ok"


@given(case=cases())
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None)
def _check_random_case(case):
    outcome = check(case)
    COUNTS[outcome] = COUNTS.get(outcome, 0) + 1
    for argument in case.problems:
        COUNTS[f"bad {argument}"] = COUNTS.get(f"bad {argument}", 0) + 1


def test_random_inputs_work_or_are_refused_clearly():
    COUNTS.clear()
    _check_random_case()
    total = COUNTS.get("ok", 0) + COUNTS.get("ValueError", 0) + COUNTS.get("TypeError", 0)
    print(f"\n[bad inputs] {total} cases: {dict(sorted(COUNTS.items()))}")
    assert total >= MAX_EXAMPLES - 10
    assert COUNTS.get("ok", 0) >= 40 and COUNTS.get("ValueError", 0) >= 100


@pytest.mark.parametrize("loss", sorted(MODELS))
@pytest.mark.parametrize("method", ["fit", "evaluate", "predict"])
def test_valid_inputs_work(loss, method):
    """The oracle's valid cases do work (the property test is not vacuous)."""
    units = MODELS[loss][0]
    n = 5
    x = np.random.default_rng(0).standard_normal((n, FEATURES)).astype(np.float32)
    labels = np.arange(n) % max(units, 2)
    y = {"mse": np.zeros((n, units)), "binary_crossentropy": labels[:, None] % 2,
         "categorical_crossentropy": np.eye(units)[labels % units],
         "sparse_categorical_crossentropy": labels % units}[loss]
    assert check(Case(loss, method, x, None if method == "predict" else y)) == "ok"


def test_targets_overflowing_float32_are_refused():
    """Found by the property test: y was checked for NaN/inf before its cast to float32, so
    1e300 became inf after the check and training stopped later, inside the step."""
    x = np.zeros((2, FEATURES), np.float32)
    y = np.array([[1e300, 0.0], [0.0, 1.0]])
    assert check(Case("mse", "fit", x, y, problems={"y": "holds 1e300"})) == "ValueError"


def test_target_shape_is_checked_before_training():
    """Found by the property test: mse targets of the wrong shape reached the loss, which
    refused them from inside glassnet/losses.py (naming "y_true") after training began."""
    x = np.zeros((3, FEATURES), np.float32)
    outcome = check(Case("mse", "fit", x, np.zeros(3), problems={"y": "(n,) for (n, 2)"}))
    assert outcome == "ValueError"
    with pytest.raises(ValueError, match=r"y: expected targets of shape \(n, 2\)"):
        _model("mse").evaluate(x, np.zeros((3, 3)), verbose=0)
    # (n,) targets for an (n, 1) output are fine, as in Keras.
    assert check(Case("binary_crossentropy", "fit", x, np.array([0.0, 1.0, 1.0]))) == "ok"


def test_overflowing_x_is_refused_without_a_warning():
    x = np.full((2, FEATURES), 1e300)  # finite in float64, inf in the model's float32
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the cast's RuntimeWarning came before the error
        with pytest.raises(ValueError, match="x: contains inf"):
            _model("mse").predict(x, verbose=0)

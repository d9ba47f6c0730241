"""What the ONNX export tests share: onnxruntime, and "ONNX Runtime predicts what glassnet
predicts" at batch sizes 1 and 9, relative to the output's scale.

onnx and onnxruntime are test tools (the `reference` extra): CI installs them, so there a
missing one fails; elsewhere the tests skip.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import IN_CI

TOLERANCE = 1e-5             # max |onnx - glassnet| / max |glassnet|, float32
BATCH_SIZES = (1, 9)
WORST: dict[str, float] = {}  # test id -> the difference seen (for the closing figures)


def require(module: str):
    """The module, else a skip (a failure under CI=true)."""
    try:
        return __import__(module)
    except ImportError:
        message = f"{module} is required for the ONNX export tests (pip install {module})"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def session(proto):
    """An onnxruntime session on a ModelProto (in memory) or a path, on one thread."""
    ort = require("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    source = proto if isinstance(proto, str) else proto.SerializeToString()
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def run(sess, x):
    """The session's one output for x (an array, or a list for several inputs)."""
    arrays = x if isinstance(x, list) else [x]
    feeds = {spec.name: array for spec, array in zip(sess.get_inputs(), arrays)}
    return sess.run(None, feeds)[0]


def relative_difference(actual, expected) -> float:
    scale = max(float(np.max(np.abs(expected))), 1e-30)
    return float(np.max(np.abs(actual.astype(np.float64) - expected))) / scale


def assert_same(model, make_input, label: str, batch_sizes=BATCH_SIZES, **export_kwargs):
    """Export `model` and compare onnxruntime with `model.predict` on make_input(batch)."""
    require("onnx")
    from glassnet.export.onnx import to_onnx

    sess = session(to_onnx(model, **export_kwargs))
    worst = 0.0
    for batch in batch_sizes:
        x = make_input(batch)
        expected = model.predict(x, verbose=0, batch_size=batch)
        actual = run(sess, x)
        assert actual.shape == expected.shape, (label, batch, actual.shape, expected.shape)
        worst = max(worst, relative_difference(actual, expected))
    WORST[label] = worst
    assert worst <= TOLERANCE, f"{label}: onnxruntime differs from predict by {worst:.2e}"
    return worst


def randomize(model, rng, scale: float = 0.5) -> None:
    """Every weight drawn at random (variances positive), so that biases, moving statistics
    and padding masks all show in the outputs."""
    for param in model.parameters():
        if "variance" in param.name:
            param.assign(rng.uniform(0.5, 2.0, size=param.shape))
        else:
            param.assign(rng.normal(0.0, scale, size=param.shape))

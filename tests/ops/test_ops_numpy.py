"""glassnet.ops.numpy: Keras' `keras.ops.numpy` path to the same ops."""

import numpy as np

from glassnet import ops
from glassnet.ops import numpy as ops_numpy


def test_every_name_is_the_op_and_keras_has_it_there(keras):
    assert len(ops_numpy.__all__) > 100
    for name in ops_numpy.__all__:
        assert getattr(ops_numpy, name) is getattr(ops, name), name
        assert hasattr(keras.ops.numpy, name), name


def test_values_match_keras_ops_numpy(keras, rng):
    x = rng.normal(size=(3, 4)).astype("float32")
    for name, args in [("mean", {"axis": 0}), ("cumsum", {"axis": 1}), ("tril", {}),
                       ("argsort", {"axis": -1}), ("moveaxis", {"source": 0, "destination": 1})]:
        ours = getattr(ops_numpy, name)(x, **args)
        theirs = keras.ops.convert_to_numpy(getattr(keras.ops.numpy, name)(x, **args))
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, err_msg=name)

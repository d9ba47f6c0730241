"""`glassnet.ops`: Keras 3's `keras.ops` on NumPy arrays, differentiable by the tape.

    from glassnet import ops
    y = ops.softmax(ops.matmul(x, w) + b)          # plain arrays in, plain arrays out

Inside a layer's `call()` the same functions receive Tensors, record themselves on the
layer's tape, and the backward pass comes from their VJPs (see `glassnet.autodiff`).
Names, signatures, broadcasting and dtype promotion follow Keras 3 (`dtypes.py`); 64-bit
inputs stay 64-bit.

Layout (one family a file, each op's VJP right under its forward):
    arithmetic.py   add, multiply, divide, power, maximum, comparisons, logic
    elementwise.py  exp, log, sqrt, square, abs, clip, tanh, sin, ...; floor, round, sign
    products.py     matmul, einsum, tensordot, dot, outer
    reductions.py   sum, mean, max, min, prod, var, std, logsumexp, cumsum; argmax, argsort
    shaping.py      reshape, transpose, expand_dims, squeeze, concatenate, stack, split,
                    tile, repeat, pad, flip, roll, get_item (x[...])
    indexing.py     take, take_along_axis, where, scatter, slice, sort, top_k
    nn.py           relu, sigmoid, softmax, log_softmax, gelu, silu, softplus, elu, one_hot,
                    moments, the crossentropies
    convolution.py  conv, depthwise_conv, conv_transpose, max_pool, average_pool
    core.py         cast, convert_to_tensor, shape, stop_gradient, cond, while_loop, scan
    creation.py     zeros, ones, full, arange, eye, linspace, *_like
    linalg.py       norm
    numpy.py        `keras.ops.numpy`: the NumPy-like ops above, under Keras' path
    dtypes.py       result_type: Keras' promotion lattice
"""

from glassnet.autodiff import REGISTRY as _REGISTRY
from glassnet.autodiff import install_operators as _install_operators
from glassnet.ops import linalg as linalg
from glassnet.ops import nn as nn
from glassnet.ops.arithmetic import *  # noqa: F403
from glassnet.ops.arithmetic import __all__ as _arithmetic
from glassnet.ops.convolution import *  # noqa: F403
from glassnet.ops.convolution import __all__ as _convolution
from glassnet.ops.core import *  # noqa: F403
from glassnet.ops.core import __all__ as _core
from glassnet.ops.creation import *  # noqa: F403
from glassnet.ops.creation import __all__ as _creation
from glassnet.ops.dtypes import result_type as result_type
from glassnet.ops.elementwise import *  # noqa: F403
from glassnet.ops.elementwise import __all__ as _elementwise
from glassnet.ops.indexing import *  # noqa: F403
from glassnet.ops.indexing import __all__ as _indexing
from glassnet.ops.linalg import norm as norm
from glassnet.ops.nn import *  # noqa: F403
from glassnet.ops.nn import __all__ as _nn
from glassnet.ops.products import *  # noqa: F403
from glassnet.ops.products import __all__ as _products
from glassnet.ops.reductions import *  # noqa: F403
from glassnet.ops.reductions import __all__ as _reductions
from glassnet.ops.shaping import *  # noqa: F403
from glassnet.ops.shaping import __all__ as _shaping

__all__ = sorted({*_arithmetic, *_convolution, *_core, *_creation, *_elementwise, *_indexing, *_nn,
                  *_products, *_reductions, *_shaping, "linalg", "nn", "norm", "result_type"})

# `keras.ops.numpy`: the same ops again under Keras' submodule path (imported last: it
# re-exports names defined above)
from glassnet.ops import numpy as numpy  # noqa: E402

# Python's operators on Tensors and Variables are these ops (`a + b` is `ops.add(a, b)`).
_install_operators({name: globals()[name] for name in (
    "add", "subtract", "multiply", "divide", "floor_divide", "mod", "power", "matmul",
    "negative", "abs", "less", "less_equal", "greater", "greater_equal", "equal",
    "not_equal", "logical_and", "logical_or", "logical_not", "get_item", "transpose")})
_install_operators({"__names__": frozenset(__all__) | frozenset(_REGISTRY)})

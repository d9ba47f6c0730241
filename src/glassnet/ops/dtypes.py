"""Keras 3's dtype rules for ops: which dtype `x1 + x2` has, and the conversions ops share.

Keras promotes along a lattice (adapted from JAX) instead of NumPy's value-based table:

    bool -> int -> uint8 -> ... ;  int8 -> int16 -> int32 -> int64 -> float -> float16
    -> float32 -> float64 -> complex128          ("int", "float": Python scalars, "weak")

so an integer array meets a float array in the float's dtype (int64 + float32 -> float32,
where NumPy says float64), and a Python scalar never widens an array (2.0 * float16 ->
float16); Python scalars alone resolve to 32-bit types (floatx). Unlike Keras' JAX-aligned
rule, 64-bit dtypes stay 64-bit here: float64 is what gradient checks run in.

Ops that only make sense on floats (exp, sqrt, mean, divide) turn integer and boolean
inputs into floatx, as Keras does.
"""

from __future__ import annotations

import functools

import numpy as np

from glassnet import config

# Each dtype's immediate successors on the promotion lattice ("int"/"float": weak types).
_LATTICE = {
    "bool": ["int"],
    "int": ["uint8", "int8"],
    "uint8": ["int16", "uint16"], "uint16": ["int32", "uint32"],
    "uint32": ["int64", "uint64"], "uint64": ["float"],
    "int8": ["int16"], "int16": ["int32"], "int32": ["int64"], "int64": ["float"],
    "float": ["float16"],
    "float16": ["float32"], "float32": ["float64", "complex64"],
    "float64": ["complex128"], "complex64": ["complex128"], "complex128": [],
}


def _upper_bounds() -> dict[str, set[str]]:
    """Every dtype -> the set of dtypes at or above it on the lattice."""
    bounds = {node: {node} for node in _LATTICE}
    for node in _LATTICE:
        frontier = [node]
        while frontier:
            for above in _LATTICE[frontier.pop()]:
                if above not in bounds[node]:
                    bounds[node].add(above)
                    frontier.append(above)
    return bounds


_BOUNDS = _upper_bounds()


@functools.lru_cache(maxsize=512)
def _least_upper_bound(nodes: frozenset) -> str:
    unknown = sorted(n for n in nodes if n not in _BOUNDS)
    if unknown:
        raise TypeError(f"glassnet.ops works on numeric arrays; got dtype {unknown[0]!r}")
    common = set.intersection(*(_BOUNDS[n] for n in nodes))
    least = [c for c in common if common <= _BOUNDS[c]]
    if len(least) != 1:
        raise ValueError(f"dtypes {sorted(nodes)} have no common dtype to promote to")
    return least[0]


def _node(value) -> tuple[str, bool]:
    """(lattice node, is a weak Python scalar) of an op argument or dtype."""
    if isinstance(value, bool) or value is bool:
        return "bool", False
    if isinstance(value, int) or value is int:
        return "int", True
    if isinstance(value, float) or value is float:
        return "float", True
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        dtype = value if isinstance(value, (str, np.dtype, type)) else np.asarray(value).dtype
    return np.dtype(dtype).name, False


def result_type(*values) -> str:
    """The dtype Keras gives an op on `values` (arrays, tensors, Python scalars or dtypes).

        >>> result_type(np.zeros(2, "int64"), np.zeros(2, "float32"))
        'float32'
        >>> result_type(np.zeros(2, "float16"), 2.0), result_type(1, 2.0)
        ('float16', 'float32')
    """
    if not values:
        return config.floatx()
    nodes = [_node(v) for v in values]
    names = {name for name, _ in nodes}
    if len(names) == 1 and not all(weak for _, weak in nodes):
        return names.pop()
    result = _least_upper_bound(frozenset(names))
    if result == "int":
        return "int32"
    if result == "float":
        return config.floatx()
    return result


def standardize_dtype(dtype) -> str:
    """A dtype's name ('float32', 'int64', 'bool'); None gives floatx()."""
    if dtype is None:
        return config.floatx()
    if dtype is int:
        return "int32"
    if dtype is float:
        return config.floatx()
    return np.dtype(getattr(dtype, "name", dtype)).name


def promote(*values, floating: bool = False) -> list[np.ndarray]:
    """The arguments as arrays of their common Keras dtype (`result_type`); with `floating`,
    integers and booleans promote to floatx (division)."""
    dtype = result_type(*values, float) if floating else result_type(*values)
    return [np.asarray(v, dtype=dtype) if not isinstance(v, np.ndarray)
            else v.astype(dtype, copy=False) for v in values]


def as_float(x) -> np.ndarray:
    """x as a float array: its own float dtype, or floatx for integers and booleans."""
    x = np.asarray(x) if not isinstance(x, np.ndarray) else x
    if x.dtype.kind in "fc":
        return x
    if x.dtype.kind in "biu" or x.dtype == object:
        return x.astype(config.floatx())
    return x


def as_array(x, dtype=None) -> np.ndarray:
    """A Python value or array as Keras' `convert_to_tensor` makes it: Python floats give
    floatx and Python ints int32 (not NumPy's 64-bit defaults); arrays keep their dtype."""
    if dtype is not None:
        return np.asarray(x, dtype=standardize_dtype(dtype))
    if isinstance(x, np.ndarray):
        return x
    array = np.asarray(x)
    if isinstance(x, (bool, int, float, list, tuple)):
        if array.dtype == np.float64:
            return array.astype(config.floatx())
        if array.dtype == np.int64:
            return array.astype("int32")
    return array


def float_result(x) -> str:
    """The float dtype of an op that makes floats of `x` (mean, divide): x's, or floatx."""
    name, _ = _node(x)
    return name if name.startswith(("float", "complex")) else config.floatx()

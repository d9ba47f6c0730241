"""`split_dataset`: arrays cut into a left and a right part (Keras' sizes and shuffle).

    >>> left, right = split_dataset(np.arange(10), left_size=0.8)
    >>> (x_left, y_left), (x_right, y_right) = split_dataset((x, y), right_size=0.2,
    ...                                                      shuffle=True, seed=0)

Keras returns `tf.data` or torch datasets; glassnet returns the parts in the structure they
came in (an array, a tuple or list of arrays, a dict of arrays), ready for `fit`.
"""

from __future__ import annotations

import random

import numpy as np

from glassnet.random import make_generator


def split_dataset(dataset, left_size: float | int | None = None,
                  right_size: float | int | None = None, shuffle: bool = False,
                  seed: int | None = None, preferred_backend: str | None = None):
    """Split samples (the first axis of every array) into `(left, right)`.

    Args:
        dataset: an array (or anything np.asarray makes one of), a tuple or list of NumPy
            arrays, or a dict of arrays, all with the same number of samples.
        left_size, right_size: a float in (0, 1), a fraction of the samples (rounded), or an
            int, a count. A missing one is the rest; samples beyond both are left out (the
            right part is the last `right_size` samples).
        shuffle: shuffle the samples first (the order Keras draws: `random.Random(seed)`).
        seed: the shuffle's seed; None draws one from glassnet's global generator.
        preferred_backend: accepted for Keras compatibility; there is one backend.

    Returns:
        `(left, right)`, each in the structure of `dataset`.
    """
    arrays, rebuild = _flatten(dataset)
    total = len(arrays[0])
    for array in arrays:
        if len(array) != total:
            raise ValueError(f"split_dataset: every array needs the same number of samples; "
                             f"got {[len(a) for a in arrays]}")
    left, right = _sizes(left_size, right_size, total)
    order = list(range(total))
    if shuffle:
        if seed is None:
            seed = int(make_generator(None).integers(1_000_000))
        random.Random(seed).shuffle(order)
    order = np.asarray(order, dtype=np.int64)
    left_indices, right_indices = order[:left], order[total - right:]
    return (rebuild([a[left_indices] for a in arrays]),
            rebuild([a[right_indices] for a in arrays]))


def _flatten(dataset):
    """The arrays of `dataset`, and a function that puts parts back in its structure."""
    if isinstance(dataset, dict):
        keys = list(dataset)
        return [np.asarray(dataset[k]) for k in keys], lambda parts: dict(zip(keys, parts))
    if isinstance(dataset, (tuple, list)) and dataset and all(
            isinstance(item, np.ndarray) and item.ndim > 0 for item in dataset):
        kind = type(dataset)  # several arrays (Keras: a tuple or list of NumPy arrays)
        return list(dataset), lambda parts: kind(parts)
    array = np.asarray(dataset)
    if array.ndim == 0:
        raise TypeError(f"split_dataset: expected an array, a tuple/list or a dict of arrays, "
                        f"got {type(dataset).__name__}")
    return [array], lambda parts: parts[0]


def _sizes(left_size, right_size, total: int) -> tuple[int, int]:
    """Keras' rules for the two sizes (dataset_utils._rescale_dataset_split_sizes)."""
    if left_size is None and right_size is None:
        raise ValueError("split_dataset: give left_size, right_size or both")
    sizes = []
    for name, size in (("left_size", left_size), ("right_size", right_size)):
        if size is None:
            sizes.append(None)
        elif type(size) is float:
            if not 0 < size < 1:
                raise ValueError(f"{name}: a fraction must lie in (0, 1), got {size!r}")
            sizes.append(round(size * total))
        elif type(size) is int:
            if not 0 < size < total:
                raise ValueError(f"{name}: a count must lie in 1..{total - 1} for {total} "
                                 f"samples, got {size!r}")
            sizes.append(size)
        else:
            raise TypeError(f"{name}: expected a float, an int or None, got {size!r}")
    if type(left_size) is float and type(right_size) is float and left_size + right_size > 1:
        raise ValueError(f"split_dataset: left_size + right_size = {left_size + right_size} "
                         "is more than 1")
    left, right = sizes
    left = total - right if left is None else left
    right = total - left if right is None else right
    if left + right > total:
        raise ValueError(f"split_dataset: left_size + right_size = {left + right} samples, "
                         f"more than the {total} there are")
    if left == 0 or right == 0:
        side = "left" if left == 0 else "right"
        raise ValueError(f"split_dataset: the {side} part of {total} samples would be empty "
                         f"(left {left}, right {right})")
    return left, right


__all__ = ["split_dataset"]

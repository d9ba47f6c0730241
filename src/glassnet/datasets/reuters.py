"""Reuters newswires, each labelled with one of 46 topics: 11228 wires, split 80/20.

    >>> (x_train, y_train), (x_test, y_test) = glassnet.datasets.reuters.load_data(
    ...     num_words=10000, test_split=0.2)
    >>> glassnet.datasets.reuters.get_label_names()[y_train[0]]

Keras' own file (`reuters.npz`, checked by SHA-256) read without pickle (see `keras_npz`),
and turned into sequences exactly as `keras.datasets.reuters.load_data` does (see
`word_sequences`). The module is callable: `reuters(...)` is `reuters.load_data(...)`.
"""

from __future__ import annotations

import os

import numpy as np

from glassnet import checks
from glassnet.datasets import word_sequences as words
from glassnet.datasets._callable import make_callable
from glassnet.datasets._files import fetch


def load_data(path: str | os.PathLike = "reuters.npz", num_words: int | None = None,
              skip_top: int = 0, maxlen: int | None = None, test_split: float = 0.2,
              seed: int = 113, start_char: int | None = 1, oov_char: int | None = 2,
              index_from: int = 3, *, data_dir: str | os.PathLike | None = None):
    """The Reuters newswires as lists of word ids (Keras' arguments and results).

    The arguments are those of `imdb.load_data`, and `test_split`: the last
    `len - int(len * (1 - test_split))` wires of the shuffled set are the test set.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: x a 1-d object array of lists of ints, y the
        topic ids 0..45 (names: `get_label_names()`).
    """
    words.check_arguments(num_words, skip_top, maxlen, seed, start_char, oov_char, index_from)
    checks.in_range("test_split", test_split, 0.0, 1.0, include_high=True)
    [(xs, labels)] = words.read_sequences(fetch("reuters.npz", data_dir, path), (("x", "y"),))
    xs, labels = words.shuffle(np.random.RandomState(seed), xs, labels)
    xs = words.shift(xs, start_char, index_from)
    if maxlen:
        xs, labels = words.remove_long(maxlen, xs, labels)
    xs = words.limit_vocabulary(xs, num_words, skip_top, oov_char)
    split = int(len(xs) * (1 - test_split))
    x_train, y_train = np.array(xs[:split], dtype="object"), np.array(labels[:split])
    x_test, y_test = np.array(xs[split:], dtype="object"), np.array(labels[split:])
    return (x_train, y_train), (x_test, y_test)


def get_word_index(path: str | os.PathLike = "reuters_word_index.json", *,
                   data_dir: str | os.PathLike | None = None) -> dict[str, int]:
    """{word: rank} of the Reuters vocabulary (Keras' file, by MD5); id = rank + index_from."""
    return words.read_word_index(fetch("reuters_word_index.json", data_dir, path))


def get_label_names() -> tuple[str, ...]:
    """The 46 topic names, indexed by label (Keras' list)."""
    return LABEL_NAMES


LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply",
    "coffee", "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas",
    "cpi", "money-fx", "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin",
    "strategic-metal", "livestock", "retail", "ipi", "iron-steel", "rubber", "heat", "jobs",
    "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog", "lead",
)

__all__ = ["LABEL_NAMES", "get_label_names", "get_word_index", "load_data"]

make_callable(__name__, load_data)

"""IMDB movie reviews, labelled positive (1) or negative (0): 25000 for training, 25000 for test.

    >>> (x_train, y_train), (x_test, y_test) = glassnet.datasets.imdb.load_data(num_words=10000)
    >>> x = glassnet.utils.pad_sequences(x_train, maxlen=200)     # (25000, 200) int32

Keras' own file (`imdb.npz`, checked by SHA-256) read without pickle (see `keras_npz`), and
turned into sequences exactly as `keras.datasets.imdb.load_data` does (see `word_sequences`).
The module is callable: `imdb(...)` is `imdb.load_data(...)`.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from glassnet.datasets import word_sequences as words
from glassnet.datasets._callable import make_callable
from glassnet.datasets._files import fetch


def load_data(path: str | os.PathLike = "imdb.npz", num_words: int | None = None,
              skip_top: int = 0, maxlen: int | None = None, seed: int = 113,
              start_char: int | None = 1, oov_char: int | None = 2, index_from: int = 3,
              *, data_dir: str | os.PathLike | None = None, **kwargs):
    """The IMDB reviews as lists of word ids (Keras' arguments and results).

    Args:
        path: the file's name in the data folders, or an absolute path (see `_files.fetch`).
        num_words: keep the `num_words` most frequent words; rarer ones become `oov_char`.
        skip_top: the `skip_top` most frequent words become `oov_char` too.
        maxlen: drop the reviews of `maxlen` or more ids (after `start_char` is added).
        seed: seed of the shuffle.
        start_char: the id put at the start of every review (None: none).
        oov_char: the id of a removed word (None: removed words are left out).
        index_from: added to every word id (ids below it are reserved).
        data_dir: a folder searched first (glassnet's; keyword only).
        **kwargs: ignored, as Keras ignores them (a warning names them).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: x a 1-d object array of lists of ints, y the
        labels (int64 in Keras' file), in the shuffled order.

    Raises:
        ValueError: `maxlen` leaves no review in the training or the test set.
        DatasetError: the file is missing and cannot be downloaded, or is not Keras' file.
    """
    if kwargs:
        warnings.warn(f"imdb.load_data: ignoring unknown arguments {sorted(kwargs)}",
                      stacklevel=2)
    words.check_arguments(num_words, skip_top, maxlen, seed, start_char, oov_char, index_from)
    (x_train, labels_train), (x_test, labels_test) = words.read_sequences(
        fetch("imdb.npz", data_dir, path), (("x_train", "y_train"), ("x_test", "y_test")))
    rng = np.random.RandomState(seed)
    x_train, labels_train = words.shuffle(rng, x_train, labels_train)
    x_test, labels_test = words.shuffle(rng, x_test, labels_test)
    x_train = words.shift(x_train, start_char, index_from)
    x_test = words.shift(x_test, start_char, index_from)
    if maxlen:
        x_train, labels_train = words.remove_long(maxlen, x_train, labels_train)
        x_test, labels_test = words.remove_long(maxlen, x_test, labels_test)
        if not x_train or not x_test:
            raise ValueError(f"imdb.load_data: no review is shorter than maxlen={maxlen}; "
                             "increase maxlen")
    xs = words.limit_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    labels = np.concatenate([labels_train, labels_test])
    split = len(x_train)
    x_train, y_train = np.array(xs[:split], dtype="object"), labels[:split]
    x_test, y_test = np.array(xs[split:], dtype="object"), labels[split:]
    return (x_train, y_train), (x_test, y_test)


def get_word_index(path: str | os.PathLike = "imdb_word_index.json", *,
                   data_dir: str | os.PathLike | None = None) -> dict[str, int]:
    """{word: rank} of the IMDB vocabulary, rank 1 the most frequent (Keras' file, by MD5).

    Ranks are the ids before `load_data`'s `index_from` shift: the word of id `i` in
    `x_train` (default arguments) is the one of rank `i - 3`.
    """
    return words.read_word_index(fetch("imdb_word_index.json", data_dir, path))


__all__ = ["get_word_index", "load_data"]

make_callable(__name__, load_data)

"""What IMDB and Reuters share: their files, and Keras' recipe from word ids to sequences.

Both are stored (in Keras' .npz files) as lists of word ids, the words' frequency ranks (1 is
the most frequent word; `get_word_index` maps words to these ranks). `load_data` then,
exactly as Keras 3 does:

1. shuffles the samples with `np.random.RandomState(seed)` (IMDB: train, then test);
2. shifts every id by `index_from` and puts `start_char` in front (ids 0, 1, 2 stay free for
   padding, start and out-of-vocabulary);
3. with `maxlen`, drops every sequence of `maxlen` or more ids (drops, not truncates);
4. keeps ids in `[skip_top, num_words)` and writes `oov_char` for the others, or leaves them
   out when `oov_char` is None. Without `num_words` the bound is the largest id present, so
   that one id also becomes `oov_char` (Keras' rule, kept so that results match).

The sequences come back as a NumPy object array of Python lists made by
`np.array(lists, dtype=object)`, as in Keras (`pad_sequences` makes a matrix of them; should
every sequence have the same length, NumPy makes that a 2-d array), the labels as the integer
array of the file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from glassnet import checks
from glassnet.datasets._files import DatasetError
from glassnet.datasets.keras_npz import read_members


def read_sequences(path: Path, pairs: tuple[tuple[str, str], ...]) -> list:
    """[(sequences, labels), ...] for each (x key, y key) of a Keras .npz, checked."""
    keys = tuple(key for pair in pairs for key in pair)
    members = read_members(path, keys, kinds="iu")
    result = []
    for x_key, y_key in pairs:
        xs, labels = members[x_key], members[y_key]
        if not isinstance(xs, list):
            raise DatasetError(f"{path}: {x_key!r} is a numeric array of shape "
                               f"{np.shape(xs)}; expected an object array of word-id lists")
        if not isinstance(labels, np.ndarray) or labels.shape != (len(xs),):
            raise DatasetError(f"{path}: {y_key!r} should hold one integer label per sequence "
                               f"({len(xs)}), got shape {np.shape(labels)}")
        if min((min(x) for x in xs if x), default=0) < 0:
            raise DatasetError(f"{path}: {x_key!r} holds a negative word id")
        result.append((xs, labels))
    return result


def check_arguments(num_words, skip_top, maxlen, seed, start_char, oov_char,
                    index_from) -> None:
    """Keras' arguments of imdb/reuters `load_data`, with the meaning Keras gives them."""
    checks.optional(checks.integer, "num_words", num_words, minimum=0)
    checks.integer("skip_top", skip_top, minimum=0)
    checks.optional(checks.integer, "maxlen", maxlen, minimum=0)
    checks.optional(checks.integer, "seed", seed, minimum=0)
    checks.optional(checks.integer, "start_char", start_char)
    checks.optional(checks.integer, "oov_char", oov_char)
    checks.integer("index_from", index_from, minimum=0)


def shuffle(rng: np.random.RandomState, xs: list, labels: np.ndarray):
    """Both in one random order, drawn as Keras draws it."""
    indices = np.arange(len(xs))
    rng.shuffle(indices)
    return [xs[i] for i in indices], labels[indices]


def shift(xs: list, start_char: int | None, index_from: int) -> list:
    """Ids moved up by `index_from`, `start_char` first (step 2)."""
    if start_char is not None:
        return [[start_char] + [w + index_from for w in x] for x in xs]
    if index_from:
        return [[w + index_from for w in x] for x in xs]
    return [list(x) for x in xs]


def remove_long(maxlen: int, xs: list, labels) -> tuple[list, list]:
    """Only the sequences shorter than `maxlen` (step 3), labels as a list."""
    kept = [(x, y) for x, y in zip(xs, labels) if len(x) < maxlen]
    return [x for x, _ in kept], [y for _, y in kept]


def limit_vocabulary(xs: list, num_words: int | None, skip_top: int,
                     oov_char: int | None) -> list:
    """Ids outside [skip_top, num_words) replaced by `oov_char`, or dropped (step 4)."""
    if not num_words:
        num_words = max((max(x) for x in xs if x), default=0)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


def read_word_index(path: Path) -> dict[str, int]:
    """A word-index JSON file: {word: rank}, ranks from 1 (checked: words map to ints)."""
    try:
        index = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise DatasetError(f"{path}: not a JSON word index ({error})") from error
    if not isinstance(index, dict) or not all(
            isinstance(rank, int) and not isinstance(rank, bool) for rank in index.values()):
        raise DatasetError(f"{path}: expected a JSON object mapping words to integer ranks")
    return index


__all__ = ["check_arguments", "limit_vocabulary", "read_sequences", "read_word_index",
           "remove_long", "shift", "shuffle"]

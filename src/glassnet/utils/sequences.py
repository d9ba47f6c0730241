"""`pad_sequences`: lists of different lengths as one matrix (Keras' function and defaults).

    >>> pad_sequences([[1], [2, 3], [4, 5, 6]])
    array([[0, 0, 1],
           [0, 2, 3],
           [4, 5, 6]], dtype=int32)
"""

from __future__ import annotations

import numpy as np

from glassnet import checks


def pad_sequences(sequences, maxlen: int | None = None, dtype="int32", padding: str = "pre",
                  truncating: str = "pre", value=0.0) -> np.ndarray:
    """Pad (or cut) every sequence to one length: a (num_samples, maxlen, ...) array.

    Args:
        sequences: a list (or array) of sequences; each a list of numbers, or of equally
            shaped items (e.g. vectors), which give the trailing axes of the result.
        maxlen: the length of the result; None: the longest sequence's.
        dtype: the result's dtype (`object` or a string dtype for text).
        padding: "pre" or "post": where `value` goes in a short sequence.
        truncating: "pre" or "post": which end of a long sequence is cut off.
        value: the padding value.

    Returns:
        An array of shape (len(sequences), maxlen) + the items' shape.

    Raises:
        ValueError: an item is not a sequence, items differ in shape, a string `value` for
            a numeric dtype, or a bad `padding`/`truncating`.
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"pad_sequences: `sequences` must be a list of sequences, got "
                         f"{type(sequences).__name__}")
    checks.one_of("padding", padding, ("pre", "post"))
    checks.one_of("truncating", truncating, ("pre", "post"))
    lengths, item_shape = [], None
    for index, sequence in enumerate(sequences):
        if not hasattr(sequence, "__len__"):
            raise ValueError(f"pad_sequences: `sequences` must be a list of sequences; item "
                             f"{index} is {sequence!r}")
        lengths.append(len(sequence))
        if item_shape is None and len(sequence):
            item_shape = np.asarray(sequence).shape[1:]
    item_shape = item_shape or ()
    if maxlen is None:
        maxlen = max(lengths, default=0)
    maxlen = checks.integer("maxlen", maxlen, minimum=0)
    text_dtype = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not text_dtype:
        raise ValueError(f"pad_sequences: value {value!r} is a string but dtype is {dtype}; "
                         "use dtype=object for text of varying length")
    out = np.full((len(lengths), maxlen) + item_shape, value, dtype=dtype)
    if maxlen == 0:
        return out
    for index, sequence in enumerate(sequences):
        if not len(sequence):
            continue
        kept = np.asarray(sequence[-maxlen:] if truncating == "pre" else sequence[:maxlen],
                          dtype=dtype)
        if kept.shape[1:] != item_shape:
            raise ValueError(f"pad_sequences: item {index} has items of shape {kept.shape[1:]}, "
                             f"the first non-empty one {item_shape}")
        if padding == "post":
            out[index, :len(kept)] = kept
        else:
            out[index, maxlen - len(kept):] = kept
    return out


__all__ = ["pad_sequences"]

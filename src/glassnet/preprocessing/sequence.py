"""`keras.preprocessing.sequence`, where older Keras scripts import pad_sequences from.

    >>> from glassnet.preprocessing.sequence import pad_sequences
    >>> pad_sequences([[1, 2], [3]], padding="post")
    array([[1, 2],
           [3, 0]], dtype=int32)
"""

from __future__ import annotations

from glassnet.utils.sequences import pad_sequences

__all__ = ["pad_sequences"]

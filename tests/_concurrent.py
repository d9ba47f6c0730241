"""Predicts run at once in several threads, compared with the same predicts one at a time
(the thread-safety tests of the fusion groups and of the layers' forwards)."""

from __future__ import annotations

import threading

import numpy as np


def predicts_at_once(model, inputs, batch_size: int, rounds: int,
                     threads: int = 3) -> tuple[list, list]:
    """(wrong, errors) of `threads` threads each predicting every input `rounds` times, in
    staggered orders so that different batch sizes overlap: the indices whose result
    differed from the one-at-a-time predict, and the errors raised (repr). Both empty when
    the model is safe to predict from several threads."""
    expected = [model.predict(x, batch_size=batch_size, verbose=0) for x in inputs]
    wrong, errors = [], []

    def predict_all(offset):
        try:
            for round_ in range(rounds):
                for k in range(len(inputs)):
                    i = (k + offset + round_) % len(inputs)
                    got = model.predict(inputs[i], batch_size=batch_size, verbose=0)
                    if not np.array_equal(got, expected[i]):
                        wrong.append(i)
        except Exception as error:  # noqa: BLE001 (reported to the caller)
            errors.append(repr(error))

    workers = [threading.Thread(target=predict_all, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return wrong, errors

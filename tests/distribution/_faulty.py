"""A 2-rank fit in which rank 1 raises at its third batch: the job must end, not hang."""

import numpy as np

import glassnet as gn
from glassnet import callbacks, layers


def main() -> None:
    gn.distribution.set_distribution(gn.distribution.DataParallel())
    model = gn.Sequential([layers.Input((4,)), layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    unseeded = np.random.default_rng()                  # different data on each rank
    try:
        model.fit(unseeded.standard_normal((20, 4)), np.zeros(20, dtype=int), verbose=0)
    except ValueError as error:                         # raised on every rank alike
        print(f"rank {gn.distribution.rank()}: {str(error)[:60]}", flush=True)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((200, 4)), rng.integers(0, 2, 200)
    model = gn.Sequential([layers.Input((4,)), layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")

    def fail(batch, logs):
        if gn.distribution.rank() == 1 and batch == 2:
            raise RuntimeError("a bad batch on rank 1")

    model.fit(x, y, batch_size=10, epochs=1000, verbose=0,
              callbacks=[callbacks.LambdaCallback(on_train_batch_end=fail)])


if __name__ == "__main__":
    main()

"""The README's quick start as a script: the seed post's 256-30-20-10 net on Semeion digits.

    python examples/quickstart.py [--data-dir ../shared/data]
"""

import argparse

import glassnet as gn
from glassnet import datasets, layers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--epochs", type=int, default=500)
    args = parser.parse_args()

    gn.utils.set_random_seed(0)
    (x, y), (x_test, y_test) = datasets.semeion(data_dir=args.data_dir)
    model = gn.Sequential([
        layers.Input(shape=(256,)),
        layers.Dense(30, activation="sigmoid"),
        layers.Dense(20, activation="sigmoid"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=gn.optimizers.SGD(learning_rate=0.5),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.summary()
    model.fit(x, y, epochs=args.epochs, batch_size=None, validation_split=0.2, verbose=0)
    print(model.evaluate(x_test, y_test, verbose=0, return_dict=True))


if __name__ == "__main__":
    main()

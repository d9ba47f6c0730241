"""MLPs on MNIST and Fashion-MNIST: the recipe the seed posts lead up to, at full scale."""

from __future__ import annotations

import glassnet as gn
from glassnet import datasets, layers, plot
from glassnet.demos._common import DemoContext

CLASS_NAMES = {"mnist": [str(d) for d in range(10)], "fashion": datasets.FASHION_MNIST_CLASSES}


def mlp(seed: int, dropout: float) -> gn.Sequential:
    gn.utils.set_random_seed(seed)
    model = gn.Sequential([
        layers.Input(shape=(28, 28)),
        layers.Flatten(),
        layers.Dense(512, activation="relu", kernel_initializer="he_normal"),
        layers.Dropout(dropout),
        layers.Dense(256, activation="relu", kernel_initializer="he_normal"),
        layers.Dropout(dropout),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=gn.optimizers.Adam(learning_rate=1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _run(ctx: DemoContext, which: str) -> dict:
    loader = datasets.mnist if which == "mnist" else datasets.fashion_mnist
    (x_train, y_train), (x_test, y_test) = loader(data_dir=ctx.data_dir)
    x_train, x_test = x_train.astype("float32") / 255, x_test.astype("float32") / 255
    model = mlp(ctx.seed, dropout=0.2 if which == "mnist" else 0.3)
    schedule = gn.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.3, patience=2)
    history = model.fit(x_train, y_train, epochs=ctx.epochs_or(20), batch_size=128,
                        validation_split=1 / 12, callbacks=[schedule], verbose=ctx.verbose)
    test = model.evaluate(x_test, y_test, batch_size=1000, verbose=0, return_dict=True)
    ctx.echo(f"{which}: test accuracy {test['accuracy']:.2%} after {len(history.epoch)} epochs")
    predictions = model.predict(x_test, batch_size=1000, verbose=0)
    names = CLASS_NAMES[which]
    ctx.figure(plot.learning_curves(history, title=f"{which}: MLP 784-512-256-10"),
               "learning_curves.png")
    ctx.figure(plot.image_grid(x_test[:20], y_test[:20], predictions[:20], class_names=names),
               "guesses.png")
    ctx.figure(plot.confusion_matrix(y_test, predictions, class_names=names),
               "confusion_matrix.png")
    ctx.save_model(model)
    return {"test_accuracy": test["accuracy"], "test_loss": test["loss"],
            "epochs": len(history.epoch)}


def run_mnist(ctx: DemoContext) -> dict:
    return _run(ctx, "mnist")


def run_fashion(ctx: DemoContext) -> dict:
    return _run(ctx, "fashion")

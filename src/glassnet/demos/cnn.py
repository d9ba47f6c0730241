"""A small CNN on MNIST and Fashion-MNIST: the first step past the MLP.

Two convolution blocks learn local strokes and edges, pooling halves the resolution, and a
small dense head classifies (shapes for one 28x28 image):

    (28, 28, 1) -conv 3x3-> (26, 26, f1) -pool-> (13, 13, f1)
                -conv 3x3-> (11, 11, f2) -pool-> (5, 5, f2) -flatten-> 25·f2 -> 128 -> 10

Each convolution is followed by batch normalisation (so it has no bias of its own: BN's β
plays that part) and ReLU. Adam with a cosine learning-rate decay over the whole run: a high
rate early to move fast, a small one at the end to settle into a minimum.

`glassnet demo mnist-cnn` trains the MNIST recipe (10 epochs, >= 99% test accuracy) and draws
the learning curves, a grid of guesses, the confusion matrix, and what the first convolution
learned: its 3x3 filters and the feature maps they produce on a test digit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

import glassnet as gn
from glassnet import datasets, layers, plot
from glassnet.demos._common import DemoContext

TITLE = "mnist-cnn: a small CNN on MNIST"
VALIDATION_SPLIT = 1 / 12       # 55000 training / 5000 validation images, as the MLP demos


@dataclass(frozen=True)
class CNNRecipe:
    """What to train: the architecture and the schedule, one line per choice."""

    filters: tuple[int, int] = (16, 32)  # channels of the two convolution blocks
    dense: int = 128                     # units of the hidden dense layer
    dropout: float = 0.3                 # before the output layer only
    learning_rate: float = 2e-3          # Adam's peak rate, decayed by a half cosine
    epochs: int = 10                     # the budget for MNIST
    batch_size: int = 128


MNIST_RECIPE = CNNRecipe()
# Clothes need more filters than digits (textures, collars, straps) and more regularisation.
FASHION_RECIPE = CNNRecipe(filters=(32, 64), dropout=0.4, epochs=12)
RECIPES = {"mnist": MNIST_RECIPE, "fashion": FASHION_RECIPE}
CLASS_NAMES = {"mnist": [str(d) for d in range(10)], "fashion": datasets.FASHION_MNIST_CLASSES}


def small_cnn(recipe: CNNRecipe = MNIST_RECIPE, steps: int = 1, seed: int = 0) -> gn.Sequential:
    """The compiled CNN; `steps` is the number of training steps the cosine decays over."""
    gn.utils.set_random_seed(seed)
    blocks = []
    for filters in recipe.filters:
        blocks += [layers.Conv2D(filters, 3, use_bias=False, kernel_initializer="he_normal"),
                   layers.BatchNormalization(),
                   layers.ReLU(),
                   layers.MaxPooling2D(2)]
    model = gn.Sequential([
        layers.Input(shape=(28, 28, 1)),
        *blocks,
        layers.Flatten(),
        layers.Dense(recipe.dense, activation="relu", kernel_initializer="he_normal"),
        layers.Dropout(recipe.dropout),
        layers.Dense(10, activation="softmax"),
    ], name="small_cnn")
    schedule = gn.schedules.CosineDecay(recipe.learning_rate, decay_steps=max(1, steps),
                                        alpha=0.01)
    model.compile(optimizer=gn.optimizers.Adam(learning_rate=schedule),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def load_images(which: str, data_dir=None, train_size: int | None = None):
    """MNIST or Fashion-MNIST as float32 images (n, 28, 28, 1) in [0, 1], labels (n,).

    `train_size` keeps the first images of the training set (and a test set of a third of
    that size): for quick runs and tests.
    """
    if which not in RECIPES:
        raise ValueError(f"which: expected one of {sorted(RECIPES)}, got {which!r}")
    loader = datasets.mnist if which == "mnist" else datasets.fashion_mnist
    (x_train, y_train), (x_test, y_test) = loader(data_dir=data_dir)
    if train_size is not None:
        x_train, y_train = x_train[:train_size], y_train[:train_size]
        x_test, y_test = x_test[:max(1, train_size // 3)], y_test[:max(1, train_size // 3)]
    scale = np.float32(1 / 255)
    return ((x_train[..., None] * scale, y_train), (x_test[..., None] * scale, y_test))


class EpochTimer(gn.callbacks.Callback):
    """Seconds per epoch, for the results table (History keeps only the metrics)."""

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(round(time.perf_counter() - self._start, 2))


def train_classifier(model, data, epochs: int, batch_size: int, verbose: int = 1):
    """fit on the training images (1/12 held out for validation), evaluate on the test set.

    Returns (history, test metrics dict, seconds per epoch).
    """
    (x_train, y_train), (x_test, y_test) = data
    timer = EpochTimer()
    history = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size,
                        validation_split=VALIDATION_SPLIT, callbacks=[timer], verbose=verbose)
    test = model.evaluate(x_test, y_test, batch_size=500, verbose=0, return_dict=True)
    return history, test, timer.seconds


def steps_per_epoch(train_count: int, batch_size: int) -> int:
    fit_count = train_count - int(train_count * VALIDATION_SPLIT)
    return -(-fit_count // batch_size)


def experiment(ctx: DemoContext, which: str = "mnist", train_size: int | None = None) -> dict:
    """Train the recipe for `which` into ctx.out: figures, model file, and its metrics."""
    recipe = RECIPES[which]
    data = load_images(which, ctx.data_dir, train_size)
    (x_train, _), (x_test, y_test) = data
    epochs = ctx.epochs_or(recipe.epochs)
    model = small_cnn(recipe, steps_per_epoch(len(x_train), recipe.batch_size) * epochs,
                      ctx.seed)
    history, test, epoch_seconds = train_classifier(model, data, epochs, recipe.batch_size,
                                                    ctx.verbose)
    ctx.echo(f"{which} CNN: test accuracy {test['accuracy']:.2%} after {epochs} epochs "
             f"({sum(epoch_seconds):.0f} s of training)")

    predictions = model.predict(x_test, batch_size=500, verbose=0)
    names = CLASS_NAMES[which]
    f1, f2 = recipe.filters
    ctx.figure(plot.learning_curves(history, title=f"{which}: CNN conv{f1}-conv{f2}-"
                                    f"{recipe.dense}-10"), "learning_curves.png")
    ctx.figure(plot.image_grid(x_test[:20], y_test[:20], predictions[:20], class_names=names),
               "guesses.png")
    ctx.figure(plot.confusion_matrix(y_test, predictions, class_names=names),
               "confusion_matrix.png")
    ctx.figure(first_layer_figure(model, x_test[0]), "first_layer.png")
    ctx.save_model(model)
    return {"dataset": which, "test_accuracy": test["accuracy"], "test_loss": test["loss"],
            "epochs": epochs, "train_size": int(len(x_train)), "test_size": int(len(x_test)),
            "parameters": model.count_params(), "epoch_seconds": epoch_seconds}


def run(ctx: DemoContext) -> dict:
    return experiment(ctx, "mnist")


# ----- what the first convolution learned -------------------------------------------------


def first_layer_figure(model: gn.Sequential, image: np.ndarray) -> Figure:
    """Top row: the first layer's 3x3 filters; bottom: their ReLU feature maps on `image`.

    Args:
        model: a trained `small_cnn` (Conv2D, BatchNormalization, ReLU first).
        image: one input image (28, 28, 1).
    """
    conv = model.layers[0]
    kernels = gn.backend.to_numpy(conv.W.value)[:, :, 0, :]          # (3, 3, F)
    maps = image[None]
    for layer in model.layers[:3]:                                   # conv -> BN -> ReLU
        maps = layer.forward(maps, training=False)
    maps = gn.backend.to_numpy(maps)[0]                              # (26, 26, F)
    count = kernels.shape[-1]
    cols = min(count, 8)
    rows = -(-count // cols)
    figure = Figure(figsize=(1.1 * cols, 2.4 * rows + 1.6))
    grid = figure.add_gridspec(2 * rows + 1, cols, height_ratios=[1.6] + [1] * 2 * rows)
    shown = figure.add_subplot(grid[0, :3])
    shown.imshow(image[..., 0], cmap="gray_r")
    shown.set_title("input", fontsize=8)
    shown.axis("off")
    for index in range(count):
        row, col = divmod(index, cols)
        kernel = figure.add_subplot(grid[1 + row, col])
        limit = np.abs(kernels[..., index]).max() or 1.0
        kernel.imshow(kernels[..., index], cmap="RdBu_r", vmin=-limit, vmax=limit)
        kernel.set_title(f"filter {index}", fontsize=6)
        kernel.axis("off")
        feature = figure.add_subplot(grid[1 + rows + row, col])
        feature.imshow(maps[..., index], cmap="viridis")
        feature.axis("off")
    figure.suptitle("First convolution: 3x3 filters (red +, blue -) and their feature maps "
                    "after BN and ReLU")
    figure.tight_layout()
    return figure

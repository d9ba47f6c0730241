"""Seed post 1, "Deep Learning using Numpy": a 3-4-1 sigmoid net learns a 4-row table.

The post's loop, in glassnet's words: weights ("synapses") drawn from U(-1, 1), no biases,
full-batch gradient descent on the squared error, the loss printed as it falls.
"""

from __future__ import annotations

import numpy as np

import glassnet as gn
from glassnet import datasets, layers, plot
from glassnet.demos._common import DemoContext

TITLE = "tiny: the 3-4-1 sigmoid net of 'Deep Learning using Numpy'"


def build(seed: int) -> gn.Sequential:
    init = gn.initializers.RandomUniform(-1.0, 1.0, seed=seed)
    return gn.Sequential([
        layers.Input(shape=(3,)),
        layers.Dense(4, activation="sigmoid", use_bias=False, kernel_initializer=init),
        layers.Dense(1, activation="sigmoid", use_bias=False, kernel_initializer=init),
    ], name="tiny")


def run(ctx: DemoContext) -> dict:
    x, y = datasets.tiny_table()
    gn.utils.set_random_seed(ctx.seed)
    model = build(ctx.seed)
    # The post adds l1.T @ (error * sigmoid') to the weights: gradient descent with step 1 on
    # half the summed squared error. MSE averages over 4 rows and doubles, so step 2 matches.
    model.compile(optimizer=gn.optimizers.SGD(learning_rate=2.0), loss="mse",
                  metrics=["accuracy"])
    epochs = ctx.epochs_or(3000)
    report_every = max(1, epochs // 10)

    def show(epoch, logs):
        if epoch % report_every == 0 or epoch == epochs - 1:
            ctx.echo(f"iteration {epoch + 1:5d}  loss {logs['loss']:.6f}")

    history = model.fit(x, y, epochs=epochs, batch_size=None, verbose=0,
                        callbacks=[gn.callbacks.LambdaCallback(on_epoch_end=show)])
    predictions = model.predict(x, verbose=0)
    ctx.echo("input    target  prediction")
    for row, target, prediction in zip(x, y, predictions):
        ctx.echo(f"{row.astype(int)}  {target[0]:.0f}       {prediction[0]:.4f}")
    ctx.figure(plot.learning_curves(history, metrics=["loss"], title=TITLE, log_loss=True),
               "loss.png")
    ctx.save_model(model)
    accuracy = float(np.mean(np.round(predictions) == y))
    return {"final_loss": float(history.history["loss"][-1]), "accuracy": accuracy,
            "predictions": [round(float(p), 4) for p in predictions.ravel()],
            "targets": [float(t) for t in y.ravel()]}

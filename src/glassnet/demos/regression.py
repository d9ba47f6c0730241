"""Seed post 2, "First step towards deep learning": sigmoid Dense layers regress
y = sqrt(mean(x)) with the mean squared error, with train / validation / test splits.
"""

from __future__ import annotations

import numpy as np

import glassnet as gn
from glassnet import datasets, layers, plot
from glassnet.demos._common import DemoContext
from glassnet.preprocessing import train_test_split

TITLE = "regression: y = sqrt(mean(x)), sigmoid Dense layers, MSE"


def r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """R² = 1 - Σ(y - ŷ)² / Σ(y - ȳ)²."""
    y_true, y_pred = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    return float(1 - np.sum((y_true - y_pred) ** 2) / np.sum((y_true - y_true.mean()) ** 2))


def run(ctx: DemoContext) -> dict:
    gn.utils.set_random_seed(ctx.seed)
    x, y = datasets.sqrt_mean(n=3000, dim=10, seed=ctx.seed)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, seed=ctx.seed)
    model = gn.Sequential([
        layers.Input(shape=(10,)),
        layers.Dense(32, activation="sigmoid"),
        layers.Dense(16, activation="sigmoid"),
        layers.Dense(1, activation="sigmoid"),   # y lies in (0, 1), as a sigmoid's output
    ], name="regression")
    model.compile(optimizer=gn.optimizers.Adam(learning_rate=0.005), loss="mse",
                  metrics=["mae"])
    history = model.fit(x_train, y_train, epochs=ctx.epochs_or(150), batch_size=32,
                        validation_split=0.2, verbose=ctx.verbose)
    y_pred = model.predict(x_test, verbose=0)
    r2 = r2_score(y_test, y_pred)
    test = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
    ctx.echo(f"test MSE {test['loss']:.6f}   test MAE {test['mae']:.4f}   test R² {r2:.4f}")
    ctx.figure(plot.learning_curves(history, metrics=["loss"], title=TITLE, log_loss=True),
               "loss.png")
    ctx.figure(plot.predicted_vs_actual(y_test, y_pred, title="Test set"),
               "predicted_vs_actual.png")
    ctx.save_model(model)
    return {"test_mse": test["loss"], "test_mae": test["mae"], "test_r2": r2}

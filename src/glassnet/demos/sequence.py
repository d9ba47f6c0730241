"""Recurrent networks: an LSTM reading MNIST row by row, a GRU forecasting a noisy sine.

1. Row-by-row MNIST. Each 28x28 digit is read as a sequence of 28 steps, one row of 28
   pixels a step; the LSTM's last hidden state h_28 (128 numbers) is all the dense softmax
   sees. It has to carry what the top rows looked like until the bottom rows arrive.

       (N, 28 steps, 28 pixels) -LSTM(128)-> h_28 (N, 128) -Dense-> (N, 10)

2. Forecasting. A sine sampled every 0.2 rad (31.4 samples a period) plus Gaussian noise of
   standard deviation 0.05; from a window of the last 32 observations a GRU predicts the
   next one. The series is split in time (first 70% train, 15% validation, last 15% test),
   so the test windows come from a stretch the network never saw. The reference is the
   last-value forecast ŷ_{t+1} = y_t, whose error is the signal's step plus two noise
   draws; no forecast can beat the noise of the target itself, the floor σ² = 0.0025.

`glassnet demo sequence` runs both, with the LSTM's learning curves, guesses and confusion
matrix, and the GRU's forecast against the truth.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

import glassnet as gn
from glassnet import datasets, layers, plot
from glassnet.demos._common import DemoContext
from glassnet.demos.cnn import steps_per_epoch, train_classifier

TITLE = "sequence: an LSTM reads MNIST row by row; a GRU forecasts a noisy sine"

LSTM_UNITS = 128
LSTM_EPOCHS = 5
LSTM_BATCH = 128
LSTM_LEARNING_RATE = 2e-3     # Adam's peak, decayed by a half cosine over the run

SINE_STEP = 0.2               # radians between samples: 31.4 samples a period
SINE_NOISE = 0.05             # standard deviation of the Gaussian noise on each sample
SINE_LENGTH = 8000            # samples in the series
WINDOW = 32                   # observations the forecaster sees
GRU_UNITS = 32
GRU_EPOCHS = 20
GRU_BATCH = 64
GRU_LEARNING_RATE = 5e-3


# ----- 1. LSTM on MNIST, row by row ---------------------------------------------------------


def lstm_classifier(steps: int = 1, seed: int = 0, units: int = LSTM_UNITS) -> gn.Sequential:
    """LSTM(units) over 28 rows, then softmax; `steps`: training steps the cosine spans."""
    gn.utils.set_random_seed(seed)
    model = gn.Sequential([
        layers.Input(shape=(28, 28)),                 # 28 steps of 28 pixels
        layers.LSTM(units),                           # -> last hidden state (N, units)
        layers.Dense(10, activation="softmax"),
    ], name="lstm_rows")
    schedule = gn.schedules.CosineDecay(LSTM_LEARNING_RATE, decay_steps=max(1, steps),
                                        alpha=0.01)
    # Clipping the global gradient norm guards against the rare exploding step of a
    # recurrent net early in training; it rarely binds once the rate has decayed.
    model.compile(optimizer=gn.optimizers.Adam(learning_rate=schedule, global_clipnorm=5.0),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def load_rows(data_dir=None, train_size: int | None = None):
    """MNIST as float32 sequences (n, 28, 28) in [0, 1]: step t is pixel row t."""
    (x_train, y_train), (x_test, y_test) = datasets.mnist(data_dir=data_dir)
    if train_size is not None:
        x_train, y_train = x_train[:train_size], y_train[:train_size]
        x_test, y_test = x_test[:max(1, train_size // 3)], y_test[:max(1, train_size // 3)]
    scale = np.float32(1 / 255)
    return (x_train * scale, y_train), (x_test * scale, y_test)


def lstm_experiment(ctx: DemoContext, train_size: int | None = None) -> dict:
    """Train the row-by-row LSTM into ctx.out (curves, guesses, confusion, model.glassnet)."""
    data = load_rows(ctx.data_dir, train_size)
    (x_train, _), (x_test, y_test) = data
    epochs = ctx.epochs_or(LSTM_EPOCHS)
    model = lstm_classifier(steps_per_epoch(len(x_train), LSTM_BATCH) * epochs, ctx.seed)
    history, test, epoch_seconds = train_classifier(model, data, epochs, LSTM_BATCH,
                                                    ctx.verbose)
    ctx.echo(f"LSTM, MNIST row by row: test accuracy {test['accuracy']:.2%} after {epochs} "
             f"epochs ({sum(epoch_seconds):.0f} s of training)")
    predictions = model.predict(x_test, batch_size=500, verbose=0)
    ctx.figure(plot.learning_curves(history, title=f"LSTM({LSTM_UNITS}) reading MNIST row "
                                    "by row (28 steps of 28 pixels)"), "learning_curves.png")
    ctx.figure(plot.image_grid(x_test[:20], y_test[:20], predictions[:20]), "guesses.png")
    ctx.figure(plot.confusion_matrix(y_test, predictions, title="LSTM, test set"),
               "confusion_matrix.png")
    ctx.save_model(model)
    return {"test_accuracy": test["accuracy"], "test_loss": test["loss"], "epochs": epochs,
            "train_size": int(len(x_train)), "test_size": int(len(x_test)),
            "parameters": model.count_params(), "epoch_seconds": epoch_seconds}


# ----- 2. GRU forecasting a noisy sine ------------------------------------------------------


def _sine_wave(length: int, step: float = SINE_STEP, noise: float = SINE_NOISE,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(noisy, clean) float32 series of `length` samples: sin(step·t) + N(0, noise²)."""
    clean = np.sin(step * np.arange(length)).astype(np.float32)
    rng = np.random.default_rng(seed)
    noisy = clean + rng.normal(0.0, noise, size=length).astype(np.float32)
    return noisy, clean


def _windows(series: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Sliding windows x (n, window, 1) of `series` and the value after each, y (n, 1)."""
    x = np.lib.stride_tricks.sliding_window_view(series[:-1], window)   # (n, window)
    y = series[window:]                                                 # (n,)
    return np.ascontiguousarray(x)[..., None], y[:, None].copy()


def sine_splits(length: int = SINE_LENGTH, seed: int = 0):
    """Train / validation / test windows, split in time 70 / 15 / 15, and the clean series.

    Returns ((x, y) train, (x, y) validation, (x, y) test, clean targets of the test windows).
    """
    noisy, clean = _sine_wave(length, seed=seed)
    x, y = _windows(noisy, WINDOW)
    clean_y = clean[WINDOW:, None]
    first, second = int(0.70 * len(x)), int(0.85 * len(x))
    return ((x[:first], y[:first]), (x[first:second], y[first:second]),
            (x[second:], y[second:]), clean_y[second:])


def gru_forecaster(steps: int = 1, seed: int = 0, units: int = GRU_UNITS) -> gn.Sequential:
    """GRU(units) over a window of observations, then one linear output: the next value."""
    gn.utils.set_random_seed(seed)
    model = gn.Sequential([
        layers.Input(shape=(WINDOW, 1)),
        layers.GRU(units),                            # -> (N, units)
        layers.Dense(1),                              # -> (N, 1), the forecast
    ], name="gru_forecaster")
    schedule = gn.schedules.CosineDecay(GRU_LEARNING_RATE, decay_steps=max(1, steps),
                                        alpha=0.01)
    model.compile(optimizer=gn.optimizers.Adam(learning_rate=schedule), loss="mse")
    return model


def gru_experiment(ctx: DemoContext, length: int = SINE_LENGTH) -> dict:
    """Train the forecaster into ctx.out; compare its test MSE with the last-value forecast."""
    train, validation, (x_test, y_test), clean_test = sine_splits(length, ctx.seed)
    epochs = ctx.epochs_or(GRU_EPOCHS)
    model = gru_forecaster(-(-len(train[0]) // GRU_BATCH) * epochs, ctx.seed)
    history = model.fit(*train, epochs=epochs, batch_size=GRU_BATCH, validation_data=validation,
                        verbose=ctx.verbose)
    forecast = model.predict(x_test, batch_size=500, verbose=0)
    last_value = x_test[:, -1, :]                    # ŷ_{t+1} = y_t
    mse = float(np.mean((forecast - y_test) ** 2))
    baseline_mse = float(np.mean((last_value - y_test) ** 2))
    ctx.echo(f"GRU forecast: test MSE {mse:.5f}, last-value baseline {baseline_mse:.5f} "
             f"({baseline_mse / mse:.1f}x better; noise floor {SINE_NOISE ** 2:.5f})")
    ctx.figure(plot.learning_curves(history, title="GRU forecaster: MSE per epoch",
                                    log_loss=True), "gru_learning_curves.png")
    ctx.figure(forecast_figure(y_test, clean_test, forecast, last_value, mse, baseline_mse),
               "forecast.png")
    ctx.save_model(model, "gru.glassnet")
    return {"mse": mse, "baseline_mse": baseline_mse, "ratio": baseline_mse / mse,
            "noise_variance": SINE_NOISE ** 2,
            "mse_against_clean_signal": float(np.mean((forecast - clean_test) ** 2)),
            "epochs": epochs, "window": WINDOW, "test_size": int(len(x_test))}


def forecast_figure(observed, clean, forecast, last_value, mse: float, baseline_mse: float,
                    count: int = 150) -> Figure:
    """The first `count` test steps: observations, the clean sine, both forecasts."""
    steps = np.arange(min(count, len(observed)))
    figure = Figure(figsize=(10, 4))
    ax = figure.add_subplot()
    ax.plot(steps, clean[steps, 0], color="0.6", linewidth=3, alpha=0.6,
            label="clean sine (unseen)")
    ax.scatter(steps, observed[steps, 0], s=8, color="black", label="observed (noisy)")
    ax.plot(steps, last_value[steps, 0], color="tab:orange", linestyle="--", linewidth=1,
            label=f"last value, MSE {baseline_mse:.4f}")
    ax.plot(steps, forecast[steps, 0], color="tab:blue", linewidth=1.5,
            label=f"GRU forecast, MSE {mse:.4f}")
    ax.set_xlabel("test step")
    ax.set_ylabel("value")
    ax.set_title(f"Next-value forecast on the test stretch: the GRU is {baseline_mse / mse:.1f}x "
                 f"better than the last value (noise floor {SINE_NOISE ** 2:.4f})")
    ax.set_ylim(-1.5, 1.75)                          # room for the legend above the wave
    ax.legend(loc="upper center", ncol=4, fontsize=8)
    ax.grid(True, alpha=0.3)
    figure.tight_layout()
    return figure


def run(ctx: DemoContext) -> dict:
    lstm = lstm_experiment(ctx)
    gru = gru_experiment(ctx)
    return {"lstm_test_accuracy": lstm["test_accuracy"], "lstm_test_loss": lstm["test_loss"],
            "lstm_epochs": lstm["epochs"], "gru_mse": gru["mse"],
            "gru_baseline_mse": gru["baseline_mse"], "gru_ratio": gru["ratio"],
            "gru_epochs": gru["epochs"]}

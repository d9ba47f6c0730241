"""Seed post 2's classification example: height and weight -> overweight (BMI >= 25),
with binary cross-entropy and a decision-boundary plot.
"""

from __future__ import annotations

import glassnet as gn
from glassnet import datasets, layers, plot
from glassnet.demos._common import DemoContext
from glassnet.preprocessing import StandardScaler, train_test_split

TITLE = "bmi: overweight from height and weight, binary cross-entropy"


def run(ctx: DemoContext) -> dict:
    gn.utils.set_random_seed(ctx.seed)
    x, y = datasets.bmi(n=4000, seed=ctx.seed)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, seed=ctx.seed,
                                                        stratify=y.ravel())
    scaler = StandardScaler().fit(x_train)  # metres and kilograms live on different scales
    model = gn.Sequential([
        layers.Input(shape=(2,)),
        layers.Dense(16, activation="tanh"),
        layers.Dense(1, activation="sigmoid"),
    ], name="bmi")
    model.compile(optimizer=gn.optimizers.Adam(learning_rate=0.01),
                  loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(scaler.transform(x_train), y_train, epochs=ctx.epochs_or(60),
                        batch_size=32, validation_split=0.2, verbose=ctx.verbose)
    test = model.evaluate(scaler.transform(x_test), y_test, verbose=0, return_dict=True)
    ctx.echo(f"test accuracy {test['accuracy']:.2%}   test loss {test['loss']:.4f}")
    ctx.figure(plot.learning_curves(history, title=TITLE), "learning_curves.png")
    ctx.figure(plot.decision_boundary(lambda grid: model.predict(scaler.transform(grid),
                                                                 verbose=0),
                                      x_test, y_test, feature_names=["height (m)", "weight (kg)"],
                                      class_names=["normal", "overweight"],
                                      title="Decision boundary (test set)"),
               "decision_boundary.png")
    ctx.save_model(model)
    return {"test_accuracy": test["accuracy"], "test_loss": test["loss"]}

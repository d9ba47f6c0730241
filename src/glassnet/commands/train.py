"""`glassnet train DATA.csv --target COLUMN`: an MLP for your own table, and evaluate/predict.

The trained model carries its own input scaling (a Normalization layer adapted on the
training rows) and, for regression, its target scaling (an inverted Normalization at the
output), so `glassnet predict` needs nothing but the model file. The column names, the task
and the class labels are stored in the model file's metadata.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

MAX_CLASSES = 20  # an integer target with at most this many values is taken as classes


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "train", help="train an MLP on a CSV file",
        description="Train an MLP on DATA.csv to predict --target; writes model.glassnet, "
                    "learning_curves.png and metrics.json into --out.")
    parser.add_argument("data", metavar="DATA.csv")
    parser.add_argument("--target", required=True, help="name of the target column")
    parser.add_argument("--task", choices=["auto", "classification", "regression"],
                        default="auto", help="default: inferred from the target column")
    parser.add_argument("--layers", type=_layer_sizes, default=[64, 32],
                        help="hidden layer sizes, comma-separated (default 64,32)")
    parser.add_argument("--activation", default="relu", help="hidden activation (default relu)")
    parser.add_argument("--optimizer", default="adam", help="optimizer name (default adam)")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--validation-split", type=float, default=0.2)
    parser.add_argument("--test-size", type=float, default=0.2,
                        help="fraction held out for the final test metrics (default 0.2)")
    parser.add_argument("--patience", type=int, default=None,
                        help="early stopping patience on val_loss (default: off)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--delimiter", default=",")
    parser.add_argument("--out", default="train-out", help="output folder (default train-out)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _layer_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 64,32, got {text!r}") from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive, got {text!r}")
    return sizes


def infer_task(y: np.ndarray, classes) -> str:
    """Text labels, or few integer values: classification; anything else: regression."""
    if classes is not None:
        return "classification"
    values = np.unique(y)
    if np.all(values == np.round(values)) and len(values) <= MAX_CLASSES:
        return "classification"
    return "regression"


def build_model(args, x_train, y_train, task: str, n_classes: int):
    import glassnet as gn
    from glassnet import layers

    norm = layers.Normalization(name="input_scaling")
    norm.adapt(x_train)
    stack = [layers.Input(shape=(x_train.shape[1],)), norm]
    init = "he_normal" if args.activation in ("relu", "leaky_relu", "elu") else "glorot_uniform"
    stack += [layers.Dense(units, activation=args.activation, kernel_initializer=init)
              for units in args.layers]
    if task == "regression":
        stack += [layers.Dense(1), layers.Normalization(mean=y_train.mean(),
                                                        variance=y_train.var() or 1.0,
                                                        invert=True, name="target_scaling")]
        loss, metrics = "mse", ["mae"]
    elif n_classes == 2:
        stack.append(layers.Dense(1, activation="sigmoid"))
        loss, metrics = "binary_crossentropy", ["accuracy"]
    else:
        stack.append(layers.Dense(n_classes, activation="softmax"))
        loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
    model = gn.Sequential(stack, name="mlp")
    optimizer = gn.optimizers.get(args.optimizer)
    optimizer.learning_rate = args.learning_rate
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    return model


def run(args: argparse.Namespace) -> int:
    import glassnet as gn
    from glassnet import plot, saving
    from glassnet.datasets import load_csv
    from glassnet.io import atomic_write
    from glassnet.preprocessing import train_test_split

    x, y, names = load_csv(args.data, target=args.target, delimiter=args.delimiter,
                           return_names=True)
    task = infer_task(y, names.classes) if args.task == "auto" else args.task
    classes = names.classes
    if task == "classification":
        if classes is None:  # numeric labels: codes in sorted order of their values
            values, y = np.unique(y, return_inverse=True)
            classes = [f"{v:g}" for v in values]
        if len(classes) < 2:
            raise ValueError(f"--target {args.target}: classification needs at least 2 "
                             f"classes, found {len(classes)}")
    elif classes is not None:
        raise ValueError(f"--task regression: target column {args.target!r} holds text")
    gn.utils.set_random_seed(args.seed)
    stratify = y if task == "classification" else None
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=args.test_size, stratify=stratify, seed=args.seed)
    if task == "classification":
        y_train, y_test = y_train.astype(np.int64), y_test.astype(np.int64)
    else:
        y_train, y_test = y_train.reshape(-1, 1), y_test.reshape(-1, 1)
    model = build_model(args, x_train, y_train, task, len(classes or []))
    callbacks = []
    if args.patience is not None:
        callbacks.append(gn.callbacks.EarlyStopping(patience=args.patience,
                                                    restore_best_weights=True))
    history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
                        validation_split=args.validation_split, callbacks=callbacks,
                        verbose=0 if args.quiet else 1)
    test = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    metadata = {"task": task, "features": names.features, "target": names.target,
                "classes": classes}
    saving.save_model(model, out / "model.glassnet", metadata=metadata)
    plot.learning_curves(history, title=f"{Path(args.data).name}: {task}",
                         path=out / "learning_curves.png")
    record = {"data": str(args.data), **metadata, "epochs": len(history.epoch),
              "train": {k: v[-1] for k, v in history.history.items() if not k.startswith("val_")},
              "validation": {k[4:]: v[-1] for k, v in history.history.items()
                             if k.startswith("val_")},
              "test": test}
    with atomic_write(out / "metrics.json", mode="w") as file:
        json.dump(record, file, indent=2)
    summary = ", ".join(f"{k} {v:.4f}" for k, v in test.items())
    print(f"{task} on {len(x_train)} rows; test ({len(x_test)} rows): {summary}")
    print(f"wrote {out / 'model.glassnet'}, {out / 'learning_curves.png'}, "
          f"{out / 'metrics.json'}")
    return 0


# ----- evaluate / predict -------------------------------------------------------------------
def add_evaluate_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("evaluate", help="loss and metrics of a model on a CSV file")
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument("data", metavar="DATA.csv")
    parser.add_argument("--delimiter", default=",")
    return parser


def add_predict_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("predict", help="predictions of a model for a CSV file")
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument("data", metavar="DATA.csv")
    parser.add_argument("--output", default=None, help="write predictions to this CSV file "
                                                       "(default: print them)")
    parser.add_argument("--delimiter", default=",")
    return parser


def _header(path, delimiter: str) -> list[str]:
    with open(path, newline="", encoding="utf-8-sig") as file:
        return [name.strip() for name in next(csv.reader(file, delimiter=delimiter), [])]


def _load(args, need_target: bool):
    """The model, its metadata, x in the model's column order, and the encoded target."""
    from glassnet import saving
    from glassnet.datasets import load_csv

    contents = saving.read_model_file(args.model)
    model = saving.build_model(contents)
    metadata = contents.metadata.get("user") or {}
    check_metadata(metadata, model, f"{contents.path}: {saving.METADATA}")
    target = metadata.get("target")
    has_target = target is not None and target in _header(args.data, args.delimiter)
    if need_target and not has_target:
        raise ValueError(f"{args.data}: no column {target!r} holds the target")
    x, y, names = load_csv(args.data, target=target if has_target else None,
                           delimiter=args.delimiter, return_names=True)
    features = metadata.get("features") or names.features
    missing = [f for f in features if f not in names.features]
    if missing:
        raise ValueError(f"{args.data}: missing feature columns {missing} "
                         f"(the model was trained on {features})")
    x = x[:, [names.features.index(f) for f in features]]
    if has_target:
        y = _encode_target(y, names.classes, metadata, args.data)
    return model, metadata, x, y


def check_metadata(metadata: dict, model, where: str) -> None:
    """What `train` stores in a model's metadata, checked like the model itself: "task" one
    of the two, "target" a name, "features" distinct names, one per input column, "classes"
    distinct labels, one per output unit (two for a single sigmoid unit).

    Raises:
        ModelFileError (a ValueError) naming the file and the field.
    """
    from glassnet.saving import ModelFileError

    def fail(field: str, problem: str):
        raise ModelFileError(f"{where}: user metadata {field!r}: {problem}")

    def names(field: str) -> list[str] | None:
        value = metadata.get(field)
        if value is not None and not (isinstance(value, list)
                                      and all(isinstance(v, str) for v in value)):
            fail(field, f"expected a list of strings, got {value!r:.80}")
        if value is not None and len(set(value)) != len(value):
            fail(field, f"names a column or label twice: {value!r:.80}")
        return value

    if metadata.get("task") not in (None, "classification", "regression"):
        fail("task", f"expected 'classification' or 'regression', got {metadata['task']!r:.80}")
    if not isinstance(metadata.get("target", ""), (str, type(None))):
        fail("target", f"expected a column name, got {metadata['target']!r:.80}")
    features, classes = names("features"), names("classes")
    inputs = tuple(getattr(model, "input_shape", None) or ())
    if features is not None and len(inputs) == 2 and len(features) != inputs[1]:
        fail("features", f"names {len(features)} columns, the model takes {inputs[1]}")
    outputs = tuple(getattr(model, "output_shape", None) or ())
    if classes is not None and metadata.get("task") == "classification" and len(outputs) == 2:
        expected = 2 if outputs[1] == 1 else outputs[1]
        if len(classes) != expected:
            fail("classes", f"names {len(classes)} classes, the model's output gives "
                            f"{expected}")


def _encode_target(y, text_labels, metadata, path):
    """Targets as the model saw them: class codes in training order, or a column."""
    classes = metadata.get("classes")
    if metadata.get("task") != "classification" or classes is None:
        return y.reshape(-1, 1)
    labels = text_labels and [text_labels[c] for c in y] or [f"{v:g}" for v in y]
    unknown = sorted(set(labels) - set(classes))
    if unknown:
        raise ValueError(f"{path}: target values {unknown[:5]} were not among the training "
                         f"classes {classes}")
    return np.array([classes.index(label) for label in labels])


def run_evaluate(args: argparse.Namespace) -> int:
    model, _, x, y = _load(args, need_target=True)
    print(json.dumps(model.evaluate(x, y, verbose=0, return_dict=True), indent=2))
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from glassnet.io import atomic_write

    model, metadata, x, _ = _load(args, need_target=False)
    outputs = model.predict(x, verbose=0)
    classes = metadata.get("classes")
    if metadata.get("task") == "classification" and classes is not None:
        codes = (outputs[:, 0] >= 0.5).astype(int) if outputs.shape[1] == 1 else \
            outputs.argmax(axis=1)
        header, rows = ["prediction"], [[classes[c]] for c in codes]
    else:
        header = ["prediction"] if outputs.shape[1] == 1 else \
            [f"prediction_{i}" for i in range(outputs.shape[1])]
        rows = [[f"{v:.6g}" for v in row] for row in outputs]
    if args.output is None:
        print(",".join(header))
        for row in rows:
            print(",".join(row))
        return 0
    with atomic_write(args.output, mode="w") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    print(f"wrote {len(rows)} predictions to {args.output}")
    return 0

"""The data of `fit`/`evaluate`/`predict` checked against the model, and its batch source.

Arrays in memory are checked and converted once, in full, before any work is done; arrays
mapped from a file by their headers now and batch by batch as they are read; a PyDataset's
or a generator's batches as they come. Either way every batch that reaches a training step
has passed the same checks (`checks.py`), against the model's input shape, output shape,
dtype and loss. The result is a batch source (`adapters.py`) the trainer iterates.
"""

from __future__ import annotations

import functools

import numpy as np

from glassnet.training.data import adapters, checks
from glassnet.training.data.groups import OutputGroup


# ----- arrays against the model -------------------------------------------------------------
def input_array(model, x, name: str = "x") -> np.ndarray:
    """x as an array of the model's input dtype (its float dtype, or the integer dtype of an
    `Input(..., dtype="int32")`) with the model's input shape; an unbuilt model is built for
    it. (The default of `model.prepare_inputs`.)"""
    x = checks.as_array(x, name, getattr(model, "input_dtype", model.dtype))
    if model.built:
        checks.check_features(x, model.input_shape, name)
    else:
        model.maybe_build((None,) + x.shape[1:])
    return x


def target_array(model, y, name: str = "y") -> np.ndarray:
    """y checked against the model's loss and output shape (integer labels for a sparse loss).

    Several outputs: y is a list (one array per output, or one per trained output) or a
    dict by output name; the result an `OutputGroup` (None for an output nothing reads)."""
    if model.compiled_outputs is not None:
        return _output_targets(model, y, name)
    sparse = checks.takes_sparse_labels(model.loss)
    # Float targets are cast before the finiteness check: 1e300 is inf in float32.
    y = checks.as_array(y, name, None if sparse else model.dtype)
    checks.check_targets(y, model.loss, model.output_shape, name)
    return y.astype(np.intp) if sparse else y


def prepare_arrays(model, x, y, sample_weight=None, class_weight=None, names=("x", "y")):
    """(x, y, sample_weight) of one batch or a whole data set, checked and converted;
    `class_weight` folded into the sample weights."""
    x = model.prepare_inputs(x, names[0])
    y = target_array(model, y, names[1])
    if model.compiled_outputs is not None:
        if class_weight is not None:
            raise ValueError("class_weight: not supported for a model with several outputs "
                             "(nor in Keras); pass sample_weight per output instead")
        return x, y, _output_weights(model, x, y, sample_weight, names)
    checks.check_same_length(**{names[0]: x, names[1]: y, "sample_weight": sample_weight})
    weights = checks.check_sample_weight(sample_weight, len(x), model.dtype)
    if class_weight is not None:
        per_class = checks.class_weight_to_sample_weight(class_weight, y, model.dtype)
        weights = per_class if weights is None else weights * per_class
    return x, y, weights


def _by_output(model, data, name: str, partial: bool = False) -> list:
    """A list or an {output name: array} dict as one entry per output (None where absent).
    With `partial`, a list may also hold one array per trained output, in order."""
    names = model.output_names
    if isinstance(data, OutputGroup):
        return list(data.arrays)
    if isinstance(data, dict):
        unknown = sorted(set(data) - set(names), key=str)
        if unknown:
            raise ValueError(f"{name}: unknown keys {unknown}; expected the output names "
                             f"{names}")
        return [data.get(n) for n in names]
    trained = [i for i, t in enumerate(model.compiled_outputs.terms) if t.loss is not None]
    if isinstance(data, (list, tuple)):
        if len(data) == len(names):
            return list(data)
        if partial and len(data) == len(trained):
            entries = [None] * len(names)
            for i, array in zip(trained, data):
                entries[i] = array
            return entries
        raise ValueError(f"{name}: model {model.name!r} has {len(names)} outputs {names}; "
                         f"expected a list of {len(names)} arrays (or a dict keyed by output "
                         f"name), got a list of {len(data)}")
    raise ValueError(f"{name}: model {model.name!r} has {len(names)} outputs {names}; expected "
                     f"a list of {len(names)} arrays or a dict keyed by output name, got "
                     f"{type(data).__name__} of shape {np.shape(data)}")


def _label(model, name: str, i: int) -> str:
    """'y[1] (output 'cls')', with where a batch came from after it, if given."""
    base, _, where = name.partition(" (")
    return f"{base}[{i}] (output {model.output_names[i]!r})" + (f" ({where}" if where else "")


def _output_targets(model, y, name: str) -> OutputGroup:
    """Each output's targets checked against its loss and shape (see `target_array`)."""
    if y is None:
        raise ValueError(f"{name}: expected targets for the outputs {model.output_names}, "
                         f"got None")
    arrays = []
    for i, (term, array) in enumerate(zip(model.compiled_outputs.terms,
                                          _by_output(model, y, name, partial=True))):
        label = _label(model, name, i)
        if array is None:
            if term.loss is not None or term.metric_specs or term.weighted_specs:
                raise ValueError(f"{label}: missing; the output has a loss or metrics, so it "
                                 f"needs targets")
            arrays.append(None)
            continue
        sparse = checks.takes_sparse_labels(term.loss)
        array = checks.as_array(array, label, None if sparse else model.dtype)
        if term.loss is not None:
            checks.check_targets(array, term.loss, model.output_shape[i], label)
        arrays.append(array.astype(np.intp) if sparse else array)
    return OutputGroup(arrays)


def _output_weights(model, x, y: OutputGroup, sample_weight, names) -> OutputGroup | None:
    """Sample weights per output (one array serves every output), lengths checked."""
    labels = {names[0]: x, **{_label(model, names[1], i): a for i, a in enumerate(y)}}
    if sample_weight is None:
        checks.check_same_length(**labels)
        return None
    if isinstance(sample_weight, (list, tuple, dict, OutputGroup)):
        given = _by_output(model, sample_weight, "sample_weight")
        labelled = [(w, _label(model, "sample_weight", i)) for i, w in enumerate(given)]
    else:
        labelled = [(sample_weight, "sample_weight")] * len(model.output_names)
    checks.check_same_length(**labels, **{label: w for w, label in labelled})
    weights = [None if w is None else checks.check_sample_weight(w, len(x), model.dtype, label)
               for w, label in labelled]
    return None if all(w is None for w in weights) else OutputGroup(weights)


def _prepare_batch(model, batch, where: str, names=("x", "y"), class_weight=None,
                   targets: bool = True):
    """Check one batch as it is read (PyDataset, generator, memory-mapped arrays);
    errors name where it came from, e.g. "x (MyDataset[3]): contains nan at ..."."""
    x, y, sample_weight = batch
    names = tuple(f"{name} ({where})" for name in names)
    if not targets:
        return model.prepare_inputs(x, names[0]), None, None
    if y is None:
        raise ValueError(f"{where}: expected a batch (x, y) or (x, y, sample_weight), "
                         "got x alone")
    return prepare_arrays(model, x, y, sample_weight, class_weight, names)


def _check_lazy(model, arrays, names, targets: bool) -> tuple:
    """Memory-mapped arrays: check what their headers tell (dtype, shapes), read no data;
    each batch is checked in full when it is read."""
    arrays = tuple(None if a is None else a if isinstance(a, np.ndarray) else np.asarray(a)
                   for a in arrays)
    x, y, sample_weight = arrays
    if x is None or (targets and y is None):
        raise ValueError(f"{names[0] if x is None else names[1]}: expected an array, got None")
    for array, name in zip(arrays, (*names, "sample_weight")):
        if array is not None:
            checks.check_header(array, name)
    checks.check_same_length(**{names[0]: x, names[1]: y, "sample_weight": sample_weight})
    if model.built:
        checks.check_features(x, model.input_shape, names[0])
    else:
        model.maybe_build((None,) + x.shape[1:])
    return arrays


# ----- batch sources ------------------------------------------------------------------------
def batch_source(model, x, y=None, sample_weight=None, class_weight=None,
                 batch_size: int | None = 32, steps: int | None = None, names=("x", "y"),
                 targets: bool = True, by_batch: bool = False):
    """The input of fit/evaluate/predict as a batch source (see `adapters`)."""
    kind = adapters.input_kind(x)
    prepare = functools.partial(_prepare_batch, model, names=names, class_weight=class_weight,
                                targets=targets)
    if kind != "arrays":
        adapters.check_no_arrays_with(kind, y=y, sample_weight=sample_weight)
        if kind == "dataset":
            return adapters.PyDatasetBatches(x, prepare, steps, names[0])
        if kind == "loader":
            return adapters.LoaderBatches(x, prepare, steps)
        return adapters.IteratorBatches(x, prepare, steps)
    if adapters.is_lazy(x, y, sample_weight):
        arrays = _check_lazy(model, (x, y, sample_weight), names, targets)
        return adapters.ArrayBatches(arrays, batch_size, steps, prepare, by_batch=True)
    if targets:
        arrays = prepare_arrays(model, x, y, sample_weight, class_weight, names)
    else:
        arrays = (model.prepare_inputs(x, names[0]), None, None)
    return adapters.ArrayBatches(arrays, batch_size, steps, by_batch=by_batch)


def fit_sources(model, x, y, sample_weight, class_weight, batch_size, steps_per_epoch,
                shuffle, validation_split, validation_data, validation_batch_size,
                validation_steps):
    """(training source, validation source or None) for `fit`."""
    if class_weight is not None and model.compiled_outputs is not None:
        raise ValueError("class_weight: not supported for a model with several outputs "
                         "(nor in Keras); pass sample_weight per output instead")
    # Keras weights classes in the training part only: with validation_split, the class
    # weights are folded in after the split, so val_loss stays unweighted
    split = bool(validation_split) and validation_data is None
    train = batch_source(model, x, y, sample_weight, None if split else class_weight,
                         batch_size, steps_per_epoch, by_batch=shuffle == "batch")
    val_batch_size = validation_batch_size or batch_size
    names = ("validation_data x", "validation_data y")
    if validation_data is not None:
        if adapters.input_kind(validation_data) != "arrays":
            return train, batch_source(model, validation_data, None, None, None,
                                       val_batch_size, validation_steps, names)
        return train, batch_source(model, *_unpack_validation(validation_data), None,
                                   val_batch_size, validation_steps, names)
    if not validation_split:
        return train, None
    if not isinstance(train, adapters.ArrayBatches):
        raise ValueError("validation_split: only supported when x is an array; with a "
                         "PyDataset or a generator pass validation_data instead")
    arrays, val_arrays = checks.split_validation(list(train.arrays), validation_split)
    prepare = train.prepare
    if class_weight is not None:
        if prepare is None:                 # in memory, checked: weight the training part
            x_train, y_train, weights = arrays
            per_class = checks.class_weight_to_sample_weight(class_weight, y_train,
                                                             model.dtype)
            arrays = [x_train, y_train, per_class if weights is None else weights * per_class]
        else:                               # memory-mapped: weighted batch by batch
            prepare = functools.partial(_prepare_batch, model, names=("x", "y"),
                                        class_weight=class_weight)
    return (adapters.ArrayBatches(tuple(arrays), batch_size, steps_per_epoch, prepare,
                                  train.by_batch),
            adapters.ArrayBatches(tuple(val_arrays), val_batch_size, validation_steps,
                                  train.prepare, train.by_batch))


def _unpack_validation(validation_data):
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError("validation_data: expected a tuple (x_val, y_val) or "
                         "(x_val, y_val, sample_weight_val)")
    return tuple(validation_data) + (None,) * (3 - len(validation_data))

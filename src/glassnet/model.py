"""Models: a stack of layers with the Keras training API (compile, fit, evaluate, predict).

One training step is the whole algorithm of the seed posts, for any depth:

    y_pred = forward(x)                      # layer by layer
    loss   = L(y, y_pred) + Σ penalties      # regularizers on kernels
    dy     = dL/dy_pred                      # or, fused, dL/dlogits = (p - y) / N
    backward(dy)                             # layer by layer, in reverse; fills each W.grad
    optimizer.apply(parameters)              # W -= lr · update(W.grad)
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import numpy as np

from glassnet import callbacks as callbacks_module
from glassnet import data_adapter as data
from glassnet import diagnostics
from glassnet import losses as losses_module
from glassnet import metrics as metrics_module
from glassnet import optimizers as optimizers_module
from glassnet.buffers import StepBuffers
from glassnet.layers.base import Layer, Parameter, inference_only
from glassnet.layers.core import InputLayer
from glassnet.random import global_generator
from glassnet.registry import deserialize, serialize


class Model(Layer):
    """Base class of models: the training loop, over `forward`/`backward` of a subclass.

    `Model(inputs, outputs)` builds a functional model (a `Functional`), as in Keras.
    """

    def __new__(cls, *args, **kwargs):
        # Keras 3: Model(inputs, outputs, name=...) over a graph of layers is a Functional;
        # Python then runs Functional.__init__ with the same arguments.
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from glassnet.functional import Functional

            return super().__new__(Functional)
        return super().__new__(cls)

    def __init__(self, name: str | None = None, dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.optimizer = None
        self.loss = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._metric_specs: list = []
        self._metrics: list | None = None
        self._loss_tracker = metrics_module.Mean(name="loss")

    # ----- structure (subclasses) -------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        raise NotImplementedError

    def parameters(self, trainable_only: bool = False) -> list[Parameter]:
        """Every layer's parameters, each once (a shared layer contributes once)."""
        seen, params = set(), []
        for layer in self.layers:
            if trainable_only and not self.trainable:
                return []
            for param in layer.parameters(trainable_only=trainable_only):
                if id(param) not in seen:
                    seen.add(id(param))
                    params.append(param)
        return params

    def _output_layer(self) -> Layer:
        return self.layers[-1]

    # ----- compile ----------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, **kwargs) -> None:
        """Choose the optimizer, loss and metrics (names or objects, as in Keras).

        Example:
            >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
            ...               metrics=["accuracy"])
        """
        ignored = set(kwargs) - {"run_eagerly", "jit_compile", "steps_per_execution",
                                 "auto_scale_loss"}
        if ignored:
            raise TypeError(f"compile: unexpected arguments {sorted(ignored)}")
        if loss_weights is not None:
            raise ValueError("compile: loss_weights needs a model with several outputs; "
                             "this model has one")
        if loss is None:
            raise ValueError("compile: `loss` is required, e.g. loss='mse' or "
                             "loss='categorical_crossentropy'")
        self.optimizer = optimizers_module.get(optimizer)
        self.loss = losses_module.get(loss)
        specs = list(metrics or []) + list(weighted_metrics or [])
        if isinstance(metrics, (str, metrics_module.Metric)):
            specs = [metrics]
        self._metric_specs = specs
        self._metrics = None
        self.compiled = True

    def _require_compiled(self, method: str) -> None:
        if not self.compiled:
            raise RuntimeError(f"{method}: call model.compile(optimizer=..., loss=...) first")

    @property
    def metrics(self) -> list:
        return [self._loss_tracker] + list(self._metrics or [])

    @property
    def metrics_names(self) -> list[str]:
        return [m.name for m in self.metrics]

    def _build_metrics(self, y, y_pred) -> None:
        if self._metrics is None:
            self._metrics = [metrics_module.get(spec, loss=self.loss, y_true=y, y_pred=y_pred)
                             for spec in self._metric_specs]

    def _reset_metrics(self) -> None:
        for metric in self.metrics:
            metric.reset_state()

    def _logs(self) -> dict[str, float]:
        return {metric.name: float(metric.result()) for metric in self.metrics}

    # ----- one step ---------------------------------------------------------------------
    def _fused_activation(self):
        """The output activation whose derivative the loss supplies fused, or None.

        Softmax + (sparse) categorical cross-entropy and sigmoid + binary cross-entropy have
        dL/dlogits = (p - y) / N: one subtraction, and no -y/p that overflows when p -> 0.
        """
        fused_name = getattr(self.loss, "fused_activation", None)
        layer = self._output_layer()
        activation = getattr(layer, "activation", None)
        if (fused_name is None or getattr(self.loss, "from_logits", False)
                or activation is None or not hasattr(layer, "backward_preactivation")
                or getattr(activation, "name", None) != fused_name
                or getattr(activation, "axis", -1) not in (-1, len(self.output_shape) - 1)):
            return None
        return activation

    def _regularize(self, params: list[Parameter]) -> float:
        """Add each regularizer's penalty gradient to its weight's grad; return the penalty."""
        penalty = 0.0
        for param in params:
            if param.regularizer is not None:
                penalty += float(param.regularizer(param.value))
                param.grad += param.regularizer.gradient(param.value)
        return penalty

    def _regularization_penalty(self) -> float:
        return sum(float(p.regularizer(p.value)) for p in self.parameters(trainable_only=True)
                   if p.regularizer is not None)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                     training: bool = True) -> float:
        """Loss of `y_pred` (computed from x if not given) plus the regularization penalties."""
        self._require_compiled("compute_loss")
        if y_pred is None:
            y_pred = self.forward(x, training=training)
        fused = self._fused_activation()
        if fused is not None:
            value, _ = self.loss.fused_value_and_gradient(y, fused.logits, y_pred, sample_weight)
        else:
            value = self.loss(y, y_pred, sample_weight=sample_weight)
        return float(value) + self._regularization_penalty()

    def compute_gradients(self, x, y, sample_weight=None, training: bool = True):
        """Zero the grads, run forward and backward on one batch; return (loss, y_pred).

        Afterwards every trainable Parameter's `.grad` holds dL/dW of the regularized loss.
        """
        return self._compute_gradients(x, y, sample_weight, training,
                                       self.parameters(trainable_only=True))

    def _compute_gradients(self, x, y, sample_weight, training: bool, params):
        for param in params:
            param.zero_grad()
        y_pred = self.forward(x, training=training)
        fused = self._fused_activation()
        if fused is not None:
            value, dz = self.loss.fused_value_and_gradient(y, fused.logits, y_pred,
                                                           sample_weight)
            self.backward(dz, from_preactivation=True, input_gradient=False)
        else:
            value = self.loss(y, y_pred, sample_weight=sample_weight)
            self.backward(self.loss.gradient(y, y_pred, sample_weight=sample_weight),
                          input_gradient=False)
        return float(value) + self._regularize(params), y_pred

    def _train_step(self, x, y, sample_weight) -> None:
        """One step, all or nothing: the update is applied only when the loss and every
        gradient are finite. Otherwise the weights (moving statistics too), the optimizer
        state and the metrics stay as before the step, and `DivergenceError` names the
        layer and operation where the first NaN/inf appeared (see glassnet.diagnostics)."""
        params = self.parameters(trainable_only=True)
        moving = self._non_trainable_copies()
        loss, y_pred = self._compute_gradients(x, y, sample_weight, True, params)
        if not diagnostics.step_is_finite(loss, params):   # one dot a parameter
            self._raise_divergence(x, y, sample_weight, loss, moving)
        self.optimizer.apply(params)
        self._update_metrics(loss, x, y, y_pred, sample_weight)

    def _non_trainable_copies(self) -> list[tuple[Parameter, Any]]:
        """Copies of the weights a forward pass may change (BatchNormalization's moving
        statistics), put back if the step fails. Usually a few small vectors, or none."""
        return [(p, p.value.copy()) for p in self.parameters() if not p.trainable]

    def _raise_divergence(self, x, y, sample_weight, loss: float, moving) -> None:
        """The slow path, only after a non-finite loss or gradient: locate, restore, raise."""
        error = diagnostics.divergence_error(self, x, y, sample_weight, loss=loss)
        for param, value in moving:
            param.value[...] = value
        raise error

    def _test_step(self, x, y, sample_weight) -> None:
        y_pred = self.forward(x, training=False)
        loss = self.compute_loss(x, y, y_pred, sample_weight, training=False)
        self._update_metrics(loss, x, y, y_pred, sample_weight)

    def _update_metrics(self, loss, x, y, y_pred, sample_weight) -> None:
        self._build_metrics(y, y_pred)
        self._loss_tracker.update_state(loss, sample_weight=len(x))
        for metric in self._metrics:
            metric.update_state(y, y_pred, sample_weight=sample_weight)

    # ----- data checks ------------------------------------------------------------------
    def _prepare_x(self, x, name: str = "x") -> np.ndarray:
        x = data.as_array(x, name, self.dtype)
        if self.built:
            data.check_features(x, self.input_shape, name)
        else:
            self.maybe_build((None,) + x.shape[1:])
        return x

    def _prepare_y(self, y, name: str = "y") -> np.ndarray:
        sparse = data.takes_sparse_labels(self.loss)
        # Float targets are cast before the finiteness check: 1e300 is inf in float32.
        y = data.as_array(y, name, None if sparse else self.dtype)
        data.check_targets(y, self.loss, self.output_shape, name)
        return y.astype(np.intp) if sparse else y

    def _prepare(self, x, y, sample_weight=None, class_weight=None, names=("x", "y")):
        x = self._prepare_x(x, names[0])
        y = self._prepare_y(y, names[1])
        data.check_same_length(**{names[0]: x, names[1]: y, "sample_weight": sample_weight})
        weights = data.check_sample_weight(sample_weight, len(x), self.dtype)
        if class_weight is not None:
            per_class = data.class_weight_to_sample_weight(class_weight, y, self.dtype)
            weights = per_class if weights is None else weights * per_class
        return x, y, weights

    def _prepare_batch(self, batch, where: str, names=("x", "y"), class_weight=None,
                       targets: bool = True):
        """Check one batch as it is read (PyDataset, generator, memory-mapped arrays);
        errors name where it came from, e.g. "x (MyDataset[3]): contains nan at ..."."""
        x, y, sample_weight = batch
        names = tuple(f"{name} ({where})" for name in names)
        if not targets:
            return self._prepare_x(x, names[0]), None, None
        if y is None:
            raise ValueError(f"{where}: expected a batch (x, y) or (x, y, sample_weight), "
                             "got x alone")
        return self._prepare(x, y, sample_weight, class_weight, names)

    def _check_lazy(self, arrays, names, targets: bool) -> tuple:
        """Memory-mapped arrays: check what their headers tell (dtype, shapes), read no data;
        each batch is checked in full when it is read."""
        arrays = tuple(None if a is None else a if isinstance(a, np.ndarray) else np.asarray(a)
                       for a in arrays)
        x, y, sample_weight = arrays
        if x is None or (targets and y is None):
            raise ValueError(f"{names[0] if x is None else names[1]}: expected an array, got None")
        for array, name in zip(arrays, (*names, "sample_weight")):
            if array is not None:
                data.check_header(array, name)
        data.check_same_length(**{names[0]: x, names[1]: y, "sample_weight": sample_weight})
        if self.built:
            data.check_features(x, self.input_shape, names[0])
        else:
            self.maybe_build((None,) + x.shape[1:])
        return arrays

    def _batch_source(self, x, y=None, sample_weight=None, class_weight=None,
                      batch_size: int | None = 32, steps: int | None = None,
                      names=("x", "y"), targets: bool = True, by_batch: bool = False):
        """The input of fit/evaluate/predict as a batch source (see `data_adapter`)."""
        kind = data.input_kind(x)
        prepare = functools.partial(self._prepare_batch, names=names,
                                    class_weight=class_weight, targets=targets)
        if kind != "arrays":
            data.check_no_arrays_with(kind, y=y, sample_weight=sample_weight)
            if kind == "dataset":
                return data.PyDatasetBatches(x, prepare, steps, names[0])
            return data.IteratorBatches(x, prepare, steps)
        if data.is_lazy(x, y, sample_weight):
            arrays = self._check_lazy((x, y, sample_weight), names, targets)
            return data.ArrayBatches(arrays, batch_size, steps, prepare, by_batch=True)
        if targets:
            arrays = self._prepare(x, y, sample_weight, class_weight, names)
        else:
            arrays = (self._prepare_x(x, names[0]), None, None)
        return data.ArrayBatches(arrays, batch_size, steps, by_batch=by_batch)

    def _fit_sources(self, x, y, sample_weight, class_weight, batch_size, steps_per_epoch,
                     shuffle, validation_split, validation_data, validation_batch_size,
                     validation_steps):
        """(training source, validation source or None)."""
        train = self._batch_source(x, y, sample_weight, class_weight, batch_size,
                                   steps_per_epoch, by_batch=shuffle == "batch")
        val_batch_size = validation_batch_size or batch_size
        names = ("validation_data x", "validation_data y")
        if validation_data is not None:
            if data.input_kind(validation_data) != "arrays":
                return train, self._batch_source(validation_data, None, None, None,
                                                 val_batch_size, validation_steps, names)
            return train, self._batch_source(*_unpack_validation(validation_data), None,
                                             val_batch_size, validation_steps, names)
        if not validation_split:
            return train, None
        if not isinstance(train, data.ArrayBatches):
            raise ValueError("validation_split: only supported when x is an array; with a "
                             "PyDataset or a generator pass validation_data instead")
        arrays, val_arrays = data.split_validation(list(train.arrays), validation_split)
        return (data.ArrayBatches(tuple(arrays), batch_size, steps_per_epoch, train.prepare,
                                  train.by_batch),
                data.ArrayBatches(tuple(val_arrays), val_batch_size, validation_steps,
                                  train.prepare, train.by_batch))

    # ----- fit / evaluate / predict -------------------------------------------------------
    def fit(self, x=None, y=None, batch_size: int | None = 32, epochs: int = 1,
            verbose="auto", callbacks=None, validation_split: float = 0.0,
            validation_data=None, shuffle: bool | str = True, class_weight=None,
            sample_weight=None, initial_epoch: int = 0, steps_per_epoch: int | None = None,
            validation_steps: int | None = None, validation_batch_size=None,
            validation_freq: int = 1):
        """Train for `epochs` passes over (x, y); return a History of per-epoch logs.

        Keras names and defaults, except: `batch_size=None` trains on the whole data set in
        one batch per epoch (full-batch gradient descent, as in the seed posts), where Keras
        would use 32; the default is Keras' 32.

        Args (those with more to say):
            x: arrays (np.memmap arrays are read one batch at a time), a `PyDataset`, or a
                generator of (x, y) / (x, y, sample_weight) batches (y must then be None).
            shuffle: True, False, or "batch": shuffle the order of the batches, not the
                samples. PyDataset and memory-mapped arrays always shuffle by batch, so
                that an epoch never holds more than a batch in memory. Generators are
                never shuffled.
            steps_per_epoch: batches per epoch: a generator's next ones (without it, one
                epoch runs until the generator is exhausted); for arrays and a PyDataset,
                the first ones of each epoch's order (Keras goes on across epochs).
            validation_steps: batches per validation (a generator's next ones).

        Ctrl-C (SIGINT) and SIGTERM end the current step, write a backup if a
        `callbacks.BackupAndRestore` is given, and return the History so far.
        """
        from glassnet.saving import training_state as backup_module

        self._require_compiled("fit")
        batch_size = data.check_int(batch_size, "batch_size", 1, allow_none=True)
        epochs = data.check_int(epochs, "epochs", 0)
        initial_epoch = data.check_int(initial_epoch, "initial_epoch", 0)
        validation_freq = data.check_int(validation_freq, "validation_freq", 1)
        steps_per_epoch = data.check_int(steps_per_epoch, "steps_per_epoch", 1, allow_none=True)
        validation_steps = data.check_int(validation_steps, "validation_steps", 1,
                                          allow_none=True)
        if shuffle not in (True, False, "batch"):
            raise ValueError(f"shuffle: expected True, False or 'batch', got {shuffle!r}")
        verbose = _verbosity(verbose)
        train, val = self._fit_sources(x, y, sample_weight, class_weight, batch_size,
                                       steps_per_epoch, shuffle, validation_split,
                                       validation_data, validation_batch_size, validation_steps)
        cbs = callbacks_module.CallbackList(callbacks, add_history=True,
                                            add_progbar=verbose != 0, model=self,
                                            verbose=verbose, epochs=epochs,
                                            steps=train.num_batches)
        backup = next((c for c in cbs.callbacks
                       if isinstance(c, callbacks_module.BackupAndRestore)), None)
        progress = backup_module.FitProgress(epoch=initial_epoch, num_batches=train.num_batches,
                                             train=train, validation=val)
        self._fit_progress = progress  # read and restored by BackupAndRestore
        self._step_buffers = StepBuffers()
        self.stop_training = False
        epoch_logs: dict[str, float] = {}
        try:
            with backup_module.deferred_interrupts(progress):
                try:
                    progress.safe = False  # a backup is being restored
                    cbs.on_train_begin()
                    progress.restore_history(cbs.history)
                    progress.safe = True
                    epoch_logs = self._fit_epochs(train, val, cbs, progress, epochs,
                                                  bool(shuffle), validation_freq)
                except KeyboardInterrupt:
                    if not progress.safe:  # inside a step: no consistent state to save
                        raise
                    progress.interrupted = "KeyboardInterrupt"
                if progress.interrupted is not None:
                    _report_interruption(progress, backup)
                cbs.on_train_end(epoch_logs)
        finally:
            self._fit_progress = None
            self._step_buffers.clear()    # the last step's arrays are not needed any more
        return self.history

    def _fit_epochs(self, train, val, cbs, progress, epochs: int, shuffle: bool,
                    validation_freq: int) -> dict[str, float]:
        """The epochs from `progress` (epoch 0 step 0, or where a backup left off)."""
        epoch_logs: dict[str, float] = {}
        while progress.epoch < epochs and progress.interrupted is None:
            epoch = progress.epoch
            self._reset_metrics()
            if progress.metric_state is not None:  # resumed mid-epoch: the running means
                self._load_metric_state(progress)
            cbs.on_epoch_begin(epoch)
            train.on_epoch_begin()
            if progress.order is None:
                progress.order = train.draw_order(shuffle, global_generator())
            self._fit_batches(train, cbs, progress)
            if progress.interrupted is not None:
                break
            if progress.step == 0 and getattr(train, "exhausted", False):
                data.warn_exhausted("fit")
                break
            epoch_logs = self._end_epoch(epoch, train, val, cbs, progress, validation_freq)
            if self.stop_training:
                break
        return epoch_logs

    def _fit_batches(self, train, cbs, progress) -> None:
        """The epoch's batches from `progress.step` on; `progress.step` counts those done."""
        buffers = self._step_buffers
        for x, y, weights in train.batches(progress.order, progress.step):
            step = progress.step
            cbs.on_train_batch_begin(step)
            progress.safe = False  # weights and optimizer state are half-updated in a step
            try:
                with buffers.reusing():  # layers write into last step's arrays (see buffers)
                    self._train_step(x, y, weights)
            except diagnostics.DivergenceError as error:  # fit adds where in the epochs
                raise error.at(epoch=progress.epoch + 1, batch=step + 1) from None
            progress.step, progress.safe = step + 1, True
            if progress.targets is None:  # to rebuild the metrics when resuming
                progress.targets = (y.shape, y.dtype)
            cbs.on_train_batch_end(step, self._logs())
            if self.stop_training or progress.interrupted is not None:
                break

    def _end_epoch(self, epoch: int, train, val, cbs, progress,
                   validation_freq: int) -> dict[str, float]:
        progress.safe = False  # validation and the epoch-end callbacks are one unit
        train.on_epoch_end()
        epoch_logs = self._logs()
        if val is not None and (epoch + 1) % validation_freq == 0:
            val_logs = self._evaluate_batches(val)
            epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
        progress.epoch, progress.step, progress.order = epoch + 1, 0, None
        cbs.on_epoch_end(epoch, epoch_logs)
        progress.safe = True
        return epoch_logs

    def _load_metric_state(self, progress) -> None:
        from glassnet.saving import training_state as backup_module

        if self._metrics is None and progress.targets is not None:
            shape, dtype = progress.targets  # the metrics are chosen from shapes alone
            y_pred_shape = (shape[0],) + tuple(self.output_shape[1:])
            self._build_metrics(np.zeros(shape, dtype), np.zeros(y_pred_shape, self.dtype))
        backup_module.load_metric_state(self, progress.metric_state)
        progress.metric_state = None

    def _evaluate_batches(self, source, cbs=None) -> dict[str, float]:
        self._reset_metrics()
        source.on_epoch_begin()
        steps = 0
        for step, (x, y, weights) in enumerate(source.batches(None)):
            if cbs is not None:
                cbs.on_test_batch_begin(step)
            self._test_step(x, y, weights)
            steps = step + 1
            if cbs is not None:
                cbs.on_test_batch_end(step, self._logs())
        source.on_epoch_end()
        if steps == 0:
            raise ValueError("evaluation data: the generator gave no batches (it is exhausted; "
                             "pass validation_steps / steps, or use a PyDataset)")
        return self._logs()

    def evaluate(self, x=None, y=None, batch_size: int | None = 32, verbose="auto",
                 sample_weight=None, steps: int | None = None, callbacks=None,
                 return_dict: bool = False):
        """Loss and metrics on (x, y): a float, a list [loss, *metrics], or a dict.

        x may also be a PyDataset or a generator (run until exhausted, or for `steps`)."""
        self._require_compiled("evaluate")
        batch_size = data.check_int(batch_size, "batch_size", 1, allow_none=True)
        steps = data.check_int(steps, "steps", 1, allow_none=True)
        verbose = _verbosity(verbose)
        source = self._batch_source(x, y, sample_weight, None, batch_size, steps)
        cbs = callbacks_module.CallbackList(callbacks, add_history=False,
                                            add_progbar=verbose != 0, model=self,
                                            verbose=verbose, epochs=1,
                                            steps=source.num_batches)
        cbs.on_test_begin()
        logs = self._evaluate_batches(source, cbs)
        cbs.on_test_end(logs)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size: int | None = 32, verbose="auto", steps: int | None = None,
                callbacks=None):
        """Outputs for x, computed batch by batch in inference mode (dropout off).

        x may also be a PyDataset or a generator of batches x (or (x, y), y ignored)."""
        batch_size = data.check_int(batch_size, "batch_size", 1, allow_none=True)
        steps = data.check_int(steps, "steps", 1, allow_none=True)
        verbose = _verbosity(verbose)
        source = self._batch_source(x, batch_size=batch_size, steps=steps, targets=False)
        cbs = callbacks_module.CallbackList(callbacks, add_history=False,
                                            add_progbar=verbose != 0, model=self,
                                            verbose=verbose, epochs=1,
                                            steps=source.num_batches)
        cbs.on_predict_begin()
        # Arrays: one output array allocated once; other sources: batches concatenated.
        total = (min(source.num_samples, source.num_batches * source.batch_size)
                 if isinstance(source, data.ArrayBatches) else None)
        outputs, pieces, start = None, [], 0
        source.on_epoch_begin()
        for step, (x_batch, _, _) in enumerate(source.batches(None)):
            cbs.on_predict_batch_begin(step)
            with inference_only():        # layers keep nothing for a backward pass
                y_batch = self.forward(x_batch, training=False)
            if total is None:
                pieces.append(np.array(y_batch))  # a copy: a layer may reuse its buffer
            else:
                if outputs is None:  # allocate once, when the output shape is known
                    outputs = np.empty((total,) + y_batch.shape[1:], dtype=y_batch.dtype)
                outputs[start:start + len(y_batch)] = y_batch
            start += len(y_batch)
            cbs.on_predict_batch_end(step, {"outputs": y_batch})
        source.on_epoch_end()
        cbs.on_predict_end()
        if total is None:
            if not pieces:
                raise ValueError("x: the generator gave no batches to predict")
            outputs = np.concatenate(pieces)
        return outputs

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict: bool = False):
        """One gradient step on one batch; returns the loss (and metrics) on that batch."""
        self._require_compiled("train_on_batch")
        x, y, weights = self._prepare(x, y, sample_weight, class_weight)
        self._reset_metrics()
        self._train_step(x, y, weights)
        return _result(self._logs(), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict: bool = False):
        self._require_compiled("test_on_batch")
        x, y, weights = self._prepare(x, y, sample_weight)
        self._reset_metrics()
        self._test_step(x, y, weights)
        return _result(self._logs(), return_dict)

    def predict_on_batch(self, x):
        return self.forward(self._prepare_x(x), training=False)

    # ----- description and files ----------------------------------------------------------
    def summary(self, print_fn=None) -> None:
        """Print each layer's type, output shape and parameter count, as Keras does."""
        print_fn = print_fn or print
        header, rows = self._summary_rows()
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        line = "  ".join("-" * w for w in widths)
        trainable = sum(p.value.size for p in self.parameters(trainable_only=True))
        total = self.count_params()
        print_fn(f'Model: "{self.name}"')
        print_fn(line)
        print_fn("  ".join(h.ljust(w) for h, w in zip(header, widths)))
        print_fn(line.replace("-", "="))
        for row in rows:
            print_fn("  ".join(c.ljust(w) for c, w in zip(row, widths)))
        print_fn(line)
        print_fn(f"Total params: {total:,}")
        print_fn(f"Trainable params: {trainable:,}")
        print_fn(f"Non-trainable params: {total - trainable:,}")

    def _summary_rows(self) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
        """The summary table: a header and one row of strings per layer."""
        header = ("Layer (type)", "Output Shape", "Param #")
        rows = [(f"{layer.name} ({type(layer).__name__})",
                 str(layer.output_shape) if layer.built else "?",
                 f"{layer.count_params():,}") for layer in self.layers
                if not isinstance(layer, InputLayer)]
        return header, rows

    def get_compile_config(self) -> dict[str, Any] | None:
        if not self.compiled:
            return None
        return {"optimizer": serialize(self.optimizer), "loss": serialize(self.loss),
                "metrics": [m if isinstance(m, str) else serialize(m)
                            for m in self._metric_specs]}

    def compile_from_config(self, config_: dict[str, Any], custom_objects=None) -> None:
        self.compile(
            optimizer=deserialize("optimizer", config_["optimizer"], custom_objects),
            loss=deserialize("loss", config_["loss"], custom_objects),
            metrics=[m if isinstance(m, str) else deserialize("metric", m, custom_objects)
                     for m in config_.get("metrics") or []],
        )

    def save(self, filepath, overwrite: bool = True) -> None:
        """One `.glassnet` file: architecture, weights, optimizer state and compile settings
        (a `.keras` path: Keras 3's format)."""
        _file_format(filepath, "is_keras_file").save_model(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath, overwrite: bool = True) -> None:
        """`.weights.npz` (a `.weights.h5` path: Keras 3's format)."""
        _file_format(filepath).save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath) -> None:
        _file_format(filepath).load_weights(self, filepath)


def _file_format(filepath, test: str = "is_keras_weights_file"):
    """The saving module for the path's extension: Keras' (keras_file) or glassnet's."""
    from glassnet.saving import keras_file, model_file  # not the package: a smaller cycle

    return keras_file if getattr(keras_file, test)(filepath) else model_file


def _verbosity(verbose) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose: expected 'auto', 0, 1 or 2, got {verbose!r}")
    return int(verbose)


def _unpack_validation(validation_data):
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError("validation_data: expected a tuple (x_val, y_val) or "
                         "(x_val, y_val, sample_weight_val)")
    return tuple(validation_data) + (None,) * (3 - len(validation_data))


def _report_interruption(progress, backup) -> None:
    """Write the backup (if any) and say where training stopped."""
    where = f"epoch {progress.epoch + 1}, after step {progress.step}"
    if backup is not None:
        backup.backup()
        saved = f"training state saved to {str(backup.checkpoint_path)!r}; run the same fit " \
                "again to resume"
    else:
        saved = "nothing saved (add a callbacks.BackupAndRestore to be able to resume)"
    warnings.warn(f"fit: interrupted by {progress.interrupted} at {where}; {saved}",
                  RuntimeWarning, stacklevel=3)


def _result(logs: dict[str, float], return_dict: bool):
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values

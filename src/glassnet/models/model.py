"""Model: a network of layers with the Keras API (compile, fit, evaluate, predict, save).

This file holds what a model *is*: its layers and parameters, what `compile` chose (optimizer,
loss, metrics), its description (`summary`) and its files (`save`, configs). What a model
*does* in training lives in `glassnet.training`, which these methods call:

    fit / evaluate / predict / *_on_batch   -> training.trainer   (loops, callbacks)
    train_step / test_step                  -> training.step      (one step, all or nothing)
    compute_loss / compute_gradients        -> training.gradients (the math of a step)

One training step is the whole algorithm of the seed posts, for any depth:

    y_pred = forward(x)                      # layer by layer
    loss   = L(y, y_pred) + Σ penalties      # regularizers on kernels
    dy     = dL/dy_pred                      # or, fused, dL/dlogits = (p - y) / N
    backward(dy)                             # layer by layer, in reverse; fills each W.grad
    optimizer.apply(parameters)              # W -= lr · update(W.grad)
"""

from __future__ import annotations

import inspect
import json
from typing import Any

from glassnet import losses as losses_module
from glassnet import metrics as metrics_module
from glassnet import optimizers as optimizers_module
from glassnet.layers import traced
from glassnet.layers.base import Layer, Parameter
from glassnet.metrics.base import scalar_or_array
from glassnet.models import fusion
from glassnet.registry import deserialize, lookup, serialize
from glassnet.training import gradients, step, trainer
from glassnet.training.data import prepare
from glassnet.training.outputs import CompiledOutputs


class Model(Layer):
    """Base class of models: the Keras API over `forward`/`backward` of a subclass.

    `Model(inputs, outputs)` builds a functional model (a `Functional`), as in Keras.
    """

    def __new__(cls, *args, **kwargs):
        # Keras 3: Model(inputs, outputs, name=...) over a graph of layers is a Functional;
        # Python then runs Functional.__init__ with the same arguments.
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from glassnet.models.functional import Functional

            return super().__new__(Functional)
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, name: str | None = None, dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.optimizer = None
        self.loss = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._metric_specs: list = []
        self._metric_weighted: list[bool] = []   # per spec: does it see sample weights
        self._metrics: list | None = None
        self._loss_tracker = metrics_module.Mean(name="loss")
        self._fit_progress = None
        self._step_buffers = None
        self._calls_made: list = []      # each layer call's number in the last forward pass
        self._output_mask = None
        self._compiled_outputs = None    # a CompiledOutputs for a model with several outputs

    supports_masking = True             # a padding mask goes in and, if it survives, out

    # ----- structure (subclasses) -------------------------------------------------------
    @property
    def output_mask(self):
        """The padding mask of the last forward's output (N, T), or None: what Keras
        attaches to the output as `_keras_mask`; the loss and metrics skip masked steps."""
        return self._output_mask

    def compute_mask(self, x, mask=None):
        """The mask of the output of the forward just run (see `output_mask`)."""
        return self._output_mask

    @property
    def compiled_outputs(self) -> CompiledOutputs | None:
        """The per-output losses and metrics of a compiled model with several outputs (see
        `glassnet.training.outputs`); None for a model with one output."""
        return self._compiled_outputs

    @property
    def layers(self) -> list[Layer]:
        """The layers of the model; for a subclass, those held in its attributes."""
        return traced.tracked_layers(self)

    def sublayers(self) -> list[Layer]:
        return self.layers

    def parameters(self, trainable_only: bool = False) -> list[Parameter]:
        """Every layer's parameters, each once (a shared layer contributes once)."""
        if self._call_style:
            return traced.tracked_parameters(self, trainable_only)
        seen, params = set(), []
        for layer in self.layers:
            if trainable_only and not self.trainable:
                return []
            for param in layer.parameters(trainable_only=trainable_only):
                if id(param) not in seen:
                    seen.add(id(param))
                    params.append(param)
        return params

    @property
    def output_layer(self) -> Layer | None:
        """The layer whose output the loss reads (Sequential: the last), None if no layers
        or if call() computes the output (no fused output gradient then)."""
        if self._call_style:
            return None
        layers = self.layers
        return layers[-1] if layers else None

    @property
    def input_dtype(self) -> str:
        """The dtype `fit`, `evaluate` and `predict` give x: the integer or bool dtype of
        the model's Input (`Input(shape, dtype="int32")`), else the model's float dtype."""
        return self.dtype

    def prepare_inputs(self, x, name: str = "x"):
        """x checked and converted to what `forward` takes (builds the model if needed).

        One float array here; a Functional model with several inputs returns them together.
        """
        return prepare.input_array(self, x, name)

    # ----- compile ----------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, **kwargs) -> None:
        """Choose the optimizer, loss and metrics (names or objects, as in Keras). The loss
        may be a function written with glassnet.ops, or None when `add_loss` terms are the loss.

        A model with several outputs takes a loss, a weight and metrics per output, as lists
        or dicts keyed by output name (see `glassnet.training.outputs`).

        Example:
            >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
            ...               metrics=["accuracy"])
        """
        ignored = set(kwargs) - {"run_eagerly", "jit_compile", "steps_per_execution",
                                 "auto_scale_loss"}
        if ignored:
            raise TypeError(f"compile: unexpected arguments {sorted(ignored)}")
        output_names = getattr(self, "output_names", None) or []
        if len(output_names) > 1:
            self._compiled_outputs = CompiledOutputs(
                output_names, loss, loss_weights, metrics, weighted_metrics,
                keyed=getattr(self, "outputs_by_name", False))
            self.optimizer = optimizers_module.get(optimizer)
            self.loss = loss         # the user's structure, as Keras keeps it
            self._metric_specs, self._metrics = [], []
            self.compiled = True
            return
        self._compiled_outputs = None
        if loss_weights is not None:
            raise ValueError("compile: loss_weights needs a model with several outputs; "
                             "this model has one")
        # loss=None is allowed, as in Keras, for a model whose layers add their own terms
        # (add_loss); training without any loss is an error then (gradients.py)
        self.optimizer = optimizers_module.get(optimizer)
        self.loss = losses_module.get(loss)
        # as in Keras, `metrics` ignore sample and class weights; `weighted_metrics` use them
        plain, weighted = ([spec] if isinstance(spec, (str, metrics_module.Metric))
                           else list(spec or []) for spec in (metrics, weighted_metrics))
        self._metric_specs = plain + weighted
        self._metric_weighted = [False] * len(plain) + [True] * len(weighted)
        self._metrics = None
        self.compiled = True
        fusion.compile_plan(self)        # exact layer fusions for the forward pass

    # ----- metrics ----------------------------------------------------------------------
    @property
    def metrics(self) -> list:
        """The running loss, then the compiled metrics (once the first batch chose them)."""
        if self._compiled_outputs is not None:
            return [self._loss_tracker] + self._compiled_outputs.metrics
        return [self._loss_tracker] + list(self._metrics or [])

    @property
    def metrics_names(self) -> list[str]:
        """The names of `metrics`; with several outputs Keras' ["loss", "compile_metrics"
        (if any metrics were compiled), "<output>_loss", ...]."""
        outputs = self._compiled_outputs
        if outputs is not None:
            compiled = any(t.metric_specs or t.weighted_specs for t in outputs.terms)
            return ["loss"] + ["compile_metrics"] * compiled + outputs.loss_names()
        return [m.name for m in self.metrics]

    def build_metrics(self, y, y_pred) -> None:
        """Make the compiled metrics, once: 'accuracy' becomes the accuracy that fits the
        shapes of the targets y and the predictions y_pred (as Keras decides at the first
        batch)."""
        if self._compiled_outputs is not None:
            self._compiled_outputs.build_metrics(y, y_pred)
        elif self._metrics is None:
            self._metrics = [metrics_module.get(spec, loss=self.loss, y_true=y, y_pred=y_pred)
                             for spec in self._metric_specs]

    def reset_metrics(self) -> None:
        for metric in self.metrics:
            metric.reset_state()

    def update_metrics(self, loss: float, x, y, y_pred, sample_weight) -> None:
        """Add one batch: its loss (weighted by its size) and its predictions; the sample
        weights reach the `weighted_metrics` only, as in Keras."""
        self.build_metrics(y, y_pred)
        self._loss_tracker.update_state(loss, sample_weight=len(x))
        if self._compiled_outputs is not None:
            self._compiled_outputs.update_metrics(y, y_pred, sample_weight,
                                                  self.output_masks, len(x))
            return
        mask = self.output_mask          # padded steps do not count (Keras)
        for metric, weighted in zip(self._metrics, self._metric_weighted):
            weights = sample_weight if weighted else None
            if mask is None or not _takes_mask(metric.update_state):
                metric.update_state(y, y_pred, sample_weight=weights)
            else:
                metric.update_state(y, y_pred, sample_weight=weights, mask=mask)

    def get_metrics_result(self) -> dict[str, Any]:
        """{name: value} of the loss and every metric so far (Keras 3's name): floats, and
        NumPy arrays for metrics with one value a class or threshold (F1Score()). With several
        outputs the keys are sorted, as Keras sorts them ("cls_accuracy", "loss", ...)."""
        if self._compiled_outputs is not None:
            results = self._compiled_outputs.results()
            results["loss"] = float(self._loss_tracker.result())
            return dict(sorted(results.items()))
        return {metric.name: scalar_or_array(metric.result()) for metric in self.metrics}

    # ----- the state of a fit under way (written by glassnet.training.trainer) -------------
    @property
    def fit_progress(self):
        """Where the fit under way is (a `FitProgress`: epoch, step, shuffle order), or None
        outside fit. `BackupAndRestore` saves it and, when resuming, restores it."""
        return self._fit_progress

    @fit_progress.setter
    def fit_progress(self, progress) -> None:
        self._fit_progress = progress

    @property
    def step_buffers(self):
        """The `StepBuffers` of the last fit: the arrays its steps' layers wrote into."""
        return self._step_buffers

    @step_buffers.setter
    def step_buffers(self, buffers) -> None:
        self._step_buffers = buffers

    # ----- one step (glassnet.training.step, .gradients) ----------------------------------
    def _fused_activation(self):
        return gradients.fused_activation(self)

    def _regularization_penalty(self) -> float:
        return gradients.penalty(self)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                     training: bool = True) -> float:
        """Loss of `y_pred` (computed from x if not given) plus the regularization penalties."""
        return gradients.compute_loss(self, x, y, y_pred, sample_weight, training)

    def compute_gradients(self, x, y, sample_weight=None, training: bool = True):
        """Zero the grads, run forward and backward on one batch; return (loss, y_pred).

        Afterwards every trainable Parameter's `.grad` holds dL/dW of the regularized loss.
        """
        return gradients.compute_gradients(self, x, y, sample_weight, training)

    def train_step(self, data) -> None:
        """One training step on data = (x, y, sample_weight), all or nothing: see
        `glassnet.training.step.train_step`. `fit` calls it once a batch."""
        x, y, sample_weight = data
        step.train_step(self, x, y, sample_weight)

    def test_step(self, data) -> None:
        """Loss and metrics of data = (x, y, sample_weight), added to the running metrics."""
        x, y, sample_weight = data
        step.test_step(self, x, y, sample_weight)

    # ----- fit / evaluate / predict (glassnet.training.trainer) ----------------------------
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
        return trainer.fit(
            self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose,
            callbacks=callbacks, validation_split=validation_split,
            validation_data=validation_data, shuffle=shuffle, class_weight=class_weight,
            sample_weight=sample_weight, initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch, validation_steps=validation_steps,
            validation_batch_size=validation_batch_size, validation_freq=validation_freq)

    def evaluate(self, x=None, y=None, batch_size: int | None = 32, verbose="auto",
                 sample_weight=None, steps: int | None = None, callbacks=None,
                 return_dict: bool = False):
        """Loss and metrics on (x, y): a float, a list [loss, *metrics], or a dict.

        x may also be a PyDataset or a generator (run until exhausted, or for `steps`)."""
        return trainer.evaluate(self, x, y, batch_size=batch_size, verbose=verbose,
                                sample_weight=sample_weight, steps=steps,
                                callbacks=callbacks, return_dict=return_dict)

    def predict(self, x, batch_size: int | None = 32, verbose="auto", steps: int | None = None,
                callbacks=None):
        """Outputs for x, computed batch by batch in inference mode (dropout off).

        x may also be a PyDataset or a generator of batches x (or (x, y), y ignored)."""
        return trainer.predict(self, x, batch_size=batch_size, verbose=verbose, steps=steps,
                               callbacks=callbacks)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict: bool = False):
        """One gradient step on one batch; returns the loss (and metrics) on that batch."""
        return trainer.train_on_batch(self, x, y, sample_weight, class_weight, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict: bool = False):
        return trainer.test_on_batch(self, x, y, sample_weight, return_dict)

    def predict_on_batch(self, x):
        return trainer.predict_on_batch(self, x)

    # ----- description and files ----------------------------------------------------------
    def summary(self, line_length=None, positions=None, print_fn=None,
                expand_nested: bool = False, show_trainable: bool = False,
                layer_range=None) -> None:
        """Print each layer's name (type), output shape and parameter count, and the
        totals, in Keras 3's table (see `glassnet.models.summary`)."""
        from glassnet.models.summary import print_summary  # it reads Functional: late

        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable,
                      layer_range=layer_range)
        for line in fusion.describe(self):          # the layers the fusion pass joined
            (print_fn or print)(line)

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """The layer named `name`, or at `index` in `layers` (one of the two), as Keras."""
        if index is not None and name is not None:
            raise ValueError(f"Provide only a layer name or a layer index. Received: "
                             f"index={index}, name={name}.")
        layers = self.layers
        if index is not None:
            if len(layers) <= index:
                raise ValueError(f"Was asked to retrieve layer at index {index} but model "
                                 f"only has {len(layers)} layers.")
            return layers[index]
        if name is not None:
            inputs = [t.layer for t in getattr(self, "_inputs", None) or []]  # Functional
            for layer in layers + inputs:
                if layer.name == name:
                    return layer
            raise ValueError(f"No such layer: {name}. Existing layers are: "
                             f"{[layer.name for layer in layers]}.")
        raise ValueError("Provide either a layer name or layer index at `get_layer`.")

    @classmethod
    def from_config(cls, config_: dict[str, Any], custom_objects=None) -> Model:
        """The model a config describes, as Keras: a functional config ('layers',
        'input_layers', 'output_layers') revives a Functional; a Sequential's config given
        to `Model.from_config` revives a Sequential; a subclass gets its constructor's
        arguments from the config."""
        if not isinstance(config_, dict):
            raise TypeError(f"{cls.__name__}.from_config: config must be a dict, got "
                            f"{type(config_).__name__}")
        functional = all(key in config_ for key in ("name", "layers", "input_layers",
                                                   "output_layers"))
        if cls is Model and isinstance(config_.get("layers"), list):
            kind = lookup("layer", "Functional" if functional else "Sequential")
            return kind.from_config(config_, custom_objects=custom_objects)
        try:
            return super().from_config(config_)
        except TypeError as error:
            raise TypeError(f"Unable to revive model from config: {cls.__name__}'s "
                            f"constructor does not take {sorted(config_)}; write get_config "
                            f"with its arguments, or a from_config classmethod. "
                            f"({error})") from error

    def get_compile_config(self) -> dict[str, Any] | None:
        if not self.compiled:
            return None
        if self._compiled_outputs is not None:   # lists and dicts per output
            return {"optimizer": serialize(self.optimizer),
                    **self._compiled_outputs.get_config(serialize)}
        return {"optimizer": serialize(self.optimizer),
                "loss": None if self.loss is None else serialize(self.loss),
                "metrics": [m if isinstance(m, str) else serialize(m)
                            for m in self._metric_specs]}

    def compile_from_config(self, config_: dict[str, Any], custom_objects=None) -> None:
        if len(getattr(self, "output_names", None) or []) > 1:
            def loss(spec):     # names stay names, as compile was given them
                return spec if spec is None or isinstance(spec, str) else deserialize(
                    "loss", spec, custom_objects)

            def metric(spec):
                return spec if isinstance(spec, str) else deserialize("metric", spec,
                                                                      custom_objects)

            self.compile(
                optimizer=deserialize("optimizer", config_["optimizer"], custom_objects),
                loss=_map_entries(config_.get("loss"), loss),
                loss_weights=config_.get("loss_weights"),
                metrics=_map_entries(config_.get("metrics"), metric),
                weighted_metrics=_map_entries(config_.get("weighted_metrics"), metric))
            return
        self.compile(
            optimizer=deserialize("optimizer", config_["optimizer"], custom_objects),
            loss=(None if config_["loss"] is None
                  else deserialize("loss", config_["loss"], custom_objects)),
            metrics=[m if isinstance(m, str) else deserialize("metric", m, custom_objects)
                     for m in config_.get("metrics") or []],
        )

    def to_json(self, **kwargs) -> str:
        """The architecture as JSON text ({'class_name', 'config'}); `json.dumps` options
        (indent=2, ...) pass on. `glassnet.models.model_from_json` reads it back."""
        return json.dumps(serialize(self), **kwargs)

    def save(self, filepath, overwrite: bool = True) -> None:
        """One `.glassnet` file: architecture, weights, optimizer state and compile settings
        (a `.keras` path: Keras 3's format)."""
        _file_format(filepath, "is_keras_file").save_model(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath, overwrite: bool = True) -> None:
        """`.weights.npz` (a `.weights.h5` path: Keras 3's format)."""
        _file_format(filepath).save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath) -> None:
        _file_format(filepath).load_weights(self, filepath)

    def export(self, filepath, format: str = "onnx", verbose=None, input_signature=None,
               **kwargs) -> None:
        """Write the model for inference elsewhere, as Keras: `format="onnx"` (see
        glassnet.export; `pip install "glassnet[onnx]"`)."""
        from glassnet.export import export_model

        export_model(self, filepath, format=format, verbose=verbose,
                     input_signature=input_signature, **kwargs)


def model_from_json(json_string: str, custom_objects=None) -> Model:
    """The model (new weights) that `model.to_json()` describes, as Keras'."""
    try:
        spec = json.loads(json_string)
    except (TypeError, ValueError) as error:
        raise ValueError(f"model_from_json: expected the JSON text model.to_json() writes, "
                         f"got {str(json_string)[:80]!r} ({error})") from error
    model = deserialize("layer", spec, custom_objects)
    if not isinstance(model, Model):
        raise ValueError(f"model_from_json: the JSON describes a {type(model).__name__}, "
                         f"not a model")
    return model


def save_model(model, filepath, overwrite: bool = True, **kwargs) -> None:
    """`model.save(filepath, overwrite)`, as Keras' function (`zipped=True` only)."""
    if kwargs.pop("zipped", True) is not True or kwargs:
        raise ValueError(f"save_model: only zipped files are written; unexpected arguments "
                         f"{sorted(kwargs) or ['zipped']}")
    model.save(filepath, overwrite=overwrite)


def _file_format(filepath, test: str = "is_keras_weights_file"):
    """The saving module for the path's extension: Keras' (keras_file) or glassnet's."""
    from glassnet.saving import keras_file, model_file  # the modules: a smaller cycle

    return keras_file if getattr(keras_file, test)(filepath) else model_file


def _map_entries(structure, convert):
    """`convert` applied to every entry of a compile argument: a list or a dict (by output
    name) of entries, or lists of them; an entry is a name or a config dict."""
    if structure is None:
        return None
    if isinstance(structure, dict) and not ("class_name" in structure
                                            and "config" in structure):
        return {key: _map_entries(value, convert) for key, value in structure.items()}
    if isinstance(structure, list):
        return [_map_entries(value, convert) for value in structure]
    return convert(structure)


def _takes_mask(method) -> bool:
    """Whether a metric's update_state has a `mask` parameter (the built-in mean metrics;
    a user's Metric subclass may not)."""
    return "mask" in inspect.signature(method).parameters

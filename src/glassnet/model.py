"""Models: a stack of layers with the Keras training API (compile, fit, evaluate, predict).

One training step is the whole algorithm of the seed posts, for any depth:

    y_pred = forward(x)                      # layer by layer
    loss   = L(y, y_pred) + Σ penalties      # regularizers on kernels
    dy     = dL/dy_pred                      # or, fused, dL/dlogits = (p - y) / N
    backward(dy)                             # layer by layer, in reverse; fills each W.grad
    optimizer.apply(parameters)              # W -= lr · update(W.grad)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet import callbacks as callbacks_module
from glassnet import data_adapter as data
from glassnet import losses as losses_module
from glassnet import metrics as metrics_module
from glassnet import optimizers as optimizers_module
from glassnet.layers.base import Layer, Parameter
from glassnet.layers.core import InputLayer, SymbolicTensor
from glassnet.random import global_generator
from glassnet.registry import deserialize, register, serialize


class Model(Layer):
    """Base class of models: the training loop, over `forward`/`backward` of a subclass."""

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
        params = self.parameters(trainable_only=True)
        for param in params:
            param.zero_grad()
        y_pred = self.forward(x, training=training)
        fused = self._fused_activation()
        if fused is not None:
            value, dz = self.loss.fused_value_and_gradient(y, fused.logits, y_pred,
                                                           sample_weight)
            self.backward(dz, from_preactivation=True)
        else:
            value = self.loss(y, y_pred, sample_weight=sample_weight)
            self.backward(self.loss.gradient(y, y_pred, sample_weight=sample_weight))
        return float(value) + self._regularize(params), y_pred

    def _train_step(self, x, y, sample_weight) -> None:
        loss, y_pred = self.compute_gradients(x, y, sample_weight, training=True)
        self.optimizer.apply(self.parameters(trainable_only=True))
        self._update_metrics(loss, x, y, y_pred, sample_weight)

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
        y = data.as_array(y, name)
        data.check_targets(y, self.loss, self.output_shape)
        if "Sparse" in type(self.loss).__name__:
            return y.astype(np.intp)
        return y.astype(self.dtype, copy=False)

    def _prepare(self, x, y, sample_weight=None, class_weight=None, names=("x", "y")):
        x = self._prepare_x(x, names[0])
        y = self._prepare_y(y, names[1])
        data.check_same_length(**{names[0]: x, names[1]: y, "sample_weight": sample_weight})
        weights = data.check_sample_weight(sample_weight, len(x), self.dtype)
        if class_weight is not None:
            per_class = data.class_weight_to_sample_weight(class_weight, y, self.dtype)
            weights = per_class if weights is None else weights * per_class
        return x, y, weights

    # ----- fit / evaluate / predict -------------------------------------------------------
    def fit(self, x=None, y=None, batch_size: int | None = 32, epochs: int = 1,
            verbose="auto", callbacks=None, validation_split: float = 0.0,
            validation_data=None, shuffle: bool = True, class_weight=None,
            sample_weight=None, initial_epoch: int = 0, validation_batch_size=None,
            validation_freq: int = 1):
        """Train for `epochs` passes over (x, y); return a History of per-epoch logs.

        Args (Keras names and defaults, except): `batch_size=None` trains on the whole data
        set in one batch per epoch (full-batch gradient descent, as in the seed posts), where
        Keras would use 32; the default is Keras' 32.
        """
        self._require_compiled("fit")
        batch_size = data.check_int(batch_size, "batch_size", 1, allow_none=True)
        epochs = data.check_int(epochs, "epochs", 0)
        initial_epoch = data.check_int(initial_epoch, "initial_epoch", 0)
        validation_freq = data.check_int(validation_freq, "validation_freq", 1)
        verbose = _verbosity(verbose)
        x, y, weights = self._prepare(x, y, sample_weight, class_weight)
        val = None
        if validation_data is not None:
            val = self._prepare(*_unpack_validation(validation_data),
                                names=("validation_data x", "validation_data y"))
        elif validation_split:
            (x, y, weights), val = data.split_validation([x, y, weights], validation_split)
        n = len(x)
        steps = data.num_batches(n, batch_size)
        cbs = callbacks_module.CallbackList(callbacks, add_history=True,
                                            add_progbar=verbose != 0, model=self,
                                            verbose=verbose, epochs=epochs, steps=steps)
        self.stop_training = False
        cbs.on_train_begin()
        epoch_logs: dict[str, float] = {}
        for epoch in range(initial_epoch, epochs):
            self._reset_metrics()
            cbs.on_epoch_begin(epoch)
            # One gather per epoch, then every batch is a contiguous view of it.
            order = global_generator().permutation(n) if shuffle and n > 1 else None
            xe, ye, we = (x, y, weights) if order is None else (
                x[order], y[order], None if weights is None else weights[order])
            for step, part in enumerate(data.batch_slices(n, batch_size)):
                cbs.on_train_batch_begin(step)
                self._train_step(xe[part], ye[part], None if we is None else we[part])
                cbs.on_train_batch_end(step, self._logs())
                if self.stop_training:
                    break
            epoch_logs = self._logs()
            if val is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._evaluate_arrays(*val, validation_batch_size or batch_size)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        cbs.on_train_end(epoch_logs)
        return self.history

    def _evaluate_arrays(self, x, y, weights, batch_size, cbs=None) -> dict[str, float]:
        self._reset_metrics()
        for step, part in enumerate(data.batch_slices(len(x), batch_size)):
            if cbs is not None:
                cbs.on_test_batch_begin(step)
            self._test_step(x[part], y[part], None if weights is None else weights[part])
            if cbs is not None:
                cbs.on_test_batch_end(step, self._logs())
        return self._logs()

    def evaluate(self, x=None, y=None, batch_size: int | None = 32, verbose="auto",
                 sample_weight=None, callbacks=None, return_dict: bool = False):
        """Loss and metrics on (x, y): a float, a list [loss, *metrics], or a dict."""
        self._require_compiled("evaluate")
        batch_size = data.check_int(batch_size, "batch_size", 1, allow_none=True)
        verbose = _verbosity(verbose)
        x, y, weights = self._prepare(x, y, sample_weight)
        cbs = callbacks_module.CallbackList(callbacks, add_history=False,
                                            add_progbar=verbose != 0, model=self,
                                            verbose=verbose, epochs=1,
                                            steps=data.num_batches(len(x), batch_size))
        cbs.on_test_begin()
        logs = self._evaluate_arrays(x, y, weights, batch_size, cbs)
        cbs.on_test_end(logs)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size: int | None = 32, verbose="auto", callbacks=None):
        """Outputs for x, computed batch by batch in inference mode (dropout off)."""
        batch_size = data.check_int(batch_size, "batch_size", 1, allow_none=True)
        verbose = _verbosity(verbose)
        x = self._prepare_x(x)
        cbs = callbacks_module.CallbackList(callbacks, add_history=False,
                                            add_progbar=verbose != 0, model=self,
                                            verbose=verbose, epochs=1,
                                            steps=data.num_batches(len(x), batch_size))
        cbs.on_predict_begin()
        outputs = None
        for step, part in enumerate(data.batch_slices(len(x), batch_size)):
            cbs.on_predict_batch_begin(step)
            y_batch = self.forward(x[part], training=False)
            if outputs is None:  # allocate once, when the output shape is known
                outputs = np.empty((len(x),) + y_batch.shape[1:], dtype=y_batch.dtype)
            outputs[part] = y_batch
            cbs.on_predict_batch_end(step, {"outputs": y_batch})
        cbs.on_predict_end()
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
        rows = [(f"{layer.name} ({type(layer).__name__})",
                 str(layer.output_shape) if layer.built else "?",
                 f"{layer.count_params():,}") for layer in self.layers
                if not isinstance(layer, InputLayer)]
        widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
                  for i, h in enumerate(("Layer (type)", "Output Shape", "Param #"))]
        line = "  ".join("-" * w for w in widths)
        trainable = sum(p.value.size for p in self.parameters(trainable_only=True))
        total = self.count_params()
        print_fn(f'Model: "{self.name}"')
        print_fn(line)
        print_fn("  ".join(h.ljust(w) for h, w in
                           zip(("Layer (type)", "Output Shape", "Param #"), widths)))
        print_fn(line.replace("-", "="))
        for row in rows:
            print_fn("  ".join(c.ljust(w) for c, w in zip(row, widths)))
        print_fn(line)
        print_fn(f"Total params: {total:,}")
        print_fn(f"Trainable params: {trainable:,}")
        print_fn(f"Non-trainable params: {total - trainable:,}")

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
        """One `.glassnet` file: architecture, weights, optimizer state and compile settings."""
        from glassnet import saving

        saving.save_model(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath, overwrite: bool = True) -> None:
        from glassnet import saving

        saving.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath) -> None:
        from glassnet import saving

        saving.load_weights(self, filepath)


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


def _result(logs: dict[str, float], return_dict: bool):
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


@register("layer")
class Sequential(Model):
    """A plain stack: each layer's output is the next layer's input.

    Example:
        >>> model = Sequential([Input(shape=(256,)), Dense(30, activation="sigmoid"),
        ...                     Dense(10, activation="softmax")])
    """

    def __init__(self, layers=None, name: str | None = None, dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        self._layers: list[Layer] = []
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self) -> list[Layer]:
        return [layer for layer in self._layers if not isinstance(layer, InputLayer)]

    def add(self, layer) -> None:
        """Append a layer (or an `Input(...)` placeholder, which fixes the input shape)."""
        if isinstance(layer, SymbolicTensor):
            if self._layers:
                raise ValueError("Sequential: an Input can only be the first element")
            layer = layer.layer
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a Layer, got {type(layer).__name__}")
        if isinstance(layer, InputLayer) and self._layers:
            raise ValueError("Sequential: an InputLayer can only be the first layer")
        if self._dtype is not None and layer._dtype is None and not layer.built:
            layer._dtype = self._dtype
        self._layers.append(layer)
        self.built = False
        first = self._layers[0]
        if isinstance(first, InputLayer):
            self.maybe_build(first.batch_shape)
        elif first._input_shape_arg is not None:
            self.maybe_build((None,) + first._input_shape_arg)

    def pop(self) -> Layer:
        if not self.layers:
            raise ValueError("Sequential.pop: the model has no layers")
        layer = self._layers.pop()
        self.built = False
        if self._layers and self.input_shape is not None:
            self.maybe_build(self.input_shape)
        return layer

    def build(self, input_shape) -> None:
        if not self.layers:
            raise ValueError(f"Sequential {self.name!r} has no layers to build")
        shape = tuple(input_shape)
        for layer in self.layers:
            try:
                layer.maybe_build(shape)
            except ValueError as error:
                raise ValueError(f"building layer {layer.name!r} for input shape {shape}: "
                                 f"{error}") from error
            shape = layer.output_shape

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.layers:
            shape = layer.compute_output_shape(shape)
        return shape

    def maybe_build(self, input_shape) -> None:
        if not self.built and self.layers:
            super().maybe_build(input_shape)

    def forward(self, x, training: bool = False):
        """Each layer's output is the next one's input. A padding mask (Embedding with
        mask_zero=True) travels along to the layers that support masking, as in Keras."""
        mask = None
        for layer in self.layers:
            if mask is not None and getattr(layer, "supports_masking", False):
                y = layer.forward(x, training=training, mask=mask)
            else:
                y = layer.forward(x, training=training)
            compute_mask = getattr(layer, "compute_mask", None)
            mask = compute_mask(x, mask) if compute_mask is not None else None
            x = y
        return x

    def backward(self, dy, from_preactivation: bool = False):
        """Backpropagate dL/dy through the layers in reverse; return dL/dx.

        With `from_preactivation`, dy is dL/dlogits of the last layer (fused output path).
        A layer whose input is not differentiable (Embedding's integer ids) returns None,
        which ends the pass.
        """
        layers = self.layers
        if from_preactivation:
            dy = layers[-1].backward_preactivation(dy)
            layers = layers[:-1]
        for layer in reversed(layers):
            if dy is None:
                break
            dy = layer.backward(dy)
        return dy

    def get_config(self) -> dict[str, Any]:
        config_ = {"name": self.name, "trainable": self.trainable,
                   "layers": [serialize(layer) for layer in self.layers]}
        if self._dtype is not None:
            config_["dtype"] = self._dtype
        if self.input_shape is not None:
            config_["build_input_shape"] = list(self.input_shape)
        return config_

    @classmethod
    def from_config(cls, config_: dict[str, Any], custom_objects=None) -> Sequential:
        layer_specs = config_.get("layers")
        if not isinstance(layer_specs, list):
            raise ValueError("Sequential config: 'layers' must be a list")
        model = cls(name=config_.get("name"), dtype=config_.get("dtype"),
                    trainable=config_.get("trainable", True))
        for spec in layer_specs:
            model.add(deserialize("layer", spec, custom_objects))
        shape = config_.get("build_input_shape")
        if shape is not None:
            model.maybe_build(tuple(shape))
        return model

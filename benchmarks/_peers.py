"""The contestants: one class per framework, each training the same network on the same batches.

Every trainer has the same three methods, so the harness treats them alike:

    data = Trainer.prepare(x, y)     # untimed: arrays -> what the framework iterates over
    trainer.epoch(data)              # timed: one pass over the batches, in the given order
    trainer.predict(data)            # timed: outputs for every row, batch by batch

The networks (issue 4):
    mlp:  784-256-128-10, ReLU, softmax cross-entropy
    cnn:  Conv2D(8, 3) ReLU - MaxPool 2 - Conv2D(16, 3) ReLU - MaxPool 2 - Flatten - Dense(10)
    lstm: LSTM(128) over 28 steps of 28 features, then Dense(10) on the last output

Inputs: mlp (N, 784); cnn (N, 28, 28, 1) channels_last (torch gets the NCHW view, which for one
channel is the same buffer); lstm (N, 28, 28) = (batch, steps, features). Labels are int64.
"""

from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path

import numpy as np

CLASSES = 10
MLP_UNITS = (784, 256, 128, 10)
LEARNING_RATES = {"sgd": 0.01, "adam": 0.001}
PREDICT_BATCH = 1000  # predict batch size, the same on every side


def random_data(network: str, samples: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """run.py's data: standard-normal float32 inputs and uniform int64 labels, from one seed
    per network (cores.py draws the same)."""
    rng = np.random.default_rng([seed, ("mlp", "cnn", "lstm").index(network)])
    x = rng.standard_normal((samples, *input_shape(network)), dtype=np.float32)
    return x, rng.integers(0, CLASSES, size=samples, dtype=np.int64)


def mpiexec() -> str:
    """The launcher of the data-parallel sides (distributed.py, cores.py): the MPICH wheel's
    mpiexec beside this Python, else the one on PATH; without either, exit saying how to
    install it."""
    local = Path(sys.executable).parent / "mpiexec"
    found = str(local) if local.exists() else shutil.which("mpiexec")
    if found is None:
        sys.exit('mpiexec not found: pip install "glassnet[mpi]" (mpi4py and mpich)')
    return found


class Unavailable(Exception):
    """A framework or layer this case needs is missing; the case is reported, not run."""


def input_shape(network: str) -> tuple[int, ...]:
    """Shape of one sample (no batch axis)."""
    return {"mlp": (784,), "cnn": (28, 28, 1), "lstm": (28, 28)}[network]


def batch_slices(n: int, batch: int):
    """The contiguous batches every side iterates, as glassnet's fit does with shuffle=False."""
    return [slice(start, min(start + batch, n)) for start in range(0, n, batch)]


# ----- glassnet ------------------------------------------------------------------------------
def _glassnet_layer(name: str):
    """A layer class from glassnet.layers, or from the module it is written in (not exported
    yet); Unavailable names what is missing."""
    try:
        layers = importlib.import_module("glassnet.layers")
    except Exception as error:  # noqa: BLE001 (any import failure makes the case unavailable)
        raise Unavailable(f"import glassnet.layers failed: {error}") from error
    if hasattr(layers, name):
        return getattr(layers, name)
    for module in ("convolutional", "pooling", "recurrent"):
        try:
            found = getattr(importlib.import_module(f"glassnet.layers.{module}"), name, None)
        except ImportError:
            continue
        if found is not None:
            return found
    raise Unavailable(f"glassnet has no layer {name} yet")


def glassnet_network(network: str):
    """The glassnet Sequential for `network` (not compiled)."""
    try:
        import glassnet as gn
    except Exception as error:  # noqa: BLE001
        raise Unavailable(f"import glassnet failed: {error}") from error
    layer = _glassnet_layer
    stack = [gn.layers.Input(shape=input_shape(network))]
    if network == "mlp":
        stack += [layer("Dense")(units, activation="relu") for units in MLP_UNITS[1:-1]]
    elif network == "cnn":
        stack += [layer("Conv2D")(8, 3, activation="relu"), layer("MaxPooling2D")(2),
                  layer("Conv2D")(16, 3, activation="relu"), layer("MaxPooling2D")(2),
                  layer("Flatten")()]
    else:
        stack += [layer("LSTM")(128)]
    stack.append(layer("Dense")(CLASSES, activation="softmax"))
    return gn.Sequential(stack)


class GlassnetTrainer:
    """glassnet through its public API: `fit(..., shuffle=False)` on pre-permuted arrays."""

    def __init__(self, network: str, optimizer: str, batch: int, seed: int = 0):
        import glassnet as gn

        gn.random.set_random_seed(seed)
        self.model = glassnet_network(network)
        opt_class = gn.optimizers.SGD if optimizer == "sgd" else gn.optimizers.Adam
        self.model.compile(optimizer=opt_class(learning_rate=LEARNING_RATES[optimizer]),
                           loss="sparse_categorical_crossentropy")
        self.batch = batch

    @staticmethod
    def prepare(x: np.ndarray, y: np.ndarray):
        return x, y

    def epoch(self, data) -> None:
        x, y = data
        self.model.fit(x, y, epochs=1, batch_size=self.batch, shuffle=False, verbose=0)

    def predict(self, data) -> np.ndarray:
        return self.model.predict(data[0], batch_size=PREDICT_BATCH, verbose=0)

    def weights(self) -> list[np.ndarray]:
        return self.model.get_weights()


def glassnet_call_mlp():
    """The same MLP as a call()-style Model: its forward written with glassnet.ops, its
    backward from the tape (issue 16's case against the built-in layers' explicit backward)."""
    import glassnet as gn
    from glassnet import ops

    class CallMLP(gn.Model):
        def build(self, input_shape):
            self.kernels = [self.add_weight(shape=(n_in, n_out), name=f"kernel_{i}")
                            for i, (n_in, n_out) in enumerate(zip(MLP_UNITS, MLP_UNITS[1:]))]
            self.biases = [self.add_weight(shape=(n,), initializer="zeros", name=f"bias_{i}")
                           for i, n in enumerate(MLP_UNITS[1:])]

        def call(self, x):
            for W, b in zip(self.kernels[:-1], self.biases[:-1]):
                x = ops.relu(ops.matmul(x, W) + b)
            return ops.softmax(ops.matmul(x, self.kernels[-1]) + self.biases[-1])

    return CallMLP()


class GlassnetCallTrainer(GlassnetTrainer):
    """The call()-style MLP through the same public API (`fit`); loads the built-in
    network's weights (kernels then biases, against Dense's kernel, bias pairs)."""

    def __init__(self, network: str, optimizer: str, batch: int, seed: int = 0):
        import glassnet as gn

        if network != "mlp":
            raise Unavailable("the call()-style case is written for the MLP")
        gn.random.set_random_seed(seed)
        self.model = glassnet_call_mlp()
        self.model.build((None, MLP_UNITS[0]))
        opt_class = gn.optimizers.SGD if optimizer == "sgd" else gn.optimizers.Adam
        self.model.compile(optimizer=opt_class(learning_rate=LEARNING_RATES[optimizer]),
                           loss="sparse_categorical_crossentropy")
        self.batch = batch

    def load(self, weights: list[np.ndarray]) -> bool:
        self.model.set_weights(list(weights[0::2]) + list(weights[1::2]))
        return True


# ----- end to end: fit with its defaults, and the loop a PyTorch user writes for it -----------
VALIDATION_SPLIT = 0.1


def validation_cut(n: int) -> int:
    """Where Keras' validation_split cuts: the last 10% validate, taken before shuffling."""
    return int(np.floor(n * (1.0 - VALIDATION_SPLIT)))


class GlassnetFitTrainer(GlassnetTrainer):
    """`fit` as a user calls it: shuffle=True, validation_split=0.1, metrics=["accuracy"]
    (one epoch a call); the per-epoch shuffling and validation are timed with the rest."""

    def __init__(self, network: str, optimizer: str, batch: int, seed: int = 0):
        super().__init__(network, optimizer, batch, seed)
        self.model.compile(optimizer=self.model.optimizer,
                           loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    def epoch(self, data) -> None:
        x, y = data
        self.model.fit(x, y, epochs=1, batch_size=self.batch, validation_split=VALIDATION_SPLIT,
                       verbose=0)


class TorchFitTrainer:
    """The same epoch in the loop a PyTorch user writes: the last 10% held out, a fresh random
    permutation of the rest each epoch, each batch gathered from it, loss and accuracy summed
    as it goes, then a validation pass (loss and accuracy) without gradients."""

    def __init__(self, network: str, optimizer: str, batch: int, seed: int = 0):
        self.inner = TorchTrainer(network, optimizer, batch, seed=seed)
        self.torch, self.model, self.batch = self.inner.torch, self.inner.model, batch
        self.prepare, self.predict, self.load = (self.inner.prepare, self.inner.predict,
                                                 self.inner.load)

    def epoch(self, data) -> dict[str, float]:
        torch, model, (x, y) = self.torch, self.model, data
        cut = validation_cut(len(x))
        x_train, y_train, x_val, y_val = x[:cut], y[:cut], x[cut:], y[cut:]
        model.train()
        order = torch.randperm(cut)
        total_loss, correct = 0.0, 0
        for start in range(0, cut, self.batch):
            index = order[start:start + self.batch]
            xb, yb = x_train[index], y_train[index]             # the per-batch gather
            self.inner.optimizer.zero_grad(set_to_none=True)
            logits = model(xb)
            loss = self.inner.loss(logits, yb)
            loss.backward()
            self.inner.optimizer.step()
            total_loss += loss.item() * len(yb)
            correct += (logits.argmax(dim=1) == yb).sum().item()
        model.eval()
        val_loss, val_correct = 0.0, 0
        with torch.no_grad():
            for start in range(0, len(x_val), self.batch):
                xb, yb = x_val[start:start + self.batch], y_val[start:start + self.batch]
                logits = model(xb)
                val_loss += self.inner.loss(logits, yb).item() * len(yb)
                val_correct += (logits.argmax(dim=1) == yb).sum().item()
        return {"loss": total_loss / cut, "accuracy": correct / cut,
                "val_loss": val_loss / len(x_val), "val_accuracy": val_correct / len(x_val)}


# ----- PyTorch -------------------------------------------------------------------------------
def _torch():
    try:
        import torch
    except ImportError as error:
        raise Unavailable("torch is not installed (pip install torch==2.13.0)") from error
    return torch


def torch_network(network: str):
    """The same network in torch.nn: logits out (CrossEntropyLoss applies the softmax)."""
    nn = _torch().nn
    if network == "mlp":
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                             nn.Linear(128, CLASSES))
    if network == "cnn":
        return nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(16 * 5 * 5, CLASSES))
    return _torch_lstm_class()()


def _torch_lstm_class():
    nn = _torch().nn

    class TorchLSTM(nn.Module):
        """nn.LSTM(28 -> 128) and a Linear on the last step's output."""

        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(28, 128, batch_first=True)
            self.head = nn.Linear(128, CLASSES)

        def forward(self, x):
            out, _ = self.lstm(x)                      # (N, T, 128)
            return self.head(out[:, -1])               # (N, 10)

    return TorchLSTM


def copy_glassnet_weights(network: str, weights: list[np.ndarray], module) -> bool:
    """Load glassnet's initial weights into the torch module; False if the layout is unknown.

    Dense W (n_in, n_out) -> Linear.weight (n_out, n_in). Conv W (kh, kw, C, F) ->
    Conv2d.weight (F, C, kh, kw). The CNN's Dense reads the flattened (h, w, c) features,
    torch's Linear the (c, h, w) ones, so its rows are permuted. LSTM: Keras gate order
    (i, f, c, o) equals torch's (i, f, g, o); kernel (in, 4H) -> weight_ih (4H, in), the one
    bias goes to bias_ih and bias_hh = 0.
    """
    torch = _torch()
    targets = [p for p in module.parameters()]
    if network == "cnn" and len(weights) == 6:
        k1, b1, k2, b2, w, b = weights
        w = w.reshape(5, 5, 16, CLASSES).transpose(2, 0, 1, 3).reshape(-1, CLASSES)
        sources = [k1.transpose(3, 2, 0, 1), b1, k2.transpose(3, 2, 0, 1), b2, w.T, b]
    elif network == "lstm" and len(weights) == 5:
        kernel, recurrent, bias, w, b = weights
        sources = [kernel.T, recurrent.T, bias, np.zeros_like(bias), w.T, b]
    elif network == "mlp":
        sources = [w.T if w.ndim == 2 else w for w in weights]
    else:
        return False
    if [tuple(s.shape) for s in sources] != [tuple(t.shape) for t in targets]:
        return False
    with torch.no_grad():
        for target, source in zip(targets, sources):
            target.copy_(torch.from_numpy(np.ascontiguousarray(source)))
    return True


class TorchTrainer:
    """PyTorch CPU eager, the loop its tutorials teach: no DataLoader, tensors made once."""

    def __init__(self, network: str, optimizer: str, batch: int, channels_last: bool = False,
                 seed: int = 0):
        torch = _torch()
        torch.manual_seed(seed)
        self.torch = torch
        self.network = network
        self.channels_last = channels_last
        self.model = torch_network(network)
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        opt_class = torch.optim.SGD if optimizer == "sgd" else torch.optim.Adam
        self.optimizer = opt_class(self.model.parameters(), lr=LEARNING_RATES[optimizer])
        self.loss = torch.nn.CrossEntropyLoss()
        self.batch = batch

    def prepare(self, x: np.ndarray, y: np.ndarray):
        """Tensors sharing the arrays' memory; images as NCHW (a view: one channel)."""
        xt = self.torch.from_numpy(x)
        if self.network == "cnn":
            xt = xt.permute(0, 3, 1, 2)                    # (N, 28, 28, 1) -> (N, 1, 28, 28)
            memory_format = (self.torch.channels_last if self.channels_last
                             else self.torch.contiguous_format)
            xt = xt.contiguous(memory_format=memory_format)
        return xt, self.torch.from_numpy(y)

    def epoch(self, data) -> None:
        x, y = data
        self.model.train()
        for part in batch_slices(len(x), self.batch):
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.loss(self.model(x[part]), y[part])
            loss.backward()
            self.optimizer.step()

    def predict(self, data) -> np.ndarray:
        x = data[0]
        self.model.eval()
        out = self.torch.empty((len(x), CLASSES))
        with self.torch.inference_mode():
            for part in batch_slices(len(x), PREDICT_BATCH):
                out[part] = self.torch.softmax(self.model(x[part]), dim=1)  # probabilities, as
        return out.numpy()                                                  # glassnet returns

    def load(self, weights: list[np.ndarray]) -> bool:
        return copy_glassnet_weights(self.network, weights, self.model)


# ----- scikit-learn --------------------------------------------------------------------------
class SklearnTrainer:
    """MLPClassifier, one epoch per `partial_fit` (float32 input, no shuffling, no L2)."""

    def __init__(self, network: str, optimizer: str, batch: int, seed: int = 0):
        if network != "mlp":
            raise Unavailable("scikit-learn has only the MLP")
        try:
            from sklearn.neural_network import MLPClassifier
        except ImportError as error:
            raise Unavailable("scikit-learn is not installed") from error
        self.model = MLPClassifier(hidden_layer_sizes=MLP_UNITS[1:-1], activation="relu",
                                   solver=optimizer, alpha=0.0, batch_size=batch,
                                   learning_rate="constant",
                                   learning_rate_init=LEARNING_RATES[optimizer],
                                   momentum=0.0, shuffle=False, random_state=seed)

    @staticmethod
    def prepare(x: np.ndarray, y: np.ndarray):
        return x, y

    def epoch(self, data) -> None:
        self.model.partial_fit(*data, classes=np.arange(CLASSES))

    def load(self, weights: list[np.ndarray], data) -> bool:
        """Initialise on one batch (sklearn builds its weights lazily), then copy in place."""
        x, y = data
        self.model.partial_fit(x[:self.model.batch_size], y[:self.model.batch_size],
                               classes=np.arange(CLASSES))
        targets = [t for pair in zip(self.model.coefs_, self.model.intercepts_) for t in pair]
        if [t.shape for t in targets] != [w.shape for w in weights]:
            return False
        for target, source in zip(targets, weights):
            target[...] = source                           # in place: the optimizer holds them
        return True


# ----- the floor: the matrix products alone ------------------------------------------------
class MatmulFloor:
    """The GEMMs of one MLP epoch and nothing else, into preallocated buffers.

    Per batch of B rows: forward x@W1, h1@W2, h2@W3; backward dW3 = h2ᵀ@d3, d2 = d3@W3ᵀ,
    dW2 = h1ᵀ@d2, d1 = d2@W2ᵀ, dW1 = xᵀ@d1 (no dx for the input). No bias, activation,
    loss or update: a lower bound for any framework doing this epoch with the same BLAS.
    """

    def __init__(self, network: str, optimizer: str, batch: int, seed: int = 0):
        if network != "mlp":
            raise Unavailable("the matmul floor is defined for the MLP only")
        rng = np.random.default_rng(seed)
        f32 = np.float32
        self.W = [rng.standard_normal((a, b), dtype=f32) * f32(0.05)
                  for a, b in zip(MLP_UNITS[:-1], MLP_UNITS[1:])]
        self.dW = [np.empty_like(w) for w in self.W]
        self.h = [np.empty((batch, units), f32) for units in MLP_UNITS[1:]]   # h1, h2, logits
        self.d = [np.empty((batch, units), f32) for units in MLP_UNITS[1:]]   # d1, d2, d3
        self.d[2][...] = rng.standard_normal(self.d[2].shape, dtype=f32)      # a fixed dL/dz3
        self.batch = batch

    @staticmethod
    def prepare(x: np.ndarray, y: np.ndarray):
        return x, y

    def epoch(self, data) -> None:
        x = data[0]
        (W1, W2, W3), (dW1, dW2, dW3) = self.W, self.dW
        for part in batch_slices(len(x), self.batch):
            xb = x[part]
            b = len(xb)
            h1, h2, h3 = (h[:b] for h in self.h)
            d1, d2, d3 = (d[:b] for d in self.d)
            np.matmul(xb, W1, out=h1)
            np.matmul(h1, W2, out=h2)
            np.matmul(h2, W3, out=h3)
            np.matmul(h2.T, d3, out=dW3)
            np.matmul(d3, W3.T, out=d2)
            np.matmul(h1.T, d2, out=dW2)
            np.matmul(d2, W2.T, out=d1)
            np.matmul(xb.T, d1, out=dW1)


def make_trainer(framework: str, network: str, optimizer: str, batch: int, seed: int = 0,
                 task: str = "train"):
    """The trainer of `framework` ('glassnet', 'torch', 'torch-cl', 'sklearn', 'floor');
    task 'fit' gives the end-to-end trainers (glassnet's fit defaults, torch's user loop)."""
    if task == "fit":
        if framework not in ("glassnet", "torch"):
            raise ValueError(f"framework: the fit case has glassnet and torch, got {framework!r}")
        return (GlassnetFitTrainer if framework == "glassnet" else TorchFitTrainer)(
            network, optimizer, batch, seed)
    if framework == "glassnet":
        return GlassnetTrainer(network, optimizer, batch, seed)
    if framework == "glassnet-call":
        return GlassnetCallTrainer(network, optimizer, batch, seed)
    if framework in ("torch", "torch-cl"):
        return TorchTrainer(network, optimizer, batch, channels_last=framework == "torch-cl",
                            seed=seed)
    if framework == "sklearn":
        return SklearnTrainer(network, optimizer, batch, seed)
    if framework == "floor":
        return MatmulFloor(network, optimizer, batch, seed)
    raise ValueError(f"framework: expected one of glassnet, glassnet-call, torch, torch-cl, "
                     f"sklearn, floor, "
                     f"got {framework!r}")

"""Gradient buckets: the step's all-reduce in a few pieces, each started as backward
finishes the layers whose gradients it holds (as PyTorch DDP's buckets).

The flat buffer (`distribution.FlatBuffer`) holds [scalars | moving statistics | W.grad of
the model's weights in forward order]. Backward runs the layers last to first, so buckets
are cut from the end of the array, walking the weights in reverse order until a bucket
holds `cap_bytes`:

    array:    [ scalars | moving | W1 b1 | W2 b2 | W3 b3 ]
    buckets:  [ ------- last --------- ]  [ -- 1 --- ] [ 0 ]     started 0, 1, then last

A layer's backward hook counts its calls; when every layer owning a bucket's weights has
run backward as often as forward, the bucket's gradients are final and its non-blocking
all-reduce (MPI_Iallreduce) starts, while backward goes on with the earlier layers. The
last bucket also holds the numbers known only after backward (loss, counts, metrics,
moving statistics); it is reduced after them, and then the step waits for every bucket
before the update. Buckets start in index order on every rank (the same model runs the
same backward everywhere), as MPI requires of collectives.

Each number is still the sum of the same per-rank numbers, so the result equals the
single all-reduce's bit for bit. Used only where it is safe: every trainable weight owned
by exactly one layer without sublayers (whose backward hook tells when it is done), no
layer that communicates inside backward (BatchNormalization(synchronized=True)).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator


class GradientBuckets:
    """The buckets of one flat buffer, and which layers each one waits for.

    Args:
        buffer: the step's `FlatBuffer`; its views are [moving ..., params ...].
        params: the trainable weights, in the order of the buffer's last views.
        owners: for each weight, the layer whose backward finishes its gradient.
        cap_bytes: a bucket is closed once it holds at least this many bytes.

    Attributes:
        slices: (start, stop) of each bucket in `buffer.array`, in starting order; the last
            one starts at 0 (scalars and moving statistics included).
        members: for each bucket, the indices (into `params`) of its weights.
    """

    def __init__(self, buffer, params, owners, cap_bytes: int):
        self.buffer, self.params = buffer, list(params)
        first = len(buffer.views) - len(self.params)
        offsets = buffer.offsets[first:]
        itemsize = buffer.dtype.itemsize
        self.slices, self.members = [], []
        stop, members, size = len(buffer.array), [], 0
        for index in reversed(range(len(self.params))):
            members.append(index)
            size += (offsets[index][1] - offsets[index][0]) * itemsize
            if size >= cap_bytes and index > 0:
                start = offsets[index][0]
                self.slices.append((start, stop))
                self.members.append(members)
                stop, members, size = start, [], 0
        self.slices.append((0, stop))
        self.members.append(members)
        self.layers = _unique(owners)
        layer_index = {id(layer): i for i, layer in enumerate(self.layers)}
        self.bucket_layers = [sorted({layer_index[id(owners[i])] for i in bucket})
                              for bucket in self.members]
        self.buckets_of_layer = [[b for b, layers in enumerate(self.bucket_layers) if i in layers]
                                 for i in range(len(self.layers))]
        self._calls: list[list[int]] = []          # per layer: [forward, backward] calls
        self._collect: Callable[[int], None] | None = None
        self._comm = None
        self._pending: list[int] = []
        self._next = 0
        self.requests: list = []

    @property
    def count(self) -> int:
        return len(self.slices)

    # ----- one step ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """Count each layer's forward and backward calls inside (hooks removed after)."""
        self._calls = [[0, 0] for _ in self.layers]
        self._collect, self._next, self.requests = None, 0, []
        removers = [layer.add_hook(self._hook(i)) for i, layer in enumerate(self.layers)]
        try:
            yield
        finally:
            for remove in removers:
                remove()

    def arm(self, comm, collect: Callable[[int], None]) -> None:
        """From now on (after forward), start each bucket but the last once it is ready.
        `collect(b)` puts bucket b's gradients into its slice (and scales them)."""
        self._comm, self._collect = comm, collect
        self._pending = [len(layers) for layers in self.bucket_layers]
        for i, (forward, backward) in enumerate(self._calls):
            if forward and forward == backward:       # done before arming (none usually)
                self._layer_done(i)

    def finish(self) -> None:
        """After backward, with the last bucket's numbers in place: start what has not
        started, reduce the last bucket, and wait for every bucket."""
        comm, last = self._comm, self.count - 1
        while self._next < last:
            self._start(self._next)
        self._collect(last)
        start, stop = self.slices[last]
        comm.allreduce_sum(self.buffer.array[start:stop])
        comm.wait_all(self.requests)
        self._collect = None

    def _hook(self, index: int):
        calls = self._calls[index]

        def hook(layer, phase, call):
            result = call()
            if phase == "forward":
                calls[0] += 1
            else:
                calls[1] += 1
                if self._collect is not None and calls[1] == calls[0]:
                    self._layer_done(index)
            return result

        return hook

    def _layer_done(self, index: int) -> None:
        for bucket in self.buckets_of_layer[index]:
            self._pending[bucket] -= 1
        last = self.count - 1
        while self._next < last and self._pending[self._next] <= 0:
            self._start(self._next)
        if self.requests:
            self._comm.progress(self.requests)

    def _start(self, bucket: int) -> None:
        self._collect(bucket)
        start, stop = self.slices[bucket]
        request = self._comm.start_allreduce_sum(self.buffer.array[start:stop])
        if request is not None:
            self.requests.append(request)
        self._next = bucket + 1


def plan(model, buffer, params, cap_bytes: int | None) -> GradientBuckets | None:
    """The buckets for `buffer`, or None where one all-reduce after backward is used: no
    cap, a single bucket, or a weight that no single layer without sublayers owns."""
    if not cap_bytes or not params:
        return None
    owners = _owners(model, params)
    if owners is None:
        return None
    buckets = GradientBuckets(buffer, params, owners, cap_bytes)
    return buckets if buckets.count > 1 else None


def _owners(model, params) -> list | None:
    """For each weight the leaf layer (no sublayers) holding it; None unless each weight
    is held by exactly one."""
    holders: dict[int, list] = {}
    for layer in _leaves(model):
        for param in layer.parameters(trainable_only=True):
            holders.setdefault(id(param), []).append(layer)
    owners = []
    for param in params:
        found = _unique(holders.get(id(param), []))
        if len(found) != 1:
            return None
        owners.append(found[0])
    return owners


def _leaves(layer) -> Iterator:
    sublayers = layer.sublayers()
    if not sublayers:
        yield layer
    for sub in sublayers:
        yield from _leaves(sub)


def _unique(layers: list) -> list:
    seen, found = set(), []
    for layer in layers:
        if id(layer) not in seen:
            seen.add(id(layer))
            found.append(layer)
    return found

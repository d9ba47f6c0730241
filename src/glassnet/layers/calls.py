"""Per-call state: a layer called more than once in one forward pass.

A layer's forward keeps what its backward needs on the layer itself (`self._x = ...`). A
layer used twice in one pass -- `Sequential([d, d])`, a shared layer in a functional graph,
a model called twice -- would have its second call overwrite what the first kept, and the
first call's backward would then differentiate with the second call's inputs.

So every forward pass numbers the calls of each layer (0, 1, ...), and when a layer is
called again within the same pass, the state its previous call left on it is put aside
first (a shallow copy of its attributes and of its activation's: the arrays themselves are
not copied). A model records the number of each call it made and hands it back to
`backpropagate(dy, call=k)`, which swaps call k's state in before running backward:

    pass:      y1 = d.apply(x)    -> call 0        y2 = d.apply(y1)  -> call 1 (call 0 put aside)
    backward:  d.backpropagate(dy2, call=1)        d.backpropagate(dy1, call=0) (swapped in)

Outside a pass (a layer called on its own, `predict`'s inference-only calls) nothing is
put aside: each call simply replaces the last, as before. A pass starts at the outermost
model's forward (`forward_pass`) and ends when the next one starts; within it, state is
kept only for layers that really are called more than once.
"""

from __future__ import annotations

import contextvars

# The pass under way: a fresh object per outermost forward, or None outside any model.
_current_pass: contextvars.ContextVar[object | None] = contextvars.ContextVar(
    "glassnet_forward_pass", default=None)


class forward_pass:  # noqa: N801 (used as a function: `with calls.forward_pass():`)
    """Number layer calls from here on as one pass (no-op inside an enclosing pass).

    A small class rather than a generator: it is entered once per forward pass of every
    model, and a `contextlib.contextmanager` costs several times more per use."""

    __slots__ = ("_token",)

    def __enter__(self) -> None:
        self._token = (None if _current_pass.get() is not None
                       else _current_pass.set(object()))

    def __exit__(self, *exc_info) -> None:
        if self._token is not None:
            _current_pass.reset(self._token)


class CallRecord:
    """The calls of one layer in the current pass: how many, which one's state is on the
    layer now, and the put-aside state of the others."""

    __slots__ = ("pass_", "count", "loaded", "states")

    def __init__(self, pass_) -> None:
        self.pass_ = pass_
        self.count = 0          # calls so far in this pass
        self.loaded = -1        # the call whose state the layer holds now
        self.states: dict[int, list] = {}


def _holders(layer) -> list:
    """The layer and the activation objects it holds: where a forward keeps its state."""
    return [layer] + [value for value in vars(layer).values()
                      if hasattr(value, "forget") and hasattr(value, "backward")]


def _capture(layer) -> list:
    return [(obj, dict(vars(obj))) for obj in _holders(layer)]


def _restore(state: list) -> None:
    for obj, attributes in state:
        obj.__dict__.update(attributes)


def before_forward(layer) -> int:
    """Called by `Layer.apply` before forward; returns the number of this call."""
    pass_ = _current_pass.get()
    record = layer.__dict__.get("_call_record")
    if pass_ is None or record is None or record.pass_ is not pass_:
        record = CallRecord(pass_)              # outside a pass, or the first call of one
        layer.__dict__["_call_record"] = record
    elif record.loaded >= 0 and record.loaded not in record.states:
        record.states[record.loaded] = _capture(layer)   # put the previous call's state aside
    number = record.count
    record.count += 1
    record.loaded = number
    return number


def before_backward(layer, call: int | None) -> None:
    """Called by `Layer.backpropagate`: swap in the state of call number `call`."""
    record = layer.__dict__.get("_call_record")
    if call is None or record is None or call == record.loaded:
        return
    if call not in record.states:
        raise RuntimeError(f"layer {layer.name!r}: backward for call {call} of this pass, "
                           f"but the pass made {record.count} call(s) of it")
    if record.loaded not in record.states:
        record.states[record.loaded] = _capture(layer)
    _restore(record.states[call])
    record.loaded = call


def last_call(layer) -> int:
    """The number of the layer's latest call (0 outside a pass)."""
    record = layer.__dict__.get("_call_record")
    return 0 if record is None else record.count - 1

"""Run a user's layer, unchanged, on traced arrays: the forward phase and the backward pass as expressions.

A :class:`LayerCall` says how to call the layer: a forward/backward pair (``out, cache = forward(*args)``,
``grads = backward(*douts, cache)``) or a loss (``loss, dx = loss(*args)``), the arguments, and which
positions are differentiated. :func:`trace_layer` puts an array of symbols in each differentiated
position (``x[0,1]``, valued at the point), a symbolic upstream gradient ``G`` for each output, runs the
forward and the backward under :func:`gradproof.derive.usercode.guard.call`, and returns a :class:`Trace`:
the outputs and the claimed gradients as expressions, the conditions (branches and domain) and the point.

A comparison too close to call moves the point (up to ``attempts`` times). What cannot be traced raises
:class:`Untraceable` with the operation and the user's line; an exception the code also raises on float
arrays is the code's own, reported as such.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sympy as sp

from gradproof.derive.trace.array import TracedArray, exact_buffers, traced_array
from gradproof.derive.trace.element import (Condition, NearBoundary, Recorder, Traced, Untraceable, active,
                                            recording)
from gradproof.derive.usercode.guard import UserCodeError, call

PAIR, LOSS = "pair", "loss"


@dataclass(frozen=True)
class LayerCall:
    """How to call one layer: ``backward`` None means a loss (``forward`` returns ``(loss, dx, …)``)."""

    forward: Callable
    backward: Callable | None
    args: tuple
    inputs: tuple[int, ...]              # the differentiated argument positions
    names: tuple[str, ...] = ()          # their names (default: the forward's parameter names)
    n_outputs: int | None = None         # a pair: leading results that are outputs (default: all but the cache)
    timeout: float | None = 60.0

    @property
    def kind(self) -> str:
        return LOSS if self.backward is None else PAIR

    def input_names(self) -> tuple[str, ...]:
        if self.names:
            return tuple(self.names)
        try:
            params = list(inspect.signature(self.forward).parameters)
        except (TypeError, ValueError):
            params = []
        return tuple(params[p] if p < len(params) else f"arg{p}" for p in self.inputs)


@dataclass
class Trace:
    """One traced run: symbols, outputs, upstream gradients, claimed gradients, conditions, the point."""

    call: LayerCall
    inputs: list[TracedArray]
    outputs: list
    douts: list[TracedArray]
    gradients: list
    conditions: list[Condition]
    point: dict
    notes: list[str] = field(default_factory=list)
    backward_random: list[str] = field(default_factory=list)   # np.random reached from the backward

    @property
    def region(self) -> list[Condition]:
        return [c for c in self.conditions if c.origin == "branch"]

    @property
    def domain(self) -> list[Condition]:
        return [c for c in self.conditions if c.origin == "domain"]


def symbol_array(name: str, values: np.ndarray) -> TracedArray:
    """An array of real symbols ``name[i,j,…]`` carrying ``values``."""
    values = np.asarray(values, dtype=float)
    entries = np.empty(values.shape, dtype=object)
    for index in np.ndindex(values.shape):
        label = f"{name}[{','.join(map(str, index))}]" if values.ndim else name
        entries[index] = Traced(sp.Symbol(label, real=True), float(values[index]))
    return traced_array(entries)


def trace_layer(call_: LayerCall, rng: np.random.Generator, attempts: int = 8) -> Trace:
    """Trace ``call_`` at its own arguments; where a comparison is too close to call, at a nearby point."""
    values = [np.asarray(call_.args[p], dtype=float) for p in call_.inputs]
    reason = first = ""
    for attempt in range(attempts):
        try:
            trace = _trace_once(call_, values, rng)
            if attempt:
                trace.notes.insert(0, f"the given point sits on a branch boundary ({first}): traced at a nearby "
                                      "point instead; on the boundary itself nothing is proven")
            return trace
        except NearBoundary as near:
            reason = str(near)
            first = first or reason
            scale = 0.05 * 2 ** attempt
            values = [v + scale * (1 + np.abs(v)) * rng.standard_normal(v.shape) for v in values]
    raise Untraceable(f"every point tried sits on a branch boundary (last: {reason})", line="")


def _trace_once(call_: LayerCall, values: list[np.ndarray], rng) -> Trace:
    names = call_.input_names()
    inputs = [symbol_array(name, v) for name, v in zip(names, values)]
    recorder, notes = Recorder(), []
    namespaces = tuple(getattr(f, "__globals__", {}) for f in (call_.forward, call_.backward) if f is not None)
    with recording(recorder), exact_buffers(notes, namespaces):
        returned, cache, given = _forward(call_, inputs)
        _note_mutation(call_, inputs, given, notes)
        # E is formed from the outputs as the forward returned them: a backward that rewrites them in place
        # (they are often in its cache) must not change what it is compared with
        outputs = [snapshot(out) for out in returned]
        douts = [] if call_.kind == LOSS else [_upstream(i, len(outputs), out, rng) for i, out in enumerate(outputs)]
        before = set(notes)
        claimed = cache if call_.kind == LOSS else _backward(call_, douts, cache)
        drawn = [n for n in notes if n not in before and n.startswith(("np.random", "random."))]
        if any(not _same(a, b) for a, b in zip(outputs, returned)):
            notes.append("the backward changed the forward's output in place: the proof uses the output as the "
                         "forward returned it")
    point = {entry.expr: entry._value for array in inputs + douts for entry in array.flat}
    return Trace(call_, inputs, list(outputs), douts, claimed, list(recorder.conditions.values()), point, notes,
                 drawn)


def snapshot(value):
    """A copy of an output that later in-place writes cannot reach (entries are immutable)."""
    if isinstance(value, np.ndarray):
        return traced_array(np.array(value, dtype=object, copy=True)) if value.dtype == object else value.copy()
    return value


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) and a.dtype == object and isinstance(b, np.ndarray) and a.shape == b.shape:
        return all(getattr(u, "expr", u) == getattr(v, "expr", v) for u, v in zip(a.flat, b.flat))
    return a is b or not isinstance(a, np.ndarray)


def _guarded(function, args, what, timeout):
    try:
        value = call(function, *args, what=what, timeout=timeout).value
    except UserCodeError as error:
        cause = error.__cause__
        if isinstance(cause, (Untraceable, NearBoundary)):
            raise cause from None
        raise Untraceable(str(error), line="") from None
    raised = active().raised
    if raised:   # the code caught it and went on: what it did instead is not what the trace describes
        first = raised[0]
        if isinstance(first, NearBoundary):
            raise first
        raise Untraceable(f"{first.operation} (your code caught the error and went on)", line=first.line)
    return value


def _forward(call_: LayerCall, inputs: list[TracedArray]):
    args = [copy.deepcopy(a) for a in call_.args]
    for position, array in zip(call_.inputs, inputs):
        args[position] = array.copy()
    name = getattr(call_.forward, "__name__", "the forward")
    result = _guarded(call_.forward, args, f"{name}", call_.timeout)
    if result is None:
        raise Unfinished(call_.forward)
    if not isinstance(result, tuple) or len(result) < 2:
        kind = "(loss, dx)" if call_.kind == LOSS else "(out, cache)"
        raise Untraceable(f"{name} returned a {type(result).__name__}: expected {kind}", line="")
    if call_.kind == LOSS:
        return (result[0],), result[1:], args
    n = call_.n_outputs or len(result) - 1
    return result[:n], (result[n] if len(result) == n + 1 else result[n:]), args


def _upstream(i: int, count: int, output, rng) -> TracedArray:
    shape = np.shape(output)
    return symbol_array("G" if count == 1 else f"G{i + 1}", rng.standard_normal(shape))


def _backward(call_: LayerCall, douts: list[TracedArray], cache) -> tuple:
    name = getattr(call_.backward, "__name__", "the backward")
    returned = _guarded(call_.backward, [d.copy() for d in douts] + [cache], name, call_.timeout)
    if returned is None:
        raise Unfinished(call_.backward)
    grads = (returned,) if not isinstance(returned, (tuple, list)) else tuple(returned)
    if len(call_.inputs) == 1 and isinstance(returned, np.ndarray):
        grads = (returned,)
    if len(grads) != len(call_.inputs):
        raise Untraceable(f"{name} returned {len(grads)} gradients for {len(call_.inputs)} differentiated "
                          f"inputs ({', '.join(call_.input_names())})", line="")
    return grads


def _note_mutation(call_: LayerCall, inputs, args, notes: list[str]) -> None:
    for position, array, name in zip(call_.inputs, inputs, call_.input_names()):
        given = args[position]
        if isinstance(given, np.ndarray) and given.shape == array.shape and any(
                getattr(a, "expr", None) != b.expr for a, b in zip(given.flat, array.flat)):
            notes.append(f"the forward changed its argument {name} in place (its copy; yours is unchanged)")


class Unfinished(Untraceable):
    """The user's function returned None: unfinished code."""

    def __init__(self, function: Callable):
        name = getattr(function, "__name__", "your function")
        try:
            where = f"{Path(inspect.getsourcefile(function)).name}:{inspect.getsourcelines(function)[1]}"
        except (TypeError, OSError):
            where = ""
        super().__init__(f"{name} returned None (unfinished: a body that is `pass`, or no return statement)",
                         line=where)

"""Prove a hand-written layer's backward pass by tracing the user's own numpy code into sympy.

``prove_layer(forward, backward, args)`` traces the forward and the backward at the sizes of ``args``
(:mod:`gradproof.derive.trace`), forms E = ⟨G, out⟩ with a symbolic upstream gradient G (for a loss, E is
the loss), and compares every entry of every returned gradient with ``sympy.diff(E, entry)``:

- **proven** when the difference is identically zero (:mod:`.algebraic`), which then holds on the whole
  region where the code's branches are the traced ones and on the domain (denominators ≠ 0, radicands and
  logarithms' arguments > 0); the traced point satisfies both, checked with 40 digits, so neither is empty;
- **refuted** only with a counterexample: a point in the region where the two sides differ, evaluated
  with 40 digits (or a gradient of the wrong shape);
- **undecided** otherwise, with the reason.

A proof covers the sizes traced, and says so. The same code is also run on float64 arrays at the point:
a forward that gives different outputs on two calls, or code that computes something else on floats than on
traced arrays, cannot have a proven verdict.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import sympy as sp

from gradproof.derive.proof.derivative import Differentiator
from gradproof.derive.proof.algebraic import METHOD, METHOD_DESCRIPTION, decide_zero
from gradproof.derive.proof.layer_result import (PROVEN, REFUTED, UNDECIDED, EntryProof, LayerCounterexample,
                                                LayerProof)
from gradproof.derive.proof.layer_checks import float_disagreement, perturbed_points, region_violation
from gradproof.derive.proof.pointwise import Evaluator, differ
from gradproof.derive.trace.element import lift
from gradproof.derive.trace.run import LOSS, LayerCall, Trace, trace_layer

ASSUMPTIONS = (
    "the region: every branch the code took at the traced point is taken (the conditions listed)",
    "the domain: every denominator ≠ 0, every square root's and logarithm's argument > 0 (checked at the "
    "point, so the region and the domain are not empty)",
    "exact arithmetic: a float constant in the code is the exact rational it stores; float64 rounding is "
    "the numeric check's business",
    "the sizes traced: a proof at these shapes says nothing about other shapes",
)


def layer_call(forward: Callable, backward: Callable | None, args: Sequence, inputs: Sequence[int] | None = None,
               names: Sequence[str] = (), n_outputs: int | None = None, timeout: float | None = 60.0) -> LayerCall:
    """The small adapter: which argument positions are differentiated (default: the float arrays; for a
    loss, the first of them)."""
    args = tuple(args)
    if inputs is None:
        inputs = tuple(i for i, a in enumerate(args) if isinstance(a, np.ndarray) and a.dtype.kind == "f")
        inputs = inputs[:1] if backward is None else inputs
    return LayerCall(forward, backward, args, tuple(inputs), tuple(names), n_outputs, timeout)


def prove_layer(forward: Callable, backward: Callable | None, args: Sequence, *, inputs: Sequence[int] | None = None,
                names: Sequence[str] = (), n_outputs: int | None = None, seed: int = 0,
                timeout: float | None = 60.0, name: str | None = None) -> LayerProof:
    """Prove ``backward`` against the definition at the sizes of ``args`` (``backward=None``: a loss
    ``loss, dx = forward(*args)``). Raises :class:`gradproof.derive.trace.element.Untraceable` (an
    InputError: "cannot trace: … at file.py:N") where the code cannot be traced."""
    start = time.perf_counter()
    call_ = layer_call(forward, backward, args, inputs, names, n_outputs, timeout)
    trace = trace_layer(call_, np.random.default_rng(seed))
    entries = _judge(trace)
    problems = float_disagreement(trace)
    if any(c.expr.free_symbols & _upstream_symbols(trace) for c in trace.region):
        problems.append("the backward branches on the upstream gradient (dout): a gradient is linear in dout, "
                        "so a proof for dout's signs at the point would not cover the others")
    entries = [_undecided(e, "; ".join(problems)) if problems and e.status == PROVEN else e for e in entries]
    return LayerProof(
        layer=name or getattr(backward or forward, "__name__", "layer"), entries=tuple(entries),
        sizes=_sizes(trace), region=tuple(c.text() + _at(c) for c in trace.region),
        domain=tuple(c.text() + _at(c) for c in trace.domain), method=METHOD,
        method_description=METHOD_DESCRIPTION, seconds=time.perf_counter() - start,
        assumptions=ASSUMPTIONS, notes=tuple(trace.notes), diagnosis=tuple(problems))


def _judge(trace: Trace) -> list[EntryProof]:
    evaluator = Evaluator(trace.point)
    violated = region_violation(trace, evaluator)
    claims, entries = [], []
    for symbols, claimed, name in zip(trace.inputs, trace.gradients, trace.call.input_names()):
        shaped = _claimed_array(claimed, symbols.shape, name)
        if isinstance(shaped, str):
            entries += [EntryProof(name, idx, REFUTED, counterexample=LayerCounterexample({}, None, None, shaped))
                        for idx in np.ndindex(symbols.shape)]
            continue
        claims += [(name, idx, symbols[idx].expr, shaped[idx]) for idx in np.ndindex(symbols.shape)]
    directs = _derivatives(trace, [symbol for _, _, symbol, _ in claims])
    decisions = _decide([direct - claimed for direct, (_, _, _, claimed) in zip(directs, claims)])
    for direct, (name, idx, _, claimed), zero in zip(directs, claims, decisions):
        if violated:
            entries.append(EntryProof(name, idx, UNDECIDED, direct, claimed, reason=violated))
        elif zero:
            entries.append(EntryProof(name, idx, PROVEN, direct, claimed))
        else:
            entries.append(_refute(trace, evaluator, name, idx, direct, claimed))
    return entries


def _decide(differences: list[sp.Expr]) -> list[bool]:
    """decide_zero, then with exponentials rewritten for the differences it could not show zero."""
    decisions = decide_zero(differences)
    again = [k for k, zero in enumerate(decisions) if not zero]
    for k, zero in zip(again, decide_zero([differences[k] for k in again], exponentials=True)):
        decisions[k] = zero
    return decisions


def _claimed_array(claimed, shape: tuple, name: str):
    """The returned gradient as an object array of expressions, or a sentence saying its shape is wrong."""
    array = np.asarray(claimed, dtype=object).view(np.ndarray)
    if array.shape != shape:
        return f"d{name} has shape {array.shape}, {name} has {shape}"
    return np.frompyfunc(lambda v: lift(v).expr, 1, 1)(array) if array.ndim else np.asarray(lift(array[()]).expr)


def _derivatives(trace: Trace, symbols: list[sp.Symbol]) -> list[sp.Expr]:
    """∂E/∂v for each v, E = ⟨G, out⟩ (a loss: E = loss), term by term over the outputs that contain v,
    by sympy's derivative rules node by node (:mod:`.derivative`)."""
    if trace.call.kind == LOSS:
        pairs = [(sp.Integer(1), lift(trace.outputs[0]).expr)]
    else:
        pairs = [(g.expr, lift(o).expr) for out, dout in zip(trace.outputs, trace.douts)
                 for g, o in zip(dout.flat, np.asarray(out, dtype=object).view(np.ndarray).flat)]
    d, containing = Differentiator(), {}
    for g, o in pairs:
        for symbol in d.free(o):
            containing.setdefault(symbol, []).append((g, o))
    return [sp.Add(*(g * d(o, v) for g, o in containing.get(v, ()))) for v in symbols]


def _refute(trace, evaluator, name, idx, direct, claimed) -> EntryProof:
    for point_evaluator in [evaluator, *perturbed_points(trace, evaluator)]:
        left, right = point_evaluator(direct), point_evaluator(claimed)
        if differ(left, right):
            used = sorted((direct - claimed).free_symbols, key=sp.default_sort_key)
            point = {str(s): point_evaluator.env[s] for s in used}
            return EntryProof(name, idx, REFUTED, direct, claimed, LayerCounterexample(point, left, right))
    return EntryProof(name, idx, UNDECIDED, direct, claimed,
                      reason="not shown identically zero, and equal to 28 digits at every point tried")


def _undecided(entry: EntryProof, reason: str) -> EntryProof:
    return EntryProof(entry.input, entry.index, UNDECIDED, entry.direct, entry.claimed, reason=reason)


def _upstream_symbols(trace: Trace) -> set:
    return {g.expr for dout in trace.douts for g in dout.flat}


def _sizes(trace: Trace) -> dict:
    sizes = {name: tuple(symbols.shape) for name, symbols in zip(trace.call.input_names(), trace.inputs)}
    for k, out in enumerate(trace.outputs):
        sizes["out" if len(trace.outputs) == 1 else f"out{k + 1}"] = tuple(np.shape(out))
    return sizes


def _at(condition) -> str:
    return f"  ({condition.where})" if condition.where else ""

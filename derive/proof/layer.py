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

from gradproof.derive.errors import InputError
from gradproof.derive.proof.derivative import Differentiator
from gradproof.derive.proof.algebraic import METHOD, METHOD_DESCRIPTION, decide_zero
from gradproof.derive.proof.layer_result import (PROVEN, REFUTED, UNDECIDED, EntryProof, LayerCounterexample,
                                                LayerProof)
from gradproof.derive.proof.layer_checks import float_disagreement, perturbed_points, region_violation
from gradproof.derive.proof.pointwise import Evaluator, differ
from gradproof.derive.trace.element import Untraceable, lift
from gradproof.derive.trace.run import LOSS, PAIR, LayerCall, Trace, trace_layer
from gradproof.derive.trace.watch import changed, module_state, watching
from gradproof.derive.usercode import guard
from gradproof.derive.usercode.conventions import read_layer

#: upstream gradients drawn when the backward branches on dout, looking for a counterexample
UPSTREAM_DRAWS = 4

ASSUMPTIONS = (
    "the region: every branch the code took at the traced point is taken (the conditions listed)",
    "the domain: every denominator ≠ 0, every square root's and logarithm's argument > 0 (checked at the "
    "point, so the region and the domain are not empty)",
    "exact arithmetic: a float constant in the code is the exact rational it stores; float64 rounding is "
    "the numeric check's business",
    "the sizes traced: a proof at these shapes says nothing about other shapes",
)


def layer_call(forward: Callable, backward: Callable | None, args: Sequence, *, kind: str | None = None,
               inputs: Sequence | None = None, outputs: int | None = None, name: str | None = None,
               timeout: float | None = 60.0) -> LayerCall:
    """The layer read in its convention (:func:`gradproof.derive.usercode.conventions.read_layer`: which
    arguments are differentiated, their names, how many outputs), as the tracer calls it. Pairs and losses
    are traced; a class, a torch Function or a plain function with a gradient is not (yet)."""
    if backward is not None and kind is None:
        kind = "pair"
    layer = read_layer(forward, backward, tuple(args), kind=kind, inputs=inputs, outputs=outputs, name=name)
    if layer.kind not in (PAIR, LOSS):
        what = {"module": "class", "torch": "torch Function", "function": "plain function"}.get(layer.kind, layer.kind)
        raise Untraceable(f"a {what} layer is not traced (only forward/backward pairs and losses): its numeric "
                          "check (check-layer) still stands", line="")
    return LayerCall(layer.forward, layer.backward if layer.kind == PAIR else None, tuple(args),
                     tuple(slot.position for slot in layer.slots), tuple(slot.name for slot in layer.slots),
                     layer.n_outputs, timeout)


@guard.one_check
def prove_layer(forward: Callable, backward: Callable | None, args: Sequence, *, kind: str | None = None,
                inputs: Sequence | None = None, outputs: int | None = None, name: str | None = None,
                seed: int = 0, timeout: float | None = 60.0) -> LayerProof:
    """Prove ``backward`` against the definition at the sizes of ``args`` (``backward=None``: a loss
    ``loss, dx = forward(*args)``); ``kind``, ``inputs`` (names or positions) and ``outputs`` as for
    :func:`gradproof.check_layer`. Raises :class:`gradproof.derive.trace.element.Untraceable` (an
    InputError: "cannot trace: … at file.py:N") where the code cannot be traced."""
    start = time.perf_counter()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"the seed must be a whole number ≥ 0, not {seed!r}")
    call_ = layer_call(forward, backward, args, kind=kind, inputs=inputs, outputs=outputs, name=name,
                       timeout=timeout)
    before, inspections = module_state((forward, backward)), []
    with watching(inspections):
        for attempt in range(UPSTREAM_DRAWS):
            trace = trace_layer(call_, np.random.default_rng([seed, attempt, 0x6772]))
            entries = _judge(trace)
            on_dout = any(c.expr.free_symbols & _upstream_symbols(trace) for c in trace.region)
            if not on_dout or any(e.status == REFUTED for e in entries):
                break
        problems = float_disagreement(trace)
    problems += _behaviour(inspections, changed(before, module_state((forward, backward))), trace.backward_random)
    # the traced code is not what runs on floats (or not a function): neither a proof nor a refutation of it
    entries = [_undecided(e, "; ".join(problems)) if problems and e.status in (PROVEN, REFUTED) else e
               for e in entries]
    if on_dout:
        problems.append("the backward branches on the upstream gradient (dout): a gradient is linear in dout, "
                        f"so a proof for dout's signs at the point would not cover the others ({UPSTREAM_DRAWS} "
                        "draws of dout tried)")
        entries = [_undecided(e, problems[-1]) if e.status == PROVEN else e for e in entries]
    return LayerProof(
        layer=name or getattr(backward or forward, "__name__", "layer"), entries=tuple(entries),
        sizes=_sizes(trace), region=tuple(c.text() + _at(c) for c in trace.region),
        domain=tuple(c.text() + _at(c) for c in trace.domain), method=METHOD,
        method_description=METHOD_DESCRIPTION, seconds=time.perf_counter() - start,
        assumptions=ASSUMPTIONS, notes=tuple(trace.notes), diagnosis=tuple(problems),
        point={str(k): v for k, v in trace.point.items()})


def _behaviour(inspections: list[str], state: list[str], drawn: list[str]) -> list[str]:
    """Why what the code does besides computing leaves it without a verdict (empty: nothing seen)."""
    problems = []
    if drawn:
        problems.append(f"the backward draws random numbers ({'; '.join(drawn[:3])}): a gradient is a function of "
                        "the inputs, and the draws at the point prove nothing about other draws")
    if inspections:
        problems.append(f"your code inspects the call stack ({'; '.join(inspections[:3])}): what it computes may "
                        "depend on who calls it, so the trace proves nothing about it")
    if state:
        problems.append(f"your code changed state kept between calls ({', '.join(state[:3])}): later calls may "
                        "compute something else, so the trace proves nothing about them")
    return problems


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
    # an entry that differs at the traced point (40 digits) is refuted there: no need to expand it
    apart = [differ(evaluator(direct), evaluator(claimed)) for direct, (_, _, _, claimed) in zip(directs, claims)]
    undecided = [k for k, differs in enumerate(apart) if not differs and not violated]
    zero = dict(zip(undecided, _decide([directs[k] - claims[k][3] for k in undecided])))
    for k, (direct, (name, idx, _, claimed)) in enumerate(zip(directs, claims)):
        if violated:
            entries.append(EntryProof(name, idx, UNDECIDED, direct, claimed, reason=violated))
        elif zero.get(k):
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
    return [_sum_of(_times(g, d(o, v)) for g, o in containing.get(v, ())) for v in symbols]


def _times(g: sp.Expr, derivative: sp.Expr) -> sp.Expr:
    """g·derivative, unflattened (sympy's Mul sorts its factors: seconds over a convolution's entries)."""
    if derivative.is_Number or g.is_Number:
        return g * derivative
    return sp.Mul._from_args((g, *(derivative.args if derivative.is_Mul else (derivative,))))


def _sum_of(terms) -> sp.Expr:
    """The sum, unflattened past a few terms (the decision procedure reads any sum)."""
    terms = [t for t in terms if t != 0]
    if len(terms) < 8:
        return sp.Add(*terms)
    return sp.Add._from_args(tuple(terms))


def _refute(trace, evaluator, name, idx, direct, claimed) -> EntryProof:
    for point_evaluator in [evaluator, *perturbed_points(trace, evaluator)]:
        left, right = point_evaluator(direct), point_evaluator(claimed)
        if differ(left, right):
            symbols = Differentiator()   # its free(): memoized over the DAG (sympy's free_symbols walks a tree)
            used = sorted(symbols.free(sp.sympify(direct)) | symbols.free(sp.sympify(claimed)), key=sp.default_sort_key)
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

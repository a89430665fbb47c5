"""Side checks of a traced proof: the point lies in the region, nearby points, and the same code on floats.

- :func:`region_violation`: every recorded condition (branches and domain) holds strictly at the point,
  evaluated with 40 digits; otherwise the region or the domain may be empty and nothing is proven.
- :func:`perturbed_points`: points near the traced one that are still in the region (to look for a
  counterexample when the traced point happens to hide one).
- :func:`float_disagreement`: the user's forward called twice on float64 arrays at the point gives the same
  outputs (a function, not a random draw), and the forward's outputs and the backward's gradients on floats
  are the traced ones, each entry within twice the float64 rounding its traced expression allows
  (:mod:`.rounding`): code that computes something else on floats than traced (it inspects dtypes, keeps
  state between calls) has no verdict.
"""

from __future__ import annotations

import copy

import mpmath
import numpy as np

from gradproof.derive.proof.pointwise import Evaluator
from gradproof.derive.proof.rounding import RoundingBound
from gradproof.derive.trace.element import lift
from gradproof.derive.trace.run import LOSS, Trace
from gradproof.derive.usercode.guard import UserCodeError, call

#: a condition's value must exceed this (40-digit evaluation) to count as strictly met
STRICT = mpmath.mpf(10) ** -25
#: below any float64 rounding that matters (subnormal territory)
TINY = mpmath.mpf(10) ** -300


def region_violation(trace: Trace, evaluator: Evaluator) -> str:
    """"" if every condition holds strictly at the point, else a sentence naming the first that does not."""
    for condition in trace.conditions:
        if not _holds(condition, evaluator):
            return (f"the traced point does not satisfy {condition.text()} ({condition.where}) when evaluated "
                    "with 40 digits: the region may be empty")
    return ""


def _holds(condition, evaluator: Evaluator) -> bool:
    value = evaluator(condition.expr)
    return value > STRICT if condition.relation == ">" else abs(value) > STRICT


def perturbed_points(trace: Trace, evaluator: Evaluator, count: int = 4, seed: int = 1):
    """Evaluators at up to ``count`` random points near the traced one that stay in the region and domain."""
    rng = np.random.default_rng(seed)
    for _ in range(3 * count):
        point = {s: v * (1 + 1e-3 * rng.standard_normal()) + 1e-3 * rng.standard_normal()
                 for s, v in trace.point.items()}
        nearby = Evaluator(point)
        if all(_holds(c, nearby) for c in trace.conditions):
            yield nearby
            count -= 1
            if count == 0:
                return


def float_disagreement(trace: Trace) -> list[str]:
    """Reasons the float64 run contradicts the trace (empty when it agrees)."""
    values = [_values(array) for array in trace.inputs]
    douts = [_values(array) for array in trace.douts]
    try:
        first, claimed = _run_floats(trace, values, douts)
        second, again = _run_floats(trace, values, douts)
    except UserCodeError as error:
        return [f"on float64 arrays at the traced point {error}"]
    where = "; ".join(n for n in trace.notes if n.startswith("np.random")) or "random numbers, or state kept between calls?"
    if not _equal(first, second):
        return [f"the forward is not a function of its inputs: two calls at the same point gave different outputs "
                f"({where})"]
    if not _equal(claimed, again):
        return [f"the backward is not a function of its inputs: two calls at the same point gave different "
                f"gradients ({where})"]
    exact = Evaluator(trace.point)
    compare = _Comparison(exact, RoundingBound(exact))
    outputs = [p for p in map(compare, _output_names(trace), first, trace.outputs) if p]
    if outputs:   # e.g. state kept between calls: the traced forward is not the one that runs now
        return [outputs[0]]
    return [p for p in map(compare, [f"d{n}" for n in trace.call.input_names()], claimed, trace.gradients) if p]


def _equal(first, second) -> bool:
    try:
        return len(first) == len(second) and all(
            np.array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float)) for a, b in zip(first, second))
    except (TypeError, ValueError):   # not numbers: the comparison with the trace says what they are
        return True


def _output_names(trace: Trace) -> list[str]:
    return ["out" if len(trace.outputs) == 1 else f"out{k + 1}" for k in range(len(trace.outputs))]


class _Comparison:
    """Whether the float64 result is the traced one: within twice the rounding the traced expressions allow
    (:mod:`.rounding`), entry by entry, at the point."""

    def __init__(self, exact: Evaluator, bound: RoundingBound):
        self.exact, self.bound = exact, bound

    def __call__(self, name: str, on_floats, traced) -> str:
        try:
            floats = np.asarray(on_floats, dtype=float)
            exprs = np.asarray(np.frompyfunc(lambda v: lift(v).expr, 1, 1)(_plain(traced)), dtype=object)
        except (TypeError, ValueError, AttributeError):
            return ""
        if floats.shape != np.shape(exprs):
            return f"{name} has shape {floats.shape} on float64 arrays but {np.shape(exprs)} on traced arrays"
        for index in np.ndindex(floats.shape):
            expr = exprs[index]
            gap = abs(mpmath.mpf(float(floats[index])) - self.exact(expr))
            if not gap <= 2 * self.bound(expr) + TINY:
                return (f"on float64 arrays your code computes a different {name} (entry {index}: off by "
                        f"{float(gap):.3g}, more than its float64 rounding can explain, "
                        f"{float(2 * self.bound(expr)):.2g}): it does not compute on floats what it computes "
                        "traced, so the trace proves nothing about it")
        return ""


def _values(array) -> np.ndarray:
    return np.vectorize(lambda e: lift(e)._value, otypes=[float])(_plain(array))


def _plain(array) -> np.ndarray:
    array = np.asarray(array, dtype=object)
    return array.view(np.ndarray) if type(array) is not np.ndarray else array


def _run_floats(trace: Trace, values, douts):
    call_ = trace.call
    args = [copy.deepcopy(a) for a in call_.args]
    for position, value in zip(call_.inputs, values):
        args[position] = value.copy()
    result = call(call_.forward, *args, what="the forward (on float64)", timeout=call_.timeout).value
    if call_.kind == LOSS:
        return (result[0],), result[1:]
    n = call_.n_outputs or len(result) - 1
    cache = result[n] if len(result) == n + 1 else result[n:]
    outputs = [np.array(out, copy=True) if isinstance(out, np.ndarray) else out for out in result[:n]]
    grads = call(call_.backward, *[d.copy() for d in douts], cache, what="the backward (on float64)",
                 timeout=call_.timeout).value
    grads = (grads,) if len(call_.inputs) == 1 and isinstance(grads, np.ndarray) else tuple(grads)
    return outputs, grads

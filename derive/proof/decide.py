"""The verdict on claimed entries: proven (and where), refuted (with a network), or undecided (and why).

For each weight, with ``direct`` the definition's ∂E/∂w and ``claimed`` the recurrence's entry:

1. the polynomial test (:mod:`.identity`): if direct − claimed has a zero numerator, the denominators of
   both sides decide (:mod:`.denominators`): positive → **proven**; of no fixed sign but not identically
   zero → **proven where they are not zero** (the conditions are kept); identically zero → **refuted**
   only at a network where the claimed entry is undefined in exact arithmetic (a zero base in a branch
   never taken, or under a power whose exponent is positive there, refutes nothing); unknown →
   undecided;
2. otherwise a **counterexample** is searched (:mod:`.counterexample`): a real network where the true
   gradient (closed forms, high precision) differs from the claimed entry: **refuted**;
3. otherwise the difference is rewritten in the canonical basis (:mod:`.canonical`) and tested again: a
   correct entry written with other functions (σ(−z), e^(−z), tanh through e^z, Heaviside(z)) is
   **proven**, where its Heaviside or sign arguments are not zero (stated; each such argument must be
   real and vanish on a null set only, as a denominator's: sign(w − |w|) is 0 for every w ≥ 0, and
   such an entry is undecided);
4. what is left is **undecided**, with the reason.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from gradproof.derive.proof.canonical import SIZE_LIMIT, reduces_to_zero, rewrite, shown_positive
from gradproof.derive.proof.counterexample import (WITNESS_ACTIVATION_TEXT, Counterexample, exactly_undefined,
                                                   find_counterexamples, random_point, true_gradient, without_numbers)
from gradproof.derive.proof.denominators import NONZERO, POSITIVE, ZERO, DenominatorCheck
from gradproof.derive.proof.domains import unreal_parts
from gradproof.derive.proof.evaluation import DIGITS, Evaluator, Undefined
from gradproof.derive.proof.identity import Decision, decide_zero
from gradproof.derive.proof.result import PROVEN, REFUTED, UNDECIDED, WeightProof
from gradproof.derive.symbolic.functions import a
from gradproof.derive.symbolic.network import SymbolicNetwork
from gradproof.derive.symbolic.walk import nodes_of

NO_WITNESS = ("not an identity in the activation values, even rewritten in exponentials; no counterexample "
              "at {tries} random networks (40 digits): it may be right in a form gradproof cannot reduce")

UNTAKEN = ("it divides by {base}, which is identically 0, but at no network tried is it undefined in exact "
           "arithmetic (the division may lie in a branch never taken, or under a positive power)")


@dataclass(frozen=True)
class Verdict:
    """The verdict on one entry."""

    status: str
    decision: Decision | None = None
    counterexample: Counterexample | None = None
    conditions: tuple[sp.Expr, ...] = ()   #: the entry is proven where each of these is not zero
    reason: str = ""
    ranges: frozenset = frozenset()        #: the ranges a denominator's positivity rested on


class Judge:
    """Decides claimed entries against the definition for one network (``sym``: the proof's own)."""

    def __init__(self, sym: SymbolicNetwork, seed: int = 0, tries: int = 6):
        self.sym = sym
        self.evaluator = Evaluator.for_network(sym)
        self.denominators = DenominatorCheck(self.evaluator, seed)
        self.seed, self.tries = seed, tries
        #: why no network can be computed (E applies a function with no closed form), else None
        self.no_numbers = without_numbers(sym, self.evaluator)

    def judge(self, entries: dict, decisions: dict, advance: Callable[[], None] = lambda: None) -> dict:
        """``entries``: weight → (direct, claimed); ``decisions``: weight → the polynomial test's Decision;
        ``advance``: called once per weight as its verdict is settled (a progress bar)."""
        verdicts, held = {}, {}   # held: undecided with a zero numerator, until no network refutes them
        for weight, decision in decisions.items():
            checked = self.denominators.of(*entries[weight])
            found = self.undefined(weight, checked.zero, entries[weight][1]) if checked.status == ZERO else None
            if found is not None:  # undefined at a network, in exact arithmetic, whatever the numerator says
                verdicts[weight] = Verdict(REFUTED, decision, found)
            elif decision.is_zero:
                verdict = self.with_denominators(weight, *entries[weight], decision)
                (held if verdict.status == UNDECIDED else verdicts)[weight] = verdict
            if weight in verdicts:
                advance()
        open_ = {w: entries[w][1] for w, d in decisions.items() if w not in verdicts}
        found = find_counterexamples(self.sym, open_, self.evaluator, self.seed, self.tries) if open_ else {}
        for weight in open_:
            if weight in found:
                verdicts[weight] = Verdict(REFUTED, decisions[weight], found[weight])
            else:
                verdicts[weight] = held.get(weight) or self.rewritten(weight, *entries[weight], decisions[weight])
            advance()
        return verdicts

    def exactly(self, entries: dict, given: dict) -> dict:
        """WeightProofs for ``entries`` (weight index → claimed entry) by the exact method: each against
        ``sympy.diff`` of the proof's own E."""
        symbol = dict(zip(self.sym.network.weights(), self.sym.weight_symbols))
        direct = {i: sp.diff(self.sym.error, symbol[i]).xreplace(given) for i in entries}
        decisions = dict(zip(entries, decide_zero([direct[i] - entries[i] for i in entries])))
        verdicts = self.judge({symbol[i]: (direct[i], entries[i]) for i in entries},
                              {symbol[i]: d for i, d in decisions.items()})
        found = {}
        for i in entries:
            v = verdicts[symbol[i]]
            found[i] = WeightProof(i, v.status, direct[i], entries[i], v.decision, v.counterexample, v.conditions,
                                   v.reason)
        return found

    def with_denominators(self, weight, direct, claimed, decision: Decision, kinks=()) -> Verdict:
        checked = self.denominators.of(direct, claimed)
        kinked, unsure = self.kink_conditions(kinks)
        if unsure is not None:
            return Verdict(UNDECIDED, decision, reason=f"it holds where {_short(unsure)} ≠ 0, a condition that could "
                           "not be shown to fail on a null set only (it may fail on a whole region)")
        unreal = not_shown_real(claimed, nodes_of(direct)) if checked.status in (POSITIVE, NONZERO) else None
        if unreal:
            return Verdict(UNDECIDED, decision, reason=unreal)
        if checked.status in (POSITIVE, NONZERO):
            return Verdict(PROVEN, decision, conditions=tuple(checked.conditions) + kinked, ranges=checked.ranges)
        found = self.undefined(weight, checked.zero, claimed) if checked.status == ZERO else None
        if found is not None:
            return Verdict(REFUTED, decision, found)
        if checked.status == ZERO:
            return Verdict(UNDECIDED, decision, reason=UNTAKEN.format(base=_short(checked.zero)))
        return Verdict(UNDECIDED, decision, reason=f"its denominator {_short(checked.unknown)} could not be shown "
                       "to be nonzero almost everywhere (positive, or analytic and nonzero at a point)")

    def kink_conditions(self, kinks) -> tuple[tuple, sp.Expr | None]:
        """The conditions u ≠ 0 of the kinks the rewriting set aside (a positive u needs none), and the
        first u whose zeros could not be shown to be a null set (a regional or identically zero u)."""
        conditions = []
        for base in kinks:
            status, _ = self.denominators.base(base)
            if status not in (POSITIVE, NONZERO):
                return (), base
            if status == NONZERO:
                conditions.append(base)
        return tuple(conditions), None

    def undefined(self, weight, base, claimed) -> Counterexample | None:
        """A network where the claimed entry, which divides by ``base`` (identically zero), is undefined in
        exact arithmetic (re-checked there: the division may lie in a branch never taken, or under a
        power whose exponent is positive), or None where none of ``tries`` random networks is one."""
        rng = random.Random(self.seed)
        for _ in range(self.tries):
            point = random_point(self.sym, rng)
            if not self.exactly_undefined(claimed, point):
                continue
            try:
                truth = None if self.no_numbers else sp.Float(true_gradient(self.sym, point, self.evaluator)[weight],
                                                              DIGITS)
            except Undefined:  # E itself has no value here
                continue
            return Counterexample(point, truth, None, WITNESS_ACTIVATION_TEXT if self.sym.error.has(a) else None,
                                  f"it divides by {_short(base)}, which is identically 0, and is undefined here")
        return None

    def divides_by_zero(self, index, weight, base, claimed) -> WeightProof:
        """The verdict on an entry that divides by ``base``, identically zero: refuted at a network where it
        is undefined in exact arithmetic, else undecided (the other methods' fallback)."""
        found = self.undefined(weight, base, claimed)
        if found is not None:
            return WeightProof(index, REFUTED, claimed=claimed, counterexample=found)
        return WeightProof(index, UNDECIDED, claimed=claimed, reason=UNTAKEN.format(base=_short(base)))

    def exactly_undefined(self, claimed, point: dict) -> bool:
        """Whether ``claimed`` is undefined at ``point`` in exact arithmetic, every opaque function by its
        closed form (so a Piecewise's conditions are decided); a Piecewise left undecided there is not."""
        closed = claimed.replace(lambda node: node.func in self.evaluator.closed,
                                 lambda node: self.evaluator.closed[node.func](*node.args))
        exact = closed.xreplace({symbol: sp.Rational(v) for symbol, v in point.items()})
        if exact.has(sp.Piecewise):
            return False
        return exactly_undefined(closed, point)

    def rewritten(self, weight, direct, claimed, decision: Decision) -> Verdict:
        if sp.count_ops(direct) + sp.count_ops(claimed) > SIZE_LIMIT:
            return Verdict(UNDECIDED, decision, reason=self.no_witness()
                           .replace("even rewritten in exponentials", "(too large to rewrite in exponentials)"))
        (left, right), basis = rewrite([direct, claimed])
        if reduces_to_zero(left - right, basis):  # where each kink's argument is not zero
            return self.with_denominators(weight, direct, claimed, decision, kinks=tuple(basis.kinks))
        return Verdict(UNDECIDED, decision, reason=self.no_witness())

    def no_witness(self) -> str:
        """Why an entry that is not an identity is not refuted either."""
        if self.no_numbers:
            return f"not an identity in the activation values, even rewritten in exponentials; {self.no_numbers}"
        return NO_WITNESS.format(tries=self.tries)


def not_shown_real(claimed, own: set) -> str | None:
    """Why ``claimed`` is not proven though its difference from ∂E/∂w is zero, or None: a root or application
    in it, not one of ``own`` (the nodes of ∂E/∂w or of E: the network's definition), not shown real at every
    network — it may cancel in the numerator, yet have no real value on a region (log(w) for w < 0)."""
    parts = unreal_parts(claimed, shown_positive, own)
    if not parts:
        return None
    return (f"it holds where {_short(parts[0])} is real, which could not be shown for every network (it may be "
            "complex or undefined on a whole region)")


def _short(expr, limit: int = 80) -> str:
    text = str(expr)
    return text if len(text) <= limit else text[: limit - 1] + "…"

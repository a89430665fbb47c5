"""The verdict on claimed entries: proven (and where), refuted (with a network), or undecided (and why).

For each weight, with ``direct`` the definition's ∂E/∂w and ``claimed`` the recurrence's entry:

1. the polynomial test (:mod:`.identity`): if direct − claimed has a zero numerator, the denominators of
   both sides decide (:mod:`.denominators`): positive → **proven**; of no fixed sign but not identically
   zero → **proven where they are not zero** (the conditions are kept); identically zero → the entry is
   0/0 everywhere: **refuted**, with a network where the claimed entry divides by zero; unknown →
   undecided;
2. otherwise a **counterexample** is searched (:mod:`.counterexample`): a real network where the true
   gradient (closed forms, high precision) differs from the claimed entry: **refuted**;
3. otherwise the difference is rewritten in the canonical basis (:mod:`.canonical`) and tested again: a
   correct entry written with other functions (σ(−z), e^(−z), tanh through e^z, Heaviside(z)) is
   **proven**, where its Heaviside or sign arguments are not zero (stated);
4. what is left is **undecided**, with the reason.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from gradproof.derive.proof.canonical import SIZE_LIMIT, reduces_to_zero, rewrite
from gradproof.derive.proof.counterexample import (WITNESS_ACTIVATION_TEXT, Counterexample, find_counterexamples,
                                                   random_point, true_gradient, without_numbers)
from gradproof.derive.proof.denominators import NONZERO, POSITIVE, ZERO, DenominatorCheck
from gradproof.derive.proof.evaluation import DIGITS, Evaluator
from gradproof.derive.proof.identity import Decision, decide_zero
from gradproof.derive.proof.result import PROVEN, REFUTED, UNDECIDED, WeightProof
from gradproof.derive.symbolic.functions import a
from gradproof.derive.symbolic.network import SymbolicNetwork

NO_WITNESS = ("not an identity in the activation values, even rewritten in exponentials; no counterexample "
              "at {tries} random networks (40 digits): it may be right in a form gradproof cannot reduce")


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
        verdicts = {}
        for weight, decision in decisions.items():
            checked = self.denominators.of(*entries[weight])
            if checked.status == ZERO:  # 0/0 everywhere, whatever the numerator says
                verdicts[weight] = Verdict(REFUTED, decision, self.undefined(weight, checked.zero))
            elif decision.is_zero:
                verdicts[weight] = self.with_denominators(weight, *entries[weight], decision)
            if weight in verdicts:
                advance()
        open_ = {w: entries[w][1] for w, d in decisions.items() if w not in verdicts}
        found = find_counterexamples(self.sym, open_, self.evaluator, self.seed, self.tries) if open_ else {}
        for weight in open_:
            if weight in found:
                verdicts[weight] = Verdict(REFUTED, decisions[weight], found[weight])
            else:
                verdicts[weight] = self.rewritten(weight, *entries[weight], decisions[weight])
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
        conditions = tuple(checked.conditions) + tuple(kinks)
        if checked.status in (POSITIVE, NONZERO):
            return Verdict(PROVEN, decision, conditions=conditions, ranges=checked.ranges)
        if checked.status == ZERO:
            return Verdict(REFUTED, decision, self.undefined(weight, checked.zero))
        return Verdict(UNDECIDED, decision, reason=f"its denominator {_short(checked.unknown)} could not be shown "
                       "to be nonzero almost everywhere (positive, or analytic and nonzero at a point)")

    def undefined(self, weight, base) -> Counterexample:
        """A network where the claimed entry divides by ``base``, which is identically zero."""
        point = random_point(self.sym, random.Random(self.seed))
        truth = None if self.no_numbers else sp.Float(true_gradient(self.sym, point, self.evaluator)[weight], DIGITS)
        return Counterexample(point, truth, None,
                              WITNESS_ACTIVATION_TEXT if self.sym.error.has(a) else None,
                              f"it divides by {_short(base)}, which is identically 0: the entry is 0/0 everywhere")

    def rewritten(self, weight, direct, claimed, decision: Decision) -> Verdict:
        if sp.count_ops(direct) + sp.count_ops(claimed) > SIZE_LIMIT:
            return Verdict(UNDECIDED, decision, reason=self.no_witness()
                           .replace("even rewritten in exponentials", "(too large to rewrite in exponentials)"))
        (left, right), basis = rewrite([direct, claimed])
        if reduces_to_zero(left - right, basis):
            return self.with_denominators(weight, direct, claimed, decision, kinks=tuple(basis.kinks))
        return Verdict(UNDECIDED, decision, reason=self.no_witness())

    def no_witness(self) -> str:
        """Why an entry that is not an identity is not refuted either."""
        if self.no_numbers:
            return f"not an identity in the activation values, even rewritten in exponentials; {self.no_numbers}"
        return NO_WITNESS.format(tries=self.tries)


def _short(expr, limit: int = 80) -> str:
    text = str(expr)
    return text if len(text) <= limit else text[: limit - 1] + "…"

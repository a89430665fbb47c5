"""Denominators: a rational identity holds only where its denominators are not zero.

The polynomial test compares numerators. Every base of a negative power in either side (anywhere in the
expression, function arguments included), and every expression at which a function applied there has a pole
(``POLES``: csch(u) at u = 0, tan(u) where cos(u) = 0, log(u) at u = 0), is therefore classified here:

- **positive** (or negative) everywhere, from the ranges the canonical basis makes explicit (σ(z) ∈ (0, 1),
  e^z > 0, softplus > 0, squares ≥ 0): the identity holds at every point;
- **nonzero**: not identically zero (a value far from 0 at a random point, in high precision), but of no
  fixed sign, and built from analytic functions only (its zeros are then a set of measure zero): the
  identity holds where it is not zero, and the proof says so;
- **zero**: identically zero (its numerator is the zero polynomial, in the activation values or in the
  canonical basis): the entry is 0/0, undefined at every point, and is never proven;
- **unknown**: none of these could be shown, or it is *regional* (:func:`~.canonical.shown_regional`): it
  holds Max, Min, Piecewise (constant on whole regions), a root or log of an argument of no known sign
  (√(w²) − w is 0 for every w ≥ 0), or relu, Heaviside, sign, Abs with a piece between their kinks that is
  identically 0 (w − |w|), so it may vanish on a set of positive measure though it is nonzero at a point.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import mpmath
import sympy as sp

from gradproof.derive.proof.canonical import RANGES, reduces_to_zero, rewrite, shown_regional, sign_of
from gradproof.derive.proof.domains import PIECEWISE
from gradproof.derive.proof.evaluation import DIGITS, Evaluator, Undefined, stable_value
from gradproof.derive.proof.identity import decide_zero
from gradproof.derive.symbolic.walk import post_order

POSITIVE, NONZERO, ZERO, UNKNOWN = "positive", "nonzero", "zero", "unknown"
#: functions that are constant on whole regions: a denominator holding one may vanish on a set of positive
#: measure, so "not identically zero" does not make the identity hold almost everywhere (with the roots and
#: logs of arguments of no known sign and functions not known to be analytic: :func:`~.domains.regional`)
REGIONAL = PIECEWISE


@dataclass(frozen=True)
class Denominators:
    """The verdict on the denominators of one identity."""

    status: str                                   #: the worst of its bases' (zero > unknown > nonzero > positive)
    conditions: tuple[sp.Expr, ...] = ()          #: bases of no fixed sign: the identity holds where each ≠ 0
    zero: sp.Expr | None = None                   #: a base that is identically zero
    ranges: frozenset = frozenset()               #: the ranges a positivity rested on
    unknown: sp.Expr | None = None                #: a base none of the tests could classify


def bases(*exprs, cache: dict | None = None) -> list[sp.Expr]:
    """Every base of a negative power in ``exprs``, function arguments included (``cache``: node → its
    bases, shared across calls, so entries that share subexpressions are looked into once)."""
    cache = {} if cache is None else cache
    found: dict = {}
    for expr in exprs:
        found.update(dict.fromkeys(_bases(sp.sympify(expr), cache)))
    return list(found)


#: functions with poles, and what must not be 0 where they are applied: csch(u) = 1/sinh(u) needs u ≠ 0, tan(u)
#: cos(u) ≠ 0, log(u) u ≠ 0 (its realness, u > 0, is :func:`~.domains.unreal_parts`'); a pole counts as a
#: denominator (sinh(relu(z))·csch(relu(z)) is 0·∞ for every z ≤ 0: regional, never proven)
POLES = {sp.csch: lambda u: (u,), sp.coth: lambda u: (u,), sp.log: lambda u: (u,),
         sp.cot: lambda u: (sp.sin(u),), sp.csc: lambda u: (sp.sin(u),),
         sp.tan: lambda u: (sp.cos(u),), sp.sec: lambda u: (sp.cos(u),),
         sp.atanh: lambda u: (1 - u, 1 + u), sp.acoth: lambda u: (1 - u, 1 + u)}


def _own_bases(node) -> tuple:
    """What ``node`` itself divides by: the base of a negative power (or of one of unknown sign), the
    expressions a function's poles lie at."""
    if node.is_Pow:
        divides = node.exp.is_nonnegative is not True  # x⁻¹, and xʸ for y of unknown sign
        return (node.base,) if divides and not node.base.is_Number else ()
    pole = POLES.get(node.func)
    if pole is None or len(node.args) != 1:
        return ()
    return tuple(base for base in pole(node.args[0]) if not base.is_Number)


def _bases(expr, cache: dict) -> tuple:
    def bases(node) -> tuple:
        return tuple(dict.fromkeys(_own_bases(node) + tuple(b for arg in node.args for b in cache[arg])))

    return post_order(expr, cache, bases, lambda node: node.args)


class DenominatorCheck:
    """Classifies denominators, each base once."""

    def __init__(self, evaluator: Evaluator | None = None, seed: int = 0, tries: int = 4):
        self.evaluator = evaluator or Evaluator()
        self.seed, self.tries = seed, tries
        self.cache: dict = {}
        self.nodes: dict = {}

    def of(self, *exprs) -> Denominators:
        statuses, conditions, ranges, found = [], [], set(), {}
        for base in bases(*exprs, cache=self.nodes):
            status, used = self.base(base)
            statuses.append(status)
            ranges |= used
            if status == NONZERO:
                conditions.append(base)
            found.setdefault(status, base)
        order = [ZERO, UNKNOWN, NONZERO, POSITIVE]
        worst = min(statuses, key=order.index) if statuses else POSITIVE
        return Denominators(worst, tuple(conditions), found.get(ZERO), frozenset(ranges), found.get(UNKNOWN))

    def base(self, base) -> tuple[str, frozenset]:
        if base not in self.cache:
            self.cache[base] = self._classify(base)
        return self.cache[base]

    def _classify(self, base) -> tuple[str, frozenset]:
        sign, basis = sign_of(base)
        if sign:
            return POSITIVE, frozenset(RANGES[f] for f in basis.ranges if f in RANGES)
        if decide_zero([base])[0].is_zero:
            return ZERO, frozenset()
        (rewritten,), basis = rewrite([base])
        if reduces_to_zero(rewritten, basis):
            return ZERO, frozenset()
        if shown_regional(base):  # it may vanish on a whole region (relu(z) = 0 for every z < 0)
            return UNKNOWN, frozenset()
        return (NONZERO if self._nonzero_somewhere(base) else UNKNOWN), frozenset()

    def _nonzero_somewhere(self, base) -> bool:
        rng = random.Random(self.seed)
        symbols = sorted(base.free_symbols, key=sp.default_sort_key)
        for _ in range(self.tries):
            point = {s: sp.Rational(rng.randint(-10**6, 10**6), 10**6) for s in symbols}
            try:
                value = stable_value(self.evaluator, base, point)
            except Undefined:
                continue
            if value is not None and abs(value) > mpmath.mpf(10) ** (20 - DIGITS):
                return True
        return False

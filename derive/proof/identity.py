"""A sound decision procedure for "these two expressions are equal", and counterexamples when not.

Every function application in the expressions (σ(z), a(z), a'(z), tanh(z), e^z, H(z), …) becomes an
independent unknown; what is left is a rational function of the weights, inputs, targets and those
unknowns with rational coefficients. If its numerator is the zero polynomial, the original difference is
zero whatever values the applications take, so the identity holds: the test never declares unequal
expressions equal. It can fail to prove a true identity that needs a relation between applications
(e^u·e^v = e^(u+v)); gradproof keeps such relations out of its forms (see ``Exp``). A nonzero polynomial
is reported as *refuted* only with a witness: a point where the two sides differ numerically.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import sympy as sp
from sympy.polys.rings import sring

from gradproof.derive.proof.ring import NotPolynomial, numerators
from gradproof.derive.symbolic.walk import atoms_of

METHOD = "polynomial identity"
METHOD_DESCRIPTION = (
    "for each weight, ∂E/∂w by sympy.diff minus the recurrence's entry, with every activation value a(z), "
    "a'(z) replaced by an independent unknown, is reduced to a polynomial over ℚ (its numerator over the "
    "least common multiple of its denominators) and compared with zero in sympy's sparse polynomial ring: exact and sound")


@dataclass(frozen=True)
class Decision:
    """Whether one difference is identically zero; its canonical (expanded) form on demand."""

    is_zero: bool
    polynomial: object = field(repr=False)
    back: dict = field(repr=False)

    @cached_property
    def residual(self) -> sp.Expr:
        """The difference as an expanded expression (its numerator, where it had a denominator)."""
        return sp.Integer(0) if self.is_zero else self.polynomial.as_expr().xreplace(self.back)


def atomize(exprs: Sequence[sp.Expr]) -> tuple[list[sp.Expr], dict]:
    """Replace every function application (and every power with an exponent that is not an integer) by a
    fresh symbol, consistently across ``exprs``.

    Returns the rewritten expressions and the map back (symbol → application)."""
    applications = set()
    for expr in exprs:
        found = atoms_of(expr, kinds=(sp.Function, sp.Pow))
        applications |= {node for node in found if not node.is_Pow or _root(node)}
    unknowns = {app: sp.Dummy(f"u{n}") for n, app in enumerate(sorted(applications, key=sp.default_sort_key))}
    return [expr.xreplace(unknowns) for expr in exprs], {u: app for app, u in unknowns.items()}


def _root(power: sp.Pow) -> bool:
    """A power that is not a polynomial in its base's symbols (√(w² + 1), x^x): an unknown of its own."""
    return not power.exp.is_Integer and bool(power.free_symbols)


def decide_zero(differences: Sequence[sp.Expr], advance: Callable[[], None] | None = None) -> list[Decision]:
    """For each expression, whether it is identically zero as a rational function of its atoms
    (``advance``: called once per expression as its numerator is found, for a progress bar).

    The numerators are built in a polynomial ring over the expressions' graph (:mod:`.ring`); an
    expression the ring cannot hold goes through sympy's ``together``, ``expand`` and ``sring``. Never
    zero where a floating-point number appears (their exact values are kept, but a cancellation written
    in rounded numbers is not an identity the user wrote)."""
    atomized, back = atomize(differences)
    if not atomized:
        return []
    floats = not _all_rational(atomized)
    try:
        polys = numerators(atomized)
    except NotPolynomial:
        polys = _expanded_numerators(atomized)
    for _ in polys:
        if advance:
            advance()
    return [Decision(poly == 0 and not floats, poly, back) for poly in polys]


def _expanded_numerators(atomized: list) -> list:
    expanded = [exact_numbers(_numerator(expr).expand()) for expr in atomized]
    return list(sring(expanded, domain=sp.QQ)[1])


def exact_numbers(expr) -> sp.Expr:
    """``expr`` with every Float replaced by the exact rational it holds (its binary value)."""
    expr = sp.sympify(expr)
    return expr.xreplace({number: sp.Rational(number) for number in atoms_of(expr, kinds=(sp.Float,))})


def _numerator(expr: sp.Expr) -> sp.Expr:
    if any(power.exp.is_negative for power in atoms_of(expr, kinds=(sp.Pow,))):
        return sp.fraction(sp.together(expr))[0]
    return expr


def _all_rational(exprs: Sequence[sp.Expr]) -> bool:
    return all(number.is_Rational for expr in exprs for number in atoms_of(expr, kinds=(sp.Number,)))

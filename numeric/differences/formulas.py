"""The network check's finite-difference formulas as exact linear functionals of E, and the absolute
weights their rounding scales with. (The layer check fits an error expansion from the same formulas at
h, 2h, 4h, 8h instead: :mod:`gradproof.numeric.differences.stencils`.)

The estimate M of ∂E/∂w at step h is a combination of E at stencil points (in units of h, divided by h)::

    forward      M = (E(w + h) − E(w))/h
    central      M = (E(w + h) − E(w − h))/(2h)
    richardson   M = (4·central(h) − central(2h))/3
    complex-step M = Im E(w + i·h)/h

Their truncation is bounded from analyticity (:mod:`gradproof.numeric.differences.truncation`), so
nothing else is evaluated: 1, 2, 4 and 1 evaluations per weight. The rounding of M is bounded by the sum
of the absolute weights M puts on the evaluations, times what each evaluation may be off, over h
(``rounding_weight``; for the complex step, whose M(1) is a forward-mode derivative, times the analytic
rounding bound).
"""

from __future__ import annotations

from fractions import Fraction

Functional = dict  # stencil point (a multiple of h; imaginary for the complex step) → Fraction


def estimate(method: str) -> Functional:
    """M as weights on E at stencil points, in units of 1/h (the complex step: on Im E)."""
    if method == "forward":
        return {1: Fraction(1), 0: Fraction(-1)}
    if method == "central":
        return {1: Fraction(1, 2), -1: Fraction(-1, 2)}
    if method == "richardson":
        return {1: Fraction(2, 3), -1: Fraction(-2, 3), 2: Fraction(-1, 12), -2: Fraction(1, 12)}
    return {1j: Fraction(1)}


def stencil(method: str) -> tuple:
    """Every point E is evaluated at besides 0 (the unperturbed weight, always available)."""
    return tuple(sorted((p for p in estimate(method) if p != 0), key=lambda p: (abs(p), str(p))))


def rounding_weight(method: str) -> Fraction:
    """Σ of the absolute weights M puts on the evaluations (1 for the complex step: see the module doc)."""
    if method == "complex-step":
        return Fraction(1)
    return sum(abs(w) for w in estimate(method).values())

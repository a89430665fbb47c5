"""Finite-difference formulas as exact linear functionals, and the error estimate each carries.

M(k) is a method's estimate of ∂E/∂w at step k·h, a linear combination of E at stencil points (in units
of 1/h)::

    forward      M(k) = (E(w + kh) − E(w))/(kh)                    error c·h + d·h² + …   (p = 1, q = 2)
    central      M(k) = (E(w + kh) − E(w − kh))/(2kh)               error c·h² + d·h⁴ + …  (p = 2, q = 4)
    richardson   M(k) = (4·central(k) − central(2k))/3              error c·h⁴ + d·h⁶ + …  (p = 4, q = 6)
    complex-step M(k) = Im E(w + i·kh)/(kh)                         error c·h² + d·h⁴ + …  (p = 2, q = 4)

From M(1), M(2), M(4): Δ₁ = M(2) − M(1) = (2ᵖ − 1)·c·hᵖ + (2^q − 1)·d·h^q and Δ₂ = M(4) − M(2) =
2ᵖ(2ᵖ − 1)·c·hᵖ + 2^q(2^q − 1)·d·h^q, so

    d·h^q = (Δ₂ − 2ᵖ·Δ₁) / ((2^q − 1)(2^q − 2ᵖ)),   c·hᵖ = (Δ₁ − (2^q − 1)·d·h^q) / (2ᵖ − 1)

and the truncation error of M(1) is bounded by |c·hᵖ| + 2·|d·h^q|: the two terms, plus the rest of the
expansion, which at these steps is bounded by its last term kept (the first omitted term of an asymptotic
series in its converging range is smaller than the last one kept; a test that broke at share 1.00002
with |c·hᵖ| + |d·h^q| alone had its first omitted term at 2% of |d·h^q|). The rounding of the estimate and
of M(1) is bounded by summing the absolute weights each puts on the evaluations (``rounding_weight``).
"""

from __future__ import annotations

from fractions import Fraction

ORDERS = {"forward": (1, 2), "central": (2, 4), "richardson": (4, 6), "complex-step": (2, 4)}
SCALES = (1, 2, 4)

Functional = dict  # stencil point (a multiple of h; imaginary for the complex step) → Fraction


def estimate(method: str, k: int) -> Functional:
    """M(k) as weights on E at stencil points, in units of 1/h (the complex step: on Im E)."""
    if method == "forward":
        return {k: Fraction(1, k), 0: Fraction(-1, k)}
    if method == "central":
        return {k: Fraction(1, 2 * k), -k: Fraction(-1, 2 * k)}
    if method == "richardson":
        return _add(_scale(estimate("central", k), Fraction(4, 3)), _scale(estimate("central", 2 * k), Fraction(-1, 3)))
    return {1j * k: Fraction(1, k)}


def stencil(method: str) -> tuple:
    """Every point E is evaluated at (0, the unperturbed weight, is always available)."""
    points = set()
    for k in SCALES:
        points |= set(estimate(method, k))
    points.discard(0)
    return tuple(sorted(points, key=lambda p: (abs(p), str(p))))


def error_terms(method: str) -> tuple[tuple[Fraction, ...], tuple[Fraction, ...]]:
    """The weights on (M(1), M(2), M(4)) of c·hᵖ and of d·h^q (see the module doc); the truncation bound
    is |c·hᵖ| + 2·|d·h^q|, so the rounding weight counts d·h^q twice."""
    p, q = ORDERS[method]
    delta1 = (Fraction(-1), Fraction(1), Fraction(0))
    delta2 = (Fraction(0), Fraction(-1), Fraction(1))
    denominator = (2 ** q - 1) * (2 ** q - 2 ** p)
    d = tuple((b - 2 ** p * a) / denominator for a, b in zip(delta1, delta2))
    c = tuple((a - (2 ** q - 1) * b) / (2 ** p - 1) for a, b in zip(delta1, d))
    return c, d


def rounding_weight(method: str) -> Fraction:
    """Σ over M(1), c·hᵖ and d·h^q of the absolute weights they put on each M(k), times each M(k)'s own
    absolute weight on the evaluations: the bound on their rounding is this times δE/h (for the complex
    step, times the rounding bound of one M(k))."""
    c, d = error_terms(method)
    on_m = [(k == 1) + abs(ck) + 2 * abs(dk) for k, ck, dk in zip(SCALES, c, d)]
    if method == "complex-step":
        return sum(on_m)  # each M(k) = Im E/(kh) is within the analytic bound, whatever k
    return sum(w * sum(abs(v) for v in estimate(method, k).values()) for w, k in zip(on_m, SCALES))


def _scale(functional: Functional, factor: Fraction) -> Functional:
    return {point: weight * factor for point, weight in functional.items()}


def _add(first: Functional, second: Functional) -> Functional:
    total = dict(first)
    for point, weight in second.items():
        total[point] = total.get(point, 0) + weight
    return {point: weight for point, weight in total.items() if weight != 0}

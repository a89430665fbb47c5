"""Finite-difference formulas as exact linear functionals, and the error estimate each carries.

M(k) is a method's estimate of ∂E/∂w at step k·h, a linear combination of E at stencil points (in units
of 1/h)::

    forward      M(k) = (E(w + kh) − E(w))/(kh)              error c·h + d·h² + e·h³ + …
    central      M(k) = (E(w + kh) − E(w − kh))/(2kh)         error c·h² + d·h⁴ + e·h⁶ + …
    richardson   M(k) = (4·central(k) − central(2k))/3        error c·h⁴ + d·h⁶ + e·h⁸ + …
    complex-step M(k) = Im E(w + i·kh)/(kh)                   error c·h² + d·h⁴ + e·h⁶ + …

From M(1), M(2), M(4), M(8) the first three terms of the error expansion are solved for exactly:
M(k) = g + C·kᵖ + D·k^q + G·k^r with C = c·hᵖ, D = d·h^q, G = e·h^r at the step h (a 4×4 linear system,
``error_terms``). The truncation error of M(1) is bounded by |C| + |D| + 2·|G|: the three terms, and the
rest of the expansion (of order h^(r+1) and beyond), bounded by its last term kept. Where the steps are too
large for the weight, the terms no longer shrink, |G| is large and so is the bound: the check loses
sensitivity there rather than raising a false alarm. (A two-term fit with the rest bounded by |D| broke on
a random network in the thorough run, at a step outside the converging range, by 0.4%.) The rounding of
the estimate and of M(1) is bounded by summing the absolute weights each puts on the evaluations
(``rounding_weight``).
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

#: the orders (p, q, r) of the first three terms of each method's error expansion
ORDERS = {"forward": (1, 2, 3), "central": (2, 4, 6), "richardson": (4, 6, 8), "complex-step": (2, 4, 6)}
SCALES = (1, 2, 4, 8)

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


@lru_cache(maxsize=None)
def error_terms(method: str) -> tuple[tuple[Fraction, ...], ...]:
    """The weights on (M(1), M(2), M(4), M(8)) of C, D and G (see the module doc), exact."""
    exponents = (0,) + ORDERS[method]
    rows = [[Fraction(k) ** e for e in exponents] for k in SCALES]
    inverse = _inverse(rows)
    return tuple(tuple(inverse[term]) for term in (1, 2, 3))


@lru_cache(maxsize=None)
def rounding_weight(method: str) -> Fraction:
    """Σ over M(1), C, D and 2·G of the absolute weights they put on each M(k), times each M(k)'s own
    absolute weight on the evaluations: the bound on their rounding is this times δE/h (for the complex
    step, times the rounding bound of one M(k))."""
    c, d, g = error_terms(method)
    on_m = [(k == 1) + abs(c[i]) + abs(d[i]) + 2 * abs(g[i]) for i, k in enumerate(SCALES)]
    if method == "complex-step":
        return sum(on_m)  # each M(k) = Im E/(kh) is within the analytic bound, whatever k
    return sum(w * sum(abs(v) for v in estimate(method, k).values()) for w, k in zip(on_m, SCALES))


def _inverse(rows: list[list[Fraction]]) -> list[list[Fraction]]:
    """The inverse of a small square matrix of Fractions (Gauss–Jordan, exact)."""
    n = len(rows)
    work = [list(row) + [Fraction(int(i == j)) for j in range(n)] for i, row in enumerate(rows)]
    for col in range(n):
        pivot = next(r for r in range(col, n) if work[r][col] != 0)
        work[col], work[pivot] = work[pivot], work[col]
        work[col] = [v / work[col][col] for v in work[col]]
        for r in range(n):
            if r != col and work[r][col] != 0:
                work[r] = [a - work[r][col] * b for a, b in zip(work[r], work[col])]
    return [row[n:] for row in work]


def _scale(functional: Functional, factor: Fraction) -> Functional:
    return {point: weight * factor for point, weight in functional.items()}


def _add(first: Functional, second: Functional) -> Functional:
    total = dict(first)
    for point, weight in second.items():
        total[point] = total.get(point, 0) + weight
    return {point: weight for point, weight in total.items() if weight != 0}

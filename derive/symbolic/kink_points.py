"""Where an activation's derivative may jump: its kinks, located only where that is cheap and exact.

A kink sits where an argument of Abs, Heaviside or sign is 0, where two arguments of Max or Min meet, or
on the boundary of a Piecewise condition: the zeros of an *edge* expression in z. An edge is solved here
only when it is (on each branch of its own Max, Min, Abs, … folded into a Piecewise) a quotient of
polynomials in z of low degree: exact real roots (root isolation over ℚ, or the one root of a linear
polynomial), whose number and cost are bounded. ``sympy.solve`` is never called: on a transcendental
edge it raises, on a degree-40 polynomial it may not finish. An edge left unsolved is returned as it is
(*not located*): the proof's statement says so, and numeric checks watch its sign instead of a point.
"""

from __future__ import annotations

import sympy as sp
from sympy.core.relational import Relational

KINKED = (sp.Max, sp.Min, sp.Abs, sp.Heaviside, sp.sign, sp.Piecewise)
MAX_DEGREE = 8          #: polynomials up to this degree are solved (root isolation over ℚ)
MAX_OPERATIONS = 60     #: larger edges are not folded into branches
MAX_BRANCHES = 16       #: nor are edges with more branches than this


def edges(expr: sp.Expr) -> list[sp.Expr]:
    """The expressions whose zeros are ``expr``'s possible kinks."""
    found = []
    for node in sorted(expr.atoms(*KINKED), key=sp.default_sort_key):
        if isinstance(node, sp.Piecewise):
            found += [rel.lhs - rel.rhs for _, cond in node.args for rel in cond.atoms(Relational)]
        elif isinstance(node, (sp.Max, sp.Min)):
            found += [node.args[0] - other for other in node.args[1:]]
        else:
            found.append(node.args[0])
    return list(dict.fromkeys(found))


def locate(expr: sp.Expr, variable: sp.Symbol) -> tuple[tuple[float, ...], tuple[sp.Expr, ...]]:
    """(the kinks located, sorted; the edges whose zeros were not located)."""
    points, unlocated = set(), []
    for edge in edges(expr):
        zeros = edge_zeros(edge, variable)
        if zeros is None:
            unlocated.append(edge)
        else:
            points.update(float(point) for point in zeros)
    return tuple(sorted(points)), tuple(unlocated)


def edge_zeros(edge: sp.Expr, variable: sp.Symbol) -> list[sp.Expr] | None:
    """The real zeros of ``edge`` (exact) (where it changes sign through a pole too), or None: not located."""
    if not edge.has(*KINKED):
        return rational_zeros(edge, variable)
    if sp.count_ops(edge) > MAX_OPERATIONS:
        return None
    folded = sp.piecewise_fold(edge.rewrite(sp.Piecewise))
    branches = folded.args if isinstance(folded, sp.Piecewise) else ((folded, sp.true),)
    if len(branches) > MAX_BRANCHES or any(branch.has(*KINKED) for branch, _ in branches):
        return None
    found = []
    for branch, condition in branches:  # a branch identically 0 jumps only where its condition does
        zeros = [] if branch == 0 else rational_zeros(branch, variable)
        if zeros is None:
            return None
        for point in zeros:
            holds = condition.subs(variable, point) if condition is not sp.true else True
            if holds not in (True, False, sp.true, sp.false):
                return None
            found += [point] if holds else []
    return found


def rational_zeros(expr: sp.Expr, variable: sp.Symbol) -> list[sp.Expr] | None:
    """The real zeros of numerator and denominator of ``expr``, a quotient of polynomials in
    ``variable`` of degree ≤ MAX_DEGREE; None for anything else."""
    numerator, denominator = sp.fraction(sp.together(expr))
    found = []
    for part in (numerator, denominator):
        zeros = polynomial_zeros(part, variable)
        if zeros is None:
            return None
        found += zeros
    return found


def polynomial_zeros(expr: sp.Expr, variable: sp.Symbol) -> list[sp.Expr] | None:
    if not expr.has(variable):
        return []
    if not expr.is_polynomial(variable):
        return None
    try:
        poly = sp.Poly(expr, variable)
    except sp.PolynomialError:
        return None
    if poly.degree() > MAX_DEGREE:
        return None
    if poly.degree() == 1:
        lead, constant = poly.all_coeffs()
        root = -constant / lead
        return [root] if root.is_real else None
    if not poly.domain.is_QQ and not poly.domain.is_ZZ:
        return None
    return list(dict.fromkeys(poly.real_roots()))

"""Numerators as polynomials over ℚ, built over an expression's graph.

An expression whose only nodes are sums, products, integer powers, rational (or binary floating-point)
numbers and atoms is a rational function of its atoms. :func:`numerators` writes each expression given as
``numerator / denominator`` with both sides elements of one sparse polynomial ring (sympy's
``PolyRing`` over ℚ, the atoms its generators) and returns the numerators. Each node of the graph is
converted once, so a subexpression shared by many paths (the network's activations, shared by every
weight's ∂E/∂w) costs once, where ``sympy.expand`` and ``together`` walk the tree and meet it on every path.

A denominator is kept as a product of powers of the polynomials it divides by (its bases); a sum brings
its terms to the least common multiple of those products (the larger power of each base), so a base that
recurs is not multiplied in again. Nothing is cancelled by a gcd: the numerator is zero exactly when the
expression is, wherever its denominators are not zero (the denominators are decided elsewhere,
:mod:`.denominators`). A base that is the zero polynomial (a division by a literal 0) and any node that is
not of these kinds (an unevaluated function, ∞, a non-integer power) raise :class:`NotPolynomial`, and
the caller takes another way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy as sp
from sympy.polys.domains import QQ
from sympy.polys.orderings import lex
from sympy.polys.rings import PolyRing

from gradproof.derive.symbolic.walk import nodes_of, post_order


class NotPolynomial(Exception):
    """A node that is not a sum, product, integer power, finite number or atom (or divides by 0)."""


def numerators(exprs: Sequence[sp.Expr], advance: Callable[[], None] | None = None) -> list:
    """Each expression's numerator as an element of one ring over ℚ whose generators are the
    expressions' atoms (``advance``: called once per expression, for a progress bar)."""
    atoms = sorted((node for node in nodes_of(*exprs) if node.is_Atom and not node.is_Number),
                   key=sp.default_sort_key)
    for atom in atoms:
        if not (atom.is_Symbol or (atom.is_number and atom.is_finite)):  # zoo, True: not a value in ℚ(atoms)
            raise NotPolynomial(f"the atom {atom}")
    try:
        ring = PolyRing(atoms or [sp.Dummy("one")], QQ, lex)
    except Exception as refused:  # noqa: BLE001 - an atom the ring takes no generator for
        raise NotPolynomial(str(refused)) from None
    generators = dict(zip(atoms, ring.gens))
    done: dict = {}
    found = []
    for expr in exprs:
        found.append(post_order(expr, done, lambda node: _fraction(node, done, ring, generators))[0])
        if advance:
            advance()
    return found


def _fraction(node, done: dict, ring, generators: dict) -> tuple:
    """(numerator, denominator) of one node: the denominator as {base polynomial: power}."""
    if node in generators:
        return generators[node], {}
    if node.is_Number:
        if node.is_Rational or (node.is_Float and node.is_finite):
            return ring(QQ.convert(sp.Rational(node))), {}
        raise NotPolynomial(f"the number {node}")
    parts = [done[arg] for arg in node.args]
    if node.is_Add:
        return _sum(ring, parts)
    if node.is_Mul:
        numerator, denominator = ring.one, {}
        for top, bottom in parts:
            numerator *= top
            denominator = _product(denominator, bottom)
        return numerator, denominator
    if node.is_Pow and node.exp.is_Integer:
        return _power(ring, parts[0], int(node.exp))
    raise NotPolynomial(f"{type(node).__name__} is not a sum, product or integer power")


def _power(ring, part: tuple, k: int) -> tuple:
    top, bottom = part
    if k >= 0:
        return top ** k, {base: power * k for base, power in bottom.items()}
    if top == 0:
        raise NotPolynomial("a division by 0")
    return _expanded(ring, bottom, -k), ({} if top == ring.one else {top: -k})


def _product(left: dict, right: dict) -> dict:
    out = dict(left)
    for base, power in right.items():
        out[base] = out.get(base, 0) + power
    return out


def _expanded(ring, denominator: dict, times: int = 1):
    out = ring.one
    for base, power in denominator.items():
        out *= base ** (power * times)
    return out


def _sum(ring, parts: list) -> tuple:
    common: dict = {}
    for _, bottom in parts:
        for base, power in bottom.items():
            common[base] = max(common.get(base, 0), power)
    numerator = ring.zero
    for top, bottom in parts:
        missing = {base: power - bottom.get(base, 0) for base, power in common.items() if power > bottom.get(base, 0)}
        numerator += top * _expanded(ring, missing)
    return numerator, common

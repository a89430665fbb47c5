"""Zero-testing with square roots: rational functions of the inputs, of opaque applications, and of √u.

:mod:`gradproof.derive.proof.identity` decides "this difference is zero" for rational functions whose
function applications are independent unknowns. A normalisation layer adds square roots (``np.sqrt`` of a
variance): each ``Root(u)`` becomes an unknown ``s`` tied to its radicand by ``s² = u``. The numerator of
the difference, a polynomial, is reduced modulo every ``s² − u`` (a Gröbner basis in an order where each
``s`` comes first, since the leading terms ``s²`` are pairwise coprime, so the remainder is canonical).
A zero remainder means the difference vanishes wherever every ``s`` is a square root of its radicand and
every denominator is nonzero: sound. A nonzero remainder decides nothing by itself (the roots may be
related in ways the reduction does not see, e.g. a radicand that is a perfect square): the caller looks for
a counterexample before calling anything refuted.

The domain the zero holds on (denominators ≠ 0, radicands > 0, logarithms' arguments > 0) is recorded by
the tracer; this module states what it assumed in :data:`ASSUMPTIONS`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import sympy as sp

from gradproof.derive.proof.packed import Packed, add_into, scaled, stripped
from gradproof.derive.symbolic.functions import sigmoid
from gradproof.derive.trace.element import Root

METHOD = "polynomial identity with square roots"
METHOD_DESCRIPTION = (
    "each difference sympy.diff(E, v) − claimed, with every exp, log, tanh application an independent unknown "
    "and every √u an unknown s with s² = u, is put over a common denominator; its numerator is reduced modulo "
    "the relations s² − u as a polynomial over ℤ (rational constants cleared) and compared with zero: exact and "
    "sound on the domain (denominators ≠ 0, radicands and logarithms' arguments > 0)")


def decide_zero(differences: Sequence[sp.Expr], exponentials: bool = False) -> list[bool]:
    """For each expression: True if it is identically zero on its domain (proven), False if undecided.

    ``exponentials``: first write tanh, sinh and cosh with exp, and every exp(c₁m₁ + c₂m₂ + …) as the
    product of powers of exp(mᵢ) for the monomials mᵢ (each exp(mᵢ) an unknown): slower, and proves
    identities that relate applications (log cosh's tanh to its exp(−2|u|), a softmax shifted two ways)."""
    if exponentials:
        differences = exponential_form(differences)
    decisions = [False] * len(differences)
    for group in components(differences):
        try:
            converter = _Converter([differences[k] for k in group])
            for k in group:
                decisions[k] = converter.is_zero(differences[k])
        except ValueError:   # something the ring cannot hold (a fractional power): undecided, never proven
            continue
    return decisions


def components(expressions: Sequence[sp.Expr]) -> list[list[int]]:
    """The expressions grouped so that two groups share no subexpression (no symbol, no application): each
    group gets its own polynomial ring, with only its own unknowns (a batchnorm's channels, a groupnorm's
    groups), which keeps every monomial short. Linear in the size of the expressions' DAG."""
    parent = list(range(len(expressions)))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    owner: dict = {}
    for k, expr in enumerate(expressions):
        stack = [expr]
        while stack:
            node = stack.pop()
            if node.is_Number:
                continue
            seen = owner.get(node)
            if seen is not None:
                parent[root(seen)] = root(k)
                continue
            owner[node] = k
            stack.extend(node.args)
    groups: dict = {}
    for k in range(len(expressions)):
        groups.setdefault(root(k), []).append(k)
    return list(groups.values())


class _Converter:
    """Expressions into polynomials over ℤ (:mod:`.packed`), each shared subexpression once.

    Generators: one unknown t per Root (outer roots first), then the symbols and one unknown per other
    function application (or non-rational constant). A value is a fraction (numerator, scale, denominator):
    numerator / (scale · ∏ polynomialᵖᵒʷᵉʳ), the numerator with integer coefficients, the scale a positive
    integer (the rational constants' denominators: integers keep the arithmetic native), the denominator
    kept factored ({base expression: (polynomial, power)}), so a sum over a common factor (1/s, 1/s², 1/s³)
    takes the largest power instead of the product. √u for a polynomial u = p/q (p over ℤ, q a positive
    integer) is t/q with t² = p·q: a monic relation, so reducing modulo it stays in ℤ."""

    def __init__(self, expressions: Sequence[sp.Expr]):
        self.applications: dict = {}
        self.roots: dict = {}
        seen: set = set()
        for expr in expressions:
            self._collect(expr, seen)
        roots = sorted(self.roots, key=_depth, reverse=True)
        symbols = sorted({n for n in seen if n.is_Symbol}, key=sp.default_sort_key)
        others = sorted(self.applications, key=sp.default_sort_key)
        self.ring = Packed(len(roots) + len(symbols) + len(others))
        self.index = {node: k for k, node in enumerate(roots + symbols + others)}
        self.memo: dict = {}
        self.relations: list = []   # (generator index, radicand polynomial), outer roots first
        for root in reversed(roots):   # inner roots first: an outer radicand may contain them
            self._relate(root)
        self.relations.reverse()

    def _relate(self, root) -> None:
        """t² = p·q for √(p/q); a radicand with a polynomial denominator keeps its root opaque (no relation:
        sound, only weaker)."""
        numerator, scale, denominator = self.fraction(root.args[0])
        k = self.index[root]
        if denominator:
            self.memo[root] = (Packed.generator(k), 1, {})
            return
        self.memo[root] = (Packed.generator(k), scale, {})
        self.relations.append((k, scaled(numerator, scale)))

    def _collect(self, expr, seen: set) -> None:
        stack = [expr]
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            if isinstance(node, Root):
                self.roots[node] = True
            elif isinstance(node, sp.Function) or (node.is_Number and not node.is_Rational) or node.is_NumberSymbol:
                self.applications[node] = True
                continue
            stack.extend(node.args)

    def fraction(self, node):
        found = self.memo.get(node)
        if found is None:
            found = self.memo[node] = self._convert(node)
        return found

    def is_zero(self, node) -> bool:
        """Whether ``node``'s numerator, reduced modulo every t² = p·q, is the zero polynomial."""
        numerator = self.fraction(node)[0]
        for k, radicand in self.relations:
            if not numerator:
                break
            numerator = self.ring.reduce_root(numerator, k, radicand)
        return not numerator

    def _convert(self, node):
        if node in self.index:
            return Packed.generator(self.index[node]), 1, {}
        if node.is_Rational:
            return Packed.constant(node.p), node.q, {}
        if node.is_Add:
            return self._add([self.fraction(arg) for arg in node.args])
        if node.is_Mul:
            return self._multiply([self.fraction(arg) for arg in node.args])
        if node.is_Pow and node.exp.is_Integer:
            numerator, scale, denominator = self.fraction(node.base)
            n = int(node.exp)
            if n >= 0:
                return (self.ring.power(numerator, n), scale ** n,
                        {k: (p, e * n) for k, (p, e) in denominator.items()})
            return scaled(self._product(denominator, -n), scale ** -n), 1, {node.base: (numerator, -n)}
        raise ValueError(f"cannot put {type(node).__name__} into a polynomial ring")

    def _product(self, denominator: dict, times: int) -> dict:
        result = {0: 1}
        for polynomial, power in denominator.values():
            result = self.ring.multiply(result, self.ring.power(polynomial, power * times))
        return result

    def _multiply(self, fractions):
        numerator, scale, denominator = {0: 1}, 1, {}
        for n, q, d in fractions:
            numerator = self.ring.multiply(numerator, n)
            scale *= q
            for key, (polynomial, power) in d.items():
                old = denominator.get(key, (polynomial, 0))[1]
                denominator[key] = (polynomial, old + power)
        return numerator, scale, denominator

    def _add(self, fractions):
        common: dict = {}
        scale = 1
        for _, q, d in fractions:
            scale = math.lcm(scale, q)
            for key, (polynomial, power) in d.items():
                if power > common.get(key, (polynomial, 0))[1]:
                    common[key] = (polynomial, power)
        total: dict = {}
        for n, q, d in fractions:
            term = n
            for key, (polynomial, power) in common.items():
                missing = power - d.get(key, (polynomial, 0))[1]
                if missing:
                    term = self.ring.multiply(term, self.ring.power(polynomial, missing))
            add_into(total, term, scale // q)
        return stripped(total), scale, common


def exponential_form(expressions: Sequence[sp.Expr]) -> list[sp.Expr]:
    """The expressions with σ, tanh, sinh, cosh written with exp, and each exp split over the monomials of
    its (expanded) argument: exp(2a − b) = E_a² · E_b⁻¹ with E_a, E_b positive unknowns. The coefficients a
    monomial carries are put on a common base where their ratios are small (exp(−y), exp(2y), exp(y/2) are
    powers of one unknown exp(y/2)); coefficients too far apart keep unknowns of their own (sound: fewer
    relations, never a wrong one)."""
    rewritten = [_as_exponentials(e) for e in expressions]
    arguments = {e.args[0] for expr in rewritten for e in expr.atoms(sp.exp)}
    coefficients: dict = {}
    split = {}
    for argument in arguments:
        split[argument] = [_coefficient_and_monomial(t) for t in sp.Add.make_args(sp.expand(argument))]
        for coefficient, monomial in split[argument]:
            coefficients.setdefault(monomial, set()).add(coefficient)
    powers = {}
    for monomial, found in coefficients.items():
        for base, members in _common_bases(found):
            unknown = sp.Dummy(f"E{len(powers)}", positive=True)
            powers.update({(monomial, c): unknown ** int(c / base) for c in members})
    replaced = {sp.exp(a): sp.Mul(*(powers[(m, c)] for c, m in terms)) for a, terms in split.items()}
    return [expr.xreplace(replaced) for expr in rewritten]


def _as_exponentials(expr: sp.Expr) -> sp.Expr:
    expr = expr.replace(sigmoid, lambda u: 1 / (1 + sp.exp(-u)))
    expr = expr.replace(sp.tanh, lambda u: (sp.exp(2 * u) - 1) / (sp.exp(2 * u) + 1))
    expr = expr.replace(sp.sinh, lambda u: (sp.exp(u) - sp.exp(-u)) / 2)
    return expr.replace(sp.cosh, lambda u: (sp.exp(u) + sp.exp(-u)) / 2)


def _coefficient_and_monomial(term: sp.Expr) -> tuple[Fraction, sp.Expr]:
    coefficient, monomial = term.as_coeff_Mul()
    if not coefficient.is_Rational:
        coefficient, monomial = sp.Integer(1), term
    return Fraction(int(coefficient.p), int(coefficient.q)), monomial


#: exponents of one unknown stay within this (a coefficient further from its class gets its own unknown)
LARGEST_POWER = 64


def _common_bases(coefficients: set) -> list[tuple[Fraction, list[Fraction]]]:
    """Classes of coefficients with a rational base each, every member an integer multiple of its base of
    absolute value ≤ LARGEST_POWER (the base: the rational gcd of the members)."""
    classes: list = []
    for c in sorted(coefficients, key=lambda f: (f.denominator, abs(f.numerator))):
        for entry in classes:
            base = _gcd(entry[0], c)
            if all(abs(m / base) <= LARGEST_POWER for m in entry[1] + [c]):
                entry[0] = base
                entry[1].append(c)
                break
        else:
            classes.append([abs(c), [c]])
    return [(base, members) for base, members in classes]


def _gcd(a: Fraction, b: Fraction) -> Fraction:
    return Fraction(math.gcd(a.numerator * b.denominator, b.numerator * a.denominator), a.denominator * b.denominator)


def _depth(root: Root) -> int:
    """How many roots sit inside ``root`` (itself included): outer roots are reduced first."""
    return 1 + max((_depth(inner) for inner in root.args[0].atoms(Root)), default=0)

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

from collections.abc import Sequence

import sympy as sp
from sympy.polys.orderings import lex
from sympy.polys.rings import ring

from gradproof.derive.symbolic.functions import sigmoid
from gradproof.derive.trace.element import Root

METHOD = "polynomial identity with square roots"
METHOD_DESCRIPTION = (
    "each difference sympy.diff(E, v) − claimed, with every exp, log, tanh application an independent unknown "
    "and every √u an unknown s with s² = u, is put over a common denominator; its numerator is reduced modulo "
    "the relations s² − u in sympy's polynomial ring over ℚ and compared with zero: exact and sound on the "
    "domain (denominators ≠ 0, radicands and logarithms' arguments > 0)")


def decide_zero(differences: Sequence[sp.Expr], exponentials: bool = False) -> list[bool]:
    """For each expression: True if it is identically zero on its domain (proven), False if undecided.

    ``exponentials``: first write tanh, sinh and cosh with exp, and every exp(c₁m₁ + c₂m₂ + …) as the
    product of powers of exp(mᵢ) for the monomials mᵢ (each exp(mᵢ) an unknown): slower, and proves
    identities that relate applications (log cosh's tanh to its exp(−2|u|), a softmax shifted two ways)."""
    if exponentials:
        table: dict = {}
        differences = [exponential_form(e, table) for e in differences]
    converter = _Converter(differences)
    numerators = [converter.fraction(d)[0] for d in differences]
    return [_reduces_to_zero(n, converter.basis) for n in numerators]


class _Converter:
    """Expressions into sympy's sparse polynomial ring over ℚ, each shared subexpression once.

    Generators: one unknown s per Root (outer roots first, lex order), then the symbols and one unknown per
    other function application (or non-rational constant). A value is a fraction (numerator, denominator)
    with the denominator kept factored ({base expression: (polynomial, power)}), so a sum over a common
    factor (1/s, 1/s², 1/s³) takes the largest power instead of the product."""

    def __init__(self, expressions: Sequence[sp.Expr]):
        self.applications: dict = {}
        self.roots: dict = {}
        seen: set = set()
        for expr in expressions:
            self._collect(expr, seen)
        roots = sorted(self.roots, key=_depth, reverse=True)
        symbols = sorted({n for n in seen if n.is_Symbol}, key=sp.default_sort_key)
        others = sorted(self.applications, key=sp.default_sort_key)
        names = [sp.Dummy(f"g{k}") for k in range(len(roots) + len(symbols) + len(others))]
        self.ring, *gens = ring(names, sp.QQ, lex)
        self.gen = dict(zip(roots + symbols + others, gens))
        self.memo: dict = {}
        self.basis = [self.gen[r] ** 2 - self._polynomial(r.args[0]) for r in roots]

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

    def _polynomial(self, expr):
        numerator, denominator = self.fraction(expr)
        if denominator:
            raise ValueError("a square root of a fraction")  # never traced: radicands are polynomials here
        return numerator

    def fraction(self, node):
        found = self.memo.get(node)
        if found is None:
            found = self.memo[node] = self._convert(node)
        return found

    def _convert(self, node):
        R = self.ring
        if node in self.gen:
            return self.gen[node], {}
        if node.is_Rational:
            return R(node), {}
        if node.is_Add:
            return _add([self.fraction(arg) for arg in node.args], R)
        if node.is_Mul:
            return _multiply([self.fraction(arg) for arg in node.args], R)
        if node.is_Pow and node.exp.is_Integer:
            numerator, denominator = self.fraction(node.base)
            n = int(node.exp)
            if n >= 0:
                return numerator ** n, {k: (p, e * n) for k, p_e in denominator.items() for p, e in [p_e]}
            return _product(denominator, -n, R), {node.base: (numerator, -n)}
        raise ValueError(f"cannot put {type(node).__name__} into a polynomial ring")


def _product(denominator: dict, times: int, R):
    result = R.one
    for polynomial, power in denominator.values():
        result *= polynomial ** (power * times)
    return result


def _multiply(fractions, R):
    numerator, denominator = R.one, {}
    for n, d in fractions:
        numerator *= n
        for key, (polynomial, power) in d.items():
            old = denominator.get(key, (polynomial, 0))[1]
            denominator[key] = (polynomial, old + power)
    return numerator, denominator


def _add(fractions, R):
    common: dict = {}
    for _, d in fractions:
        for key, (polynomial, power) in d.items():
            if power > common.get(key, (polynomial, 0))[1]:
                common[key] = (polynomial, power)
    total = R.zero
    for n, d in fractions:
        scale = R.one
        for key, (polynomial, power) in common.items():
            missing = power - d.get(key, (polynomial, 0))[1]
            if missing:
                scale *= polynomial ** missing
        total += n * scale
    return total, common


def exponential_form(expr: sp.Expr, table: dict) -> sp.Expr:
    """``expr`` with tanh, sinh, cosh written with exp and each exp split over the monomials of its
    (expanded) argument: exp(2a − b) = E_a² · E_b⁻¹ with E_a, E_b unknowns (``table``: monomial → unknown)."""
    expr = expr.replace(sigmoid, lambda u: 1 / (1 + sp.exp(-u)))
    expr = expr.replace(sp.tanh, lambda u: (sp.exp(2 * u) - 1) / (sp.exp(2 * u) + 1))
    expr = expr.replace(sp.sinh, lambda u: (sp.exp(u) - sp.exp(-u)) / 2)
    expr = expr.replace(sp.cosh, lambda u: (sp.exp(u) + sp.exp(-u)) / 2)
    return expr.replace(lambda e: isinstance(e, sp.exp), lambda e: _split_exp(e.args[0], table))


def _split_exp(argument: sp.Expr, table: dict) -> sp.Expr:
    factors = []
    for term in sp.Add.make_args(sp.expand(argument)):
        coefficient, monomial = term.as_coeff_Mul()
        if not coefficient.is_Rational:
            coefficient, monomial = sp.Integer(1), term
        base = monomial / coefficient.q if coefficient.q != 1 else monomial
        if base not in table:
            table[base] = sp.Dummy(f"E{len(table)}", positive=True)
        factors.append(table[base] ** coefficient.p)
    return sp.Mul(*factors)


def _reduces_to_zero(poly, basis) -> bool:
    if poly == 0:
        return True
    return bool(basis) and poly.rem(basis) == 0


def _depth(root: Root) -> int:
    """How many roots sit inside ``root`` (itself included): outer roots are reduced first."""
    return 1 + max((_depth(inner) for inner in root.args[0].atoms(Root)), default=0)

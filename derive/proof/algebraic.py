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

from gradproof.derive.proof.identity import atomize
from gradproof.derive.trace.element import Root

METHOD = "polynomial identity with square roots"
METHOD_DESCRIPTION = (
    "each difference sympy.diff(E, v) − claimed, with every exp, log, tanh application an independent unknown "
    "and every √u an unknown s with s² = u, is put over a common denominator; its numerator is reduced modulo "
    "the relations s² − u in sympy's polynomial ring over ℚ and compared with zero: exact and sound on the "
    "domain (denominators ≠ 0, radicands and logarithms' arguments > 0)")


def decide_zero(differences: Sequence[sp.Expr]) -> list[bool]:
    """For each expression: True if it is identically zero on its domain (proven), False if undecided."""
    roots = sorted({r for d in differences for r in d.atoms(Root)}, key=_depth, reverse=True)
    unknowns = {r: sp.Dummy(f"s{k}", positive=True) for k, r in enumerate(roots)}
    relations = [r.args[0].xreplace(unknowns) for r in roots]
    replaced = [d.xreplace(unknowns) for d in differences]
    atomized, _ = atomize(list(replaced) + relations)
    numerators = [sp.fraction(sp.together(e))[0] for e in atomized[:len(replaced)]]
    radicands = atomized[len(replaced):]
    if not numerators:
        return []
    roots_first = [unknowns[r] for r in roots]
    others = sorted(set().union(*(e.free_symbols for e in numerators + radicands)) - set(roots_first),
                    key=sp.default_sort_key)
    R, *gens = ring(roots_first + others, sp.QQ, lex)
    basis = [gens[k] ** 2 - R(radicand) for k, radicand in enumerate(radicands)]
    return [_reduces_to_zero(R(numerator), basis) for numerator in numerators]


def _reduces_to_zero(poly, basis) -> bool:
    if poly == 0:
        return True
    return bool(basis) and poly.rem(basis) == 0


def _depth(root: Root) -> int:
    """How many roots sit inside ``root`` (itself included): outer roots are reduced first."""
    return 1 + max((_depth(inner) for inner in root.args[0].atoms(Root)), default=0)

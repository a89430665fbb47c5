"""A canonical basis for the functions gradproof's expressions use, and signs from it.

The polynomial test of :mod:`.identity` treats every application (σ(z), σ(−z), e^z, tanh(z), …) as an
independent unknown: sound, but blind to the relations between them (σ(−z) = 1 − σ(z)). Here each
application is rewritten in a basis where those relations are polynomial identities:

- every exponential family e^(c·u) (c rational, u an argument up to sign and content) becomes T^k for
  one positive unknown T = e^(u/d) per u (d the common denominator of its c's): σ(u) = 1/(1 + T⁻¹),
  e^u = T, tanh(u) = (T² − 1)/(T² + 1), cosh, sinh, sech, csch, coth likewise;
- Heaviside(u) and sign(u) become (1 + S)/2 and S with S = sign(u), S² = 1, valid where u ≠ 0 (stated);
  relu(u) = Max(0, u) = u·(1 + S)/2, Abs(u) = S·u and Min(0, u) = u·(1 − S)/2 hold everywhere;
- softplus(u) is a positive unknown; a Piecewise whose branches agree and whose last condition is True is
  that branch (without a True branch it is undefined, nan, where no condition holds); anything else
  (a, a', log, sin, …) stays an unknown, keyed by its expanded argument.

These are identities of *real* arguments (:mod:`.domains`): an argument u not shown real (√(w − 2),
acosh(w), log(w) for w of no known sign) gets no T > 0 and no S (sign(√(w − 2))² = −1 for w < 2), and an
application not shown real is a complex unknown (its square is not ≥ 0).

A difference whose rewriting reduces to the zero polynomial (S² = 1 applied) is zero wherever the stated
arguments are nonzero: sound, as the rewriting only uses identities of the functions at real arguments. :func:`sign_of`
decides that an expression is positive (or negative) everywhere from the ranges the rewriting makes
explicit: T > 0, softplus > 0, and even powers of unknowns shown real ≥ 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from itertools import product
from math import lcm

import sympy as sp

from gradproof.derive.proof.domains import real_valued, regional
from gradproof.derive.proof.identity import atomize
from gradproof.derive.proof.ring import NotPolynomial, numerators
from gradproof.derive.symbolic.functions import Exp, relu, sigmoid, softplus

#: functions rewritten through e^(c·u): each gives its value from E(k) = e^(k·u)
_EXPONENTIAL = {
    sigmoid: ((-1,), lambda E: 1 / (1 + E(-1))),
    Exp: ((1,), lambda E: E(1)),
    sp.exp: ((1,), lambda E: E(1)),
    sp.tanh: ((2,), lambda E: (E(2) - 1) / (E(2) + 1)),
    sp.sinh: ((1, -1), lambda E: (E(1) - E(-1)) / 2),
    sp.cosh: ((1, -1), lambda E: (E(1) + E(-1)) / 2),
    sp.sech: ((1, -1), lambda E: 2 / (E(1) + E(-1))),
    sp.csch: ((1, -1), lambda E: 2 / (E(1) - E(-1))),
    sp.coth: ((1, -1), lambda E: (E(1) + E(-1)) / (E(1) - E(-1))),
}
#: the ranges the rewriting uses, in words (what a positivity proof rests on)
RANGES = {sigmoid: "σ(z) ∈ (0, 1)", Exp: "e^z > 0", sp.exp: "e^z > 0", sp.tanh: "tanh(z) ∈ (−1, 1)",
          sp.cosh: "cosh(z) ≥ 1", sp.sech: "sech(z) ∈ (0, 1]", softplus: "softplus(z) > 0"}
#: an expression with more sign unknowns than this is not decided piece by piece (2^k pieces)
PIECES_LIMIT = 6
#: a rewriting larger than this many operations is not attempted (it is a fallback, not the main test)
SIZE_LIMIT = 4000


def split(argument) -> tuple[sp.Rational, sp.Expr]:
    """u = c·base with c rational and base canonical (expanded, content 1, sign normalized)."""
    u = sp.expand(argument)
    if u.is_Number:
        return sp.Rational(u), sp.Integer(1)
    c, base = u.as_content_primitive()
    if base.could_extract_minus_sign():
        c, base = -c, -base
    coefficient, rest = base.as_coeff_Mul() if base.is_Mul else (1, base)
    return sp.Rational(c) * coefficient, rest


@dataclass
class Basis:
    """The fresh unknowns of one rewriting and what they stand for."""

    exponents: dict = field(default_factory=dict)   # base → set of rational c seen
    exps: dict = field(default_factory=dict)        # base → (T, d)
    signs: dict = field(default_factory=dict)       # base → S
    unknowns: dict = field(default_factory=dict)    # (func, args) → symbol
    positive: set = field(default_factory=set)
    unreal: set = field(default_factory=set)        # unknowns not shown real (complex: no square is ≥ 0)
    kinks: list = field(default_factory=list)       # bases u where a value at u = 0 was set aside
    ranges: set = field(default_factory=set)        # functions whose range the rewriting made explicit

    def exp(self, c, base):
        """e^(c·base) as a power of the base's T (positive where the base is real, else complex)."""
        if base not in self.exps:
            d = lcm(*(int(k.q) for k in self.exponents.get(base, {c})))
            real = shown_real(base)
            self.exps[base] = (sp.Dummy("T", positive=True) if real else sp.Dummy("T"), d)
            (self.positive if real else self.unreal).add(self.exps[base][0])
        t, d = self.exps[base]
        power = c * d
        if not power.is_Integer:  # a coefficient first met now: widen d (only before any use)
            raise _Restart(base, c)
        return t ** int(power)

    def sign(self, base, c, kink: bool):
        if base not in self.signs:
            self.signs[base] = sp.Dummy("S", real=True)
        if kink and base not in self.kinks:
            self.kinks.append(base)
        return self.signs[base] * sp.sign(c)

    def unknown(self, node, positive: bool = False):
        """An application as an unknown: positive, real (where it is shown real), or complex."""
        key = (node.func, tuple(sp.expand(arg) if isinstance(arg, sp.Expr) else arg for arg in node.args))
        if key not in self.unknowns:
            real = shown_real(node)
            self.unknowns[key] = (sp.Dummy("u", positive=True) if positive and real
                                  else sp.Dummy("u", real=True) if real else sp.Dummy("u"))
            positive = positive and real
            if positive:
                self.positive.add(self.unknowns[key])
            if not real:
                self.unreal.add(self.unknowns[key])
        return self.unknowns[key]


class _Restart(Exception):
    def __init__(self, base, c):
        super().__init__()
        self.base, self.c = base, c


def rewrite(exprs, basis: Basis | None = None) -> tuple[list[sp.Expr], Basis]:
    """``exprs`` in the canonical basis (one shared basis for all)."""
    basis = basis or Basis()
    exprs = list(exprs)
    for expr in exprs:
        for node in _applications(expr):
            for c, base in _exponents_of(node):
                basis.exponents.setdefault(base, set()).add(c)
    for _ in range(8):
        try:
            return [_rewrite(expr, basis) for expr in exprs], basis
        except _Restart as restart:
            basis.exponents.setdefault(restart.base, set()).add(restart.c)
            basis.exps.clear()
    raise ValueError("the exponential basis did not settle")


def _applications(expr) -> set:
    found = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if node.is_Atom:
            continue
        if isinstance(node, (sp.Function, sp.Max, sp.Min)) or _root(node):
            found.add(node)
            continue  # its argument is part of its identity, not rewritten
        stack.extend(node.args)
    return found


def _root(node) -> bool:
    """√u, u^x, …: a power that is not a polynomial in its base, an unknown keyed by base and exponent."""
    return node.is_Pow and not node.exp.is_Integer and bool(node.free_symbols)


def _rewrite(expr, basis: Basis) -> sp.Expr:
    return expr.xreplace({node: _application(node, basis) for node in _applications(expr)})


def _exponents_of(node):
    spec = _EXPONENTIAL.get(node.func)
    if spec is None:
        return []
    c, base = split(node.args[0])
    return [(k * c, base) for k in spec[0]]


def _application(node, basis: Basis):
    func = node.func
    if func in _EXPONENTIAL:
        c, base = split(node.args[0])
        if shown_real(base):
            basis.ranges.add(func)
        return _EXPONENTIAL[func][1](lambda k: basis.exp(k * c, base))
    if func is softplus:
        if shown_real(node.args[0]):
            basis.ranges.add(func)
        return basis.unknown(node, positive=True)
    piecewise = _piecewise_linear(node, basis)
    if piecewise is not None:
        return piecewise
    if func is sp.Piecewise and node.args[-1].cond is sp.true:   # no point left without a branch (nan there)
        branches = {sp.expand(_rewrite(pair.expr, basis)) for pair in node.args}
        if len(branches) == 1:
            return branches.pop()
    return basis.unknown(node)


def _piecewise_linear(node, basis: Basis):
    """Heaviside, sign, relu, Abs, Max(0, u), Min(0, u) through S = sign(u); Max or Min of anything else
    (Min(u, v) with neither 0) is not rewritten here (an unknown of its own)."""
    func, args = node.func, node.args
    if func in (sp.Max, sp.Min):
        if len(args) != 2 or sp.Integer(0) not in args:
            return None
        func, args = (relu if func is sp.Max else sp.Min), (args[0] if args[1] == 0 else args[1],)
    arity = (1, 2) if func is sp.Heaviside else (1,)   # Heaviside(u, H0): H0 only at u = 0 (stated)
    if func not in (sp.Heaviside, sp.sign, relu, sp.Abs, sp.Min) or len(args) not in arity:
        return None
    if not shown_real(args[0]):
        return None  # S² = 1 holds for a real argument only: sign(√(w − 2))² = −1 for w < 2
    c, base = split(args[0])
    if c == 0:
        return None
    s = basis.sign(base, c, kink=func in (sp.Heaviside, sp.sign))
    u = _rewrite(args[0], basis)  # (a relu of a relu: the inner one rewritten too)
    return {sp.Heaviside: (1 + s) / 2, sp.sign: s, relu: u * (1 + s) / 2, sp.Abs: s * u,
            sp.Min: u * (1 - s) / 2}[func]


def reduces_to_zero(expr, basis: Basis) -> bool:
    """Whether the rewritten ``expr`` is the zero rational function once S² = 1 (its numerator built in
    the ring of :mod:`.ring`, what the basis left opaque an unknown of its own)."""
    if sp.count_ops(expr) > SIZE_LIMIT or expr.has(sp.Float):  # a Float's arithmetic rounds: never zero by it
        return False
    atomized, _ = atomize([expr])
    try:
        numerator = numerators(atomized)[0]
    except NotPolynomial:  # ∞ or a division by 0 after rewriting: not shown to be zero
        return False
    signs = set(basis.signs.values())
    positions = [k for k, symbol in enumerate(numerator.ring.symbols) if symbol in signs]
    reduced: dict = {}
    for monomial, coefficient in numerator.terms():
        key = tuple(e % 2 if k in positions else e for k, e in enumerate(monomial))
        reduced[key] = reduced.get(key, 0) + coefficient
    return all(value == 0 for value in reduced.values())


def definite_sign(expr, positive: set, unreal: set = frozenset()) -> int:
    """+1 if the polynomial ``expr`` is positive wherever the ``positive`` unknowns are, −1 if negative,
    0 if this test cannot tell: every monomial's coefficient has one sign, every other unknown appears to an
    even power and is not in ``unreal`` (possibly complex), and one monomial is in the positive unknowns alone."""
    expr = sp.expand(expr)
    if expr.has(sp.Float):  # rounded coefficients decide no sign
        return 0
    if expr.is_Number:
        return int(sp.sign(expr))
    gens = sorted(expr.free_symbols, key=sp.default_sort_key)
    try:
        terms = sp.Poly(expr, *gens).terms()
    except sp.PolynomialError:
        return 0
    if any(not sp.sympify(c).is_Rational for _, c in terms):
        return 0
    signs = {int(sp.sign(c)) for _, c in terms}
    if len(signs) != 1:
        return 0
    even = all(all(e % 2 == 0 and g not in unreal or g in positive for g, e in zip(gens, m)) for m, _ in terms)
    strict = any(all(e == 0 or g in positive for g, e in zip(gens, m)) for m, _ in terms)
    return signs.pop() if even and strict else 0


def sign_of(expr) -> tuple[int, Basis]:
    """The sign of ``expr`` everywhere (+1, −1), or 0 when :func:`definite_sign` cannot tell."""
    (rewritten,), basis = rewrite([expr])
    if basis.kinks or sp.count_ops(rewritten) > SIZE_LIMIT:
        return 0, basis
    numerator, denominator = sp.fraction(sp.together(rewritten))
    top = definite_sign(numerator, basis.positive, basis.unreal)
    bottom = definite_sign(denominator, basis.positive, basis.unreal)
    return top * bottom, basis


@lru_cache(maxsize=4096)
def shown_positive(expr) -> bool:
    """Whether ``expr`` is shown positive everywhere (:func:`sign_of`)."""
    return sign_of(expr)[0] > 0


@lru_cache(maxsize=4096)
def shown_real(expr) -> bool:
    """Whether ``expr`` is shown real wherever it is defined (:func:`~.domains.real_valued`, positivity by
    :func:`sign_of`)."""
    return real_valued(expr, shown_positive)


@lru_cache(maxsize=4096)
def shown_regional(expr) -> bool:
    """Whether ``expr`` may vanish on a region without vanishing everywhere (:func:`~.domains.regional`),
    a piecewise-linear one (relu, Heaviside, sign, Abs of real arguments) decided piece by piece: it is not
    regional where every piece (each S = sign(u) set to ±1) is not identically zero and no u is regional
    (relu-network sums w + w'·relu(z) are not; w − |w|, 0 for w ≥ 0, is)."""
    if not regional(expr, shown_positive):
        return False
    if regional(expr, shown_positive, pieces=True):
        return True
    (rewritten,), basis = rewrite([expr])
    if len(basis.signs) > PIECES_LIMIT or any(shown_regional(u) for u in basis.signs):
        return True
    signs = list(basis.signs.values())
    for pattern in product((sp.Integer(-1), sp.Integer(1)), repeat=len(signs)):
        if reduces_to_zero(rewritten.xreplace(dict(zip(signs, pattern))), basis):
            return True
    return False

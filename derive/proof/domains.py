"""Where an expression's values lie: real, or possibly complex; analytic, or possibly constant on a region.

The canonical basis (:mod:`.canonical`) rewrites sign(u) as S with S² = 1 and treats an application as a
real unknown (so that its square is ≥ 0); both are identities of *real* values only. For real weights,
inputs and targets an expression can still take complex values: √(w − 2) for w < 2, acosh(w) for
|w| < 1, log(w) for w < 0 (sign(√(w − 2))² = −1 there). :func:`real_valued` says whether an expression is
shown real wherever it is defined:

- a real symbol, a real number, sums, products and integer powers of real values;
- a root or a power with a non-integer exponent only where its base is shown positive;
- a function real on all of ℝ (exp, σ, tanh, atan, sin, Abs, sign, Max, …; a Piecewise whose branches are)
  of real arguments; log, acosh, asin, acos, atanh only where the argument is shown inside the domain
  (log(u) with u > 0, acosh(u) with u − 1 > 0, …); an activation defined from an expression where its
  closed form is real; anything else is not shown real.

"Shown positive" is the caller's test (:func:`~.canonical.sign_of`), passed in, so this module depends on
no other part of the decision.

:func:`regional` says whether an expression may vanish on a set of positive measure without vanishing
everywhere. A condition "u ≠ 0" (a denominator's, a kink's) is stated only for an expression that is not:
one built from functions analytic wherever defined (polynomials, exp, σ, tanh, sin, …; log or a root of an
argument shown positive). Abs, sign, Heaviside, relu, Max, Min, Piecewise, floor and a root or log of an
argument of no known sign (√(w²) − w is 0 for every w ≥ 0) are regional, and so is any function not
known here. An activation defined from an expression is regional where its closed form holds one of the
piecewise functions; its own roots and logs (log(z, 2)) are taken as the network's definition, which is
complex past them anyway.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from gradproof.derive.symbolic.forms import CLOSED_FORMS
from gradproof.derive.symbolic.functions import Exp, a, a_prime, relu, sigmoid, softplus

#: analytic on all of ℝ (apart from poles, a null set) and real there for real arguments
ANALYTIC = (sp.exp, Exp, sigmoid, softplus, sp.tanh, sp.sinh, sp.cosh, sp.sech, sp.csch, sp.coth, sp.sin, sp.cos,
            sp.tan, sp.cot, sp.sec, sp.csc, sp.atan, sp.asinh, sp.erf, sp.erfc, a)
#: real for real arguments, but constant on whole regions (or not analytic where they switch)
PIECEWISE = (sp.Abs, sp.sign, sp.Heaviside, relu, sp.Max, sp.Min, sp.floor, sp.ceiling, sp.Piecewise)
#: real only inside a domain: each expression of the argument u must be shown positive
DOMAINS: dict = {
    sp.log: lambda u: [u],
    sp.acosh: lambda u: [u - 1],
    sp.asin: lambda u: [1 - u, 1 + u],
    sp.acos: lambda u: [1 - u, 1 + u],
    sp.atanh: lambda u: [1 - u, 1 + u],
}

Positive = Callable[[sp.Expr], bool]


def real_valued(expr, positive: Positive) -> bool:
    """Whether ``expr`` is shown real wherever it is defined, for real values of its symbols (see the
    module doc); ``positive(u)``: whether u is shown positive everywhere."""
    if expr.is_Atom:
        return bool(expr.is_real) or bool(expr.is_NumberSymbol)
    if expr.is_Add or expr.is_Mul:
        return all(real_valued(arg, positive) for arg in expr.args)
    if expr.is_Pow:
        if not real_valued(expr.base, positive) or not real_valued(expr.exp, positive):
            return False
        return bool(expr.exp.is_Integer) or _positive_base(expr.base, positive)
    if isinstance(expr, sp.Piecewise):
        return all(real_valued(pair.expr, positive) for pair in expr.args)
    if not all(isinstance(arg, sp.Expr) and real_valued(arg, positive) for arg in expr.args):
        return False
    return _real_function(expr, positive)


def _positive_base(base, positive: Positive) -> bool:
    if base.is_number:
        return bool(base.is_positive)
    return positive(base)


def _real_function(node, positive: Positive) -> bool:
    """Whether the function applied at ``node`` (real arguments) has a real value there."""
    func = node.func
    if func in ANALYTIC or func in PIECEWISE or func == a_prime:
        return True
    if func in DOMAINS:
        return len(node.args) == 1 and all(positive(side) for side in DOMAINS[func](node.args[0]))
    closed = _closed_form(func)
    return closed is not None and real_valued(closed(*node.args), positive)


def _closed_form(func):
    """The closed form of an activation defined from an expression, as a function of its argument."""
    try:
        return CLOSED_FORMS.get(func)
    except TypeError:  # not weakly referable: no activation class
        return None


def regional(expr, positive: Positive, pieces: bool = False) -> bool:
    """Whether ``expr`` may vanish on a set of positive measure without vanishing everywhere (see the
    module doc): it is not built from functions analytic wherever they are defined. ``pieces``: Heaviside,
    sign, relu, Abs, Max(0, u), Min(0, u) of real u count as analytic (the caller then decides each piece
    between their kinks, where S = sign(u) is ±1)."""
    if expr.is_Atom:
        return False
    if expr.is_Pow and not expr.exp.is_Integer and not _positive_base(expr.base, positive):
        return True  # a root of an argument of no known sign: √(w²) − w is 0 for every w ≥ 0
    if not (expr.is_Add or expr.is_Mul or expr.is_Pow) and not _analytic(expr, positive) \
            and not (pieces and split_by_sign(expr, positive)):
        return True  # an application (Max and Min are not sympy Functions)
    if pieces and not (expr.is_Add or expr.is_Mul or expr.is_Pow) and not split_by_sign(expr, positive) \
            and any(isinstance(arg, sp.Basic) and arg.has(*PIECEWISE) for arg in expr.args):
        return True  # sin(relu(w)): the caller's pieces stop at the application, which is 0 for every w ≤ 0
    return any(regional(arg, positive, pieces) for arg in expr.args if isinstance(arg, sp.Expr))


def split_by_sign(node, positive: Positive) -> bool:
    """Whether ``node`` is one the canonical basis writes through S = sign(u) of a real u."""
    args = node.args
    if node.func in (sp.Max, sp.Min):
        if len(args) != 2 or sp.Integer(0) not in args:
            return False
        args = (args[0] if args[1] == 0 else args[1],)
    elif node.func not in (sp.Heaviside, sp.sign, relu, sp.Abs) or not args:
        return False
    return isinstance(args[0], sp.Expr) and real_valued(args[0], positive)


def _analytic(node, positive: Positive) -> bool:
    func = node.func
    if func in ANALYTIC or func == a_prime:
        return True
    if func in DOMAINS:
        return len(node.args) == 1 and all(positive(side) for side in DOMAINS[func](node.args[0]))
    closed = _closed_form(func)  # an activation of the network: analytic where its closed form is, but for its
    # branch points (log(z), √z: the network itself takes complex values past them, and E with it)
    return closed is not None and not closed(*node.args).has(*PIECEWISE)


def unreal_parts(expr, positive: Positive, own: frozenset = frozenset()) -> list:
    """The roots and function applications in ``expr`` not shown real wherever they are defined (log(w),
    asin(w), √(w − 2) for w of no known range), leaving out those in ``own`` (the network's own, in
    ∂E/∂w: its definition, complex past its branch points anyway) and what lies inside them."""
    found, seen, stack = [], set(), [expr]
    while stack:
        node = stack.pop()
        if node in seen or node.is_Atom or node in own or not isinstance(node, sp.Expr):
            continue
        seen.add(node)
        if node.is_Pow and not node.exp.is_Integer and not _positive_base(node.base, positive):
            found.append(node)
        elif not (node.is_Add or node.is_Mul or node.is_Pow) and not _real_function(node, positive):
            found.append(node)
        stack.extend(pair.expr for pair in node.args) if isinstance(node, sp.Piecewise) else stack.extend(node.args)
    return found



def root_bases(expr) -> list:
    """The bases of every root or power with a non-integer exponent in ``expr`` (function arguments
    included): a rewriting such as (1/X)^(1/2) = X^(−1/2) holds only where such a base is positive."""
    found: dict = {}
    stack, seen = [expr], set()
    while stack:   # over the graph: a shared subexpression once (E of [8,16,16,8] as a tree: 150 s)
        node = stack.pop()
        if node.is_Atom or node in seen:
            continue
        seen.add(node)
        if node.is_Pow and not node.exp.is_Integer and not (node.base.is_number and node.base.is_positive):
            found.setdefault(node.base, None)
        stack.extend(arg for arg in node.args if isinstance(arg, sp.Basic))
    return list(found)

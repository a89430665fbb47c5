"""A claimed entry enclosed in an interval at a point: the certificate behind a counterexample.

Evaluating at rising precision until two precisions agree is not a proof of a value: a quantity below
every precision tried (cosh(2·10⁻¹⁰⁰⁰·x) − 1, or e^(−e^(e^5))) rounds to the same wrong number each time.
Here the claimed entry is evaluated in mpmath's interval arithmetic, every operation rounded outward, so
the true value lies in the interval returned; a counterexample stands only if the true gradient lies
outside it. Opaque functions are replaced by their closed forms first (σ by 1/(1 + e^(−t)), the generic
a by its witness); a function without an interval rule here, a Piecewise or Heaviside whose condition
the interval cannot decide, or a power of an interval that may be negative gives None: no certificate.
"""

from __future__ import annotations

import mpmath
import sympy as sp
from sympy.core.relational import Relational
from sympy.functions.elementary.piecewise import ExprCondPair

from gradproof.derive.symbolic.walk import arguments, atoms_of, post_order

iv = mpmath.iv

#: sympy's functions with an interval rule (hyperbolic ones through e^t; tan's poles give an infinite width)
_RULES = {
    sp.exp: iv.exp, sp.log: lambda t: iv.log(t) if t.a > 0 else None, sp.sin: iv.sin, sp.cos: iv.cos,
    sp.tan: iv.tan,
    sp.sinh: lambda t: (iv.exp(t) - iv.exp(-t)) / 2, sp.cosh: lambda t: (iv.exp(t) + iv.exp(-t)) / 2,
    sp.tanh: lambda t: 1 - 2 / (iv.exp(2 * t) + 1), sp.sech: lambda t: 2 / (iv.exp(t) + iv.exp(-t)),
    sp.csch: lambda t: 2 / (iv.exp(t) - iv.exp(-t)),
    sp.coth: lambda t: (iv.exp(t) + iv.exp(-t)) / (iv.exp(t) - iv.exp(-t)),
    sp.Abs: lambda t: t if t.a >= 0 else -t if t.b <= 0 else iv.mpf([0, max(-t.a, t.b)]),
    sp.sign: lambda t: iv.mpf(1) if t.a > 0 else iv.mpf(-1) if t.b < 0 else None,
    sp.Heaviside: lambda t: iv.mpf(1) if t.a > 0 else iv.mpf(0) if t.b < 0 else None,
    sp.erf: lambda t: _increasing(mpmath.erf, t),
}


def _increasing(function, t):
    """An increasing function on an interval: its values at the ends, each widened by far more than the
    error of mpmath's evaluation at ten more digits (mpmath's interval erf does not converge everywhere)."""
    with mpmath.workdps(iv.dps + 10):
        low, high = function(mpmath.mpf(t.a)), function(mpmath.mpf(t.b))
        slack = mpmath.mpf(10) ** -iv.dps
        return iv.mpf([low - slack * (1 + abs(low)), high + slack * (1 + abs(high))])


def enclose(entry: sp.Expr, point: dict, closed: dict, digits: int) -> tuple | None:
    """(low, high) holding ``entry`` at ``point`` (symbol → exact rational), or None where this arithmetic
    cannot enclose it; ``closed``: function class → its closed form (a callable of the argument)."""
    expanded = entry
    for _ in range(4):  # closed forms may apply other opaque functions (softplus through e^t)
        opaque = {node for node in atoms_of(expanded, kinds=(sp.Function,)) if node.func in closed}
        if not opaque:
            break
        expanded = expanded.xreplace({node: closed[node.func](*node.args) for node in opaque})
    saved = iv.dps
    iv.dps = digits
    try:
        found = _value(expanded, {symbol: sp.Rational(value) for symbol, value in point.items()})
        if found is None or isinstance(found, (bool, tuple)):
            return None
        with mpmath.workdps(digits + 20):  # the ends as plain numbers (an interval's own comparisons say None)
            return mpmath.mpf(found.a), mpmath.mpf(found.b)
    except Exception:  # noqa: BLE001 - mpmath's NoConvergence and the like: then there is no certificate
        return None
    finally:
        iv.dps = saved


def _value(expr, point: dict):
    cache: dict = {}
    return post_order(expr, cache, lambda node: _node(node, [cache[arg] for arg in arguments(node)], point))


def _number(value: sp.Rational):
    return iv.mpf(int(value.p)) / int(value.q)


def _node(node, args: list, point: dict):
    if node.is_Symbol:
        return _number(point[node]) if node in point else None
    if node.is_Rational:
        return _number(node)
    if node is sp.pi or node is sp.E:
        return iv.pi if node is sp.pi else iv.e
    if node in (sp.true, sp.false):
        return bool(node)
    if node.is_Atom:
        return None
    if isinstance(node, ExprCondPair):
        return tuple(args)
    if isinstance(node, (Relational, sp.And, sp.Or, sp.Not, sp.ITE, sp.Piecewise)):
        return _condition(node, args)
    if any(arg is None for arg in args):
        return None
    if node.is_Add:
        return sum(args[1:], args[0])
    if node.is_Mul:
        product = args[0]
        for factor in args[1:]:
            product = product * factor
        return product
    if node.is_Pow:
        return _power(node, *args)
    if node.func in (sp.Max, sp.Min):
        pick = max if node.func is sp.Max else min
        return iv.mpf([pick(arg.a for arg in args), pick(arg.b for arg in args)])
    rule = _RULES.get(node.func)
    if rule is None or not (len(args) == 1 or node.func is sp.Heaviside):  # (Heaviside's value at 0 set aside)
        return None
    return rule(args[0])


def _condition(node, args):
    """A comparison, a boolean or a Piecewise on intervals: True/False where the intervals decide it, else
    None (a Piecewise takes the first branch whose condition is True, all before it False)."""
    if isinstance(node, sp.Piecewise):
        for value, condition in args:
            if condition is True:
                return value
            if condition is not False:
                return None
        return None
    if isinstance(node, Relational):
        left, right = args
        if left is None or right is None or isinstance(left, bool) or isinstance(right, bool):
            return None
        difference = left - right  # decided only where the whole interval is on one side of 0
        above, below = difference.a > 0, difference.b < 0
        at_most, at_least = difference.b <= 0, difference.a >= 0
        return {">": True if above else False if at_most else None,
                ">=": True if at_least else False if below else None,
                "<": True if below else False if at_least else None,
                "<=": True if at_most else False if above else None}.get(node.rel_op)
    if isinstance(node, sp.Not):
        return None if args[0] is None else not args[0]
    if isinstance(node, sp.ITE):
        return None if args[0] is None else args[1] if args[0] else args[2]
    if any(arg is False for arg in args) if isinstance(node, sp.And) else any(arg is True for arg in args):
        return isinstance(node, sp.Or)
    return None if any(arg is None for arg in args) else isinstance(node, sp.And)


def _power(node, base, exponent):
    if node.exp.is_Integer:
        n = int(node.exp)
        if n < 0 and base.a <= 0 <= base.b:
            return iv.mpf([-mpmath.inf, mpmath.inf])
        return base ** n
    if base.a > 0:
        return iv.exp(exponent * iv.log(base))
    return None


def outside(value, interval: tuple, tolerance) -> bool:
    """Whether ``value`` lies farther than ``tolerance`` outside ``interval`` (low, high)."""
    low, high = interval
    return bool(value < low - tolerance or value > high + tolerance)

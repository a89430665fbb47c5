"""Traced expressions evaluated at a point with many digits (mpmath): counterexamples and region checks.

The point's coordinates are the float64 values the trace ran at, taken exactly; every subexpression is
evaluated once, with ``DIGITS`` significant digits.
"""

from __future__ import annotations

import mpmath
import sympy as sp

from gradproof.derive.symbolic.functions import sigmoid
from gradproof.derive.trace.element import Root

DIGITS = 40

_FUNCTIONS = {sp.exp: mpmath.exp, sp.log: mpmath.log, sp.tanh: mpmath.tanh, sp.sinh: mpmath.sinh,
              sp.cosh: mpmath.cosh, sp.sin: mpmath.sin, sp.cos: mpmath.cos, Root: mpmath.sqrt,
              sigmoid: lambda u: 1 / (1 + mpmath.exp(-u))}


class Evaluator:
    """Evaluates expressions at one point, sharing the values of common subexpressions."""

    def __init__(self, point: dict, digits: int = DIGITS):
        self.digits = digits
        with mpmath.workdps(digits + 10):
            self.env = {symbol: mpmath.mpf(float(value)) for symbol, value in point.items()}
        self.cache: dict = {}

    def __call__(self, expr) -> mpmath.mpf:
        with mpmath.workdps(self.digits + 10):
            return self._value(sp.sympify(expr))

    def _value(self, node):
        if node in self.cache:
            return self.cache[node]
        if node.is_Symbol:
            value = self.env[node]
        elif node.is_Rational:
            value = mpmath.mpf(node.p) / node.q
        elif node.is_Number:
            value = mpmath.mpf(str(node))
        else:
            args = [self._value(arg) for arg in node.args]
            if node.is_Add:
                value = mpmath.fsum(args)
            elif node.is_Mul:
                value = mpmath.fprod(args)
            elif node.is_Pow:
                value = mpmath.power(*args)
            else:
                value = _FUNCTIONS[node.func](*args)
        self.cache[node] = value
        return value


#: below this relative difference, two values may differ only by the float64 rounding of a constant in the
#: code (0.1 + 0.2 for 0.3): no counterexample, whatever the exact arithmetic says
ROUNDING = mpmath.mpf(10) ** -10


def differ(left, right, digits: int = DIGITS) -> bool:
    """Whether two values computed with ``digits`` digits differ by far more than that precision and than
    float64 rounding of the code's constants (relative 1e-10)."""
    gap = abs(left - right)
    return gap > max(abs(left), abs(right)) * ROUNDING and gap > mpmath.mpf(10) ** (12 - digits)

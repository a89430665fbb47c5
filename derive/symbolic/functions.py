"""The opaque sympy functions gradproof's symbolic forms are written in.

``sigmoid(z)`` rather than ``1/(1 + exp(-z))``: derivatives stay compact, print in the source text's
notation and compare as polynomials in the activation values. Each class's ``fdiff`` **is** its
derivative rule, the one ``sympy.diff`` applies: the lemmas of :mod:`gradproof.derive.proof.lemmas`
prove exactly that rule against the derivative of the closed form (``EXPLICIT_FORMS``).
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from gradproof.derive.model import kernels


class sigmoid(sp.Function):  # noqa: N801 - printed as σ, named as in the source text
    """σ(z) = 1/(1 + e^(−z)); its derivative is σ(z)·(1 − σ(z))."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0]) * (1 - sigmoid(self.args[0]))


class softplus(sp.Function):  # noqa: N801
    """softplus(z) = log(1 + e^z); its derivative is σ(z)."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])


class relu(sp.Function):  # noqa: N801
    """relu(z) = max(0, z); its derivative is H(z) with the convention relu'(0) = H(0) = 0."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sp.Heaviside(self.args[0], 0)


class Exp(sp.Function):
    """e^z kept opaque: sympy's own ``exp`` merges products (e^u·e^v = e^(u+v)), which would hide the
    shared factors of a softmax from the polynomial comparison."""

    nargs = 1

    def fdiff(self, argindex=1):
        return Exp(self.args[0])


#: The generic activation's derivative: an undefined function, so a proof with ``a`` holds for every
#: differentiable activation.
a_prime = sp.Function("a'")


class a(sp.Function):  # noqa: N801 - the source text's name for the activation
    """The generic activation a(z): undefined, with derivative a'(z)."""

    nargs = 1

    def fdiff(self, argindex=1):
        return a_prime(self.args[0])


#: Closed forms of the opaque functions: used by the derivative lemmas and to evaluate counterexamples.
EXPLICIT_FORMS: dict[type, Callable] = {
    sigmoid: lambda z: 1 / (1 + sp.exp(-z)),
    softplus: lambda z: sp.log(1 + sp.exp(z)),
    relu: lambda z: sp.Max(0, z),
    Exp: sp.exp,
}


def explicit(expr: sp.Expr) -> sp.Expr:
    """Rewrite every opaque function in ``expr`` by its closed form."""
    for cls, form in EXPLICIT_FORMS.items():
        expr = expr.replace(cls, form)
    return expr


def rule(function: Callable[[sp.Expr], sp.Expr]) -> Callable[[sp.Expr], sp.Expr]:
    """The derivative rule ``sympy.diff`` applies to ``function``: d/dt function(t) at the argument."""
    t = sp.Dummy("t", real=True)
    derivative = sp.diff(function(t), t)
    return lambda z: derivative.xreplace({t: z})


#: What the opaque functions mean to ``lambdify``; every compiled form uses this table.
NUMPY_FUNCTIONS: dict[str, Callable] = dict(kernels.LAMBDIFIED)  # a user's functions join it here only
LAMBDIFY_MODULES = [NUMPY_FUNCTIONS, "numpy"]


class FloatPrinter(NumPyPrinter):
    """``lambdify``'s printer for :data:`LAMBDIFY_MODULES`, except that an exact number numpy cannot take as
    it is prints as the float64 it rounds to (a literal past float64's range is inf to Python): an integer
    beyond ±2⁶³ (no ufunc takes one: ``sin(10**20)``), a fraction with such a numerator or denominator
    (``10**400/3`` overflows in int/int). The compiled forms compute in float64 anyway."""

    def _print_Integer(self, expr):
        return super()._print_Integer(expr) if abs(expr.p) < 2 ** 63 else self._print(sp.Float(expr, 17))

    def _print_Rational(self, expr):
        small = abs(expr.p) < 2 ** 63 and expr.q < 2 ** 63
        return super()._print_Rational(expr) if small else self._print(sp.Float(expr, 17))


def numeric_printer() -> FloatPrinter:
    """The printer of every compiled form: lambdify's for :data:`LAMBDIFY_MODULES`, with :class:`FloatPrinter`'s
    numbers."""
    return FloatPrinter({"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": True,
                         "user_functions": {name: name for name in NUMPY_FUNCTIONS}})

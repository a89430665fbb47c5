"""Expressions evaluated in high precision, every opaque function by its closed form.

The one numeric evaluator of the symbolic half: counterexamples, the check that a denominator is not
identically zero, the lemmas' counterexamples. An opaque function (σ, softplus, relu, e^z kept opaque,
the generic a with the witness a(t) = e^(t/2) + sin(t)/3, or an activation defined outside gradproof) is
evaluated through its closed form, and differentiated (for :func:`~.counterexample.true_gradient`)
through the derivative of that closed form: never through the function's own ``fdiff``, the rule a
proof is about. A division by zero or a complex value raises :class:`Undefined`.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable

import mpmath
import sympy as sp
from sympy.core.relational import Relational

from gradproof.derive.symbolic.functions import EXPLICIT_FORMS, Exp, a, a_prime
from gradproof.derive.symbolic.walk import post_order

DIGITS = 40
WITNESS_ACTIVATION_TEXT = "a(t) = e^(t/2) + sin(t)/3"
_T = sp.Symbol("t", real=True)
WITNESS = {a: lambda t: sp.exp(t / 2) + sp.sin(t) / 3, a_prime: lambda t: sp.exp(t / 2) / 2 + sp.cos(t) / 3}
_PLAIN = (sp.exp, sp.log, sp.tanh, sp.sinh, sp.cosh, sp.sech, sp.csch, sp.coth, sp.sin, sp.cos, sp.tan,
          sp.Abs, sp.sign)
#: sympy's special functions (beyond sympy.functions.elementary) evaluated here: mpmath computes each in
#: bounded time at a real point (stieltjes, say, may not finish at a non-integer, and DiracDelta, totient,
#: mobius have no mpmath form at all); a function of several arguments goes through sympy's own N
SPECIAL = (sp.erf, sp.erfc, sp.erfi, sp.erfinv, sp.gamma, sp.loggamma, sp.Ei, sp.Si, sp.Ci, sp.Shi, sp.Chi,
           sp.LambertW, sp.airyai, sp.airybi, sp.fresnels, sp.fresnelc, sp.sinc, sp.elliptic_k, sp.elliptic_e,
           sp.Heaviside, sp.DiracDelta, sp.uppergamma, sp.lowergamma, sp.polygamma, sp.besselj, sp.besseli)


#: the precisions a value is computed at until two successive ones agree (cancellation can make a 40-digit
#: evaluation meaningless: (w + 10⁸⁰)² − w² − 2·10⁸⁰·w − 10¹⁶⁰ is 0, but not to 40 digits)
PRECISIONS = (DIGITS, 2 * DIGITS, 4 * DIGITS, 8 * DIGITS, 16 * DIGITS)


class Undefined(ArithmeticError):
    """The expression has no real value at the point (a division by zero, a complex value)."""


def agree(left, right) -> bool:
    """Two evaluations of one value at different precisions agree to ``DIGITS`` digits."""
    return abs(left - right) <= mpmath.mpf(10) ** -DIGITS * max(1, abs(right))


def stable_value(evaluator, expr, point: dict):
    """``expr`` at ``point`` to ``DIGITS`` correct digits: evaluated at increasing precision until two
    successive evaluations agree; None if they never do (no conclusion can rest on it)."""
    previous = None
    for digits in PRECISIONS:
        with mpmath.workdps(digits + 10):
            value = evaluator.value(expr, evaluator.environment(point))
            if previous is not None and agree(previous, value):
                return +value
        previous = value
    return None


class Evaluator:
    """Evaluates expressions at a point (``environment``) in the current mpmath precision."""

    def __init__(self, closed: dict[type, Callable] | None = None):
        self.closed = {**EXPLICIT_FORMS, **WITNESS, Exp: sp.exp, **(closed or {})}
        self._functions: dict = {}
        self._derivatives: dict = {}
        self._cache: dict = {}

    @classmethod
    def for_network(cls, sym) -> Evaluator:
        """An evaluator that also knows the closed forms of ``sym``'s own activations."""
        closed = {form.function: form.closed_form for form in sym.activations
                  if isinstance(getattr(form, "function", None), type) and getattr(form, "closed_form", None)}
        return cls(closed)

    def environment(self, point: dict) -> dict:
        self._cache = {}
        return {symbol: mpmath.mpf(sp.Rational(v).p) / sp.Rational(v).q for symbol, v in point.items()}

    def value(self, expr, env: dict):
        """``expr`` at ``env`` (symbol → mpf), each shared subexpression once."""
        result = post_order(expr, self._cache, lambda node: self._node(node, env), self.children)
        if isinstance(result, mpmath.mpc):
            if result.imag != 0:
                raise Undefined("it is complex there")
            result = result.real
        return result

    @staticmethod
    def children(node):
        """What a node's value is computed from (a Piecewise: its branches and conditions)."""
        if node.is_Atom:
            return ()
        if isinstance(node, sp.Piecewise):
            return tuple(arg for pair in node.args for arg in (pair.expr, pair.cond) if not isinstance(arg, bool))
        return node.args

    def _node(self, node, env):
        if node in (sp.true, sp.false):
            return bool(node)
        if node.is_Symbol:
            if node not in env:
                raise Undefined(f"{node} has no value at the point")
            return env[node]
        if node.is_Rational:
            return mpmath.mpf(node.p) / node.q
        if node.is_Number or isinstance(node, sp.NumberSymbol):
            return mpmath.mpf(str(sp.N(node, mpmath.mp.dps + 5)))
        args = [self._cache[arg] for arg in self.children(node)]
        try:
            return self._combine(node, args)
        except ZeroDivisionError:
            raise Undefined(f"it divides by zero there ({_short(node)})") from None
        except (ValueError, TypeError, OverflowError) as error:  # mpmath outside a function's domain (a pole)
            raise Undefined(f"{_short(node)} has no value there ({type(error).__name__})") from None

    def _combine(self, node, args):
        if node.is_Add:
            return mpmath.fsum(args)
        if node.is_Mul:
            return mpmath.fprod(args)
        if node.is_Pow:
            base, exponent = args
            return _zero_power(exponent) if base == 0 else mpmath.power(base, exponent)
        if isinstance(node, Relational):
            return _compare(node, *args)
        if isinstance(node, (sp.And, sp.Or, sp.Not)):
            return {sp.And: all, sp.Or: any}.get(type(node), lambda v: not v[0])(args)
        return self._special(node, args)

    def _special(self, node, args):
        func = node.func
        if func is sp.Heaviside:
            u, at_zero = args[0], (args[1] if len(args) > 1 else mpmath.mpf(1) / 2)
            return mpmath.mpf(1) if _real(u) > 0 else at_zero if u == 0 else mpmath.mpf(0)
        if func is sp.DiracDelta:  # 0 off its point (any order), no value on it
            if _real(args[0]) == 0:
                raise Undefined("DiracDelta has no value where its argument is 0")
            return mpmath.mpf(0)
        if func in (sp.Max, sp.Min):
            return (max if func is sp.Max else min)(_real(v) for v in args)
        if func is sp.Piecewise:
            pairs = list(zip(args[0::2], args[1::2]))
            for value, condition in pairs:
                if condition:
                    return value
            raise Undefined("no branch of its Piecewise applies there")
        if len(args) != 1:
            return _by_sympy(node, args)
        return self.function(func)(*args)

    def function(self, func) -> Callable:
        """``func`` as an mpmath callable: its closed form, or sympy's own definition."""
        if func not in self._functions:
            if func in self.closed:
                form = self.closed[func](_T)
            elif evaluable(func):
                form = func(_T)
            else:
                raise Undefined(f"gradproof cannot evaluate the function {func}")
            self._functions[func] = sp.lambdify(_T, form, "mpmath")
        return self._functions[func]

    def derivative(self, func) -> Callable:
        """d/dt of ``func``'s closed form (sympy's own rule for sympy's functions), as an mpmath callable."""
        if func not in self._derivatives:
            form = self.closed[func](_T) if func in self.closed else func(_T)
            self._derivatives[func] = sp.lambdify(_T, sp.diff(form, _T), "mpmath")
        return self._derivatives[func]

    def partials(self, node, values: dict) -> list:
        """(argument, ∂node/∂argument at ``values``) for the nodes E is built from."""
        args = node.args
        if node.is_Add:
            return [(arg, 1) for arg in args]
        if node.is_Mul:
            factors = [values[arg] for arg in args]
            prefix, suffix = [mpmath.mpf(1)], [mpmath.mpf(1)]
            for f in factors[:-1]:
                prefix.append(prefix[-1] * f)
            for f in reversed(factors[1:]):
                suffix.append(suffix[-1] * f)
            return [(arg, prefix[k] * suffix[len(args) - 1 - k]) for k, arg in enumerate(args)]
        if node.is_Pow:
            base, exponent = values[args[0]], values[args[1]]
            found = [(args[0], exponent * mpmath.power(base, exponent - 1))]
            return found + ([] if args[1].is_Number else [(args[1], values[node] * mpmath.log(base))])
        if isinstance(node, sp.Piecewise):  # the branch that holds (its conditions have no derivative)
            branch = next(pair.expr for pair in args if pair.cond in (True, sp.true) or values.get(pair.cond) is True)
            return [(branch, 1)]
        if isinstance(node, sp.Function) and len(args) == 1:
            return [(args[0], self.derivative(node.func)(values[args[0]]))]
        raise Undefined(f"gradproof cannot differentiate {_short(node)} numerically")


def evaluable(func) -> bool:
    """Whether ``func``, a sympy function class, is one the evaluator computes (for a claimed entry's
    vocabulary: a function it cannot compute could neither refute nor confirm anything)."""
    if not isinstance(func, type) or not issubclass(func, sp.Function):
        return False
    module = func.__module__ or ""
    return func in _PLAIN or func in SPECIAL or (module.startswith("sympy.functions.elementary.")
                                                 and _resolves(func))


def _resolves(func) -> bool:
    """Whether mpmath has every name lambdify writes for ``func`` applied to one argument (a function of
    several arguments is computed by sympy's N)."""
    try:
        applied = func(_T)
        compiled = sp.lambdify(_T, applied, "mpmath")
    except (TypeError, ValueError):
        return True
    return all(name in compiled.__globals__ or hasattr(builtins, name) for name in compiled.__code__.co_names)


def _by_sympy(node, args):
    """A function of several arguments gradproof has no table entry for, by sympy at the same precision."""
    if not evaluable(node.func):
        raise Undefined(f"gradproof cannot evaluate the function {node.func}")
    values = [sp.Float(mpmath.nstr(_real(arg), mpmath.mp.dps), mpmath.mp.dps) for arg in args]
    result = sp.N(node.func(*values), mpmath.mp.dps)
    if not (result.is_Number and result.is_real):
        raise Undefined(f"{node.func.__name__} has no real value there")
    return mpmath.mpf(str(result))


def _zero_power(exponent):
    """0 to the power ``exponent``: 1, 0, a division by zero, or no value (a complex exponent)."""
    exponent = _real(exponent)
    if exponent < 0:
        raise ZeroDivisionError
    return mpmath.mpf(1) if exponent == 0 else mpmath.mpf(0)


def _real(value):
    if isinstance(value, mpmath.mpc):
        if value.imag != 0:
            raise Undefined("a comparison of complex values")
        return value.real
    return value


def _compare(node, left, right) -> bool:
    left, right = _real(left), _real(right)
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right,
            "==": left == right, "!=": left != right}[node.rel_op]


def _short(node, limit: int = 60) -> str:
    text = str(node)
    return text if len(text) <= limit else text[: limit - 1] + "…"

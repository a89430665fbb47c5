"""The traced element: a sympy expression and its value at one concrete point, travelling together.

The user's numpy code runs unchanged on object arrays of :class:`Traced` entries. Arithmetic builds the
expression exactly (a float constant in the code becomes the exact rational it stores) and the value in
float64 beside it. A comparison cannot be answered symbolically, so it is answered at the point and the
answer is recorded as a condition (``x₀ − x₁ > 0``): the traced expressions are the code's function
wherever every recorded condition holds (the *region*). A comparison closer to its boundary than the
margin raises :class:`NearBoundary`, and the trace is run again at another point. Divisions, square roots
and logarithms record their *domain* (a denominator ≠ 0, an argument > 0).

What has no exact meaning here (``float(x)``, ``int(x)``, indexing with a value, hashing, ``x ** y``
with a traced exponent, rounding) raises :class:`Untraceable`, naming the operation.
"""

from __future__ import annotations

import math
import sys
import sysconfig
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import sympy as sp

from gradproof.derive.errors import InputError
from gradproof.derive.symbolic.functions import sigmoid

#: a comparison whose two sides are closer than this (relative to their size) is too near its boundary
MARGIN = 1e-6
GREATER, NONZERO = ">", "≠"


class Untraceable(InputError):
    """The user's code did something that has no exact symbolic meaning (a cast to float, np.linalg, …)."""

    def __init__(self, operation: str, line: str | None = None):
        self.operation, self.line = operation, user_line() if line is None else line
        super().__init__(f"cannot trace: {operation}{' at ' + self.line if self.line else ''}")
        if _ACTIVE:   # remembered even if the user's code catches it (see Recorder.raised)
            _ACTIVE[-1].raised.append(self)


class NearBoundary(Exception):
    """A comparison at the current point is too close to call: the trace is retried at another point."""


class Root(sp.Function):
    """√u, opaque: its derivative is 1/(2√u); the decision procedure knows Root(u)² = u (and u > 0)."""

    nargs = 1

    def fdiff(self, argindex=1):
        return 1 / (2 * Root(self.args[0]))

    def _eval_is_positive(self):
        return True

    def _eval_is_real(self):
        return True

    def _latex(self, printer):
        return r"\sqrt{%s}" % printer._print(self.args[0])

    def _sympystr(self, printer):
        return f"sqrt({printer._print(self.args[0])})"


@dataclass(frozen=True)
class Condition:
    """``expr > 0`` or ``expr ≠ 0``, where it was met (file:line) and why (a branch or a domain)."""

    expr: sp.Expr
    relation: str
    where: str = field(default="", compare=False)
    origin: str = field(default="branch", compare=False)

    def text(self) -> str:
        # sympy orders an Add's terms when printing, which takes seconds for a batchnorm's variance: a long
        # condition is printed in the order it was built
        order = "none" if _larger_than(self.expr, 200) else None
        return f"{sp.sstr(self.expr, order=order)} {self.relation} 0"


def _larger_than(expr: sp.Expr, count: int) -> bool:
    """Whether ``expr`` has more than ``count`` nodes (stops counting there)."""
    for _ in sp.preorder_traversal(expr):
        count -= 1
        if count < 0:
            return True
    return False


class Recorder:
    """The conditions met during one trace. Only one recorder is active at a time (see :func:`recording`)."""

    def __init__(self, margin: float = MARGIN):
        self.margin = margin
        self.conditions: dict[tuple, Condition] = {}
        #: every Untraceable and NearBoundary raised during the trace: code that catches one goes on along a
        #: path the trace does not describe (a branch not recorded, a cast skipped), so the caller re-raises it
        self.raised: list[Exception] = []

    def add(self, expr: sp.Expr, relation: str, origin: str) -> None:
        if expr.is_Number:
            return
        key = (expr, relation)
        if key not in self.conditions:
            self.conditions[key] = Condition(expr, relation, user_line(), origin)


_ACTIVE: list[Recorder] = []


def active() -> Recorder:
    if not _ACTIVE:
        raise Untraceable("a traced value used after its trace ended")
    return _ACTIVE[-1]


class recording:
    """``with recording(recorder):`` makes ``recorder`` the one traced operations report to."""

    def __init__(self, recorder: Recorder):
        self.recorder = recorder

    def __enter__(self):
        _ACTIVE.append(self.recorder)
        return self.recorder

    def __exit__(self, *exc):
        _ACTIVE.remove(self.recorder)


_HERE = Path(__file__).resolve().parents[1]   # derive/ (gradproof/derive/ when installed)
#: code that is not the user's: gradproof, sympy, numpy, the standard library and installed libraries (the
#: tracer must not hand symengine's or torch's module-level ``np`` its proxy: they are watched as libraries)
_SKIP = tuple(str(p) + "/" for p in (_HERE, _HERE.parent / "numeric", _HERE.parent / "gradproof",
                                      Path(sp.__file__).resolve().parent, Path(np.__file__).resolve().parent,
                                      *(Path(sysconfig.get_paths()[key]).resolve()
                                        for key in ("stdlib", "platstdlib", "purelib", "platlib"))))


def user_line() -> str:
    """"file.py:LINE" of the innermost frame that is the user's (not gradproof's, numpy's or sympy's)."""
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        if not name.startswith("<") and not _library(name):
            return f"{Path(name).name}:{frame.f_lineno}"
        frame = frame.f_back
    return ""


_LIBRARY_FILES: dict[str, bool] = {}


def _library(filename: str) -> bool:
    found = _LIBRARY_FILES.get(filename)
    if found is None:
        found = _LIBRARY_FILES[filename] = str(Path(filename).resolve()).startswith(_SKIP)
    return found


_OWN = tuple(str(p) + "/" for p in (_HERE, _HERE.parent / "numeric", _HERE.parent / "gradproof"))
_OWN_FILES: dict[str, bool] = {}


def _own(filename: str) -> bool:
    """Whether ``filename`` is gradproof's own source (memoized: called on every read of a traced value)."""
    found = _OWN_FILES.get(filename)
    if found is None:
        found = _OWN_FILES[filename] = str(Path(filename).resolve()).startswith(_OWN)
    return found


def lift(value) -> "Traced":
    """A traced element for ``value``: itself if traced, an exact constant for a real number."""
    if isinstance(value, Traced):
        return value
    if value is None:  # an entry of np.empty(..., dtype=object) never written: numpy leaves None
        return Traced(sp.Integer(0), 0.0)
    if isinstance(value, (bool, int)) or (hasattr(value, "dtype") and value.dtype.kind in "biu"):
        return Traced(sp.Integer(int(value)), float(value))
    if isinstance(value, float) or (hasattr(value, "dtype") and value.dtype.kind == "f"):
        number = float(value)
        if not math.isfinite(number):
            raise Untraceable(f"a non-finite constant ({number})")
        return Traced(exact_constant(number), number)
    raise Untraceable(f"a {type(value).__name__} value mixed with traced values")


def exact_constant(number: float) -> sp.Rational:
    """The rational a float constant stands for: the simplest fraction with a denominator up to 10⁶ within
    4 ulps (0.2 is 1/5, 1/0.6 is 5/3, 1e-5 is 1/100000), else the exact value the float stores."""
    exact = Fraction(number)
    simple = exact.limit_denominator(10**6)
    if abs(simple - exact) <= 4 * abs(exact) * Fraction(2) ** -52:
        exact = simple
    return sp.Rational(exact.numerator, exact.denominator)


def logistic(expr: sp.Expr) -> sp.Expr:
    """``expr``, or σ(u) where it is 1/(1 + e^(−u)): the opaque sigmoid of gradproof.derive.symbolic, whose
    derivative rule σ' = σ·(1 − σ) is a proven lemma, keeps the logistic function free of denominators."""
    if expr.is_Pow and expr.exp == -1 and expr.base.is_Add and len(expr.base.args) == 2:
        one, other = sorted(expr.base.args, key=lambda t: t != 1)
        if one == 1 and isinstance(other, sp.exp):
            return sigmoid(-other.args[0])
    return expr


#: a sum with at least this many terms grows by nesting instead of being flattened and sorted again
LONG_SUM = 8


def _sum(a: sp.Expr, b: sp.Expr) -> sp.Expr:
    """a + b. A running sum (matmul, np.sum, a convolution's loop) that sympy flattened and sorted again at
    every term would cost O(k log k) per term: past LONG_SUM terms the terms are appended, unsorted and
    unevaluated (one flat sum: the decision procedure, the derivative and the evaluator read any sum;
    comparisons and the differences of the two sides are evaluated, so equal sums still cancel)."""
    if (a.is_Add and len(a.args) >= LONG_SUM) or (b.is_Add and len(b.args) >= LONG_SUM):
        if b == 0:
            return a
        if a == 0:
            return b
        return sp.Add._from_args((a.args if a.is_Add else (a,)) + (b.args if b.is_Add else (b,)))
    return a + b


def _safe(function, *values) -> float:
    try:
        return float(function(*values))
    except (OverflowError, ValueError, ZeroDivisionError):
        return math.nan


class Traced:
    """One entry of a traced array: ``expr`` (sympy, exact) and ``value`` (float64, at the point)."""

    __slots__ = ("expr", "_value")
    __array_priority__ = -1

    def __init__(self, expr: sp.Expr, value: float):
        self.expr, self._value = expr, value

    @property
    def value(self) -> float:
        """The value at the point, for gradproof's own code: code being traced that reads it could branch on
        the point without the branch being recorded (a region too large), so there it cannot be traced."""
        if not _own(sys._getframe(1).f_code.co_filename):
            raise Untraceable("reading a traced value at the point (.value): a branch on it would not be "
                              "recorded in the region")
        return self._value

    # -- arithmetic ---------------------------------------------------------------------------------------
    def __add__(self, other):
        other = lift(other)
        return Traced(_sum(self.expr, other.expr), self._value + other._value)

    __radd__ = __add__

    def __sub__(self, other):
        other = lift(other)
        return Traced(_sum(self.expr, -other.expr), self._value - other._value)

    def __rsub__(self, other):
        return lift(other) - self

    def __mul__(self, other):
        other = lift(other)
        if self.expr == 0 or other.expr == 0:  # sympy's 0·u asks whether u is finite: slow on a large u
            return Traced(sp.Integer(0), self._value * other._value)
        return Traced(self.expr * other.expr, self._value * other._value)

    __rmul__ = __mul__

    def __truediv__(self, other):
        other = lift(other)
        if other.expr == 0:
            raise ZeroDivisionError("division by zero (an exact zero in the traced code)")
        active().add(other.expr, NONZERO, "domain")
        return Traced(logistic(self.expr / other.expr), _safe(lambda a, b: a / b, self._value, other._value))

    def __rtruediv__(self, other):
        return lift(other) / self

    def __neg__(self):
        return Traced(-self.expr, -self._value)

    def __pos__(self):
        return self

    def __pow__(self, exponent):
        if isinstance(exponent, Traced):
            if not exponent.expr.is_Number:
                raise Untraceable("a power with a traced exponent (x ** y)")
            exponent = float(exponent._value)
        if hasattr(exponent, "dtype"):
            exponent = exponent.item()
        if float(exponent) == int(exponent):
            n = int(exponent)
            if n < 0:
                active().add(self.expr, NONZERO, "domain")
            return Traced(self.expr ** n, _safe(lambda a: a ** n, self._value))
        if float(exponent) == 0.5:
            return self.sqrt()
        raise Untraceable(f"a power with the exponent {exponent} (only whole powers and 0.5 are traced)")

    def __rpow__(self, base):
        raise Untraceable("a power with a traced exponent (c ** x)")

    def __abs__(self):
        return self if self._sign() > 0 else -self

    # -- comparisons: answered at the point, recorded -------------------------------------------------------
    def _sign(self, other=0) -> int:
        """The sign of self − other at the point, recorded as a condition on the region."""
        other = lift(other)
        difference = self.expr - other.expr
        if difference.is_Number:
            return int(bool(difference > 0)) - int(bool(difference < 0))
        gap, scale = self._value - other._value, max(1.0, abs(self._value), abs(other._value))
        if not math.isfinite(gap) or abs(gap) <= active().margin * scale:
            near = NearBoundary(f"{sp.sstr(difference)} is {gap:.3g} at the point")
            active().raised.append(near)
            raise near
        sign = 1 if gap > 0 else -1
        active().add(sign * difference, GREATER, "branch")
        return sign

    def __gt__(self, other):
        return self._sign(other) > 0

    def __lt__(self, other):
        return self._sign(other) < 0

    def __ge__(self, other):
        return self._sign(other) > 0

    def __le__(self, other):
        return self._sign(other) < 0

    def __eq__(self, other):
        other = lift(other)
        if (self.expr - other.expr) == 0:
            return True
        return self._sign(other) == 0  # never true: equal values of different expressions are a boundary

    def __ne__(self, other):
        return not self.__eq__(other)

    def __bool__(self):
        return self._sign() != 0

    # -- what numpy calls on object arrays ---------------------------------------------------------------
    def exp(self):
        coefficient, rest = self.expr.as_coeff_Mul()
        if isinstance(rest, sp.log) and coefficient.is_Integer:  # e^(k·log u) = u^k (sympy's own rule,
            result = rest.args[0] ** int(coefficient)            # without its slow simplification pass)
        else:
            result = sp.exp(self.expr)
        return Traced(logistic(result), _safe(math.exp, self._value))

    def log(self):
        active().add(self.expr, GREATER, "domain")
        return Traced(sp.log(self.expr), _safe(math.log, self._value))

    def sqrt(self):
        active().add(self.expr, GREATER, "domain")
        return Traced(Root(self.expr), _safe(math.sqrt, self._value))

    def tanh(self):
        return Traced(sp.tanh(self.expr), math.tanh(self._value))

    def sinh(self):
        return Traced(sp.sinh(self.expr), _safe(math.sinh, self._value))

    def cosh(self):
        return Traced(sp.cosh(self.expr), _safe(math.cosh, self._value))

    def sin(self):
        return Traced(sp.sin(self.expr), math.sin(self._value))

    def cos(self):
        return Traced(sp.cos(self.expr), math.cos(self._value))

    def log1p(self):
        return (self + 1).log()

    def expm1(self):
        return self.exp() - 1

    def conjugate(self):
        return self

    @property
    def real(self):
        return self

    @property
    def imag(self):
        return Traced(sp.Integer(0), 0.0)

    # -- what has no exact meaning ----------------------------------------------------------------------------
    def __float__(self):
        raise Untraceable("float() of a traced value (a cast, or a write into a float array)")

    def __int__(self):
        raise Untraceable("int() of a traced value")

    def __complex__(self):
        raise Untraceable("complex() of a traced value (a write into a complex array?)")

    def __index__(self):
        raise Untraceable("a traced value used as an index")

    def __hash__(self):
        raise Untraceable("hashing a traced value (a set or dict key)")

    def __round__(self, ndigits=None):
        raise Untraceable("round() of a traced value")

    def __floordiv__(self, other):
        raise Untraceable("// of a traced value")

    __rfloordiv__ = __floordiv__

    def __mod__(self, other):
        raise Untraceable("% of a traced value")

    __rmod__ = __mod__

    def __deepcopy__(self, memo):
        return self  # immutable

    def __repr__(self):
        # the expression, not the value at the point: code that parsed its printed value could branch on the
        # point without the branch being recorded
        text = sp.sstr(self.expr) if not _larger_than(self.expr, 40) else f"{type(self.expr).__name__}(…)"
        return f"traced({text})"

    def __format__(self, spec):
        return repr(self)

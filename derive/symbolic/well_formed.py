"""One validation pass over a definition of your own (an activation in ``z``, a loss in ``a`` and ``y``),
whichever way it comes: text (``--define``, ``--activation``, ``--loss``, ``define_*("…")``) or a sympy
expression from Python. What passes is a finite, real expression in the allowed variables, with numbers
small enough to compute with; anything else is one :class:`InputError` naming the problem.

- :func:`check_text` — before sympy sees the text (it evaluates as it builds: ``9**9**9`` would run for
  hours, ``Piecewise((a, a))`` raise deep inside): Python syntax limited to numbers, names, arithmetic
  and calls; each function called with as many arguments as it takes; comparisons and True/False only as
  a Piecewise condition; no number too large to compute with (:func:`_sizes`).
- :func:`parse_text` — the checked text as sympy computes it, node by node, each node finite and, if a
  number, real: sympy makes some of them vanish (``1/(1/0)`` is 0, ``0*sqrt(-1)`` is 0, ``log(z, 0)`` is 0),
  and a definition holding a division by zero is refused wherever the zero ends up.
- :func:`check_expression` — the parsed or given expression: the allowed variables only (a plain
  ``Symbol("z")`` from Python is taken as the real ``z``), no size too large, nothing infinite or undefined
  (``oo``, ``zoo``, ``nan``: ``1/0``, ``0/0``, ``Max()``, ``log(0)``), nothing complex (``sqrt(-1)``), a
  Piecewise whose conditions are conditions and whose last branch holds everywhere (``(…, True)``),
  Heaviside's value at 0 a number, and every number within float64's range (the network computes in it).

Sizes are bounded before anything evaluates them (:class:`Bound`): each node gets upper bounds on the
digits of the exact numbers sympy may compute from it (sympy's square root of a 3,000-digit fraction takes a
minute) and on how large or small its value may be (``Max(exp(exp(exp(100))), 1)`` asks mpmath for a number
whose exponent has 10^43 digits; ``sin`` of a 10^100,000 takes a second). The bounds follow the operations:
digits add under + and ×; a power multiplies them by the exponent's largest value; ``exp`` turns a value
into a magnitude, and ``exp(n·log b)`` is ``bⁿ`` to sympy, so an argument with a log in it makes digits too.
Variables count as numbers near 1. The bounds refuse a little more than they must (``exp(log(c)·k)`` with
large c and k), never less.
"""

from __future__ import annotations

import ast
import decimal
import fractions
import math
import operator
import re
from typing import NamedTuple

import sympy as sp
from sympy.core.relational import Relational
from sympy.logic.boolalg import And, BooleanFalse, BooleanTrue, Not, Or

from gradproof.derive.errors import InputError
from gradproof.derive.symbolic.walk import arguments, post_order

#: exact numbers (a numerator or a denominator) in a definition: at most this many digits
MAX_DIGITS = 1000
#: values in a definition: between 10^-MAX_MAGNITUDE and 10^MAX_MAGNITUDE in size
MAX_MAGNITUDE = 100_000
#: the largest float64, as an exact number
FLOAT_MAX = sp.Rational(int(1.7976931348623157e308))
#: functions whose value grows like exp of their argument (sympy computes them through exp)
GROWTH = frozenset({"exp", "sinh", "cosh", "tanh", "sigmoid", "softplus"})
_LONG_NUMBER = re.compile(r"[0-9_]{%d,}" % (MAX_DIGITS + 1))

#: the Python syntax a definition may use: numbers, names, arithmetic, calls of named functions, and the
#: tuples and comparisons of a Piecewise; sympy's parser evaluates the text, so nothing else gets there
#: (no attribute, subscript, lambda, keyword: ``exp.fdiff.__globals__`` would reach any Python)
_SYNTAX = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Load, ast.Constant, ast.Tuple,
           ast.Compare, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub, ast.UAdd, ast.Gt, ast.Lt,
           ast.GtE, ast.LtE)
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class Bound(NamedTuple):
    """What a node of a definition may make, as upper bounds: ``digits`` of the exact numbers sympy computes
    from it (numerators, denominators), ``up`` of log10 |value| and ``down`` of −log10 |value| (either may be
    negative: 0.001 has up −2), with every variable taken near 1; ``log``: whether a log is inside."""

    digits: float
    up: float
    down: float
    log: bool

    @property
    def size(self) -> float:
        """An upper bound on |log10 |value||."""
        return max(self.up, self.down, 0)

    @property
    def too_large(self) -> bool:
        return self.digits > MAX_DIGITS or self.size > MAX_MAGNITUDE


def parse_text(text: str, names: dict, arity: dict, what: str) -> sp.Basic:
    """``text`` as sympy computes it with ``names`` (variables, functions, constants; any other name is a
    plain symbol), after :func:`check_text`; each subexpression is computed from its parts and must be
    finite and, where it is a number, real: ``1/(1/0)`` is refused at ``1/0``, not 0 (see the module doc)."""
    root = check_text(text, arity, what)
    done: dict = {}

    def visit(node):
        try:
            value = _value(node, [done[child] for child in _ast_children(node)], text.strip(), names)
        except InputError:
            raise
        except Exception as error:  # noqa: BLE001 - sympy refuses in many ways (a comparison with nan, …)
            raise InputError(f"{what}: {_segment(text.strip(), node)} cannot be computed ({type(error).__name__}: "
                             f"{error})") from None
        if isinstance(value, sp.Basic):
            _finite_and_real(value, what, _segment(text.strip(), node))
        return value
    return post_order(root, done, visit, _ast_children)


def check_text(text: str, arity: dict, what: str) -> ast.AST:
    """The syntax tree of ``text``, or an InputError unless it is a definition sympy may compute: see the
    module doc. ``arity`` maps each function's name to the least and most arguments it takes (most None:
    any number)."""
    if _LONG_NUMBER.search(text):
        raise InputError(f"{what}: a number in the definition has more than {MAX_DIGITS} digits")
    tree = _syntax_tree(text.strip(), what)
    _roles(tree.body, text.strip(), arity, what)
    _sizes(tree.body, text.strip(), what)
    return tree.body


_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
              ast.Pow: operator.pow, ast.USub: operator.neg, ast.UAdd: operator.pos}
_COMPARISONS = {ast.Gt: sp.Gt, ast.Lt: sp.Lt, ast.GtE: sp.Ge, ast.LtE: sp.Le}


def _value(node: ast.AST, kids: list, text: str, names: dict):
    """What sympy makes of one node of the syntax tree, from its children's values."""
    if isinstance(node, ast.Constant) and type(node.value) is bool:
        return sp.true if node.value else sp.false
    if isinstance(node, ast.Constant) and type(node.value) is float:   # the decimal as typed, exactly
        exact = fractions.Fraction(decimal.Decimal(ast.get_source_segment(text, node).replace("_", "")))
        return sp.Rational(exact.numerator, exact.denominator)
    if isinstance(node, ast.Constant):
        return sp.Integer(node.value)
    if isinstance(node, ast.Name):
        return names[node.id] if node.id in names else sp.Symbol(node.id)
    if isinstance(node, (ast.BinOp, ast.UnaryOp)):
        return _OPERATORS[type(node.op)](*kids)
    if isinstance(node, ast.Compare):
        return _COMPARISONS[type(node.ops[0])](*kids)
    if isinstance(node, ast.Tuple):
        return tuple(kids)
    if node.func.id == "log" and len(kids) == 2:                       # log(x, b) is log(x)/log(b)
        base = sp.log(kids[1])
        if base == 0 or base.has(sp.oo, -sp.oo, sp.zoo, sp.nan) or (base.is_number and not base.is_extended_real):
            raise ValueError(f"the base of a log is positive and not 1, not {kids[1]}")
    return names[node.func.id](*kids)


def _finite_and_real(value: sp.Basic, what: str, shown: str) -> None:
    """An InputError where ``value`` holds oo, -oo, zoo or nan, or is a number that is not real."""
    infinite = [str(special) for special in (sp.oo, -sp.oo, sp.zoo, sp.nan) if value.has(special)]
    if infinite:
        raise InputError(f"{what}: {shown} is infinite or undefined ({', '.join(infinite)}: a division by zero, "
                         "log(0), 0/0, Max() or Min() of nothing?)")
    if isinstance(value, sp.Expr) and value.is_number and value.is_extended_real is False:
        raise InputError(f"{what}: {shown} is not a real number: activations and losses are real functions "
                         "(sqrt(-1), log(-2) and (-1)**(1/3) are complex)")


def _syntax_tree(text: str, what: str) -> ast.Expression:
    """The text's Python syntax tree, made of :data:`_SYNTAX` alone with plain names and numbers."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        raise InputError(f"{what}: {text!r} does not parse as an expression ({error.msg})") from None
    except (MemoryError, RecursionError, ValueError):  # nested past the parser's stack
        raise InputError(f"{what}: the expression is nested too deeply to parse ({len(text)} characters)") from None
    for node in ast.walk(tree):
        bad = not isinstance(node, _SYNTAX) or (isinstance(node, ast.Name) and not NAME.match(node.id)) or \
            (isinstance(node, ast.Constant) and type(node.value) not in (int, float, bool)) or \
            (isinstance(node, ast.Call) and (not isinstance(node.func, ast.Name) or node.keywords))
        if bad:
            raise InputError(f"{what}: {text!r} may use numbers, names, + - * / ** and calls like exp(z) only "
                             f"(not {type(node).__name__})")
    return tree


def _roles(root: ast.AST, text: str, arity: dict, what: str) -> None:
    """Each node in its place: a value where a number goes, a branch ``(expression, condition)`` in a
    Piecewise, a comparison or True/False as a branch's condition."""
    stack = [(root, "value")]
    while stack:
        node, role = stack.pop()
        if role == "branch":
            if not isinstance(node, ast.Tuple) or len(node.elts) != 2:
                raise InputError(f"{what}: each argument of Piecewise is a pair (expression, condition), "
                                 "e.g. Piecewise((z, z > 0), (0, True))")
            stack += [(node.elts[0], "value"), (node.elts[1], "condition")]
        elif role == "condition":
            stack += _condition_parts(node, text, what)
        else:
            stack += _value_parts(node, text, arity, what)


def _segment(text: str, node: ast.AST) -> str:
    """The text of ``node`` as typed, shortened, quoted."""
    segment = ast.get_source_segment(text, node) or ""
    return repr(segment[:60] + "…" * (len(segment) > 60))


def _condition_parts(node: ast.AST, text: str, what: str) -> list:
    if isinstance(node, ast.Constant) and type(node.value) is bool:
        return []
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        return [(node.left, "value"), (node.comparators[0], "value")]
    if isinstance(node, ast.Compare):
        raise InputError(f"{what}: a Piecewise condition is one comparison (z > 0), not a chain of them")
    raise InputError(f"{what}: a Piecewise condition is a comparison like z > 0, or True for the last branch "
                     f"(not {_segment(text, node)})")


def _value_parts(node: ast.AST, text: str, arity: dict, what: str) -> list:
    if isinstance(node, ast.Compare) or (isinstance(node, ast.Constant) and type(node.value) is bool):
        raise InputError(f"{what}: {_segment(text, node)} is a condition, not a number: conditions go in a "
                         "Piecewise, e.g. Piecewise((z, z > 0), (0, True))")
    if isinstance(node, ast.Tuple):
        raise InputError(f"{what}: a pair (…, …) is a Piecewise branch only, e.g. Piecewise((z, z > 0), (0, True))")
    if isinstance(node, ast.Name) and node.id in arity:
        raise InputError(f"{what}: {node.id} is a function: write {node.id}(…)")
    if not isinstance(node, ast.Call):
        return [(child, "value") for child in ast.iter_child_nodes(node)]
    name, given = node.func.id, len(node.args)
    if name not in arity and name in ("pi", "E"):
        raise InputError(f"{what}: {name} is a number, not a function: write {name}, not {name}(…)")
    if name not in arity:
        raise InputError(f"{what}: {name}(…): {name} is not a function a definition may call (use "
                         f"{', '.join(sorted(arity, key=str.lower))})")
    least, most = arity[name]
    if given < least or (most is not None and given > most):
        takes = f"{least}" if least == most else f"{least} to {most}" if most else f"at least {least}"
        raise InputError(f"{what}: {name} takes {takes} argument{'s' * ((most or least) != 1)}, not {given}")
    role = "branch" if name == "Piecewise" else "value"
    return [(child, role) for child in node.args]


def _sizes(root: ast.AST, text: str, what: str) -> None:
    """An InputError where the text may make numbers too large to compute with (see the module doc)."""
    done: dict = {}

    def visit(node):
        kids = [done[child] for child in _ast_children(node)]
        bound = _ast_leaf(node, text) if not kids else _combine(_ast_kind(node), kids)
        if bound.too_large:
            _too_large(what, _segment(text, node))
        return bound
    post_order(root, done, visit, _ast_children)


def _ast_children(node: ast.AST) -> list:
    if isinstance(node, ast.Call):
        return node.args
    return [child for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr)]


def _ast_kind(node: ast.AST) -> str:
    if isinstance(node, ast.BinOp):
        return {ast.Add: "add", ast.Sub: "add", ast.Mult: "mul", ast.Div: "div"}.get(type(node.op), "pow")
    if isinstance(node, ast.UnaryOp):
        return "same"
    return node.func.id if isinstance(node, ast.Call) else "other"


def _ast_leaf(node: ast.AST, text: str) -> Bound:
    """The bound of a number as typed, a name, or a call of nothing."""
    if isinstance(node, ast.Constant) and type(node.value) is float:
        number = decimal.Decimal((ast.get_source_segment(text, node) or "0").replace("_", ""))
        digits = number.as_tuple()
        height = max(len(digits.digits) + digits.exponent, -digits.exponent, len(digits.digits))
        return Bound(height, number.adjusted() + 1, -number.adjusted(), False) if number else Bound(height, 0, 0, False)
    if isinstance(node, ast.Constant):
        return _rational(abs(int(node.value)), 1)
    return Bound(0, 0.5 if isinstance(node, ast.Name) and node.id in ("pi", "E") else 0, 0, False)


def _rational(p: int, q: int) -> Bound:
    """The bound of the number p/q (p ≥ 0, q > 0), computed without writing p or q in decimal."""
    if p == 0:
        return Bound(0, 0, 0, False)
    top, bottom = math.log10(p), math.log10(q)
    slack = 1e-12 * (top + bottom) + 1e-12          # so that 10^bound is at least the number
    return Bound(max(top, bottom) + slack, top - bottom + slack, bottom - top + slack, False)


def _times(scale: float, power: float) -> float:
    """scale · 10^power, 0 where scale is 0 (no NaN from 0 · ∞)."""
    return 0 if scale == 0 else scale * 10 ** power if power < 300 else math.inf


def _combine(kind: str, kids: list) -> Bound:
    """The bound of a node from its children's (see the module doc and :class:`Bound`)."""
    digits, has_log = sum(kid.digits for kid in kids), any(kid.log for kid in kids) or kind == "log"
    if kind == "same":
        return kids[0]
    if kind in ("mul", "div"):
        if kind == "div":
            return Bound(digits, kids[0].up + kids[1].down, kids[0].down + kids[1].up, has_log)
        return Bound(digits, sum(kid.up for kid in kids), sum(kid.down for kid in kids), has_log)
    if kind == "pow":
        base, exponent = kids[:2]
        size = _times(base.size, exponent.up)                  # |e·log10 b| ≤ 10^up(e) · size(b)
        exact = _times(base.digits, exponent.up) + exponent.digits
        return Bound(exact + (_times(0.4343, exponent.up) if exponent.log else 0), size, size, has_log)
    if kind in GROWTH:
        size = _times(0.4343, max(kid.up for kid in kids))     # log10 e^x = 0.4343·x; e^(n·log b) is bⁿ
        return Bound(digits + (size if has_log else 0), size, size, has_log)
    if kind == "log":
        return Bound(digits, math.log10(2.3026 * max(kid.size for kid in kids) + 1), digits + 1, has_log)
    digits += 0.31 * len(kids)                                  # a sum, a comparison, Max, sin, …
    spread = 0 if kind == "add" else 1
    return Bound(digits, max(kid.up for kid in kids) + math.log10(len(kids)) + spread,
                 max(max(kid.down for kid in kids), digits) + spread, has_log)


def _too_large(what: str, shown: str) -> None:
    raise InputError(f"{what}: {shown} makes numbers too large to compute with (a definition's exact numbers "
                     f"have at most {MAX_DIGITS} digits, its values lie within 10^±{MAX_MAGNITUDE:,})")


def check_expression(expr, variables: dict, what: str, shown: str | None = None) -> sp.Expr:
    """``expr`` (parsed, or given from Python) with a plain ``Symbol("z")`` taken as the real ``z``, or an
    InputError saying what is wrong with it (see the module doc); ``shown`` is the text as typed."""
    if not isinstance(expr, sp.Expr):
        raise InputError(f"{what}: {_short(expr, shown)} is not an expression (a formula with a number's "
                         "value: a condition belongs in a Piecewise)")
    _expression_sizes(expr, what)
    expr = _own_variables(expr, variables, what, shown)
    _finite_and_real(expr, what, _short(expr, shown))
    _real(expr, what)
    _conditions(expr, what)
    for number in expr.atoms(sp.Number):
        if abs(number) > FLOAT_MAX:
            raise InputError(f"{what}: the number {sp.Float(number, 3)} is beyond float64's range (±1.8e308), "
                             "which the network computes in")
    return expr


def _expression_sizes(expr: sp.Expr, what: str) -> None:
    """As :func:`_sizes`, on a sympy expression (one given from Python, or the text once parsed)."""
    done: dict = {}

    def visit(node):
        kids = [done[child] for child in arguments(node)]
        bound = _sympy_leaf(node) if not kids else _combine(_sympy_kind(node), kids)
        if bound.too_large:
            _too_large(what, f"a number of about {bound.digits:.3g} digits" if node.is_Number else _short(node))
        return bound
    post_order(expr, done, visit)


def _sympy_kind(node: sp.Basic) -> str:
    if node.is_Add or node.is_Mul or node.is_Pow:
        return "add" if node.is_Add else "mul" if node.is_Mul else "pow"
    return type(node).__name__


def _sympy_leaf(node: sp.Basic) -> Bound:
    """The bound of an atom: a number (a Float as the exact number it holds), a symbol, a constant."""
    if node.is_Rational:
        return _rational(abs(node.p), node.q)
    if node.is_Float and node.is_finite and node:
        _, _, exponent, bits = node._mpf_                      # |value| in [2^(exponent+bits-1), 2^(exponent+bits))
        height = max(bits + max(exponent, 0), -min(exponent, 0)) * 0.30103
        return Bound(height, (exponent + bits) * 0.30103, (1 - exponent - bits) * 0.30103, False)
    return Bound(0, 0.5 if isinstance(node, sp.NumberSymbol) else 0, 0, False)


def _own_variables(expr: sp.Expr, variables: dict, what: str, shown: str | None) -> sp.Expr:
    """``expr`` with each plain symbol named like a variable taken as the variable (real); an InputError
    for any other symbol."""
    own = set(variables.values())
    foreign = [symbol for symbol in expr.free_symbols if symbol not in own]
    plain = {symbol: variables[symbol.name] for symbol in foreign
             if symbol.name in variables and symbol == sp.Symbol(symbol.name)}
    unknown = sorted(str(symbol) for symbol in foreign if symbol not in plain)
    if any(name in variables for name in unknown):
        raise InputError(f"{what}: the symbol {unknown[0]} carries assumptions of its own: use "
                         f"sympy.Symbol({unknown[0]!r}, real=True) or a plain sympy.Symbol({unknown[0]!r})")
    if unknown:
        raise InputError(f"{what}: unknown name{'s' * (len(unknown) > 1)} {', '.join(unknown)} in "
                         f"{_short(expr, shown)} (use {', '.join(variables)}, numbers and the functions exp, log, "
                         "tanh, sigmoid, Max, …)")
    return expr.xreplace(plain) if plain else expr


def _real(expr: sp.Expr, what: str) -> None:
    """An InputError where a number in ``expr`` is not real (I, sqrt(-1), log(-2), (-1)**(1/3))."""
    def visit(node):
        if isinstance(node, sp.Expr) and node.is_number and node.is_extended_real is False:
            raise InputError(f"{what}: {_short(node)} is not a real number: activations and losses are "
                             "real functions (sqrt(-1), log(-2) and (-1)**(1/3) are complex)")
    post_order(expr, {}, visit)


def _conditions(expr: sp.Expr, what: str) -> None:
    """Each Piecewise's conditions are conditions (comparisons, True, and/or/not of them), its last branch
    holds everywhere; Heaviside's value at 0, where given, is a number."""
    for piecewise in expr.atoms(sp.Piecewise):
        for _, condition in piecewise.args:
            post_order(condition, {}, lambda node: _a_condition(node, what),
                       lambda node: node.args if isinstance(node, (And, Or, Not)) else ())
        if piecewise.args[-1].cond is not sp.true:
            raise InputError(f"{what}: {_short(piecewise)} has no value where none of its conditions holds: "
                             "end it with a branch (…, True)")
    for step in expr.atoms(sp.Heaviside):
        if len(step.args) > 1 and not step.args[1].is_number:
            raise InputError(f"{what}: in {_short(step)}, the value at 0 (the second argument) must be a number")


def _a_condition(node: sp.Basic, what: str) -> None:
    if not isinstance(node, (Relational, BooleanTrue, BooleanFalse, And, Or, Not)):
        raise InputError(f"{what}: {_short(node)} is not a condition: a Piecewise condition is a comparison "
                         "like z > 0, or True for the last branch")


def _short(expr, shown: str | None = None) -> str:
    """The text as typed, or the expression as sympy prints it, shortened and quoted."""
    if shown is None:
        try:
            shown = str(expr)
        except RecursionError:  # nested past the printer's stack
            shown = f"the {type(expr).__name__}"
    return repr(shown[:80] + "…" * (len(shown) > 80))

"""What a user's recurrence may return, and the one form every proof method reads it in.

A claimed gradient entry is rebuilt here from a fixed vocabulary, node by node, before any method looks
at it: exact rational numbers (a ``Float`` becomes the exact binary value it holds; π and e stay
constants), the network's own symbols (each replaced by the proof's own object), ``Add``, ``Mul``,
``Pow``, and the functions gradproof can evaluate (its activations and sympy's elementary functions,
``Heaviside``, ``Max``, ``Min``, ``Abs``, ``sign``, ``Piecewise``). An unevaluated ``Derivative`` or
``Subs`` is evaluated first (by the same rules ``sympy.diff`` applies). Anything else (a string, a
boolean, NaN, ∞, I, a symbol that is not the network's, an undefined function, a user's subclass of a
sympy class, a ``Sum`` or ``Integral``) is bad input: one :class:`InputError` saying which entry holds
what. Rebuilding means no object the user made survives into a proof: ``direct − claimed`` is computed
by sympy's own classes, never by the user's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import sympy as sp
from sympy.core.relational import Relational
from sympy.functions.elementary.piecewise import ExprCondPair
from sympy.logic.boolalg import And, BooleanFalse, BooleanTrue, Not, Or

from gradproof.derive.errors import InputError
from gradproof.derive.proof.evaluation import evaluable
from gradproof.derive.symbolic.functions import Exp, a, a_prime, relu, sigmoid, softplus
from gradproof.derive.symbolic.walk import post_order

#: sympy's own functions a claimed entry may use (exact classes: a subclass is the user's code)
SYMPY_FUNCTIONS = (sp.exp, sp.log, sp.tanh, sp.sinh, sp.cosh, sp.sech, sp.csch, sp.coth, sp.sin, sp.cos,
                   sp.tan, sp.Abs, sp.sign, sp.Heaviside, sp.Max, sp.Min, sp.Piecewise)
#: gradproof's own opaque functions
OWN_FUNCTIONS = (sigmoid, softplus, relu, Exp, a, a_prime)
_CONDITIONS = (And, Or, Not, BooleanTrue, BooleanFalse)
_NOT_FINITE = {sp.nan: "nan", sp.zoo: "complex infinity (zoo)", sp.oo: "∞", -sp.oo: "−∞"}


class Claims:
    """The vocabulary for one proof: the symbols the entries may hold and the function classes."""

    def __init__(self, symbols: Iterable[sp.Symbol], functions: Iterable[type] = ()):
        self.symbols = {s: s for s in symbols}
        self.names = {s.name: s for s in self.symbols}
        self.functions = frozenset(SYMPY_FUNCTIONS) | frozenset(OWN_FUNCTIONS) | frozenset(functions)
        self.cache: dict = {}

    def entry(self, value, where: str) -> sp.Expr:
        """One claimed entry, rebuilt (or an InputError naming ``where`` it is)."""
        if isinstance(value, (str, bytes)):
            raise InputError(f"{where} is the string {value!r}: return sympy expressions built from the "
                             "network's symbols (sym.wbar, sym.xbar, sym.z, …)")
        if isinstance(value, (bool, np.bool_)) or value is None:
            raise InputError(f"{where} is {value!r}, not an expression")
        try:
            expr = sp.sympify(value, strict=True)
        except (sp.SympifyError, TypeError, ValueError) as error:
            raise InputError(f"{where} is a {type(value).__name__}, not a sympy expression ({error})") from None
        rebuilt = self.rebuild(expr, where)
        if not isinstance(rebuilt, sp.Expr) or isinstance(rebuilt, sp.MatrixExpr):
            raise InputError(f"{where} is a {type(rebuilt).__name__} ({_short(rebuilt)}), not a scalar expression")
        return rebuilt

    def rebuild(self, expr, where: str) -> sp.Expr:
        def children(node):  # each node is checked against the vocabulary before it is looked into
            self._allowed(node, where)
            return _children(node)

        return post_order(expr, self.cache, lambda node: self._node(node, where), children)

    def _allowed(self, node, where: str) -> None:
        """Refuse a node of a kind outside the vocabulary before looking into it."""
        kind = type(node)
        if (node.is_Atom or kind in (sp.Add, sp.Mul, sp.Pow) or kind in self.functions or _sympys_own(kind)
                or isinstance(node, (sp.Derivative, sp.Subs, Relational)) or kind in _CONDITIONS
                or kind is ExprCondPair):
            return
        name = getattr(node.func, "__name__", kind.__name__)
        if isinstance(node, sp.Function):
            raise InputError(f"{where} applies the function {name}, which gradproof cannot evaluate: use the "
                             "network's activations, sympy's elementary functions or erf, gamma, Heaviside, …")
        raise InputError(f"{where} holds a {kind.__name__} ({_short(node)}): gradproof decides expressions "
                         "built from numbers, the network's symbols, +, ·, powers and elementary functions")

    def _node(self, node, where: str):
        kind = type(node)
        if node in _NOT_FINITE:
            raise InputError(f"{where} holds {_NOT_FINITE[node]}: a gradient entry must be a finite expression")
        if node.is_Number:
            return sp.Rational(node) if node.is_Float else node
        if isinstance(node, sp.NumberSymbol):
            return node
        if node is sp.I:
            raise InputError(f"{where} holds the imaginary unit I: a gradient entry must be real")
        if node.is_Symbol:
            return self._symbol(node, where)
        if isinstance(node, (sp.Derivative, sp.Subs)):
            evaluated = node.doit()
            if evaluated.has(sp.Derivative, sp.Subs):
                raise InputError(f"{where} holds {node}, a derivative gradproof cannot evaluate: write it out")
            return self.rebuild(evaluated, where)
        if kind in _CONDITIONS and node.is_Atom:
            return node
        if node.is_Atom:
            raise InputError(f"{where} holds a {kind.__name__} ({_short(node)}), which is not a number or a symbol")
        args = [self.cache[arg] for arg in _children(node)]
        return node.func(*args) if tuple(args) != node.args else node

    def _symbol(self, node, where: str):
        ours = self.symbols.get(node)
        if ours is not None and type(node) is type(ours):
            return ours
        if node.name in self.names:
            raise InputError(f"{where} holds a plain Symbol named {node.name}, which is not the network's "
                             f"{node.name} (a {type(self.names[node.name]).__name__}): take it from the "
                             "network (sym.wbar, sym.x, sym.y, …), not Symbol('…')")
        raise InputError(f"{where} holds the symbol {node.name}, which is none of the network's weights, "
                         "inputs or targets")


def _sympys_own(kind) -> bool:
    """A function of sympy's own library that gradproof evaluates (erf, asinh, …): sympy's definition,
    computed in mpmath (not totient or stieltjes, which mpmath lacks or may not finish)."""
    return evaluable(kind)


def _children(node) -> tuple:
    if isinstance(node, (sp.Derivative, sp.Subs)) or node.is_Atom:
        return ()
    return node.args


def _short(node, limit: int = 60) -> str:
    text = str(node)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def claimed_matrices(produced, shapes: Sequence[tuple[int, int]], claims: Claims,
                     what: str = "the recurrence") -> list[sp.ImmutableMatrix]:
    """One matrix per layer, shaped like W̄[l], every entry rebuilt; else an InputError."""
    if isinstance(produced, (str, bytes, dict)) or not isinstance(produced, Iterable):
        raise InputError(f"{what} must return one matrix per layer, not a {type(produced).__name__}")
    produced = list(produced)
    if len(produced) != len(shapes):
        raise InputError(f"{what} returned {len(produced)} matrices for {len(shapes)} weight "
                         "layers: return one ∂E/∂W̄[l] per layer")
    return [matrix_of(m, shape, claims, f"{what}'s ∂E/∂W̄[{layer}]", f"W̄[{layer}] has {tuple(shape)}")
            for layer, (m, shape) in enumerate(zip(produced, shapes))]


def matrix_of(value, shape: tuple[int, int], claims: Claims, what: str, expected: str = "") -> sp.ImmutableMatrix:
    """``value`` as an ImmutableMatrix of ``shape`` with rebuilt entries (a column for shape (n, 1))."""
    rows, entries = _raw_entries(value, what)
    found = (rows, len(entries) // rows if rows else 0)
    as_list = shape[1] == 1 and found == (1, shape[0]) and not isinstance(value, sp.MatrixBase)  # a column, flat
    if found != tuple(shape) and not as_list:
        hint = ": rows are target neurons, columns source inputs" if shape[1] != 1 else ""
        raise InputError(f"{what} has shape {found}, {expected or f'expected {tuple(shape)}'}{hint}")
    rebuilt = [claims.entry(entry, f"{what} entry ({k // shape[1]}, {k % shape[1]})")
               for k, entry in enumerate(entries)]
    return sp.ImmutableMatrix(shape[0], shape[1], rebuilt)


def _raw_entries(value, what: str) -> tuple[int, list]:
    """(rows, entries in row-major order) without converting the entries."""
    if isinstance(value, sp.MatrixBase):
        return value.rows, list(value)
    if isinstance(value, (str, bytes, sp.Basic)):
        raise InputError(f"{what} is a {type(value).__name__}: give an explicit matrix of expressions")
    try:
        array = np.array(value, dtype=object)
    except Exception as error:  # noqa: BLE001 - whatever the user's object raises while converted
        raise InputError(f"{what} is not a matrix: {type(error).__name__}: {error}") from None
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2:
        raise InputError(f"{what} has {array.ndim} dimensions: give a matrix shaped like W̄")
    return array.shape[0], list(array.flat)

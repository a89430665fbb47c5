"""The direct form compiled: every ∂E/∂w by the definition, as one numpy function.

``sympy.diff`` of E per weight, then ``lambdify`` with cse, takes seconds from a few dozen weights on
(2.8 s for [3,5,4,2]): each derivative rebuilds E's shared subexpressions and cse must find them again.
Here ∂E/∂w is carried through E's graph by the chain rule (:mod:`gradproof.derive.symbolic.chain`:
the rules ``sympy.diff`` applies, every function by its ``fdiff``, never the Ψ recurrence), and each
distinct subexpression (of E, and of the derivatives) becomes one line of source, printed by
``lambdify``'s printer, its names meaning what they mean to ``lambdify``: sharing is kept by construction, so nothing is
searched for. The source is ``.source`` of :class:`~gradproof.numeric.compiled.lambdified.CompiledGradient`.
"""

from __future__ import annotations

import functools
import linecache
import re
from itertools import count

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from gradproof.derive.symbolic.chain import ChainRule, Unsupported
from gradproof.derive.symbolic.functions import NUMPY_FUNCTIONS, numeric_printer
from gradproof.derive.symbolic.network import SymbolicNetwork

_FILENAMES = count()
_NAME = re.compile(r"\b_\d+\b")
_IDENTIFIER = re.compile(r"\b[A-Za-z]\w*\b")


def printer() -> NumPyPrinter:
    """The printer ``lambdify`` uses for ``LAMBDIFY_MODULES`` (exact numbers numpy cannot take as floats)."""
    return numeric_printer()


def _placeholder(i: int) -> sp.Symbol:
    return sp.Symbol(f"_gp{i}_")


class Source:
    """The lines of the function, one per distinct subexpression; also the chain rule's
    :class:`~gradproof.derive.symbolic.chain.Algebra` (its elements are the names of lines, or literals)."""

    zero, one = "0.0", "1.0"

    def __init__(self):
        self.printer = printer()
        self.lines: list[str] = []
        self.names: dict = {}     # node of E → its name
        self.emitted: dict = {}   # right-hand side → its name
        self.templates: dict = {}

    def emit(self, code: str) -> str:
        if code not in self.emitted:
            self.emitted[code] = f"_{len(self.emitted)}"
            self.lines.append(f"    {self.emitted[code]} = {code}")
        return self.emitted[code]

    def bind(self, node: sp.Basic, code: str) -> None:
        self.names[node] = self.emit(code)

    def forward(self, node: sp.Basic) -> None:
        """The line of one node of E whose arguments all have names."""
        if node.is_Number or isinstance(node, sp.NumberSymbol):
            self.names[node] = f"({self.printer.doprint(node)})"
        elif node.is_Symbol:
            raise Unsupported(f"E holds a symbol {node} that is neither a weight, an input nor a target")
        elif not (node.is_Add or node.is_Mul or node.is_Pow or isinstance(node, sp.Function)):
            raise Unsupported(f"E holds a {type(node).__name__}: compiled by lambdify instead")
        else:
            self.bind(node, self.fill(node.func, len(node.args), [self.value(arg) for arg in node.args]))

    def fill(self, func, arity: int, names: list[str]) -> str:
        """``func`` applied to ``names``, printed once per (func, arity) with placeholders."""
        key = (func, arity)
        if key not in self.templates:
            self.templates[key] = self.printer.doprint(func(*[_placeholder(i) for i in range(arity)]))
        return _substitute(self.templates[key], names)

    def value(self, node):
        return self.names[node]

    def add(self, terms: list) -> str:
        return self.emit(" + ".join(terms))

    def mul(self, factors: list) -> str:
        return self.emit("*".join(factors))

    def power_rule(self, base, exponent) -> str:
        template = self.printer.doprint(exponent * _placeholder(0) ** (exponent - 1))
        return self.emit(_substitute(template, [self.value(base)]))

    def rule(self, node) -> str:
        key = ("rule", node.func)
        if key not in self.templates:
            t = sp.Dummy("t")
            derivative = node.func(t).fdiff(1).xreplace({node.func(t): _placeholder(1), t: _placeholder(0)})
            self.templates[key] = self.printer.doprint(derivative)
        return self.emit(_substitute(self.templates[key], [self.value(node.args[0]), self.value(node)]))


def _substitute(template: str, names: list[str]) -> str:
    for i, name in enumerate(names):
        template = template.replace(f"_gp{i}_", name)
    return template


def direct_source(sym: SymbolicNetwork) -> str:
    """The source of ``_lambdifygenerated(wbar, x, y)``: ∂E/∂w for every weight in W̄ order (row by row); the
    name is lambdify's, which the disk cache (:mod:`gradproof.numeric.compiled.per_weight`) loads by."""
    rule = ChainRule(sym.error, Source())
    source = rule.algebra
    leaves = {w: f"wbar[{l}][{r}][{c}]" for l, matrix in enumerate(sym.wbar)
              for (r, c), w in ((divmod(k, matrix.cols), w) for k, w in enumerate(matrix))}
    leaves.update({x: f"x[{j}]" for j, x in enumerate(sym.x)})
    leaves.update({y: f"y[{k}]" for k, y in enumerate(sym.y)})
    for node in rule.graph.nodes:
        if node in leaves:
            source.bind(node, leaves[node])
        else:
            source.forward(node)
    result = f"    return [{', '.join(rule.derivative(w) for w in sym.weight_symbols)}]"
    return "\n".join(["def _lambdifygenerated(wbar, x, y):", *_needed(source.lines, result), result, ""])


def _needed(lines: list[str], result: str) -> list[str]:
    """The lines ``result`` needs, directly or through other lines (E's own value, say, is not needed)."""
    used, kept = set(_NAME.findall(result)), []
    for line in reversed(lines):
        name, code = line.strip().split(" = ", 1)
        if name in used:
            kept.append(line)
            used.update(_NAME.findall(code))
    return kept[::-1]


def _namespace(source: str) -> dict:
    """What the source's names mean, as in ``lambdify``'s namespace for ``LAMBDIFY_MODULES`` (gradproof's
    functions first, then numpy's), built from the names it uses (``from numpy import *`` alone takes a
    third of a second in a fresh process)."""
    namespace = {}
    for name in set(_IDENTIFIER.findall(source)) - {"def", "wbar", "x", "y", "return"}:
        if name in NUMPY_FUNCTIONS:
            namespace[name] = NUMPY_FUNCTIONS[name]
        elif hasattr(np, name):
            namespace[name] = getattr(np, name)
        elif name == "reduce":  # numpy's printer writes Max and Min as reduce(maximum, [...])
            namespace[name] = functools.reduce
    return namespace


def compile_direct(sym: SymbolicNetwork):
    """``_lambdifygenerated(wbar, x, y)`` compiled in ``lambdify``'s namespace; :class:`Unsupported` where E holds
    something the chain rule does not differentiate."""
    source = direct_source(sym)
    filename = f"<gradproof direct form {next(_FILENAMES)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = _namespace(source)
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - our own generated source
    return namespace["_lambdifygenerated"]

"""LaTeX in the source text's notation: a printer subclass, and equations broken to fit the page.

:class:`SourceTextLatexPrinter` renders ˡwʲᵢ as ``{}^{l}w^{j}_{i}``, σ, a', ˡΨᵢ, e^z and colour marks.
:func:`equation_rows` breaks a long right-hand side into ``align*``/``aligned`` rows of bounded width (at
+ and − between terms, then at · between factors, then inside parentheses with ``\\bigl( … \\bigr)``),
so the document never runs past the margin and MathJax can show the same rows.
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.printing.latex import LatexPrinter

from gradproof.derive.render.names import Marked, marked  # noqa: F401 - marked: the colour mark, used with this printer
from gradproof.derive.render.printing import factor_rank
from gradproof.derive.symbolic.network import SymbolicNetwork

GREEK = {"σ": r"\sigma", "Ψ": r"\Psi", "Σ": r"\Sigma", "ξ": r"\xi"}
FUNCTIONS = {"sigmoid": r"\sigma", "Exp": None, "Heaviside": "H", "relu": r"\operatorname{relu}",
             "softplus": r"\operatorname{softplus}", "tanh": r"\tanh", "log": r"\log", "a": "a", "a'": "a'"}
#: the widest visible line, in characters of \small math (A4, 2 cm margins, less the "lhs &=" column)
LINE_BUDGET = 60


def prime(name: str):
    """A display function a'(z) for the activation called ``name`` (σ', tanh', …)."""
    return sp.Function(f"{name}'")


class SourceTextLatexPrinter(LatexPrinter):
    """LaTeX in the source text's notation. ``abbreviations`` maps expressions to LaTeX names."""

    printmethod = "_gradproof_latex"

    def __init__(self, settings=None, abbreviations: dict | None = None):
        super().__init__({"mul_symbol": "dot", **(settings or {})})
        self.abbreviations = abbreviations or {}
        #: ``order="none"``: sums and products as built (a weighted sum in column order); otherwise every
        #: sum in printing order with its negative terms last (σ(z) − y) and every product ranked
        self.as_built = self._settings["order"] == "none"

    def _print(self, expr, **kwargs):
        name = self.abbreviations.get(expr) if isinstance(expr, sp.Basic) else None
        return name if name is not None else super()._print(expr, **kwargs)

    def _as_ordered_terms(self, expr, order=None):
        if self.as_built:
            return list(expr.args)
        return sorted(expr.as_ordered_terms(), key=lambda term: term.could_extract_minus_sign())

    def _print_Mul(self, expr):
        coeff, rest = expr.as_coeff_Mul()
        if coeff == sp.Rational(1, 2) and rest != 1:
            return r"\tfrac12 " + self.parenthesize(rest, 50, strict=False)
        factors = list(expr.args) if self.as_built else sorted(expr.as_ordered_factors(), key=factor_rank)
        saved = self._settings["order"]
        self._settings["order"] = "none"  # this product's factors as ranked; sums keep their own order
        try:
            return super()._print_Mul(sp.Mul(*factors, evaluate=False))
        finally:
            self._settings["order"] = saved

    def _print_Weight(self, expr):
        return f"{{}}^{{{expr.layer}}}w^{{{expr.source}}}_{{{expr.target}}}"

    def _print_Input(self, expr):
        return f"x_{{{expr.position}}}"

    def _print_Target(self, expr):
        return f"y_{{{expr.position}}}"

    def _print_PsiEntry(self, expr):
        return f"{{}}^{{{expr.layer}}}\\Psi_{{{expr.unit}}}"

    def _print_OutputName(self, expr):
        return f"a_{{{expr.position}}}"

    def _print_SoftmaxSum(self, expr):
        return "S"

    def _print_Sensitivity(self, expr):
        return f"\\frac{{\\partial E}}{{\\partial {{}}^{{{expr.layer}}}z_{{{expr.unit}}}}}"

    def _print_Marked(self, expr):
        return f"{{\\color{{{expr.args[1]}}}{self._print(expr.args[0])}}}"

    def _print_Function(self, expr, exp=None):
        name = expr.func.__name__
        if name == "Exp":
            text = f"e^{{{self._print(expr.args[0])}}}"
            return text if exp is None else f"\\left({text}\\right)^{{{exp}}}"
        base = FUNCTIONS.get(name) or (_prime_name(name) if name.endswith("'") else f"\\operatorname{{{name}}}")
        args = expr.args[:1] if name == "Heaviside" else expr.args
        text = f"{base}\\left({', '.join(self._print(arg) for arg in args)}\\right)"
        return text if exp is None else f"{text}^{{{exp}}}"

    _print_Heaviside = _print_Function


def _prime_name(name: str) -> str:
    base = name[:-1]
    return (FUNCTIONS.get(base) or (base if len(base) == 1 else f"\\operatorname{{{base}}}")) + "'"


def latex_names(sym: SymbolicNetwork) -> dict:
    """Every weighted sum as ``{}^{l}z_{i}`` (they only ever stand as a function's argument or a whole
    factor, so the name prints where the sum's brackets would)."""
    return {z: f"{{}}^{{{layer}}}z_{{{unit + 1}}}" for layer, column in enumerate(sym.z)
            for unit, z in enumerate(column)}


def visible_width(latex: str) -> float:
    """Roughly how many characters wide ``latex`` typesets (scripts count 0.7, commands 1, binary
    operators with their spacing 1.6)."""
    text = re.sub(r"\\(left|right|bigl|bigr|color\{[a-zA-Z]+\}|operatorname)", "", latex)
    text = re.sub(r"\\cdot", "*", text)
    text = re.sub(r"\\[a-zA-Z]+", "#", text)
    width, depth, script = 0.0, 0, []
    for char in text:
        if char in "^_":
            script.append(depth)
            continue
        if char == "{":
            depth += 1
            continue
        if char == "}":
            depth -= 1
            while script and script[-1] >= depth:
                script.pop()
            continue
        if char in "+-*=" and not script:  # a binary operator: its glyph and a medium space either side
            width += 1.6
        elif char != " ":
            width += 0.7 if script else 1.0
    return width


def equation_rows(lhs: str, rhs, printer: SourceTextLatexPrinter, budget: float = LINE_BUDGET) -> str:
    """``lhs &= …`` rows for an ``align*``/``aligned`` environment, each at most ``budget`` wide.
    A vector (a one-row or one-column matrix) is written as a bracketed list, broken after commas."""
    if isinstance(rhs, sp.MatrixBase) and 1 in rhs.shape:
        entries = [[printer.doprint(entry)] for entry in rhs]
        lines = _pack(entries, budget, ", ")
        lines[0] = "\\bigl[" + lines[0]
        lines[-1] += "\\bigr]"
    else:
        lines = _break(rhs, printer, budget)
    rows = [f"{lhs} &= {lines[0]}"] + [f"&\\quad {line}" for line in lines[1:]]
    return " \\\\\n".join(rows)


def _break(expr, printer, budget) -> list[str]:
    text = printer.doprint(expr)
    if visible_width(text) <= budget or not isinstance(expr, sp.Basic):
        return [text]
    if isinstance(expr, Marked):  # colour each line on its own: \color does not cross rows
        return [f"{{\\color{{{expr.args[1]}}}{line}}}" for line in _break(expr.args[0], printer, budget)]
    if expr.is_Add:
        pieces = []
        for term in printer._as_ordered_terms(expr):
            negative = term.could_extract_minus_sign()
            parts = _break(-term if negative else term, printer, budget - 2)
            sign = "- " if negative else "+ "
            pieces.append([sign + parts[0]] + parts[1:])
        pieces[0][0] = pieces[0][0][2:] if pieces[0][0].startswith("+ ") else pieces[0][0]
        return _pack(pieces, budget, " ")
    if expr.is_Mul:
        coeff, factors = expr.as_coeff_mul()
        pieces = [[printer.doprint(coeff)]] if coeff not in (1, -1) else []
        for factor in factors:
            pieces.append(_break_factor(factor, printer, budget))
        lines = _pack(pieces, budget, " \\cdot ")
        if coeff == -1:
            lines[0] = "-" + lines[0]
        return lines
    return [text]


def _break_factor(factor, printer, budget) -> list[str]:
    if isinstance(factor, Marked):
        inner = _break_factor(factor.args[0], printer, budget)
        return [f"{{\\color{{{factor.args[1]}}}{line}}}" for line in inner]
    text = printer.doprint(factor)
    if factor.is_Add:
        if visible_width(text) + 2 <= budget:
            return [f"\\left({text}\\right)"]
        inner = _break(factor, printer, budget - 2)
        return [f"\\bigl({inner[0]}"] + inner[1:-1] + [f"{inner[-1]}\\bigr)"] if len(inner) > 1 \
            else [f"\\bigl({inner[0]}\\bigr)"]
    if factor.is_Mul and visible_width(text) > budget:
        return _break(factor, printer, budget)
    return [text]


def _pack(pieces: list[list[str]], budget: float, joiner: str) -> list[str]:
    """Greedily join pieces (each a list of lines) into lines of at most ``budget``."""
    lines: list[str] = []
    for piece in pieces:
        first, rest = piece[0], piece[1:]
        if lines and visible_width(lines[-1] + joiner + first) <= budget:
            lines[-1] += joiner + first
        elif lines:  # a new row: the joiner's sign or comma must not be lost at the break
            if joiner == ", ":
                lines[-1] += ","
            lines.append(("\\cdot " if joiner.strip() == "\\cdot" else "") + first)
        else:
            lines.append(first)
        lines.extend(rest)
    return lines

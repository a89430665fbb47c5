"""Printing in the source text's notation, by subclassing sympy's string printer.

A weight prints as ˡwʲᵢ (layer top-left, source neuron top-right, target neuron bottom-right), σ and
a' keep their names, products use ·, small powers are superscripts. A printer can abbreviate known
subexpressions: the weighted sums z print as ˡzᵢ, so a derived gradient reads like the source text's.
"""

from __future__ import annotations

import shutil

import sympy as sp
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.str import StrPrinter

from gradproof.derive.model.notation import sub, sup, weight_text, z_text
from gradproof.derive.symbolic.network import SymbolicNetwork

FUNCTION_NAMES = {"sigmoid": "σ", "Exp": "exp", "Heaviside": "H", "a'": "a'"}


class SourceTextPrinter(StrPrinter):
    """Unicode text in the source text's notation. ``abbreviations`` maps expressions to names."""

    printmethod = "_gradproof_str"

    def __init__(self, settings=None, abbreviations: dict | None = None):
        super().__init__(settings)
        self.abbreviations = abbreviations or {}

    def _print(self, expr, **kwargs):
        name = self.abbreviations.get(expr) if isinstance(expr, sp.Basic) else None
        return name if name is not None else super()._print(expr, **kwargs)

    def _print_Weight(self, expr):
        return weight_text(expr.layer, expr.source, expr.target)

    def _print_PsiEntry(self, expr):
        return f"{sup(expr.layer)}Ψ{sub(expr.unit)}"

    def _print_Input(self, expr):
        return f"x{sub(expr.position)}"

    def _print_Target(self, expr):
        return f"y{sub(expr.position)}"

    def _print_OutputName(self, expr):
        return f"a{sub(expr.position)}"

    def _print_SoftmaxSum(self, expr):
        return "S"

    def _print_Sensitivity(self, expr):
        return f"(∂E/∂{z_text(expr.layer, expr.unit)})"

    def _print_Marked(self, expr):
        return self._print(expr.args[0])

    def _print_Function(self, expr):
        name = expr.func.__name__
        args = expr.args[:1] if name == "Heaviside" else expr.args
        return f"{FUNCTION_NAMES.get(name, name)}({', '.join(self._print(arg) for arg in args)})"

    _print_Heaviside = _print_Function

    def _print_MatrixBase(self, expr):
        if 1 in expr.shape:  # a vector: [a, b, c]
            return "[" + ", ".join(self._print(entry) for entry in expr) + "]"
        return "[" + "; ".join(", ".join(self._print(e) for e in expr.row(r)) for r in range(expr.rows)) + "]"

    _print_ImmutableDenseMatrix = _print_MutableDenseMatrix = _print_MatrixBase

    def _print_Rational(self, expr):
        return "½" if (expr.p, expr.q) == (1, 2) else super()._print_Rational(expr)

    def parenthesize(self, item, level, strict=False):
        """``item`` in brackets where its own binding is weaker than ``level`` (as sympy's rule, but a
        power with a negative integer exponent binds as the quotient it prints as: 1/(w + 2))."""
        inner = PRECEDENCE["Mul"] if _printed_as_quotient(item) else precedence(item)
        if inner < level or (not strict and inner <= level):
            return f"({self._print(item)})"
        return self._print(item)

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.as_base_exp()
        if exp.is_Integer and exp < 0:  # a product or a quotient under the bar in brackets: 1/(2·w)
            return "1/" + self.parenthesize(base if exp == -1 else sp.Pow(base, -exp, evaluate=False),
                                            PRECEDENCE["Mul"])
        shown = self.parenthesize(base, PRECEDENCE["Pow"])  # a base that is a sum, product or power in brackets
        if exp.is_Integer and 1 < exp < 10:
            return shown + sup(exp)
        return shown + "^" + self.parenthesize(exp, PRECEDENCE["Pow"])

    def _print_Add(self, expr, order=None):
        terms = self._as_ordered_terms(expr, order=order)
        if self.order != "none":
            terms.sort(key=lambda term: term.could_extract_minus_sign())  # positive terms first
        text = ""
        for term in terms:
            negative = term.could_extract_minus_sign()
            printed = self.parenthesize(-term if negative else term, PRECEDENCE["Add"], strict=True)
            if not text:
                text = "−" + printed if negative else printed
            else:
                text += (" − " if negative else " + ") + printed
        return text

    def _print_Mul(self, expr):
        coeff, factors = expr.as_coeff_mul()
        sign = "−" if coeff < 0 else ""
        coeff = abs(coeff)
        numerator, denominator = [], []
        if coeff.is_Rational and coeff.q != 1 and coeff != sp.Rational(1, 2):
            denominator.append(sp.Integer(coeff.q))
            coeff = sp.Integer(coeff.p)
        if coeff != 1:
            numerator.append(coeff)
        for factor in sorted(factors, key=factor_rank):
            if factor.is_Pow and factor.exp.is_Integer and factor.exp < 0:
                denominator.append(factor.base ** -factor.exp)
            else:
                numerator.append(factor)
        prec = PRECEDENCE["Mul"]
        top = "·".join(self.parenthesize(f, prec, strict=True) for f in numerator) or "1"
        if not denominator:
            return sign + top
        bottom = "·".join(self.parenthesize(f, prec, strict=True) for f in denominator)
        return f"{sign}{top}/{bottom if len(denominator) == 1 else '(' + bottom + ')'}"


def _printed_as_quotient(item) -> bool:
    return isinstance(item, sp.Pow) and item.exp.is_Integer and item.exp < 0


def factor_rank(factor) -> int:
    """A number first, then a sensitivity ∂E/∂z, weights, Ψ, then the rest: ˡwʲᵢ·x, as the source text
    writes it, and (∂E/∂ˡzⱼ)·∂ˡzⱼ/∂w as the chain rule does."""
    kind = type(factor).__name__
    return {"Sensitivity": 0, "Weight": 1, "PsiEntry": 2}.get(kind, -1 if factor.is_Number else 3)


def z_abbreviations(sym: SymbolicNetwork) -> dict:
    """Every weighted sum ˡzᵢ of ``sym``, mapped to its name."""
    return {z: z_text(layer, unit + 1) for layer, column in enumerate(sym.z) for unit, z in enumerate(column)}


def text(expr, abbreviations: dict | None = None, order: str | None = None) -> str:
    """``expr`` in the source text's notation; ``order="none"`` keeps sums in their given order."""
    return SourceTextPrinter({"order": order}, abbreviations=abbreviations).doprint(expr)


def leading_terms(expr, abbreviations: dict | None = None, limit: int = 400) -> tuple[sp.Expr, int]:
    """``(shown, left out)``: ``expr`` itself and 0 if it prints in ``limit`` characters; otherwise the sum
    of its first terms in printing order, as many as fit (at least one), and how many terms are left out."""
    if len(text(expr, abbreviations)) <= limit or not isinstance(expr, sp.Add):
        return expr, 0
    printer = SourceTextPrinter(abbreviations=abbreviations)
    terms = sorted(printer._as_ordered_terms(expr), key=lambda term: term.could_extract_minus_sign())
    kept = 1
    while kept < len(terms) and len(text(sp.Add(*terms[:kept + 1], evaluate=False), abbreviations, "none")) <= limit:
        kept += 1
    return sp.Add(*terms[:kept], evaluate=False), len(terms) - kept


def leading(expr, abbreviations: dict | None = None, limit: int = 400) -> str:
    """``expr`` printed whole if it fits in ``limit`` characters; otherwise its first terms, then
    ``+ … (N more terms)``: what is shown is a true part of the sum."""
    shown, left_out = leading_terms(expr, abbreviations, limit)
    if not left_out:
        return text(expr, abbreviations)
    return f"{text(shown, abbreviations, order='none')} + … ({left_out} more terms)"


def wrap(line: str, width: int | None = None, indent: int = 4) -> str:
    """Break a long printed equation before + and − signs to fit ``width`` columns: at the top level
    first, inside parentheses only where a top-level term is still too long."""
    width = width or shutil.get_terminal_size((100, 24)).columns
    return "\n".join(_wrap(line, width, indent, depth=0))


def _wrap(line: str, width: int, indent: int, depth: int) -> list[str]:
    if len(line) <= width or depth > 6:
        return [line]
    pieces = _split_at_depth(line, depth)
    if len(pieces) == 1:
        return _wrap(line, width, indent, depth + 1)
    lines, current = [], ""
    for piece in pieces:
        if current and len(current) + 1 + len(piece) > width:
            lines.append(current)
            current = " " * (indent * (depth + 1)) + piece
        else:
            current = current + " " + piece if current else piece
    lines.append(current)
    out = []
    for text_line in lines:
        out.extend(_wrap(text_line, width, indent, depth + 1) if len(text_line) > width else [text_line])
    return out


def _split_at_depth(line: str, depth: int) -> list[str]:
    """Split before each ' + ' / ' − ' at parenthesis depth ``depth`` (operators stay with their term)."""
    pieces, level, start = [], 0, 0
    for position, char in enumerate(line):
        level += char in "(["
        level -= char in ")]"
        if level == depth and line.startswith((" + ", " − "), position) and position > start:
            pieces.append(line[start:position])
            start = position + 1
    pieces.append(line[start:])
    return pieces

"""Read printed formulas back into sympy, for the round-trip tests.

- :func:`read_text` parses gradproof's unicode notation with a parser of its own (recursive descent,
  the usual precedence: sums, then products and quotients left to right, a leading minus over the
  product it starts, then powers; superscript digits are powers, except right after a weight's ``w``).
- :func:`read_latex` parses gradproof's LaTeX with sympy's own parser (``parse_latex``, antlr backend).
  Before it does, the notation's atoms (``{}^{l}w^{j}_{i}``, ``{}^{l}z_{i}``, ``x_{j}``, ``S``, …) and
  function names (``\\sigma``, ``\\operatorname{relu}``, ``a'``, …) are swapped for placeholders sympy's
  grammar reads as one symbol or one function; brackets, signs, fractions, exponents and products are
  left exactly as printed, so sympy's parser decides those.

Both return an expression in the network's own symbols (:class:`~gradproof.derive.symbolic.symbols.Weight`,
``PsiEntry``, …), with the derivation's names (ˡzᵢ, aₖ, S, ∂E/∂ˡzᵢ) as the display symbols of
:mod:`gradproof.derive.render.names` and ˡzᵢ as :data:`Z`; :func:`same` decides equality.
"""

from __future__ import annotations

import functools
import re

import sympy as sp

from gradproof.derive.render.names import OutputName, Sensitivity, SoftmaxSum, unmark
from gradproof.derive.symbolic.functions import Exp, a, a_prime, relu, sigmoid, softplus
from gradproof.derive.symbolic.symbols import Input, PsiEntry, Target, Weight

SUPERSCRIPT = "⁰¹²³⁴⁵⁶⁷⁸⁹"
SUBSCRIPT = "₀₁₂₃₄₅₆₇₈₉"


def Z(layer: int, unit: int) -> sp.Symbol:  # noqa: N802 - the source text's name
    """ˡzᵢ as read: a plain symbol, replaced by the weighted sum it names before comparing."""
    return sp.Symbol(f"z{layer}_{unit}")


def functions(extra: dict | None = None) -> dict:
    """Printed function name → sympy function; primes are the display derivatives (σ', tanh', …)."""
    table = {"σ": sigmoid, "tanh": sp.tanh, "relu": relu, "softplus": softplus, "exp": Exp, "log": sp.log,
             "H": lambda z: sp.Heaviside(z, 0), "a": a, "a'": a_prime, "σ'": sp.Function("sigmoid'")}
    table.update({f"{name}'": sp.Function(f"{name}'") for name in ("tanh", "relu", "softplus")})
    table.update(extra or {})
    return table


def function(name: str, table: dict):
    """The function printed as ``name``: a known one, or an undefined sympy function of that name (a
    user's activation's derivative prints as its name with a prime)."""
    return table.get(name) or sp.Function(name)


# --- the unicode notation ------------------------------------------------------------------------------

TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<sensitivity>\(∂E/∂(?P<sl>[⁰-⁹¹²³]+)z(?P<su>[₀-₉]+)\))
  | (?P<name>(?P<layer>[⁰-⁹¹²³]*)(?P<letter>w|z|Ψ)(?P<src>[⁰-⁹¹²³]*)(?P<unit>[₀-₉]+))
  | (?P<indexed>(?P<iletter>[xya])(?P<pos>[₀-₉]+))
  | (?P<function>(?:σ|tanh|relu|softplus|exp|log|H|a|[A-Za-z_]\w*)'?)(?=\()
  | (?P<number>\d+|½)
  | (?P<power>[⁰-⁹¹²³]+)
  | (?P<symbol>S)
  | (?P<op>[-−+·/^(),\[\]])
""", re.X)


def _digits(text: str, table: str) -> int:
    return int("".join(str(table.index(c)) for c in text))


def _sup(text: str) -> int:
    return _digits(text, SUPERSCRIPT)


def tokens(text: str) -> list[tuple[str, object]]:
    out, position = [], 0
    while position < len(text):
        m = TOKEN.match(text, position)
        if m is None:
            raise ValueError(f"cannot read {text[position:position + 20]!r} in {text!r}")
        position = m.end()
        kind = next(k for k in ("space", "sensitivity", "name", "indexed", "function", "number", "power",
                                "symbol", "op") if m.group(k) is not None)
        if kind == "space":
            continue
        if kind == "sensitivity":
            out.append(("atom", Sensitivity(_sup(m["sl"]), _digits(m["su"], SUBSCRIPT))))
        elif kind == "name":
            out.append(("atom", _name(m)))
        elif kind == "indexed":
            position_ = _digits(m["pos"], SUBSCRIPT)
            out.append(("atom", {"x": Input, "y": Target, "a": OutputName}[m["iletter"]](position_)))
        elif kind == "number":
            out.append(("atom", sp.Rational(1, 2) if m["number"] == "½" else sp.Integer(m["number"])))
        elif kind == "power":
            out.append(("power", sp.Integer(_sup(m["power"]))))
        elif kind == "symbol":
            out.append(("atom", SoftmaxSum()))
        else:
            out.append((kind, m.group(kind).replace("-", "−")))
    return out


def _name(m) -> sp.Expr:
    layer, unit = _sup(m["layer"]), _digits(m["unit"], SUBSCRIPT)
    if m["letter"] == "w":
        return Weight(layer, _sup(m["src"]), unit)
    if m["src"]:
        raise ValueError(f"{m.group(0)}: only a weight has a top-right index")
    return PsiEntry(layer, unit) if m["letter"] == "Ψ" else Z(layer, unit)


class _TextParser:
    def __init__(self, text: str, extra_functions: dict | None = None):
        self.tokens, self.at, self.text = tokens(text), 0, text
        self.functions = functions(extra_functions)

    def peek(self, *values):
        if self.at < len(self.tokens):
            kind, value = self.tokens[self.at]
            if not values or value in values or kind in values:
                return self.tokens[self.at]
        return None

    def take(self, *values):
        found = self.peek(*values)
        if found is None:
            raise ValueError(f"expected {values} at token {self.at} of {self.text!r}")
        self.at += 1
        return found

    def expression(self):
        value = self.term()
        while self.peek("+", "−"):
            sign = self.take()[1]
            value = value + self.term() if sign == "+" else value - self.term()
        return value

    def term(self):
        negative = self.peek("−") is not None
        if negative:
            self.take()
        value = self.power()
        while self.peek("·", "/"):
            op = self.take()[1]
            value = value * self.power() if op == "·" else value / self.power()
        return -value if negative else value

    def power(self):
        base = self.atom()
        if self.peek("power"):
            return base ** self.take()[1]
        if self.peek("^"):
            self.take()
            return base ** self.atom()
        return base

    def atom(self):
        kind, value = self.take()
        if kind == "atom":
            return value
        if kind == "function":
            self.take("(")
            args = [self.expression()]
            while self.peek(","):
                self.take()
                args.append(self.expression())
            self.take(")")
            return function(value, self.functions)(*args)
        if value == "(":
            inner = self.expression()
            self.take(")")
            return inner
        if value == "[":
            entries = [self.expression()]
            while self.peek(","):
                self.take()
                entries.append(self.expression())
            self.take("]")
            return sp.ImmutableMatrix([entries])
        raise ValueError(f"unexpected {value!r} in {self.text!r}")


def read_text(text: str, extra_functions: dict | None = None):
    """A formula in gradproof's unicode notation, as a sympy expression (a vector as a 1-row matrix)."""
    parser = _TextParser(text, extra_functions)
    value = parser.expression()
    if parser.at != len(parser.tokens):
        raise ValueError(f"left over after the formula: {parser.tokens[parser.at:]} in {text!r}")
    return value


# --- LaTeX ---------------------------------------------------------------------------------------------

LATEX_ATOMS = [
    (r"\\frac\{\\partial E\}\{\\partial \{\}\^\{(\d+)\}z_\{(\d+)\}\}", lambda m: Sensitivity(int(m[1]), int(m[2]))),
    (r"\{\}\^\{(\d+)\}w\^\{(\d+)\}_\{(\d+)\}", lambda m: Weight(int(m[1]), int(m[2]), int(m[3]))),
    (r"\{\}\^\{(\d+)\}z_\{(\d+)\}", lambda m: Z(int(m[1]), int(m[2]))),
    (r"\{\}\^\{(\d+)\}\\Psi_\{(\d+)\}", lambda m: PsiEntry(int(m[1]), int(m[2]))),
    (r"(?<![\\a-zA-Z])x_\{(\d+)\}", lambda m: Input(int(m[1]))),
    (r"(?<![\\a-zA-Z])y_\{(\d+)\}", lambda m: Target(int(m[1]))),
    (r"(?<![\\a-zA-Z])a_\{(\d+)\}", lambda m: OutputName(int(m[1]))),
    (r"(?<![\\a-zA-Z])S(?![a-zA-Z])", lambda m: SoftmaxSum()),
]
LATEX_FUNCTIONS = {r"\sigma'": "σ'", r"\sigma": "σ", r"\tanh'": "tanh'", r"\tanh": "tanh", r"\log": "log",
                   "a'": "a'", "a": "a", "H": "H"}


def read_latex(latex: str, extra_functions: dict | None = None):
    """A formula (or a ``\\bigl[…, …\\bigr]`` vector) in gradproof's LaTeX, as a sympy expression."""
    latex = _plain(latex)
    if latex.startswith("[") and latex.endswith("]"):
        return sp.ImmutableMatrix([[read_latex(part, extra_functions) for part in _top_level_split(latex[1:-1])]])
    table: dict[str, object] = {}

    def atom(maker):
        def replace(m):
            name = f"q_{{{len(table)}}}"
            table[name] = maker(m)
            return f" {name} "
        return replace

    for pattern, maker in LATEX_ATOMS:
        latex = re.sub(pattern, atom(maker), latex)
    names = functions(extra_functions)
    for head in sorted(LATEX_FUNCTIONS, key=len, reverse=True):
        latex = re.sub(r"(?<![\\A-Za-z])" + re.escape(head) + r"(?=\\left\()",
                       lambda m, h=head: f" f_{{{_function_id(table, function(LATEX_FUNCTIONS[h], names))}}}", latex)
    latex = re.sub(r"\\operatorname\{([A-Za-z]\w*)\}('?)(?=\\left\()",
                   lambda m: f" f_{{{_function_id(table, function(m[1] + m[2], names))}}}", latex)
    return _resolve(_parsed(latex), table)


@functools.lru_cache(maxsize=None)
def _parsed(latex: str):
    """sympy's parse of one formula (a sympy expression, immutable): the same formula printed in the
    document, the notebook and the layer tables is parsed once (the parser is ~1 ms a character)."""
    from sympy.parsing.latex import parse_latex  # the test extra's antlr runtime

    return parse_latex(latex)


def _function_id(table: dict, function) -> int:
    key = f"f_{{{len(table)}}}"
    table[key] = function
    return len(table) - 1


def _resolve(parsed, table: dict):
    """Placeholders back to gradproof's objects; e^{…} to the opaque Exp."""
    def walk(expr):
        if isinstance(expr, sp.Symbol):
            if expr.name in table:
                return table[expr.name]
            raise ValueError(f"unknown symbol {expr.name!r} in the parsed LaTeX")
        if isinstance(expr, sp.Pow) and expr.base == sp.Symbol("e"):
            return Exp(walk(expr.exp))
        if isinstance(expr, sp.log):
            return sp.log(walk(expr.args[0]))
        if isinstance(expr, sp.core.function.AppliedUndef) and expr.func.__name__ in table:
            return table[expr.func.__name__](*map(walk, expr.args))
        if expr.args:
            return expr.func(*map(walk, expr.args))
        return expr
    return walk(parsed)


def _plain(latex: str) -> str:
    """Row breaks, alignment, colours, spacing and sized brackets removed; what is left is the formula."""
    latex = re.sub(r"\\\\(\[[^\]]*\])?", " ", latex)
    latex = latex.replace("&", " ").replace("\\quad", " ").replace("\\,", " ")
    latex = latex.replace("\\bigl(", "\\left(").replace("\\bigr)", "\\right)")
    latex = latex.replace("\\bigl[", "[").replace("\\bigr]", "]")
    latex = latex.replace("\\tfrac12", "\\frac{1}{2}")
    latex = re.sub(r"\\color\{[A-Za-z]+\}", "", latex)
    return latex.strip()


def _top_level_split(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += char in "({["
        depth -= char in ")}]"
        if char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return parts + [text[start:]]


# --- equality ------------------------------------------------------------------------------------------

def _plain_exp(expr):
    """sympy's exp as the opaque Exp: both print as e^(…), and mean the same function."""
    return expr.replace(sp.exp, Exp) if isinstance(expr, sp.Basic) else expr


def same(printed, original) -> bool:
    """Whether two expressions are equal, decided exactly: the difference expanded (every function
    application an opaque atom, its arguments expanded too) is 0, or else its numerator after
    cancelling (with the atoms as independent unknowns) is. Both steps are identities, so True is sound;
    a vector is equal entry by entry."""
    printed, original = _plain_exp(unmark(printed)), _plain_exp(unmark(original))
    if isinstance(original, sp.MatrixBase) or isinstance(printed, sp.MatrixBase):
        p, o = list(sp.ImmutableMatrix(printed)), list(sp.ImmutableMatrix(original))  # vectors: entries in order
        return len(p) == len(o) and all(same(x, y) for x, y in zip(p, o))
    difference = sp.expand(printed - original)
    if difference == 0:
        return True
    atoms = {f: sp.Dummy() for f in difference.atoms(sp.Function)}
    return sp.cancel(sp.together(difference.xreplace(atoms))) == 0

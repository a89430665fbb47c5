"""The printed mathematics is the mathematics: every formula gradproof prints, in unicode (the terminal,
``derive``, the residuals of ``prove``) and in LaTeX (the document, the notebook), is read back — the
unicode by a parser of its own notation, the LaTeX by sympy's ``parse_latex`` — and must be equal, decided
exactly (:func:`readers.same`), to the expression it was printed from; the gradients and E also to what
they claim to be (``sympy.diff`` of E, the network's error). Run over hypothesis networks: every
activation (a user's too), every loss, softmax outputs, with and without biases.

The negative controls break each printer's bracket rule and show the round trip fails.
"""

from __future__ import annotations

import re

import pytest
import sympy as sp
from hypothesis import given, strategies as st

from gradproof.cli.symbolic import proof_summary
from gradproof.derive.model.activations import Elementwise
from gradproof.derive.model.network import Network
from gradproof.derive.model.notation import weight_text
from gradproof.derive.proof.prove import prove
from gradproof.derive.render import document as document_module
from gradproof.derive.render.derivation import Derivation
from gradproof.derive.render.latex import SourceTextLatexPrinter
from gradproof.derive.render.names import expand_names
from gradproof.derive.render.notebook import derivation_latex, notebook_rows
from gradproof.derive.render.printing import SourceTextPrinter
from gradproof.derive.symbolic.forms import ElementwiseForm
from gradproof.derive.symbolic.functions import sigmoid
from gradproof.derive.symbolic.mistakes import MISTAKES
from gradproof.derive.symbolic.network import SymbolicNetwork

from tests.readers import Z, read_latex, read_text, same

pytest.importorskip("antlr4", reason="parse_latex needs the test extra's antlr4-python3-runtime")


class gelu(sp.Function):  # noqa: N801 - a user's opaque activation, with its own derivative rule
    def fdiff(self, argindex=1):
        return sp.Function("gelu'")(self.args[0])


USER = {
    "swish": Elementwise("swish", "z·σ(z)", symbolic=ElementwiseForm(lambda z: z * sigmoid(z))),
    "gelu": Elementwise("gelu", "an opaque gelu", symbolic=ElementwiseForm(gelu)),
}
HIDDEN = ("sigmoid", "tanh", "relu", "softplus", "identity", "generic", "swish", "gelu")
EXTRA_FUNCTIONS = {"gelu": gelu}


@st.composite
def networks(draw, max_width: int = 3, max_depth: int = 3) -> Network:
    depth = draw(st.integers(1, max_depth))
    sizes = draw(st.lists(st.integers(1, max_width), min_size=depth + 1, max_size=depth + 1))
    loss = draw(st.sampled_from(("half-sse", "mse", "bce", "softmax-ce")))
    names = draw(st.lists(st.sampled_from(HIDDEN), min_size=depth, max_size=depth))
    if loss == "bce":
        names[-1] = "sigmoid"
    elif loss == "softmax-ce" or draw(st.booleans()) and draw(st.booleans()):
        names[-1] = "softmax"
    acts = [USER.get(name, name) for name in names]
    return Network.from_spec(sizes, acts, loss, bias=draw(st.booleans()))


def _resolve(expr, sym: SymbolicNetwork):
    """Every name the derivation defines replaced by what it stands for."""
    sums = {Z(layer, unit + 1): z for layer, column in enumerate(sym.z) for unit, z in enumerate(column)}
    return expand_names(expr.xreplace(sums) if isinstance(expr, sp.Basic) else expr, sym)


# --- unicode ---------------------------------------------------------------------------------------

def printed_text_equations(text: str) -> list[tuple[str, str]]:
    """(lhs, rhs) of every formula in a derivation's text, wrapped lines joined; the vector form of the
    recurrence (notation, not a formula) is left out."""
    found, keep = [], False
    for line in text.splitlines():
        if line in ("Forward phase",) or line.startswith(("  The pattern", "Derived by the definition")):
            keep = True
            continue
        if not line.strip() or line.startswith(("Backward phase", "  in the chain-rule form")):
            keep = not line.startswith("Backward phase") and keep and bool(line.strip())
            continue
        if not keep:
            continue
        if "Ψ form:" in line:
            found.append(("Ψ form", re.sub(r"\s+\[\w+\]$", "", line.split("Ψ form:", 1)[1]).strip()))
        elif line.startswith("   "):
            lhs, rhs = found[-1]
            found[-1] = (lhs, rhs + " " + line.strip())
        else:
            lhs, rhs = line.strip().split(" = ", 1)
            found.append((lhs, rhs))
    return found


def expected_text_equations(derivation: Derivation) -> list[tuple[str, object]]:
    rows = list(derivation.forward_phase()) + list(derivation.backward_phase())
    weights = {lhs_for(w): w for w in derivation.weights}
    for lhs, rhs in derivation.definition_phase():
        rows.append((lhs, rhs))
        if lhs in weights:
            rows.append(("Ψ form", derivation.weight_rule(weights[lhs])))
    return rows


def lhs_for(weight) -> str:
    return f"∂E/∂{weight_text(*weight)}"


def text_mismatches(derivation: Derivation, width: int = 100) -> list[str]:
    """Every printed unicode formula that does not read back to what it was printed from."""
    sym = derivation.sym
    printed = printed_text_equations(derivation.to_text(width=width))
    expected = expected_text_equations(derivation)
    assert [lhs for lhs, _ in printed] == [lhs for lhs, _ in expected], "the printed equations are not the derivation's"
    bad = []
    for (lhs, text), (_, original) in zip(printed, expected):
        if not same(_resolve(read_text(text, EXTRA_FUNCTIONS), sym), _resolve(original, sym)):
            bad.append(f"{lhs} = {text}")
    return bad


# --- LaTeX -----------------------------------------------------------------------------------------

def printed_latex_rows(tex: str, skip_sections=("The pattern",)) -> list[tuple[str, str]]:
    """(lhs, rhs) of every equation in the align*/aligned environments of ``tex``, outside the sections
    that state the recurrence as notation."""
    rows = []
    for section in re.split(r"\\section\{", tex):
        if section.startswith(skip_sections):
            continue
        for body in re.findall(r"\\begin\{(?:align\*|aligned)\}(.*?)\\end\{(?:align\*|aligned)\}", section, re.S):
            for equation in body.split(" \\\\[2pt]\n"):
                lhs, rhs = equation.split("&=", 1)
                rows.append((lhs.strip(), rhs))
    return rows


def latex_mismatches(printed_rows, expected_rows, sym) -> list[str]:
    assert [lhs for lhs, _ in printed_rows] == [lhs for lhs, *_ in expected_rows], \
        "the printed rows are not the document's equations"
    bad = []
    for (lhs, latex), (_, original, _printer) in zip(printed_rows, expected_rows):
        if not same(_resolve(read_latex(latex, EXTRA_FUNCTIONS), sym), _resolve(original, sym)):
            bad.append(f"{lhs} = {latex}")
    return bad


def document_mismatches(derivation: Derivation, proof=None) -> list[str]:
    tex = document_module.document(derivation, proof)
    return latex_mismatches(printed_latex_rows(tex), document_module.equations(derivation, proof), derivation.sym)


# --- what the formulas claim ------------------------------------------------------------------------

def claims_hold(derivation: Derivation) -> None:
    """E is the network's error and every gradient by the definition is sympy.diff of E."""
    sym = derivation.sym
    rows = dict(derivation.forward_phase())
    assert same(_resolve(rows["E"], sym), sym.error)
    definition = dict(derivation.definition_phase())
    for w in derivation.weights:
        assert same(_resolve(definition[lhs_for(w)], sym), sp.diff(sym.error, sym.weight(w))), w


# --- the property tests -----------------------------------------------------------------------------

@given(network=networks(), width=st.integers(40, 140))
def test_unicode_derivation_reads_back(network, width):
    derivation = Derivation.of(network, "all" if network.n_weights <= 12 else None)
    assert text_mismatches(derivation, width) == []
    claims_hold(derivation)


@given(network=networks())
def test_latex_document_reads_back(network):
    derivation = Derivation.of(network, "all" if network.n_weights <= 12 else None)
    assert document_mismatches(derivation) == []


@given(network=networks())
def test_notebook_derivation_reads_back(network):
    derivation = Derivation.of(network)
    rows = printed_latex_rows(derivation_latex(derivation))
    assert latex_mismatches(rows, notebook_rows(derivation), derivation.sym) == []

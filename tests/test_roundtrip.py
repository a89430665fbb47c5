"""The printed mathematics is the mathematics: every formula gradproof prints, in unicode (the terminal,
``derive``, the residuals of ``prove``) and in LaTeX (the document, the notebook), is read back — the
unicode by a parser of its own notation, the LaTeX by sympy's ``parse_latex`` — and must be equal, decided
exactly (:func:`readers.same`), to the expression it was printed from; the gradients and E also to what
they claim to be (``sympy.diff`` of E, the network's error). Run over hypothesis networks: every
activation (a user's too), every loss, softmax outputs, with and without biases.

The negative controls break each printer's bracket rule and show the round trip fails.
"""

from __future__ import annotations

import functools
import re

import pytest
import sympy as sp
from hypothesis import assume, given, settings, strategies as st
from sympy.printing.latex import LatexPrinter

from gradproof.cli.symbolic import proof_summary
from gradproof.derive.model.activations import Elementwise
from gradproof.derive.model.network import Network
from gradproof.derive.model.notation import weight_text
from gradproof.derive.proof.prove import prove
from gradproof.derive.render import document as document_module
from gradproof.derive.render.derivation import Derivation
from gradproof.derive.render import latex as latex_module
from gradproof.derive.render.latex import equation_rows
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
def networks(draw, max_width: int = 3, max_depth: int = 3, hidden=HIDDEN) -> Network:
    depth = draw(st.integers(1, max_depth))
    sizes = draw(st.lists(st.integers(1, max_width), min_size=depth + 1, max_size=depth + 1))
    loss = draw(st.sampled_from(("half-sse", "mse", "bce", "softmax-ce")))
    names = draw(st.lists(st.sampled_from(hidden), min_size=depth, max_size=depth))
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
        if not line.strip() or line.startswith(("Backward phase", "  in the chain-rule form", "  the factors ∂E/∂")):
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

def printed_latex_rows(tex: str, skip_sections=("The pattern",), only: str = "") -> list[tuple[str, str]]:
    """(lhs, rhs) of every equation in the align*/aligned environments of ``tex``, outside the sections
    that state the recurrence as notation (or only in the section titled ``only``)."""
    rows = []
    for section in re.split(r"\\section\{", tex):
        if section.startswith(skip_sections) or not section.startswith(only):
            continue
        for body in re.findall(r"\\begin\{(?:align\*|aligned)\}(.*?)\\end\{(?:align\*|aligned)\}", section, re.S):
            if "\\Psi^{[" in body:  # the recurrence in vectors: notation, not a formula
                continue
            for equation in body.split(" \\\\[2pt]\n"):
                lhs, rhs = equation.split("&=", 1)
                rows.append((lhs.strip(), rhs.strip().removesuffix("+ \\cdots")))  # a residual's first terms
    return rows


@functools.lru_cache(maxsize=None)
def _read_latex(latex: str):
    """parse_latex (antlr, pure Python) takes about 2 ms a character: rows repeat across networks."""
    return read_latex(latex, EXTRA_FUNCTIONS)


def latex_mismatches(printed_rows, expected_rows, sym) -> list[str]:
    assert [lhs for lhs, _ in printed_rows] == [lhs for lhs, *_ in expected_rows], \
        "the printed rows are not the document's equations"
    bad = []
    for (lhs, latex), (_, original, _printer) in zip(printed_rows, expected_rows):
        if not same(_resolve(_read_latex(latex), sym), _resolve(original, sym)):
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

#: sympy's LaTeX parser (antlr, pure Python) reads about 1,000 characters a second (90% of these tests'
#: time): the LaTeX round trips run a seventh of the profile's examples (ci: 3, thorough: 142)
LATEX_EXAMPLES = settings(max_examples=max(3, settings.default.max_examples // 7))


@pytest.mark.slow  # ~45 s; fast representatives: the fixed networks' round trips below
@given(network=networks(), width=st.integers(40, 140))
def test_unicode_derivation_reads_back(network, width):
    derivation = Derivation.of(network, "all" if network.n_weights <= 12 else None)
    assert text_mismatches(derivation, width) == []
    claims_hold(derivation)


@LATEX_EXAMPLES
@given(network=networks())
def test_latex_document_reads_back(network):
    derivation = Derivation.of(network, "all" if network.n_weights <= 12 else None)
    assert document_mismatches(derivation) == []


@LATEX_EXAMPLES
@given(network=networks())
@pytest.mark.deferred
def test_notebook_derivation_reads_back(network):
    derivation = Derivation.of(network)
    rows = printed_latex_rows(derivation_latex(derivation))
    assert latex_mismatches(rows, notebook_rows(derivation), derivation.sym) == []


RESIDUAL_MISTAKES = ("sign-error", "missing-a-prime", "a-prime-at-activation", "loop-ends-early", "wrong-layer-input")


#: a counterexample needs numbers: the opaque user activation has none (the proof cannot refute with it)
@pytest.mark.slow  # ~15 s; fast representatives: the fixed networks below
@LATEX_EXAMPLES
@given(network=networks(max_width=2, max_depth=2, hidden=tuple(h for h in HIDDEN if h != "gelu")),
       mistake=st.sampled_from(RESIDUAL_MISTAKES))
def test_refuted_residuals_read_back(network, mistake):
    proof = prove(network, MISTAKES[mistake].recurrence, diagnose=False)
    assume(proof.refuted)
    residuals_read_back(network, proof)


#: short residuals, and long ones cut to their first terms (a user activation, softmax, no biases)
RESIDUAL_CASES = [("2,2,1", "tanh", "half-sse", True, "sign-error"),
                  ("1,2,2", ["swish", "softmax"], "softmax-ce", False, "missing-a-prime"),
                  ("1,2,1", "softplus", "bce", True, "loop-ends-early")]


@pytest.mark.parametrize("spec, activations, loss, bias, mistake", RESIDUAL_CASES,
                         ids=[case[-1] for case in RESIDUAL_CASES])
@pytest.mark.deferred
def test_refuted_residuals_of_fixed_networks_read_back(spec, activations, loss, bias, mistake):
    activations = [USER.get(name, name) for name in activations] if isinstance(activations, list) else activations
    network = Network.from_spec(spec, activations, loss, bias=bias)
    proof = prove(network, MISTAKES[mistake].recurrence, diagnose=False)
    assert proof.refuted
    residuals_read_back(network, proof)


def residuals_read_back(network: Network, proof) -> None:
    sym = SymbolicNetwork(network)
    lines = [line.split("expanded): ", 1)[1] for line in proof_summary(proof).splitlines()
             if "      residual (" in line]
    assert len(lines) == len(proof.refuted)
    for line, result in zip(lines, proof.refuted):
        shown, cut, rest = line.partition(" + … (")
        value = _resolve(read_text(shown, EXTRA_FUNCTIONS), sym)
        if not cut:
            assert same(value, result.residual), line
            continue
        # a long residual shows its first terms: each is a term of the residual, and the count is right
        terms, more = set(sp.Add.make_args(sp.expand(result.residual))), int(rest.split(" ")[0])
        shown_terms = sp.Add.make_args(sp.expand(value))
        assert set(shown_terms) <= terms and len(shown_terms) + more == len(terms), line
    tex = document_module.document(Derivation.of(network), proof)
    residuals = document_module.residual_rows(proof)
    assert latex_mismatches(printed_latex_rows(tex, only="The proof"), residuals, sym) == []
    for (_, shown, _), result in zip(document_module.residual_rows(proof), proof.refuted):  # the document's
        assert set(sp.Add.make_args(sp.expand(shown))) <= set(sp.Add.make_args(sp.expand(result.residual)))


# --- negative controls: a broken bracket rule fails the round trip --------------------------------------

def _no_brackets_text(self, item, level, strict=False):
    return self._print(item)


def _no_brackets_latex(self, expr, first=False, last=False):
    return False


def test_the_unicode_round_trip_fails_on_a_printer_that_drops_brackets(monkeypatch):
    derivation = Derivation.of(Network.from_spec("2,3,2", "tanh", "softmax-ce"))
    assert text_mismatches(derivation) == []
    monkeypatch.setattr(SourceTextPrinter, "parenthesize", _no_brackets_text)
    bad = text_mismatches(derivation)
    assert any("(1 − tanh" not in line and "1 − tanh" in line for line in bad), bad


def test_the_latex_round_trip_fails_on_a_printer_that_drops_brackets(monkeypatch):
    derivation = Derivation.of(Network.source_text(), [(2, 1, 1), (1, 1, 1)])
    assert document_mismatches(derivation) == []
    monkeypatch.setattr(LatexPrinter, "_needs_mul_brackets", _no_brackets_latex)
    bad = document_mismatches(derivation)
    assert len(bad) >= 5 and any(line.startswith("{}^{2}\\Psi_{1} =") for line in bad), bad


@pytest.mark.deferred
def test_the_latex_round_trip_fails_when_broken_rows_lose_their_brackets(monkeypatch):
    derivation = Derivation.of(Network.source_text(), [(0, 1, 1)])
    rows = document_module.definition_rows(derivation)
    assert any("\\bigl(" in equation_rows(lhs, rhs, printer) for lhs, rhs, printer in rows)  # rows really break
    assert document_mismatches(derivation) == []
    monkeypatch.setattr(latex_module, "_break_factor", lambda factor, printer, budget: [printer.doprint(factor)])
    assert document_mismatches(derivation) != []


# --- every activation and every loss, whatever hypothesis draws -------------------------------------------

COVERAGE = [("sigmoid", "half-sse", "sigmoid"), ("tanh", "mse", "tanh"), ("relu", "bce", "sigmoid"),
            ("softplus", "softmax-ce", "softmax"), ("identity", "half-sse", "softmax"),
            ("generic", "mse", "softmax"), ("swish", "bce", "sigmoid"), ("gelu", "softmax-ce", "softmax")]


@pytest.mark.parametrize("hidden, loss, output", COVERAGE, ids=[f"{h}-{l}-{o}" for h, l, o in COVERAGE])
@pytest.mark.sampled(2)
def test_every_activation_and_loss_reads_back_in_both_printers(hidden, loss, output):
    network = Network.from_spec([2, 2, 2], [USER.get(hidden, hidden), output], loss, bias=hidden != "identity")
    derivation = Derivation.of(network, [(1, 1 - int(network.bias), 2), (0, 1, 1)])
    assert text_mismatches(derivation) == []
    assert document_mismatches(derivation) == []
    claims_hold(derivation)


@pytest.mark.slow
def test_the_issues_network_reads_back():
    """[4,6,5,3] tanh with softmax-ce: its document lost brackets and printed five pages of raw sympy."""
    network = Network.from_spec("4,6,5,3", "tanh", "softmax-ce")
    derivation = Derivation.of(network, [(2, 0, 1), (2, 1, 1), (1, 0, 1), (1, 1, 1), (0, 0, 1), (0, 1, 1)])
    assert text_mismatches(derivation) == [] and document_mismatches(derivation) == []
    claims_hold(derivation)


@pytest.mark.deferred
def test_a_convolution_reads_back_in_both_printers():
    network = Network.from_spec("1x3x3,conv1k2s1p1,conv1k2s2,1", "generic")
    derivation = Derivation.of(network)
    assert text_mismatches(derivation) == []
    assert document_mismatches(derivation) == []
    claims_hold(derivation)

"""LaTeX: the notation, equations broken to fit, documents that compile with no overfull boxes, and the
notebook forms (MathJax: aligned, no breqn)."""

import importlib
import re
import shutil
import subprocess

import pytest

from gradproof.derive.render.derivation import Derivation
from gradproof.derive.model.notation import tex_text
from gradproof.derive.render.document import REUSED, backward_rows, document
from gradproof.derive.render.names import Marked
from gradproof.derive.symbolic.recurrence import direct_gradients
from gradproof.derive.render.latex import LINE_BUDGET, SourceTextLatexPrinter, equation_rows, latex_names, marked, visible_width
from gradproof.derive.model.network import Network
from gradproof.derive.proof.prove import prove
from gradproof.numeric.checks.check import check_gradient
from gradproof.numeric.samples import random_sample
from gradproof.derive.symbolic.network import SymbolicNetwork
from gradproof.derive.symbolic.symbols import Input, PsiEntry, Weight

PDFLATEX = shutil.which("pdflatex")
needs_pdflatex = pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed (CI installs it)")


def test_the_notation():
    printer = SourceTextLatexPrinter()
    assert printer.doprint(Weight(1, 0, 2)) == "{}^{1}w^{0}_{2}"
    assert printer.doprint(PsiEntry(2, 1)) == "{}^{2}\\Psi_{1}"
    assert printer.doprint(Weight(0, 2, 1) * Input(2)) == "{}^{0}w^{2}_{1} \\cdot x_{2}"
    sym = SymbolicNetwork(Network.source_text())
    named = SourceTextLatexPrinter(abbreviations=latex_names(sym))
    assert named.doprint(sym.error) == ("\\tfrac12 \\left(\\sigma\\left({}^{2}z_{1}\\right) - y_{1}\\right)^{2} + "
                                        "\\tfrac12 \\left(\\sigma\\left({}^{2}z_{2}\\right) - y_{2}\\right)^{2}")
    assert printer.doprint(marked(Weight(0, 0, 1), "BrickRed")) == "{\\color{BrickRed}{}^{0}w^{0}_{1}}"


@pytest.mark.parametrize("weight", [(0, 1, 1), (0, 0, 2), (1, 2, 3)])
@pytest.mark.deferred
def test_long_gradients_are_broken_into_rows_within_the_budget(weight):
    sym = SymbolicNetwork(Network.from_spec("3,4,4,3", "tanh"))
    printer = SourceTextLatexPrinter(abbreviations=latex_names(sym))
    layer, source, target = weight
    rhs = direct_gradients(sym)[layer][target - 1, source]
    assert visible_width(printer.doprint(rhs)) > 2 * LINE_BUDGET  # really long
    rows = equation_rows("E", rhs, printer).split(" \\\\\n")
    assert len(rows) > 2
    assert all(visible_width(row.split("&", 1)[1]) <= LINE_BUDGET + 4 for row in rows)
    assert "\\left(" not in "".join(rows).replace("\\left(", "(", 0) or all(
        row.count("\\left(") == row.count("\\right)") for row in rows)


def test_prose_becomes_latex_or_fails_loudly():
    assert tex_text("∂E/∂a = ½·Σₖ (aₖ − yₖ)²") == "$\\partial$E/$\\partial$a = $\\tfrac12$$\\cdot$$\\Sigma$$_k$ (a$_k$ $-$ y$_k$)$^2$"
    with pytest.raises(ValueError, match="no LaTeX for"):
        tex_text("☃")


def _compile(tmp_path, tex: str):
    (tmp_path / "doc.tex").write_text(tex)
    done = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    log = (tmp_path / "doc.log").read_text(errors="replace")
    return done.returncode, log


PDFFONTS, PDFTOTEXT = shutil.which("pdffonts"), shutil.which("pdftotext")


@needs_pdflatex
@pytest.mark.parametrize("layers, activation, loss, bias, weights", [
    ("2,3,3,2", "sigmoid", "half-sse", True, None),
    # pdflatex takes ~15 s a document here: the source text's network is the default suite's representative
    pytest.param("2,3,3,2", "generic", "softmax-ce", True, "all", marks=pytest.mark.slow),
    pytest.param("3,4,2", "tanh", "mse", False, "all", marks=pytest.mark.slow),
    pytest.param("2,3,3,3", "tanh,tanh,softmax", "half-sse", True, None, marks=pytest.mark.slow),
    pytest.param("4,6,5,3", "relu", "bce", True, None, marks=pytest.mark.slow),
])
def test_documents_compile_clean_with_vector_fonts(tmp_path, layers, activation, loss, bias, weights):
    network = Network.from_spec(layers, activation, loss, bias=bias)
    derivation = Derivation.of(network, weights)
    status, log = _compile(tmp_path, document(derivation, prove(network, diagnose=False)))
    assert status == 0, log[-2000:]
    assert "Overfull" not in log, re.findall(r"Overfull.*", log)
    assert not re.search(r"Undefined control sequence|Missing character|Font Warning|undefined", log), log[-3000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 10_000
    if PDFFONTS:  # every font a vector (Type 1) font: no Type 3 bitmaps
        fonts = subprocess.run([PDFFONTS, "doc.pdf"], cwd=tmp_path, capture_output=True, text=True).stdout
        assert "Type 3" not in fonts and "LMRoman" in fonts, fonts
    if PDFTOTEXT:  # the loop's primes are straight quotes, not typographic ones
        shown = subprocess.run([PDFTOTEXT, "doc.pdf", "-"], cwd=tmp_path, capture_output=True, text=True).stdout
        loop = [line for line in shown.splitlines() if "psi" in line]
        assert any("a'(z[l-1])" in line for line in loop) and not any("\u2019" in line for line in loop), loop


def test_the_caption_holds_for_a_convolution():
    network = Network.from_spec("1x3x3,conv1k2s1p1,conv1k2s2,1", "generic")
    derivation = Derivation.of(network, [(2, 0, 1), (2, 1, 1), (1, 0, 1), (1, 1, 1), (0, 0, 1), (0, 1, 1)])
    assert caption_holds(backward_rows(derivation))


@pytest.mark.parametrize("loss, output", [("half-sse", "sigmoid"), ("mse", "tanh"), ("bce", "sigmoid"),
                                          ("softmax-ce", "softmax"), ("half-sse", "softmax")])
@pytest.mark.sampled(2)
def test_the_document_reads_as_one_text(loss, output):
    """One order (σ(z) − y), the loop that matches Ψ at the output, method text for a reader, and every
    red Ψ in the chain-rule section defined in green in a row above it (what the caption says)."""
    network = Network.from_spec("2,3,3,2", ["tanh", "tanh", output], loss)
    derivation = Derivation.of(network)
    tex = document(derivation, prove(network, diagnose=False))
    assert not re.search(r"- y_\{\d+\} \+", tex), "−y + a(z): the order must be a(z) − y"
    assert "direct - claimed" not in tex and "direct − claimed" not in tex
    assert "the other targets" not in tex
    loop = re.search(r"\\begin\{alltt\}\n(.*?)\n", tex)[1]
    if network.loss.collapses_with(network.activations[-1]):
        assert loop == "psi = a - y" and "\\Psi^{[2]} &= a - y" in tex
    elif output == "softmax":
        assert loop.startswith("psi = a * (dE/da") and "\\operatorname{diag}(a)" in tex
    else:
        assert loop == "psi = dE/da * a\\textquotesingle(z[2])" and "\\odot a'" in tex
    assert caption_holds(backward_rows(derivation))
    assert not caption_holds(list(reversed(backward_rows(derivation))))  # negative control: bottom-up fails
    assert "green" in tex and "red" in tex and "in a row above it" in tex


def caption_holds(rows) -> bool:
    """Every red Ψ of a row is one of the layer above, defined in a row above; so is every Ψ of a gradient."""
    defined = set()
    for lhs, rhs, _ in rows:
        reused = {m.args[0] for m in rhs.atoms(Marked) if str(m.args[1]) == REUSED}
        if not reused <= defined or lhs.startswith("\\frac") and not rhs.atoms(PsiEntry) <= defined:
            return False
        if "\\Psi" in lhs:
            layer, unit = map(int, re.findall(r"\{(\d+)\}", lhs))
            if any(p.layer != layer + 1 for p in reused):
                return False
            defined.add(PsiEntry(layer, unit))
    return True


def test_the_numeric_section_says_how_the_check_bounds_its_truncation():
    from gradproof.numeric.checks.report import latex_section
    from gradproof.numeric.differences import formulas
    network = Network.source_text()
    tex = latex_section([check_gradient(random_sample(network), method=m) for m in ("central", "richardson")])
    assert "Cauchy's estimate" in tex and "analytic in the weight" in tex
    assert [len(formulas.stencil(m)) for m in ("central", "richardson")] == [2, 4]
    assert "\\texttt{central} 2, \\texttt{richardson} 4" in tex


def test_the_document_follows_the_source_text():
    network = Network.source_text()
    tex = document(Derivation.of(network, [(2, 0, 1), (1, 1, 1)]), prove(network, diagnose=False))
    sections = re.findall(r"\\section\{(.*?)\}", tex)
    assert sections == ["The network and its parameters", "Forward phase", "Backward phase: the chain rule",
                        "The pattern: the $\\Psi$ recurrence", "The proof", "The gradients by the definition"]
    assert "\\documentclass[11pt]{article}" in tex and "amsmath" in tex
    assert "{}^{0}z_{1} &= {}^{0}w^{0}_{1} + {}^{0}w^{1}_{1} \\cdot x_{1} + {}^{0}w^{2}_{1} \\cdot x_{2}" in tex
    assert "{\\color{RoyalBlue}1}" in tex            # the bias input, in its colour
    assert "{\\color{BrickRed}" in tex and "{\\color{OliveGreen}" in tex
    assert "0 & 9 & 9 \\\\" in tex and "breqn" not in tex
    assert not re.search(r"[^\x00-\x7f]", tex), "pdflatex needs ASCII: every symbol is a LaTeX command"


def test_notebook_forms_use_only_what_mathjax_knows():
    importlib.import_module("gradproof.derive.render.notebook")  # registers the displays (import gradproof does in Jupyter)
    network = Network.source_text()
    derivation = Derivation.of(network)
    shown = network._repr_latex_()
    assert "\\text{[2,3,3,2] with biases, 29 weights}" in shown and "\\bar W^{[2]} \\in \\mathbb{R}^{2\\times 4}" in shown
    assert "\\text{Forward phase}" in shown and "{}^{2}z_{2} &=" in shown               # the forward phase
    text = derivation._repr_latex_()
    assert "\\Psi^{[l-1]} &=" in text and "{}^{1}\\Psi_{1} &=" in text                 # vectors, entry by entry
    assert "\\frac{\\partial E}{\\partial {}^{2}w^{1}_{1}} &=" in text                  # the chosen gradients
    for text in (shown, text):
        assert text.startswith("$$\\begin{gathered}") and text.endswith("\\end{gathered}$$")
        assert "dmath" not in text and "\\section" not in text
    html = prove(network, diagnose=False)._repr_html_()
    assert "<table>" in html and "29/29 weights proven" in html
    checked = check_gradient(random_sample(network))._repr_html_()     # a passing check: every weight's row
    assert checked.startswith("<p><b>passed</b>") and checked.count("<tr>") == 1 + 29 and "<td>²w³₂</td>" in checked


@needs_pdflatex
def test_cli_latex_pdf(tmp_path):
    done = subprocess.run(["gradproof", "latex", "--layers", "2,2,1", "-o", str(tmp_path / "d.tex"), "--pdf"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "d.pdf").exists() and "Overfull" not in (tmp_path / "d.log").read_text()
    tex = (tmp_path / "d.tex").read_text()
    assert "\\section{The numeric check}" in tex and "complex-step" in tex


def test_cli_latex_without_pdflatex_says_so(tmp_path, monkeypatch, capsys):
    from gradproof.cli import main
    from gradproof.cli import documents
    monkeypatch.setattr(documents.shutil, "which", lambda name: None)
    status = main(["latex", "--layers", "1,1", "-o", str(tmp_path / "d.tex"), "--pdf"])
    _, err = capsys.readouterr()
    assert status == 2 and (tmp_path / "d.tex").exists()
    assert "--pdf needs pdflatex, which is not installed" in err and "apt-get install texlive-latex-base" in err


@pytest.mark.parametrize("args, message", [
    (["latex", "-o", "out.pdf"], "the output must be a .tex file"),
    (["latex", "--layers", "50,50"], "more than 2000; use a smaller network"),
    (["latex", "--weights", "7,0,1"], "weight 7,0,1: layer must be 0 … 2"),
])
def test_cli_latex_bad_input(args, message, capsys, tmp_path, monkeypatch):
    from gradproof.cli import main
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    assert message in capsys.readouterr().err

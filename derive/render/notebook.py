"""How the network, a derivation and a proof show in Jupyter: typeset mathematics (MathJax: ``aligned``,
``\\color``, ``\\bigl``; no breqn) and HTML tables. Importing this module registers them with :mod:`gradproof.derive.model.display`, which the classes'
``_repr_latex_``/``_repr_html_`` ask."""

from __future__ import annotations

import html

from gradproof.derive.model import display
from gradproof.derive.model.network import Network
from gradproof.derive.proof.result import Proof
from gradproof.derive.render.derivation import Derivation
from gradproof.derive.render.document import forward_rows, lhs_latex
from gradproof.derive.render.latex import SourceTextLatexPrinter, equation_rows, latex_names


def network_latex(network) -> str:
    shapes = r",\ ".join(f"\\bar W^{{[{l}]}} \\in \\mathbb{{R}}^{{{r}\\times {c}}}"
                         for l, (r, c) in enumerate(network.shapes))
    acts = r",\ ".join(f"\\text{{{name}}}" for name in dict.fromkeys(network.activation_names))
    return (f"$$\\begin{{aligned}}&[{','.join(map(str, network.sizes))}]"
            f"\\text{{ {'with' if network.bias else 'without'} biases, {network.n_weights} weights}}\\\\"
            f"&{shapes}\\\\&{acts};\\ {network.loss.latex}\\end{{aligned}}$$")


def notebook_rows(derivation) -> list:
    """The forward phase and the Ψ pattern, entry by entry, as (lhs, rhs, printer) rows."""
    printer = SourceTextLatexPrinter(abbreviations=latex_names(derivation.sym))
    return forward_rows(derivation) + [(lhs_latex(lhs), rhs, printer) for lhs, rhs in derivation.backward_phase()]


def derivation_latex(derivation) -> str:
    rows = [equation_rows(lhs, rhs, printer) for lhs, rhs, printer in notebook_rows(derivation)]
    return "$$\\begin{aligned}" + " \\\\[2pt]\n".join(rows) + "\\end{aligned}$$"


def proof_html(proof) -> str:
    verdict = "proven" if proof.ok else f"NOT proven: {len(proof.refuted)} refuted, {len(proof.undecided)} undecided"
    rows = "".join(f"<tr><td>{layer}</td><td>{proven}</td><td>{total}</td></tr>"
                   for layer, proven, total in proof.by_layer())
    lemmas = "".join(f"<li>{html.escape(lemma.statement)}: <b>{lemma.status}</b></li>" for lemma in proof.lemmas)
    return (f"<p><b>{proof.proven}/{proof.total} weights proven</b> in {proof.seconds:.2f} s — "
            f"{html.escape(proof.recurrence)} is {verdict}.</p>"
            f"<table><tr><th>layer</th><th>proven</th><th>weights</th></tr>{rows}</table>"
            f"<ul>{lemmas}</ul><p><small>{html.escape(proof.method_description)}</small></p>")


display.register(Network, "latex", network_latex)
display.register(Derivation, "latex", derivation_latex)
display.register(Proof, "html", proof_html)

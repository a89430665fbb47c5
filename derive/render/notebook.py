"""How the network, a derivation and a proof show in Jupyter: typeset mathematics (MathJax: ``aligned``,
``\\color``, ``\\bigl``; no breqn) and HTML tables. Importing this module registers them with :mod:`gradproof.derive.model.display`, which the classes'
``_repr_latex_``/``_repr_html_`` ask."""

from __future__ import annotations

import html

from gradproof.derive.model import display
from gradproof.derive.model.network import Network
from gradproof.derive.proof.result import Proof
from gradproof.derive.render.derivation import Derivation
from gradproof.derive.model.notation import weight_text
from gradproof.derive.render.document import definition_rows, forward_rows, lhs_latex, recurrence_rows
from gradproof.derive.render.latex import SourceTextLatexPrinter, equation_rows, latex_names


#: the forward phase is typeset with the network up to this many weights (every weighted sum is a row)
FORWARD_LIMIT = 300


def network_latex(network) -> str:
    """The layers, the shapes of W̄, the activations and loss, and the forward phase."""
    shapes = r",\ ".join(f"\\bar W^{{[{l}]}} \\in \\mathbb{{R}}^{{{r}\\times {c}}}"
                         for l, (r, c) in enumerate(network.shapes))
    acts = r",\ ".join(f"\\text{{{name}}}" for name in dict.fromkeys(network.activation_names))
    head = [f"\\text{{[{','.join(map(str, network.sizes))}] {'with' if network.bias else 'without'} biases, "
            f"{network.n_weights} weights}}", shapes, f"{acts};\\ {network.loss.latex}"]
    if network.n_weights > FORWARD_LIMIT:
        head.append(f"\\text{{(the forward phase is typeset up to {FORWARD_LIMIT} weights)}}")
        return _gathered(head)
    return _gathered(head + ["\\text{Forward phase}", _aligned(forward_rows(Derivation.of(network, ())))])


def notebook_rows(derivation) -> list:
    """Every formula the derivation's display prints from an expression, as (lhs, rhs, printer) rows:
    the forward phase, Ψ entry by entry, the gradients by the definition, each followed by its Ψ form."""
    printer = SourceTextLatexPrinter(abbreviations=latex_names(derivation.sym))
    rows = forward_rows(derivation) + [(lhs_latex(lhs), rhs, printer) for lhs, rhs in derivation.backward_phase()]
    rules = {lhs_latex(f"∂E/∂{weight_text(*w)}"): w for w in derivation.weights}
    for lhs, rhs, row_printer in definition_rows(derivation):
        rows.append((lhs, rhs, row_printer))
        if lhs in rules:
            rows.append(("", derivation.weight_rule(rules[lhs]), printer))
    return rows


def derivation_latex(derivation) -> str:
    """The forward phase, the Ψ recurrence as vectors and entry by entry, and ∂E/∂w of the chosen weights
    by the definition, each with its Ψ form."""
    rows = notebook_rows(derivation)
    forward, pattern = len(derivation.forward_phase()), len(derivation.backward_phase())
    return _gathered(["\\text{Forward phase}", _aligned(rows[:forward]),
                      "\\text{Backward phase: " + derivation.recurrence.description.replace("Ψ", "}\\Psi\\text{") + "}",
                      "\\begin{aligned}" + " \\\\[2pt]\n".join(recurrence_rows(derivation.network)) + "\\end{aligned}",
                      "\\text{entry by entry } ({}^{l}\\Psi_{i} = \\partial E/\\partial\\,{}^{l}z_{i})",
                      _aligned(rows[forward:forward + pattern]),
                      "\\text{The gradients by the definition (}\\mathtt{sympy.diff}\\text{ of }E\\text{), then by }\\Psi",
                      _aligned(rows[forward + pattern:])])


def _aligned(rows) -> str:
    return "\\begin{aligned}" + " \\\\[2pt]\n".join(equation_rows(lhs, rhs, printer) for lhs, rhs, printer in rows) \
        + "\\end{aligned}"


def _gathered(lines) -> str:
    return "$$\\begin{gathered}" + " \\\\[4pt]\n".join(lines) + "\\end{gathered}$$"


def proof_html(proof) -> str:
    verdict = "proven" if proof.ok else f"NOT proven: {len(proof.refuted)} refuted, {len(proof.undecided)} undecided"
    rows = "".join(f"<tr><td>{layer}</td><td>{proven}</td><td>{total}</td></tr>"
                   for layer, proven, total in proof.by_layer())
    lemmas = "".join(f"<li>{html.escape(lemma.statement)}: <b>{lemma.status}</b></li>" for lemma in proof.lemmas)
    return (f"<p><b>{proof.proven}/{proof.total} weights proven</b> in {proof.seconds:.2f} s — "
            f"{html.escape(proof.recurrence)} is {verdict}.</p>"
            f"<table><tr><th>layer</th><th>proven</th><th>weights</th></tr>{rows}</table>"
            f"<ul>{lemmas}</ul><p><small>{html.escape(proof.method_description)}</small></p>"
            f"<p><small>backend: {html.escape(proof.backend_note or proof.backend)}</small></p>")


display.register(Network, "latex", network_latex)
display.register(Derivation, "latex", derivation_latex)
display.register(Proof, "html", proof_html)

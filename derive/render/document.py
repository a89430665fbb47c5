"""The derivation as a standalone LaTeX document (article, amsmath), in the source text's order: the
network and its parameters, the forward phase, the backward phase by the chain rule (the factor shared
with the layer above in red where it is reused, green where it is defined; bias terms in blue), the Ψ
recurrence as vectors and as a loop, the machine's proof, any further sections (the numeric check), and
the chosen gradients by the definition."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import sympy as sp

from gradproof.derive.render.derivation import Derivation
from gradproof.derive.render.latex import SourceTextLatexPrinter, equation_rows, latex_names, prime
from gradproof.derive.render.names import Sensitivity, in_outputs, marked
from gradproof.derive.render.printing import leading_terms, z_abbreviations
from gradproof.derive.model.network import Network
from gradproof.derive.symbolic.conv import weight_terms
from gradproof.derive.symbolic.forms import ElementwiseForm, activation_form
from gradproof.derive.symbolic.network import SymbolicNetwork
from gradproof.derive.model.notation import tex_text
from gradproof.derive.symbolic.symbols import PsiEntry

PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[a4paper,margin=2cm]{geometry}
\usepackage[T1]{fontenc}
\usepackage{lmodern}
\usepackage{textcomp}
\usepackage{alltt}
\usepackage{amsmath,amssymb}
\usepackage[dvipsnames]{xcolor}
\allowdisplaybreaks
\setlength{\parindent}{0pt}\setlength{\parskip}{0.6em}
"""
DEFINED, REUSED, BIAS = "OliveGreen", "BrickRed", "RoyalBlue"
#: the recurrence's two steps through a convolution layer
CONV_RECURRENCE = (
    "A convolution layer is the same layer at every output position $p$, with one $\\bar W^{[l]}$ shared by "
    "all of them: $z^{[l]}_p = \\bar W^{[l]}\\cdot\\bar X^{[l]}_p$, where $\\bar X^{[l]}_p$ is the patch of its "
    "input the kernel covers at $p$, the bias input 1 first. By the chain rule over the positions a weight is "
    "used at, and over the outputs an input reaches,\n" + "{\\small\n\\begin{align*}\n"
    "\\frac{\\partial E}{\\partial \\bar W^{[l]}} &= \\sum_p \\Psi^{[l]}_p \\otimes \\bar X^{[l]}_p "
    "\\qquad\\text{($\\Psi$ correlated with the layer's input)}\\\\[2pt]\n"
    "\\Psi^{[l-1]} &= \\bigl(\\bar W^{[l]} \\mathbin{\\star^{T}} \\Psi^{[l]}\\bigr) \\odot "
    "a'\\left(z^{[l-1]}\\right)\n\\end{align*}}\n"
    "where $\\star^{T}$ is the transposed convolution: dilate $\\Psi^{[l]}$ by the stride, pad it by $k - 1$, "
    "correlate it with the kernel rotated by $180^\\circ$ and its channel axes swapped, and trim the padding. "
    "Between the last convolution and the first dense layer the maps are flattened, and $\\Psi$ unflattened.\n")
Row = tuple[str, sp.Expr, SourceTextLatexPrinter]  # (left-hand side in LaTeX, right-hand side, its printer)


def document(derivation: Derivation, proof=None, sections: Sequence[tuple[str, str]] = (),
             title: str | None = None) -> str:
    """The whole ``.tex`` file; ``sections`` are extra (title, LaTeX body) pairs before the last one."""
    net = derivation.network
    title = title or f"Backpropagation for the $[{','.join(map(str, net.sizes))}]$ network, derived and proven"
    parts = [PREAMBLE, f"\\title{{{title}}}\n\\author{{gradproof}}\n\\date{{}}\n\\begin{{document}}\n\\maketitle\n",
             _section("The network and its parameters", network_section(net)),
             _section("Forward phase", forward_section(derivation)),
             _section("Backward phase: the chain rule", backward_section(derivation)),
             _section("The pattern: the $\\Psi$ recurrence", recurrence_section(net))]
    if proof is not None:
        parts.append(_section("The proof", proof_section(proof)))
    parts += [_section(heading, body) for heading, body in sections]
    parts.append(_section("The gradients by the definition", definition_section(derivation)))
    parts.append("\\end{document}\n")
    return "\n".join(parts)


def equations(derivation: Derivation, proof=None) -> list[Row]:
    """Every formula the document prints from an expression, in the order it prints them."""
    rows = forward_rows(derivation) + backward_rows(derivation)
    if proof is not None:
        rows += residual_rows(proof)
    return rows + definition_rows(derivation)


def _section(title: str, body: str) -> str:
    return f"\\section{{{title}}}\n{body}\n"


def _align(rows: Sequence[Row]) -> str:
    shown = [equation_rows(lhs, rhs, printer) for lhs, rhs, printer in rows]
    return "{\\small\n\\begin{align*}\n" + " \\\\[2pt]\n".join(shown) + "\n\\end{align*}}\n"


def network_section(net: Network) -> str:
    layers = ", ".join(map(str, net.sizes))
    shapes = ", ".join(f"$\\bar W^{{[{l}]}}\\in\\mathbb{{R}}^{{{r}\\times {c}}}$" for l, (r, c) in enumerate(net.shapes))
    bias = ("Every layer's input $\\bar X^{[l]}$ starts with a bias input fixed at 1 (index 0), so "
            "$\\bar X^{[0]} = [1; x]$ and $\\bar X^{[l+1]} = [1; a(z^{[l]})]$." if net.bias
            else "The network has no bias inputs: $\\bar X^{[0]} = x$ and $\\bar X^{[l+1]} = a(z^{[l]})$.")
    acts = "".join(f"\\item activation \\texttt{{{act.name}}}: ${act.latex}$\n"
                   for act in dict.fromkeys(net.activations))
    return (f"Layer sizes $[{layers}]$, {net.n_weights} weights.\n\\begin{{itemize}}\n{acts}"
            f"\\item loss \\texttt{{{net.loss.name}}}: ${net.loss.latex}$\n\\end{{itemize}}\n{bias} "
            "$\\bar W^{[l]}$ connects layer $l$ to layer $l+1$: its rows are the neurons of layer $l+1$, its "
            "columns the inputs of layer $l$" + (", the bias column first" if net.bias else "") +
            f": {shapes}.\n\nA weight carries three indices: ${{}}^{{l}}w^{{j}}_{{i}}$ is in layer $l$ (top "
            "left), comes from input neuron $j$ of that layer (top right" + ("; $j = 0$ is the bias" if net.bias
                                                                            else "") +
            ") and goes to neuron $i$ of the next layer (bottom right). The weighted sums are "
            "$z^{[l]} = \\bar W^{[l]}\\cdot\\bar X^{[l]}$, entry ${}^{l}z_{i}$, and the output is "
            f"$a = a(z^{{[{net.depth - 1}]}})$.\n")


def forward_rows(derivation: Derivation) -> list[Row]:
    """The forward phase: each weighted sum in full and in column order, the rest with ˡzᵢ named."""
    printer = SourceTextLatexPrinter(abbreviations=latex_names(derivation.sym))
    rows = []
    for lhs, rhs in derivation.forward_phase():
        name = lhs_latex(lhs)
        if name.startswith("{}^"):  # a weighted sum: in full, in column order
            own = SourceTextLatexPrinter({"order": "none"},
                                         {k: v for k, v in printer.abbreviations.items() if v != name})
            rows.append((name, rhs, own))
        else:
            rows.append((name, rhs, printer))
    return rows


def forward_section(derivation: Derivation) -> str:
    softmax = ("The output layer is a softmax: $S$ is its denominator and $a_k = e^{z_k}/S$ its outputs, "
               "the names $E$ and everything after it are written in.\n" if derivation.softmax else "")
    return "Writing out the computations, layer by layer:\n" + _align(forward_rows(derivation)) + softmax


def lhs_latex(lhs: str) -> str:
    """A left-hand side of the unicode derivation (ˡzᵢ, ˡΨᵢ, X̄[l], ∂E/∂ˡzᵢ, ∂E/∂ˡwʲᵢ, a, S, E) in LaTeX."""
    if lhs.startswith("∂E/∂"):
        return f"\\frac{{\\partial E}}{{\\partial {lhs_latex(lhs[4:])}}}"
    if lhs.startswith("X̄["):
        return f"\\bar X^{{{lhs[2:]}}}"
    layer, letter, rest = _split_name(lhs)
    if letter is None:
        return lhs
    source = "".join(c for c in rest if c in SUPERSCRIPT)
    unit = "".join(str(SUBSCRIPT.index(c)) for c in rest if c in SUBSCRIPT)
    top = f"^{{{''.join(str(SUPERSCRIPT.index(c)) for c in source)}}}" if source else ""
    return f"{{}}^{{{layer}}}{ {'Ψ': chr(92) + 'Psi'}.get(letter, letter)}{top}_{{{unit}}}"


SUPERSCRIPT, SUBSCRIPT = "⁰¹²³⁴⁵⁶⁷⁸⁹", "₀₁₂₃₄₅₆₇₈₉"


def _split_name(lhs: str) -> tuple[str, str | None, str]:
    """ˡwʲᵢ → ("l", "w", "ʲᵢ"); anything that is not such a name → ("", None, "")."""
    position = next((i for i, c in enumerate(lhs) if c not in SUPERSCRIPT), len(lhs))
    if position == 0 or position == len(lhs) or lhs[position] not in "wzΨ":
        return "", None, ""
    return "".join(str(SUPERSCRIPT.index(c)) for c in lhs[:position]), lhs[position], lhs[position + 1:]


@dataclasses.dataclass(frozen=True)
class _Shown(ElementwiseForm):
    """An activation whose derivative prints as its name with a prime (σ'(z)) instead of its rule."""

    shown: Callable | None = None

    @property
    def derivative(self):
        return self.shown


def _display_network(net: Network) -> SymbolicNetwork:
    """The network in sympy, its hidden derivatives shown as σ'(z), tanh'(z), … instead of their rules."""
    forms = tuple(_Shown(form.function, form.closed_form, prime(act.name))
                  if isinstance(form, ElementwiseForm) and act.name not in ("generic", "identity") else form
                  for act, form in zip(net.activations, map(activation_form, net.activations)))
    return SymbolicNetwork(net, forms)


def backward_rows(derivation: Derivation) -> list[Row]:
    """From the output down: every ˡΨᵢ a row below needs, in green, written with the Ψ of the layer
    above in red; then the chosen weights' gradients, ˡΨᵢ times the input the weight multiplies."""
    net, rec = derivation.network, derivation.recurrence
    sym = _display_network(net)
    printer = SourceTextLatexPrinter(abbreviations=latex_names(sym))
    in_order = SourceTextLatexPrinter({"order": "none"}, latex_names(sym))  # Ψ, then the input
    top, lowest = net.depth - 1, min(w.layer for w in derivation.weights) if derivation.weights else net.depth - 1
    rows: list[Row] = []
    for layer in range(top, lowest - 1, -1):
        if layer == top:
            values = [in_outputs(v, sym) for v in rec.output_psi(sym)]
        else:
            above = sp.ImmutableMatrix([marked(PsiEntry(layer + 1, u + 1), REUSED) for u in range(net.sizes[layer + 2])])
            values = list(rec.propagate(sym, layer + 1, above))
        gradients = [(f"\\frac{{\\partial E}}{{\\partial {printer.doprint(sym.weight(w))}}}", _gradient(net, sym, w),
                      in_order) for w in derivation.weights if w.layer == layer]
        used = {p.unit for _, g, _ in gradients for p in g.atoms(PsiEntry)}  # a convolution's: every position
        units = range(1, net.sizes[layer + 1] + 1) if layer > lowest else sorted(used)
        rows += [(printer.doprint(PsiEntry(layer, unit)), marked(values[unit - 1], DEFINED), printer) for unit in units]
        rows += gradients
    return rows


def _gradient(net: Network, sym: SymbolicNetwork, index) -> sp.Expr:
    """∂E/∂ˡwʲᵢ = ˡΨᵢ·X̄[l]ʲ, the Ψ green and a bias input blue; a convolution's weight is used at every
    position p: Σₚ Ψₚ·X̄ₚʲ."""
    _, row, col = net.position(index)
    bias = net.bias and index.source == 0
    if net.layers[index.layer].kind == "conv":
        return sp.Add(*(sp.Mul(marked(PsiEntry(index.layer, unit + 1), DEFINED), marked(x, BIAS) if bias else x,
                               evaluate=False) for unit, x in weight_terms(sym, index.layer, row, col) if x != 0),
                      evaluate=False)
    x = sym.xbar[index.layer][col]
    return sp.Mul(marked(PsiEntry(index.layer, index.target), DEFINED), marked(x, BIAS) if bias else x,
                  evaluate=False)


def backward_section(derivation: Derivation) -> str:
    net = derivation.network
    top = net.depth - 1
    legend = (f"Start at the output. ${{}}^{{l}}\\Psi_{{i}} = \\partial E/\\partial\\,{{}}^{{l}}z_{{i}}$ is the "
              "error's sensitivity to the weighted sum ${}^{l}z_{i}$: at the output layer "
              f"(${top}$) it follows from $E$ and the activation; one layer down, the chain rule through the "
              "weighted sums of the layer above gives "
              "${}^{l}\\Psi_{i} = \\sum_j \\frac{\\partial E}{\\partial\\,{}^{l+1}z_{j}}\\,"
              "\\frac{\\partial\\,{}^{l+1}z_{j}}{\\partial\\,{}^{l}z_{i}} = "
              "\\bigl(\\sum_j {}^{l+1}w^{i}_{j}\\,{}^{l+1}\\Psi_{j}\\bigr)\\, a'({}^{l}z_{i})$. "
              f"Each ${{}}^{{l}}\\Psi_{{i}}$ is \\textcolor{{{DEFINED}}}{{green}} in the row that defines it; "
              f"what is \\textcolor{{{REUSED}}}{{red}} in a row is a $\\Psi$ of the layer above, defined in green "
              "in a row above it: the pattern the recurrence compresses. A gradient is its weight's "
              f"$\\Psi$ times the input the weight multiplies; the input of a bias weight is the constant "
              f"\\textcolor{{{BIAS}}}{{1}}. Primes are derivatives: " + _primes(net) + ".\n")
    return legend + _align(backward_rows(derivation))


def _primes(net: Network) -> str:
    forms = {"sigmoid": "\\sigma'(z) = \\sigma(z)\\,(1 - \\sigma(z))", "tanh": "\\tanh'(z) = 1 - \\tanh^2(z)",
             "relu": "\\operatorname{relu}'(z) = H(z)", "softplus": "\\operatorname{softplus}'(z) = \\sigma(z)",
             "generic": "a'(z)", "identity": "a'(z) = 1"}
    shown = [forms.get(act.name, f"\\operatorname{{{act.name}}}'(z)") for act in dict.fromkeys(net.activations)
             if act.name != "softmax"]
    return ", ".join(f"${s}$" for s in shown) or "none here"


def recurrence_rows(net: Network) -> list[str]:
    """The Ψ recurrence as vectors, ``lhs &= rhs`` rows for an ``align*``/``aligned`` environment."""
    last = net.depth - 1
    drop = "_{:,1:}" if net.bias else ""
    loss, out = net.loss, net.activations[-1]
    if loss.collapses_with(out):
        start = f"\\Psi^{{[{last}]}} &= a - y \\qquad\\text{{(for {out.name} with {loss.name})}}"
    elif out.name == "softmax":
        start = (f"\\Psi^{{[{last}]}} &= \\left(\\frac{{\\partial a}}{{\\partial z^{{[{last}]}}}}\\right)^{{T}}"
                 "\\frac{\\partial E}{\\partial a},\\quad \\frac{\\partial a}{\\partial z} = \\operatorname{diag}(a) - a a^{T}")
    else:
        start = f"\\Psi^{{[{last}]}} &= \\frac{{\\partial E}}{{\\partial a}} \\odot a'\\left(z^{{[{last}]}}\\right)"
    return [start, "\\frac{\\partial E}{\\partial \\bar W^{[l]}} &= \\Psi^{[l]} \\otimes \\bar X^{[l]}",
            f"\\Psi^{{[l-1]}} &= \\left(\\bar W^{{[l]}}{drop}\\right)^{{T}} \\Psi^{{[l]}} \\odot a'\\left(z^{{[l-1]}}\\right)"]


def recurrence_section(net: Network) -> str:
    last = net.depth - 1
    loss, out = net.loss, net.activations[-1]
    if loss.collapses_with(out):
        first = "psi = a - y"
    elif out.name == "softmax":
        first = "psi = a * (dE/da - dot(a, dE/da))"
    else:
        first = f"psi = dE/da * a\\textquotesingle(z[{last}])"
    vector = "{\\small\n\\begin{align*}\n" + " \\\\[2pt]\n".join(recurrence_rows(net)) + "\n\\end{align*}}\n"
    if net.has_conv:
        vector += CONV_RECURRENCE
    loop = ("\\begin{alltt}\n"
            f"{first}\n"
            f"for l = {last}, ..., 0:\n"
            "    dE/dW[l] = outer(psi, X[l])\n"
            f"    if l > 0: psi = (W[l]{'[:, 1:]' if net.bias else ''}.T @ psi) * a\\textquotesingle(z[l-1])\n"
            "\\end{alltt}\n")
    return ("Start at the output and go down one layer at a time: $\\odot$ is the elementwise product, "
            "$\\otimes$ the outer product (rows are neurons, columns inputs)" +
            (", and the bias column of $\\bar W$ is dropped on the way down" if net.bias else "") + ".\n" +
            vector + "As a loop (\\texttt{*} elementwise, \\texttt{@} the matrix product):\n" + loop)


#: what each proof method did, for a reader
METHODS = {
    "exact": ("For every weight, the difference between $\\partial E/\\partial w$ by \\texttt{sympy.diff} and "
              "the recurrence's entry was put over a common denominator and its numerator expanded into a "
              "polynomial with rational coefficients, every activation value ($\\sigma(z)$, $a'(z)$, $e^{z}$, "
              "\\ldots) standing for an unknown of its own. The polynomial is identically zero: the two forms "
              "agree whatever the weights, inputs, targets and activation values are. That decision is exact, "
              "and it is sound: nothing unequal can pass it."),
}


def proof_section(proof) -> str:
    rows = "\n".join(f"{layer} & {proven} & {total} \\\\" for layer, proven, total in proof.by_layer())
    lemmas = "\n".join(f"\\item {lemma.latex or tex_text(lemma.statement)}: \\textbf{{{lemma.status}}}"
                       for lemma in proof.lemmas)
    assumptions = "".join(f"Assumed: {tex_text(text)}.\n\n" for text in proof.assumptions)
    verdict = (f"All {proof.total} weights are proven" if proof.ok else
               f"{proof.proven} of {proof.total} weights are proven, {len(proof.refuted)} refuted")
    method = METHODS.get(proof.method) or f"Method: {tex_text(proof.method_description)}."
    refuted = _residual_section(proof) if proof.refuted else ""
    backend = f"Computed with {tex_text(proof.backend_note or proof.backend)}."
    return (f"{method} {backend}\n\n"
            "\\begin{center}\\begin{tabular}{rrr}\nlayer & proven & weights \\\\ \\hline\n" + rows +
            "\n\\end{tabular}\\end{center}\n" + f"{verdict} in {proof.seconds:.2f}\\,s. " + refuted +
            "The lemmas the proof rests on:\n\\begin{itemize}\n" + lemmas + "\n\\end{itemize}\n" + assumptions)


#: a residual longer than this (characters of unicode) shows its first terms, then ⋯
RESIDUAL_LIMIT = 300


def residual_rows(proof) -> list[Row]:
    """Each refuted weight's residual, or its first terms where it is long (:func:`_residual_section`
    ends those rows with ``+ \\cdots``)."""
    sym = SymbolicNetwork(proof.network)
    printer = SourceTextLatexPrinter({"order": "none"}, abbreviations=latex_names(sym))
    names = z_abbreviations(sym)
    return [(f"r\\bigl({printer.doprint(sym.weight(r.weight))}\\bigr)",
             leading_terms(r.residual, names, RESIDUAL_LIMIT)[0], printer) for r in proof.refuted]


def _residual_section(proof) -> str:
    names = z_abbreviations(SymbolicNetwork(proof.network))
    rows = []
    for (lhs, shown, printer), result in zip(residual_rows(proof), proof.refuted):
        left_out = leading_terms(result.residual, names, RESIDUAL_LIMIT)[1]
        rows.append(equation_rows(lhs, shown, printer) + (" + \\cdots" if left_out else ""))
    return ("Each refuted weight's residual $r(w)$, $\\partial E/\\partial w$ by \\texttt{sympy.diff} minus the "
            "recurrence's entry (its numerator, expanded), is not zero; a long one is shown by its first terms:\n"
            "{\\small\n\\begin{align*}\n" + " \\\\[2pt]\n".join(rows) + "\n\\end{align*}}\n")


def definition_rows(derivation: Derivation) -> list[Row]:
    """The chosen gradients by the definition, as :meth:`Derivation.definition_phase` gives them; in the
    chain-rule form the shared factors ∂E/∂ᴸ⁻¹zⱼ in red."""
    printer = SourceTextLatexPrinter(abbreviations=latex_names(derivation.sym))
    rows = []
    for lhs, rhs in derivation.definition_phase():
        if derivation.chained:
            rhs = rhs.xreplace({s: marked(s, REUSED) for s in rhs.atoms(Sensitivity)})
            if lhs.count("z"):
                rhs = marked(rhs, REUSED)
        rows.append((lhs_latex(lhs), rhs, printer))
    return rows


def definition_section(derivation: Derivation) -> str:
    intro = ("The same gradients as \\texttt{sympy.diff} computes them from $E$, with no shortcut: the "
             "direct form the proof compares with the recurrence.")
    if derivation.chained:
        top = derivation.network.depth - 1
        intro += (" They are long, so each is written in the chain-rule form "
                  f"$\\partial E/\\partial w = \\sum_j \\frac{{\\partial E}}{{\\partial\\,{{}}^{{{top}}}z_{{j}}}}"
                  f"\\,\\frac{{\\partial\\,{{}}^{{{top}}}z_{{j}}}}{{\\partial w}}$, each factor by "
                  "\\texttt{sympy.diff}: the factors $\\partial E/\\partial\\,{}^{" + str(top) + "}z_{j}$ "
                  f"(\\textcolor{{{REUSED}}}{{red}}) are the same in every gradient and are written out once"
                  + (", in the softmax outputs $a_k$ (every $e^{z_k}$ written as $a_k S$, expanded)"
                     if derivation.softmax else "") + ".")
    return intro + "\n" + _align(definition_rows(derivation))

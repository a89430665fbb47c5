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
from gradproof.derive.render.latex import SourceTextLatexPrinter, equation_rows, latex_names, marked, prime, visible_width, LINE_BUDGET
from gradproof.derive.model.network import Network
from gradproof.derive.symbolic.forms import ElementwiseForm, activation_form
from gradproof.derive.symbolic.conv import weight_terms
from gradproof.derive.symbolic.network import SymbolicNetwork
from gradproof.derive.model.notation import TEXT, tex_text
from gradproof.derive.symbolic.symbols import PsiEntry

PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[a4paper,margin=2cm]{geometry}
\usepackage[T1]{fontenc}
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



def document(derivation: Derivation, proof=None, sections: Sequence[tuple[str, str]] = (),
             title: str | None = None) -> str:
    """The whole ``.tex`` file; ``sections`` are extra (title, LaTeX body) pairs before the last one."""
    net = derivation.network
    printer = SourceTextLatexPrinter(abbreviations=latex_names(derivation.sym))
    title = title or f"Backpropagation for the $[{','.join(map(str, net.sizes))}]$ network, derived and proven"
    parts = [PREAMBLE, f"\\title{{{title}}}\n\\author{{gradproof}}\n\\date{{}}\n\\begin{{document}}\n\\maketitle\n",
             _section("The network and its parameters", network_section(net)),
             _section("Forward phase", forward_section(derivation, printer)),
             _section("Backward phase: the chain rule", backward_section(derivation)),
             _section("The pattern: the $\\Psi$ recurrence", recurrence_section(net))]
    if proof is not None:
        parts.append(_section("The proof", proof_section(proof)))
    parts += [_section(heading, body) for heading, body in sections]
    parts.append(_section("The gradients by the definition", definition_section(derivation, printer)))
    parts.append("\\end{document}\n")
    return "\n".join(parts)


def _section(title: str, body: str) -> str:
    return f"\\section{{{title}}}\n{body}\n"


def _align(rows: Sequence[str]) -> str:
    return "{\\small\n\\begin{align*}\n" + " \\\\[2pt]\n".join(rows) + "\n\\end{align*}}\n"


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


def forward_section(derivation: Derivation, printer) -> str:
    rows = []
    for lhs, rhs in derivation.forward_phase():
        name = lhs_latex(lhs)
        if name.startswith("{}^"):  # a weighted sum: in full, in column order
            own = SourceTextLatexPrinter({"order": "none"},
                                         {k: v for k, v in printer.abbreviations.items() if v != name})
            rows.append(equation_rows(name, rhs, own))
        else:
            rows.append(equation_rows(name, rhs, printer))
    return "Writing out the computations, layer by layer:\n" + _align(rows)


def lhs_latex(lhs: str) -> str:
    digits = "⁰¹²³⁴⁵⁶⁷⁸⁹"
    if lhs[0] in digits and "z" in lhs:
        layer, unit = lhs.split("z")
        return f"{{}}^{{{''.join(str(digits.index(c)) for c in layer)}}}z_{{{''.join(str(ord(c) - ord('₀')) for c in unit)}}}"
    return {"a": "a", "E": "E"}.get(lhs) or lhs.replace("X̄", "\\bar X^{").replace("[", "[").replace("]", "]}")


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


def backward_section(derivation: Derivation) -> str:
    net = derivation.network
    sym = _display_network(net)
    printer = SourceTextLatexPrinter(abbreviations=latex_names(sym))
    in_order = SourceTextLatexPrinter({"order": "none"}, latex_names(sym))  # Ψ first, then the input
    rec = derivation.recurrence
    top = net.depth - 1
    psi_exprs = {top: list(rec.output_psi(sym))}
    for layer in range(top, 0, -1):
        names = sp.ImmutableMatrix([PsiEntry(layer, u + 1) for u in range(net.sizes[layer + 1])])
        psi_exprs[layer - 1] = list(rec.propagate(sym, layer, names))
    expanded = {top: psi_exprs[top]}
    for layer in range(top - 1, -1, -1):
        above = {PsiEntry(layer + 1, u + 1): marked(v, REUSED) for u, v in enumerate(expanded[layer + 1])}
        full = [e.xreplace(above) for e in psi_exprs[layer]]
        short = [e.xreplace({k: marked(k, REUSED) for k in above}) for e in psi_exprs[layer]]
        expanded[layer] = full if max(visible_width(printer.doprint(e)) for e in full) <= 3 * LINE_BUDGET else short
    rows = []
    for index in derivation.weights:
        _, row, col = net.position(index)
        name = f"\\frac{{\\partial E}}{{\\partial {printer.doprint(sym.weight(index))}}}"
        if net.layers[index.layer].kind == "conv":  # the weight is used at every position: Σₚ Ψₚ·X̄ₚʲ
            product = sp.Add(*(sp.Mul(marked(expanded[index.layer][unit], DEFINED),
                                      marked(x, BIAS) if net.bias and index.source == 0 else x, evaluate=False)
                               for unit, x in weight_terms(sym, index.layer, row, col) if x != 0), evaluate=False)
            rows.append(equation_rows(name, product, in_order))
            continue
        x = sym.xbar[index.layer][col]
        input_factor = marked(x, BIAS) if net.bias and index.source == 0 else x
        product = sp.Mul(marked(expanded[index.layer][row], DEFINED), input_factor, evaluate=False)
        rows.append(equation_rows(name, product, in_order))
    legend = (f"Each gradient is the error's sensitivity to the weighted sum the weight feeds, "
              f"${{}}^{{l}}\\Psi_{{i}} = \\partial E/\\partial\\,{{}}^{{l}}z_{{i}}$ (in "
              f"\\textcolor{{{DEFINED}}}{{green}}), times the input the weight multiplies; the input of a bias "
              f"weight is the constant \\textcolor{{{BIAS}}}{{1}}. What is \\textcolor{{{REUSED}}}{{red}} in a row is "
              "the green factor of the row above it: the pattern the recurrence compresses.\n")
    return legend + _align(rows)


def recurrence_section(net: Network) -> str:
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
    vector = _align([start,
                     "\\frac{\\partial E}{\\partial \\bar W^{[l]}} &= \\Psi^{[l]} \\otimes \\bar X^{[l]}",
                     f"\\Psi^{{[l-1]}} &= \\left(\\bar W^{{[l]}}{drop}\\right)^{{T}} \\Psi^{{[l]}} \\odot a'\\left(z^{{[l-1]}}\\right)"])
    loop = ("\\begin{quote}\\ttfamily\n"
            f"psi = dE/da * a'(z[{last}])\\\\\n"
            f"for l = {last}, \\ldots, 0:\\\\\n"
            "\\hspace*{2em}dE/dW[l] = outer(psi, X[l])\\\\\n"
            f"\\hspace*{{2em}}psi = (W[l]{'[:, 1:]' if net.bias else ''}.T @ psi) * a'(z[l-1])\n"
            "\\end{quote}\n")
    if net.has_conv:
        vector += CONV_RECURRENCE
    return ("Start at the output and go down one layer at a time: $\\odot$ is the elementwise product, "
            "$\\otimes$ the outer product (rows are neurons, columns inputs)" +
            (", and the bias column of $\\bar W$ is dropped on the way down" if net.bias else "") + ".\n" +
            vector + "As a loop:\n" + loop)


def proof_section(proof) -> str:
    rows = "\n".join(f"{layer} & {proven} & {total} \\\\" for layer, proven, total in proof.by_layer())
    lemmas = "\n".join(f"\\item {lemma.latex or tex_text(lemma.statement)}: \\textbf{{{lemma.status}}}"
                       for lemma in proof.lemmas)
    assumptions = "".join(f"Assuming {tex_text(text)}.\n\n" for text in proof.assumptions)
    verdict = (f"All {proof.total} weights are proven" if proof.ok else
               f"{proof.proven} of {proof.total} weights are proven, {len(proof.refuted)} refuted")
    return (f"For every weight, $\\partial E/\\partial w$ by \\texttt{{sympy.diff}} was compared with the "
            f"recurrence's entry. Method: {tex_text(proof.method_description)}.\n\n"
            "\\begin{center}\\begin{tabular}{rrr}\nlayer & proven & weights \\\\ \\hline\n" + rows +
            "\n\\end{tabular}\\end{center}\n" + f"{verdict} in {proof.seconds:.2f}\\,s. " +
            "The lemmas the proof rests on:\n\\begin{itemize}\n" + lemmas + "\n\\end{itemize}\n" + assumptions)


def definition_section(derivation: Derivation, printer) -> str:
    rows = [equation_rows(f"\\frac{{\\partial E}}{{\\partial {printer.doprint(derivation.sym.weight(w))}}}",
                          derivation.direct[w], printer) for w in derivation.weights]
    return ("The same gradients as \\texttt{sympy.diff} computes them from $E$, with no shortcut: the "
            "direct form the proof compares with the recurrence.\n" + _align(rows))

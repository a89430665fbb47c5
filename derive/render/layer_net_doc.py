"""A network of layers derived and proven, as text (``gradproof derive``) and as a LaTeX document
(``gradproof latex``), in the source text's order: the network and its parameters, the forward phase with
its index sums (one weighted sum written out), the backward phase by the chain rule (what is red in a row
is what was green in the row above: Ψ of the layer above), the Ψ recurrence layer by layer, and the proof
table (:func:`gradproof.derive.proof.layer_net.prove_network`)."""

from __future__ import annotations

from gradproof.derive.model.layer_net import LayerNet
from gradproof.derive.proof.layer_net import NetworkProof
from gradproof.derive.render.layer_net_rows import GREEN, RED, chain_rows, forward_rows, recurrence_rows

PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[a4paper,margin=2cm]{geometry}
\usepackage[T1]{fontenc}
\usepackage{amsmath,amssymb,array}
\usepackage[dvipsnames]{xcolor}
\allowdisplaybreaks
\setlength{\parindent}{0pt}\setlength{\parskip}{0.6em}
"""


def describe(net: LayerNet) -> list[str]:
    """One line per layer: what it does, its shapes, its W̄."""
    lines, l = [], 0
    for layer in net.layers:
        if layer.kind == "pool":
            lines.append(f"max pooling {layer.size}×{layer.size}, stride {layer.size}: "
                         f"{_shape(layer.in_shape)} → {_shape(layer.out_shape)}")
            continue
        what = (f"convolution {layer.channels}×{layer.kernel}×{layer.kernel}, stride {layer.stride}, padding "
                f"{layer.padding}: {_shape(layer.in_shape)} → {_shape(layer.out_shape)}"
                if layer.kind == "conv" else f"dense {layer.inputs} → {layer.outputs}")
        lines.append(f"{what}, then {layer.activation.name}; W̄[{l}] is {layer.shape[0]}×{layer.shape[1]} "
                     f"({layer.shape[0] * layer.shape[1]} weights, the bias column first)")
        l += 1
    lines.append(f"loss {net.loss.name}: {net.loss.formula}")
    return lines


def _shape(shape) -> str:
    return "×".join(map(str, shape))


def written_out(net: LayerNet) -> tuple[str, list[str]]:
    """The first weighted sum of the first layer, every term: (left-hand side, terms)."""
    layer = net.layers[0]
    if layer.kind == "dense":
        return "z^{[0]}_1", [r"\bar w^{[0]}_{1,0}"] + [rf"\bar w^{{[0]}}_{{1,{j}}}\,x_{{{j}}}"
                                                     for j in range(1, layer.inputs + 1)]
    k, c = layer.kernel, layer.in_shape[0]
    terms = [r"\bar w^{[0]}_{1,0}"]
    for ch in range(c):
        for u in range(k):
            for v in range(k):
                column = 1 + ch * k * k + u * k + v
                terms.append(rf"\bar w^{{[0]}}_{{1,{column}}}\,x_{{{ch},{u},{v}}}")
    return "z^{[0]}_{1,0,0}", terms


def proof_rows(proof: NetworkProof, tex: bool = False) -> list[tuple[str, str, str, str]]:
    """(what, sizes, proven/total, status) for the whole network's weight layers, then each rule."""
    net, rows = proof.network, []
    for (l, proven, total), layer in zip(proof.by_layer(), net.weight_layers):
        what = (rf"$\partial E/\partial \bar W^{{[{l}]}}$ ({layer.kind})" if tex else f"∂E/∂W̄[{l}] ({layer.kind})")
        rows.append((what, "×".join(map(str, layer.shape)), f"{proven}/{total}",
                     "proven" if proven == total else "NOT proven"))
    for what, what_tex, rule in proof.rules:
        rows.append((what_tex if tex else what, rule.sizes_text(), f"{rule.proven}/{rule.total}", rule.status))
    return rows


def region_sentence(proof: NetworkProof) -> str:
    whole = proof.whole
    return (f"The proof holds on the region where the {len(whole.region)} branch conditions met at the traced "
            "point hold (every comparison the code made: the sign of each ReLU input, the comparisons that pick "
            "each pooling window's arg-max, a softmax's shift), and on the domain (denominators ≠ 0, logarithms' "
            "arguments > 0); the traced point lies in both, checked with 40 digits. It covers the sizes of this "
            "network only.")


def text(net: LayerNet, proof: NetworkProof | None) -> str:
    lines = [f"Network of layers: [{net.spec()}], {net.n_weights} weights", *("  " + d for d in describe(net)), "",
             "Forward phase"]
    lines += ["  " + txt for _, txt in forward_rows(net)]
    lines += ["", "Backward phase: the chain rule (the bracket in each row is what makes this layer's Ψ; the row "
                  "above's Ψ is reused as it is)"]
    lines += ["  " + txt for _, txt in chain_rows(net)]
    lines += ["", "The Ψ recurrence, layer by layer"]
    lines += ["  " + txt for _, txt in recurrence_rows(net)]
    if proof is not None:
        lines += ["", "The proof (gradproof traced the recurrence's numpy code and decided every entry exactly)"]
        width = max(len(row[0]) for row in proof_rows(proof))
        lines += [f"  {what.ljust(width)}  {sizes}  {count} {status}" for what, sizes, count, status in
                  proof_rows(proof)]
        lines += ["  " + region_sentence(proof),
                  f"{proof.whole.proven}/{proof.whole.total} weights proven in {proof.whole.seconds:.2f} s: "
                  + ("the Ψ recurrence is correct for this network." if proof.ok else "NOT proven.")]
    return "\n".join(lines)


def latex(net: LayerNet, proof: NetworkProof | None, why: str = "") -> str:
    parts = [PREAMBLE, f"\\title{{Backpropagation through \\texttt{{[{net.spec()}]}}: conv, pooling and dense layers, derived "
                       "and proven}\n\\author{gradproof}\n\\date{}\n\\begin{document}\n\\maketitle\n"]
    items = [_tex_text(line) for line in describe(net)[:-1]] + [f"loss {net.loss.name}: ${net.loss.latex}$"]
    parts.append(_section("The network and its parameters", "\\begin{itemize}\n" + "".join(
        f"\\item {item}\n" for item in items) + "\\end{itemize}\n"))
    lhs, terms = written_out(net)
    parts.append(_section("Forward phase", "With every index sum written as such:\n" + _align(
        [tex for tex, _ in forward_rows(net)]) + "Written out, the first weighted sum is\n" + _written(lhs, terms)))
    parts.append(_section("Backward phase: the chain rule", (
        "Start at the error and work back to each weight. What is red in a row is the same as what is green in "
        "the row above it: call it $\\Psi$. Each layer multiplies in the green factors of its own row (through "
        "the pooling, $\\partial m/\\partial a$ is 1 at each window's arg-max and 0 elsewhere; through the "
        "convolution the sum runs over the positions $p$ the weight is used at).\n"
        f"% colours: {GREEN} defined here, {RED} reused from the row above\n")
        + _align([tex for tex, _ in chain_rows(net)], small=True)))
    parts.append(_section("The pattern: the $\\Psi$ recurrence, layer by layer", _align(
        [tex for tex, _ in recurrence_rows(net)], small=True) + (
        "Through max pooling, $\\Psi$ is routed to the arg-max of each window; through a convolution, the "
        "weights' gradient is $\\Psi$ correlated with the layer's input, and the input's gradient is $\\Psi$ "
        "(dilated by the stride and padded by $k-1$) correlated with the kernel rotated by $180^\\circ$.\n")))
    if proof is not None:
        parts.append(_section("The proof", _proof_tex(proof)))
    elif why:
        parts.append(_section("The proof", "\\texttt{" + _escaped(why) + "}\n"))
    parts.append("\\end{document}\n")
    return "".join(parts)


def _escaped(text: str) -> str:
    for old, new in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("%", r"\%"), ("&", r"\&"), ("#", r"\#"),
                     ("$", r"\$"), ("{", r"\{"), ("}", r"\}"), ("'", "'")):
        text = text.replace(old, new)
    return text


def _section(title: str, body: str) -> str:
    return f"\\section*{{{title}}}\n{body}\n"


def _align(rows: list[str], small: bool = False) -> str:
    body = "\\begin{align*}\n" + "\\\\[4pt]\n".join(rows) + "\n\\end{align*}\n"
    return "{\\small\n" + body + "}\n" if small else body


def _written(lhs: str, terms: list[str], per_line: int = 4) -> str:
    lines = [" + ".join(terms[k:k + per_line]) for k in range(0, len(terms), per_line)]
    return "\\begin{align*}\n" + f"{lhs} &= " + "\\\\\n&\\quad + ".join(lines) + "\n\\end{align*}\n"


def _tex_text(line: str) -> str:
    replacements = {"×": "$\\times$", "→": "$\\to$", "W̄": "$\\bar W$", "Σₖ": "$\\sum_k$", "yₖ": "$y_k$",
                    "aₖ": "$a_k$", "−": "$-$", "·": "$\\cdot$", "≠": "$\\neq$", "Ψ": "$\\Psi$", "∂": "$\\partial$",
                    "½": "$\\frac12$", "²": "$^2$"}
    for old, new in replacements.items():
        line = line.replace(old, new)
    return line


def _proof_tex(proof: NetworkProof) -> str:
    rows = "".join(f"{what} & {_tex_text(sizes)} & {count} & {status}\\\\\n"
                   for what, sizes, count, status in proof_rows(proof, tex=True))
    return ("gradproof ran the forward phase and the recurrence above, as numpy code, on arrays of sympy symbols, "
            "and compared every weight's entry of the recurrence with sympy's derivative of the traced $E$: each "
            "difference is decided exactly (a polynomial identity over $\\mathbb{Q}$, with every exponential and "
            "logarithm an unknown). Each layer's rule is proven the same way at this network's sizes.\n\n"
            "{\\small\\begin{tabular}{>{\\raggedright\\arraybackslash}p{7.2cm}>{\\raggedright\\arraybackslash}p{4.6cm}rl}\n\\hline\nwhat & sizes & entries & status\\\\\n\\hline\n"
            + rows + "\\hline\n\\end{tabular}}\n\n" + _tex_text(region_sentence(proof)) + "\n\n"
            + f"{proof.whole.proven}/{proof.whole.total} weights proven in {proof.whole.seconds:.2f} s: "
            + ("the $\\Psi$ recurrence is correct for this network.\n" if proof.ok else "NOT proven.\n"))

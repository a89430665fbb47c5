"""The derivation of a network of layers (:mod:`gradproof.derive.model.layer_net`), row by row, in LaTeX and
in unicode: the forward phase with its index sums, the chain rule with the factor shared with the row above
marked, and the Ψ recurrence layer by layer. :mod:`.layer_net_doc` puts the rows into a document and a
text; each row is a pair (LaTeX, unicode), written once here per kind of layer.

Indices: output channels o, input channels c, map positions (i, j) from 0, kernel taps (u, v) from 0;
W̄[l] has the bias column first, so a convolution's tap (c, u, v) is column 1 + c·k² + u·k + v (c from 0).
"""

from __future__ import annotations

from gradproof.derive.model.layer_net import LayerNet

#: LaTeX colours: the factor defined in this row (green), reused from the row above (red), as in the source
GREEN, RED = "OliveGreen", "BrickRed"


def _green(tex: str) -> str:
    return r"\textcolor{%s}{%s}" % (GREEN, tex)


def _red(tex: str) -> str:
    return r"\textcolor{%s}{%s}" % (RED, tex)


def names(net: LayerNet) -> list[dict]:
    """Per layer: its kind, its weight index l (None for pooling), and the symbols of its input and output."""
    found, l, below = [], 0, ("x", "x")
    for layer in net.layers:
        if layer.kind == "pool":
            out = (f"m^{{[{l - 1}]}}", f"m[{l - 1}]")
            found.append({"layer": layer, "l": None, "input": below, "output": out})
        else:
            out = (f"a^{{[{l}]}}", f"a[{l}]")
            found.append({"layer": layer, "l": l, "input": below, "output": out})
            l += 1
        below = out
    return found


def forward_rows(net: LayerNet) -> list[tuple[str, str]]:
    rows = []
    for entry in names(net):
        layer, l, (x_tex, x_txt), (y_tex, y_txt) = entry["layer"], entry["l"], entry["input"], entry["output"]
        if layer.kind == "conv":
            rows += _conv_forward(layer, l, x_tex, x_txt)
        elif layer.kind == "dense":
            rows += _dense_forward(layer, l, x_tex, x_txt)
        else:
            k, (c, h, w) = layer.size, layer.out_shape
            rows.append((rf"{y_tex}_{{c,i,j}} &= \max_{{0 \le u,v < {k}}} {x_tex}_{{c,\,{k}i+u,\,{k}j+v}}"
                         rf"\qquad (c < {c},\ i < {h},\ j < {w}) && \text{{max pooling}}",
                         f"{y_txt}[c,i,j] = max over 0 ≤ u,v < {k} of {x_txt}[c, {k}i+u, {k}j+v]   "
                         f"(c < {c}, i < {h}, j < {w})"))
        if layer.kind != "pool":
            act = layer.activation.name
            rows.append((rf"{y_tex} &= \operatorname{{{act}}}\bigl(z^{{[{l}]}}\bigr) && \text{{elementwise}}"
                         if act != "softmax" else
                         rf"{y_tex}_n &= \frac{{e^{{z^{{[{l}]}}_n}}}}{{\sum_{{n'}} e^{{z^{{[{l}]}}_{{n'}}}}}}",
                         f"{y_txt} = {act}(z[{l}])"))
    rows.append((rf"E &= {_loss_tex(net)}", net.loss.formula))
    return rows


def _conv_forward(layer, l: int, x_tex: str, x_txt: str) -> list[tuple[str, str]]:
    c, h, w = layer.in_shape
    o, ho, wo = layer.out_shape
    k, s, p = layer.kernel, layer.stride, layer.padding
    padded = r"\tilde{%s}" % x_tex if p else x_tex
    note = (rf"{padded} = {x_tex}\text{{ padded by {p} zeros}},\ " if p else "")
    tex = (rf"z^{{[{l}]}}_{{o,i,j}} &= \bar w^{{[{l}]}}_{{o,0}} + \sum_{{c=0}}^{{{c - 1}}} \sum_{{u=0}}^{{{k - 1}}}"
           rf"\sum_{{v=0}}^{{{k - 1}}} \bar w^{{[{l}]}}_{{o,\,1+{k * k}c+{k}u+v}}\, {padded}_{{c,\,{_times(s, 'i')}+u,"
           rf"\,{_times(s, 'j')}+v}} && \text{{convolution}}\\" "\n"
           rf"&\qquad ({note}o \le {o},\ i < {ho},\ j < {wo})")
    txt = (f"z[{l}][o,i,j] = w̄[{l}][o,0] + Σ_c<{c} Σ_u<{k} Σ_v<{k} w̄[{l}][o, 1+{k * k}c+{k}u+v]·{x_txt}"
           f"{'~' if p else ''}[c, {_times(s, 'i')}+u, {_times(s, 'j')}+v]   (o ≤ {o}, i < {ho}, j < {wo}"
           + (f"; ~: padded by {p}" if p else "") + ")")
    return [(tex, txt)]


def _times(s: int, index: str) -> str:
    return index if s == 1 else f"{s}{index}"


def _dense_forward(layer, l: int, x_tex: str, x_txt: str) -> list[tuple[str, str]]:
    n, m = layer.inputs, layer.outputs
    return [(rf"\bar X^{{[{l}]}} &= \bigl[1,\ \operatorname{{flatten}}({x_tex})\bigr] && \text{{(c, i, j) order}}\\"
             "\n" rf"z^{{[{l}]}}_n &= \sum_{{j=0}}^{{{n}}} \bar w^{{[{l}]}}_{{n,j}}\, \bar X^{{[{l}]}}_j"
             rf"\qquad (n \le {m}) && \text{{dense}}",
             f"X̄[{l}] = [1, flatten({x_txt})] in (c, i, j) order;  z[{l}][n] = Σ_j≤{n} w̄[{l}][n,j]·X̄[{l}][j]"
             f"   (n ≤ {m})")]


def _loss_tex(net: LayerNet) -> str:
    latex = net.loss.latex
    return latex.split("=", 1)[1].strip() if "=" in latex else latex


def chain_rows(net: LayerNet) -> list[tuple[str, str]]:
    """∂E/∂w̄ per weight layer from the top, as a product of factors: the factor the row above ends with
    in red (it is Ψ of the layer above), the factors new in this row in green (they make this layer's Ψ)."""
    entries = [e for e in names(net)]
    weight = [e for e in entries if e["l"] is not None]
    top = weight[-1]["l"]
    rows = []
    above_tex = r"\frac{\partial E}{\partial a^{[%d]}}\frac{\partial a^{[%d]}}{\partial z^{[%d]}}" % (top, top, top)
    rows.append((rf"\frac{{\partial E}}{{\partial \bar w^{{[{top}]}}}} &= {_green(above_tex)}\,"
                 rf"\frac{{\partial z^{{[{top}]}}}}{{\partial \bar w^{{[{top}]}}}} = \Psi^{{[{top}]}}\,"
                 rf"\frac{{\partial z^{{[{top}]}}}}{{\partial \bar w^{{[{top}]}}}}",
                 f"∂E/∂w̄[{top}] = [∂E/∂a[{top}]·∂a[{top}]/∂z[{top}]]·∂z[{top}]/∂w̄[{top}] = Ψ[{top}]·∂z[{top}]/∂w̄[{top}]"))
    for l in range(top - 1, -1, -1):
        pooled = any(e["layer"].kind == "pool" and e["input"][0] == f"a^{{[{l}]}}" for e in entries)
        middle = (r"\frac{\partial z^{[%d]}}{\partial m^{[%d]}}\frac{\partial m^{[%d]}}{\partial a^{[%d]}}"
                  % (l + 1, l, l, l) if pooled else r"\frac{\partial z^{[%d]}}{\partial a^{[%d]}}" % (l + 1, l))
        new = middle + r"\frac{\partial a^{[%d]}}{\partial z^{[%d]}}" % (l, l)
        rows.append((rf"\frac{{\partial E}}{{\partial \bar w^{{[{l}]}}}} &= \sum {_red(above_tex)}\,{_green(new)}\,"
                     rf"\frac{{\partial z^{{[{l}]}}}}{{\partial \bar w^{{[{l}]}}}} = \sum \Psi^{{[{l}]}}\,"
                     rf"\frac{{\partial z^{{[{l}]}}}}{{\partial \bar w^{{[{l}]}}}}",
                     f"∂E/∂w̄[{l}] = Σ (Ψ[{l + 1}], as above)·[" + new_text(l, pooled)
                     + f"]·∂z[{l}]/∂w̄[{l}] = Σ Ψ[{l}]·∂z[{l}]/∂w̄[{l}]"))
        above_tex = above_tex + new
    return rows


def new_text(l: int, pooled: bool) -> str:
    middle = f"∂z[{l + 1}]/∂m[{l}]·∂m[{l}]/∂a[{l}]" if pooled else f"∂z[{l + 1}]/∂a[{l}]"
    return f"{middle}·∂a[{l}]/∂z[{l}]"


def recurrence_rows(net: LayerNet) -> list[tuple[str, str]]:
    """The Ψ recurrence layer by layer, from the output down."""
    entries = names(net)
    top = entries[-1]["l"]
    loss, act = net.loss, net.layers[-1].activation
    rows = [((rf"\Psi^{{[{top}]}} &= a - y && \text{{{loss.name} on {act.name}: targets summing to 1}}",
              f"Ψ[{top}] = a − y   ({loss.name} on {act.name}: targets summing to 1)")
             if loss.collapses_with(act) else
             (rf"\Psi^{{[{top}]}} &= \frac{{\partial E}}{{\partial a}} \odot a'\bigl(z^{{[{top}]}}\bigr)",
              f"Ψ[{top}] = ∂E/∂a ⊙ a'(z[{top}])"))]
    for position in range(len(entries) - 1, -1, -1):
        entry = entries[position]
        layer, l, (x_tex, x_txt) = entry["layer"], entry["l"], entry["input"]
        if layer.kind == "pool":
            rows += [_pool_back(layer, entry), _activation_back(entries[position - 1])]
            continue
        if layer.kind == "dense":
            rows.append((rf"\frac{{\partial E}}{{\partial \bar W^{{[{l}]}}}} &= \Psi^{{[{l}]}} \otimes \bar X^{{[{l}]}}",
                         f"∂E/∂W̄[{l}] = Ψ[{l}] ⊗ X̄[{l}]"))
        else:
            rows += _conv_back(layer, l, x_tex, x_txt)
        if position and layer.kind == "dense":
            shape = r"\times".join(map(str, entries[position - 1]["layer"].out_shape))
            rows.append((rf"\frac{{\partial E}}{{\partial {x_tex}}} &= \bigl(\bar W^{{[{l}]}}_{{:,1:}}\bigr)^{{T}}"
                         rf"\,\Psi^{{[{l}]}} && \text{{unflattened to }}{shape}",
                         f"∂E/∂{x_txt} = (W̄[{l}][:, 1:])ᵀ·Ψ[{l}], unflattened"))
        if position and entries[position - 1]["layer"].kind != "pool":
            rows.append(_activation_back(entries[position - 1]))
    return rows


def _pool_back(layer, entry) -> tuple[str, str]:
    (x_tex, x_txt), (y_tex, y_txt), k = entry["input"], entry["output"], layer.size
    return (rf"\frac{{\partial E}}{{\partial {x_tex}_{{c,p}}}} &= \begin{{cases}}\frac{{\partial E}}"
            rf"{{\partial {y_tex}_{{c,i,j}}}} & p = \operatorname{{arg\,max}} \text{{ of window }}(i,j)\\"
            r" 0 & \text{otherwise}\end{cases} && \text{routed to the arg-max}",
            f"∂E/∂{x_txt}[c,p] = ∂E/∂{y_txt}[c,i,j] if p is the arg-max of window (i,j) ({k}×{k}), else 0")


def _activation_back(below) -> tuple[str, str]:
    """Ψ of the weight layer ``below`` from ∂E/∂(its activation's output)."""
    l, act = below["l"], below["layer"].activation.name
    prime = r"H\bigl(z^{[%d]}\bigr)" % l if act == "relu" else r"%s'\bigl(z^{[%d]}\bigr)" % (act, l)
    note = r" && H(0) = 0" if act == "relu" else ""
    return (rf"\Psi^{{[{l}]}} &= \frac{{\partial E}}{{\partial a^{{[{l}]}}}} \odot {prime}{note}",
            f"Ψ[{l}] = ∂E/∂a[{l}] ⊙ {act}'(z[{l}])" + ("   (H(0) = 0)" if act == "relu" else ""))


def _conv_back(layer, l: int, x_tex: str, x_txt: str) -> list[tuple[str, str]]:
    k, s, p = layer.kernel, layer.stride, layer.padding
    padded = r"\tilde{%s}" % x_tex if p else x_tex
    rows = [(rf"\frac{{\partial E}}{{\partial \bar w^{{[{l}]}}_{{o,0}}}} &= \sum_{{i,j}} \Psi^{{[{l}]}}_{{o,i,j}},\quad"
             rf"\frac{{\partial E}}{{\partial \bar w^{{[{l}]}}_{{o,\,1+{k * k}c+{k}u+v}}}} = \sum_{{i,j}}"
             rf"\Psi^{{[{l}]}}_{{o,i,j}}\, {padded}_{{c,\,{_times(s, 'i')}+u,\,{_times(s, 'j')}+v}}"
             r" && \text{$\Psi$ correlated with the input}",
             f"∂E/∂w̄[{l}][o,0] = Σ_ij Ψ[{l}][o,i,j];  ∂E/∂w̄[{l}][o, 1+{k * k}c+{k}u+v] = Σ_ij Ψ[{l}][o,i,j]·"
             f"{x_txt}{'~' if p else ''}[c, {_times(s, 'i')}+u, {_times(s, 'j')}+v]   (Ψ correlated with the input)")]
    rows.append((rf"\frac{{\partial E}}{{\partial {padded}_{{c,r,q}}}} &= \sum_{{o}} \sum_{{u,v=0}}^{{{k - 1}}}"
                 rf"\hat\Psi^{{[{l}]}}_{{o,\,r+u,\,q+v}}\, w^{{[{l}]}}_{{o,c,\,{k - 1}-u,\,{k - 1}-v}}"
                 r" && \text{a correlation with the flipped kernel}",
                 f"∂E/∂{x_txt}{'~' if p else ''}[c,r,q] = Σ_o Σ_u,v<{k} Ψ̂[{l}][o, r+u, q+v]·w[{l}][o, c, {k - 1}−u, {k - 1}−v]   "
                 f"(Ψ̂: Ψ dilated by {s}, padded by {k - 1}; a correlation with the kernel rotated by 180°)"))
    return rows

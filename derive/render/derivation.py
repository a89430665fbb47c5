"""A derivation: the forward phase, the Ψ recurrence and chosen gradients, as an object.

It holds sympy expressions and the names to print them with; :meth:`Derivation.to_text` renders it in
the source text's unicode notation, the LaTeX writer renders the same object as a document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import sympy as sp

from gradproof.derive.symbolic.recurrence import PSI, PsiRecurrence
from gradproof.derive.model.network import Network, WeightIndex
from gradproof.derive.model import display
from gradproof.derive.model.notation import psi_text, weight_text, z_text
from gradproof.derive.render.names import Sensitivity, SoftmaxSum, in_outputs, sensitivities
from gradproof.derive.render.printing import text, wrap, z_abbreviations
from gradproof.derive.symbolic.conv import unit_terms
from gradproof.derive.symbolic.functions import Exp
from gradproof.derive.symbolic.network import SymbolicNetwork
from gradproof.derive.symbolic.symbols import PsiEntry

Equation = tuple[str, sp.Expr]  # (left-hand side in unicode, right-hand side)
#: a gradient by the definition longer than this (characters of unicode) is shown in the chain-rule form
CHAIN_RULE_BEYOND = 600


@dataclass(frozen=True, eq=False)
class Derivation:
    """What the source text wrote by hand, for ``network``: chosen weights' ∂E/∂w by the definition."""

    network: Network
    weights: tuple[WeightIndex, ...] = ()
    recurrence: PsiRecurrence = field(default=PSI)

    @classmethod
    def of(cls, network: Network, weights: Sequence | str | None = None,
           recurrence: PsiRecurrence = PSI) -> Derivation:
        """``weights``: indices (layer, from, to), ``"all"``, or None for one example per layer, from the
        output down (the order the source text derives them in)."""
        if weights == "all":
            chosen = tuple(network.weights())
        elif weights is None:
            chosen = tuple(network.check_weight((layer, 1, 1)) for layer in reversed(range(network.depth)))
        else:
            chosen = tuple(network.check_weight(w) for w in weights)
        return cls(network, chosen, recurrence)

    @cached_property
    def sym(self) -> SymbolicNetwork:
        return SymbolicNetwork(self.network)

    @cached_property
    def names(self) -> dict:
        """Abbreviations used in print: every weighted sum as ˡzᵢ."""
        return z_abbreviations(self.sym)

    def forward_phase(self) -> list[Equation]:
        """X̄[0], then for each layer every ˡzᵢ and the next X̄, then the output and E (a softmax output
        with its denominator S defined first, and E written in its outputs aₖ)."""
        sym, net = self.sym, self.network
        lines: list[Equation] = [("X̄[0]", sp.ImmutableMatrix(sym.xbar[0]).T)]
        for layer in range(net.depth):
            for unit, z in enumerate(sym.z[layer], start=1):
                terms = [w if x == 1 else sp.Mul(w, x, evaluate=False) for w, x in unit_terms(sym, layer, unit)
                         if x != 0]  # a convolution's zero padding adds nothing
                lines.append((z_text(layer, unit), sp.Add(*terms, evaluate=False)))
            if layer + 1 < net.depth:
                lines.append((f"X̄[{layer + 1}]", sp.ImmutableMatrix(sym.xbar[layer + 1]).T))
        if self.softmax:
            exps = [Exp(z) for z in sym.z[-1]]
            lines.append(("S", sp.Add(*exps)))
            lines.append(("a", sp.ImmutableMatrix([[e / SoftmaxSum() for e in exps]])))
        else:
            lines.append(("a", sp.ImmutableMatrix(sym.output).T))
        lines.append(("E", in_outputs(sym.error, sym)))
        return lines

    @property
    def softmax(self) -> bool:
        return self.network.activations[-1].name == "softmax"

    @cached_property
    def psi_names(self) -> tuple[tuple[PsiEntry, ...], ...]:
        return tuple(tuple(PsiEntry(layer, unit) for unit in range(1, self.network.sizes[layer + 1] + 1))
                     for layer in range(self.network.depth))

    def backward_phase(self) -> list[Equation]:
        """Each ˡΨᵢ in terms of the layer above (the pattern), then ∂E/∂ˡwʲᵢ = ˡΨᵢ·X̄[l]ʲ."""
        sym, rec = self.sym, self.recurrence
        top = self.network.depth - 1
        lines: list[Equation] = []
        for unit, value in enumerate(rec.output_psi(sym), start=1):
            lines.append((psi_text(top, unit), in_outputs(value, sym)))
        for layer in range(top, 0, -1):
            psi_above = sp.ImmutableMatrix(self.psi_names[layer])
            for unit, value in enumerate(rec.propagate(sym, layer, psi_above), start=1):
                lines.append((psi_text(layer - 1, unit), value))
        return lines

    def weight_rule(self, index: WeightIndex) -> sp.Expr:
        """∂E/∂ˡwʲᵢ as the recurrence gives it, in terms of ˡΨᵢ."""
        _, row, col = self.network.position(index)
        psi = sp.ImmutableMatrix(self.psi_names[index.layer])
        return self.recurrence.weight_gradient(self.sym, index.layer, psi)[row, col]

    @cached_property
    def direct(self) -> dict[WeightIndex, sp.Expr]:
        """∂E/∂w by ``sympy.diff`` for the chosen weights."""
        return {w: sp.diff(self.sym.error, self.sym.weight(w)) for w in self.weights}

    @cached_property
    def chained(self) -> bool:
        """Whether the gradients by the definition are shown in the chain-rule form: for a softmax
        output (its raw derivatives divide by e^z and S again and again), or when one is long."""
        return self.softmax or any(len(text(self.direct[w], self.names)) > CHAIN_RULE_BEYOND for w in self.weights)

    def definition_phase(self) -> list[Equation]:
        """The chosen gradients by the definition. In the chain-rule form, first ∂E/∂ᴸ⁻¹zⱼ, the factors
        every gradient repeats (``sympy.diff`` of E with the output sum as the variable), then each
        ∂E/∂w = Σⱼ ∂E/∂ᴸ⁻¹zⱼ · ∂ᴸ⁻¹zⱼ/∂w with the second factor by ``sympy.diff`` of the weighted sum."""
        sym = self.sym
        if not self.chained:
            return [(f"∂E/∂{weight_text(*w)}", self.direct[w]) for w in self.weights]
        top = self.network.depth - 1
        lines: list[Equation] = []
        for name, value in sensitivities(sym).items():
            value = in_outputs(value, sym)
            lines.append((f"∂E/∂{z_text(top, name.unit)}", sp.expand(value) if self.softmax else value))
        for w in self.weights:
            terms = [sp.Mul(Sensitivity(top, j), sp.diff(z, sym.weight(w)), evaluate=False)
                     for j, z in enumerate(sym.z[top], start=1) if z.has(sym.weight(w))]
            lines.append((f"∂E/∂{weight_text(*w)}", sp.Add(*terms, evaluate=False)))
        return lines

    def to_text(self, width: int | None = None, proof=None) -> str:
        """The derivation in unicode, optionally with a proof's verdict per chosen weight."""
        out = [f"Network: {self.network.describe()}", "", "Forward phase"]
        out += [wrap(f"  {lhs} = {self._print(rhs, lhs)}", width, 6) for lhs, rhs in self.forward_phase()]
        out += ["", f"Backward phase: {self.recurrence.description}"]
        out += ["  " + line for line in self.recurrence.vector_form(self.network)]
        out += ["", "  The pattern, entry by entry (ˡΨᵢ = ∂E/∂ˡzᵢ):"]
        out += [wrap(f"  {lhs} = {self._print(rhs)}", width, 6) for lhs, rhs in self.backward_phase()]
        out += ["", "Derived by the definition (sympy.diff of E), against the recurrence"]
        if self.chained:
            top = z_text(self.network.depth - 1, "ⱼ").replace("₋", "")
            out.append(f"  in the chain-rule form ∂E/∂w = Σⱼ (∂E/∂{top})·∂{top}/∂w, each factor by sympy.diff,")
            out.append(f"  the factors ∂E/∂{top} (the same in every gradient) first:")
        rules = {f"∂E/∂{weight_text(*w)}": w for w in self.weights}
        for lhs, rhs in self.definition_phase():
            out.append(wrap(f"  {lhs} = {self._print(rhs)}", width, 6))
            if lhs in rules:
                index = rules[lhs]
                verdict = f"   [{proof.weight(index).status}]" if proof is not None else ""
                out.append(f"  {' ' * (len(lhs) - 4)}   Ψ form: {self._print(self.weight_rule(index))}{verdict}")
        return "\n".join(out)

    def to_dict(self) -> dict:
        """The derivation as plain data: every equation as text in the source text's notation."""
        return {"network": self.network.spec(), "recurrence": self.recurrence.description,
                "forward_phase": [{"lhs": lhs, "rhs": self._print(rhs, lhs)} for lhs, rhs in self.forward_phase()],
                "vector_form": self.recurrence.vector_form(self.network),
                "backward_phase": [{"lhs": lhs, "rhs": self._print(rhs)} for lhs, rhs in self.backward_phase()],
                "definition": [{"lhs": lhs, "rhs": self._print(rhs)} for lhs, rhs in self.definition_phase()],
                "gradients": [{"weight": {"layer": w.layer, "from": w.source, "to": w.target},
                               "direct": self._print(self.direct[w]), "psi_form": self._print(self.weight_rule(w))}
                              for w in self.weights]}

    def _repr_latex_(self) -> str | None:
        return display.latex(self)

    def _print(self, expr, lhs: str | None = None) -> str:
        names = self.names
        if lhs is not None and "z" in lhs:  # a weighted sum: in full and in column order, not its own name
            names = {k: v for k, v in names.items() if v != lhs}
            return text(expr, names, order="none")
        return text(expr, names)


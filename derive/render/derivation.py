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
from gradproof.derive.render.printing import text, wrap, z_abbreviations
from gradproof.derive.symbolic.conv import unit_terms
from gradproof.derive.symbolic.network import SymbolicNetwork
from gradproof.derive.symbolic.symbols import PsiEntry

Equation = tuple[str, sp.Expr]  # (left-hand side in unicode, right-hand side)


@dataclass(frozen=True, eq=False)
class Derivation:
    """What the source text wrote by hand, for ``network``: chosen weights' ∂E/∂w by the definition."""

    network: Network
    weights: tuple[WeightIndex, ...] = ()
    recurrence: PsiRecurrence = field(default=PSI)

    @classmethod
    def of(cls, network: Network, weights: Sequence | str | None = None,
           recurrence: PsiRecurrence = PSI) -> Derivation:
        """``weights``: indices (layer, from, to), ``"all"``, or None for one example per layer."""
        if weights == "all":
            chosen = tuple(network.weights())
        elif weights is None:
            chosen = tuple(network.check_weight((layer, 1, 1)) for layer in range(network.depth))
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
        """X̄[0], then for each layer every ˡzᵢ and the next X̄, then the output and E."""
        sym, net = self.sym, self.network
        lines: list[Equation] = [("X̄[0]", sp.ImmutableMatrix(sym.xbar[0]).T)]
        for layer in range(net.depth):
            for unit, z in enumerate(sym.z[layer], start=1):
                terms = [w if x == 1 else sp.Mul(w, x, evaluate=False) for w, x in unit_terms(sym, layer, unit)
                         if x != 0]  # a convolution's zero padding adds nothing
                lines.append((z_text(layer, unit), sp.Add(*terms, evaluate=False)))
            if layer + 1 < net.depth:
                lines.append((f"X̄[{layer + 1}]", sp.ImmutableMatrix(sym.xbar[layer + 1]).T))
        lines.append(("a", sp.ImmutableMatrix(sym.output).T))
        lines.append(("E", sym.error))
        return lines

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
            lines.append((psi_text(top, unit), value))
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

    def to_text(self, width: int | None = None, proof=None) -> str:
        """The derivation in unicode, optionally with a proof's verdict per chosen weight."""
        out = [f"Network: {self.network.describe()}", "", "Forward phase"]
        out += [wrap(f"  {lhs} = {self._print(rhs, lhs)}", width, 6) for lhs, rhs in self.forward_phase()]
        out += ["", f"Backward phase: {self.recurrence.description}"]
        out += ["  " + line for line in self.recurrence.vector_form(self.network)]
        out += ["", "  The pattern, entry by entry (ˡΨᵢ = ∂E/∂ˡzᵢ):"]
        out += [wrap(f"  {lhs} = {self._print(rhs)}", width, 6) for lhs, rhs in self.backward_phase()]
        out += ["", "Derived by the definition (sympy.diff of E), against the recurrence"]
        for index in self.weights:
            name = weight_text(*index)
            verdict = f"   [{proof.weight(index).status}]" if proof is not None else ""
            out.append(wrap(f"  ∂E/∂{name} = {self._print(self.direct[index])}", width, 6))
            out.append(f"  {' ' * len(name)}   Ψ form: {self._print(self.weight_rule(index))}{verdict}")
        return "\n".join(out)

    def to_dict(self) -> dict:
        """The derivation as plain data: every equation as text in the source text's notation."""
        return {"network": self.network.spec(), "recurrence": self.recurrence.description,
                "forward_phase": [{"lhs": lhs, "rhs": self._print(rhs, lhs)} for lhs, rhs in self.forward_phase()],
                "vector_form": self.recurrence.vector_form(self.network),
                "backward_phase": [{"lhs": lhs, "rhs": self._print(rhs)} for lhs, rhs in self.backward_phase()],
                "gradients": [{"weight": {"layer": w.layer, "from": w.source, "to": w.target},
                               "direct": self._print(self.direct[w]), "psi_form": self._print(self.weight_rule(w))}
                              for w in self.weights]}

    def _repr_latex_(self) -> str | None:
        return display.latex(self)

    def _print(self, expr, lhs: str | None = None) -> str:
        names = self.names
        if lhs is not None:  # a weighted sum prints in full and in column order, not as its own name
            names = {k: v for k, v in names.items() if v != lhs}
            return text(expr, names, order="none")
        return text(expr, names)


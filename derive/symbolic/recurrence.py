"""The two gradient forms a proof compares.

- The **direct form**: ``sympy.diff`` of E with respect to each weight, the definition with no shortcut.
- The **Ψ form**: the source text's recurrence, built from the network's structures and the
  activations' and loss's backward rules, never from the direct form::

      Ψ[L−1] = ∂E/∂a ⊙ a'(z[L−1])            (for softmax: the Jacobian, (∂a/∂z)ᵀ·∂E/∂a)
      for l = L−1 … 0:
          ∂E/∂W̄[l] = Ψ[l] ⊗ X̄[l]            (outer product: rows are neurons, columns inputs)
          Ψ[l−1]   = (W̄[l][:, 1:]ᵀ · Ψ[l]) ⊙ a'(z[l−1])   (the bias column is dropped)

A recurrence is an object with one method per step, so a mistaken one (see :mod:`gradproof.derive.symbolic.mistakes`)
overrides exactly the step it gets wrong.
"""

from __future__ import annotations

import types

import sympy as sp

from gradproof.derive.symbolic import conv
from gradproof.derive.symbolic.network import SymbolicNetwork
from gradproof.derive.symbolic.vectors import column, outer


def direct_gradients(sym: SymbolicNetwork, advance=None) -> tuple[sp.ImmutableMatrix, ...]:
    """∂E/∂W̄[l] for every layer by ``sympy.diff``, entry by entry, shaped like W̄[l] (``advance()`` is
    called after each weight, for a progress bar)."""
    def derivative(w):
        d = sp.diff(sym.error, w)
        if advance is not None:
            advance()
        return d
    return tuple(matrix.applyfunc(derivative) for matrix in sym.wbar)


#: the recurrence's loop for a network with convolutions
CONV_FORM = [
    "for l = L−1 … 0:",
    "    ∂E/∂W̄[l] = Σₚ Ψ[l]ₚ ⊗ X̄[l]ₚ     (a convolution: Ψ correlated with its input, X̄[l]ₚ the patch at",
    "                                   position p with the bias input 1 first; a dense layer: Ψ[l] ⊗ X̄[l])",
    "    Ψ[l−1] = (the transposed convolution of Ψ[l]) ⊙ a'(z[l−1])   (dilate Ψ by the stride, pad it by",
    "             k − 1, correlate it with the kernel rotated by 180° and its channels swapped, trim the",
    "             padding; a dense layer: W̄[l][:, 1:]ᵀ · Ψ[l], unflattened below a convolution)",
]


class PsiRecurrence:
    """The source text's Ψ recurrence. Subclass and override one step to describe another recurrence."""

    name = "psi"
    description = "the source text's Ψ recurrence"

    def vector_form(self, network) -> list[str]:
        """The recurrence as the source text writes it, for ``network``'s activations and loss."""
        last, loss = network.depth - 1, network.loss
        out_act = network.activations[-1]
        if loss.collapses_with(out_act):
            start = f"Ψ[{last}] = a − y   ((∂a/∂z)ᵀ·∂E/∂a collapses for {out_act.name} with {loss.name})"
        elif out_act.name == "softmax":
            start = f"Ψ[{last}] = (∂a/∂z[{last}])ᵀ · ∂E/∂a   (the softmax Jacobian diag(a) − a·aᵀ)"
        else:
            start = f"Ψ[{last}] = ∂E/∂a ⊙ a'(z[{last}])"
        drop = "[:, 1:]" if network.bias else ""
        if network.has_conv:
            return [start] + CONV_FORM
        return [start, f"for l = {last} … 0:",
                "    ∂E/∂W̄[l] = Ψ[l] ⊗ X̄[l]          (outer product: ∂E/∂ˡwʲᵢ = ˡΨᵢ·X̄[l]ʲ)",
                f"    Ψ[l−1] = (W̄[l]{drop}ᵀ · Ψ[l]) ⊙ a'(z[l−1])"
                + ("   (the bias column dropped)" if network.bias else "")]

    def output_psi(self, sym: SymbolicNetwork) -> sp.ImmutableMatrix:
        """Ψ[L−1] = ∂E/∂z[L−1]: the loss's collapsed form where it has one for this output, otherwise
        the output activation's backward rule applied to the loss's gradient ∂E/∂a."""
        net = sym.network
        if net.loss.collapses_with(net.activations[-1]):
            return column(sym.loss.collapsed(sym.output, sym.y))
        return column(sym.activations[-1].vjp(sym.z[-1], sym.loss.gradient(sym.output, sym.y)))

    def weight_gradient(self, sym: SymbolicNetwork, layer: int, psi) -> sp.ImmutableMatrix:
        """∂E/∂W̄[l] = Ψ[l] ⊗ X̄[l] (a convolution: Σₚ Ψ[l]ₚ ⊗ X̄[l]ₚ, :mod:`.conv`)."""
        if sym.network.layers[layer].kind == "conv":
            return conv.weight_gradient(sym, layer, psi)
        return outer(psi, sym.xbar[layer])

    def propagate(self, sym: SymbolicNetwork, layer: int, psi) -> sp.ImmutableMatrix:
        """Ψ[l−1] = (W̄[l][:, 1:]ᵀ · Ψ[l]) ⊙ a'(z[l−1])."""
        net = sym.network
        if net.layers[layer].kind == "conv":  # the transposed convolution (:mod:`.conv`)
            back = conv.back(sym, layer, psi)
        else:
            back = sym.wbar[layer][:, int(net.bias):].T * psi
        return column(sym.activations[layer - 1].vjp(sym.z[layer - 1], back))

    def psis(self, sym: SymbolicNetwork) -> tuple[sp.ImmutableMatrix, ...]:
        """Ψ[0] … Ψ[L−1], in layer order."""
        psi = self.output_psi(sym)
        found = [psi]
        for layer in range(sym.network.depth - 1, 0, -1):
            psi = self.propagate(sym, layer, psi)
            found.append(psi)
        return tuple(reversed(found))

    def gradients(self, sym: SymbolicNetwork) -> tuple[sp.ImmutableMatrix, ...]:
        """∂E/∂W̄[l] for every layer, by the recurrence."""
        return tuple(self.weight_gradient(sym, layer, psi) for layer, psi in enumerate(self.psis(sym)))

    def __call__(self, sym: SymbolicNetwork) -> tuple[sp.ImmutableMatrix, ...]:
        """A recurrence is also a function of the network (``prove --recurrence file.py:INSTANCE``)."""
        return self.gradients(sym)


def composes_its_steps(recurrence) -> bool:
    """Whether ``recurrence`` is a PsiRecurrence that assembles its gradients from its steps with the
    standard loop (it overrides neither ``gradients`` nor ``psis``): only then can a proof of the steps,
    layer by layer, speak for its gradients."""
    return (isinstance(recurrence, PsiRecurrence) and type(recurrence).gradients is PsiRecurrence.gradients
            and type(recurrence).psis is PsiRecurrence.psis)


def recurrence_name(recurrence) -> str:
    """How a proof names ``recurrence``: the source text's, one of gradproof's own by its description, and
    anything else "your recurrence NAME" (with its description, on one line, when it gives a text): a
    subclass that does not describe itself, or describes itself as the source text's, is not the source
    text's recurrence. No attribute of the user's object is run (a ``description`` property is ignored)."""
    if type(recurrence) is PsiRecurrence:
        return PsiRecurrence.description
    if not isinstance(recurrence, PsiRecurrence):
        plain = isinstance(recurrence, (types.FunctionType, types.MethodType, types.BuiltinFunctionType))
        return f"your recurrence {recurrence.__name__ if plain else type(recurrence).__name__}()"
    cls = type(recurrence)
    described = _declared_description(recurrence)
    if (cls.__module__ or "").startswith("gradproof.") and described:
        return described
    return f"your recurrence {cls.__name__}" + (f" ({described})" if described else "")


def _declared_description(recurrence) -> str | None:
    """The ``description`` text the instance or a subclass declares, as one short line (else None)."""
    for space in [vars(recurrence)] + [vars(cls) for cls in type(recurrence).__mro__
                                       if cls is not PsiRecurrence and issubclass(cls, PsiRecurrence)]:
        if "description" in space:
            text = space["description"]
            if not isinstance(text, str) or not text.strip():
                return None
            line = " ".join(text.split())
            return line if len(line) <= 80 else line[:79] + "…"
    return None


PSI = PsiRecurrence()

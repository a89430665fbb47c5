"""Classic hand-derivation mistakes, as recurrences that get exactly one step wrong.

They are the negative controls of every verifier here: a verifier that proves or passes one of them is
broken. Each says which layers' gradients it makes wrong, so a test can demand that the proof refutes
exactly those weights and no others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from derive.gradients import PsiRecurrence
from derive.network import Network


class BiasColumnKept(PsiRecurrence):
    """Ψ goes down through all of W̄[l], bias column included; the extra entry is then cut at the end,
    so every entry is paired with the wrong neuron's weights."""

    description = "a recurrence that keeps W̄'s bias column"

    def propagate(self, sym, layer, psi):
        back = (sym.wbar[layer].T * psi)[: sym.network.sizes[layer], :]
        return sp.ImmutableMatrix(sym.network.activations[layer - 1].vjp(list(sym.z[layer - 1]), list(back)))


class MissingActivationDerivative(PsiRecurrence):
    """Ψ goes down a layer without the factor a'(z[l−1])."""

    description = "a recurrence without a'(z) in its step"

    def propagate(self, sym, layer, psi):
        return sp.ImmutableMatrix(sym.wbar[layer][:, int(sym.network.bias):].T * psi)


class NotTransposed(PsiRecurrence):
    """Ψ goes down through W̄[l][:, 1:] instead of its transpose (only possible where it is square)."""

    description = "a recurrence that does not transpose W̄"

    def propagate(self, sym, layer, psi):
        weights = sym.wbar[layer][:, int(sym.network.bias):]
        back = weights * psi if weights.is_square else weights.T * psi
        return sp.ImmutableMatrix(sym.network.activations[layer - 1].vjp(list(sym.z[layer - 1]), list(back)))


def _below_the_output(network: Network) -> set[int]:
    """Every layer whose Ψ came down through a W̄ (with a bias to keep)."""
    return set(range(network.depth - 1)) if network.bias else set()


def _below_nonlinear(network: Network) -> set[int]:
    """Layers at or under the highest hidden layer whose a' is not 1: their Ψ lost a factor."""
    nonlinear = [l for l in range(network.depth - 1) if network.activations[l].name != "identity"]
    return set(range(max(nonlinear) + 1)) if nonlinear else set()


def _below_square(network: Network) -> set[int]:
    """Layers under the highest square W̄[l][:, 1:] (l ≥ 1, larger than 1×1): their Ψ went through it
    untransposed."""
    square = [l for l in range(1, network.depth) if network.sizes[l + 1] == network.sizes[l] > 1]
    return set(range(max(square))) if square else set()


@dataclass(frozen=True)
class Mistake:
    """A named mistake, its recurrence, and the layers whose gradients it makes wrong."""

    name: str
    recurrence: PsiRecurrence
    affected_layers: Callable[[Network], set[int]]


MISTAKES = {
    mistake.name: mistake for mistake in (
        Mistake("bias-column-kept", BiasColumnKept(), _below_the_output),
        Mistake("missing-a-prime", MissingActivationDerivative(), _below_nonlinear),
        Mistake("not-transposed", NotTransposed(), _below_square),
    )
}

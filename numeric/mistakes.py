"""The classic mistakes of :mod:`derive.mistakes`, as numeric backward passes over numpy arrays.

Each overrides one step of :class:`numeric.forms.MatrixRecurrence`, exactly as its symbolic twin
overrides one step of :class:`derive.gradients.PsiRecurrence`.
"""

from __future__ import annotations

from numeric.forms import MatrixRecurrence


class BiasColumnKept(MatrixRecurrence):
    description = "a backward pass that keeps W̄'s bias column"

    def propagate(self, network, wbar, fwd, layer, psi):
        back = (wbar[layer].T @ psi)[: network.sizes[layer]]
        below = network.activations[layer - 1]
        return below.np_vjp(fwd.z[layer - 1], None, back)


class MissingActivationDerivative(MatrixRecurrence):
    description = "a backward pass without a'(z) in its step"

    def propagate(self, network, wbar, fwd, layer, psi):
        return wbar[layer][:, int(network.bias):].T @ psi


class NotTransposed(MatrixRecurrence):
    description = "a backward pass that does not transpose W̄"

    def propagate(self, network, wbar, fwd, layer, psi):
        weights = wbar[layer][:, int(network.bias):]
        back = weights @ psi if weights.shape[0] == weights.shape[1] else weights.T @ psi
        return network.activations[layer - 1].np_vjp(fwd.z[layer - 1], None, back)


NUMERIC_MISTAKES = {
    "bias-column-kept": BiasColumnKept(),
    "missing-a-prime": MissingActivationDerivative(),
    "not-transposed": NotTransposed(),
}


def as_gradient(recurrence: MatrixRecurrence, network):
    """The recurrence as the ``gradient(wbar, x_columns, y_columns, reduction)`` a check takes."""
    return lambda wbar, x, y, reduction="mean": recurrence.gradient(network, wbar, x, y, reduction)


__all__ = ["NUMERIC_MISTAKES", "as_gradient"]

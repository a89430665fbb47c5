"""The forward phase and the Ψ recurrence in matrix form: numpy products over the W̄ arrays.

This is the form large networks use. It follows the symbolic layer step of
:class:`gradproof.derive.symbolic.recurrence.PsiRecurrence` one to one, with each activation's and loss's numpy forms
(registered beside their sympy forms, the derivative rules compiled from them)::

    Ψ[L−1] = a − y                  where the loss collapses, else (∂a/∂z)ᵀ·∂E/∂a
    ∂E/∂W̄[l] = Ψ[l] · X̄[l]ᵀ        (the outer product, summed over the batch's columns)
    Ψ[l−1] = a'(z[l−1]) ⊙ (W̄[l][:, 1:]ᵀ · Ψ[l])

Samples are columns: x is (n0, B). The error of a batch is the ``mean`` of the per-sample errors
(default) or their ``sum``; for one sample both are E itself. Everything accepts complex weights too
(the complex-step derivative evaluates E at w + i·h).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradproof.derive.errors import InputError
from gradproof.derive.model.network import Network
from gradproof.numeric.compiled.planned import planned
from gradproof.numeric.compiled.products import outer_sum, product

REDUCTIONS = ("mean", "sum")


@dataclass(frozen=True, eq=False)
class Forward:
    """Every layer's X̄ and z, the output a and the per-sample errors, for a batch of columns."""

    xbar: tuple[np.ndarray, ...]
    z: tuple[np.ndarray, ...]
    output: np.ndarray
    errors: np.ndarray


def with_bias(columns: np.ndarray, bias: bool) -> np.ndarray:
    """[1; columns] with a bias, columns without (along axis 0)."""
    if not bias:
        return columns
    out = np.empty((columns.shape[0] + 1,) + columns.shape[1:], dtype=columns.dtype)
    out[0] = 1
    out[1:] = columns
    return out


def forward(network: Network, wbar, x_columns: np.ndarray, y_columns: np.ndarray, errors: bool = True) -> Forward:
    """The forward phase: X̄[l], z[l] = W̄[l]·X̄[l], a = a(z[L−1]) and E per sample (None without
    ``errors``: the gradient does not need E itself)."""
    xbar, z = [], []
    values = x_columns
    for layer, act in enumerate(network.activations):
        xbar.append(with_bias(values, network.bias))
        z.append(product(wbar[layer], xbar[-1]))
        values = act.np_forward(z[-1])
    return Forward(tuple(xbar), tuple(z), values, network.loss.np_error(z[-1], values, y_columns) if errors else None)


def check_reduction(reduction: str) -> None:
    """A reduction's name must be one of ``REDUCTIONS``."""
    if reduction not in REDUCTIONS:
        raise InputError(f"reduction must be one of {', '.join(REDUCTIONS)}, not {reduction!r}")


def reduce(per_sample: np.ndarray, reduction: str) -> np.ndarray:
    """Mean or sum over the last axis (the samples)."""
    check_reduction(reduction)
    return per_sample.mean(axis=-1) if reduction == "mean" else per_sample.sum(axis=-1)


class MatrixRecurrence:
    """The Ψ recurrence over numpy arrays, one method per step like its symbolic twin
    :class:`gradproof.derive.symbolic.recurrence.PsiRecurrence`; a mistaken recurrence overrides the step it gets wrong."""

    description = "the Ψ recurrence in matrix form"

    def output_psi(self, network: Network, fwd: Forward, y_columns: np.ndarray) -> np.ndarray:
        """Ψ[L−1] = ∂E/∂z[L−1] for every sample."""
        loss, act = network.loss, network.activations[-1]
        if loss.collapses_with(act):
            return fwd.output - y_columns
        return act.np_vjp(fwd.z[-1], fwd.output, loss.np_gradient(fwd.output, y_columns))

    def weight_gradient(self, network: Network, fwd: Forward, layer: int, psi: np.ndarray) -> np.ndarray:
        """∂E/∂W̄[l] = Ψ[l]·X̄[l]ᵀ, summed over the samples (for one sample an outer product)."""
        return outer_sum(psi, fwd.xbar[layer])

    def propagate(self, network: Network, wbar, fwd: Forward, layer: int, psi: np.ndarray) -> np.ndarray:
        """Ψ[l−1] = a'(z[l−1]) ⊙ (W̄[l][:, 1:]ᵀ · Ψ[l])."""
        bias = int(network.bias)
        back = product(wbar[layer].T, psi)[bias:]  # W̄ whole (contiguous for BLAS), then the bias row dropped
        return network.activations[layer - 1].np_vjp(fwd.z[layer - 1], fwd.xbar[layer][bias:], back)

    def gradient(self, network: Network, wbar, x_columns: np.ndarray, y_columns: np.ndarray,
                 reduction: str = "mean") -> list[np.ndarray]:
        """∂E/∂W̄[l] for every layer, shaped like W̄[l]: the batch's mean or sum. Where every step is this
        class's own and the arrays are float64, a plan runs the same operations on reused buffers."""
        check_reduction(reduction)
        plan = planned(network, wbar, x_columns) if self.plain_steps() else None
        if plan is not None:
            return plan.gradient(wbar, x_columns, y_columns, reduction)
        fwd = forward(network, wbar, x_columns, y_columns, errors=False)
        scale = 1.0 / x_columns.shape[1] if reduction == "mean" else 1.0
        psi = self.output_psi(network, fwd, y_columns)
        grads = [None] * network.depth
        for layer in range(network.depth - 1, -1, -1):
            # the mean's 1/B goes on Ψ (n_{l+1} numbers), not on the product (a pass over every weight)
            grads[layer] = self.weight_gradient(network, fwd, layer, psi if scale == 1.0 else scale * psi)
            if layer:
                psi = self.propagate(network, wbar, fwd, layer, psi)
        return grads

    def plain_steps(self) -> bool:
        """Whether every step is this class's own: a mistaken recurrence overrides one, and then runs
        step by step (no fast path stands in for its steps)."""
        own = type(self)
        return (own.output_psi is MatrixRecurrence.output_psi and own.propagate is MatrixRecurrence.propagate
                and own.weight_gradient is MatrixRecurrence.weight_gradient and not vars(self))


MATRIX_PSI = MatrixRecurrence()


def psi_gradient(network: Network, wbar, x_columns: np.ndarray, y_columns: np.ndarray,
                 reduction: str = "mean") -> list[np.ndarray]:
    """∂E/∂W̄[l] for every layer by the Ψ recurrence in matrix form, shaped like W̄[l]."""
    return MATRIX_PSI.gradient(network, wbar, x_columns, y_columns, reduction)


def error(network: Network, wbar, x_columns: np.ndarray, y_columns: np.ndarray,
          reduction: str = "mean"):
    """E of the batch: the mean (or sum) of the per-sample errors."""
    return reduce(forward(network, wbar, x_columns, y_columns).errors, reduction)

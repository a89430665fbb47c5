"""The forward phase and the Ψ recurrence in matrix form for networks with convolution layers.

Convolutions first, then dense layers (:mod:`gradproof.derive.model.conv`). Samples come first here: maps
are (B, H, W, C), a dense layer's values (B, n), X̄[l] one row per sample and position; the arrays the
user sees keep the model's conventions (x as columns in torch's (C, H, W) order, W̄[l] with the bias
column first). The recurrence, step by step like :class:`gradproof.numeric.compiled.matrix.MatrixRecurrence`::

    Ψ[L−1] = a − y where the loss collapses, else (∂a/∂z)ᵀ·∂E/∂a
    ∂E/∂W̄[l] = Σ over samples and positions p of Ψ[l]ₚ ⊗ X̄[l]ₚ       (Ψ correlated with the input)
    Ψ[l−1] = a'(z[l−1]) ⊙ (the transposed convolution of Ψ[l])        (a dense layer: W̄[l][:, 1:]ᵀ·Ψ[l])

Between the last convolution and the first dense layer the maps are flattened in torch's (C, H, W) order,
and Ψ is unflattened on its way down.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradproof.derive.model.conv_arrays import TRANSPOSED, kernel_of, patches, to_flat, to_maps, with_ones
from gradproof.derive.model.network import Network
from gradproof.numeric.compiled.matrix import check_reduction, reduce


@dataclass(frozen=True, eq=False)
class ConvForward:
    """Per layer: its input (maps or vectors), X̄ (rows: one per sample and position) and z; the output a
    (B, n_L) and the per-sample errors (B,)."""

    inputs: tuple
    xbar: tuple
    z: tuple
    output: np.ndarray
    errors: np.ndarray


def layer_input(network: Network, layer: int, values: np.ndarray) -> np.ndarray:
    """The layer below's output (or the data) as this layer's input: maps for a convolution, flat
    vectors (torch's (C, H, W) order) for a dense layer."""
    spec = network.layers[layer]
    if spec.kind == "conv":
        return values if values.ndim == 4 else to_maps(values, spec.in_shape)
    return to_flat(values) if values.ndim == 4 else values


def xbar_rows(network: Network, layer: int, values: np.ndarray) -> np.ndarray:
    """X̄[l]: the patches of a convolution's input, or a dense layer's input, with the bias input 1 first."""
    spec = network.layers[layer]
    rows = patches(values, spec.kernel, spec.stride, spec.padding) if spec.kind == "conv" else values
    return with_ones(rows, network.bias)


def forward(network: Network, wbar, x_columns: np.ndarray, y_columns: np.ndarray) -> ConvForward:
    """The forward phase for x of shape (n0, B) in the model's flat (C, H, W) order (complex arrays are
    fine: the complex step)."""
    values, inputs, xbars, zs = x_columns.T, [], [], []
    for layer, act in enumerate(network.activations):
        values = layer_input(network, layer, values)
        inputs.append(values)
        xbars.append(xbar_rows(network, layer, values))
        zs.append(xbars[-1] @ wbar[layer].T)
        values = act.np_forward(zs[-1]) if layer < network.depth - 1 else act.np_forward(zs[-1].T).T
    errors = network.loss.np_error(zs[-1].T, values.T, y_columns)
    return ConvForward(tuple(inputs), tuple(xbars), tuple(zs), values, errors)


class ConvRecurrence:
    """The Ψ recurrence through convolution and dense layers, one method per step: a planted mistake
    overrides the step it gets wrong (:mod:`gradproof.numeric.checks.conv_mistakes`)."""

    description = "the Ψ recurrence in matrix form, through the convolutions"
    transposed = TRANSPOSED

    def output_psi(self, network: Network, fwd: ConvForward, y_columns: np.ndarray) -> np.ndarray:
        """Ψ[L−1] = ∂E/∂z[L−1] for every sample: (B, n_L)."""
        loss, act = network.loss, network.activations[-1]
        out, z = fwd.output.T, fwd.z[-1].T
        if loss.collapses_with(act):
            return (out - y_columns).T
        return act.np_vjp(z, out, loss.np_gradient(out, y_columns)).T

    def weight_gradient(self, network: Network, fwd: ConvForward, layer: int, psi: np.ndarray) -> np.ndarray:
        """∂E/∂W̄[l] = Σₚ Ψ[l]ₚ ⊗ X̄[l]ₚ over samples and positions."""
        xbar = fwd.xbar[layer]
        return psi.reshape(-1, psi.shape[-1]).T @ xbar.reshape(-1, xbar.shape[-1])

    def back(self, network: Network, wbar, layer: int, psi: np.ndarray) -> np.ndarray:
        """∂E/∂(layer l's input) from Ψ[l]: the transposed convolution, or W̄[l][:, 1:]ᵀ·Ψ[l]."""
        spec = network.layers[layer]
        if spec.kind == "conv":
            return self.transposed(psi, kernel_of(wbar[layer], spec), spec.stride, spec.padding, spec.in_shape[1:])
        return psi @ wbar[layer][:, int(network.bias):]

    def propagate(self, network: Network, wbar, fwd: ConvForward, layer: int, psi: np.ndarray) -> np.ndarray:
        """Ψ[l−1] = a'(z[l−1]) ⊙ (Ψ[l] brought down through layer l), shaped like z[l−1]."""
        back = self.back(network, wbar, layer, psi)
        below = fwd.z[layer - 1]
        if below.ndim == 4 and back.ndim == 2:  # the flattening, undone
            back = to_maps(back, network.layers[layer - 1].out_shape)
        return network.activations[layer - 1].np_vjp(below, None, back)

    def psis(self, network: Network, wbar, fwd: ConvForward, y_columns: np.ndarray, reduction: str) -> list:
        """Ψ[0] … Ψ[L−1], each shaped like z[l] (the mean's 1/B included)."""
        check_reduction(reduction)
        psi = self.output_psi(network, fwd, y_columns)
        if reduction == "mean":
            psi = psi / y_columns.shape[1]
        found = [psi]
        for layer in range(network.depth - 1, 0, -1):
            found.append(self.propagate(network, wbar, fwd, layer, found[-1]))
        return found[::-1]

    def gradient(self, network: Network, wbar, x_columns: np.ndarray, y_columns: np.ndarray,
                 reduction: str = "mean") -> list[np.ndarray]:
        """∂E/∂W̄[l] for every layer, shaped like W̄[l]: the batch's mean or sum."""
        fwd = forward(network, wbar, x_columns, y_columns)
        psis = self.psis(network, wbar, fwd, y_columns, reduction)
        return [self.weight_gradient(network, fwd, layer, psi) for layer, psi in enumerate(psis)]


CONV_PSI = ConvRecurrence()


def conv_psi_gradient(network: Network, wbar, x_columns: np.ndarray, y_columns: np.ndarray,
                      reduction: str = "mean") -> list[np.ndarray]:
    """∂E/∂W̄[l] for every layer by the Ψ recurrence through the convolutions."""
    return CONV_PSI.gradient(network, wbar, x_columns, y_columns, reduction)


def conv_error(network: Network, wbar, x_columns: np.ndarray, y_columns: np.ndarray, reduction: str = "mean"):
    """E of the batch: the mean (or sum) of the per-sample errors."""
    return reduce(forward(network, wbar, x_columns, y_columns).errors, reduction)

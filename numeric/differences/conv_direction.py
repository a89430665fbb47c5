"""The rounding bound of the direction check on a network with convolutions: a first-order running error
analysis, where each rounding is weighted by how much the result depends on it.

Both sides of ⟨∇E, v⟩ are sums of rounded operations. To first order, a rounding e at one quantity moves
the result by (the result's sensitivity to that quantity)·e, so |computed − exact| ≤ Σ over the roundings
of |sensitivity|·|e|. The two sides are each other's adjoints, which gives the sensitivities cheaply:

* the complex step along v carries the pushes ż[l] = Im z[l](W̄ + i·h·V̄)/h up; the result Σ ∂E/∂z·ż
  depends on ż[l] through Ψ[l] = ∂E/∂z[l] (and on the activation's output through W̄ᵀ·Ψ);
* the gradient under test, by any program for the chain rule, forms each Ψ[l] and then Σ Ψ ⊗ X̄; its
  ⟨g, v⟩ depends on Ψ[l] through ż[l] (the same pushes).

Per layer, with γ(n) = n·u/(1 − n·u) and each sum's terms in absolute value (one layer deep, never
multiplied up through the network): the pushes' sums γ·(|X̄|·|V̄|ᵀ + |W̄|·|ṫ|)·|Ψ|; Ψ's sums
γ·|a'|·(|W̄|ᵀ·|Ψ above|)·|ż|; the two sides' slopes a'(z), which differ by the slack of
:func:`gradproof.numeric.differences.conv_bounds.slope_slack`, weighted by |W̄ᵀΨ|·|ż|; X̄'s own rounding δX̄
(both sides read it) weighted by |Ψ|·δX̄·|V̄|; the output's ∂E/∂z; the weight gradient's sum over
positions and the inner product over the weights.

The sensitivities |Ψ[l]| are gradproof's Ψ recurrence through the convolutions, recomputed here whatever
gradient is under test: proven for the network's own code by the randomized identity test and checked
weight by weight by the forward-mode complex step. They only weigh rounding terms (~1e-13 of the result):
no realistic error in them could widen the tolerance to the size of a mistake.
"""

from __future__ import annotations

import numpy as np

from gradproof.derive.model.conv_arrays import correlate, to_maps
from gradproof.numeric.compiled.conv import CONV_PSI, layer_input, xbar_rows
from gradproof.numeric.differences.error_model import FUNCTION_ULPS, U, gamma


def _down(network, absw, layer: int, abs_psi: np.ndarray, like: np.ndarray) -> np.ndarray:
    """|W̄[l]|ᵀ·|Ψ[l]| (the transposed convolution of magnitudes), shaped like z[l−1]."""
    back = CONV_PSI.back(network, absw, layer, abs_psi)
    return to_maps(back, network.layers[layer - 1].out_shape) if like.ndim == 4 and back.ndim == 2 else back


def _rounded_rows(network, layer: int, fwd, point, delta_z) -> np.ndarray:
    """δX̄[l]: how far the layer's X̄ may be from the exact one (0 for the data and the bias input)."""
    below = layer - 1
    a = np.abs(network.activations[below].np_forward(fwd.z[below]))
    delta = np.abs(point.slopes[below]) * delta_z[below] + FUNCTION_ULPS * U * a
    rows = xbar_rows(network, layer, layer_input(network, layer, delta))
    if network.bias:
        rows[..., 0] = 0.0
    return rows


def _sum_terms(network, layer: int, point, absw, absv, pushes) -> np.ndarray:
    """|X̄|·|V̄|ᵀ + |W̄|·|ṫ| at each unit of z[l]: the terms the push's sum adds."""
    spec = network.layers[layer]
    terms = np.abs(point.rows[layer]) @ absv[layer].T
    if layer:
        moved = layer_input(network, layer, np.abs(point.slopes[layer - 1] * pushes[layer - 1]))
        weights = absw[layer][:, int(network.bias):]
        terms = terms + (correlate(moved, weights.reshape(spec.kernel_shape), spec.stride, spec.padding)
                         if spec.kind == "conv" else moved @ weights.T)
    return terms


def direction_bound(network, wbar, fwd, point, slacks, out_slack, delta_z, psis, pushes, absv, analytic) -> float:
    """The bound on |⟨g, v⟩ − Im E(W̄ + i·h·V̄)/h| (module doc)."""
    absw = [np.abs(w) for w in wbar]
    abs_psi = [np.abs(p) for p in psis]
    abs_push = [np.abs(p) for p in pushes]
    samples = point.out.shape[0]
    total = 0.0
    for layer, spec in enumerate(network.layers):
        cols = wbar[layer].shape[1]
        terms = _sum_terms(network, layer, point, absw, absv, pushes)
        total += gamma(2 * cols + 2) * float(np.vdot(terms, abs_psi[layer]))
        positions = spec.positions if spec.kind == "conv" else 1
        weighted = np.abs(point.rows[layer]) @ absv[layer].T
        total += gamma(samples * positions + 2) * float(np.vdot(abs_psi[layer], weighted))
        if layer:
            delta_rows = _rounded_rows(network, layer, fwd, point, delta_z)
            total += 2 * float(np.vdot(abs_psi[layer], delta_rows @ absv[layer].T))
        if layer < network.depth - 1:
            above = network.layers[layer + 1]
            longest = (max(above.in_shape[0], above.channels) * above.kernel ** 2 if above.kind == "conv"
                       else above.outputs)
            down = _down(network, absw, layer + 1, abs_psi[layer + 1], abs_push[layer])
            slope = np.abs(point.slopes[layer])
            # Ψ's sum and its product with a' (the gradient's side), the push times a' (the complex step's)
            total += float(np.vdot((gamma(longest + 2) + U) * slope * down + U * abs_psi[layer], abs_push[layer]))
            total += float(np.vdot(slacks[layer] * down, abs_push[layer]))
    total += float(np.vdot(out_slack + gamma(network.sizes[-1] + 2) * np.abs(point.out), abs_push[-1]))
    # ⟨g, v⟩ in blocks of 1024 products whose sums are added exactly (conv_check.inner)
    inner = sum(float(np.vdot(np.abs(g), d)) for g, d in zip(analytic, absv))
    return total + (gamma(1025) + U) * inner

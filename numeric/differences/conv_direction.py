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

Every term is a sensitivity |Ψ[l]| = |∂E/∂z[l]| times a nonnegative array at z[l]. The bound must not
rest on the recurrence it may be checking, so |Ψ[l]| is never computed: by the triangle inequality over the
chain rule's paths, |Ψ[l]| ≤ |a'(z[l])| ⊙ (|W̄[l+1]|ᵀ·|Ψ[l+1]|) and |Ψ[L−1]| ≤ |∂E/∂z[L−1]|, so
⟨|Ψ[l]|, T⟩ ≤ ⟨|Ψ[m]|, M(T)⟩ with M the forward map of magnitudes from l to m: T pushed up through |a'|
(the complex step's slopes, plus their slack) and |W̄| by the same forward code the complex step uses
(:func:`gradproof.numeric.differences.conv_tangents.pushes`). |Ψ[m]| itself is the forward mode's: at the
output the loss's complex-step slopes (plus their slack), and on the layers with only dense layers above
(the last convolution's too) each unit's push carried up, all units at once (a few dense products). The pushes are linear, so every layer's
terms ride one sweep up (:func:`weighed`). Magnitudes overestimate |Ψ| where signs cancel (through four
ReLU layers of the Atari network, by ~2000× at the first), which is why the sweep stops at the dense layers. No Ψ, no
transposed convolution and no derivative rule appears here: a wrong recurrence cannot widen the bound.
The sweep's own rounding is a relative γ on terms that are themselves of order γ: second order, left out
as the first-order analysis leaves out every product of two roundings.
"""

from __future__ import annotations

import numpy as np

from gradproof.derive.model.conv_arrays import correlate, to_maps
from gradproof.numeric.compiled.conv import layer_input, xbar_rows
from gradproof.numeric.compiled.kernels import abs_dot
from gradproof.numeric.differences.error_model import FUNCTION_ULPS, U, gamma


def _linear(network, magnitudes, layer: int, below: np.ndarray) -> np.ndarray:
    """|W̄[l]| (without the bias column) applied to an array at z[l−1]: layer l's forward map of magnitudes."""
    spec, moved = network.layers[layer], layer_input(network, layer, below)
    kernel = magnitudes.kernels[layer]
    return correlate(moved, kernel, spec.stride, spec.padding) if spec.kind == "conv" else moved @ kernel.T


def known_sensitivities(network, point, magnitudes) -> dict:
    """|Ψ[l]| where the forward mode gives it cheaply: for every layer with only dense layers above it, each
    shaped like z[l]; the output's includes its slack. Below, :func:`weighed` bounds |Ψ| by magnitudes.

    A unit push of z[l] moves z[l+1] by a'(z[l]ᵤ)·(column u of the dense weights), so the responses of all
    units at once are the rows ∂E/∂z[l+1] times those columns: sensitivities carried from the output down,
    one dense product per layer, from the complex step's slopes and the weights (no derivative rule, no
    backward code of gradproof's)."""
    last = network.depth - 1
    known, signed = {last: magnitudes.out}, point.out
    for layer in range(last - 1, -1, -1):
        if network.layers[layer + 1].kind == "conv":
            break
        spec = network.layers[layer]
        moved = signed @ point.kernels[layer + 1]   # (B, inputs of layer l+1): torch's (C, H, W) order
        signed = point.slopes[layer] * (to_maps(moved, spec.out_shape) if spec.kind == "conv" else moved)
        known[layer] = np.abs(signed)
    return known


def weighed(network, magnitudes, terms: list, known: dict) -> float:
    """An upper bound on Σ_l ⟨|Ψ[l]|, terms[l]⟩ for nonnegative ``terms`` shaped like z[l]: where |Ψ[l]| is
    ``known`` (:func:`known_sensitivities`), directly; below, the terms pushed up through the magnitudes
    (``magnitudes``: :func:`.conv_tangents.absolute` of the point, the slopes' slack as floors) in one sweep
    to the lowest known layer, and weighed by its |Ψ| (module doc)."""
    first = min(known)
    total = sum(float(np.vdot(known[layer], terms[layer])) for layer in known)
    if first == 0:
        return total
    carried = terms[0]
    for layer in range(1, first):
        carried = _linear(network, magnitudes, layer, magnitudes.slopes[layer - 1] * carried) + terms[layer]
    carried = _linear(network, magnitudes, first, magnitudes.slopes[first - 1] * carried)
    return total + float(np.vdot(known[first], carried))


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


def direction_bound(network, wbar, fwd, point, magnitudes, slacks, out_slack, delta_z, pushes, absv,
                    analytic) -> float:
    """The bound on |⟨g, v⟩ − Im E(W̄ + i·h·V̄)/h| (module doc); ``magnitudes`` is the point of magnitudes."""
    absw = magnitudes.wbar
    abs_push = [np.abs(p) for p in pushes]
    samples = point.out.shape[0]
    weights = [np.zeros_like(p) for p in abs_push]  # what each |Ψ[l]| multiplies
    for layer, spec in enumerate(network.layers):
        cols = wbar[layer].shape[1]
        weights[layer] += gamma(2 * cols + 2) * _sum_terms(network, layer, point, absw, absv, pushes)
        positions = spec.positions if spec.kind == "conv" else 1
        weights[layer] += gamma(samples * positions + 2) * (np.abs(point.rows[layer]) @ absv[layer].T)
        if layer:
            weights[layer] += 2 * (_rounded_rows(network, layer, fwd, point, delta_z) @ absv[layer].T)
        if layer < network.depth - 1:
            above = network.layers[layer + 1]
            longest = (max(above.in_shape[0], above.channels) * above.kernel ** 2 if above.kind == "conv"
                       else above.outputs)
            slope = np.abs(point.slopes[layer])
            # Ψ's sum and its product with a' (the gradient's side), the push times a' (the complex step's),
            # and the slack between the two sides' slopes: each weighs |W̄[l+1]|ᵀ·|Ψ[l+1]|, i.e. |Ψ[l+1]|
            # weighs |W̄[l+1]| applied to it
            down = ((gamma(longest + 2) + U) * slope + slacks[layer]) * abs_push[layer]
            weights[layer + 1] += _linear(network, magnitudes, layer + 1, down)
            weights[layer] += U * abs_push[layer]
    total = weighed(network, magnitudes, weights, known_sensitivities(network, point, magnitudes))
    total += float(np.vdot(out_slack + gamma(network.sizes[-1] + 2) * np.abs(point.out), abs_push[-1]))
    # ⟨g, v⟩ in blocks of 1024 products whose sums are added exactly (conv_check.inner)
    inner = sum(abs_dot(g, d) for g, d in zip(analytic, absv))
    return total + (gamma(1025) + U) * inner

"""The error model behind each weight's tolerance in a network with convolutions: derived, not tuned.

A sum of n products computed in floating point is within γ(n)·Σ|terms| of the exact sum (Higham §3.1;
:func:`gradproof.numeric.differences.error_model.gamma`), and a chain of K roundings through nested sums
and products stays within γ(K)·Σ over paths of |products|. For a weight of layer l that chain is

    K_l = B·P_l  (the sum over samples and positions that combines the unit responses, and the Ψ side's
                  correlation sums the same terms)
        + Σ over the layers above of (their longest sum + 2 + FUNCTION_ULPS)
        + n_L + 2 + FUNCTION_ULPS,

where a convolution's longest sum is max(C, O)·k² (C·k² products per output in the forward map, at most
O·k² per input in the transposed one). Σ over paths of |products| is the same tangent computation on
magnitudes (:func:`.conv_tangents.absolute`), which also carries what is not a rounding of the sums, as
floors on the magnitudes: each side's a'(z) may differ by its rule's rounding (σ(1 − σ), 1 − tanh²:
2·FUNCTION_ULPS·u·(|a'| + |a|)) and by |a''|·δz twice (each side evaluates a' at its own rounded z, δz
below); the output's ∂E/∂z likewise. Each side is within γ(K_l)·Ĝ, so |one − the other| ≤ 2·γ(K_l)·Ĝ.

Kinks are outside the model: where |z − kink| ≤ δz the two sides may take different branches, and every
weight whose tangent passes such a unit cannot be decided (:func:`kink_masks`).
"""

from __future__ import annotations

import numpy as np

from gradproof.derive.model.conv_arrays import correlate
from gradproof.derive.model.network import Network
from gradproof.numeric.compiled.conv import ConvForward, layer_input
from gradproof.numeric.differences.conv_tangents import slope
from gradproof.numeric.differences.error_model import FUNCTION_ULPS, U, gamma, output_sensitivity, second_derivative


def forward_rounding(network: Network, wbar, fwd: ConvForward, slopes, magnitudes=None) -> list[np.ndarray]:
    """δz[l]: how far each computed z may be from the exact z at these weights and inputs:
    δz = γ(fan-in + 1)·|W̄|·|X̄| + |W̄|·δx, with δx above = |a'|·δz + FUNCTION_ULPS·u·|a(z)|
    (``magnitudes``: |W̄| per layer, if already taken)."""
    deltas, delta_x = [], None
    for layer, spec in enumerate(network.layers):
        absw = np.abs(wbar[layer]) if magnitudes is None else magnitudes[layer]
        sums = np.abs(fwd.xbar[layer]) @ absw.T
        delta = gamma(wbar[layer].shape[1] + 1) * sums
        if delta_x is not None:
            moved = layer_input(network, layer, delta_x)
            weights = absw[:, int(network.bias):]
            delta = delta + (correlate(moved, weights.reshape(spec.kernel_shape), spec.stride, spec.padding)
                             if spec.kind == "conv" else moved @ weights.T)
        deltas.append(delta)
        if layer < network.depth - 1:
            a = np.abs(network.activations[layer].np_forward(fwd.z[layer]))
            delta_x = np.abs(slopes[layer]) * delta + FUNCTION_ULPS * U * a
    return deltas


def kink_masks(network: Network, fwd: ConvForward, delta_z) -> list:
    """Per layer: the units with |z − kink| ≤ δz (their computed branch is not settled), or None."""
    masks = []
    for layer, (z, dz) in enumerate(zip(fwd.z, delta_z)):
        mask = np.zeros(z.shape, dtype=bool)
        act = network.activations[layer]
        for kink in getattr(act, "kinks", ()):
            mask |= np.abs(z - kink) <= dz
        if getattr(act, "unlocated_kinks", ()):  # an expression whose zeros are kinks changes sign within ±δz
            mask |= act.between_unlocated_kinks(z - dz, z + dz)
        masks.append(mask if mask.any() else None)
    return masks


def longest_sum(network: Network, layer: int) -> int:
    spec = network.layers[layer]
    if spec.kind == "conv":
        return max(spec.in_shape[0], spec.channels) * spec.kernel * spec.kernel
    return max(spec.inputs, spec.outputs) + 1


def chain_length(network: Network, layer: int, samples: int) -> int:
    """K_l: the roundings along the longest chain of a weight of layer l (module doc)."""
    spec = network.layers[layer]
    positions = spec.positions if spec.kind == "conv" else 1
    above = sum(longest_sum(network, m) + 2 + FUNCTION_ULPS for m in range(layer + 1, network.depth))
    return samples * positions + above + network.sizes[-1] + 2 + FUNCTION_ULPS


def slope_slack(act, z: np.ndarray, slopes: np.ndarray, delta_z: np.ndarray) -> np.ndarray:
    """How far either side's a'(z) may be from the other's: the rule's rounding and 2·|a''|·δz (none for
    an activation whose slope is exact: ReLU and the identity away from their kinks)."""
    if act.name in ("relu", "identity"):
        return np.zeros_like(z)
    a = act.np_forward(z)
    return (2 * FUNCTION_ULPS * U * (np.abs(slopes) + np.abs(a))
            + 2 * second_derivative(act.np_forward, z) * delta_z)


def output_slack(network: Network, z_out: np.ndarray, y_columns: np.ndarray, delta_z: np.ndarray) -> np.ndarray:
    """How far either side's ∂E/∂z at the output may be off: its rule's rounding and 2·|∂²E/∂z²|·δz
    (per sample: (B, n_L))."""
    act = network.activations[-1]
    z = z_out.T
    a = act.np_forward(z)
    _, hessian, _ = output_sensitivity(network, z, y_columns)
    scale = 1.0 if act.is_output_only else 1 + np.abs(slope(act.np_forward, z))
    rule = 2 * FUNCTION_ULPS * U * (np.abs(a) + np.abs(y_columns)) * scale
    return (rule + 2 * np.einsum("kjb,jb->kb", hessian, delta_z.T)).T


def floors(chain: int, slacks: list, out_slack: np.ndarray):
    """Slack as floors on the magnitudes: a floor f = slack/(2γ(K)) on a factor makes 2γ(K)·Ĝ cover
    slack × the paths through that unit."""
    return [s / (2 * gamma(chain)) for s in slacks], out_slack / (2 * gamma(chain))


def tolerance(chain: int, magnitude: np.ndarray) -> np.ndarray:
    """|one side − the other| ≤ 2·γ(K)·Ĝ, with Ĝ's own rounding covered."""
    return 2 * gamma(chain) * (1 + 2 * gamma(chain)) * magnitude


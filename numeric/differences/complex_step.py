"""The complex step at a tiny step, its real and imaginary parts kept apart.

At w + i·h with h ≤ ``SPLIT_STEP`` (the default is 1e-20), every intermediate quantity is x + i·h·t + O(h²):
its real part is the unperturbed value (the correction, h² relative, is far below rounding) and its
imaginary part is h times a tangent t. Complex arithmetic therefore leaves the real parts alone and carries
the imaginary parts linearly: through W̄ like any value, through an activation as Im a(x + i·η)/η at the
unperturbed x (the activation's own complex step, never its hand-written derivative), through the loss
likewise. Here the imaginary parts are carried on their own, in real arithmetic, and Im E(w + i·h)/h is
read off directly: the same numbers complex arithmetic gives, without its h² truncation. The imaginary
parts respond linearly to the push, and moving ˡwʲᵢ by i·h pushes ˡzᵢ by i·h·X̄ʲ (z = W̄·X̄ by definition),
so each unit's response is carried up once and scaled by X̄ʲ for each of its weights: the same numbers up
to rounding, which the error model bounds. Nothing here reads a backward pass or a derivative rule: the
slopes are complex steps of the activations' and the loss's own numpy forms.
"""

from __future__ import annotations

import numpy as np

from gradproof.derive.model.network import Network
from gradproof.numeric.differences.error_model import complex_step_parts, partials, tiny_but_not_zero
from gradproof.numeric.errors import FiniteDifferenceUnreliable
from gradproof.numeric.compiled.matrix import Forward, reduce

SPLIT_STEP = 1e-10
CHUNK_ENTRIES = 1 << 22


def _slope(f, z: np.ndarray, direction=1.0) -> np.ndarray:
    """Im f(z + i·η·direction)/η, refusing a slope so small that its imaginary part underflowed."""
    slope, wide, lost = complex_step_parts(f, z, direction)
    # at the wide step a zero slope shows only rounding and truncation (far above what underflows at η,
    # for values of ordinary size); a slope that is really tiny shows itself, tiny and nonzero
    if wide is not None and np.any(tiny_but_not_zero(np.abs(wide[lost]))):
        raise FiniteDifferenceUnreliable(
            "a derivative inside the network is below 1e-270, where the complex step's imaginary part "
            "underflows (float64 stops at 1e-308): use --method central, whose error bound covers it")
    return slope


def output_slopes(network: Network, fwd: Forward, y_columns: np.ndarray) -> np.ndarray:
    """∂E/∂z[L−1]ₖ per sample, each by the complex step of the loss after the output activation."""
    act, loss = network.activations[-1], network.loss
    return partials(lambda moved: loss.np_error(moved, act.np_forward(moved), y_columns), fwd.z[-1], _slope)


def complex_step_gradient(network: Network, wbar, fwd: Forward, y_columns: np.ndarray,
                          reduction: str) -> list[np.ndarray]:
    """Im E(w + i·h)/h for every weight, as h → 0: one tangent per weight, layer by layer."""
    _refuse_kinks(network, fwd)
    slopes = [_slope(act.np_forward, z) for act, z in zip(network.activations[:-1], fwd.z)]
    out = output_slopes(network, fwd, y_columns)
    grads = []
    for layer in range(network.depth):
        rows, cols = network.shape(layer)
        samples = fwd.xbar[0].shape[1]
        widest = max(network.sizes[layer + 1:])
        chunk = max(1, CHUNK_ENTRIES // max(1, widest * samples, cols * samples))
        grad = np.empty((rows, cols))
        for start in range(0, rows, chunk):
            units = np.arange(start, min(rows, start + chunk))
            grad[units] = reduce(_tangents(network, wbar, fwd, slopes, out, layer, units), reduction)
        grads.append(grad)
    return grads


def _tangents(network, wbar, fwd, slopes, out, layer, units):
    """Im E/h for the weights of these rows of W̄[layer]: shape (rows, cols, samples).

    Moving ˡwʲᵢ by i·h moves ˡzᵢ by i·h·X̄ʲ, and the imaginary parts respond linearly: so the response to
    a unit push of ˡzᵢ is carried up once per unit and sample, and scaled by X̄ʲ for each weight."""
    xbar = fwd.xbar[layer]                                                # (cols, B)
    if layer == network.depth - 1:
        return out[units][:, None, :] * xbar[None, :, :]
    bias = int(network.bias)
    r, samples = len(units), xbar.shape[1]
    tangent = wbar[layer + 1][:, bias + units][:, :, None] * slopes[layer][units][None, :, :]  # (n, r, B)
    for upper in range(layer + 1, network.depth - 1):
        scaled = (slopes[upper][:, None, :] * tangent).reshape(tangent.shape[0], r * samples)
        tangent = (wbar[upper + 1][:, bias:] @ scaled).reshape(-1, r, samples)
    response = np.einsum("kb,kub->ub", out, tangent)                      # Im E per unit push: (r, B)
    return response[:, None, :] * xbar[None, :, :]


def _refuse_kinks(network: Network, fwd: Forward) -> None:
    for layer, act in enumerate(network.activations):
        for kink in getattr(act, "kinks", ()):
            if np.any(fwd.z[layer] == kink):
                unit = int(np.argwhere(fwd.z[layer] == kink)[0][0]) + 1
                raise FiniteDifferenceUnreliable(
                    f"unit {unit} of layer {layer + 1} sits exactly on an activation's kink (ReLU at 0): "
                    "its derivative there is a convention, not something a finite difference can check")


def complex_step_along(network: Network, wbar, direction, fwd: Forward, y_columns: np.ndarray,
                       reduction: str) -> float:
    """Im E(W̄ + i·h·V̄)/h as h → 0: one tangent carried up through the layers.

    Moving W̄[l] by i·h·V̄[l] pushes z[l] by i·h·(V̄[l]·X̄[l] + W̄[l]·Ẋ[l]), where Ẋ[l] is the push that
    reached X̄[l] from below (its bias entry never moves)."""
    _refuse_kinks(network, fwd)
    bias = int(network.bias)
    push = direction[0] @ fwd.xbar[0]
    for layer in range(1, network.depth):
        moved = _slope(network.activations[layer - 1].np_forward, fwd.z[layer - 1]) * push
        push = direction[layer] @ fwd.xbar[layer] + wbar[layer][:, bias:] @ moved
    along = np.sum(output_slopes(network, fwd, y_columns) * push, axis=0)
    return float(reduce(along, reduction))

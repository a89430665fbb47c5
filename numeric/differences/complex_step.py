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

**Slopes lost to underflow.** A slope below ~1e-271 (σ' at |z| > 620) makes Im a(z + i·1e-30) underflow.
There the slope is taken from the wide step 1e-6 instead, with an error bound: its truncation by Cauchy's
estimate on the disc of radius ρ around z (sup|a'|·q/(3(1 − q)), q = (1e-6/ρ)², :mod:`truncation`) plus
its rounding (c·u·|slope| + η/1e-6 per operation: below ~5e-318 the wide step sees nothing either). A slope
that is provably zero (a ReLU below its kink) has no error. These errors are carried along with the
tangents, as bounds, to every weight whose tangent passes through the unit (``slope_errors``).
"""

from __future__ import annotations

import weakref

import numpy as np

from gradproof.derive.model.network import Network
from gradproof.numeric.compiled.matrix import Forward, reduce
from gradproof.numeric.differences.output_bounds import ETA, FUNCTION_ULPS, U
from gradproof.numeric.differences.slopes import _WIDE_STEP, complex_step_parts
from gradproof.numeric.differences.truncation import derivative_sup, output_sup, radius
from gradproof.numeric.errors import FiniteDifferenceUnreliable

SPLIT_STEP = 1e-10
CHUNK_ENTRIES = 1 << 22


def _slope(f, z: np.ndarray, sup, rho, direction=1.0, flat=None):
    """Im f(z + i·η·direction)/η and a bound on its error: 0 where the step at η resolves it, else the
    wide step's truncation and rounding (``sup``: a bound of |f'| on the disc of radius ``rho``)."""
    slope, wide, lost = complex_step_parts(f, z, direction)
    if wide is None:
        return slope, None
    if flat is not None:
        lost = lost & ~flat
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        q = np.where(rho > 0, (_WIDE_STEP / rho) ** 2, np.inf)
        truncation = np.where(q < 1, sup * q / (3 * (1 - q)), np.inf)
    rounding = FUNCTION_ULPS * U * np.abs(wide) + 8 * ETA / _WIDE_STEP
    return np.where(lost, wide, slope), np.where(lost, truncation + rounding, 0.0)


def _flat(act, z: np.ndarray) -> np.ndarray:
    """Where a piecewise-linear activation is constant around z (a ReLU below its kink)."""
    if not getattr(act, "kinks", ()):
        return np.zeros(z.shape, dtype=bool)
    return (np.real(z) < min(act.kinks)) & (act.np_forward(z) == act.np_forward(z - 1))


def hidden_slopes(network: Network, fwd: Forward):
    """a'(z[l]) of every hidden layer by the complex step, and its error bound (None where exact)."""
    found = []
    for act, z in zip(network.activations[:-1], fwd.z):
        rho = radius(act, z)
        found.append(_slope(act.np_forward, z, derivative_sup(act, z, rho), rho, flat=_flat(act, z)))
    return [s for s, _ in found], [e for _, e in found]


def output_slopes(network: Network, fwd: Forward, y_columns: np.ndarray):
    """∂E/∂z[L−1]ₖ per sample, each by the complex step of the loss after the output activation, and its
    error bound (None where exact). The n steps (along each output unit k) are taken at once: the columns
    repeated n times, block k stepped along unit k (each column's E reads its own column only)."""
    act, loss = network.activations[-1], network.loss
    z = fwd.z[-1]
    n, samples = z.shape
    flat = _flat(act, z) if act.name != "softmax" else np.zeros(z.shape, dtype=bool)
    rho = radius(act, z)
    sup = output_sup(network, fwd, y_columns, rho, single=True)
    blocks = np.tile(z, (1, n))
    direction = np.repeat(np.eye(n), samples, axis=1)   # block k: unit k
    targets = np.tile(y_columns, (1, n))
    slope, error = _slope(lambda moved: loss.np_error(moved, act.np_forward(moved), targets), blocks,
                          sup.reshape(-1), rho.reshape(-1), direction, flat.reshape(-1))
    rows = slope.reshape(n, samples)
    if error is None or not np.any(error):
        return rows, None
    return rows, error.reshape(n, samples)


#: the slopes at a forward pass, kept while the pass lives: the direction tier carries a tangent along v
#: and along each layer's part of v from one pass, and the slopes are most of a tangent's cost
_AT = weakref.WeakKeyDictionary()


def slopes_at(network: Network, fwd: Forward, y_columns: np.ndarray):
    """(hidden slopes, their errors, output slopes, their error) at ``fwd``: :func:`hidden_slopes` and
    :func:`output_slopes`, computed once per forward pass (and target)."""
    kept = _AT.get(fwd)
    if kept is not None and kept[0] is network and np.array_equal(kept[1], y_columns):
        return kept[2]
    found = (*hidden_slopes(network, fwd), *output_slopes(network, fwd, y_columns))
    _AT[fwd] = (network, np.array(y_columns), found)
    return found


def complex_step_gradient(network: Network, wbar, fwd: Forward, y_columns: np.ndarray, reduction: str):
    """Im E(w + i·h)/h for every weight, as h → 0 (one tangent per weight, layer by layer), and a bound on
    what slopes lost to underflow cost each weight (None when none was lost)."""
    _refuse_kinks(network, fwd)
    slopes, slope_errors = hidden_slopes(network, fwd)
    out, out_error = output_slopes(network, fwd, y_columns)
    careful = out_error is not None or any(e is not None for e in slope_errors)
    if careful:
        out_error = np.zeros_like(out) if out_error is None else out_error
        slope_errors = [np.zeros_like(s) if e is None else e for s, e in zip(slopes, slope_errors)]
    grads, errors = [], []
    for layer in range(network.depth):
        rows, cols = network.shape(layer)
        samples = fwd.xbar[0].shape[1]
        widest = max(network.sizes[layer + 1:])
        chunk = max(1, CHUNK_ENTRIES // max(1, widest * samples, cols * samples))
        grad, error = np.empty((rows, cols)), np.zeros((rows, cols))
        for start in range(0, rows, chunk):
            units = np.arange(start, min(rows, start + chunk))
            response, bound = _tangents(network, wbar, fwd, slopes, out, layer, units,
                                        (slope_errors, out_error) if careful else None)
            xbar = fwd.xbar[layer]
            grad[units] = reduce(response[:, None, :] * xbar[None, :, :], reduction)
            if bound is not None:
                error[units] = reduce(bound[:, None, :] * np.abs(xbar)[None, :, :], reduction) * (1 + 4 * U)
        grads.append(grad)
        errors.append(error)
    return grads, (errors if careful else None)


def _tangents(network, wbar, fwd, slopes, out, layer, units, errors):
    """Im E per unit push of ˡzᵢ for these units (r, B), and, with ``errors`` (slope error bounds), a bound
    on how far the lost slopes can move it (else None).

    Moving ˡwʲᵢ by i·h moves ˡzᵢ by i·h·X̄ʲ, and the imaginary parts respond linearly: so the response to
    a unit push of ˡzᵢ is carried up once per unit and sample, and scaled by X̄ʲ for each weight."""
    samples = fwd.xbar[0].shape[1]
    if layer == network.depth - 1:
        return out[units], None if errors is None else errors[1][units]
    bias, r = int(network.bias), len(units)
    column = wbar[layer + 1][:, bias + units][:, :, None]
    tangent = column * slopes[layer][units][None, :, :]                    # (n, r, B)
    bound = None if errors is None else np.abs(column) * errors[0][layer][units][None, :, :]
    for upper in range(layer + 1, network.depth - 1):
        weights = wbar[upper + 1][:, bias:]
        if bound is not None:
            carried = np.abs(slopes[upper])[:, None, :] * bound + errors[0][upper][:, None, :] * np.abs(tangent)
            bound = (np.abs(weights) @ carried.reshape(carried.shape[0], r * samples)).reshape(-1, r, samples)
        scaled = (slopes[upper][:, None, :] * tangent).reshape(tangent.shape[0], r * samples)
        tangent = (weights @ scaled).reshape(-1, r, samples)
    response = np.einsum("kb,kub->ub", out, tangent)                      # Im E per unit push: (r, B)
    if bound is None:
        return response, None
    return response, np.einsum("kb,kub->ub", np.abs(out), bound) + np.einsum("kb,kub->ub", errors[1], np.abs(tangent))


def _refuse_kinks(network: Network, fwd: Forward) -> None:
    for layer, act in enumerate(network.activations):
        on_kink = act.between_unlocated_kinks(fwd.z[layer], fwd.z[layer]) if getattr(
            act, "unlocated_kinks", ()) else np.zeros(np.shape(fwd.z[layer]), dtype=bool)
        for kink in getattr(act, "kinks", ()):
            on_kink = on_kink | (fwd.z[layer] == kink)
        if np.any(on_kink):
            unit = int(np.argwhere(on_kink)[0][0]) + 1
            raise FiniteDifferenceUnreliable(
                f"unit {unit} of layer {layer + 1} sits exactly on an activation's kink (ReLU at 0): "
                "its derivative there is a convention, not something a finite difference can check")


def complex_step_along(network: Network, wbar, direction, fwd: Forward, y_columns: np.ndarray,
                       reduction: str):
    """Im E(W̄ + i·h·V̄)/h as h → 0 (one tangent carried up through the layers), and a bound on what
    slopes lost to underflow cost it.

    Moving W̄[l] by i·h·V̄[l] pushes z[l] by i·h·(V̄[l]·X̄[l] + W̄[l]·Ẋ[l]), where Ẋ[l] is the push that
    reached X̄[l] from below (its bias entry never moves)."""
    _refuse_kinks(network, fwd)
    bias = int(network.bias)
    slopes, slope_errors, out, out_error = slopes_at(network, fwd, y_columns)
    push = direction[0] @ fwd.xbar[0]
    bound = np.zeros_like(push)
    for layer in range(1, network.depth):
        weights = np.abs(wbar[layer][:, bias:])
        error = slope_errors[layer - 1]
        carried = np.abs(slopes[layer - 1]) * bound + (0 if error is None else error * np.abs(push))
        push = direction[layer] @ fwd.xbar[layer] + wbar[layer][:, bias:] @ (slopes[layer - 1] * push)
        bound = weights @ carried
    along = np.sum(out * push, axis=0)
    error = np.sum(np.abs(out) * bound, axis=0) + (0 if out_error is None else np.sum(out_error * np.abs(push), axis=0))
    return float(reduce(along, reduction)), float(reduce(np.asarray(error) + 0 * along, reduction)) * (1 + 4 * U)

"""The floating-point error model every numeric tolerance is derived from: nothing here is tuned.

With u = ε/2 the unit roundoff of float64 and γ(n) = n·u/(1 − n·u), a sum of n products computed in
floating point is within γ(n)·Σ|terms| of the exact sum (Higham, *Accuracy and Stability of Numerical
Algorithms*, §3.1); each elementary function (exp, tanh, log1p, …) is within ``FUNCTION_ULPS``·u of its
exact value. Near underflow each operation may also be off by η, the smallest subnormal number
(fl(x ∘ y) = (x ∘ y)(1 + δ) + η, Higham §2.1): η enters at every operation and is carried through the
later ones like any other error, so an η-sized error in a subnormal σ(z) that is then multiplied by
|x|·|a − y| = 1e5 is bounded as 1e5·η, not η. To first order, per sample, with Ŝ[l] = |W̄[l]|·|X̄[l]|:

Forward phase::

    δz[l] = γ(n_l + 1)·Ŝ[l] + |W̄[l]|·δX̄[l] + (n_l + 1)·η
    δa[l] = |a'(z[l])|·δz[l] + FUNCTION_ULPS·u·|a(z[l])| + η,   δX̄[l+1] = [0; δa[l]]
    δE    = Σₖ |∂E/∂zₖ|·δzₖ + δE_loss

δE_loss, the rounding of the loss evaluated from the computed z (and of the output activation), is
derived loss by loss in :mod:`gradproof.numeric.differences.output_bounds`: it is *not* relative to E
(the log-sum-exp of a softmax cross-entropy rounds at the scale of its largest term, 1, so a confident
classifier's E ≈ 4e-7 carries ~1e-16), which is what an earlier γ·|E| missed.

A finite difference of weights in layer l reuses everything below z[l+1] bit for bit (see
:mod:`gradproof.numeric.differences.finite_difference`), so those roundings are the same at every point
of its stencil and cancel in the difference. Each evaluation there carries only the rounding of what it
recomputes: the update of z[l] and z[l+1] (u·|z| + η), then the layers above in full. That bound is
``error_above[l]``.

Backward phase (any straight-line program for the chain rule: the Ψ recurrence, the direct form, a
user's backward pass), with Ψ̂ the absolute-value recurrence (Ψ̂[L−1] from the output, Ψ̂[l−1] =
|a'|⊙(|W̄|ᵀ·Ψ̂[l])), which bounds |Ψ| and the terms a program sums::

    δΨ[L−1] = δΨ_loss + |∂Ψ[L−1]/∂z|·δz[L−1]                       (output_bounds)
    δΨ[l−1] = |a'|⊙(|W̄|ᵀ·δΨ[l]) + γ(n_{l+1} + 2·FUNCTION_ULPS)·Ψ̂[l−1]
              + (|W̄|ᵀ·Ψ̂[l])⊙(|a''|⊙δz[l−1] + 2·FUNCTION_ULPS·(u·(|a'| + |a|) + η)) + (n_{l+1} + 3)·η
    δ(∂E/∂ˡwʲᵢ) = δΨᵢ·|X̄ʲ| + Ψ̂ᵢ·δX̄ʲ + u·Ψ̂ᵢ·|X̄ʲ| + η       (summed over a batch, plus γ(B)·Ĝ and B·η)

(2·FUNCTION_ULPS·(u·(|a'| + |a|) + η): a derivative rule evaluated from the rounded a, σ' = σ·(1 − σ),
loses its relative accuracy where σ saturates, and a subnormal σ is only known to η.) The magnitudes |a'| and |a''| of the hidden activations come from
their numpy forms by the complex step (:mod:`gradproof.numeric.differences.slopes`), never from the
hand-written rules being checked; they only scale rounding terms. Everything is linear in the weights:
one pass forward, one per layer for ``error_above``, one backward.

Tangents (the complex step's imaginary parts, split or in complex arithmetic) underflow on paths of their
own: an η at a weighted sum of layer m reaches E times Ψ̂[m], at an activation's value fed to layer m times
|W̄[m]|ᵀ·Ψ̂[m] (which a saturated a' does not shrink), so ``underflow_terms``·η per entry costs at most
``underflow_terms``·η·(Σ_{m ≥ l} Σ (Ψ̂[m] + |W̄[m]|ᵀ·Ψ̂[m]) + 1) (``underflow``), over h in complex arithmetic.
Bounds of η's size are themselves computed in floating point and can round to 0 (0.4·η does): the counts of
η are added where the last operations happen (a sum ⟨g, v⟩ over the weights adds η per product and addition),
never scaled down after them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradproof.derive.model.network import Network
from gradproof.numeric.compiled.kernels import abs_matmul
from gradproof.numeric.compiled.matrix import Forward, forward
from gradproof.numeric.differences.output_bounds import (ETA, FUNCTION_ULPS, U, OutputBounds, gamma,
                                                         output_bounds)
from gradproof.numeric.differences.slopes import (complex_step, complex_step_parts, partials, second_derivative,
                                                  tiny_but_not_zero)

__all__ = ["ETA", "FUNCTION_ULPS", "U", "ErrorModel", "complex_step", "complex_step_parts", "error_model", "gamma",
           "output_sensitivity", "partials", "second_derivative", "tiny_but_not_zero"]


@dataclass(frozen=True, eq=False)
class ErrorModel:
    """Rounding bounds for one network at one point: per sample (last axis) and per weight.

    The per-weight bounds are outer products, Ψ̂[l]ᵢ·|X̄[l]ʲ| and the like, so only their per-layer factors
    are kept: the per-weight arrays are formed on demand (``analytic_rounding``), and a bound along a
    direction (``directional_rounding``) never forms them at all."""

    fwd: Forward
    output: OutputBounds             # what the loss and the output activation contribute
    delta_error: np.ndarray          # δE of a full evaluation, per sample
    error_above: tuple               # error_above[l]: δE of an evaluation that reuses z[0..l], per sample
    psi_hat: tuple                   # Ψ̂[l], which bounds |Ψ[l]|: (rows, B)
    delta_psi: tuple                 # δΨ[l]: (rows, B)
    delta_xbar: tuple                # δX̄[l]: (cols, B)
    first: tuple = ()                # |a'(z[l])| of the hidden layers, by the complex step
    reach: tuple = ()                # reach[l]: what an η at any z[l] or a fed to layer l costs E, per sample

    @property
    def samples(self) -> int:
        return self.fwd.errors.shape[-1]

    @property
    def underflow_terms(self) -> int:
        """Operations in one evaluation of E: each may add η near underflow (the complex step divides
        its imaginary parts by h, so η/h per operation there)."""
        sizes = [x.shape[0] for x in self.fwd.xbar] + [self.fwd.output.shape[0]]
        return int(sum(n + 1 + 2 * FUNCTION_ULPS for n in sizes) + self.samples)

    def reduce(self, per_sample: np.ndarray, reduction: str) -> np.ndarray:
        """A per-sample bound carried to the batch's mean or sum, with the rounding of that sum."""
        return per_sample.sum(axis=-1) * self._per_sum(reduction) + self.samples * ETA

    def error_rounding(self, reduction: str, layer: int | None = None) -> float:
        """δE of the batch's error: a full evaluation, or one reusing the layers below ``layer + 1``."""
        per_sample = self.delta_error if layer is None else self.error_above[layer]
        per_sample = per_sample + gamma(self.samples) * np.abs(self.fwd.errors)
        return float(self.reduce(per_sample, reduction))

    def _factors(self, layer: int):
        """Row and column factors whose products, summed over the samples, bound the analytic gradient's
        rounding: δΨ ⊗ |X̄| + Ψ̂ ⊗ δX̄ + (u + γ(B))·Ψ̂ ⊗ |X̄| (the last the rounding of the outer product and
        of the batch sum, whose terms are bounded by the magnitude Ψ̂ ⊗ |X̄|)."""
        absx = np.abs(self.fwd.xbar[layer])
        psi_hat = self.psi_hat[layer]
        rows = np.concatenate([self.delta_psi[layer], psi_hat, (U + gamma(self.samples)) * psi_hat], axis=1)
        cols = np.concatenate([absx, self.delta_xbar[layer], absx], axis=1)
        return rows, cols

    def _per_sum(self, reduction: str) -> float:
        """How a sum over the samples of per-sample bounds becomes the batch's bound."""
        scale = 1 + gamma(self.samples)
        return scale / self.samples if reduction == "mean" else scale

    def analytic_rounding(self, reduction: str) -> list[np.ndarray]:
        """The bound on |computed − exact| of any analytic gradient, per weight."""
        out = []
        for layer in range(len(self.psi_hat)):
            rows, cols = self._factors(layer)
            # Σ over 3B nonnegative products, computed in floating point: (1 + γ(3B + 1)) covers its rounding;
            # each product (and the batch sum) may add η
            bound = (rows @ cols.T) * (1 + gamma(cols.shape[1] + 1)) + 2 * self.samples * ETA
            out.append(bound * self._per_sum(reduction) + ETA)
        return out

    def underflow_reach(self, layer: int) -> np.ndarray:
        """Per sample: Σ over the layers m ≥ ``layer`` of what one η costs E where a tangent enters it — at
        a weighted sum of layer m (times Ψ̂[m]) or at an activation's value fed to layer m (times
        |W̄[m]|ᵀ·Ψ̂[m]) — plus 1 for E's own operations."""
        return sum(self.reach[m] for m in range(layer, len(self.reach))) + 1

    def underflow(self, layer: int, reduction: str) -> float:
        """What η per operation costs a tangent carried from layer ``layer`` up (along a direction, or in
        complex arithmetic before its division by h): every one of the ``underflow_terms`` operations per
        entry may add η, and each reaches E by :meth:`underflow_reach`."""
        return self.underflow_terms * ETA * float(self.reduce(self.underflow_reach(layer), reduction))

    def tangent_underflow(self, layer: int, reduction: str) -> np.ndarray:
        """What η per operation costs a forward-mode tangent (the split complex step) of a weight of
        ``layer``: the tangent of a unit push of ˡzᵢ is scaled by X̄ʲ afterwards, so an η on its way costs
        (operations·η)·|X̄ʲ|·:meth:`underflow_reach`, and the product with X̄ʲ one η more, per weight
        (broadcast over rows)."""
        per_sample = np.abs(self.fwd.xbar[layer]) * self.underflow_reach(layer) + 1
        return self.underflow_terms * ETA * self.reduce(per_sample, reduction)[None, :]

    def magnitude(self, reduction: str) -> list[np.ndarray]:
        """Ψ̂ᵢ·|X̄ʲ| per weight (summed over the samples, reduced): a bound of the terms of any gradient."""
        return [(p @ np.abs(x).T) * self._per_sum(reduction) for p, x in zip(self.psi_hat, self.fwd.xbar)]

    def directional_magnitude(self, abs_direction, reduction: str) -> float:
        """Σ over the weights of |vʲᵢ|·Ψ̂ᵢ·|X̄ʲ| (reduced over the samples)."""
        return float(sum(np.sum(p * (v @ np.abs(x))) for p, v, x in zip(self.psi_hat, abs_direction, self.fwd.xbar))
                     * self._per_sum(reduction))

    def directional_rounding(self, abs_direction, reduction: str) -> float:
        """Σ over the weights of |vʲᵢ| times the analytic bound of ∂E/∂wʲᵢ, for the direction's absolute
        values ``abs_direction`` (a list shaped like W̄), without forming the per-weight bounds."""
        total = 0.0
        for layer, absv in enumerate(abs_direction):
            rows, cols = self._factors(layer)
            total += float(np.sum(rows * (absv @ cols))) * (1 + gamma(cols.shape[0] + rows.size + 1))
            total += float(np.sum(absv)) * (2 * self.samples + 1) * ETA
        return total * (1 + gamma(len(abs_direction) + 1)) * self._per_sum(reduction)


def error_model(network: Network, wbar, x_columns: np.ndarray, y_columns: np.ndarray,
                fwd: Forward | None = None) -> ErrorModel:
    """The rounding bounds above, for float64 evaluation of this network at this point (``fwd``: its
    forward phase, if already computed)."""
    fwd = forward(network, wbar, x_columns, y_columns) if fwd is None else fwd
    with np.errstate(all="ignore"):  # magnitudes of saturated units overflow to inf: a bound, not an error
        return _model(network, wbar, fwd, y_columns)


def _model(network: Network, wbar, fwd: Forward, y_columns) -> ErrorModel:
    depth, bias = network.depth, int(network.bias)
    sums = [abs_matmul(wbar[l], np.abs(fwd.xbar[l])) for l in range(depth)]
    first = [np.abs(complex_step(act.np_forward, z)) for act, z in zip(network.activations[:-1], fwd.z)]
    second = [second_derivative(act.np_forward, z) for act, z in zip(network.activations[:-1], fwd.z)]
    out = output_bounds(network, fwd.z[-1], fwd.output, y_columns)

    def hidden_delta_x(layer: int, delta_z: np.ndarray) -> np.ndarray:
        """δX̄[layer + 1] from δz[layer]: the activation's own rounding on top, the bias entry exact."""
        delta_a = first[layer] * delta_z + FUNCTION_ULPS * U * np.abs(fwd.xbar[layer + 1][bias:]) + ETA
        return np.vstack([np.zeros_like(delta_a[:1]), delta_a]) if bias else delta_a

    def propagate(start: int, delta_z: np.ndarray, fresh_sums_from: int) -> list[np.ndarray]:
        """δz for layers start … L−1 from δz[start]; sums above ``fresh_sums_from`` are recomputed."""
        found = [delta_z]
        for layer in range(start, depth - 1):
            n = network.sizes[layer + 1]
            fresh = gamma(n + 1) * sums[layer + 1] + (n + 1) * ETA if layer + 1 >= fresh_sums_from \
                else U * np.abs(fwd.z[layer + 1]) + 2 * ETA
            found.append(abs_matmul(wbar[layer + 1], hidden_delta_x(layer, found[-1])) + fresh)
        return found

    delta_z = propagate(0, gamma(network.sizes[0] + 1) * sums[0] + (network.sizes[0] + 1) * ETA,
                        fresh_sums_from=1)
    delta_error = out.delta_error(delta_z[-1])
    # a perturbation of layer l updates z[l] and z[l+1] (rounding u·|z|) and recomputes the layers above
    error_above = tuple(out.delta_error(propagate(l, U * np.abs(fwd.z[l]) + 2 * ETA, fresh_sums_from=l + 2)[-1])
                        for l in range(depth))
    delta_x = [np.zeros_like(fwd.xbar[0])] + [hidden_delta_x(l, delta_z[l]) for l in range(depth - 1)]
    psi_hats, delta_psis, backs = _backward(network, wbar, fwd, out, first, second, delta_z)
    reach = tuple(np.sum(p, axis=0) + (0 if b is None else np.sum(b, axis=0)) for p, b in zip(psi_hats, backs))
    return ErrorModel(fwd, out, delta_error, error_above, psi_hats, delta_psis, tuple(delta_x), tuple(first),
                      reach)


def _backward(network: Network, wbar, fwd: Forward, out: OutputBounds, first, second, delta_z):
    """Ψ̂[l] and δΨ[l] for every layer, from the output down (see the module doc), and |W̄[l]|ᵀ·Ψ̂[l] (what
    the activations fed to layer l reach E by; None for the inputs)."""
    depth, bias = network.depth, int(network.bias)
    psi_hat, delta_psi = out.psi_hat, out.delta_psi(delta_z[-1])
    psi_hats, delta_psis, backs = [None] * depth, [None] * depth, [None] * depth
    for layer in range(depth - 1, -1, -1):
        psi_hats[layer], delta_psis[layer] = psi_hat, delta_psi
        if layer:
            below = network.activations[layer - 1]
            absw = np.abs(wbar[layer][:, bias:]).T
            back = backs[layer] = absw @ psi_hat
            a = fwd.xbar[layer][bias:]
            psi_hat = below.np_vjp_scale(fwd.z[layer - 1], a, back)
            n = network.sizes[layer + 1]
            rule = 2 * FUNCTION_ULPS * (U * (first[layer - 1] + np.abs(a)) + ETA)
            delta_psi = (first[layer - 1] * (absw @ delta_psi) + gamma(n + 2 * FUNCTION_ULPS) * psi_hat
                         + back * (second[layer - 1] * delta_z[layer - 1] + rule) + (n + 3) * ETA)
    return tuple(psi_hats), tuple(delta_psis), tuple(backs)


def output_sensitivity(network: Network, z: np.ndarray, y: np.ndarray):
    """|∂E/∂zₖ|, a matrix M with M·v ≥ |∂²E/∂zₖ∂zⱼ|·v for v ≥ 0, and |∂E/∂aₖ| at the output weighted sums z
    (n_L, B), from the closed forms of :mod:`gradproof.numeric.differences.output_bounds` (for callers that
    want the Hessian bound as an (n_L, n_L, B) array: O(n_L²), where ``OutputBounds.hessian`` is O(n_L))."""
    out = output_bounds(network, z, network.activations[-1].np_forward(z), y)
    n = z.shape[0]
    with np.errstate(all="ignore"):
        columns = [out.hessian(np.broadcast_to(np.eye(n)[:, [j]], z.shape)) for j in range(n)]
    return out.d_z, np.stack(columns, axis=1), np.zeros_like(z) if out.d_a is None else out.d_a

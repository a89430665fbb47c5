"""The floating-point error model every numeric tolerance is derived from: nothing here is tuned.

With u = ε/2 the unit roundoff of float64 and γ(n) = n·u/(1 − n·u), a sum of n products computed in
floating point is within γ(n)·Σ|terms| of the exact sum (Higham, *Accuracy and Stability of Numerical
Algorithms*, §3.1); each elementary function (exp, tanh, log1p, …) is within ``FUNCTION_ULPS``·u of its
exact value. Near underflow each operation may also be off by η, the smallest subnormal number
(fl(x ∘ y) = (x ∘ y)(1 + δ) + η, Higham §2.1): every bound carries ``underflow_terms``·η on top, which
only matters for values around 1e-300. To first order, per sample, with Ŝ[l] = |W̄[l]|·|X̄[l]|:

Forward phase::

    δz[l] = γ(n_l + 1)·Ŝ[l] + |W̄[l]|·δX̄[l]
    δa[l] = |a'(z[l])|·δz[l] + FUNCTION_ULPS·u·|a(z[l])|,   δX̄[l+1] = [0; δa[l]]
    δE    = Σₖ |∂E/∂zₖ|·δzₖ + FUNCTION_ULPS·u·Σₖ |∂E/∂aₖ|·|aₖ| + γ(n_L + FUNCTION_ULPS)·(|E| + Σₖ |∂E/∂zₖ|·|zₖ|)

A finite difference of weights in layer l reuses everything below z[l+1] bit for bit (see
:mod:`gradproof.numeric.differences.finite_difference`), so those roundings are the same at every point of its stencil and
cancel in the difference. Each evaluation there carries only the rounding of what it recomputes: the
update of z[l] and z[l+1] (u·|z|), then the layers above in full. That bound is ``error_above[l]``.

Backward phase (any straight-line program for the chain rule: the Ψ recurrence, the direct form, a
user's backward pass), with Ψ̂ the absolute-value recurrence (Ψ̂[L−1] = |∂E/∂z|,
Ψ̂[l−1] = |a'|⊙(|W̄|ᵀ·Ψ̂[l])), which bounds |Ψ|::

    δΨ[L−1] = γ(n_L + FUNCTION_ULPS)·Ψ̂[L−1] + |∂²E/∂z²|·δz[L−1]
    δΨ[l−1] = |a'|⊙(|W̄|ᵀ·δΨ[l]) + γ(n_{l+1} + FUNCTION_ULPS)·Ψ̂[l−1] + |a''|⊙(|W̄|ᵀ·Ψ̂[l])⊙δz[l−1]
    δ(∂E/∂ˡwʲᵢ) = δΨᵢ·|X̄ʲ| + Ψ̂ᵢ·δX̄ʲ + u·Ψ̂ᵢ·|X̄ʲ|       (summed over a batch, plus γ(B)·Ĝ)

The magnitudes |a'|, |a''|, |∂E/∂z|, |∂E/∂a| and |∂²E/∂z²| come from the numpy forms by the complex
step (second derivatives by a central difference of complex steps), never from the hand-written rules
being checked; they only scale rounding terms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradproof.derive.model.network import Network
from gradproof.numeric.compiled.matrix import Forward, forward
from gradproof.numeric.compiled.kernels import abs_matmul

U = np.finfo(np.float64).eps / 2
ETA = np.finfo(np.float64).smallest_subnormal
FUNCTION_ULPS = 4
_CSTEP = 1e-30
#: an imaginary part below _RESOLVED has lost digits to underflow (a derivative below ~1e-271 at _CSTEP);
#: _WIDE_STEP shows what such a derivative is: a magnitude to ~1e-12 (the complex step's truncation,
#: η²·|f‴/f′|/6 relative, for the exponential tails that make derivatives this small)
_RESOLVED = 2.0 ** -1000
_WIDE_STEP = 1e-6
_HESS_STEP = 1e-4


def gamma(n) -> float:
    """γ(n) = n·u/(1 − n·u)."""
    return n * U / (1 - n * U)


@dataclass(frozen=True, eq=False)
class ErrorModel:
    """Rounding bounds for one network at one point: per sample (last axis) and per weight.

    The per-weight bounds are outer products, Ψ̂[l]ᵢ·|X̄[l]ʲ| and the like, so only their per-layer factors
    are kept: the per-weight arrays are formed on demand (``analytic_rounding``), and a bound along a
    direction (``directional_rounding``) never forms them at all."""

    fwd: Forward
    underflow_terms: int             # operations on the longest path: the bounds add this many η
    delta_error: np.ndarray          # δE of a full evaluation, per sample
    error_above: tuple               # error_above[l]: δE of an evaluation that reuses z[0..l], per sample
    psi_hat: tuple                   # Ψ̂[l], which bounds |Ψ[l]|: (rows, B)
    delta_psi: tuple                 # δΨ[l]: (rows, B)
    delta_xbar: tuple                # δX̄[l]: (cols, B)

    @property
    def samples(self) -> int:
        return self.fwd.errors.shape[-1]

    def reduce(self, per_sample: np.ndarray, reduction: str) -> np.ndarray:
        """A per-sample bound carried to the batch's mean or sum, with the rounding of that sum."""
        return per_sample.sum(axis=-1) * self._per_sum(reduction)

    def error_rounding(self, reduction: str, layer: int | None = None) -> float:
        """δE of the batch's error: a full evaluation, or one reusing the layers below ``layer + 1``."""
        per_sample = self.delta_error if layer is None else self.error_above[layer]
        per_sample = per_sample + gamma(self.samples) * np.abs(self.fwd.errors) + self.underflow_terms * ETA
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
            # Σ over 3B nonnegative products, computed in floating point: (1 + γ(3B + 1)) covers its rounding
            bound = (rows @ cols.T) * (1 + gamma(cols.shape[1] + 1)) + self.samples * self.underflow_terms * ETA
            out.append(bound * self._per_sum(reduction))
        return out

    def directional_rounding(self, abs_direction, reduction: str) -> float:
        """Σ over the weights of |vʲᵢ| times the analytic bound of ∂E/∂wʲᵢ, for the direction's absolute
        values ``abs_direction`` (a list shaped like W̄), without forming the per-weight bounds."""
        total = 0.0
        for layer, absv in enumerate(abs_direction):
            rows, cols = self._factors(layer)
            total += float(np.sum(rows * (absv @ cols))) * (1 + gamma(cols.shape[0] + rows.size + 1))
            total += float(np.sum(absv)) * self.samples * self.underflow_terms * ETA
        return total * (1 + gamma(len(abs_direction) + 1)) * self._per_sum(reduction)


def complex_step_parts(f, z: np.ndarray, direction=1.0):
    """f'(z) elementwise (or along ``direction``) by the complex step at 1e-30, exact to rounding for
    analytic f; where its imaginary part underflowed, also f' at the wide step 1e-6 (else None), and the
    mask of those entries."""
    slope = np.imag(f(z + 1j * _CSTEP * direction)) / _CSTEP
    lost = np.abs(slope) * _CSTEP < _RESOLVED
    wide = np.imag(f(z + 1j * _WIDE_STEP * direction)) / _WIDE_STEP if np.any(lost) else None
    return slope, wide, lost


def tiny_but_not_zero(magnitude: np.ndarray) -> np.ndarray:
    """Where a derivative's magnitude, from the wide step, is nonzero yet below what the step at 1e-30
    resolves: a real derivative lost to underflow, not a zero showing rounding and truncation."""
    return (magnitude > 0) & (magnitude < _RESOLVED / _CSTEP)


def complex_step(f, z: np.ndarray, direction=1.0) -> np.ndarray:
    """f'(z) by the complex step: exact to rounding, and a magnitude to ~1e-12 where the derivative is so
    small that its imaginary part would underflow."""
    slope, wide, lost = complex_step_parts(f, z, direction)
    return slope if wide is None else np.where(lost, wide, slope)


def partials(f, at: np.ndarray, slope=complex_step) -> np.ndarray:
    """∂f/∂atₖ for each row k of ``at`` (f maps (rows, B) to (B,)), by ``slope`` along row k."""
    rows = []
    for k in range(at.shape[0]):
        direction = np.zeros(at.shape)
        direction[k] = 1
        rows.append(slope(f, at, direction))
    return np.array(rows)


def second_derivative(f, z: np.ndarray) -> np.ndarray:
    """|f''(z)| elementwise: a central difference of complex steps (a magnitude, to ~1e-8)."""
    step = _HESS_STEP * np.maximum(1, np.abs(z))
    return np.abs(complex_step(f, z + step) - complex_step(f, z - step)) / (2 * step)


def output_sensitivity(network: Network, z: np.ndarray, y: np.ndarray):
    """|∂E/∂zₖ|, |∂²E/∂zₖ∂zⱼ| and |∂E/∂aₖ| at the output weighted sums z (n_L, B)."""
    act, loss = network.activations[-1], network.loss

    def by_z(zz):
        return loss.np_error(zz, act.np_forward(zz), y)

    grad = partials(by_z, z)
    hessian = np.zeros((z.shape[0],) + z.shape)
    for j in range(z.shape[0]):
        step = np.zeros_like(z)
        step[j] = _HESS_STEP * np.maximum(1, np.abs(z[j]))
        hessian[:, j] = np.abs(partials(by_z, z + step) - partials(by_z, z - step)) / (2 * step[j])
    by_a = partials(lambda a: loss.np_error(z, a, y), act.np_forward(z))
    return np.abs(grad), hessian, np.abs(by_a)


def _rule_rounding(first: np.ndarray, a: np.ndarray) -> np.ndarray:
    """How far a derivative rule evaluated from the rounded a(z) can be off (σ' = σ·(1 − σ) loses its
    relative accuracy where σ saturates): 2·FUNCTION_ULPS·u·(|a'| + |a|), absolute."""
    return 2 * FUNCTION_ULPS * U * (first + np.abs(a))


def _output_psi_bounds(network: Network, fwd: Forward, y, d_z, d2_z, delta_z):
    """Ψ̂[L−1], the magnitude of the terms any program for Ψ at the output sums, and δΨ[L−1]."""
    act, loss = network.activations[-1], network.loss
    z, a = fwd.z[-1], fwd.output
    if loss.collapses_with(act):
        # a − y, or the uncollapsed Jacobian form whose terms are yⱼ, aⱼ·yₖ (softmax) or y, a, a·y
        scale = 2 * (np.abs(a) + np.abs(y)) + np.abs(a) * np.sum(np.abs(y), axis=0, keepdims=True)
    else:
        scale = act.np_vjp_scale(z, a, loss.np_gradient_scale(a, y))
    psi_hat = np.maximum(scale, d_z)
    delta_psi = gamma(network.sizes[-1] + 2 * FUNCTION_ULPS) * psi_hat + np.einsum("kjb,jb->kb", d2_z, delta_z)
    if hasattr(act, "np_derivative") and not loss.collapses:
        first = np.abs(complex_step(act.np_forward, z))
        delta_psi = delta_psi + loss.np_gradient_scale(a, y) * _rule_rounding(first, a)
    return psi_hat, delta_psi


def error_model(network: Network, wbar, x_columns: np.ndarray, y_columns: np.ndarray,
                fwd: Forward | None = None) -> ErrorModel:
    """The rounding bounds above, for float64 evaluation of this network at this point (``fwd``: its
    forward phase, if already computed)."""
    fwd = forward(network, wbar, x_columns, y_columns) if fwd is None else fwd
    depth, bias = network.depth, int(network.bias)
    sums = [abs_matmul(wbar[l], np.abs(fwd.xbar[l])) for l in range(depth)]
    first = [np.abs(complex_step(act.np_forward, z)) for act, z in zip(network.activations[:-1], fwd.z)]
    second = [second_derivative(act.np_forward, z) for act, z in zip(network.activations[:-1], fwd.z)]
    d_z, d2_z, d_a = output_sensitivity(network, fwd.z[-1], y_columns)

    def propagate(start: int, delta_z: np.ndarray, fresh_sums_from: int) -> list[np.ndarray]:
        """δz for layers start … L−1 from δz[start]; sums above ``fresh_sums_from`` are recomputed."""
        found = [delta_z]
        for layer in range(start, depth - 1):
            delta_a = first[layer] * found[-1] + FUNCTION_ULPS * U * np.abs(fwd.xbar[layer + 1][bias:])
            delta_x = np.vstack([np.zeros_like(delta_a[:1]), delta_a]) if bias else delta_a
            fresh = gamma(network.sizes[layer + 1] + 1) * sums[layer + 1] if layer + 1 >= fresh_sums_from \
                else U * np.abs(fwd.z[layer + 1])
            found.append(np.abs(wbar[layer + 1]) @ delta_x + fresh)
        return found

    def at_output(delta_z_out: np.ndarray) -> np.ndarray:
        z, out = fwd.z[-1], fwd.output
        scale = np.abs(fwd.errors) + np.sum(d_z * np.abs(z), axis=0)
        return (np.sum(d_z * delta_z_out, axis=0) + FUNCTION_ULPS * U * np.sum(d_a * np.abs(out), axis=0)
                + gamma(network.sizes[-1] + FUNCTION_ULPS) * scale)

    delta_z = propagate(0, gamma(network.sizes[0] + 1) * sums[0], fresh_sums_from=1)
    delta_error = at_output(delta_z[-1])
    # a perturbation of layer l updates z[l] and z[l+1] (rounding u·|z|) and recomputes the layers above
    error_above = tuple(at_output(propagate(l, U * np.abs(fwd.z[l]), fresh_sums_from=l + 2)[-1])
                        for l in range(depth))

    delta_x = [np.zeros_like(fwd.xbar[0])]
    for layer in range(depth - 1):
        delta_a = first[layer] * delta_z[layer] + FUNCTION_ULPS * U * np.abs(fwd.xbar[layer + 1][bias:])
        delta_x.append(np.vstack([np.zeros_like(delta_a[:1]), delta_a]) if bias else delta_a)

    psi_hat, delta_psi = _output_psi_bounds(network, fwd, y_columns, d_z, d2_z, delta_z[-1])
    psi_hats, delta_psis = [None] * depth, [None] * depth
    for layer in range(depth - 1, -1, -1):
        psi_hats[layer], delta_psis[layer] = psi_hat, delta_psi
        if layer:
            below = network.activations[layer - 1]
            absw = np.abs(wbar[layer][:, bias:]).T
            back = absw @ psi_hat
            z, a = fwd.z[layer - 1], fwd.xbar[layer][bias:]
            psi_hat = below.np_vjp_scale(z, a, back)
            delta_psi = (first[layer - 1] * (absw @ delta_psi)
                         + gamma(network.sizes[layer + 1] + 2 * FUNCTION_ULPS) * psi_hat
                         + back * (second[layer - 1] * delta_z[layer - 1] + _rule_rounding(first[layer - 1], a)))
    operations = sum(n + 1 + 2 * FUNCTION_ULPS for n in network.sizes) + fwd.errors.shape[-1]
    return ErrorModel(fwd, operations, delta_error, error_above, tuple(psi_hats), tuple(delta_psis),
                      tuple(delta_x))

"""What the output layer and the loss add to the rounding bounds: derived per loss, linear in the width.

Notation per sample: z the output weighted sums (n of them), a the output activation, y the target,
u the unit roundoff, c = ``FUNCTION_ULPS`` (each exp, log, log1p, tanh is within c·u of its exact
value), γ(k) = k·u/(1 − k·u), η the smallest subnormal (each operation may add η near underflow).

**What the earlier model missed.** It charged the loss γ(n + c)·(|E| + Σ|∂E/∂z|·|z|): a rounding
*relative to E*. That is right for ½·Σ(a − y)², a sum of nonnegative terms, but not for the
cross-entropy on a softmax, computed as E = −Σₖ yₖ·(dₖ − log S) with dₖ = zₖ − max z and
S = Σⱼ e^(dⱼ). S ≥ 1 (its largest term is e⁰ = 1), so fl(S) carries an absolute error of about
(c + n)·u, and log passes an absolute error δS/S of S on to log S: about (c + n)·u, whatever E is. A
confident classifier (the target on the predicted class, S = 1 + 4e-7) has E = log S ≈ 4e-7 but a
rounding of ~1e-16 in it, not ~1e-22; a central difference at h ≈ 6e-6 then carries 1e-16/h ≈ 2e-11
of rounding where the model allowed 1e-17, and the correct gradient failed. The step by step bound:

    fl(dₖ)   = dₖ + ε₁,                  |ε₁| ≤ u·|dₖ|
    fl(e^d̂ₖ) = e^(dₖ)·(1 + ε₂),           |ε₂| ≤ c·u + u·|dₖ|          (exp turns δd into a relative δe)
    fl(S)    = S·(1 + ε₃),               |ε₃| ≤ c·u + γ(n − 1) + u·Σⱼ aⱼ·|dⱼ| + n·η      (aⱼ = e^(dⱼ)/S, S ≥ 1)
    fl(log S) = log S + ε₄,              |ε₄| ≤ |ε₃| + c·u·|log S| + η
    fl(tₖ)   = tₖ + ε₅ₖ, tₖ = dₖ − log S, |ε₅ₖ| ≤ u·|dₖ| + |ε₄| + u·|tₖ| + η
    fl(E)    = E + ε₆,                   |ε₆| ≤ Σₖ |yₖ|·|ε₅ₖ| + γ(n)·Σₖ |yₖ·tₖ| + n·η

The softmax itself (an output activation under ½·Σ(a − y)²) is aₖ = e^(d̂ₖ)/fl(S): relative error at
most u·|dₖ| + (c + 1)·u + |ε₃| (+ η): its entries far below the largest carry u·|dₖ|, more than a few
ulps. A backward pass that shifts by another value than max z (or none) stays within u·spread of that
(spread = max z − min z), and that is what bounds Ψ at the output here (``_softmax_relative``).

Binary cross-entropy, −Σₖ [yₖ·log σ(zₖ) + (1 − yₖ)·log σ(−zₖ)] with log σ(z) = −(max(−z, 0) +
log1p(e^(−|z|))): e^(−|z|) ≤ 1 is within c·u relative, log1p(p) passes it on at most relatively
(p/(1 + p) ≤ log1p(p) for 0 ≤ p ≤ 1) and adds c·u, the sum of two nonnegative terms u: |log σ| is within
(2c + 1)·u relative, and E within γ(n + 2c + 4)·Σₖ (|yₖ·log σ(zₖ)| + |(1 − yₖ)·log σ(−zₖ)|). The
squared errors: γ(n + 2)·|E| (½·Σ) and γ(n + 3)·|E| (the mean divides once more), plus the output
activation's own rounding carried by |∂E/∂a|. A loss of your own (``define_loss``: E = Σₖ ℓ(aₖ, yₖ), its
formula compiled by lambdify) is not known here step by step: each term is *assumed* to round like at most
``OWN_LOSS_OPERATIONS`` elementary operations on values no larger than 1 + |ℓ| + |∂ℓ/∂a|·(|a| + |y|) (the 1
for logarithms, which round absolutely), and a loss that is not such a sum is refused.

The sensitivities are closed forms with the triangle inequality (upper bounds, O(n) per sample): the
Hessian never appears as a matrix, only as a bound of |H|·v for nonnegative v. The first and second
derivatives of an elementwise output activation come from its numpy form by the complex step
(:mod:`gradproof.numeric.differences.slopes`), never from the derivative rule under test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gradproof.derive.errors import InputError
from gradproof.derive.model.kernels import log_sigmoid, sigmoid
from gradproof.numeric.differences.slopes import complex_step, second_derivative

U = np.finfo(np.float64).eps / 2
ETA = np.finfo(np.float64).smallest_subnormal
FUNCTION_ULPS = 4


def gamma(n) -> float:
    """γ(n) = n·u/(1 − n·u)."""
    return n * U / (1 - n * U)


@dataclass(frozen=True, eq=False)
class OutputBounds:
    """Per sample (columns): what the loss and the output activation contribute to the bounds."""

    d_z: np.ndarray          # bounds |∂E/∂zₖ|
    own: np.ndarray          # δE of evaluating the loss (and a) from the computed z: (B,)
    psi_hat: np.ndarray      # bounds |Ψ[L−1]| and the terms any program for it sums
    psi_own: np.ndarray      # δΨ[L−1] of that program, apart from the error δz it is handed
    hessian: Callable        # v ↦ a bound of |∂Ψ/∂z|·v = |∂²E/∂z²|·v for v ≥ 0
    curvature_a: Callable | None = None  # δz ↦ the second-order part of the output activation's own
    #                                      rounding δa under a squared loss: ½·c·Σ(2·|a'|·δz·δa + δa²)
    d_a: np.ndarray | None = None  # bounds |∂E/∂aₖ| where E is computed from a (None: from z, 0)

    def delta_error(self, delta_z: np.ndarray) -> np.ndarray:
        """δE of an evaluation whose output weighted sums are within ``delta_z``: (B,). To second order:
        where a − y (or a − 1) is far below the rounding of a or z, as for a saturated output or a
        confident classifier, ½·δzᵀ·|∂²E/∂z²|·δz is what remains, and first order alone misses it."""
        second = 0.5 * np.sum(delta_z * self.hessian(delta_z), axis=0)
        if self.curvature_a is not None:
            second = second + self.curvature_a(delta_z)
        return np.sum(self.d_z * delta_z, axis=0) + self.own + second

    def delta_psi(self, delta_z: np.ndarray) -> np.ndarray:
        """δΨ[L−1] of a program handed output weighted sums within ``delta_z``."""
        return self.psi_own + self.hessian(delta_z)


def output_bounds(network, z: np.ndarray, a: np.ndarray, y: np.ndarray) -> OutputBounds:
    """The bounds for this network's loss at the output (z, a, y: (n, B))."""
    act, loss = network.activations[-1], network.loss
    if loss.name == "softmax-ce" and act.name == "softmax":
        return _softmax_cross_entropy(z, a, y)
    if loss.name == "bce" and act.name == "sigmoid":
        return _binary_cross_entropy(z, a, y)
    return _separable(network, z, a, y, _squared_terms(network, z, a, y) if loss.name in ("half-sse", "mse")
                      else _own_terms(network, z, a, y))


@dataclass(frozen=True, eq=False)
class Terms:
    """A loss E = Σₖ ℓ(aₖ, yₖ) at the output, per unit: what its bounds need."""

    slope: Callable      # δa ↦ a bound of |∂ℓ/∂a| at the rounded a (which is within δa of the exact one)
    curvature: np.ndarray  # |∂²ℓ/∂a²|
    scale: np.ndarray    # the magnitude of the terms ∂ℓ/∂a is computed from
    own: np.ndarray      # δE of evaluating Σₖ ℓ from the computed a: (B,)


def _squared_terms(network, z, a, y) -> Terms:
    """½·Σ(a − y)² and (1/n)·Σ(a − y)²: fl(E) within γ(n + 2)·|E| (γ(n + 3) with the mean's division)."""
    n, mean = z.shape[0], network.loss.name == "mse"
    c = 2.0 / n if mean else 1.0
    own = gamma(n + 2 + mean) * np.abs(network.loss.np_error(z, a, y)) + (n + 3) * ETA
    return Terms(lambda delta_a: c * (np.abs(a - y) + delta_a), np.full(a.shape, c), c * (np.abs(a) + np.abs(y)),
                 own)


#: a loss defined elsewhere (``define_loss``): each term's formula is assumed to round like at most this
#: many elementary operations on values no larger than 1 + |ℓ| + |∂ℓ/∂a|·(|a| + |y|) (see _own_terms)
OWN_LOSS_OPERATIONS = 8


def _own_terms(network, z, a, y) -> Terms:
    """A loss of your own, E = Σₖ ℓ(aₖ, yₖ) (the form ``define_loss`` makes): ℓ per unit from its numpy
    form, its slopes by the complex step. Its formula is not known here, so its rounding is an assumption
    (``OWN_LOSS_OPERATIONS``), stated in the README; a loss that is not a sum over the units is refused."""
    loss = network.loss
    shape = (1, a.size)

    def per_unit(values):
        return np.reshape(loss.np_error(z.reshape(shape), values.reshape(shape), y.reshape(shape)), a.shape)

    terms = per_unit(a)
    total = loss.np_error(z, a, y)
    if np.any(np.abs(np.sum(terms, axis=0) - total) > gamma(2 * a.shape[0] + 2) * np.sum(np.abs(terms), axis=0)
              + 4 * a.shape[0] * ETA):
        raise InputError(f"the numeric error model needs a loss that is a sum over the output units, E = Σₖ "
                         f"ℓ(aₖ, yₖ); {loss.name!r} is not one")
    first = np.abs(complex_step(per_unit, a))
    second = second_derivative(per_unit, a)
    scale = np.abs(loss.np_gradient_scale(a, y))
    size = 1 + np.abs(terms) + first * (np.abs(a) + np.abs(y))
    own = np.sum(gamma(OWN_LOSS_OPERATIONS * FUNCTION_ULPS) * size, axis=0) + 8 * a.shape[0] * ETA
    return Terms(lambda delta_a: first + second * delta_a, second, np.maximum(scale, first) + U * size, own)


def exclusive_sums(values: np.ndarray) -> np.ndarray:
    """Σ_{j≠k} values_j for every k (along axis 0), without subtracting (no cancellation)."""
    zero = np.zeros_like(values[:1])
    before = np.concatenate([zero, np.cumsum(values, axis=0)[:-1]], axis=0)
    after = np.concatenate([np.cumsum(values[::-1], axis=0)[::-1][1:], zero], axis=0)
    return before + after


def _softmax_relative(z: np.ndarray, a: np.ndarray):
    """(relative rounding of our softmax, of any max-free shift of it, relative rounding of S): see the doc."""
    n = z.shape[0]
    d = np.abs(z - np.max(z, axis=0, keepdims=True))
    spread = np.max(z, axis=0, keepdims=True) - np.min(z, axis=0, keepdims=True)
    rel_sum = FUNCTION_ULPS * U + gamma(n - 1) + U * np.sum(a * d, axis=0, keepdims=True) + n * ETA
    ours = U * d + (FUNCTION_ULPS + 1) * U + rel_sum
    anywhere = 2 * U * spread + (2 * FUNCTION_ULPS + 1) * U + gamma(n - 1) + n * ETA
    return ours, anywhere, rel_sum


def _jacobian_bound(a: np.ndarray, v: np.ndarray) -> np.ndarray:
    """|∂softmax/∂z|·v ≤ a⊙v + a·(aᵀv) for v ≥ 0 (|∂aₖ/∂zₘ| = aₖ·|δₖₘ − aₘ| ≤ aₖ·(δₖₘ + aₘ))."""
    return a * v + a * np.sum(a * v, axis=0, keepdims=True)


def _softmax_cross_entropy(z, a, y) -> OutputBounds:
    n = z.shape[0]
    d = z - np.max(z, axis=0, keepdims=True)
    _, anywhere, rel_sum = _softmax_relative(z, a)
    log_s = np.log(np.sum(np.exp(d), axis=0, keepdims=True))
    delta_log = rel_sum + FUNCTION_ULPS * U * np.abs(log_s) + ETA
    t = np.abs(d - log_s)
    absy = np.abs(y)
    own = (np.sum(absy * (U * np.abs(d) + delta_log + U * t + ETA), axis=0)
           + gamma(n) * np.sum(absy * t, axis=0) + n * ETA)
    total_y = np.sum(y, axis=0, keepdims=True)
    off = np.abs(total_y - 1)   # ∂E/∂z = a·Σy − y; make_sample keeps |Σy − 1| at rounding level
    d_z = off * a + np.maximum(np.abs(1 - y) * a, absy * exclusive_sums(a))
    scale = 2 * (a + absy) + a * np.sum(absy, axis=0, keepdims=True)
    factor = np.maximum(1.0, np.abs(total_y))
    return OutputBounds(d_z, own, np.maximum(scale, d_z),
                        (anywhere + gamma(n + 4)) * scale + off * a + (n + 4) * ETA,
                        lambda v: factor * _jacobian_bound(a, v))


def _binary_cross_entropy(z, a, y) -> OutputBounds:
    n = z.shape[0]
    first = sigmoid(z) * sigmoid(-z)  # σ' without the cancellation of σ·(1 − σ)
    terms = np.abs(y * log_sigmoid(z)) + np.abs((1 - y) * log_sigmoid(-z))
    own = gamma(n + 2 * FUNCTION_ULPS + 4) * np.sum(terms, axis=0) + 8 * n * ETA
    # |σ(z) − y| = |(1 − y)·σ(z) − y·σ(−z)| ≤ the larger of the two (no cancellation where σ saturates)
    d_z = np.maximum(np.abs(1 - y) * sigmoid(z), np.abs(y) * sigmoid(-z))
    scale = 2 * (np.abs(a) + np.abs(y)) + np.abs(a) * np.sum(np.abs(y), axis=0, keepdims=True)
    return OutputBounds(d_z, own, np.maximum(scale, d_z),
                        (FUNCTION_ULPS * U + gamma(n + 4)) * scale + (n + 4) * ETA, lambda v: first * v)


def _separable(network, z, a, y, terms: Terms) -> OutputBounds:
    """E = Σₖ ℓ(aₖ, yₖ) after an elementwise activation or a softmax: Ψ = a'⊙ℓ' or a⊙(ℓ' − aᵀℓ')."""
    n, act = z.shape[0], network.activations[-1]
    if act.name == "softmax":
        ours, anywhere, _ = _softmax_relative(z, a)
        delta_a = ours * a + (n + 2) * ETA
        g = terms.slope(delta_a)
        d_z = a * (g + np.sum(a * g, axis=0, keepdims=True))
        slope = lambda v: _jacobian_bound(a, v)  # noqa: E731
        psi_hat = np.maximum(a * (terms.scale + np.sum(a * terms.scale, axis=0, keepdims=True)), d_z)
        psi_own = (2 * anywhere + gamma(n + 2 * FUNCTION_ULPS + 2)) * psi_hat + (n + 4) * ETA
        hessian = _softmax_separable_hessian(a, g, terms.curvature)
    else:
        first = np.abs(complex_step(act.np_forward, z))
        second = second_derivative(act.np_forward, z)
        delta_a = FUNCTION_ULPS * U * np.abs(a) + ETA
        g = terms.slope(delta_a)   # |a − y| is only known to δa from the rounded a
        slope = lambda v: first * v  # noqa: E731
        d_z = g * first
        psi_hat = np.maximum(terms.scale * first, d_z)
        rule = 2 * FUNCTION_ULPS * (U * (first + np.abs(a)) + ETA)  # σ' = σ·(1 − σ) from the rounded σ
        psi_own = gamma(n + 2 * FUNCTION_ULPS) * psi_hat + terms.scale * rule + (n + 4) * ETA
        curvature = terms.curvature * first * first + g * second
        hessian = lambda v: curvature * v  # noqa: E731 - separable: the Hessian is diagonal
    own = terms.own + np.sum(g * delta_a, axis=0)

    def curvature_a(delta_z):
        return 0.5 * np.sum(terms.curvature * (2 * slope(delta_z) * delta_a + delta_a * delta_a), axis=0)

    return OutputBounds(d_z, own, psi_hat, psi_own, hessian, curvature_a, g)


def _softmax_separable_hessian(a, g, curvature):
    """v ↦ a bound of |∂Ψ/∂z|·v for Ψ = a⊙(g − aᵀg), g = ℓ'(a), by the product rule and
    |∂a/∂z|·v ≤ J(v) = a⊙v + a·(aᵀv), |∂g/∂z|·v ≤ |ℓ''|⊙J(v):
    |∂Ψ/∂z|·v ≤ J(v)⊙|g − aᵀg| + a⊙(|ℓ''|⊙J(v) + |g|ᵀJ(v) + aᵀ(|ℓ''|⊙J(v)))."""
    centred = np.abs(g) + np.sum(a * g, axis=0, keepdims=True)

    def bound(v):
        jv = _jacobian_bound(a, v)
        inner = (curvature * jv + np.sum(g * jv, axis=0, keepdims=True)
                 + np.sum(a * curvature * jv, axis=0, keepdims=True))
        return jv * centred + a * inner

    return bound

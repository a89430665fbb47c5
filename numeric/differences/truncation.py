"""Truncation bounds of the finite differences, from analyticity (Cauchy's estimate): rigorous, not fitted.

E as a function of one weight, f(ζ) = E(w + ζ) for complex ζ, is analytic on the disc |ζ| ≤ R when every
activation and the loss are analytic wherever the perturbed weighted sums go. On that disc Cauchy's
estimate for f' gives |n·cₙ| ≤ P/Rⁿ⁻¹ for f's Taylor coefficients cₙ, P = max_{|ζ|≤R} |f'(ζ)|, and each
method's truncation is its series, summed (t = h/R, q = t²)::

    forward       (f(h) − f(0))/h − f'(0)       = Σ_{n≥2} cₙ·hⁿ⁻¹                  ≤ (P/2)·t/(1 − t)
    central       (f(h) − f(−h))/(2h) − f'(0)   = Σ_{m≥1} c_{2m+1}·h^{2m}            ≤ (P/3)·q/(1 − q)
    complex step  Im f(ih)/h − f'(0)            = Σ_{m≥1} (−1)ᵐ·c_{2m+1}·h^{2m}      ≤ (P/3)·q/(1 − q)
    richardson    (4·D(h) − D(2h))/3 − f'(0)    = Σ_{m≥2} c_{2m+1}·h^{2m}·(4 − 4ᵐ)/3 ≤ (P/15)·(16q²/(1 − 4q) − 4q²/(1 − q))

A stencil that leaves the disc (t ≥ 1; 2t ≥ 1 for Richardson) has no bound: the step is too large for
the weight to be decided, and the check says so instead of comparing (a fitted truncation estimate is
not a bound there: steps of 1, 10 or 1e300 failed correct gradients).

**R and P for ˡwʲᵢ.** Moving it by ζ moves only ˡzᵢ, by ζ·X̄ʲ (per sample). Each activation is analytic on
a disc around a real z of radius below its distance to its nearest singularity: σ and softplus
√(z² + π²) (poles of σ at iπ(2k + 1)), tanh √(z² + π²/4), ReLU |z| (its kink), the identity ∞. Discs of
radius ρ = min(distance/2, 1) are used (half the distance keeps the bounds below finite; beyond 1 the
bound on a saturated unit's slope grows like e^(2ρ) faster than the 1/ρ² it buys), and on each disc
|a'| is bounded in closed form (``derivative_sup``: |sech²(x + iy)| = 1/(sinh²x + cos²y) for tanh and
σ' = sech²(z/2)/4, |σ(x + iy)| ≤ 1/(1 + e^(−x)·cos y) for softplus'). So a move of ˡzᵢ within rᵢ moves
aᵢ by at most Aᵢ = rᵢ·sup|a'|, each z of the next layer by |W̄ₖᵢ|·Aᵢ ≤ β·maxᵢ|W̄ₖᵢ|, and the layers above
by |W̄|·(sup|a'|⊙moves): a move envelope linear in β. The largest β that keeps every envelope within its
unit's ρ makes f analytic for |ζ| ≤ R = minᵦ rᵢ/|X̄ʲ| (the minimum over the samples). P follows from
the same envelope, backwards: sup|∂E/∂z| at the output over its moves (closed forms per loss: the
softmax's denominator Σⱼ aⱼ·e^(δⱼ) keeps a real part ≥ Σⱼ aⱼ·e^(−sⱼ)·cos sⱼ for moves sⱼ < π/2), then
Φ[m] = sup|a'|⊙(|W̄|ᵀ·Φ[m+1]) down to the perturbed unit, and P = Σ over samples of |X̄ʲ|·Φᵢ (the
batch's mean or sum). Everything is linear in the weights: one envelope pass up and one down per layer.

Along a direction V̄ (the cheap tier) the same argument runs with every layer pushed: z[m] moves by at
most |ζ|·|V̄[m]|·(|X̄[m]| + its own move) + |W̄[m]|·(the move of X̄[m]), and P ≤ Σₘ Φ[m]·|V̄[m]|·(…).
"""

from __future__ import annotations

import numpy as np

from gradproof.derive.model.network import Network
from gradproof.numeric.compiled.matrix import Forward
from gradproof.numeric.differences.output_bounds import ETA, exclusive_sums, gamma

RADIUS_CAP = 1.0
#: the softmax's moves stay below π/4, so every e^(δⱼ) keeps a real part ≥ e^(−sⱼ)·cos sⱼ > 0
SOFTMAX_RADIUS = np.pi / 4
_KNOWN = ("sigmoid", "softplus", "tanh", "relu", "identity")


def radius(act, z: np.ndarray) -> np.ndarray:
    """ρ: the radius of the disc around each real z on which ``act`` is used (0 where none is known)."""
    if act.name == "softmax":
        return np.full(z.shape, SOFTMAX_RADIUS)
    if act.name not in _KNOWN:
        return np.zeros(z.shape)  # an activation defined elsewhere: no analyticity bound, no truncation bound
    distance = {"sigmoid": lambda: np.hypot(z, np.pi), "softplus": lambda: np.hypot(z, np.pi),
                "tanh": lambda: np.hypot(z, np.pi / 2), "relu": lambda: np.abs(z),
                "identity": lambda: np.full(z.shape, np.inf)}[act.name]()
    return np.minimum(distance / 2, RADIUS_CAP)


def derivative_sup(act, z: np.ndarray, r: np.ndarray) -> np.ndarray:
    """An upper bound of |a'| over the complex disc of radius r ≤ min(ρ, 1) around each real z."""
    off = np.maximum(0.0, np.abs(z) - r)  # the smallest |Re| on the disc
    with np.errstate(over="ignore"):
        if act.name == "sigmoid":
            bound = 0.25 / (np.sinh(off / 2) ** 2 + np.cos(r / 2) ** 2)
        elif act.name == "tanh":
            bound = 1.0 / (np.sinh(off) ** 2 + np.cos(r) ** 2)
        elif act.name == "softplus":
            bound = _sigmoid_modulus(z + r, r)
        elif act.name == "relu":
            bound = (z > 0).astype(float)
        elif act.name == "identity":
            bound = np.ones(z.shape)
        else:
            bound = np.full(z.shape, np.inf)
    return bound + ETA


def _sigmoid_modulus(right: np.ndarray, r: np.ndarray) -> np.ndarray:
    """|σ(x + iy)| ≤ 1/(1 + e^(−right)·cos r) for x ≤ right, |y| ≤ r < π/2, without overflow."""
    e = np.exp(-np.abs(right))
    return np.where(right >= 0, 1 / (1 + e * np.cos(r)), e / (e + np.cos(r)))


def output_sup(network: Network, fwd: Forward, y: np.ndarray, moves: np.ndarray, single: bool) -> np.ndarray:
    """sup |∂E/∂zₖ| at the output when every zⱼ moves within ``moves``ⱼ (``single``: only zₖ moves, within
    ``moves``ₖ, the others stay): (n, B)."""
    act, loss = network.activations[-1], network.loss
    z, a = fwd.z[-1], fwd.output
    if loss.name not in ("half-sse", "mse", "bce", "softmax-ce"):
        return np.full(z.shape, np.inf)  # a loss of your own: its singularities are not known, no bound
    if act.name == "softmax":
        return _softmax_sup(loss.name, a, y, moves, single)
    slope = derivative_sup(act, z, moves)
    if loss.name == "bce":
        return np.abs(a - y) + moves * slope
    scale = 2.0 / z.shape[0] if loss.name == "mse" else 1.0
    return scale * (np.abs(a - y) + moves * slope) * slope


def _softmax_sup(loss: str, a, y, s, single: bool) -> np.ndarray:
    """Moved softmax entries are bounded by aⱼ·e^(sⱼ)/D with D = Σⱼ aⱼ·e^(−sⱼ)·cos sⱼ, and 1 − aₖ (the
    others' share) by Σ_{j≠k} aⱼ·e^(sⱼ)/D."""
    own = a * np.exp(s)
    if single:   # D differs per moved unit: the others' terms stay aⱼ
        rest = exclusive_sums(a)
        den = rest + a * np.exp(-s) * np.cos(s)
        others = rest
    else:
        den = np.sum(a * np.exp(-s) * np.cos(s), axis=0, keepdims=True)
        others = exclusive_sums(own)
    if loss == "softmax-ce":   # ∂E/∂zₖ = aₖ·Σy − yₖ = (Σy − 1)·aₖ + (1 − yₖ)·aₖ − yₖ·(1 − aₖ)
        off = np.abs(np.sum(y, axis=0, keepdims=True) - 1)
        return ((off + np.abs(1 - y)) * own + np.abs(y) * others) / den
    scale = 2.0 / a.shape[0] if loss == "mse" else 1.0   # ∂E/∂zₖ = aₖ·(gₖ − Σⱼ aⱼ·gⱼ), g = c·(a − y)
    moved = own / den
    g = scale * (moved + np.abs(y))
    if single:
        rest = scale * (exclusive_sums(a * a) / den ** 2 + exclusive_sums(a * np.abs(y)) / den)
        return moved * (g + moved * g + rest)
    return moved * (g + np.sum(moved * g, axis=0, keepdims=True))


def unit_bounds(network: Network, wbar, fwd: Forward, y: np.ndarray, layer: int):
    """(r, Φ) for the units of z[layer]: the radius rᵢ of the disc each may move in (per sample) with
    every activation and the loss analytic, and Φᵢ = sup |∂E/∂z[layer]ᵢ| while it does: (n, B) each."""
    acts, depth, bias = network.activations, network.depth, int(network.bias)
    rho = [radius(acts[m], fwd.z[m]) for m in range(depth)]
    if layer == depth - 1:
        return rho[layer], output_sup(network, fwd, y, rho[layer], single=True)
    slope = [derivative_sup(acts[m], fwd.z[m], rho[m]) for m in range(depth - 1)]
    absw = [np.abs(w[:, bias:]) for w in wbar]
    # moves per unit of β: z[layer + 1] by maxᵢ |W̄ₖᵢ|, then |W̄|·(sup|a'|⊙moves) above
    tau = {layer + 1: np.broadcast_to(np.max(absw[layer + 1], axis=1, keepdims=True), fwd.z[layer + 1].shape)}
    for m in range(layer + 1, depth - 1):
        tau[m + 1] = absw[m + 1] @ (slope[m] * tau[m])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        beta = np.min([np.min(np.where(tau[m] > 0, rho[m] / tau[m], np.inf), axis=0) for m in tau], axis=0)
        r = np.where(slope[layer] > 0, np.minimum(rho[layer], beta / slope[layer]), rho[layer])
        moves = {m: np.where(t > 0, beta * t, 0.0) for m, t in tau.items()}
    phi = output_sup(network, fwd, y, moves[depth - 1], single=False)
    for m in range(depth - 2, layer, -1):
        phi = derivative_sup(acts[m], fwd.z[m], moves[m]) * (absw[m + 1].T @ phi)
    return r, derivative_sup(acts[layer], fwd.z[layer], r) * (absw[layer + 1].T @ phi)


def weight_bounds(network: Network, wbar, fwd: Forward, y: np.ndarray, layer: int, reduction: str):
    """(R, P) for every weight of W̄[layer]: E is analytic in the weight on |ζ| ≤ R, and |∂E/∂w| ≤ P there."""
    r, phi = unit_bounds(network, wbar, fwd, y, layer)
    absx = np.abs(fwd.xbar[layer])
    scale = 1.0 / absx.shape[1] if reduction == "mean" else 1.0
    sizes = sum(network.sizes)
    p = (phi @ absx.T) * scale * (1 + gamma(4 * sizes + absx.shape[1] + 20))
    big = np.full(p.shape, np.inf)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for b in range(absx.shape[1]):
            big = np.minimum(big, np.where(absx[None, :, b] > 0, r[:, b, None] / absx[None, :, b], np.inf))
    return np.where(np.isnan(big), 0.0, big), p


def directional_bounds(network: Network, wbar, direction, fwd: Forward, y: np.ndarray, reduction: str):
    """(R, P) for E along W̄ + ζ·V̄: analytic on |ζ| ≤ R, |d/dζ E| ≤ P there (see the module doc)."""
    acts, depth, bias = network.activations, network.depth, int(network.bias)
    rho = [radius(acts[m], fwd.z[m]) for m in range(depth)]
    reach = [derivative_sup(acts[m], fwd.z[m], rho[m]) * rho[m] for m in range(depth - 1)]  # moves of a
    slope = [derivative_sup(acts[m], fwd.z[m], rho[m]) for m in range(depth - 1)]
    pad = (lambda v: np.vstack([np.zeros_like(v[:1]), v])) if bias else (lambda v: v)
    pushes = [np.abs(direction[0]) @ np.abs(fwd.xbar[0])]
    tau = [np.abs(direction[0] @ fwd.xbar[0])]
    for m in range(1, depth):
        pushes.append(np.abs(direction[m]) @ (np.abs(fwd.xbar[m]) + pad(reach[m - 1])))
        tau.append(pushes[-1] + np.abs(wbar[m]) @ pad(slope[m - 1] * tau[-1]))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        big = min(float(np.min(np.where(t > 0, r / t, np.inf))) for t, r in zip(tau, rho))
        moves = [np.where(t > 0, big * t, 0.0) for t in tau]
    phi = output_sup(network, fwd, y, moves[-1], single=False)
    total = np.sum(phi * pushes[-1], axis=0)
    for m in range(depth - 2, -1, -1):
        phi = derivative_sup(acts[m], fwd.z[m], moves[m]) * (np.abs(wbar[m + 1][:, bias:]).T @ phi)
        total = total + np.sum(phi * pushes[m], axis=0)
    p = float(np.sum(total)) * (1.0 / total.size if reduction == "mean" else 1.0)
    return big, p * (1 + gamma(4 * sum(network.sizes) + total.size + 20))


def truncation(method: str, h, big_r, p):
    """The truncation bound of ``method`` at step h on a disc of radius R with |f'| ≤ P (module doc);
    inf where the stencil leaves the disc."""
    h, big_r, p = np.asarray(h, dtype=float), np.asarray(big_r, dtype=float), np.asarray(p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        t = np.where(np.isinf(big_r), 0.0, h / big_r)
        q = t * t
        reach = 2 * t if method == "richardson" else t
        if method == "forward":
            bound = p / 2 * t / (1 - t)
        elif method == "richardson":
            bound = p / 15 * (16 * q * q / (1 - 4 * q) - 4 * q * q / (1 - q))
        else:
            bound = p / 3 * q / (1 - q)
        bound = np.where(t == 0, 0.0, bound)
        return np.where((reach < 1) & np.isfinite(bound), bound, np.inf)

"""The check of a network with convolutions: every weight's gradient under test against its complex step,
carried in forward mode (:mod:`gradproof.numeric.differences.conv_tangents`), each with its own tolerance
(:mod:`gradproof.numeric.differences.conv_bounds`); and first the cheap tier, ⟨∇E, v⟩ against the complex
step along one seeded random direction v.

:func:`compare` gives the numbers; :func:`gradproof.numeric.checks.check.check_gradient` makes them the
same :class:`CheckResult` a dense network's check gives (report, JSON, diagnosis). Weights whose tangent
passes a unit within rounding of a kink (ReLU at 0) cannot be decided: a failure elsewhere is still
reported, and a check that would pass with such weights raises :class:`FiniteDifferenceUnreliable`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from gradproof.derive.errors import InputError
from gradproof.derive.model.network import Network
from gradproof.derive.runtime.progress import Progress
from gradproof.numeric.checks.conv_mistakes import CONV_MISTAKES
from gradproof.numeric.compiled.conv import ConvForward, conv_psi_gradient, forward
from gradproof.numeric.differences import conv_bounds as bounds
from gradproof.numeric.differences.complex_step import SPLIT_STEP
from gradproof.numeric.differences.conv_direction import direction_bound
from gradproof.numeric.differences.conv_tangents import Point, absolute, derivatives, linearize, pushes
from gradproof.numeric.differences.error_model import gamma
from gradproof.numeric.errors import FiniteDifferenceUnreliable

PSI_NAME = "the Ψ recurrence in matrix form, through the convolutions"


@dataclass(frozen=True, eq=False)
class Setup:
    """The point, the slack of its slopes and the kink marks: what both tiers start from."""

    fwd: ConvForward
    point: Point
    delta_z: list
    slope_slack: list
    out_slack: np.ndarray
    absw: list              # |W̄| per layer, taken once

    def magnitudes(self, chain: int) -> Point:
        """The point of magnitudes for a chain of ``chain`` roundings, slack as floors."""
        slopes, out = bounds.floors(chain, self.slope_slack, self.out_slack)
        return absolute(self.point, slopes, out, self.absw)


def setup(network: Network, wbar, x, y, reduction: str) -> Setup:
    fwd = forward(network, wbar, x, y)
    point = linearize(network, wbar, fwd, y, reduction)
    absw = [np.abs(w) for w in wbar]
    delta_z = bounds.forward_rounding(network, wbar, fwd, point.slopes, absw)
    point = replace(point, kinks=bounds.kink_masks(network, fwd, delta_z))
    slacks = [bounds.slope_slack(act, z, s, dz) for act, z, s, dz in
              zip(network.activations[:-1], fwd.z, point.slopes, delta_z)]
    out = bounds.output_slack(network, fwd.z[-1], y, delta_z[-1]) / (x.shape[1] if reduction == "mean" else 1)
    return Setup(fwd, point, delta_z, slacks, out, absw)


@dataclass(frozen=True, eq=False)
class ConvFindings:
    """What :func:`compare` found: the arguments of a check's Comparison and DirectionCheck."""

    analytic_name: str
    comparison: tuple | None     # (analytic, direct = None, complex step, tolerance, share), per layer
    direction: tuple             # (⟨analytic, v⟩, complex step along v, tolerance)
    seconds: float
    diagnosis: tuple


def compare(sample, gradient=None, method: str = "complex-step", step: float | None = None,
            reduction: str = "mean", tier: str = "full", direction_seed: int = 0,
            progress: bool | None = False) -> ConvFindings:
    """The gradient under test (default: the Ψ recurrence) against the forward-mode complex step."""
    network = sample.network
    if method != "complex-step":
        raise InputError(f"--method {method} supports dense layers only: a network with convolutions is checked "
                         f"by the complex step (the default)")
    if step is not None and not 0 < step <= SPLIT_STEP:
        raise InputError(f"--step {step:g}: a network with convolutions is checked by the complex step with its "
                         f"tangents carried apart from the real parts, at a step of at most {SPLIT_STEP:g}")
    x, y = sample.columns()
    if gradient is None:
        def gradient(wbar, xs, ys, r):
            return conv_psi_gradient(network, wbar, xs, ys, r)
    start = time.perf_counter()
    analytic = [np.asarray(g, dtype=float) for g in gradient(sample.wbar, x, y, reduction)]
    prepared = setup(network, list(sample.wbar), x, y, reduction)
    direction = _direction(network, analytic, prepared, y, reduction, direction_seed)
    comparison, diagnosis = None, ()
    if tier == "full" or abs(direction[0] - direction[1]) > direction[2]:
        comparison = _per_weight(network, analytic, prepared, x.shape[1], progress)
        diagnosis = diagnose(sample, analytic, comparison, reduction)
    return ConvFindings(PSI_NAME, comparison, direction, time.perf_counter() - start, diagnosis)


def complex_step_gradient(sample, reduction: str = "mean") -> list[np.ndarray]:
    """Every weight's ∂E/∂w by the forward-mode complex step, shaped like W̄ (no tolerance, no verdict)."""
    x, y = sample.columns()
    prepared = setup(sample.network, list(sample.wbar), x, y, reduction)
    return derivatives(lambda layer: prepared.point)[0]


@lru_cache(maxsize=4)
def random_direction(seed: int, shapes: tuple) -> tuple:
    """A seeded direction, uniform in [−1, 1) per weight (one draw for all: several times faster than
    normal numbers), and its absolute values; kept read-only for the next check of the same shapes."""
    sizes = [int(np.prod(s)) for s in shapes]
    flat = np.random.default_rng(seed).random(sum(sizes)) * 2 - 1
    v = [part.reshape(s) for part, s in zip(np.split(flat, np.cumsum(sizes)[:-1]), shapes)]
    absv = [np.abs(d) for d in v]
    for d in v + absv:
        d.flags.writeable = False
    return tuple(v), tuple(absv)


def _direction(network: Network, analytic, prepared: Setup, y, reduction: str, seed: int) -> tuple:
    """(⟨g, v⟩, Im E(W̄ + i·h·V̄)/h, the bound on their difference: :mod:`.conv_direction`)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise InputError(f"direction_seed must be an integer, not {seed!r}")
    v, absv = random_direction(int(seed), tuple(network.shapes))
    point = prepared.point
    found = pushes(point, v)
    value = float(np.sum(point.out * found[-1]))
    claimed = inner(analytic, v)
    magnitudes = absolute(point, prepared.slope_slack, prepared.out_slack, prepared.absw)  # |Ψ| is bounded from these
    bound = direction_bound(network, point.wbar, prepared.fwd, point, magnitudes, prepared.slope_slack,
                            prepared.out_slack, prepared.delta_z, found, absv, analytic)
    return claimed, value, bound


_BLOCK = 1024
_TICKS = 1000


def inner(grads, v) -> float:
    """⟨g, v⟩ in blocks of 1024 products, the block sums added exactly (math.fsum): within
    γ(1025)·Σ|g|·|v| + u·|⟨g, v⟩| however many weights there are."""
    parts = []
    for g, d in zip(grads, v):
        g, d = g.reshape(-1), d.reshape(-1)
        whole = len(g) - len(g) % _BLOCK
        parts.extend(np.einsum("ij,ij->i", g[:whole].reshape(-1, _BLOCK), d[:whole].reshape(-1, _BLOCK)).tolist())
        parts.append(float(np.dot(g[whole:], d[whole:])))
    return math.fsum(parts)


def _per_weight(network: Network, analytic, prepared: Setup, samples: int, progress) -> tuple:
    """Every weight: its complex step, its tolerance and its share; weights through a kink unit get no
    share (undecided), and a check with no failure but such weights raises."""
    with Progress(2 * _TICKS, "complex step, every weight", enabled=progress) as bar:
        done = [0]

        def advance(fraction):  # the complex step is the first half of the work, the magnitudes the second
            bar.advance(int(fraction * _TICKS) - done[0])
            done[0] = int(fraction * _TICKS)
        values, flags = derivatives(lambda l: prepared.point, advance)
        chains = [bounds.chain_length(network, l, samples) for l in range(network.depth)]
        magnitude, _ = derivatives(lambda l: prepared.magnitudes(chains[l]), lambda f: advance(1 + f))
    tolerance = [bounds.tolerance(k, m) for k, m in zip(chains, magnitude)]
    shares = [_shares(np.abs(a - c), t) for a, c, t in zip(analytic, values, tolerance)]
    undecided = 0
    for share, flag in zip(shares, flags):
        if flag is not None:
            undecided += int(flag.sum())
            share[flag] = 0.0
    if undecided and not any((s > 1).any() for s in shares):
        raise FiniteDifferenceUnreliable(
            f"{undecided} weights pass a unit whose weighted sum is within rounding of a kink (ReLU at 0): their "
            "derivative there is a convention the complex step cannot settle; draw another --seed")
    return tuple(analytic), None, tuple(values), tuple(tolerance), tuple(shares)


def _shares(difference: np.ndarray, tolerance: np.ndarray) -> np.ndarray:
    """difference/tolerance elementwise, with 0/0 = 0, x/0 = inf, and NaN = inf (fails)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        share = difference / tolerance
    share[difference == 0] = 0.0
    share[np.isnan(share)] = np.inf
    return share


def diagnose(sample, analytic, comparison, reduction: str) -> tuple[str, ...]:
    """Sentences for a failed comparison: a known convolution mistake it matches, and where it starts."""
    network, shares, tolerance = sample.network, comparison[4], comparison[3]
    failing = [s > 1 for s in shares]
    if not any(f.any() for f in failing):
        return ()
    x, y = sample.columns()
    found = []
    for mistake in CONV_MISTAKES.values():
        with np.errstate(all="ignore"):
            theirs = mistake.recurrence.gradient(network, sample.wbar, x, y, reduction)
        if all(np.all(np.abs(a - t) <= tol) for a, t, tol in zip(analytic, theirs, tolerance)):
            found.append(f"this looks like a known mistake: {mistake.description} ({mistake.name})")
    layers = [layer for layer, f in enumerate(failing) if f.any()]
    text = f"wrong in layer{'s' if len(layers) > 1 else ''} {', '.join(map(str, layers))}"
    top = max(layers)
    if layers == list(range(top + 1)) and top < network.depth - 1:
        above = network.layers[top + 1]
        how = ("the transposed convolution: Ψ dilated by the stride, padded by k − 1, correlated with the "
               "kernel rotated by 180° and its channel axes swapped, the padding trimmed" if above.kind == "conv"
               else f"W̄[{top + 1}]ᵀ without the bias column, and the flattening undone")
        text += (f" and right above: the first wrong Ψ is Ψ[{top}], so look at the step that makes it from "
                 f"Ψ[{top + 1}] ({how}; then ⊙ a'(z[{top}]))")
    return tuple(found + [text])

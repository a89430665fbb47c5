"""The rounding of code we cannot read, measured: the Moré–Wild noise estimate.

Evaluate f at m + 1 points v + k·t·d along a tiny path (t ≈ 2⁻³⁰ relative, so that the smooth part of f
changes by t·f' per step and its k-th differences by tᵏ·f⁽ᵏ⁾, far below rounding for k ≥ 2). The k-th
differences Δᵏf of the table are then rounding only; for noise of standard deviation σ that is
independent from point to point, E[(Δᵏf)²] = σ²/γₖ with γₖ = (k!)²/(2k)! (J. Moré and S. Wild,
*Estimating computational noise*, SIAM J. Sci. Comput. 33, 2011). ``noise_level`` returns the largest
of the estimates σₖ = √(γₖ·mean((Δᵏf)²)) over k = 2 … m − 1, per entry of f. For φ a second estimate
from symmetric pairs along independent directions (:func:`pair_noise`) guards against the sawtooth a
single line can show; the larger is used. Where φ does not move along the path at all (:func:`flat`: a
forward whose values are quantised coarser than the float64 it returns), both are measured again along
coarser paths (:data:`COARSER`), as Moré and Wild's ECnoise does when h is too small.

The model built on it (stated in :mod:`gradproof.numeric.layers.check`): one evaluation of the user's
code is within ``KAPPA``·σ of its exact value. Rounding errors are bounded and, summed over many
operations, close to Gaussian; 8σ leaves a Gaussian tail of 1e-15 and covers the estimate from 8 points
being low by a factor of 2 (which has probability < 1e-3 for 6 differences of order 2).
"""

from __future__ import annotations

from math import factorial

import numpy as np

#: points on the path
POINTS = 8
#: the path's step, relative to max(1, |v|)
PATH_STEP = 2.0 ** -30
#: one evaluation is within KAPPA·σ of its exact value
KAPPA = 8.0


def gamma_k(k: int) -> float:
    return factorial(k) ** 2 / factorial(2 * k)


def noise_level(table: np.ndarray) -> np.ndarray:
    """σ per entry from ``table`` (POINTS values along the path on axis 0): the largest σₖ, k ≥ 2.
    Computed on the table divided by a power of two near each entry's largest value (exact): the squares
    of differences of values near 1e300 would overflow, those near 1e-200 underflow."""
    table = np.asarray(table, dtype=float)
    scale = power_of_two(np.max(np.abs(table), axis=0, initial=0.0))
    best = np.zeros(table.shape[1:])
    diff = np.diff(table / scale, n=1, axis=0)
    for k in range(2, table.shape[0]):
        diff = np.diff(diff, n=1, axis=0)
        sigma = np.sqrt(gamma_k(k) * np.mean(diff ** 2, axis=0))
        best = np.maximum(best, sigma)
    return best * scale


def power_of_two(size):
    """2ᵉ with size < 2ᵉ ≤ 2·size (1 where size is 0 or not finite): dividing by it is exact, and leaves
    numbers of magnitude ≤ 1, whose squares and sums of a few neither overflow nor underflow."""
    size = np.asarray(size, dtype=float)
    usable = np.isfinite(size) & (size > 0)
    exponent = np.frexp(np.where(usable, size, 1.0))[1]
    return np.where(usable, np.ldexp(1.0, exponent), 1.0)


#: pairs v ± t·rₖ for the symmetric estimate
PAIRS = 12
#: the path steps tried, in turn, where φ did not move at the one before (see :func:`flat`), and the format
#: whose grid that suggests, with its machine epsilon: float32's spacing is 2⁻²⁴ to 2⁻²³ relative, float16's 2⁻¹¹ to 2⁻¹⁰, bfloat16's
#: 2⁻⁸ to 2⁻⁷; each step is 8 to 16 times the spacing it is to cross (a path's direction has entries of
#: order one, some far smaller), and still small enough that the smooth part's second differences, t²·φ'',
#: stay below that format's rounding
COARSER = {2.0 ** -20: ("float32", 2.0 ** -23), 2.0 ** -7: ("float16", 2.0 ** -10), 2.0 ** -4: ("bfloat16", 2.0 ** -7)}


def flat(values) -> bool:
    """Whether φ hardly moved over a path and its pairs: fewer than half of the values distinct (the
    "noise not detected: h too small" case of Moré and Wild's ECnoise). Rounding that is independent from
    point to point repeats a value rarely; a forward whose values move in steps coarser than the path —
    one that rounds to float16 inside and returns float64, whose input grid is 2⁻¹¹ relative — repeats
    them, and its noise is then measured over a coarser path: one that crosses many of its steps."""
    values = np.asarray(values, dtype=float)
    return 2 * len(np.unique(values)) < len(values)


def pair_points(values: list[np.ndarray], rng: np.random.Generator, step: float = PATH_STEP) -> list[list[np.ndarray]]:
    """PAIRS pairs v + t·rₖ, v − t·rₖ along independent random directions rₖ (t as for the path)."""
    points = []
    for _ in range(PAIRS):
        steps = [rng.standard_normal(v.shape) * step * np.maximum(1.0, np.abs(v)) for v in values]
        points.append([v + s for v, s in zip(values, steps)])
        points.append([v - s for v, s in zip(values, steps)])
    return points


def pair_noise(center: float, values: np.ndarray) -> float:
    """σ from φ(v + t·rₖ) + φ(v − t·rₖ) − 2φ(v) (``values`` alternating + and −): rounding only (the smooth
    part is t²·rₖᵀHrₖ, far below it), with variance 6σ² for independent rounding.

    Why a second estimate: along one line the inputs move by a constant increment, and the rounding of an
    arithmetic progression is a sawtooth whose differences vanish except where it wraps, so the line may
    show no noise at all (measured: log(1 + e^(−8.3)) inside a softmax loss, where the sum's rounding, 1e-16,
    dwarfs the loss, 2e-4). Independent directions wrap independently, each with probability about ½."""
    scale = float(power_of_two(max(abs(center), float(np.max(np.abs(values), initial=0.0)))))
    plus, minus = np.asarray(values[0::2]) / scale, np.asarray(values[1::2]) / scale
    second = plus + minus - 2 * (center / scale)
    return float(np.sqrt(np.mean(second ** 2) / 6)) * scale


def path(values: list[np.ndarray], rng: np.random.Generator, step: float = PATH_STEP) -> list[list[np.ndarray]]:
    """POINTS points v + (k + 1)·t·d along a random direction (every input moves; the path never passes
    through v itself, so a kink exactly at v is never crossed)."""
    directions = [rng.standard_normal(v.shape) * step * np.maximum(1.0, np.abs(v)) for v in values]
    return [[v + (k + 1) * d for v, d in zip(values, directions)] for k in range(POINTS)]

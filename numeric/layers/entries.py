"""Finite differences of φ for one entry of one input, or along a direction, each with its error bound.

- **central** at step h = ε_φ^(1/3)·max(1, |v|), ε_φ the measured relative noise of φ (float64's ε for
  accurate code): M(k) = (φ(v + kh) − φ(v − kh))/(2kh) for k = 1, 2, 4, 8.
  Truncation: the three-term fit of :mod:`gradproof.numeric.differences.stencils` (|C| + |D| + 2·|G|).
  Rounding: the stencil's absolute weights (``rounding_weight``) times δφ/h, δφ the measured bound on one
  evaluation's rounding (:mod:`.noise`). **Kinks**: the one-sided differences (φ(v + kh) − φ(v))/(kh) and
  (φ(v) − φ(v − kh))/(kh) come from the same evaluations; where they differ by more than both their bounds
  the function has a kink within the step (relu at 0, a tie in max pooling) and no finite difference
  decides. Where truncation dominates rounding the step is retried 16 times smaller. A difference counts
  only if it also shows at the widest step 8h (M(8) with its own bound: the fitted terms at 8h and the
  rounding of M(8)): a real error shows at every step, while a rounding larger than measured shrinks 8
  times there; a mismatch at h alone is undecidable.
- **complex step** at h = 1e-20: Im φ(v + ih)/h, and −Im φ(v − ih)/h. For code that computes analytically
  the two are bit for bit the same (rounding commutes with conjugation); they differ where a comparison
  (max, >, argmax) takes another branch for +ih and −ih, which is a tie or a kink: that entry goes to the
  central difference. The complex step only screens: an entry it cannot confirm is decided by central.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from gradproof.numeric.differences import stencils

EPS = np.finfo(np.float64).eps
U = EPS / 2
TINY = np.finfo(np.float64).tiny
CENTRAL_STEP = EPS ** (1 / 3)
COMPLEX_STEP = 1e-20
#: a retry's step, relative to the first
RETRY = 1 / 16
_W_CENTRAL = float(stencils.rounding_weight("central"))
_W_ONE_SIDED = float(stencils.rounding_weight("forward"))


@dataclass(frozen=True)
class Line:
    """A central difference along one line (an entry or a direction) and what bounds its error."""

    value: float
    truncation: float
    rounding: float
    kink: bool
    step: float
    wide: float = 0.0              # M(8), the estimate at the widest step: a witness least hurt by rounding
    wide_tolerance: float = np.inf

    @property
    def tolerance(self) -> float:
        return self.truncation + self.rounding

    def differs_from(self, analytic: float, extra: float) -> bool:
        """Whether ``analytic`` (± ``extra``) differs from the derivative: beyond the bound at step h and at
        step 8h. A real error shows at every step; a mismatch at h alone is rounding underestimated."""
        return abs(analytic - self.value) > self.tolerance + extra and \
            abs(analytic - self.wide) > self.wide_tolerance + extra


def _fit(method: str, m: list[float]) -> tuple[float, float]:
    c, d, g = (sum(float(w) * mk for w, mk in zip(term, m)) for term in stencils.error_terms(method))
    return m[0], abs(c) + abs(d) + 2 * abs(g)


def central_line(phi_at, phi0: float, h: float, delta: float) -> Line:
    """The central difference of t ↦ φ at offset t (``phi_at``), φ(0) = ``phi0``, δφ = ``delta``."""
    plus = {k: phi_at(k * h) for k in stencils.SCALES}
    minus = {k: phi_at(-k * h) for k in stencils.SCALES}
    m = [(plus[k] - minus[k]) / (2 * k * h) for k in stencils.SCALES]
    value, truncation = _fit("central", m)
    c, d, g = (abs(sum(float(w) * mk for w, mk in zip(term, m))) for term in stencils.error_terms("central"))
    k = stencils.SCALES[-1]
    wide_tolerance = c * k ** 2 + d * k ** 4 + 2 * g * k ** 6 + (1 + _W_CENTRAL) * delta / h
    ahead, t_ahead = _fit("forward", [(plus[k] - phi0) / (k * h) for k in stencils.SCALES])
    behind, t_behind = _fit("forward", [(phi0 - minus[k]) / (k * h) for k in stencils.SCALES])
    one_sided = _W_ONE_SIDED * delta / h
    kink = abs(ahead - behind) > t_ahead + t_behind + 2 * one_sided
    return Line(value, truncation, _W_CENTRAL * delta / h, bool(kink), h, m[-1], wide_tolerance)


def settled_line(phi_at, phi0: float, h: float, delta: float) -> Line:
    """:func:`central_line`, retried at a smaller step where truncation dominates; the tighter kept."""
    line = central_line(phi_at, phi0, h, delta)
    if line.truncation > line.rounding and not line.kink:
        retry = central_line(phi_at, phi0, h * RETRY, delta)
        if retry.tolerance < line.tolerance or retry.kink:
            return retry
    return line


def central_step(delta: float, magnitude: float) -> float:
    """ε_φ^(1/3) for the relative noise ε_φ = δφ/Σ|dout·out| of the user's code (never below float64's ε):
    ε^(1/3) for code accurate to float64, larger for noisier code (float32 inside), where a smaller step
    would drown in rounding."""
    return max(EPS, delta / magnitude if magnitude > 0 else EPS) ** (1 / 3)


def entry_line(phi, values, slot: int, index: tuple, phi0: float, delta: float, step: float = CENTRAL_STEP) -> Line:
    """The central difference of φ along entry ``index`` of input ``slot``."""
    work = list(values)
    base = values[slot]

    def phi_at(t):
        moved = base.copy()
        moved[index] += t
        work[slot] = moved
        return phi(work)

    return settled_line(phi_at, phi0, step * max(1.0, abs(float(base[index]))), delta)


def direction_line(phi, values, directions: dict, phi0: float, delta: float, step: float = CENTRAL_STEP) -> Line:
    """The central difference of φ along ``directions`` (input slot → direction, |direction| ≤ max(1, |v|)),
    every input named moving at once."""
    work = list(values)

    def phi_at(t):
        for slot, direction in directions.items():
            work[slot] = values[slot] + t * direction
        return phi(work)

    return settled_line(phi_at, phi0, step, delta)


def complex_entry(phi_complex, values, slot: int, index: tuple) -> tuple[float, float]:
    """Im φ(v + ih)/h and −Im φ(v − ih)/h for entry ``index`` of input ``slot``."""
    work = [np.asarray(v, dtype=complex) if i == slot else v for i, v in enumerate(values)]
    base = work[slot]
    slopes = []
    for sign in (1, -1):
        moved = base.copy()
        moved[index] += sign * 1j * COMPLEX_STEP
        work[slot] = moved
        slopes.append(sign * phi_complex(work).imag / COMPLEX_STEP)
    return slopes[0], slopes[1]


def complex_direction(phi_complex, values, directions: dict) -> float:
    work = list(values)
    for slot, direction in directions.items():
        work[slot] = values[slot] + 1j * COMPLEX_STEP * direction
    return phi_complex(work).imag / COMPLEX_STEP


def complex_underflows(slope: float) -> bool:
    """Whether Im φ(v + ih) = h·slope (h = COMPLEX_STEP) lies below float64's normal range, widened by 2⁵³ (where
    a subnormal keeps fewer digits than the roundoff the comparison allows): the complex step then loses
    digits to underflow, and cannot confirm anything."""
    return COMPLEX_STEP * slope < TINY / U


def in_time(items, deadline: float):
    """The items, until ``deadline`` (time.perf_counter()) has passed: at least one."""
    for count, item in enumerate(items):
        if count and time.perf_counter() > deadline:
            return
        yield item

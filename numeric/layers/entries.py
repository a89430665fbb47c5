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
- **wider steps** (:func:`widened`), where the bound at h is mostly rounding (δφ/h) and too coarse to decide:
  a derivative far smaller than φ's other slopes (dw of an affine layer at x ~ 1e-12) moves φ by less than
  its rounding at step h. The same central difference at 16, 256, … times h (up to max(1, |v|)) has
  rounding 16, 256, … times smaller; each wider line comes with its own fitted truncation and kink test,
  and is kept only while truncation stays below rounding at the narrower step (φ is that smooth along the
  line), the wider line shows no kink, its bound is tighter, and its estimate lies within both bounds of
  the narrower one (two valid bounds on one derivative overlap; where they do not, the wider fit is wrong).
- **complex step** at h = 1e-20: Im φ(v + ih)/h, and −Im φ(v − ih)/h. For code that computes analytically
  the two are bit for bit the same (rounding commutes with conjugation); they differ where a comparison
  (max, >, argmax) takes another branch for +ih and −ih, which is a tie or a kink: that entry goes to the
  central difference. The complex step only screens: an entry it cannot confirm is decided by central.
"""

from __future__ import annotations

import time
import warnings
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
#: a wider step's factor, and the widest step, relative to max(1, |v|) (inputs move by up to 8 times it)
WIDEN = 16
WIDEST = 2.0 ** 12
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
    return _line(plus, minus, phi0, h, delta)


def _line(plus: dict, minus: dict, phi0: float, h: float, delta: float) -> Line:
    """The central difference from φ at ±kh (k in SCALES), with its bounds and kink test for δφ = ``delta``."""
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


def widened(sized_at, phi0: float, size0: float, line: Line, delta: float, widest: float, decided) -> Line:
    """``line`` retried at steps WIDEN, WIDEN², … times wider (up to ``widest``) while rounding dominates its
    bound, until ``decided(line)``; the widest line kept that passes the module doc's tests. ``sized_at(t)``
    is (φ, Σ|dout·out|) at offset t, ``size0`` that size at the point (:func:`_far_line`). A wider step the
    code cannot evaluate (it raises, or φ is not finite there) ends the widening."""
    while not (line.kink or decided(line)) and line.truncation <= line.rounding and line.step * WIDEN <= widest:
        try:
            wide = _far_line(sized_at, phi0, size0, line.step * WIDEN, delta)
        except Exception:  # noqa: BLE001 - the user's code, far from the point: outside its domain
            return line
        overlap = abs(wide.value - line.value) <= wide.tolerance + line.tolerance
        if wide.kink or not (np.isfinite(wide.value) and wide.tolerance < line.tolerance and overlap):
            return line
        line = wide
    return line


def _far_line(sized_at, phi0: float, size0: float, h: float, delta: float) -> Line:
    """:func:`central_line` at a wide step, where the inputs move by up to 8h: δφ, measured at the point, is
    scaled by how much Σ|dout·out| grew at the points evaluated (rounding grows with the size of what is
    computed; an affine layer's outputs grow linearly with its inputs), never below δφ. Floating-point warnings
    are silenced there: the points are gradproof's choice, maybe outside the code's domain (log of a negative
    number), which says nothing about the code at the point (a NaN there ends the widening)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        plus = {k: sized_at(k * h) for k in stencils.SCALES}
        minus = {k: sized_at(-k * h) for k in stencils.SCALES}
    with np.errstate(over="ignore", invalid="ignore"):  # φ may be inf this far out: the line is then refused
        largest = max(size for _, size in (*plus.values(), *minus.values()))
        growth = max(1.0, largest / size0) if size0 > 0 else (1.0 if largest == 0 else np.inf)
        grown = delta * growth if np.isfinite(growth) else np.inf
        return _line({k: v for k, (v, _) in plus.items()}, {k: v for k, (v, _) in minus.items()}, phi0, h, grown)


def _entry_path(phi, values, slot: int, index: tuple):
    """t ↦ φ with entry ``index`` of input ``slot`` moved by t."""
    work = list(values)
    base = values[slot]

    def phi_at(t):
        moved = base.copy()
        moved[index] += t
        work[slot] = moved
        return phi(work)

    return phi_at


def entry_line(phi, values, slot: int, index: tuple, phi0: float, delta: float, step: float = CENTRAL_STEP) -> Line:
    """The central difference of φ along entry ``index`` of input ``slot``."""
    size = max(1.0, abs(float(values[slot][index])))
    return settled_line(_entry_path(phi, values, slot, index), phi0, step * size, delta)


def wide_entry_line(sized, values, slot: int, index: tuple, at: tuple, line: Line, decided) -> Line:
    """:func:`widened` for entry ``index`` of input ``slot``, from its ``line`` at the usual step; ``sized`` is
    values ↦ (φ, Σ|dout·out|), ``at`` = (φ, Σ|dout·out|, δφ) at the point."""
    widest = WIDEST * max(1.0, abs(float(values[slot][index])))
    return widened(_entry_path(sized, values, slot, index), *at[:2], line, at[2], widest, decided)


def direction_line(phi, values, directions: dict, phi0: float, delta: float, step: float = CENTRAL_STEP) -> Line:
    """The central difference of φ along ``directions`` (input slot → direction, |direction| ≤ max(1, |v|)),
    every input named moving at once."""
    return settled_line(_direction_path(phi, values, directions), phi0, step, delta)


def _direction_path(phi, values, directions: dict):
    """t ↦ φ with every input named in ``directions`` moved by t times its direction."""
    work = list(values)

    def phi_at(t):
        for slot, direction in directions.items():
            work[slot] = values[slot] + t * direction
        return phi(work)

    return phi_at


def wide_direction_line(sized, values, directions: dict, at: tuple, line: Line, decided) -> Line:
    """:func:`widened` along ``directions`` (entries at most max(1, |v|)), from its ``line`` at the usual step
    (``sized`` and ``at`` as for :func:`wide_entry_line`)."""
    return widened(_direction_path(sized, values, directions), *at[:2], line, at[2], WIDEST, decided)


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

"""One input's gradient against the finite differences of φ: along random directions, then entry by entry.

An entry **agrees** when |analytic − finite difference| is within the tolerance (the finite difference's
bound plus the analytic side's rounding) and that tolerance is below ``RESOLUTION`` of the layer's
gradient scale (otherwise the comparison could not have caught a missing term of that size: the entry is
**undecidable**, as is an entry at a kink), and below ``RESOLUTION`` of its own input's gradient scale (a
gradient far smaller than the layer's others — dw of an affine layer at a tiny x — is not resolved by a
tolerance set by the large ones: a sign flip there could not have failed). It **differs** only on the central difference's verdict: the
complex step only confirms agreement. A direction is judged the same way, ⟨analytic, d⟩ against the
central difference along d.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from gradproof.numeric.differences.error_model import gamma
from gradproof.numeric.layers import entries as fd
from gradproof.numeric.layers.evaluation import Dropped
from gradproof.numeric.layers.result import AGREE, DIFFER, UNDECIDABLE, Direction, Entry

#: an agreement counts only where the tolerance is below this share of the layer's gradient scale
RESOLUTION = 1e-2
#: random directions per input
DIRECTIONS = 2
#: complex-step agreement: analytic rounding plus this many units of roundoff of both values
COMPLEX_ULPS = 16


@dataclass(frozen=True)
class Measures:
    """What every comparison of a check shares: φ at the point, the bound δφ on one evaluation's rounding,
    the central difference's step (relative to max(1, |v|)), and the scale resolution is judged against."""

    phi0: float
    delta: float
    step: float
    scale: float
    scales: tuple = ()   # per input: the largest returned entry (0: use the layer's scale)

    def scale_of(self, slot: int) -> float:
        """The scale an agreement on input ``slot`` is resolved against: its own gradient's largest entry,
        or the layer's scale where it returned zeros only."""
        own = self.scales[slot] if slot < len(self.scales) else 0.0
        return own if own > 0 else self.scale

    def resolved(self, tolerance: float, *values: float, slot: int | None = None) -> bool:
        scale = self.scale if slot is None else self.scale_of(slot)
        return tolerance <= RESOLUTION * max(scale, *map(abs, values))


@dataclass
class Judged:
    """What is known about one input's gradient so far."""

    slot: int
    value: np.ndarray
    claimed: np.ndarray | None               # None: missing or unusable (see ``problem``)
    delta: np.ndarray | None = None          # the analytic side's rounding bound per entry
    complex_ok: bool = False
    complex_reason: str = ""
    directions: list[Direction] = field(default_factory=list)
    entries: dict = field(default_factory=dict)         # index → Entry
    reference: dict = field(default_factory=dict)       # index → finite difference (every entry looked at)

    @property
    def failing(self) -> bool:
        return any(d.verdict == DIFFER for d in self.directions) or \
            any(e.verdict == DIFFER for e in self.entries.values())


def random_direction(value: np.ndarray, rng) -> np.ndarray:
    """Gaussian, scaled per entry by max(1, |v|), largest entry ±max(1, |v|)."""
    z = rng.standard_normal(value.shape)
    return z / max(np.max(np.abs(z)), 1e-300) * np.maximum(1.0, np.abs(value))


def joint_directions(ev, values, judged: list[Judged], m: Measures, rng, use_complex: bool) -> bool:
    """DIRECTIONS random directions moving every input with a usable gradient at once (a direction through
    a kink is replaced, up to twice). An error in any gradient shows along a random direction with
    probability 1, so agreement here covers every input; True when every direction agrees. The first
    direction also tells whether the complex step is trustworthy for all inputs together."""
    usable = [j for j in judged if j.claimed is not None]
    count, tries, agree = 0, 0, True
    while usable and count < DIRECTIONS and tries < DIRECTIONS + 2:
        tries += 1
        ds = {j.slot: random_direction(values[j.slot], rng) for j in usable}
        line = fd.direction_line(ev.phi, values, ds, m.phi0, m.delta, m.step)
        if line.kink:
            continue
        count += 1
        open_complex = [j for j in usable if not j.complex_reason]
        if use_complex and count == 1 and open_complex == usable:
            _validate_complex(ev, values, usable, ds, line)
        verdict = _direction_verdict(usable, ds, line, m)
        for j in usable:
            own = _own_share(verdict, j, ds[j.slot], m)
            j.directions.append(own)
            agree = agree and own.verdict == AGREE
    return bool(usable) and agree and count == DIRECTIONS


def directions(ev, values, judged: Judged, m: Measures, rng, use_complex: bool) -> None:
    """DIRECTIONS random directions of one input alone (to tell which input is wrong, or whether the
    complex step is trustworthy for it)."""
    judged.directions = []
    tries = 0
    while len(judged.directions) < DIRECTIONS and tries < DIRECTIONS + 2:
        tries += 1
        ds = {judged.slot: random_direction(values[judged.slot], rng)}
        line = fd.direction_line(ev.phi, values, ds, m.phi0, m.delta, m.step)
        if line.kink:
            continue
        if use_complex and not judged.complex_reason and not judged.complex_ok:
            _validate_complex(ev, values, [judged], ds, line)
        if judged.claimed is not None:
            judged.directions.append(_direction_verdict([judged], ds, line, m))
        else:
            judged.directions.append(Direction(float("nan"), line.value, line.tolerance, UNDECIDABLE))


def _validate_complex(ev, values, judged: list[Judged], ds: dict, line: fd.Line) -> None:
    """The complex step along ``ds`` against the central difference: trusted for these inputs, refused
    (dropped imaginary parts, an exception: for good), or undetermined when several inputs moved at once
    (each is then tried alone)."""
    try:
        slope = fd.complex_direction(ev.phi_complex, values, ds)
    except Dropped as dropped:
        reason = str(dropped)
    except Exception as error:  # noqa: BLE001 - the user's code refused complex numbers
        reason = f"it refuses complex numbers ({type(error).__name__}: {error})"
    else:
        if abs(slope - line.value) <= line.tolerance + COMPLEX_ULPS * fd.U * abs(slope):
            for j in judged:
                j.complex_ok = True
            return
        reason = _mismatch(slope, line)
    if len(judged) == 1 or "refuses" in reason or "discards" in reason or "real for complex" in reason:
        for j in judged:
            j.complex_reason = reason


def _mismatch(slope: float, line: fd.Line) -> str:
    """Why the complex step along a direction missed the central difference: gradproof's own arithmetic where
    it cannot be trusted (a central difference that is not finite, imaginary parts below the normal range),
    else the code's."""
    if not (np.isfinite(line.value) and np.isfinite(line.tolerance)):
        return (f"the central difference it is validated against is not finite here ({line.value:.1e} ± "
                f"{line.tolerance:.1e})")
    if not np.isfinite(slope):
        return f"along a random direction it is {slope}: the forward's complex arithmetic overflows at these values"
    if fd.complex_underflows(abs(line.value) + line.tolerance):
        return (f"its imaginary parts, {fd.COMPLEX_STEP:g} times a slope of about {abs(line.value):.1e}, fall below "
                "float64's normal range and lose their digits (gradproof's step, not your code)")
    return (f"along a random direction it gives {slope:.6e}, the central difference {line.value:.6e} ± "
            f"{line.tolerance:.1e}: the code loses imaginary parts somewhere (abs, var, .real, a float buffer)")


def _own_share(verdict: Direction, judged: Judged, d: np.ndarray, m: Measures) -> Direction:
    """A joint direction's agreement, for one input: undecidable where that input's own part of it
    (its gradient's scale along d) is below the resolution of the joint tolerance."""
    if verdict.verdict != AGREE or verdict.tolerance <= RESOLUTION * m.scale_of(judged.slot) * float(np.sum(np.abs(d))):
        return verdict
    return Direction(verdict.analytic, verdict.finite_difference, verdict.tolerance, UNDECIDABLE, verdict.joint)


def _direction_verdict(judged: list[Judged], ds: dict, line: fd.Line, m: Measures) -> Direction:
    terms = [j.claimed * ds[j.slot] for j in judged]
    analytic = float(sum(np.sum(t) for t in terms))
    size = sum(t.size for t in terms)
    absolute = sum(float(np.sum(np.abs(t))) for t in terms)
    tolerance = line.tolerance + sum(float(np.sum(np.abs(ds[j.slot]) * j.delta)) for j in judged) + \
        gamma(size) * absolute
    reach = sum(m.scale_of(j.slot) * float(np.sum(np.abs(ds[j.slot]))) for j in judged)
    if line.differs_from(analytic, tolerance - line.tolerance):
        verdict = DIFFER
    elif abs(analytic - line.value) > tolerance:
        verdict = UNDECIDABLE
    elif tolerance <= RESOLUTION * max(reach, abs(line.value)):
        verdict = AGREE
    else:
        verdict = UNDECIDABLE
    return Direction(analytic, line.value, tolerance, verdict, len(judged) > 1)


def sweep_entries(ev, values, judged: Judged, order, m: Measures, deadline: float) -> None:
    """Entries in ``order`` not looked at yet, until ``deadline``: complex step first where trusted,
    central where it cannot confirm."""
    todo = [index for index in order if index not in judged.reference]
    for index in fd.in_time(todo, deadline):
        entry = None
        if judged.complex_ok:
            try:
                entry = _complex_entry(ev, values, judged, index, m)
            except Exception as error:  # noqa: BLE001 - complex with this input alone: refused or dropped
                judged.complex_ok = False
                judged.complex_reason = f"with only {judged.value.shape} complex it fails ({type(error).__name__}: " \
                                        f"{error})"
        if entry is None:
            entry = _central_entry(ev, values, judged, index, m)
        judged.reference[index] = entry.finite_difference
        if entry.analytic == entry.analytic:  # not NaN: there is a claimed value to judge
            judged.entries[index] = entry


def _complex_entry(ev, values, judged: Judged, index, m: Measures) -> Entry | None:
    ahead, behind = fd.complex_entry(ev.phi_complex, values, judged.slot, index)
    if fd.complex_underflows(max(abs(ahead), abs(behind))) or not np.isfinite(ahead):
        return None  # its imaginary part lost digits to underflow (or overflowed): for the central difference
    if abs(ahead - behind) > 4 * fd.U * (abs(ahead) + abs(behind)):
        return None  # +ih and −ih take different branches: a tie or a kink, for the central difference
    if judged.claimed is None:
        return Entry(index, float("nan"), ahead, 0.0, UNDECIDABLE, "complex-step")
    analytic = float(judged.claimed[index])
    tolerance = float(judged.delta[index]) + COMPLEX_ULPS * fd.U * (abs(ahead) + abs(analytic))
    if abs(analytic - ahead) <= tolerance and m.resolved(tolerance, ahead, slot=judged.slot):
        return Entry(index, analytic, ahead, tolerance, AGREE, "complex-step")
    return None  # differs, or agrees only within a tolerance that could not have failed: for the central


def _central_entry(ev, values, judged: Judged, index, m: Measures) -> Entry:
    line = fd.entry_line(ev.phi, values, judged.slot, index, m.phi0, m.delta, m.step)
    if judged.claimed is None:
        return Entry(index, float("nan"), line.value, line.tolerance, UNDECIDABLE, "central")
    analytic = float(judged.claimed[index])
    tolerance = line.tolerance + float(judged.delta[index])
    if line.kink:
        return Entry(index, analytic, line.value, tolerance, UNDECIDABLE, "central",
                     "a kink within the step (the one-sided slopes differ): no derivative to compare with")
    if line.differs_from(analytic, float(judged.delta[index])):
        return Entry(index, analytic, line.value, tolerance, DIFFER, "central")
    if abs(analytic - line.value) > tolerance:
        return Entry(index, analytic, line.value, tolerance, UNDECIDABLE, "central",
                     "the finite differences at steps h and 8h disagree beyond their bounds: the forward's rounding "
                     "is larger than measured here")
    if not m.resolved(tolerance, line.value, slot=judged.slot):
        return Entry(index, analytic, line.value, tolerance, UNDECIDABLE, "central",
                     f"the finite difference is only good to {tolerance:.1e} here (a steep change or a kink "
                     "within its step)")
    return Entry(index, analytic, line.value, tolerance, AGREE, "central")


def bisect_entries(ev, values, judged: Judged, m: Measures, rng, deadline: float, limit: int = 8) -> None:
    """Find wrong entries not checked yet by halving: a random direction over one half of the candidates
    (zero elsewhere) differs only if that half holds a wrong entry; a lone candidate is then checked as an
    entry. Costs about 2·log₂(n) directions per wrong entry, for an error too sparse for a sample to hit."""
    groups = [[i for i in entry_order(judged.value.shape, rng) if i not in judged.reference]]
    found = 0
    while groups and found < limit and time.perf_counter() < deadline:
        group = groups.pop()
        if len(group) == 1:
            sweep_entries(ev, values, judged, group, m, np.inf)
            found += any(e.verdict == DIFFER for e in [judged.entries.get(group[0])] if e is not None)
            continue
        for half in (group[:len(group) // 2], group[len(group) // 2:]):
            if _half_differs(ev, values, judged, half, m, rng):
                groups.append(half)


def _half_differs(ev, values, judged: Judged, half: list, m: Measures, rng) -> bool:
    full = random_direction(values[judged.slot], rng)
    d = np.zeros_like(full)
    for index in half:
        d[index] = full[index]
    line = fd.direction_line(ev.phi, values, {judged.slot: d}, m.phi0, m.delta, m.step)
    return not line.kink and _direction_verdict([judged], {judged.slot: d}, line, m).verdict == DIFFER


def entry_order(shape: tuple, rng) -> list[tuple]:
    indices = list(np.ndindex(*shape))
    return [indices[i] for i in rng.permutation(len(indices))]


def now() -> float:
    return time.perf_counter()

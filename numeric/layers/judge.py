"""One input's gradient against the finite differences of φ: along random directions, then entry by entry.

A verdict of **agree** only comes from a comparison that could have failed: |analytic − finite difference|
is within the tolerance (the finite difference's bound plus the analytic side's rounding), and that
tolerance is below ``RESOLUTION`` of the size of the derivative in question — the input's own gradient scale
(its largest returned entry) or the derivative measured, never the layer's scale: a gradient far smaller
than the layer's others (dw of an affine layer at a tiny x) is not resolved by a tolerance set by the large
ones, and a gradient returned as all zeros says nothing about the size of the true one (it agrees only where
the tolerance is below float64's normal range: :func:`resolves`). Otherwise the entry is **undecidable**, as
is an entry at a kink.

It **differs** only on the central difference's verdict (real arithmetic), at the usual step or, where φ's
rounding hides the difference there, at a wider one (:func:`.entries.widened`). The complex step confirms
agreement, for an input only where its validation along a random direction (against the central
difference) resolved that input's part (:func:`_validates`). Where it disagrees with the claimed value by
more than both sides' rounding and than an agreement tolerates, its value is a :class:`Witness` the central
difference must answer: the entry agrees only if the central difference refutes the complex step's value,
differs if it refutes the claimed one (that line, and the complex step's value, are printed), and is
undecidable otherwise. The complex step alone never refutes: validated along one direction, it may still be
wrong for single entries (code in which part of the imaginary parts is dropped or doubled — ``w *
np.sign(w)`` doubles it — below what that direction resolves). A direction is judged the same way,
⟨analytic, d⟩ against the central difference along d.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from gradproof.numeric.differences.error_model import gamma
from gradproof.numeric.layers import entries as fd
from gradproof.numeric.layers.evaluation import Dropped
from gradproof.numeric.layers.result import AGREE, DIFFER, UNDECIDABLE, Direction, Entry

#: an agreement counts only where the tolerance is below this share of the size of the derivative in question
RESOLUTION = 1e-2
#: random directions per input
DIRECTIONS = 2
#: complex-step agreement: analytic rounding plus this many units of roundoff of both values
COMPLEX_ULPS = 16


def resolves(tolerance: float, size: float) -> bool:
    """Whether a comparison within ``tolerance`` could have failed for a derivative of ``size``: the tolerance is
    below RESOLUTION of it, or below float64's smallest normal number, 2.2e-308 — such a comparison could have
    failed for any derivative float64 holds to full precision (below it, numbers are subnormal and keep fewer
    digits: no backward computes them better), which is how a gradient that is exactly zero, of relu at negative
    inputs, agrees, where its size says nothing."""
    return tolerance <= max(RESOLUTION * size, fd.TINY)


@dataclass(frozen=True)
class Measures:
    """What every comparison of a check shares: φ at the point, the bound δφ on one evaluation's rounding,
    the central difference's step (relative to max(1, |v|)), and per input the largest returned entry."""

    phi0: float
    delta: float
    step: float
    scales: tuple = ()
    size: float = 0.0    # Σ|dout·out| at the point (wider steps scale δφ by its growth)
    #: whether wider steps may be tried: not for a forward that rounds coarser inside than it returns (float16
    #: inside: φ moves in steps, flat between them, and a wide line's fit reads its plateaus as a slope)
    widens: bool = True

    @property
    def at(self) -> tuple:
        return self.phi0, self.size, self.delta

    def scale_of(self, slot: int) -> float:
        """The size an agreement on input ``slot`` is resolved against: its own gradient's largest entry. Never
        the layer's: a gradient returned as zeros (or tiny) says nothing about the size of the true one, which
        may be far below the other inputs' (then only a finite difference of that size resolves it)."""
        return self.scales[slot] if slot < len(self.scales) else 0.0

    def resolved(self, tolerance: float, *values: float, slot: int) -> bool:
        """Whether a comparison within ``tolerance`` could have failed: it is below RESOLUTION of the input's
        scale or of the size of the derivative measured (``values``, |finite difference|)."""
        return resolves(tolerance, max(self.scale_of(slot), *map(abs, values)))


@dataclass(frozen=True)
class Witness:
    """The complex step's value at an entry where it disagrees with the claimed one beyond both their bounds
    (``tolerance``: its own rounding)."""

    value: float
    tolerance: float


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
    name: str = "v"                                     # the input's name, and its gradient's, in reasons
    gradient: str = "the gradient"

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
            _validate_complex(ev, values, usable, ds, line, m)
        verdict = _direction_verdict(usable, ds, line, m)
        for j in usable:
            own = _own_share(verdict, j, ds[j.slot], m)
            j.directions.append(own)
            agree = agree and own.verdict == AGREE
    return bool(usable) and agree and count == DIRECTIONS


def directions(ev, values, judged: Judged, m: Measures, rng, use_complex: bool) -> None:
    """DIRECTIONS random directions of one input alone (to tell which input is wrong, or whether the
    complex step is trustworthy for it), at wider steps where φ's rounding hides its part at the usual one."""
    judged.directions = []
    tries = 0
    while len(judged.directions) < DIRECTIONS and tries < DIRECTIONS + 2:
        tries += 1
        ds = {judged.slot: random_direction(values[judged.slot], rng)}
        line = fd.direction_line(ev.phi, values, ds, m.phi0, m.delta, m.step)
        if line.kink:
            continue
        if judged.claimed is not None and m.widens:
            decided = lambda wider: _direction_verdict([judged], ds, wider, m).verdict != UNDECIDABLE
            line = fd.wide_direction_line(ev.phi_sized, values, ds, m.at, line, decided)
        if use_complex and not judged.complex_reason and not judged.complex_ok:
            _validate_complex(ev, values, [judged], ds, line, m)
        if judged.claimed is not None:
            judged.directions.append(_direction_verdict([judged], ds, line, m))
        else:
            judged.directions.append(Direction(float("nan"), line.value, line.tolerance, UNDECIDABLE))


def _validate_complex(ev, values, judged: list[Judged], ds: dict, line: fd.Line, m: Measures) -> None:
    """The complex step along ``ds`` against the central difference: trusted for these inputs where the
    comparison resolves each one's part (:func:`_validates`), refused (dropped imaginary parts, an exception:
    for good), or undetermined when several inputs moved at once (each is then tried alone)."""
    try:
        slope = fd.complex_direction(ev.phi_complex, values, ds)
    except Dropped as dropped:
        reason = str(dropped)
    except Exception as error:  # noqa: BLE001 - the user's code refused complex numbers
        reason = f"it refuses complex numbers ({type(error).__name__}: {error})"
    else:
        tolerance = line.tolerance + COMPLEX_ULPS * fd.U * abs(slope)
        if abs(slope - line.value) <= tolerance:
            for j in judged:
                j.complex_ok = _validates(tolerance, j, ds, line, m, alone=len(judged) == 1)
            return
        reason = _mismatch(slope, line)
    if len(judged) == 1 or "refuses" in reason or "discards" in reason or "real for complex" in reason:
        for j in judged:
            j.complex_reason = reason


def _validates(tolerance: float, judged: Judged, ds: dict, line: fd.Line, m: Measures, alone: bool) -> bool:
    """Whether an agreement of the complex step with the central difference within ``tolerance`` could have
    failed for this input: below RESOLUTION of its part along d (its scale times Σ|d|, or, moving alone, the
    slope measured). Else a dropped or doubled imaginary part of this input (``w * np.sign(w)`` doubles it)
    would pass unseen, and its complex-step "agreements" would confirm nothing. Moving alone, that is final:
    the complex step is not used for it."""
    reach = m.scale_of(judged.slot) * float(np.sum(np.abs(ds[judged.slot])))
    if resolves(tolerance, max(reach, abs(line.value) if alone else 0.0)):
        return True
    if alone:
        judged.complex_reason = (f"checked against the central difference along a random direction, it agrees only "
                                 f"within {tolerance:.1e}, which does not resolve ∂φ/∂{judged.name} there: a complex "
                                 "step wrong for it would have agreed too")
    return False


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
    if verdict.verdict != AGREE or resolves(verdict.tolerance, m.scale_of(judged.slot) * float(np.sum(np.abs(d)))):
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
    elif resolves(tolerance, max(reach, abs(line.value))):
        verdict = AGREE
    else:
        verdict = UNDECIDABLE
    return Direction(analytic, line.value, tolerance, verdict, len(judged) > 1)


def sweep_entries(ev, values, judged: Judged, order, m: Measures, deadline: float) -> None:
    """Entries in ``order`` not looked at yet, until ``deadline``: complex step first where trusted,
    central where it cannot confirm (with the complex step's value as a witness where it disagrees)."""
    todo = [index for index in order if index not in judged.reference]
    for index in fd.in_time(todo, deadline):
        entry, witness = None, None
        if judged.complex_ok:
            try:
                entry, witness = _complex_entry(ev, values, judged, index, m)
            except Exception as error:  # noqa: BLE001 - complex with this input alone: refused or dropped
                judged.complex_ok = False
                judged.complex_reason = f"with only {judged.value.shape} complex it fails ({type(error).__name__}: " \
                                        f"{error})"
        if entry is None:
            entry = _central_entry(ev, values, judged, index, m, witness)
        judged.reference[index] = entry.finite_difference
        if entry.analytic == entry.analytic:  # not NaN: there is a claimed value to judge
            judged.entries[index] = entry


def _complex_entry(ev, values, judged: Judged, index, m: Measures) -> tuple[Entry | None, Witness | None]:
    """The entry by the complex step where it confirms agreement; else (None, a :class:`Witness`) where it
    disagrees by more than both sides' rounding and than an agreement tolerates (RESOLUTION of the input's
    scale: a smaller gap is rounding of cancelling terms, which COMPLEX_ULPS of the result need not cover, or
    within what "agrees" means), or (None, None): for the central difference alone."""
    ahead, behind = fd.complex_entry(ev.phi_complex, values, judged.slot, index)
    if fd.complex_underflows(max(abs(ahead), abs(behind))) or not np.isfinite(ahead):
        return None, None  # its imaginary part lost digits to underflow (or overflowed): for the central difference
    if abs(ahead - behind) > 4 * fd.U * (abs(ahead) + abs(behind)):
        return None, None  # +ih and −ih take different branches: a tie or a kink, for the central difference
    if judged.claimed is None:
        return Entry(index, float("nan"), ahead, 0.0, UNDECIDABLE, "complex-step"), None
    analytic = float(judged.claimed[index])
    own = COMPLEX_ULPS * fd.U * abs(ahead)
    tolerance = float(judged.delta[index]) + own + COMPLEX_ULPS * fd.U * abs(analytic)
    gap = abs(analytic - ahead)
    if gap <= tolerance and m.resolved(tolerance, ahead, slot=judged.slot):
        return Entry(index, analytic, ahead, tolerance, AGREE, "complex-step"), None
    if gap > tolerance and gap > RESOLUTION * m.scale_of(judged.slot):
        return None, Witness(ahead, own)
    return None, None  # agrees only within a tolerance that could not have failed, or rounding: for the central


def _central_entry(ev, values, judged: Judged, index, m: Measures, witness: Witness | None = None) -> Entry:
    """The entry by the central difference; where that cannot decide it for φ's rounding, at wider steps."""
    line = fd.entry_line(ev.phi, values, judged.slot, index, m.phi0, m.delta, m.step)
    if judged.claimed is None:
        return Entry(index, float("nan"), line.value, line.tolerance, UNDECIDABLE, "central")
    entry = _line_entry(line, judged, index, m, witness)
    if entry.verdict != UNDECIDABLE or line.kink or not m.widens:
        return entry
    decided = lambda wider: _line_entry(wider, judged, index, m, witness).verdict != UNDECIDABLE
    wide = fd.wide_entry_line(ev.phi_sized, values, judged.slot, index, m.at, line, decided)
    if wide is line:
        return entry
    entry = _line_entry(wide, judged, index, m, witness)
    times = wide.step / line.step
    if entry.verdict == UNDECIDABLE:
        return replace(entry, reason=f"{entry.reason}; steps up to {times:.0f} times the usual one tried")
    where = f"at a step {times:.0f} times the usual one (φ's rounding hides it at the usual one)"
    return replace(entry, reason=f"{entry.reason}; {where}" if entry.reason else where)


def _line_entry(line: fd.Line, judged: Judged, index, m: Measures, witness: Witness | None) -> Entry:
    analytic, extra = float(judged.claimed[index]), float(judged.delta[index])
    tolerance = line.tolerance + extra

    def verdict(status: str, reason: str = "") -> Entry:
        return Entry(index, analytic, line.value, tolerance, status, "central", reason)

    if line.kink:
        return verdict(UNDECIDABLE, "a kink within the step (the one-sided slopes differ): no derivative to compare with")
    if line.differs_from(analytic, extra):
        return verdict(DIFFER, f"the complex step gives {witness.value:.6e}" if witness else "")
    if abs(analytic - line.value) > tolerance:
        return verdict(UNDECIDABLE, "the finite differences at steps h and 8h disagree beyond their bounds: the "
                                    "forward's rounding is larger than measured here")
    if not m.resolved(tolerance, line.value, slot=judged.slot):
        return verdict(UNDECIDABLE, _unresolved(line, tolerance, judged, m))
    if witness is not None and not line.differs_from(witness.value, witness.tolerance):
        return verdict(UNDECIDABLE, f"the complex step gives {witness.value:.6e}, your {judged.gradient} "
                                    f"{analytic:.6e}: the finite difference, good to {tolerance:.1e} here, cannot "
                                    f"resolve ∂φ/∂{judged.name} of size ~{abs(witness.value):.1e} to tell them apart")
    return verdict(AGREE)


def _unresolved(line: fd.Line, tolerance: float, judged: Judged, m: Measures) -> str:
    """Why an agreement within ``tolerance`` could not have failed."""
    if line.truncation > line.rounding:
        return f"the finite difference is only good to {tolerance:.1e} here (a steep change or a kink within its step)"
    own = m.scales[judged.slot] if judged.slot < len(m.scales) else 0.0
    if own == 0:
        return (f"{judged.gradient} is all zeros and the finite difference, good to {tolerance:.1e} here (φ's "
                "rounding), cannot tell 0 from a derivative of that size")
    return (f"the finite difference is only good to {tolerance:.1e} here (φ's rounding): it cannot resolve "
            f"∂φ/∂{judged.name} of size ~{m.scale_of(judged.slot):.1e}")


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

"""One input's gradient against the finite differences of φ: along random directions, then entry by entry.

An entry **agrees** when |analytic − finite difference| is within the tolerance (the finite difference's
bound plus the analytic side's rounding) and that tolerance is below ``RESOLUTION`` of the layer's
gradient scale (otherwise the comparison could not have caught a missing term of that size: the entry is
**undecidable**, as is an entry at a kink). It **differs** only on the central difference's verdict: the
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


def directions(ev, values, judged: Judged, phi0: float, delta_phi: float, scale: float, rng,
               use_complex: bool) -> None:
    """DIRECTIONS random directions (a direction through a kink is replaced, up to twice); on the first,
    whether the complex step is trustworthy for this input."""
    tries = 0
    while len(judged.directions) < DIRECTIONS and tries < DIRECTIONS + 2:
        tries += 1
        d = random_direction(values[judged.slot], rng)
        line = fd.direction_line(ev.phi, values, judged.slot, d, phi0, delta_phi)
        if line.kink:
            continue
        if use_complex and not judged.complex_reason and not judged.complex_ok:
            _validate_complex(ev, values, judged, d, line)
        if judged.claimed is not None:
            judged.directions.append(_direction_verdict(judged, d, line, scale))
        else:
            judged.directions.append(Direction(float("nan"), line.value, line.tolerance, UNDECIDABLE))


def _validate_complex(ev, values, judged: Judged, d, line: fd.Line) -> None:
    try:
        slope = fd.complex_direction(ev.phi_complex, values, judged.slot, d)
    except Dropped as dropped:
        judged.complex_reason = str(dropped)
        return
    except Exception as error:  # noqa: BLE001 - the user's code refused complex numbers
        judged.complex_reason = f"it refuses complex numbers ({type(error).__name__}: {error})"
        return
    if abs(slope - line.value) > line.tolerance + COMPLEX_ULPS * fd.U * abs(slope):
        judged.complex_reason = (f"along a random direction it gives {slope:.6e}, the central difference "
                                 f"{line.value:.6e} ± {line.tolerance:.1e}: the code loses imaginary parts "
                                 "somewhere (abs, var, .real, a float buffer)")
        return
    judged.complex_ok = True


def _direction_verdict(judged: Judged, d, line: fd.Line, scale: float) -> Direction:
    terms = judged.claimed * d
    analytic = float(np.sum(terms))
    tolerance = line.tolerance + float(np.sum(np.abs(d) * judged.delta)) + gamma(terms.size) * float(
        np.sum(np.abs(terms)))
    if abs(analytic - line.value) > tolerance:
        verdict = DIFFER
    elif tolerance <= RESOLUTION * max(scale * float(np.sum(np.abs(d))), abs(line.value)):
        verdict = AGREE
    else:
        verdict = UNDECIDABLE
    return Direction(analytic, line.value, tolerance, verdict)


def sweep_entries(ev, values, judged: Judged, order, phi0: float, delta_phi: float, scale: float,
                  deadline: float) -> None:
    """Entries in ``order`` not looked at yet, until ``deadline``: complex step first where trusted,
    central where it cannot confirm."""
    todo = [index for index in order if index not in judged.reference]
    for index in fd.in_time(todo, deadline):
        entry = None
        if judged.complex_ok:
            entry = _complex_entry(ev, values, judged, index)
        if entry is None:
            entry = _central_entry(ev, values, judged, index, phi0, delta_phi, scale)
        judged.reference[index] = entry.finite_difference
        if entry.analytic == entry.analytic:  # not NaN: there is a claimed value to judge
            judged.entries[index] = entry


def _complex_entry(ev, values, judged: Judged, index) -> Entry | None:
    ahead, behind = fd.complex_entry(ev.phi_complex, values, judged.slot, index)
    if abs(ahead - behind) > 4 * fd.U * (abs(ahead) + abs(behind)):
        return None  # +ih and −ih take different branches: a tie or a kink, for the central difference
    if judged.claimed is None:
        return Entry(index, float("nan"), ahead, 0.0, UNDECIDABLE, "complex-step")
    analytic = float(judged.claimed[index])
    tolerance = float(judged.delta[index]) + COMPLEX_ULPS * fd.U * (abs(ahead) + abs(analytic))
    if abs(analytic - ahead) <= tolerance:
        return Entry(index, analytic, ahead, tolerance, AGREE, "complex-step")
    return None


def _central_entry(ev, values, judged: Judged, index, phi0, delta_phi, scale) -> Entry:
    line = fd.entry_line(ev.phi, values, judged.slot, index, phi0, delta_phi)
    if judged.claimed is None:
        return Entry(index, float("nan"), line.value, line.tolerance, UNDECIDABLE, "central")
    analytic = float(judged.claimed[index])
    tolerance = line.tolerance + float(judged.delta[index])
    if line.kink:
        return Entry(index, analytic, line.value, tolerance, UNDECIDABLE, "central",
                     "a kink within the step (the one-sided slopes differ): no derivative to compare with")
    if abs(analytic - line.value) > tolerance:
        return Entry(index, analytic, line.value, tolerance, DIFFER, "central")
    if tolerance > RESOLUTION * max(scale, abs(line.value)):
        return Entry(index, analytic, line.value, tolerance, UNDECIDABLE, "central",
                     f"the finite difference is only good to {tolerance:.1e} here (a steep change or a kink "
                     "within its step)")
    return Entry(index, analytic, line.value, tolerance, AGREE, "central")


def entry_order(shape: tuple, rng) -> list[tuple]:
    indices = list(np.ndindex(*shape))
    return [indices[i] for i in rng.permutation(len(indices))]


def now() -> float:
    return time.perf_counter()

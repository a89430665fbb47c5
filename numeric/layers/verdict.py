"""From what was measured to verdicts: one per input's gradient, then one for the layer."""

from __future__ import annotations

import numpy as np

from gradproof.numeric.layers.judge import Judged
from gradproof.numeric.layers.mistakes import recognise
from gradproof.numeric.layers.probe import Point
from gradproof.numeric.layers.result import AGREE, DIFFER, NOT_IMPLEMENTED, UNDECIDABLE, InputResult


def input_results(point: Point, judged: list[Judged], model: dict) -> list[InputResult]:
    return [_input_result(point, j) for j in judged]


def _input_result(point: Point, j: Judged) -> InputResult:
    slot = point.layer.slots[j.slot]
    entries = list(j.entries.values())
    failures = sorted((e for e in entries if e.verdict == DIFFER), key=lambda e: -e.difference)
    undecided = [e for e in entries if e.verdict == UNDECIDABLE]
    agreeing = [e for e in entries if e.verdict == AGREE]
    result = InputResult(slot.name, slot.gradient, j.value.shape, AGREE, j.value.size, len(entries), failures,
                         undecided, list(j.directions), _method(j, entries), point.problems[j.slot])
    result.tolerance_used = max((e.difference / e.tolerance for e in agreeing if e.tolerance > 0), default=0.0)
    returned = point.returned[j.slot]
    result.returned_shape = tuple(np.shape(returned)) if returned is not None else None
    result.status = _status(point, j, result)
    if result.status in (DIFFER, NOT_IMPLEMENTED) and returned is not None:
        result.mistakes = recognise(point, j, result)
    return result


def _method(j: Judged, entries) -> str:
    used = sorted({e.method for e in entries})
    return " and ".join(used) if used else "central"


def complex_notes(point: Point, judged: list[Judged]) -> list[str]:
    """One note per reason the complex step was not used, naming the inputs."""
    reasons = {}
    for j in judged:
        if j.complex_reason and not j.complex_ok:
            reasons.setdefault(j.complex_reason, []).append(point.layer.slots[j.slot].name)
    return [f"no complex step for {', '.join(names)}: {reason}; central differences used"
            for reason, names in reasons.items()]


def _status(point: Point, j: Judged, result: InputResult) -> str:
    if point.unfinished[j.slot]:
        return NOT_IMPLEMENTED
    if j.claimed is None:
        return DIFFER
    wrong = result.failures or any(d.verdict == DIFFER for d in result.directions)
    if wrong:
        if not np.any(j.claimed) and any(abs(v) > 0 for v in j.reference.values()):
            result.note = f"{result.gradient} is all zeros where the derivative is not: looks unfinished"
            return NOT_IMPLEMENTED
        if not result.failures:
            result.note = ("it differs along a random direction although no entry checked differs by more than "
                           "its tolerance: small errors in many entries, or in entries not checked one by one")
        return DIFFER
    every_entry = len(j.entries) == j.value.size and all(e.verdict == AGREE for e in j.entries.values())
    if result.undecided or (not every_entry and any(d.verdict == UNDECIDABLE for d in result.directions)):
        return UNDECIDABLE
    return AGREE


def layer_status(results: list[InputResult]) -> tuple[str, str]:
    """The layer's status and a one-line reason."""
    statuses = [r.status for r in results]
    if DIFFER in statuses:
        wrong = [r.gradient for r in results if r.status in (DIFFER, NOT_IMPLEMENTED)]
        return DIFFER, f"{', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} wrong"
    if NOT_IMPLEMENTED in statuses:
        missing = [r for r in results if r.status == NOT_IMPLEMENTED]
        return NOT_IMPLEMENTED, "; ".join(r.note for r in missing)
    if UNDECIDABLE in statuses:
        undecided = [r for r in results if r.status == UNDECIDABLE]
        return UNDECIDABLE, "; ".join(_undecided_reason(r) for r in undecided)
    return AGREE, ""


def _undecided_reason(result: InputResult) -> str:
    reasons = sorted({e.reason for e in result.undecided if e.reason})
    if reasons:
        return f"{result.gradient}: {len(result.undecided)} entr{'y' if len(result.undecided) == 1 else 'ies'} " \
               f"undecided: {reasons[0]}"
    return f"{result.gradient}: no random direction could be resolved by the finite difference"

"""What a layer check found: a status for the layer, and per input which entries differ and by how much."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gradproof.numeric.layers.report import format_layer
from gradproof.numeric.layers.statuses import AGREE, DIFFER, ERROR, NOT_IMPLEMENTED, STATUSES, UNDECIDABLE

__all__ = ["AGREE", "DIFFER", "ERROR", "NOT_IMPLEMENTED", "STATUSES", "UNDECIDABLE", "Direction", "Entry",
           "InputResult", "LayerCheck"]


@dataclass(frozen=True)
class Entry:
    """One entry of one gradient against the finite difference of φ along that entry."""

    index: tuple
    analytic: float
    finite_difference: float
    tolerance: float
    verdict: str           # agree, differ or undecidable
    method: str            # central or complex-step
    reason: str = ""

    @property
    def difference(self) -> float:
        return abs(self.analytic - self.finite_difference)

    def to_dict(self) -> dict:
        return {"index": list(self.index), "analytic": self.analytic, "finite_difference": self.finite_difference,
                "difference": self.difference, "tolerance": self.tolerance, "verdict": self.verdict,
                "method": self.method, **({"reason": self.reason} if self.reason else {})}


@dataclass(frozen=True)
class Direction:
    """⟨gradient, d⟩ against the central difference of φ along a random direction d of one input."""

    analytic: float
    finite_difference: float
    tolerance: float
    verdict: str
    joint: bool = False        # every input moved at once (⟨all gradients, d⟩)

    def to_dict(self) -> dict:
        return {"analytic": self.analytic, "finite_difference": self.finite_difference,
                "tolerance": self.tolerance, "verdict": self.verdict, "joint": self.joint}


@dataclass
class InputResult:
    """The verdict on one returned gradient (dx for the input x)."""

    name: str
    gradient: str
    shape: tuple
    status: str
    entries: int                              # entries of the input
    checked: int = 0                          # entries compared one by one
    failures: list[Entry] = field(default_factory=list)      # entries that differ, worst first
    undecided: list[Entry] = field(default_factory=list)     # entries no finite difference decides
    directions: list[Direction] = field(default_factory=list)
    method: str = ""                          # how the entries were differentiated
    note: str = ""                            # what is wrong when no entry comparison says it
    mistakes: list[str] = field(default_factory=list)
    returned_shape: tuple | None = None
    tolerance_used: float = 0.0               # the largest share of its tolerance an agreeing entry used

    @property
    def coverage(self) -> str:
        if self.checked == self.entries:
            return "every entry"
        n = len(self.directions)
        joint = " (every input at once)" if self.directions and all(d.joint for d in self.directions) else ""
        directions = f"{n} random direction{'s' * (n != 1)}{joint}"
        if self.checked:
            return f"{self.checked} of {self.entries} entries (a random sample) and {directions}"
        return directions

    def to_dict(self) -> dict:
        return {"input": self.name, "gradient": self.gradient, "shape": list(self.shape), "status": self.status,
                "returned_shape": None if self.returned_shape is None else list(self.returned_shape),
                "entries": self.entries, "checked": self.checked, "method": self.method, "note": self.note,
                "mistakes": list(self.mistakes), "tolerance_used": self.tolerance_used,
                "failures": [e.to_dict() for e in self.failures],
                "undecided": [e.to_dict() for e in self.undecided],
                "directions": [d.to_dict() for d in self.directions]}


@dataclass
class LayerCheck:
    """The check of one layer: ``status`` is one of :data:`STATUSES`; ``ok`` when it is ``agree``."""

    name: str
    kind: str
    status: str
    inputs: list[InputResult] = field(default_factory=list)
    reason: str = ""                          # why, for error, not-implemented and undecidable
    warnings: list[str] = field(default_factory=list)
    model: dict = field(default_factory=dict)  # the error model's measured quantities
    seconds: float = 0.0
    calls: int = 0
    seed: int = 0

    @property
    def ok(self) -> bool:
        return self.status == AGREE

    def input(self, name: str) -> InputResult:
        """The result for input ``name`` (or for gradient ``name``: "x" or "dx")."""
        for result in self.inputs:
            if name in (result.name, result.gradient):
                return result
        raise KeyError(f"{self.name} has no input {name!r} (inputs: {', '.join(r.name for r in self.inputs)})")

    @property
    def wrong(self) -> list[str]:
        """The gradients that differ (or are missing), in argument order."""
        return [r.gradient for r in self.inputs if r.status in (DIFFER, NOT_IMPLEMENTED)]

    def report(self, limit: int = 8) -> str:
        """The verdict in words: per input which entries differ, worst first, and the likely mistake."""
        return format_layer(self, limit)

    def __str__(self) -> str:
        return self.report()

    def __repr__(self) -> str:
        per_input = ", ".join(f"{r.gradient} {r.status}" for r in self.inputs)
        why = f" ({self.reason.splitlines()[0][:80]})" if self.reason and not self.inputs else ""
        return f"<LayerCheck {self.name} ({self.kind}): {self.status}{why}; {per_input or 'no inputs'}; {self.seconds:.3f} s>"

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "status": self.status, "ok": self.ok, "reason": self.reason,
                "wrong": self.wrong, "warnings": list(self.warnings), "inputs": [r.to_dict() for r in self.inputs],
                "model": _plain(self.model), "seconds": self.seconds, "calls": self.calls, "seed": self.seed}


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


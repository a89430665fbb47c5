"""What a proof returns: verdicts per weight, the lemmas a proof rests on, and the proof itself.

A :class:`Proof` is an object the command line, the LaTeX writer, notebooks and tests all read: per weight
its indices and status (proven, refuted with a counterexample, or undecided), the lemmas it rests on, the
method, any assumption, and the time taken.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import sympy as sp

from gradproof.derive.model import display
from gradproof.derive.model.network import Network, WeightIndex
from gradproof.derive.proof.counterexample import Counterexample
from gradproof.derive.proof.identity import Decision

PROVEN, REFUTED, UNDECIDED = "proven", "refuted", "undecided"


@dataclass(frozen=True)
class Lemma:
    """One proven (or not) fact, in words, with how it was decided."""

    name: str
    statement: str
    status: str
    method: str
    latex: str = ""   #: the statement in LaTeX (text with inline math)
    #: where refuted: the point and both values, in words; where undecided: why
    detail: str = ""

    def to_dict(self) -> dict:
        found = {"name": self.name, "statement": self.statement, "status": self.status, "method": self.method}
        if self.detail:
            found["counterexample" if self.status == REFUTED else "reason"] = self.detail
        return found


@dataclass(frozen=True)
class WeightProof:
    """The verdict on one weight ˡwʲᵢ."""

    weight: WeightIndex
    status: str
    #: ∂E/∂w by the definition as the proof built it (read it as :attr:`direct`)
    _direct: sp.Expr | None = field(default=None, repr=False)
    claimed: sp.Expr | None = field(default=None, repr=False)
    decision: Decision | None = field(default=None, repr=False)
    counterexample: Counterexample | None = field(default=None, repr=False)
    #: the entry is proven where each of these is not zero (a denominator, a Heaviside argument)
    conditions: tuple = field(default=(), repr=False)
    #: why it is undecided
    reason: str = ""
    #: builds :attr:`direct` on first use where the proof kept it elsewhere (a weight settled in symengine)
    build_direct: Callable[[], sp.Expr] | None = field(default=None, repr=False, compare=False)

    @cached_property
    def direct(self) -> sp.Expr | None:
        """∂E/∂w by the definition, in sympy: what the recurrence's entry was compared with (a weight
        settled in symengine: symengine's ∂E/∂w, converted to sympy on first use); None where the method
        kept no expressions (layerwise, random)."""
        if self._direct is None and self.build_direct is not None:
            return self.build_direct()
        return self._direct

    @property
    def residual(self) -> sp.Expr | None:
        """direct − claimed, expanded (zero when proven; None where the method kept no expressions)."""
        return None if self.decision is None else self.decision.residual

    def to_dict(self) -> dict:
        layer, source, target = self.weight
        found = {"layer": layer, "from": source, "to": target, "status": self.status}
        if self.counterexample is not None:
            found["counterexample"] = self.counterexample.to_dict()
        if self.conditions:
            found["where"] = [f"{condition} ≠ 0" for condition in self.conditions]
        if self.reason:
            found["reason"] = self.reason
        return found


@dataclass(frozen=True)
class Proof:
    """The result of comparing a recurrence with the direct form, weight by weight."""

    network: Network
    recurrence: str
    method: str
    method_description: str
    weights: tuple[WeightProof, ...]
    lemmas: tuple[Lemma, ...]
    assumptions: tuple[str, ...]
    seconds: float
    diagnosis: tuple[str, ...] = ()
    #: what else the verdict rests on or where it stops (a method that declined, and what decided instead)
    notes: tuple[str, ...] = ()
    #: what differentiated E and decided the weights: "sympy", or "symengine" (what it did not settle,
    #: sympy decided); ``backend_note`` says why this one and what it settled
    backend: str = "sympy"
    backend_note: str = ""

    @property
    def total(self) -> int:
        return len(self.weights)

    @property
    def proven(self) -> int:
        return sum(w.status == PROVEN for w in self.weights)

    @property
    def refuted(self) -> tuple[WeightProof, ...]:
        return tuple(w for w in self.weights if w.status == REFUTED)

    @property
    def undecided(self) -> tuple[WeightProof, ...]:
        return tuple(w for w in self.weights if w.status == UNDECIDED)

    @property
    def ok(self) -> bool:
        """True when every weight and every lemma is proven."""
        return self.proven == self.total and all(lemma.status == PROVEN for lemma in self.lemmas)

    @property
    def conditions(self) -> tuple:
        """Every condition some entry is proven under (each: this expression is not zero), once."""
        return tuple(dict.fromkeys(c for w in self.weights for c in w.conditions))

    def by_layer(self) -> list[tuple[int, int, int]]:
        """(layer, proven, total) for every weight layer."""
        return [(layer, sum(w.status == PROVEN for w in self.weights if w.weight.layer == layer),
                 sum(w.weight.layer == layer for w in self.weights))
                for layer in range(self.network.depth)]

    def weight(self, index: Sequence[int]) -> WeightProof:
        wanted = self.network.check_weight(index)
        return next(w for w in self.weights if w.weight == wanted)

    def __repr__(self) -> str:
        verdict = "proven" if self.ok else f"NOT proven ({len(self.refuted)} refuted, {len(self.undecided)} undecided)"
        return f"<Proof {self.method}: {self.proven}/{self.total} weights proven, {verdict}; {self.network.describe()}>"

    def _repr_html_(self) -> str | None:
        return display.html(self)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "proven": self.proven, "total": self.total,
                "refuted": len(self.refuted), "undecided": len(self.undecided),
                "method": self.method, "method_description": self.method_description,
                "recurrence": self.recurrence, "seconds": round(self.seconds, 6),
                "backend": self.backend, "backend_note": self.backend_note,
                "network": self.network.spec(), "assumptions": list(self.assumptions),
                "diagnosis": list(self.diagnosis), "notes": list(self.notes),
                "where": [f"{condition} ≠ 0" for condition in self.conditions],
                "lemmas": [lemma.to_dict() for lemma in self.lemmas],
                "weights": [w.to_dict() for w in self.weights]}

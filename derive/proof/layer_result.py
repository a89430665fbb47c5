"""What ``prove_layer`` returns: a verdict per gradient entry, the region and domain it holds on, the sizes.

:class:`LayerProof` reads like :class:`gradproof.derive.proof.result.Proof` (``ok``, ``proven``, ``total``,
``refuted``, ``undecided``, ``method``, ``assumptions``, ``seconds``, ``diagnosis``, ``to_dict()``), with
entries in place of weights: each :class:`EntryProof` names an input, an index, its status, and for a
refutation the counterexample (the point and both values, re-evaluated with 40 digits).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from gradproof.derive.proof.result import PROVEN, REFUTED, UNDECIDED

__all__ = ["PROVEN", "REFUTED", "UNDECIDED", "EntryProof", "LayerCounterexample", "LayerProof"]


@dataclass(frozen=True)
class LayerCounterexample:
    """A point (inside the region and the domain) where ∂E/∂v by the definition ≠ the backward's value."""

    point: dict = field(repr=False)   # symbol → value at which both sides were evaluated
    direct: object                     # mpmath value of sympy.diff(E, v)
    claimed: object                    # mpmath value of the backward's entry
    shape: str = ""                    # a wrong shape instead of a wrong value

    def describe(self, limit: int = 6) -> str:
        if self.shape:
            return self.shape
        shown = ", ".join(f"{s} = {float(v):.6g}" for s, v in list(self.point.items())[:limit])
        more = f", … ({len(self.point) - limit} more)" if len(self.point) > limit else ""
        return (f"by the definition {_short(self.direct)}, your backward {_short(self.claimed)} "
                f"at {shown}{more}")


def _listed(title: str, items: tuple, shown: int) -> list[str]:
    if not items:
        return []
    lines = [f"{title} ({len(items)}):"] + [f"  {item}" for item in items[:shown]]
    return lines + ([f"  … {len(items) - shown} more"] if len(items) > shown else [])


def _short(value) -> str:
    return sp.sstr(sp.Float(value, 12)) if value is not None else "—"


@dataclass(frozen=True)
class EntryProof:
    """The verdict on one entry of one returned gradient: ∂E/∂input[index]."""

    input: str
    index: tuple
    status: str
    direct: sp.Expr | None = field(default=None, repr=False)
    claimed: sp.Expr | None = field(default=None, repr=False)
    counterexample: LayerCounterexample | None = field(default=None, repr=False)
    reason: str = ""

    @property
    def name(self) -> str:
        return f"d{self.input}[{','.join(map(str, self.index))}]"

    def to_dict(self) -> dict:
        out = {"input": self.input, "index": list(self.index), "status": self.status}
        if self.counterexample is not None:
            out["counterexample"] = self.counterexample.describe(limit=10**6)
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True)
class LayerProof:
    """Every entry of every gradient the backward returns, against sympy.diff of E = ⟨G, out⟩."""

    layer: str
    entries: tuple[EntryProof, ...]
    sizes: dict                       # input and output name → shape the proof covers
    region: tuple[str, ...]           # branch conditions (the proof holds where all hold)
    domain: tuple[str, ...]           # denominators ≠ 0, radicands and log arguments > 0
    method: str
    method_description: str
    seconds: float
    assumptions: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    diagnosis: tuple[str, ...] = ()
    lemmas: tuple = ()
    point: dict = field(default_factory=dict, repr=False)   # the traced point: symbol name → value

    @property
    def total(self) -> int:
        return len(self.entries)

    @property
    def proven(self) -> int:
        return sum(e.status == PROVEN for e in self.entries)

    @property
    def refuted(self) -> tuple[EntryProof, ...]:
        return tuple(e for e in self.entries if e.status == REFUTED)

    @property
    def undecided(self) -> tuple[EntryProof, ...]:
        return tuple(e for e in self.entries if e.status == UNDECIDED)

    @property
    def ok(self) -> bool:
        return self.total > 0 and self.proven == self.total

    @property
    def status(self) -> str:
        return PROVEN if self.ok else (REFUTED if self.refuted else UNDECIDED)

    def by_input(self) -> list[tuple[str, int, int]]:
        """(input, proven, total) per differentiated input, in order."""
        names = list(dict.fromkeys(e.input for e in self.entries))
        return [(n, sum(e.status == PROVEN for e in self.entries if e.input == n),
                 sum(e.input == n for e in self.entries)) for n in names]

    def sizes_text(self) -> str:
        return ", ".join(f"{name} {'×'.join(map(str, shape)) or 'scalar'}" for name, shape in self.sizes.items())

    def report(self, shown: int = 8) -> str:
        """The proof in words: the verdict per input, the sizes, the region, the domain, what failed."""
        parts = ", ".join(f"d{n} {p}/{t}" for n, p, t in self.by_input())
        lines = [f"{self.layer}: {self.proven}/{self.total} gradient entries proven ({parts}) in "
                 f"{self.seconds:.2f} s",
                 f"sizes: {self.sizes_text()} (the proof covers these sizes only)"]
        lines += _listed("region: the branches taken at the traced point; the proof holds wherever all of these "
                         "hold", self.region, shown)
        lines += _listed("domain: denominators ≠ 0, arguments of square roots and logarithms > 0", self.domain, shown)
        lines += [f"note: {note}" for note in self.notes]
        for entry in self.refuted[:shown]:
            lines.append(f"REFUTED {entry.name}: {entry.counterexample.describe()}")
        for entry in self.undecided[:shown]:
            lines.append(f"undecided {entry.name}: {entry.reason}")
        hidden = len(self.refuted[shown:]) + len(self.undecided[shown:])
        if hidden:
            lines.append(f"… and {hidden} more not proven (--json lists every entry)")
        verdict = {PROVEN: "proven: the backward is the derivative of the forward, entry by entry",
                   REFUTED: "REFUTED: the backward is not the derivative of the forward (counterexamples above)",
                   UNDECIDED: "undecided: not proven, and no counterexample found"}[self.status]
        return "\n".join(lines + [verdict])

    def __repr__(self) -> str:
        return (f"<LayerProof {self.layer}: {self.proven}/{self.total} entries proven, {self.status}; "
                f"sizes {self.sizes_text()}>")

    def to_dict(self) -> dict:
        return {"ok": self.ok, "status": self.status, "layer": self.layer, "proven": self.proven,
                "total": self.total, "refuted": len(self.refuted), "undecided": len(self.undecided),
                "method": self.method, "method_description": self.method_description,
                "seconds": round(self.seconds, 6),
                "sizes": {k: list(v) for k, v in self.sizes.items()},
                "region": list(self.region), "domain": list(self.domain),
                "assumptions": list(self.assumptions), "notes": list(self.notes),
                "diagnosis": list(self.diagnosis),
                "entries": [e.to_dict() for e in self.entries]}

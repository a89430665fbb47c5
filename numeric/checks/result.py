"""What a check found, and its verdict: **agree**, **differ** or **cannot decide**.

A comparison *could have failed* only where the finite difference resolves the gradient: a weight is
**resolved** when its tolerance (the two sides' error bounds) is below |finite difference|. Then an
analytic value of 0, of the opposite sign, or off by more than the gradient itself would have failed
there. A weight whose tolerance is not below its finite difference is **unresolved**: its agreement only
says |analytic| ≲ 2·tolerance. It is unresolved because the gradient is below what the method resolves
at this step (rounding), because the step leaves the disc on which E is analytic in the weight (too
large: no truncation bound), or because a step crossed a ReLU kink.

- **differ**: some weight (or ⟨∇E, v⟩ along the random direction) differs by more than its tolerance. A
  failing comparison is always decisive.
- **agree**: nothing differs, and every layer has at least one resolved weight (so a wrong or missing
  layer, a sign flip or zeros anywhere in it would have failed). With ``tier="direction"``: ⟨∇E, v⟩ and
  each layer's part ⟨∇E[l], v[l]⟩ agree and are resolved (else every weight is checked).
- **cannot decide**: nothing differs, but some layer has no resolved weight, or the finite difference
  could not be formed at all (an overflow, a unit exactly at a kink, a complex step that underflows).
  Nothing is said about the gradient; the message says why and what to try.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gradproof.derive.model.network import Network, WeightIndex
from gradproof.numeric.checks.report import format_failure, format_success, format_undecided, result_html
from gradproof.numeric.errors import FiniteDifferenceUnreliable, GradientMismatch

VERDICTS = ("agree", "differ", "cannot decide")


@dataclass(frozen=True)
class WeightComparison:
    """One weight: every value, the worst disagreement and its tolerance."""

    weight: WeightIndex
    analytic: float
    direct: float | None
    finite_difference: float
    tolerance: float           # for analytic (or direct) against the finite difference
    share: float               # the largest |a − b|/tolerance over the pairs compared (> 1 fails)
    resolved: bool = True      # tolerance < |finite difference|: the comparison could have failed

    @property
    def failed(self) -> bool:
        return self.share > 1

    @property
    def relative_error(self) -> float:
        scale = max(abs(self.analytic), abs(self.finite_difference))
        return abs(self.analytic - self.finite_difference) / scale if scale else 0.0

    def to_dict(self) -> dict:
        layer, source, target = self.weight
        return {"layer": layer, "from": source, "to": target, "analytic": self.analytic,
                "direct": self.direct, "finite_difference": self.finite_difference,
                "abs_error": abs(self.analytic - self.finite_difference),
                "relative_error": self.relative_error, "tolerance": self.tolerance, "share": self.share,
                "resolved": self.resolved}


@dataclass(frozen=True)
class DirectionCheck:
    """⟨∇E, v⟩ against the finite difference along a random unit direction v."""

    analytic: float
    finite_difference: float
    tolerance: float

    @property
    def share(self) -> float:
        difference = abs(self.analytic - self.finite_difference)
        if difference == 0:
            return 0.0
        return difference / self.tolerance if self.tolerance > 0 else float("inf")

    @property
    def ok(self) -> bool:
        return self.share <= 1

    @property
    def resolved(self) -> bool:
        return bool(self.tolerance < abs(self.finite_difference))


@dataclass(frozen=True, eq=False)
class Comparison:
    """Every weight's values, tolerance and share, as arrays shaped like W̄ (one entry per layer), and why
    the unresolved ones are: ``kinked`` (a step crossed a kink or met a non-finite E) and ``too_large``
    (the stencil leaves the disc on which E is analytic in the weight: no truncation bound)."""

    analytic: tuple
    direct: tuple | None
    finite_difference: tuple
    tolerance: tuple
    share: tuple
    kinked: tuple = ()
    too_large: tuple = ()

    @property
    def weights(self) -> int:
        return sum(a.size for a in self.analytic)

    @property
    def resolved(self) -> tuple:
        """Per layer: where the tolerance is below |finite difference| (and finite)."""
        return tuple(t < np.abs(f) for t, f in zip(self.tolerance, self.finite_difference))

    def unresolved_counts(self) -> dict:
        """How many weights are unresolved, by cause."""
        resolved = self.resolved
        kinked = sum(int(np.sum(k & ~r)) for k, r in zip(self.kinked, resolved))
        large = sum(int(np.sum(t & ~k & ~r)) for t, k, r in zip(self.too_large, self.kinked, resolved))
        total = sum(int(np.sum(~r)) for r in resolved)
        return {"below_resolution": total - kinked - large, "step_too_large": large, "kink": kinked}

    def row(self, network: Network, index: WeightIndex) -> WeightComparison:
        layer, row, col = network.position(index)
        direct = None if self.direct is None else float(self.direct[layer][row, col])
        return WeightComparison(index, float(self.analytic[layer][row, col]), direct,
                                float(self.finite_difference[layer][row, col]),
                                float(self.tolerance[layer][row, col]), float(self.share[layer][row, col]),
                                bool(self.resolved[layer][row, col]))


#: what a check's ``seconds`` measures
SECONDS_COVER = ("the check itself: the error model, the finite differences, the gradient under test, the comparison "
                 "and the diagnosis; not loading gradproof, drawing the sample, or getting the per-weight forms "
                 "(per_weight_forms_seconds)")


@dataclass(frozen=True, eq=False)
class CheckResult:
    """Everything a check found; ``report()`` is its message, ``verdict`` one of ``VERDICTS``."""

    network: Network
    analytic_name: str
    method: str
    step: float
    reduction: str
    batch: int | None
    seed: int | None
    comparison: Comparison | None
    direction: DirectionCheck | None
    seconds: float
    rerun: str = field(default="")
    diagnosis: tuple[str, ...] = ()
    unreliable: str = ""       # why the finite difference could not be formed at all ("" if it could)
    precision: str = "float64"  # the coarsest dtype the gradient under test came in: its tolerances are that dtype's
    layer_directions: tuple = ()  # the direction tier: ⟨∇E[l], v[l]⟩ of each layer on its own
    forms: str = ""            # where the per-weight forms came from: "cache", "sympy", "memory" ("": none used)
    forms_seconds: float = 0.0  # the time it took to get them (not part of ``seconds``)

    @property
    def weights(self) -> int:
        """How many weights were compared one by one (0 when only the direction was checked)."""
        return 0 if self.comparison is None else self.comparison.weights

    @property
    def rows(self) -> tuple[WeightComparison, ...]:
        """Every weight's comparison, in W̄ order (built on demand: large networks have many)."""
        if self.comparison is None:
            return ()
        return tuple(self.comparison.row(self.network, index) for index in self.network.weights())

    @property
    def failures(self) -> tuple[WeightComparison, ...]:
        """The failing weights, worst first."""
        if self.comparison is None:
            return ()
        found = []
        for layer, share in enumerate(self.comparison.share):
            for row, col in zip(*np.nonzero(share > 1)):
                index = WeightIndex(layer, int(col) + self.network.first_source, int(row) + 1)
                found.append(self.comparison.row(self.network, index))
        return tuple(sorted(found, key=lambda r: -r.share))

    @property
    def undecided_layers(self) -> tuple[int, ...]:
        """The layers without a resolved weight (all of them when nothing was compared weight by weight)."""
        if self.comparison is None:
            return tuple(range(self.network.depth))
        return tuple(layer for layer, r in enumerate(self.comparison.resolved) if not r.any())

    @property
    def verdict(self) -> str:
        directions = ((self.direction,) if self.direction is not None else ()) + tuple(self.layer_directions)
        if self.failures or not all(d.ok for d in directions):
            return "differ"
        if self.unreliable:
            return "cannot decide"
        if self.comparison is None:  # the direction tier alone: the total and each layer's part resolved
            return "agree" if directions and all(d.resolved for d in directions) else "cannot decide"
        return "cannot decide" if self.undecided_layers else "agree"

    @property
    def ok(self) -> bool:
        """True only when the check agrees: a check that cannot decide is not a pass."""
        return self.verdict == "agree"

    @property
    def resolved(self) -> int:
        """How many weights the finite difference resolved (tolerance below |finite difference|)."""
        return 0 if self.comparison is None else sum(int(np.sum(r)) for r in self.comparison.resolved)

    @property
    def tolerance_used(self) -> float:
        """The largest share of its tolerance any comparison used (≤ 1 passes)."""
        shares = [float(np.max(s)) for s in self.comparison.share] if self.comparison else []
        return max(shares + ([self.direction.share] if self.direction else []), default=0.0)

    @property
    def max_relative_error(self) -> float:
        """max |analytic − FD| / max(|analytic|, |FD|) over the resolved weights (tiny gradients below the
        finite difference's resolution are left out)."""
        if self.comparison is None:
            return 0.0
        worst = 0.0
        for a, f, r in zip(self.comparison.analytic, self.comparison.finite_difference, self.comparison.resolved):
            scale = np.maximum(np.abs(a), np.abs(f))
            if r.any():
                worst = max(worst, float(np.max(np.abs(a - f)[r] / scale[r])))
        return worst

    def report(self, limit: int = 20) -> str:
        verdict = self.verdict
        if verdict == "agree":
            return format_success(self)
        return format_failure(self, limit) if verdict == "differ" else format_undecided(self)

    def _repr_html_(self) -> str:
        return result_html(self)

    def __repr__(self) -> str:
        compared = (f"{self.resolved}/{self.weights} weights resolved" if self.comparison is not None
                    else "direction only")
        if self.comparison is not None:
            compared += f", max relative error {self.max_relative_error:.1e}"
        failing = f", {len(self.failures)} failing" if self.failures else ""
        return (f"<CheckResult {self.verdict}: {self.analytic_name} against {self.method}, {compared}{failing}; "
                f"{repr(self.network)[1:-1]}; {self.seconds:.3f} s>")

    def raise_if_failed(self) -> CheckResult:
        """GradientMismatch when the check differs, FiniteDifferenceUnreliable when it cannot decide."""
        verdict = self.verdict
        if verdict == "differ":
            raise GradientMismatch(self.report(), self)
        if verdict == "cannot decide":
            raise FiniteDifferenceUnreliable(self.report())
        return self

    def timing(self) -> dict:
        """What ``seconds`` covers, and what it leaves out."""
        return {"seconds": SECONDS_COVER, "per_weight_forms": self.forms or None,
                "per_weight_forms_seconds": self.forms_seconds}

    def to_dict(self) -> dict:
        counts = self.comparison.unresolved_counts() if self.comparison is not None else None
        return {"ok": bool(self.ok), "verdict": self.verdict, "method": self.method, "step": self.step,
                "dtype": self.precision, "reduction": self.reduction, "batch": self.batch, "seed": self.seed,
                "analytic": self.analytic_name, "weights": self.weights, "resolved": self.resolved,
                "unresolved": counts, "undecided_layers": list(self.undecided_layers) if self.verdict ==
                "cannot decide" else [], "unreliable": self.unreliable,
                "max_relative_error": self.max_relative_error, "tolerance_used": self.tolerance_used,
                "direction": None if self.direction is None else {
                    "analytic": self.direction.analytic, "finite_difference": self.direction.finite_difference,
                    "tolerance": self.direction.tolerance, "ok": bool(self.direction.ok),
                    "resolved": self.direction.resolved},
                "seconds": self.seconds, "timing": self.timing(), "network": self.network.spec(),
                "diagnosis": list(self.diagnosis),
                "failures": [r.to_dict() for r in self.failures]}

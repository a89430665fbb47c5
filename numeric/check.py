"""Checks: an analytic gradient against the compiled direct form and the finite-difference definition.

:func:`check_gradient` compares, for every weight, the gradient under test (by default the Ψ recurrence)
with the finite difference of E, and with ``sympy.diff`` compiled where the network is small enough. The
tolerance of each comparison is the sum of the two sides' error bounds (:mod:`numeric.error_model`,
:mod:`numeric.finite_difference`). Two tiers: a cheap check of ⟨∇E, v⟩ along one random direction v,
and the full per-weight check, which also runs when the cheap one fails, to name the weights.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from derive.errors import InputError
from derive.network import Network, WeightIndex
from numeric.compiled import DIRECT_FORM_LIMIT, CompiledGradient
from numeric.error_model import ETA, FUNCTION_ULPS, ErrorModel, error_model, gamma
from numeric.errors import GradientMismatch
from numeric.finite_difference import check_method, default_step, directional_difference, finite_difference
from numeric.forms import psi_gradient
from numeric.report import format_failure, format_success
from numeric.samples import Sample

TIERS = ("full", "direction")
#: analytic gradient: called as gradient(wbar, x_columns, y_columns, reduction) → list shaped like wbar
Analytic = Callable[..., list]


@dataclass(frozen=True)
class WeightComparison:
    """One weight: every value, the worst disagreement and its tolerance."""

    weight: WeightIndex
    analytic: float
    direct: float | None
    finite_difference: float
    tolerance: float           # for analytic (or direct) against the finite difference
    share: float               # the largest |a − b|/tolerance over the pairs compared (> 1 fails)

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
                "relative_error": self.relative_error, "tolerance": self.tolerance, "share": self.share}


@dataclass(frozen=True)
class DirectionCheck:
    """⟨∇E, v⟩ against the finite difference along a random unit direction v."""

    analytic: float
    finite_difference: float
    tolerance: float

    @property
    def share(self) -> float:
        return _share(abs(self.analytic - self.finite_difference), self.tolerance)

    @property
    def ok(self) -> bool:
        return self.share <= 1


@dataclass(frozen=True, eq=False)
class CheckResult:
    """Everything a check found; ``report()`` is the message a failure raises."""

    network: Network
    analytic_name: str
    method: str
    step: float
    reduction: str
    batch: int | None
    seed: int | None
    rows: tuple[WeightComparison, ...]
    direction: DirectionCheck | None
    seconds: float
    rerun: str = field(default="")

    @property
    def failures(self) -> tuple[WeightComparison, ...]:
        """The failing weights, worst first."""
        return tuple(sorted((r for r in self.rows if r.failed), key=lambda r: -r.share))

    @property
    def ok(self) -> bool:
        return not self.failures and (self.direction is None or self.direction.ok)

    @property
    def tolerance_used(self) -> float:
        """The largest share of its tolerance any comparison used (≤ 1 passes)."""
        shares = [r.share for r in self.rows] + ([self.direction.share] if self.direction else [])
        return max(shares, default=0.0)

    @property
    def max_relative_error(self) -> float:
        """max |analytic − FD| / max(|analytic|, |FD|) over the weights the check resolves (whose values
        exceed their tolerance); tiny gradients below the finite difference's resolution are left out."""
        resolved = [r.relative_error for r in self.rows
                    if max(abs(r.analytic), abs(r.finite_difference)) > r.tolerance]
        return max(resolved, default=0.0)

    def report(self, limit: int = 20) -> str:
        return format_success(self) if self.ok else format_failure(self, limit)

    def raise_if_failed(self) -> CheckResult:
        if not self.ok:
            raise GradientMismatch(self.report(), self)
        return self

    def to_dict(self) -> dict:
        return {"ok": bool(self.ok), "method": self.method, "step": self.step, "dtype": "float64",
                "reduction": self.reduction, "batch": self.batch, "seed": self.seed,
                "analytic": self.analytic_name, "weights": len(self.rows),
                "max_relative_error": self.max_relative_error, "tolerance_used": self.tolerance_used,
                "direction": None if self.direction is None else {
                    "analytic": self.direction.analytic, "finite_difference": self.direction.finite_difference,
                    "tolerance": self.direction.tolerance, "ok": bool(self.direction.ok)},
                "seconds": self.seconds, "network": self.network.spec(),
                "failures": [r.to_dict() for r in self.failures]}


@lru_cache(maxsize=32)
def compiled(network: Network, form: str) -> CompiledGradient:
    """A compiled per-weight form, cached per network."""
    return CompiledGradient(network, form).compile()


def matrix_psi(network: Network) -> Analytic:
    return lambda wbar, x, y, reduction: psi_gradient(network, wbar, x, y, reduction)


def check_gradient(sample: Sample, gradient: Analytic | None = None, *, analytic_name: str | None = None,
                   method: str = "complex-step", step: float | None = None, reduction: str = "mean",
                   direct: bool | None = None, tier: str = "full", seed: int | None = None,
                   direction_seed: int = 0, rerun: str = "") -> CheckResult:
    """Check ``gradient`` (default: the Ψ recurrence) on ``sample``; see the module doc.

    - ``method``, ``step``: the finite difference (``step`` None: the method's default).
    - ``direct``: also compare with the compiled ``sympy.diff`` form (None: where the network has at most
      ``DIRECT_FORM_LIMIT`` weights). Compiling is done first and is not counted in ``seconds``.
    - ``tier``: ``"full"`` checks every weight; ``"direction"`` only ⟨∇E, v⟩, and every weight only if
      that fails.
    """
    check_method(method)
    if tier not in TIERS:
        raise InputError(f"tier must be one of {', '.join(TIERS)}, not {tier!r}")
    network = sample.network
    x, y = sample.columns()
    small = network.n_weights <= DIRECT_FORM_LIMIT
    if gradient is None:
        gradient = compiled(network, "psi") if small else matrix_psi(network)
        analytic_name = analytic_name or ("the Ψ recurrence, compiled per weight" if small
                                          else "the Ψ recurrence in matrix form")
    direct_form = compiled(network, "direct") if (small if direct is None else direct) else None
    start = time.perf_counter()  # compiling the symbolic forms is not part of the check's time
    analytic = [np.asarray(g, dtype=float) for g in gradient(sample.wbar, x, y, reduction)]
    model = error_model(network, sample.wbar, x, y)
    direction = _direction_check(sample, analytic, model, method, step, reduction, direction_seed)
    rows = ()
    if tier == "full" or not direction.ok:
        direct_values = direct_form(sample.wbar, x, y, reduction) if direct_form else None
        rows = _compare_weights(sample, analytic, direct_values, model, method, step, reduction)
    return CheckResult(network, analytic_name or "the gradient under test", method,
                       default_step(method) if step is None else float(step), reduction, sample.batch,
                       seed, rows, direction, time.perf_counter() - start, rerun)


def _share(difference: float, tolerance: float) -> float:
    """difference/tolerance, with 0/0 = 0 (both sides exactly equal where no rounding is possible)."""
    if difference == 0:
        return 0.0
    return difference / tolerance if tolerance > 0 else float("inf")


def _direction_check(sample, analytic, model: ErrorModel, method, step, reduction, seed) -> DirectionCheck:
    rng = np.random.default_rng(seed)
    v = [rng.standard_normal(w.shape) for w in sample.wbar]
    norm = np.sqrt(sum(float(np.sum(d * d)) for d in v))
    v = [d / norm for d in v]
    x, y = sample.columns()
    value, truncation, weight, h, scale = directional_difference(sample.network, sample.wbar, v, x, y, method,
                                                                 step, reduction)
    along = sum(float(np.sum(g * d)) for g, d in zip(analytic, v))
    weights = sum(d.size for d in v)
    # the bounds of each weight's gradient, carried along v, and the rounding of the sum ⟨g, v⟩ itself
    rounding = sum(float(np.sum(r * np.abs(d))) for r, d in zip(model.analytic_rounding(reduction), v))
    rounding += gamma(weights) * sum(float(np.sum(np.abs(g * d))) for g, d in zip(analytic, v))
    if method == "complex-step":
        terms = model.underflow_terms
        fd_error = truncation + weight * (rounding + gamma(terms) * scale + terms * ETA / h)
    else:
        n_out = sample.network.sizes[-1]
        fd_error = truncation + weight * (model.error_rounding(reduction) + gamma(n_out + FUNCTION_ULPS) * scale) / h
    return DirectionCheck(along, value, fd_error + rounding)


def _compare_weights(sample, analytic, direct, model: ErrorModel, method, step, reduction):
    x, y = sample.columns()
    fd = finite_difference(sample.network, sample.wbar, x, y, method, step, reduction)
    bound = model.analytic_rounding(reduction)
    fd_bounds = fd.bounds(model, reduction)
    rows = []
    for index in sample.network.weights():
        layer, row, col = sample.network.position(index)
        a, f, an = analytic[layer][row, col], fd.values[layer][row, col], bound[layer][row, col]
        fd_error = fd_bounds[layer][row, col]
        tol = fd_error + an
        shares = [_share(abs(a - f), tol)]
        d = None
        if direct is not None:
            d = float(direct[layer][row, col])
            shares += [_share(abs(d - f), tol), _share(abs(d - a), 2 * an)]
        rows.append(WeightComparison(index, float(a), d, float(f), float(tol), float(max(shares))))
    return tuple(rows)

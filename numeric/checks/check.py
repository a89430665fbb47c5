"""Checks: an analytic gradient against the compiled direct form and the finite-difference definition.

:func:`check_gradient` compares, for every weight, the gradient under test (by default the Ψ recurrence)
with the finite difference of E, and with ``sympy.diff`` compiled where the network is small enough. The
tolerance of each comparison is the sum of the two sides' error bounds (:mod:`gradproof.numeric.differences.error_model`,
:mod:`gradproof.numeric.differences.finite_difference`). Two tiers: a cheap check of ⟨∇E, v⟩ along one random direction v,
and the full per-weight check, which also runs when the cheap one fails, to name the weights.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from gradproof.derive.errors import InputError
from gradproof.derive.model.network import Network, WeightIndex
from gradproof.numeric.compiled.lambdified import CompiledGradient, per_weight_feasible
from gradproof.numeric.differences.complex_step import SPLIT_STEP
from gradproof.numeric.checks import conv_check
from gradproof.numeric.checks.diagnosis import diagnose
from gradproof.numeric.differences.error_model import ErrorModel, error_model, gamma
from gradproof.numeric.errors import GradientMismatch
from gradproof.numeric.differences.finite_difference import (check_method, default_step, directional_difference, estimate_bound,
                                       finite_difference)
from gradproof.numeric.compiled.matrix import psi_gradient
from gradproof.numeric.compiled.kernels import abs_dot
from gradproof.numeric.checks.report import format_failure, format_success, result_html
from gradproof.numeric.samples import Sample

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
class Comparison:
    """Every weight's values, tolerance and share, as arrays shaped like W̄ (one entry per layer)."""

    analytic: tuple
    direct: tuple | None
    finite_difference: tuple
    tolerance: tuple
    share: tuple

    @property
    def weights(self) -> int:
        return sum(a.size for a in self.analytic)

    def row(self, network: Network, index: WeightIndex) -> WeightComparison:
        layer, row, col = network.position(index)
        direct = None if self.direct is None else float(self.direct[layer][row, col])
        return WeightComparison(index, float(self.analytic[layer][row, col]), direct,
                                float(self.finite_difference[layer][row, col]),
                                float(self.tolerance[layer][row, col]), float(self.share[layer][row, col]))


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
    comparison: Comparison | None
    direction: DirectionCheck | None
    seconds: float
    rerun: str = field(default="")
    diagnosis: tuple[str, ...] = ()

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
    def ok(self) -> bool:
        return not self.failures and (self.direction is None or self.direction.ok)

    @property
    def tolerance_used(self) -> float:
        """The largest share of its tolerance any comparison used (≤ 1 passes)."""
        shares = [float(np.max(s)) for s in self.comparison.share] if self.comparison else []
        return max(shares + ([self.direction.share] if self.direction else []), default=0.0)

    @property
    def max_relative_error(self) -> float:
        """max |analytic − FD| / max(|analytic|, |FD|) over the weights the check resolves (whose values
        exceed their tolerance); tiny gradients below the finite difference's resolution are left out."""
        if self.comparison is None:
            return 0.0
        worst = 0.0
        for a, f, t in zip(self.comparison.analytic, self.comparison.finite_difference, self.comparison.tolerance):
            scale = np.maximum(np.abs(a), np.abs(f))
            resolved = scale > t
            if resolved.any():
                worst = max(worst, float(np.max(np.abs(a - f)[resolved] / scale[resolved])))
        return worst

    def report(self, limit: int = 20) -> str:
        return format_success(self) if self.ok else format_failure(self, limit)

    def _repr_html_(self) -> str:
        return result_html(self)

    def raise_if_failed(self) -> CheckResult:
        if not self.ok:
            raise GradientMismatch(self.report(), self)
        return self

    def to_dict(self) -> dict:
        return {"ok": bool(self.ok), "method": self.method, "step": self.step, "dtype": "float64",
                "reduction": self.reduction, "batch": self.batch, "seed": self.seed,
                "analytic": self.analytic_name, "weights": self.weights,
                "max_relative_error": self.max_relative_error, "tolerance_used": self.tolerance_used,
                "direction": None if self.direction is None else {
                    "analytic": self.direction.analytic, "finite_difference": self.direction.finite_difference,
                    "tolerance": self.direction.tolerance, "ok": bool(self.direction.ok)},
                "seconds": self.seconds, "network": self.network.spec(), "diagnosis": list(self.diagnosis),
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
                   direction_seed: int = 0, rerun: str = "", progress: bool | None = False) -> CheckResult:
    """Check ``gradient`` (default: the Ψ recurrence) on ``sample``; see the module doc.

    - ``method``, ``step``: the finite difference (``step`` None: the method's default).
    - ``direct``: also compare with the compiled ``sympy.diff`` form (None: where the network is small
      enough that it compiles in about a second, :func:`gradproof.numeric.compiled.lambdified.per_weight_feasible`).
      Compiling is done first and is not counted in ``seconds``.
    - ``tier``: ``"full"`` checks every weight; ``"direction"`` only ⟨∇E, v⟩, and every weight only if
      that fails.
    - ``progress``: a bar on stderr while the finite differences run past two seconds (None: where
      stderr is a terminal).
    """
    check_method(method)
    if tier not in TIERS:
        raise InputError(f"tier must be one of {', '.join(TIERS)}, not {tier!r}")
    network = sample.network
    if network.has_conv:
        return _conv_result(sample, gradient, analytic_name, method, step, reduction, tier, seed,
                            direction_seed, rerun, progress)
    x, y = sample.columns()
    small = per_weight_feasible(network)
    default = gradient is None
    if default:
        gradient = compiled(network, "psi") if small else matrix_psi(network)
        analytic_name = analytic_name or ("the Ψ recurrence, compiled per weight" if small
                                          else "the Ψ recurrence in matrix form")
    direct_form = compiled(network, "direct") if (small if direct is None else direct) else None
    start = time.perf_counter()  # compiling the symbolic forms is not part of the check's time
    with np.errstate(over="ignore", invalid="ignore"):
        analytic = [np.asarray(g, dtype=float) for g in gradient(sample.wbar, x, y, reduction)]
    if default and not _finite(analytic):
        # a compiled per-weight form overflows where e^z does; the matrix form shifts its softmax
        gradient, analytic_name = matrix_psi(network), "the Ψ recurrence in matrix form"
        analytic = gradient(sample.wbar, x, y, reduction)
    model = error_model(network, sample.wbar, x, y)
    direction = _direction_check(sample, analytic, model, method, step, reduction, direction_seed)
    comparison = None
    if tier == "full" or not direction.ok:
        direct_values = None
        if direct_form is not None:
            with np.errstate(over="ignore", invalid="ignore"):
                direct_values = direct_form(sample.wbar, x, y, reduction)
            if not _finite(direct_values):  # e^z overflowed in the compiled expression: no witness here
                direct_values = None
        comparison = _compare_weights(sample, analytic, direct_values, model, method, step, reduction, progress)
    seconds = time.perf_counter() - start
    diagnosis = diagnose(sample, analytic, comparison) if comparison is not None else ()
    return CheckResult(network, analytic_name or "the gradient under test", method,
                       default_step(method) if step is None else float(step), reduction, sample.batch,
                       seed, comparison, direction, seconds, rerun, diagnosis)


def _conv_result(sample, gradient, analytic_name, method, step, reduction, tier, seed, direction_seed, rerun,
                 progress) -> CheckResult:
    """A network with convolutions: every weight by the forward-mode complex step (:mod:`.conv_check`)."""
    found = conv_check.compare(sample, gradient, method, step, reduction, tier, direction_seed, progress)
    comparison = None if found.comparison is None else Comparison(*found.comparison)
    return CheckResult(sample.network, analytic_name or found.analytic_name, method, default_step(method) if step is None
                       else float(step), reduction, sample.batch, seed, comparison, DirectionCheck(*found.direction),
                       found.seconds, rerun, found.diagnosis)


def _share(difference: float, tolerance: float) -> float:
    """difference/tolerance, with 0/0 = 0 (both sides exactly equal where no rounding is possible)."""
    if difference == 0:
        return 0.0
    return difference / tolerance if tolerance > 0 else float("inf")


def _direction_check(sample, analytic, model: ErrorModel, method, step, reduction, seed) -> DirectionCheck:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise InputError(f"direction_seed must be an integer, not {seed!r}")
    v, absv = random_direction(int(seed), tuple(w.shape for w in sample.wbar))
    x, y = sample.columns()
    value, truncation, weight, h, scale = directional_difference(sample.network, sample.wbar, v, x, y, method,
                                                                 step, reduction, fwd=model.fwd)
    along = sum(float(np.vdot(g, d)) for g, d in zip(analytic, v))
    weights = sum(d.size for d in v)
    # the bounds of each weight's gradient, carried along v, and the rounding of the sum ⟨g, v⟩ itself
    rounding = model.directional_rounding(absv, reduction)
    rounding += gamma(weights) * sum(abs_dot(g, d) for g, d in zip(analytic, absv))
    fd_error = estimate_bound(model, method, reduction, truncation, weight, rounding, scale, h,
                              split=method == "complex-step" and h <= SPLIT_STEP)
    return DirectionCheck(along, value, fd_error + rounding)


@lru_cache(maxsize=4)
def random_direction(seed, shapes: tuple) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """A Gaussian direction of unit norm over all the weights, from ``seed``, and its absolute values: the
    same direction for the same seed and shapes, run to run (kept, read-only, for the next check of the
    same network: drawing 1.7 million normal numbers costs more than the rest of the direction check)."""
    rng = np.random.default_rng(seed)
    v = [rng.standard_normal(shape) for shape in shapes]
    norm = np.sqrt(sum(float(np.vdot(d, d)) for d in v))
    absv = []
    for d in v:
        d /= norm
        absv.append(np.abs(d))
        d.flags.writeable = absv[-1].flags.writeable = False
    return tuple(v), tuple(absv)


def _compare_weights(sample, analytic, direct, model: ErrorModel, method, step, reduction,
                     progress=False) -> Comparison:
    """Shares of tolerance per weight: analytic and direct against the finite difference (tolerance: the
    two sides' bounds), and direct against analytic (twice the analytic bound)."""
    x, y = sample.columns()
    fd = finite_difference(sample.network, sample.wbar, x, y, method, step, reduction, progress)
    bound = model.analytic_rounding(reduction)
    tolerance = [f + a for f, a in zip(fd.bounds(model, reduction), bound)]
    shares = []
    for layer, (a, f, t, b) in enumerate(zip(analytic, fd.values, tolerance, bound)):
        share = _shares(np.abs(a - f), t)
        if direct is not None:
            share = np.maximum(share, np.maximum(_shares(np.abs(direct[layer] - f), t),
                                                 _shares(np.abs(direct[layer] - a), 2 * b)))
        shares.append(share)
    direct_arrays = None if direct is None else tuple(np.asarray(d, dtype=float) for d in direct)
    return Comparison(tuple(analytic), direct_arrays, tuple(fd.values), tuple(tolerance), tuple(shares))


def _shares(difference: np.ndarray, tolerance: np.ndarray) -> np.ndarray:
    """difference/tolerance elementwise, with 0/0 = 0, x/0 = inf, and NaN anywhere = inf (fails)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        share = difference / tolerance
    share[difference == 0] = 0.0
    share[np.isnan(share)] = np.inf
    return share


def _finite(arrays) -> bool:
    return all(np.all(np.isfinite(a)) for a in arrays)

"""Checks: an analytic gradient against the compiled direct form and the finite-difference definition.

:func:`check_gradient` compares, for every weight, the gradient under test (by default the Ψ recurrence)
with the finite difference of E, and with the direct form (∂E/∂w by the definition, compiled per weight)
where the network is small enough. The
tolerance of each comparison is the sum of the two sides' error bounds (:mod:`gradproof.numeric.differences.error_model`,
:mod:`gradproof.numeric.differences.finite_difference`). Two tiers: a cheap check of ⟨∇E, v⟩ along one
random direction v, and the full per-weight check, which also runs when the cheap one fails or cannot
decide, to name the weights. The verdict (agree, differ, cannot decide) and what "could have failed"
means: :mod:`gradproof.numeric.checks.result`.

The references (the finite differences, the error model, the direct form) are computed from private,
read-only copies of the sample before the gradient under test runs, and that gradient is handed copies
of its own: what it does to its arguments cannot move the reference.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from gradproof.derive.errors import InputError
from gradproof.derive.model.network import Network
from gradproof.numeric.checks import conv_check
from gradproof.numeric.checks.diagnosis import diagnose
from gradproof.numeric.checks.repeatable import same_again
from gradproof.numeric.checks.result import CheckResult, Comparison, DirectionCheck, WeightComparison
from gradproof.numeric.compiled.kernels import abs_dot
from gradproof.numeric.compiled.per_weight import PerWeightForm, compiled, direct_feasible, per_weight_feasible
from gradproof.numeric.compiled.matrix import psi_gradient
from gradproof.numeric.differences.complex_step import SPLIT_STEP
from gradproof.numeric.differences.error_model import ETA, ErrorModel, error_model, gamma
from gradproof.numeric.differences.finite_difference import (check_method, default_step, directional_difference,
                                                             estimate_bound, finite_difference)
from gradproof.numeric.errors import FiniteDifferenceUnreliable
from gradproof.numeric.samples import Sample, coarser, make_sample

__all__ = ["CheckResult", "Comparison", "DirectionCheck", "WeightComparison", "check_gradient", "compiled",
           "matrix_psi", "random_direction"]

TIERS = ("full", "direction")
#: analytic gradient: called as gradient(wbar, x_columns, y_columns, reduction) → list shaped like wbar
Analytic = Callable[..., list]


def matrix_psi(network: Network) -> Analytic:
    return lambda wbar, x, y, reduction: psi_gradient(network, wbar, x, y, reduction)


def check_gradient(sample: Sample, gradient: Analytic | None = None, *, analytic_name: str | None = None,
                   method: str = "complex-step", step: float | None = None, reduction: str = "mean",
                   direct: bool | None = None, tier: str = "full", seed: int | None = None,
                   direction_seed: int = 0, rerun: str = "", progress: bool | None = False) -> CheckResult:
    """Check ``gradient`` (default: the Ψ recurrence) on ``sample``; see the module doc.

    - ``method``, ``step``: the finite difference (``step`` None: the method's default).
    - ``direct``: also compare with the compiled direct form, ∂E/∂w by the definition (None: where the
      network is small enough that it compiles in about a second,
      :func:`gradproof.numeric.compiled.per_weight.direct_feasible`).
      Compiling is done first and is not counted in ``seconds``.
    - ``tier``: ``"full"`` checks every weight; ``"direction"`` only ⟨∇E, v⟩, and every weight only if
      that differs or cannot decide.
    - ``progress``: a bar on stderr while the finite differences run past two seconds (None: where
      stderr is a terminal).
    """
    check_method(method)
    if tier not in TIERS:
        raise InputError(f"tier must be one of {', '.join(TIERS)}, not {tier!r}")
    if isinstance(direction_seed, bool) or not isinstance(direction_seed, (int, np.integer)):
        raise InputError(f"direction_seed must be an integer, not {direction_seed!r}")
    network = sample.network
    reference = _private_copy(sample)
    if network.has_conv:
        return _conv_result(reference, gradient, analytic_name, method, step, reduction, tier, seed,
                            direction_seed, rerun, progress)
    small = per_weight_feasible(network)
    default = gradient is None
    start = time.perf_counter()  # getting the per-weight forms is timed on its own, not in the check's seconds
    if default:
        gradient = compiled(network, "psi") if small else matrix_psi(network)
        analytic_name = analytic_name or ("the Ψ recurrence, compiled per weight" if small
                                          else "the Ψ recurrence in matrix form")
    direct_form = compiled(network, "direct") if (direct_feasible(network) if direct is None else direct) else None
    result = dict(network=network, analytic_name=analytic_name or "the gradient under test", method=method,
                  step=default_step(method) if step is None else float(step), reduction=reduction,
                  batch=sample.batch, seed=seed, rerun=rerun, forms=_origin(start, gradient, direct_form),
                  forms_seconds=time.perf_counter() - start)
    start = time.perf_counter()
    try:
        with np.errstate(all="ignore"):  # whatever floating-point traps the caller's code turned on
            references = _references(reference, direct_form, method, step, reduction, tier, direction_seed,
                                     progress)
    except FiniteDifferenceUnreliable as why:
        return CheckResult(comparison=None, direction=None, seconds=time.perf_counter() - start,
                           unreliable=str(why), **result)
    found = _analytic(gradient, sample, reduction, default, network)
    if default and found is None:  # a compiled per-weight form overflows where e^z does
        gradient, result["analytic_name"] = matrix_psi(network), "the Ψ recurrence in matrix form"
        found = _analytic(gradient, sample, reduction, False, network)
    analytic, result["precision"] = found[0], np.dtype(found[1]).name
    with np.errstate(all="ignore"):  # whatever floating-point traps the gradient under test turned on
        return _judge(reference, analytic, references, method, step, reduction, progress, start, result)


def _origin(since: float, *forms) -> str:
    """Where the per-weight forms among ``forms`` came from ("": none): "memory" when this process had
    them before ``since`` (a ``perf_counter`` time), else the disk cache or sympy."""
    used = [f for f in forms if isinstance(f, PerWeightForm)]
    if not used:
        return ""
    if all(f.made < since for f in used):
        return "memory"
    return "sympy" if any(f.origin == "sympy" for f in used) else "cache"


def _references(reference: Sample, direct_form, method, step, reduction, tier, direction_seed, progress):
    """Everything the gradient under test is compared with, computed before it runs."""
    x, y = reference.columns()
    model = error_model(reference.network, reference.wbar, x, y)
    v, absv = random_direction(int(direction_seed), tuple(w.shape for w in reference.wbar))
    along = directional_difference(reference.network, reference.wbar, v, x, y, method, step, reduction,
                                   fwd=model.fwd)
    fd = finite_difference(reference.network, reference.wbar, x, y, method, step, reduction, progress) \
        if tier == "full" else None
    layers = []
    if tier == "direction":  # each layer's share of v on its own: the tier agrees only if each could fail
        for part, abs_part in direction_parts(int(direction_seed), tuple(w.shape for w in reference.wbar)):
            layers.append((part, abs_part, directional_difference(reference.network, reference.wbar, part, x, y,
                                                                  method, step, reduction, fwd=model.fwd)))
    direct_values = None
    if direct_form is not None:
        with np.errstate(over="ignore", invalid="ignore"):
            direct_values = direct_form(reference.wbar, x, y, reduction)
        if not _finite(direct_values):  # e^z overflowed in the compiled expression: no witness here
            direct_values = None
    return dict(model=model, direction=(v, absv, along), layers=layers, fd=fd, direct=direct_values)


def _analytic(gradient, sample: Sample, reduction, default: bool, network: Network):
    """The gradient under test, called on copies, and the coarsest precision it came in (None: the
    default form overflowed)."""
    x, y = (np.array(c) for c in sample.columns())
    with np.errstate(over="ignore", invalid="ignore"):
        if default or getattr(gradient, "repeated", False):
            values = gradient([np.array(w) for w in sample.wbar], x, y, reduction)
        else:  # a gradient of your own: called twice, it must give the same (state kept between calls)
            values = same_again(gradient, list(sample.wbar), x, y, reduction)
    if not isinstance(values, (list, tuple)) or len(values) != network.depth:
        raise InputError(f"the gradient under test returned {type(values).__name__}, not {network.depth} "
                         "arrays shaped like W̄")
    dtype = getattr(gradient, "returned_dtype", np.dtype(np.float64))
    arrays = [_real_array(value, layer) for layer, value in enumerate(values)]
    for array in arrays:
        dtype = coarser(dtype, array.dtype)
    with np.errstate(over="ignore", invalid="ignore"):  # a longdouble beyond float64's range: inf, judged so
        analytic = [a.astype(float) for a in arrays]
    return None if default and not _finite(analytic) else (analytic, dtype)


def _real_array(value, layer: int) -> np.ndarray:
    """One returned gradient as an array of real numbers, refused (not cast, which drops imaginary parts with
    numpy's warning) when it is complex or not numbers."""
    try:
        array = np.asarray(value)
    except Exception as error:  # noqa: BLE001 - anything numpy cannot read
        raise InputError(f"the gradient under test returned for W̄[{layer}] something that is not an array: "
                         f"{error}") from None
    if array.dtype.kind == "O":  # Python or sympy numbers: real ones convert, complex ones raise
        try:
            array = array.astype(float)
        except (TypeError, ValueError):
            pass
    if array.dtype.kind not in "biuf":
        raise InputError(f"the gradient under test returned ∂E/∂W̄[{layer}] of dtype {array.dtype}: return real "
                         "numbers (float64)")
    return array


def _at_precision(bound, magnitude, model: ErrorModel, dtype):
    """The analytic bound for a gradient computed in ``dtype`` instead of float64: the model is first order
    in u, so its terms grow by ε(dtype)/ε(float64); and each operation may lose the dtype's smallest
    subnormal number η (its underflow), carried by the magnitudes of what it multiplies."""
    if dtype == np.float64:
        return bound
    ratio = np.finfo(dtype).eps / np.finfo(np.float64).eps
    return bound * ratio + model.underflow_terms * float(np.finfo(dtype).smallest_subnormal) * (magnitude + 1)


def _judge(reference: Sample, analytic, references, method, step, reduction, progress, start, result):
    model = references["model"]
    dtype = np.dtype(result["precision"])
    direction = _direction_check(analytic, model, references["direction"], method, reduction, dtype)
    layers = tuple(_direction_check(analytic, model, found, method, reduction, dtype) for found in references["layers"])
    fd = references["fd"]
    unreliable = ""
    if fd is None and not all(d.ok and d.resolved for d in (direction, *layers)):
        try:
            x, y = reference.columns()
            fd = finite_difference(reference.network, reference.wbar, x, y, method, step, reduction, progress)
        except FiniteDifferenceUnreliable as why:
            unreliable = str(why)
    comparison = None if fd is None else _compare_weights(analytic, references["direct"], model, fd, reduction,
                                                          dtype)
    seconds = time.perf_counter() - start
    diagnosis = diagnose(reference, analytic, comparison) if comparison is not None else ()
    return CheckResult(comparison=comparison, direction=direction, seconds=seconds, diagnosis=diagnosis,
                       unreliable=unreliable, layer_directions=layers, **result)


def _conv_result(sample, gradient, analytic_name, method, step, reduction, tier, seed, direction_seed, rerun,
                 progress) -> CheckResult:
    """A network with convolutions: every weight by the forward-mode complex step (:mod:`.conv_check`); its
    undecidable weights (a tangent through a kink) end as "cannot decide", never as an exception."""
    step_used = default_step(method) if step is None else float(step)
    try:
        with np.errstate(all="ignore"):
            found = conv_check.compare(sample, gradient, method, step, reduction, tier, direction_seed, progress)
    except FiniteDifferenceUnreliable as why:
        return CheckResult(sample.network, analytic_name or conv_check.PSI_NAME, method, step_used, reduction,
                           sample.batch, seed, None, None, 0.0, rerun, unreliable=str(why))
    comparison = None if found.comparison is None else Comparison(*found.comparison)
    return CheckResult(sample.network, analytic_name or found.analytic_name, method, step_used, reduction,
                       sample.batch, seed, comparison, DirectionCheck(*found.direction), found.seconds, rerun,
                       found.diagnosis)


def _private_copy(sample: Sample) -> Sample:
    """A read-only copy of the sample: the references are computed from it, and nothing else holds it."""
    copy = make_sample(sample.network, [np.array(w) for w in sample.wbar], np.array(sample.x), np.array(sample.y))
    for array in (*copy.wbar, copy.x, copy.y):
        array.flags.writeable = False
    return copy


def _direction_check(analytic, model: ErrorModel, found, method, reduction, dtype) -> DirectionCheck:
    v, absv, (value, truncation, weight, h, scale) = found
    along = sum(float(np.vdot(g, d)) for g, d in zip(analytic, v))
    weights = sum(d.size for d in v)
    # the bounds of each weight's gradient, carried along v, and the rounding of the sum ⟨g, v⟩ itself: γ·Σ|g||v|,
    # and η for each product and each addition near underflow (which also covers the η/2 per addition that
    # forming the directional bound's own sum over the weights may lose)
    rounding = model.directional_rounding(absv, reduction)
    rounding += gamma(weights) * sum(abs_dot(g, d) for g, d in zip(analytic, absv)) + 3 * weights * ETA
    fd_error = estimate_bound(model, method, reduction, truncation, weight, rounding, scale, h,
                              split=method == "complex-step" and h <= SPLIT_STEP)
    ours = _at_precision(rounding, model.directional_magnitude(absv, reduction) if dtype != np.float64 else 0.0,
                         model, dtype)
    return DirectionCheck(along, value, fd_error + ours)


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


@lru_cache(maxsize=4)
def direction_parts(seed, shapes: tuple) -> tuple:
    """Each layer's part of :func:`random_direction` (v[l] there, 0 elsewhere) and its absolute values,
    read-only and kept like the direction (one array of zeros per layer, shared by the parts)."""
    v, absv = random_direction(seed, shapes)
    zeros = [np.zeros(shape) for shape in shapes]
    for z in zeros:
        z.flags.writeable = False
    return tuple((tuple(d if l == layer else z for l, (d, z) in enumerate(zip(v, zeros))),
                  tuple(d if l == layer else z for l, (d, z) in enumerate(zip(absv, zeros))))
                 for layer in range(len(shapes)))


def _compare_weights(analytic, direct, model: ErrorModel, fd, reduction, dtype) -> Comparison:
    """Shares of tolerance per weight: analytic and direct against the finite difference (tolerance: the
    two sides' bounds), and direct against analytic (the two analytic bounds)."""
    bound = model.analytic_rounding(reduction)
    ours = bound if dtype == np.float64 else [_at_precision(b, m, model, dtype)
                                              for b, m in zip(bound, model.magnitude(reduction))]
    fd_bounds = fd.bounds(model, reduction)
    tolerance = [f + a for f, a in zip(fd_bounds, ours)]
    shares = []
    for layer, (a, f, t, b) in enumerate(zip(analytic, fd.values, tolerance, bound)):
        share = _shares(np.abs(a - f), t)
        if direct is not None:
            share = np.maximum(share, np.maximum(_shares(np.abs(direct[layer] - f), fd_bounds[layer] + b),
                                                 _shares(np.abs(direct[layer] - a), b + ours[layer])))
        shares.append(share)
    direct_arrays = None if direct is None else tuple(np.asarray(d, dtype=float) for d in direct)
    kinked = tuple(fd.kinks) if fd.kinks is not None else tuple(np.zeros(a.shape, dtype=bool) for a in analytic)
    too_large = tuple(np.isinf(t) for t in fd.truncation)
    return Comparison(tuple(analytic), direct_arrays, tuple(fd.values), tuple(tolerance), tuple(shares),
                      kinked, too_large)


def _shares(difference: np.ndarray, tolerance: np.ndarray) -> np.ndarray:
    """difference/tolerance elementwise, with 0/0 = 0, x/0 = inf, x/inf = 0 (unresolved), and a non-finite
    difference = inf (fails)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        share = difference / tolerance
    share[difference == 0] = 0.0
    share[~np.isfinite(difference)] = np.inf   # a NaN or infinite gradient fails, whatever the tolerance
    return share


def _finite(arrays) -> bool:
    return all(np.all(np.isfinite(a)) for a in arrays)

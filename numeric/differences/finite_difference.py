"""The derivative by its definition: change one weight a little and watch E change.

Methods (``h`` is the step, scaled per weight by 1/max(1, |X̄ʲ|): a step h in ˡwʲᵢ moves ˡzᵢ by h·X̄ʲ,
so the scaled step moves the weighted sum by at most h; the move is applied to z exactly, never rounded
into w, so the weight's own size does not enter):

- ``forward``: (E(w + h) − E(w))/h, the source text's definition.
- ``central``: (E(w + h) − E(w − h))/(2h).
- ``richardson``: (4·D(h) − D(2h))/3 from central differences D.
- ``complex-step``: Im E(w + i·h)/h: no subtraction, so no cancellation. At steps up to 1e-10 (the
  default is 1e-20) its real and imaginary parts are carried apart (:mod:`gradproof.numeric.differences.complex_step`).

Default steps balance truncation against rounding for float64: ε^(1/2) forward, ε^(1/3) central,
ε^(1/5) Richardson, 1e-20 for the complex step. Every estimate carries an error bound: its truncation,
bounded from analyticity by Cauchy's estimate (:mod:`gradproof.numeric.differences.truncation`; infinite
where the stencil leaves the disc on which E is analytic in the weight: such a weight cannot be decided),
plus rounding: the formula's absolute weights times δE/h, with δE from
:mod:`gradproof.numeric.differences.error_model` (for the complex step, times the analytic rounding bound,
as for any forward-mode derivative).

The evaluation uses the layer structure (a perturbation of ˡwʲᵢ changes only ˡzᵢ: the layers below are
reused, only unit i of layer l+1 is updated, then everything above is propagated for all perturbations of
a layer at once), but it is still a pure finite difference: forward passes only, independent of any
gradient it checks. A step that carries a ReLU unit across its kink, or an E that is not finite at a
stencil point, leaves that weight undecided (an infinite bound); a non-finite E at the network itself
raises :class:`FiniteDifferenceUnreliable`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradproof.derive.errors import InputError
from gradproof.derive.model.network import Network
from gradproof.derive.runtime.progress import Progress
from gradproof.numeric.differences import formulas
from gradproof.numeric.differences.complex_step import SPLIT_STEP, complex_step_along, complex_step_gradient
from gradproof.numeric.differences.error_model import ETA, FUNCTION_ULPS, ErrorModel, gamma
from gradproof.numeric.differences.truncation import directional_bounds, truncation, weight_bounds
from gradproof.numeric.errors import FiniteDifferenceUnreliable
from gradproof.numeric.compiled.matrix import Forward, forward, reduce, with_bias

METHODS = ("forward", "central", "richardson", "complex-step")
_EPS = np.finfo(np.float64).eps
#: most entries (units × perturbations × samples) propagated at once: 4 MB per array, so that a chunk's
#: arrays stay in cache (measured: 18% faster than 16 MB on the Atari-sized network's first layer)
CHUNK_ENTRIES = 1 << 19


def default_step(method: str) -> float:
    """The step that balances truncation and rounding for ``method`` in float64."""
    check_method(method)
    return {"forward": _EPS ** 0.5, "central": _EPS ** (1 / 3), "richardson": _EPS ** 0.2,
            "complex-step": 1e-20}[method]


def check_method(method: str) -> str:
    if method not in METHODS:
        raise InputError(f"unknown finite-difference method {method!r}: choose one of {', '.join(METHODS)}")
    return method


@dataclass(frozen=True, eq=False)
class FiniteDifference:
    """Finite-difference estimates of ∂E/∂W̄[l] with what their error bounds are made of."""

    method: str
    step: float
    values: list            # M per weight (0 where undecided)
    truncation: list        # the truncation bound per weight (inf: the step leaves the analytic disc)
    steps: list             # h per weight
    error_scale: list       # max |E| over the stencil (complex step: |M|): rounding scales with it
    evaluations: int
    split: bool = False     # the complex step at a tiny step, its imaginary parts carried on their own
    kinks: list | None = None   # per weight: a step crossed a kink or met a non-finite E (undecided)
    lost: list | None = None    # split complex step: what slopes lost to underflow may cost each weight

    def bounds(self, model: ErrorModel, reduction: str) -> list[np.ndarray]:
        """|estimate − ∂E/∂w| ≤ truncation + rounding, per weight (inf where it cannot be bounded)."""
        weight = 1.0 if self.split else float(formulas.rounding_weight(self.method))
        analytic = model.analytic_rounding(reduction) if self.method == "complex-step" else [None] * len(self.steps)
        out = []
        for layer, (t, a, scale, h) in enumerate(zip(self.truncation, analytic, self.error_scale, self.steps)):
            bound = estimate_bound(model, self.method, reduction, t, weight, a, scale, h, self.split, layer)
            if self.split and self.lost is not None:
                bound = bound + self.lost[layer]
            if self.kinks is not None:
                bound = np.where(self.kinks[layer], np.inf, bound)
            out.append(bound)
        return out


def estimate_bound(model: ErrorModel, method: str, reduction: str, truncation, weight: float, analytic,
                   scale, h, split: bool, layer: int | None = None):
    """A finite-difference estimate's error bound: its truncation plus its rounding, ``weight`` (the
    stencil's absolute weights, :func:`gradproof.numeric.differences.formulas.rounding_weight`) times what
    each evaluation may be off. For the complex step, M is within the forward-mode bound of the derivative
    (``analytic``), plus its own rounding (γ(K)·|M|), plus its tangents' underflow (:func:`complex_underflow`).
    Otherwise δE/h, with δE of an evaluation that reuses the layers below ``layer + 1`` (None: all, as
    along a direction)."""
    if method == "complex-step":
        terms = model.underflow_terms
        return truncation + weight * (analytic + gamma(terms) * scale) + complex_underflow(model, reduction, h,
                                                                                          split, layer)
    n_out = model.fwd.output.shape[0]
    return truncation + weight * (model.error_rounding(reduction, layer) + gamma(n_out + FUNCTION_ULPS) * scale) / h


def complex_underflow(model: ErrorModel, reduction: str, h, split: bool, layer: int | None):
    """What η per operation near underflow costs a complex step: a tangent's operations may each add η,
    which reaches E as :meth:`ErrorModel.underflow` says — from every layer along a direction (``layer``
    None), from the weight's layer per weight, where the split tangent of a unit push is scaled by |X̄ʲ|
    afterwards (:meth:`ErrorModel.tangent_underflow`). In complex arithmetic the imaginary parts are h
    times the tangents, so there it is over h: what the h·X̄ʲ of a subnormal input loses comes back ×1/h."""
    if layer is None:
        found = model.underflow(0, reduction)
    elif split:
        return model.tangent_underflow(layer, reduction)
    else:
        found = model.underflow(layer, reduction)
    return found if split else found / h


def finite_difference(network: Network, wbar, x_columns, y_columns, method: str = "complex-step",
                      step: float | None = None, reduction: str = "mean",
                      progress: bool | None = False) -> FiniteDifference:
    """Every weight's finite difference, shaped like W̄ (see the module doc for the methods).
    ``progress``: a bar on stderr for runs past two seconds (None: where stderr is a terminal)."""
    check_method(method)
    step = default_step(method) if step is None else _check_step(step)
    with np.errstate(over="ignore", invalid="ignore"):  # non-finite values are reported, not warned about
        fwd = forward(network, wbar, x_columns, y_columns)
        base = reduce(fwd.errors, reduction)
        _require_finite(base, "E at the network itself")
        if method == "complex-step" and step <= SPLIT_STEP:
            values, lost = complex_step_gradient(network, wbar, fwd, y_columns, reduction)
            for value in values:
                _require_finite(value, "a complex step")
            return FiniteDifference(method, step, values, [np.zeros_like(v) for v in values],
                                    [np.full_like(v, step) for v in values], [np.abs(v) for v in values],
                                    sum(v.size for v in values), split=True, lost=lost)
        parts = [[] for _ in range(5)]
        points = formulas.stencil(method)
        with Progress(network.n_weights * len(points), f"finite differences ({method})", enabled=progress) as bar:
            for layer in range(network.depth):
                for found, part in zip(_layer(network, wbar, fwd, y_columns, layer, method, step, reduction,
                                              base, bar.advance), parts):
                    part.append(found)
    values, truncation, steps, scales, kinks = parts
    evaluations = len(points) * network.n_weights
    return FiniteDifference(method, step, values, truncation, steps, scales, evaluations, kinks=kinks)


def _layer(network, wbar, fwd, y_columns, layer, method, step, reduction, base, advance):
    """(values, truncation bounds, steps, error scales, undecided) for the weights of W̄[layer]."""
    h = step * _relative_steps(fwd.xbar[layer], network.shape(layer))
    errors = {0: np.full(network.shape(layer), base)}
    crossed = np.zeros(network.shape(layer), dtype=bool)
    for point in formulas.stencil(method):
        errors[point] = perturbed_errors(network, wbar, fwd, y_columns, layer, point * h, reduction, advance,
                                         crossed=crossed)
    value, scale = _estimate(method, errors, h)
    undecided = crossed | ~np.isfinite(value) | ~np.isfinite(scale)
    big_r, p = weight_bounds(network, wbar, fwd, y_columns, layer, reduction)
    return (np.where(undecided, 0.0, value), truncation(method, h, big_r, p), h, np.where(undecided, 0.0, scale),
            undecided)


def _relative_steps(xbar: np.ndarray, shape) -> np.ndarray:
    """1/max(1, |X̄ʲ|) per weight (the largest over the samples): a step h then moves ˡzᵢ by at most h."""
    inputs = np.maximum(1.0, np.max(np.abs(xbar), axis=1))
    return np.broadcast_to(1.0 / inputs[None, :], shape).copy()


def directional_difference(network: Network, wbar, direction, x_columns, y_columns,
                           method: str = "central", step: float | None = None, reduction: str = "mean",
                           fwd: Forward | None = None):
    """The derivative of E along ``direction`` (a list shaped like W̄): (estimate, truncation bound (the
    split complex step: what slopes lost to underflow may cost it), rounding weight, h, max |E| over the
    stencil; for the split complex step, |estimate|). ``fwd``: the
    forward phase at W̄, if already computed. A stencil across a kink gives an infinite truncation bound."""
    check_method(method)
    step = default_step(method) if step is None else _check_step(step)
    with np.errstate(over="ignore", invalid="ignore"):
        fwd = forward(network, wbar, x_columns, y_columns) if fwd is None else fwd
        base = reduce(fwd.errors, reduction)
        _require_finite(base, "E at the network itself")
        if method == "complex-step" and step <= SPLIT_STEP:
            value, lost = complex_step_along(network, wbar, direction, fwd, y_columns, reduction)
            _require_finite(value, "the complex step along the direction")
            return value, lost, 1.0, step, abs(value)
        errors = {0: base}
        push0 = direction[0] @ fwd.xbar[0]  # the inputs never move: the first layer's push is fixed
        crossed = False
        for point in formulas.stencil(method):
            found, kinked = _errors_along(network, wbar, direction, point * step, fwd, push0, y_columns)
            errors[point] = reduce(found, reduction)
            crossed = crossed or kinked or not np.all(np.isfinite(errors[point]))
        big_r, p = directional_bounds(network, wbar, direction, fwd, y_columns, reduction)
    value, scale = _estimate(method, errors, step)
    trunc = np.inf if crossed else float(truncation(method, step, big_r, p))
    return (float(value) if not crossed else 0.0), trunc, float(formulas.rounding_weight(method)), step, \
        (float(scale) if not crossed else 0.0)


def _errors_along(network: Network, wbar, direction, t, fwd: Forward, push0, y_columns):
    """Per-sample E at W̄ + t·V̄, with z[l] = W̄[l]·X̄[l] + t·(V̄[l]·X̄[l]): the move is exactly t·V̄,
    never rounded into the weights. The first layer's two products are the same at every point. Also
    whether a unit crossed an activation's kink on the way."""
    values, kinked = None, False
    for layer, act in enumerate(network.activations):
        if layer == 0:
            z = fwd.z[0] + t * push0
        else:
            xbar = with_bias(values, network.bias)
            z = wbar[layer] @ xbar + t * (direction[layer] @ xbar)
        kinked = kinked or bool(_crosses(act, fwd.z[layer], z).any())
        values = act.np_forward(z)
    return network.loss.np_error(z, values, y_columns), kinked


def _estimate(method: str, errors: dict, h):
    """M and the scale its rounding grows with (max |E| over the stencil; for the complex step, |M|),
    from the evaluations at the stencil points."""
    terms = [float(w) * (np.imag(errors[point]) if method == "complex-step" else errors[point])
             for point, w in formulas.estimate(method).items()]
    value = np.sum(terms, axis=0) / h
    if method == "complex-step":
        return np.real(value), np.abs(value)
    return np.real(value), np.max(np.abs(np.real(list(errors.values()))), axis=0)


def perturbed_errors(network: Network, wbar, fwd: Forward, y_columns, layer: int, offsets: np.ndarray,
                     reduction: str, advance=None, crossed: np.ndarray | None = None) -> np.ndarray:
    """E with each weight of W̄[layer] moved by its offset, one at a time: shape (rows, cols)
    (``advance(n)`` after each block of n weights, for a progress bar). ``crossed``: a boolean array
    shaped like the layer in which the weights whose step crossed a kink, or met a non-finite E, are
    marked (None: raise :class:`FiniteDifferenceUnreliable` for them instead)."""
    rows, cols = offsets.shape
    samples = fwd.xbar[0].shape[1]
    widest = max(network.sizes[layer + 1:])
    per_row = max(1, widest * cols * samples)  # entries of the widest array one row's perturbations make
    chunk = max(1, CHUNK_ENTRIES // per_row)
    # a row too wide for a chunk is split by columns: the arrays stay in cache
    width = cols if per_row <= CHUNK_ENTRIES else max(1, CHUNK_ENTRIES // max(1, widest * samples))
    out = np.empty((rows, cols), dtype=np.result_type(offsets, float))
    for start in range(0, rows, chunk):
        stop = min(rows, start + chunk)
        for first in range(0, cols, width):
            columns = slice(first, min(cols, first + width))
            found, bad = _perturbed_rows(network, wbar, fwd, y_columns, layer, offsets, start, stop, reduction,
                                         columns)
            out[start:stop, columns] = found
            if bad.any():
                if crossed is None:
                    _refuse(bad, layer, start, columns.start or 0, network, found)
                crossed[start:stop, columns] |= bad
        if advance is not None:
            advance((stop - start) * cols)
    return out


def _perturbed_rows(network, wbar, fwd, y_columns, layer, offsets, start, stop, reduction, columns=slice(None)):
    units = np.arange(start, stop)
    xbar, z = fwd.xbar[layer][columns], fwd.z[layer]
    offsets = offsets[:, columns]
    act = network.activations[layer]
    # ˡzᵢ + offset·X̄ʲ for every perturbation (i, j) of these rows, per sample: (r, cols, B)
    moved = z[units, None, :] + offsets[units, :, None] * xbar[None, :, :]
    crossed = _crosses(act, z[units, None, :], moved)
    r, cols, samples = moved.shape
    if layer == network.depth - 1:
        full = np.broadcast_to(z[:, None, None, :], (z.shape[0], r, cols, samples)).astype(moved.dtype)
        full[units, np.arange(r)] = moved
        out = full.reshape(z.shape[0], -1)
        errors = _errors_from(network, out, layer, y_columns, r * cols)
    else:
        bias = int(network.bias)
        change = act.np_forward(moved) - act.np_forward(z[units])[:, None, :]
        column = wbar[layer + 1][:, bias + units]                    # (n_{l+2}, r)
        above = fwd.z[layer + 1][:, None, None, :] + column[:, :, None, None] * change[None]
        above = above.reshape(above.shape[0], -1)
        _mark_crossings(crossed, network.activations[layer + 1], fwd.z[layer + 1], above, r * cols)
        errors = _propagate(network, wbar, fwd, y_columns, layer + 1, above, crossed, r * cols)
    errors = reduce(errors.reshape(r, cols, samples), reduction)
    return errors, crossed.any(axis=-1) | ~np.isfinite(errors)


def _refuse(bad: np.ndarray, layer: int, first_row: int, first_col: int, network: Network, found) -> None:
    i, j = np.argwhere(bad)[0]
    weight = f"{layer},{j + first_col + network.first_source},{i + first_row + 1}"
    if not np.isfinite(found[i, j]):
        raise FiniteDifferenceUnreliable(f"E at a step of weight {weight} is not finite (overflow): the finite "
                                         "difference cannot be formed; use smaller weights or inputs")
    raise FiniteDifferenceUnreliable(
        f"a step of weight {weight} carries a unit across an activation's kink (ReLU at 0): the finite "
        "difference is meaningless there; move the point or use a network without kinks")


def _propagate(network, wbar, fwd, y_columns, layer, z, crossed, perturbations):
    """From weighted sums z at ``layer`` (units × perturbations·samples, samples fastest) to the errors;
    marks in ``crossed`` every perturbation that moved a unit across a kink on the way."""
    bias = int(network.bias)
    for upper in range(layer, network.depth - 1):
        values = network.activations[upper].np_forward(z)
        z = wbar[upper + 1][:, bias:] @ values  # the bias column added apart: no copy of values with a 1 row
        if bias:
            z += wbar[upper + 1][:, :1]
        _mark_crossings(crossed, network.activations[upper + 1], fwd.z[upper + 1], z, perturbations)
    return _errors_from(network, z, network.depth - 1, y_columns, perturbations)


def _errors_from(network, z, layer, y_columns, perturbations):
    """Per-sample errors from the output weighted sums z (n_L, perturbations·samples)."""
    y = np.tile(y_columns, (1, perturbations))
    act = network.activations[layer]
    return network.loss.np_error(z, act.np_forward(z), y)


def _mark_crossings(crossed: np.ndarray, act, base: np.ndarray, moved: np.ndarray, perturbations: int) -> None:
    """Marks in ``crossed`` the perturbations whose weighted sums ``moved`` (units × perturbations·samples)
    lie across one of ``act``'s kinks from ``base`` (units × samples)."""
    if getattr(act, "kinks", ()):
        tiled = np.tile(base, (1, perturbations))
        crossed |= _crosses(act, tiled, moved).any(axis=0).reshape(crossed.shape)


def _crosses(act, base: np.ndarray, moved: np.ndarray) -> np.ndarray:
    """Whether a moved weighted sum lies on the other side of one of ``act``'s kinks."""
    crossed = np.zeros(np.broadcast_shapes(base.shape, moved.shape), dtype=bool)
    for kink in getattr(act, "kinks", ()):
        crossed |= (np.real(base) > kink) != (np.real(moved) > kink)
    if getattr(act, "unlocated_kinks", ()):  # kinks not located: an expression whose zeros they are changed sign
        crossed |= act.between_unlocated_kinks(base, moved)
    return crossed


def _require_finite(values, what: str) -> None:
    if not np.all(np.isfinite(values)):
        raise FiniteDifferenceUnreliable(
            f"{what} is not finite (overflow): the finite difference cannot be formed; use smaller "
            "weights or inputs")


def _check_step(step) -> float:
    try:
        step = float(step)
    except (TypeError, ValueError):
        raise InputError(f"the step must be a positive number, not {step!r}") from None
    if not (np.isfinite(step) and step > 0):
        raise InputError(f"the step must be a positive number, not {step!r}")
    return step

"""The derivative by its definition: change one weight a little and watch E change.

Methods (``h`` is the step, scaled per weight by max(1, |w|)/max(1, |x̄|), the scales of the weight and
of its input, except for the complex step):

- ``forward``: (E(w + h) − E(w))/h, the source text's definition.
- ``central``: (E(w + h) − E(w − h))/(2h).
- ``richardson``: (4·D(h) − D(2h))/3 from central differences D.
- ``complex-step``: Im E(w + i·h)/h: no subtraction, so no cancellation. At steps up to 1e-10 (the
  default is 1e-20) its real and imaginary parts are carried apart (:mod:`gradproof.numeric.differences.complex_step`).

Default steps balance truncation against rounding for float64: ε^(1/2) forward, ε^(1/3) central,
ε^(1/5) Richardson, 1e-20 for the complex step. Every estimate carries an error bound: its truncation
bounded from the same formula at 2h, 4h and 8h (:mod:`gradproof.numeric.differences.stencils`), plus rounding: the formula's
absolute weights times δE/h, with δE from :mod:`gradproof.numeric.differences.error_model` (for the complex step, times the
analytic rounding bound, as for any forward-mode derivative).

The evaluation uses the layer structure (a perturbation of ˡwʲᵢ changes only ˡzᵢ: the layers below are
reused, only unit i of layer l+1 is updated, then everything above is propagated for all perturbations of
a layer at once), but it is still a pure finite difference: forward passes only, independent of any
gradient it checks. A step that carries a ReLU unit across its kink, and a non-finite E, raise
:class:`FiniteDifferenceUnreliable` instead of a result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradproof.derive.errors import InputError
from gradproof.derive.model.network import Network
from gradproof.derive.runtime.progress import Progress
from gradproof.numeric.differences import stencils
from gradproof.numeric.differences.complex_step import SPLIT_STEP, complex_step_along, complex_step_gradient
from gradproof.numeric.differences.error_model import ETA, FUNCTION_ULPS, ErrorModel, gamma
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
    values: list            # M(1) per weight
    truncation: list        # |C| + |D| + 2·|G| per weight (gradproof.numeric.differences.stencils)
    steps: list             # h per weight
    error_scale: list       # max |E| over the stencil (complex step: max |M(k)|): rounding scales with it
    evaluations: int
    split: bool = False     # the complex step at a tiny step, its imaginary parts carried on their own

    def bounds(self, model: ErrorModel, reduction: str) -> list[np.ndarray]:
        """|estimate − ∂E/∂w| ≤ truncation + rounding, per weight."""
        weight = 1.0 if self.split else float(stencils.rounding_weight(self.method))
        analytic = model.analytic_rounding(reduction) if self.method == "complex-step" else [None] * len(self.steps)
        return [estimate_bound(model, self.method, reduction, t, weight, a, scale, h, self.split, layer)
                for layer, (t, a, scale, h) in enumerate(zip(self.truncation, analytic, self.error_scale,
                                                             self.steps))]


def estimate_bound(model: ErrorModel, method: str, reduction: str, truncation, weight: float, analytic,
                   scale, h, split: bool, layer: int | None = None):
    """A finite-difference estimate's error bound: its truncation plus its rounding, ``weight`` (the
    stencil's absolute weights, :func:`gradproof.numeric.differences.stencils.rounding_weight`) times what each evaluation may be
    off. For the complex step, each M(k) is within the forward-mode bound of the derivative (``analytic``),
    plus its own rounding (γ(K)·|M(k)|, where truncation makes it larger than the derivative), plus, in
    complex arithmetic, η/h per operation near underflow, the imaginary parts being h times the derivatives.
    Otherwise δE/h, with δE of an evaluation that reuses the layers below ``layer + 1`` (None: all)."""
    if method == "complex-step":
        terms = model.underflow_terms
        return truncation + weight * (analytic + gamma(terms) * scale + (0 if split else terms * ETA / h))
    n_out = model.fwd.output.shape[0]
    return truncation + weight * (model.error_rounding(reduction, layer) + gamma(n_out + FUNCTION_ULPS) * scale) / h


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
            values = complex_step_gradient(network, wbar, fwd, y_columns, reduction)
            for value in values:
                _require_finite(value, "a complex step")
            return FiniteDifference(method, step, values, [np.zeros_like(v) for v in values],
                                    [np.full_like(v, step) for v in values], [np.abs(v) for v in values],
                                    sum(v.size for v in values), split=True)
        values, truncation, steps, scales, evaluations = [], [], [], [], 0
        points = stencils.stencil(method)
        with Progress(network.n_weights * len(points), f"finite differences ({method})", enabled=progress) as bar:
            for layer in range(network.depth):
                h = step * (np.ones(network.shape(layer)) if method == "complex-step"
                            else _relative_steps(wbar[layer], fwd.xbar[layer]))
                errors = {0: np.full(network.shape(layer), base)}
                for point in points:
                    errors[point] = perturbed_errors(network, wbar, fwd, y_columns, layer, point * h, reduction,
                                                     bar.advance)
                evaluations += (len(errors) - 1) * wbar[layer].size
                value, trunc, scale = _estimate(method, errors, h)
                values.append(value)
                truncation.append(trunc)
                steps.append(h)
                scales.append(scale)
    return FiniteDifference(method, step, values, truncation, steps, scales, evaluations)


def _relative_steps(weights: np.ndarray, xbar: np.ndarray) -> np.ndarray:
    """max(1, |w|)/max(1, |x̄|) per weight: the weight's own scale, and the scale of the weighted sum it
    moves (a step h in ˡwʲᵢ moves ˡzᵢ by h·X̄ʲ), so that a large input does not make the step large."""
    inputs = np.maximum(1.0, np.max(np.abs(xbar), axis=1))
    return np.maximum(1.0, np.abs(weights)) / inputs[None, :]


def directional_difference(network: Network, wbar, direction, x_columns, y_columns,
                           method: str = "central", step: float | None = None, reduction: str = "mean",
                           fwd: Forward | None = None):
    """The derivative of E along ``direction`` (a list shaped like W̄): (estimate, truncation estimate,
    rounding weight, h, max |E| over the stencil; for the split complex step, |estimate|). ``fwd``: the
    forward phase at W̄, if already computed."""
    check_method(method)
    step = default_step(method) if step is None else _check_step(step)
    with np.errstate(over="ignore", invalid="ignore"):
        fwd = forward(network, wbar, x_columns, y_columns) if fwd is None else fwd
        base = reduce(fwd.errors, reduction)
        _require_finite(base, "E at the network itself")
        if method == "complex-step" and step <= SPLIT_STEP:
            value = complex_step_along(network, wbar, direction, fwd, y_columns, reduction)
            _require_finite(value, "the complex step along the direction")
            return value, 0.0, 1.0, step, abs(value)
        errors = {0: base}
        push0 = direction[0] @ fwd.xbar[0]  # the inputs never move: the first layer's push is fixed
        for point in stencils.stencil(method):
            errors[point] = reduce(_errors_along(network, wbar, direction, point * step, fwd, push0,
                                                 y_columns), reduction)
            _require_finite(errors[point], "E along the direction")
    value, trunc, scale = _estimate(method, errors, step)
    return float(value), float(trunc), float(stencils.rounding_weight(method)), step, float(scale)


def _errors_along(network: Network, wbar, direction, t, fwd: Forward, push0, y_columns) -> np.ndarray:
    """Per-sample E at W̄ + t·V̄, with z[l] = W̄[l]·X̄[l] + t·(V̄[l]·X̄[l]): the move is exactly t·V̄,
    never rounded into the weights. The first layer's two products are the same at every point."""
    values = None
    for layer, act in enumerate(network.activations):
        if layer == 0:
            z = fwd.z[0] + t * push0
        else:
            xbar = with_bias(values, network.bias)
            z = wbar[layer] @ xbar + t * (direction[layer] @ xbar)
        if _crosses(act, fwd.z[layer], z).any():
            raise FiniteDifferenceUnreliable(
                f"the step along the random direction carries a unit of layer {layer + 1} across an "
                "activation's kink (ReLU at 0): the finite difference is meaningless there")
        values = act.np_forward(z)
    return network.loss.np_error(z, values, y_columns)


def _estimate(method: str, errors: dict, h):
    """M(1), its truncation bound |C| + |D| + 2·|G|, and the scale its rounding grows with (max |E| over
    the stencil; for the complex step, max |M(k)|), from the evaluations at the stencil points."""
    m = []
    for k in stencils.SCALES:
        terms = [float(w) * (np.imag(errors[point]) if method == "complex-step" else errors[point])
                 for point, w in stencils.estimate(method, k).items()]
        m.append(np.sum(terms, axis=0) / h)
    c, d, g = (sum(float(w) * mk for w, mk in zip(term, m)) for term in stencils.error_terms(method))
    bound = np.abs(c) + np.abs(d) + 2 * np.abs(g)
    if method == "complex-step":
        scale = np.max(np.abs(m), axis=0)
    else:
        scale = np.max(np.abs(np.real(list(errors.values()))), axis=0)
    return np.real(m[0]), bound, scale


def perturbed_errors(network: Network, wbar, fwd: Forward, y_columns, layer: int, offsets: np.ndarray,
                     reduction: str, advance=None) -> np.ndarray:
    """E with each weight of W̄[layer] moved by its offset, one at a time: shape (rows, cols)
    (``advance(n)`` after each block of n weights, for a progress bar)."""
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
            out[start:stop, columns] = _perturbed_rows(network, wbar, fwd, y_columns, layer, offsets, start, stop,
                                                       reduction, columns)
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
    if crossed.any():
        i, j = np.argwhere(crossed.any(axis=-1))[0]
        raise FiniteDifferenceUnreliable(
            f"a step of weight {layer},{j + (columns.start or 0) + network.first_source},{units[i] + 1} carries a "
            "unit across an activation's kink (ReLU at 0): the finite difference is meaningless there; move the "
            "point or use a network without kinks")
    errors = errors.reshape(r, cols, samples)
    _require_finite(errors, "E at a perturbed weight")
    return reduce(errors, reduction)


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

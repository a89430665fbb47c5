"""The first calls of a layer check: does the code run, return what its convention says, stay the same
from call to call, and leave its arguments alone? Then the noise of φ and of the gradients, measured.

Anything that ends the check early raises :class:`Stop` with the layer's status and the reason: an
exception in the user's code (error), NotImplementedError or a None result (not-implemented), a forward or
backward that gives different results for the same arguments (undecidable).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np

from gradproof.derive.usercode import guard
from gradproof.derive.usercode.conventions import (ConventionError, Layer, Unfinished, parameter_names, settle_kind,
                                                   settle_module, why_none)
from gradproof.numeric.differences.error_model import gamma
from gradproof.numeric.layers import coarse, noise, precision
from gradproof.numeric.layers.entries import central_step
from gradproof.numeric.layers.evaluation import contract, magnitude
from gradproof.numeric.layers.result import ERROR, NOT_IMPLEMENTED, UNDECIDABLE

U = np.finfo(np.float64).eps / 2


class Stop(Exception):
    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass
class Point:
    """The layer at the point it is checked: inputs, upstream gradients, outputs and claimed gradients."""

    layer: Layer
    values: list
    douts: tuple
    outs: tuple
    phi0: float
    returned: tuple                         # what the backward returned, per slot, as returned
    claimed: list                           # per slot: a float64 array shaped like the input, or None
    problems: list                          # per slot: "" or what is wrong with the returned gradient
    unfinished: list                        # per slot: True where the backward returned None for it
    delta: list = field(default_factory=list)
    out_dtypes: tuple = ()                  # the dtype each output came in (its final rounding, :mod:`.precision`)
    dtypes: tuple = ()                      # per slot: the dtype the gradient came in


def guarded(function, *args, what: str, timeout):
    """``function(*args)`` under the guard; what the user's code did wrong becomes a :class:`Stop`."""
    try:
        return guard.call(function, *args, what=what, timeout=timeout).value
    except guard.UserCodeError as error:
        cause = error.__cause__
        if isinstance(cause, NotImplementedError):
            raise Stop(NOT_IMPLEMENTED, f"{what} raises NotImplementedError: not written yet") from None
        if isinstance(cause, Unfinished):
            raise Stop(NOT_IMPLEMENTED, f"{cause}: looks unfinished") from None
        if isinstance(cause, ConventionError):
            raise Stop(ERROR, str(cause)) from None
        raise Stop(ERROR, str(error)) from None


def probe(layer: Layer, douts, rng, timeout, notes: list) -> Point:
    values = _in_float64(layer, layer.values(), notes)
    seen = {}
    first = guarded(layer.run_forward, values, seen, what=layer.forward_name, timeout=timeout)
    _mutations(layer, seen["args"], layer.forward_name, [], notes)
    if first is None:
        raise Stop(NOT_IMPLEMENTED, _none(layer.forward_name, layer.forward))
    layer = settle_kind(layer, first)
    outs, out_dtypes = _outputs(layer, guarded(layer.split, first, what=layer.forward_name, timeout=timeout))
    again = guarded(layer.run_forward, values, what=layer.forward_name, timeout=timeout)
    if not _same(outs, _outputs(layer, guarded(layer.split, again, what=layer.forward_name, timeout=timeout))[0]):
        raise Stop(UNDECIDABLE, f"{layer.forward_name} is random: two calls with the same arguments gave "
                                "different outputs (fix its seed, e.g. dropout_param['seed'], to check it)")
    douts = _douts(layer, outs, douts, rng)
    layer, values, returned = _backward(layer, values, douts, timeout, notes)
    claimed, problems, unfinished, dtypes = zip(*[_claimed(layer, s, g, v, notes)
                                                  for s, g, v in zip(layer.slots, returned, values)])
    if all(unfinished):
        raise Stop(NOT_IMPLEMENTED, _none(layer.backward_name, layer.backward))
    phi0 = float(np.real(contract(douts, outs)))
    if not np.isfinite(phi0) or not np.isfinite(magnitude(douts, outs)):
        raise Stop(UNDECIDABLE, f"⟨dout, {layer.forward_name}(…)⟩ overflows float64 at these arguments: no finite "
                                "difference is possible (scale the arguments down)")
    notes += _output_notes(layer, douts, outs, out_dtypes)
    return Point(layer, values, douts, outs, phi0, tuple(returned), list(claimed), list(problems), list(unfinished),
                 out_dtypes=out_dtypes, dtypes=dtypes)


def _backward(layer: Layer, values, douts, timeout, notes):
    seen = {}
    what = layer.backward_name
    try:
        result = guarded(layer.gradients, values, douts, seen, what=what, timeout=timeout)
    except Stop as stop:
        if stop.status == NOT_IMPLEMENTED and "returned None" in stop.reason and layer.backward is not None:
            raise Stop(NOT_IMPLEMENTED, _none(what, layer.backward)) from None
        raise
    if layer.kind == "module":
        layer = guarded(settle_module, layer, what=what, timeout=timeout)
        values = _in_float64(layer, layer.values(), [])
        result = guarded(layer.gradients, values, douts, seen, what=what, timeout=timeout)
    _mutations(layer, seen.get("args", ()), what, [n for n in notes if n.startswith(layer.forward_name + " ")], notes)
    for name, before, after in zip(("dout", "dout2", "dout3"), douts, seen.get("douts", ())):
        if not _same((before,), (after,)):
            notes.append(f"{what} changed its upstream gradient {name} in place (given a copy here, so the "
                         "verdict is not affected; in a network it corrupts the layer above)")
    again = guarded(layer.gradients, values, douts, what=what, timeout=timeout)
    if not _same(result[1], again[1]):
        raise Stop(UNDECIDABLE, f"{what} is random: two calls with the same arguments returned different "
                                "gradients")
    return layer, values, result[1]


def _in_float64(layer: Layer, values: list, notes: list) -> list:
    """The inputs as the check perturbs them: float64 (float32 or float16 converted exactly), since steps of
    ε^(1/3)·|v| added in float32 would be rounded to float32's grid, 2⁻²⁴·|v| apart (a step off by 1%)."""
    out = []
    for slot, value in zip(layer.slots, values):
        if precision.coarse(value.dtype):
            notes.append(f"{slot.name} is {value.dtype}: converted to float64 (exactly), since the finite differences "
                         f"move it by steps {value.dtype} cannot represent; your code is called with float64 arrays")
            value = value.astype(np.float64)
        out.append(value)
    return out


def _none(name: str, function) -> str:
    why = why_none(function)
    return f"{name} returns None" + (f" ({why})" if why else "") + ": looks unfinished"


def _outputs(layer: Layer, split) -> tuple[tuple, tuple]:
    """The outputs as float64 arrays, and the dtype each came in."""
    outs, _ = split
    checked, dtypes = [], []
    for k, out in enumerate(outs):
        array = plain(out)
        if array.dtype.kind not in "fiub":
            raise Stop(ERROR, f"{layer.forward_name}'s output {k + 1} is {type(out).__name__} of dtype "
                              f"{array.dtype}: not numbers")
        with np.errstate(over="ignore", invalid="ignore"):  # a longdouble beyond float64's range: inf, said below
            checked.append(array.astype(float))
        dtypes.append(array.dtype)
        if not np.all(np.isfinite(checked[-1])):
            raise Stop(ERROR, f"{layer.forward_name}'s output {k + 1} has non-finite entries (NaN or inf, or "
                              "beyond float64's range) at these arguments: no derivative to check there")
    if layer.is_scalar and checked[0].size != 1:
        raise Stop(ERROR, f"{layer.forward_name} returned a value of shape {checked[0].shape}: a loss (or a plain "
                          "function) returns one number")
    return tuple(checked), tuple(dtypes)


def _same(first, second) -> bool:
    if len(first) != len(second):
        return False
    for a, b in zip(first, second):
        if a is None or b is None:
            if a is not b:
                return False
            continue
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or not np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"):
            return False
    return True


def _douts(layer: Layer, outs, douts, rng) -> tuple:
    if layer.is_scalar:
        return (1.0,)
    if douts is None:
        return tuple(rng.standard_normal(o.shape) for o in outs)
    douts = douts if isinstance(douts, (tuple, list)) else (douts,)
    if len(douts) != len(outs) or any(np.shape(d) != o.shape for d, o in zip(douts, outs)):
        raise Stop(ERROR, f"douts: give one array per output, shaped {[o.shape for o in outs]}")
    arrays = [np.asarray(d) for d in douts]
    if any(a.dtype.kind not in "fiub" for a in arrays):  # complex would be cast with its imaginary part dropped
        raise Stop(ERROR, f"douts: give real numbers, not {', '.join(sorted({str(a.dtype) for a in arrays}))}")
    return tuple(a.astype(float) for a in arrays)


def _mutations(layer: Layer, passed, what: str, known: list, notes: list) -> None:
    """Note the arguments the call changed in place (``known``: notes already made by the forward)."""
    names = parameter_names(layer.forward)
    for position, (before, after) in enumerate(zip(layer.args, passed)):
        label = names[position] if position < len(names) else f"argument {position + 1}"
        if any(f" {label} " in note or f" {label}[" in note for note in known):
            continue
        if isinstance(before, np.ndarray) and not _same((before,), (after,)):
            notes.append(f"{what} changes its argument {label} in place (given a copy here, so the verdict is "
                         "not affected; in a network it corrupts the caller's array)")
        elif isinstance(before, dict) and isinstance(after, dict):
            changed = [k for k in after if k not in before or not _same((before[k],), (after[k],))]
            if changed:
                notes.append(f"{what} updates {label}[{', '.join(map(repr, changed))}] (a fresh copy of {label} "
                             "is given to every call)")


#: what a returned value may be to be read as numbers here, outside the guard: types whose conversion runs
#: none of the user's code (a method such as ``detach`` or ``__array__`` of a class of the user's would run
#: it unguarded, between the calls of a check: adversarial round 25); anything else reads as no numbers
_PLAIN = (np.ndarray, np.generic, float, int, bool, complex, list, tuple)


def plain(value) -> np.ndarray:
    """``value`` as an array without running the user's code: a torch tensor detached, an array, a number or
    a list of numbers as numpy reads it; anything else an object array (not numbers: refused by the caller)."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor) and type(value).detach is torch.Tensor.detach:
        return value.detach().numpy()
    if isinstance(value, _PLAIN):   # (an ndarray subclass is viewed as an ndarray: none of its methods runs)
        return np.asarray(value)
    return np.asarray(object())


def _claimed(layer: Layer, slot, grad, value, notes) -> tuple:
    """(float64 array or None, problem, unfinished, the dtype it came in) for one returned gradient."""
    label = slot.gradient
    if grad is None:
        return None, f"{layer.backward_name} returned None for {label}", True, precision.FLOAT64
    array = plain(grad)
    if array.dtype.kind not in "fiu":
        kind = "complex numbers" if array.dtype.kind == "c" else f"a {type(grad).__name__}"
        return None, f"{label} is {kind}, not an array of real numbers", False, array.dtype
    if precision.coarse(array.dtype):
        notes.append(f"{label} is {array.dtype}: each entry's tolerance includes its final rounding to "
                     f"{array.dtype}, (u·|{label}| + η/2)/(1 − u) with {precision.describe(array.dtype)} (the "
                     f"smallest subnormal), besides float64's; compute in float64 for a sharper check")
    if array.shape != value.shape:
        return None, f"{label} has shape {array.shape}, {slot.name} has {value.shape}", False, array.dtype
    with np.errstate(over="ignore", invalid="ignore"):  # a longdouble beyond float64's range: inf, said below
        converted = array.astype(float)
    if not np.all(np.isfinite(converted)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(converted))[0])
        return None, f"{label} has a non-finite entry (NaN or inf, or beyond float64's range) at {bad}", False, \
            array.dtype
    return converted, "", False, array.dtype


def measure_noise(ev, point: Point, rng, notes: list) -> dict:
    """δφ and δg per entry from forward and backward along a tiny random path (:mod:`.noise`)."""
    points = noise.path(point.values, rng)

    def walk():
        return [point.layer.gradients(p, point.douts) for p in points]

    table = ev.sweep(walk, what=point.layer.backward_name)
    phis = np.array([float(np.real(contract(point.douts, outs))) for outs, _ in table])
    sigma, path_step = coarse.phi_noise(ev, point, rng, phis)
    for outs in [point.outs] + [outs for outs, _ in table]:
        ev.grid.see(outs)
    returned, point.out_dtypes = point.out_dtypes, coarse.held(ev.grid, path_step, point.claimed, point.out_dtypes)
    inside = coarse.inside(path_step, returned, point.out_dtypes)
    notes += [coarse.note(inside, point.layer.forward_name, path_step, sigma)] if inside else []
    size = sum(np.size(o) for o in point.outs)
    floor = gamma(size + 2) * magnitude(point.douts, point.outs) + output_rounding(point.douts, point.outs,
                                                                                  point.out_dtypes)
    if point.layer.is_scalar:
        # a loss is computed through quantities of order one (probabilities, log-sum-exp, 1 + e^(−z)) even
        # when its value is tiny: never assume its rounding below a few ulps of max(1, |loss|)
        floor = max(floor, 4 * U * max(1.0, abs(point.phi0)))
    delta_phi = max(noise.KAPPA * sigma, floor)
    for slot, claimed in enumerate(point.claimed):
        point.delta.append(None if claimed is None else _analytic_delta(table, slot, claimed, point.dtypes[slot]))
    size_phi = magnitude(point.douts, point.outs)
    return {"noise_phi": sigma, "delta_phi": delta_phi, "floor_phi": floor, "magnitude_phi": size_phi,
            "step": central_step(delta_phi, size_phi),
            "path_step": noise.PATH_STEP if path_step == coarse.FLAT else path_step,
            "kappa": noise.KAPPA, "output_dtypes": [str(d) for d in point.out_dtypes], "rounds_inside": inside,
            "gradient_dtypes": [str(d) for d in point.dtypes]}


def _analytic_delta(table, slot: int, claimed: np.ndarray, dtype) -> np.ndarray:
    """δg per entry: the measured noise of the backward (8σ), never below 4u·|g|, plus the final rounding
    of the dtype it returned g in (:mod:`.precision`): a float32 gradient computed exactly is still off
    by up to 2⁻²⁴·|g|, which a path of relative step 2⁻³⁰ does not move enough to measure."""
    rows = [_row(grads[slot]) for _, grads in table]
    if any(r is None or r.shape != claimed.shape for r in rows):
        return np.full(claimed.shape, np.inf)
    sigma = noise.noise_level(np.stack(rows))
    return np.maximum(noise.KAPPA * sigma, 4 * U * np.abs(claimed)) + precision.final_rounding(dtype, claimed)


def _row(grad) -> np.ndarray | None:
    """A gradient returned on the noise path as float64, or None where it is not real numbers."""
    if grad is None:
        return None
    array = plain(grad)
    if array.dtype.kind not in "fiu":
        return None
    with np.errstate(over="ignore", invalid="ignore"):  # a longdouble beyond float64: inf, an infinite δg
        return array.astype(float)


def output_rounding(douts, outs, dtypes) -> float:
    """Σₖ Σ |doutₖ|·(u·|outₖ| + η/2)/(1 − u), u and η of the dtype outₖ came in (:func:`.precision.weighted_rounding`),
    plus float64's η per term of the contraction (each product dout·out may underflow by η/2): the final
    rounding of the outputs, which φ carries at least (a float32 output moves in steps of 2⁻²⁴ relative, which
    a path of relative step 2⁻³⁰ may never cross; its measured noise can then be zero)."""
    terms = sum(np.size(o) for o in outs)
    return sum(precision.weighted_rounding(t, d, o) for d, o, t in zip(douts, outs, dtypes)) + \
        terms * precision.underflow(precision.FLOAT64)


def _output_notes(layer: Layer, douts, outs, dtypes) -> list[str]:
    notes = []
    for k, (dout, out, dtype) in enumerate(zip(douts, outs, dtypes)):
        if precision.coarse(dtype):
            bound = precision.weighted_rounding(dtype, dout, out)
            what = f"{layer.forward_name}'s value" if layer.is_scalar else f"{layer.forward_name}'s output {k + 1}"
            notes.append(f"{what} is {dtype}: ⟨dout, out⟩ carries its final rounding, "
                         f"Σ|dout|·(u·|out| + η/2)/(1 − u) ≤ {bound:.1e} with {precision.describe(dtype)}, a floor "
                         f"for the measured rounding of one forward, which sets the finite differences' step")
    return notes

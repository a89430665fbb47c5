"""The usual hand-derivation mistakes, recognised from a wrong gradient and the finite-difference one.

Each recogniser compares the returned gradient g with the finite-difference gradient M (over the entries
looked at; the shape recognisers need every entry) after one transformation, and names the mistake when
they then agree to 1e-6 of M's scale (M itself is good to ~1e-9 relative: this is a diagnosis, the
verdict was made before). Recognised: a transposed or reshaped gradient, padding not trimmed, a kept
dimension, a constant factor (N, 1/N, −1, p or 1/p of a dropout: the mask applied twice or the rescaling
forgotten), a factor of another input missing or extra (γ in a normalisation's dx), dout not multiplied
in, the mean and variance paths of a normalisation missing (or taken over the wrong axis), a convolution's
stride ignored in dw.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from gradproof.numeric.layers.noise import power_of_two

CLOSE = 1e-6


def _close(a, b) -> bool:
    """max |a − b| ≤ CLOSE·max |b|, both divided by a power of two near max |b| first (exact; a difference of
    numbers near 1e300 would overflow, a gradient near 1e-300 fall below any absolute floor)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return False
    scale = float(power_of_two(np.max(np.abs(b), initial=0.0)))
    with np.errstate(over="ignore", invalid="ignore"):  # a far larger: inf, which is not close
        gap = float(np.max(np.abs(a / scale - b / scale), initial=0.0))
    return gap <= CLOSE * float(np.max(np.abs(b / scale), initial=0.0))


def reference(j) -> np.ndarray | None:
    """The finite-difference gradient as an array when every entry was looked at, else None."""
    if len(j.reference) < j.value.size:
        return None
    out = np.zeros(j.value.shape)
    for index, v in j.reference.items():
        out[index] = v
    return out


def recognise(point, j, result) -> list[str]:
    """The mistakes the wrong gradient looks like. A candidate that overflows (g·dout for huge values) is
    inf or NaN there, which is never close: numpy's warnings about it are not the user's business."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        return _recognise(point, j, result)


def _recognise(point, j, result) -> list[str]:
    returned = point.returned[j.slot]
    if hasattr(returned, "detach"):
        returned = returned.detach().numpy()
    g = np.asarray(returned, dtype=float) if np.asarray(returned).dtype.kind in "fiu" else None
    indices = list(j.reference)
    if g is None or not indices:
        return []
    if g.shape != j.value.shape:
        return _shape_mistakes(g, j, indices, result)
    found = _factor_mistakes(point, g, j, indices, result) + _conv_stride(point, g, result)
    full = reference(j)
    if full is not None:
        found += _structure_mistakes(point, g, full, j, result)
    return found


def _shape_mistakes(g, j, indices, result) -> list[str]:
    """A wrong shape whose values are right after a transpose, a reshape, a squeeze or a crop of the
    padding: compared on the entries whose finite difference is known."""
    label, name, shape = result.gradient, result.name, j.value.shape
    if g.ndim == 2 and g.shape == shape[::-1] and _agrees(g.T, j, indices):
        return [f"{label} is transposed: its transpose is right ({label} = … .T, or swap the product's factors)"]
    if g.size == j.value.size and _agrees(g.reshape(shape), j, indices):
        return [f"{label} has the right values in the wrong shape: reshape it to {name}'s shape "
                f"({label}.reshape({name}.shape))"]
    if g.ndim == len(shape) == 4 and g.shape[:2] == shape[:2]:
        pad_h, pad_w = g.shape[2] - shape[2], g.shape[3] - shape[3]
        if pad_h > 0 and pad_h % 2 == 0 and pad_w % 2 == 0:
            p, q = pad_h // 2, pad_w // 2
            if _agrees(g[:, :, p:p + shape[2], q:q + shape[3]], j, indices):
                return [f"the padding is not trimmed: {label} still has the zero-padding border (pad = {p}); "
                        f"cut it off: {label}[:, :, {p}:-{p}, {q}:-{q}]"]
    return []


def _factor_mistakes(point, g, j, indices, result) -> list[str]:
    m = np.array([j.reference[i] for i in indices])
    gv = np.array([g[i] for i in indices])
    if not np.any(m) or not np.any(gv):
        return []
    c = _factor(gv, m)
    if not np.isfinite(c) or not _close(gv, c * m):
        return _elementwise_mistakes(point, g, j, indices, result)
    if float(f"{c:.6g}") == 1:
        return []  # a factor of 1 (to the 6 digits a factor is named with) is no mistake: a small error
    return [_name_factor(point, c, result.gradient)]


def _factor(gv, m) -> float:
    """The least-squares c in gv ≈ c·m, each divided by a power of two near its largest entry (exact) so that
    the products neither overflow nor underflow; inf where the ratio of the scales overflows."""
    sg, sm = float(power_of_two(np.max(np.abs(gv)))), float(power_of_two(np.max(np.abs(m))))
    g1, m1 = gv / sg, m / sm
    with np.errstate(over="ignore"):
        return float(g1 @ m1 / (m1 @ m1) * (sg / sm))


def _name_factor(point, c: float, label: str) -> str:
    if abs(c + 1) <= CLOSE:
        return f"{label} has the wrong sign (it is −1 times the derivative)"
    for p in _keep_probabilities(point):
        if abs(c - 1 / p) <= CLOSE / p:
            return (f"{label} is 1/p = {1 / p:.4g} times too large: the dropout mask (already divided by "
                    f"p = {p:g}) applied twice")
        if abs(c - p) <= CLOSE * p:
            return f"{label} is p = {p:g} times the derivative: the dropout's 1/p rescaling forgotten in the backward"
    for k, large in ((round(c), True), (round(1 / c), False)):
        if k >= 2 and abs((c if large else 1 / c) - k) <= CLOSE * k:
            sizes = _product_name(point, k)
            if sizes and large:
                return (f"{label} is {k} times too large: a factor of {sizes} = {k} (the forward divides by "
                        f"{sizes}, e.g. a mean, and the backward does not)")
            if sizes:
                return (f"{label} is {k} times too small: divided by {sizes} = {k} once too often (a mean "
                        "where the forward sums)")
    return f"{label} is {c:.6g} times the derivative (a constant factor)"


AXIS_NAMES = {1: ("N",), 2: ("N", "D"), 3: ("N", "T", "D"), 4: ("N", "C", "H'", "W'")}


def _product_name(point, k: int) -> str:
    """Which dimensions of the output (of the first input, for a loss) multiply to ``k``: "N·H'·W'"."""
    first = point.douts[0] if point.douts and np.ndim(point.douts[0]) else point.values[0]
    shape = np.shape(first)
    names = AXIS_NAMES.get(len(shape), tuple(f"n{i}" for i in range(len(shape))))
    for size in range(1, len(shape) + 1):
        # a 4-D layout's channel axis carries the parameters: sums run over the other axes first
        ordered = sorted(combinations(range(len(shape)), size), key=lambda axes: len(shape) == 4 and 1 in axes)
        for axes in ordered:
            if int(np.prod([shape[a] for a in axes])) == k:
                return "·".join(names[a] for a in axes)
    return ""


def _elementwise_mistakes(point, g, j, indices, result) -> list[str]:
    label = result.gradient
    found = []
    for k, dout in enumerate(point.douts):
        if np.shape(dout) == g.shape and _agrees(g * dout, j, indices):
            found.append(f"{label} is not multiplied by the upstream gradient dout (the chain rule): it is the "
                         "local derivative alone")
    if g.ndim == 2 and g.shape[0] == g.shape[1] and _agrees(g.T, j, indices):
        found.append(f"{label} is transposed: its transpose is right")
    for slot, value in zip(point.layer.slots, point.values):
        if slot.name == result.name:
            continue
        for shaped in _broadcastable(value, g.shape):
            if _agrees(g * shaped, j, indices):
                found.append(f"{label} misses a factor of {slot.name} (multiply by {slot.name})")
            elif np.all(shaped != 0) and _agrees(g / shaped, j, indices):
                found.append(f"{label} has an extra factor of {slot.name}")
    return found[:2]


def _agrees(candidate, j, indices) -> bool:
    return _close([candidate[i] for i in indices], [j.reference[i] for i in indices])


def _broadcastable(value, shape) -> list:
    """``value`` reshaped to broadcast against an array of ``shape`` (as a per-feature or per-channel
    factor), every way that works."""
    out = []
    if value.ndim >= 1 and value.size > 1:
        if value.shape == shape[-value.ndim:]:
            out.append(np.broadcast_to(value, shape))
        if value.ndim == 1 and len(shape) == 4 and shape[1] == value.size:
            out.append(np.broadcast_to(value.reshape(1, -1, 1, 1), shape))
        if value.ndim == 4 and value.shape[0] == 1 and value.shape[2:] == (1, 1) and len(shape) == 4 and \
                shape[1] == value.shape[1]:
            out.append(np.broadcast_to(value, shape))
    return out


def _structure_mistakes(point, g, ref, j, result) -> list[str]:
    label = result.gradient
    found = []
    # each divided by a power of two near its largest entry (exact): sums of entries near 1e308 overflow
    ref, g = ref / power_of_two(np.max(np.abs(ref), initial=0.0)), g / power_of_two(np.max(np.abs(g), initial=0.0))
    scale = float(np.sum(np.abs(ref)))
    for axis in range(ref.ndim if ref.ndim > 1 else 0):
        ref_zero = float(np.max(np.abs(ref.sum(axis=axis)))) <= CLOSE * scale
        g_zero = float(np.max(np.abs(g.sum(axis=axis)))) <= CLOSE * float(np.sum(np.abs(g)))
        if ref_zero and not g_zero:
            others = [a for a in range(ref.ndim) if a != axis and
                      float(np.max(np.abs(g.sum(axis=a)))) <= CLOSE * float(np.sum(np.abs(g)))]
            where = (f"; {label} sums to zero over axis {others[0]} instead: normalised over the wrong axis?"
                     if others else ": a term through the whole axis is missing (in a normalisation the 1/N terms "
                                    "through the mean and variance; in a softmax or SVM loss the term at the label)")
            found.append(f"the true {label} sums to zero over axis {axis} but {label} does not{where}")
            break
    return found


def _conv_stride(point, g, result) -> list[str]:
    """For a convolution (x, w 4-D, a dict with stride and pad): dw with the stride ignored."""
    options = [a for a in point.layer.args if isinstance(a, dict) and "stride" in a and "pad" in a]
    values = dict(zip((s.name for s in point.layer.slots), point.values))
    x = next((v for v in point.values if v.ndim == 4 and v is not values.get(result.name)), None)
    if not options or x is None or g.ndim != 4 or len(point.douts) != 1 or np.ndim(point.douts[0]) != 4:
        return []
    stride, pad = int(options[0]["stride"]), int(options[0]["pad"])
    dout = point.douts[0]
    if stride == 1 or dout.shape[1] != g.shape[0]:
        return []
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    hh, ww = g.shape[2:]
    unstrided = np.zeros(g.shape)
    for n, f, i, k in np.ndindex(dout.shape):
        window = xp[n, :, i:i + hh, k:k + ww]
        if window.shape[1:] == (hh, ww):
            unstrided[f] += window * dout[n, f, i, k]
    if _close(g, unstrided):
        return [f"{result.gradient} ignores the stride: each window is read at (i, j) instead of "
                "(i·stride, j·stride)"]
    return []


def _batch(point) -> int:
    first = next((v for v in point.values if v.ndim >= 1), None)
    return int(first.shape[0]) if first is not None else 1


def _keep_probabilities(point) -> list[float]:
    found = []
    for arg in point.layer.args:
        if isinstance(arg, dict):
            p = arg.get("p")
            if isinstance(p, (int, float)) and 0 < p < 1:
                found.append(float(p))
    return found

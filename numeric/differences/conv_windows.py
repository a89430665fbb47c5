"""Batches of forward tangents that live in small windows of a layer's maps.

A push of one unit of z[l] (one position and channel of one sample) moves only the units of the layers
above inside its receptive-field cone, so it is carried in a window of fixed size around them. A batch of
N tangents is ``values`` (N, h, w, c) — channels-last like the maps — with each tangent's window
``origin`` (its top-left unit) and ``sample``; on a flat level (dense layers) ``values`` is (N, c) and
there is no origin.

Every step applies a layer's *forward* map to the tangents (the convolution, never its transpose), in
windows: nothing here reads a backward rule.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from gradproof.derive.model.conv_arrays import patches


@dataclass(frozen=True, eq=False)
class Tangents:
    values: np.ndarray           # (N, h, w, c) or (N, c)
    sample: np.ndarray           # (N,)
    origin: np.ndarray | None    # (N, 2) window origins; None on a flat level

    @property
    def spatial(self) -> bool:
        return self.origin is not None


def gather_windows(maps: np.ndarray, sample, origin, size) -> np.ndarray:
    """(B, H, W, C) maps read at each tangent's window: (N, h, w, C)."""
    view = sliding_window_view(maps, size, axis=(1, 2))          # (B, H−h+1, W−w+1, C, h, w)
    return np.ascontiguousarray(view[sample, origin[:, 0], origin[:, 1]].transpose(0, 2, 3, 1))


def at_units(t: Tangents, level: np.ndarray) -> np.ndarray:
    """A per-unit quantity of a level ((B, H, W, C) or (B, n)), read where each tangent lives."""
    if t.spatial:
        return gather_windows(level, t.sample, t.origin, t.values.shape[1:3])
    return level[t.sample]


def scale(t: Tangents, slopes: np.ndarray) -> Tangents:
    """Through the activation: each unit's tangent times its slope a'(z) (a complex step)."""
    return replace(t, values=t.values * at_units(t, slopes))


def axis_plan(start: np.ndarray, size: int, k: int, stride: int, pad: int, n_out: int):
    """Along one axis, for tangents nonzero only in [start, start + size) of the input: the output
    window's common size, each window's first output unit, and where each one's input slab starts,
    relative to ``start`` (the slab: the input units the output window reads)."""
    first = np.maximum(-((pad - k + 1 + start) // -stride), 0)   # ⌈(start + pad − k + 1)/stride⌉
    last = np.minimum((start + size - 1 + pad) // stride, n_out - 1)
    size_out = max(1, int(np.max(last - first + 1)))
    first = np.minimum(first, n_out - size_out)
    return size_out, first, first * stride - pad - start


def slabs(values: np.ndarray, offsets, spans) -> np.ndarray:
    """Each tangent's input slab (N, span_y, span_x, c), read at per-tangent offsets from its window;
    zeros outside the window (the tangent is zero there, and so is the map's zero padding)."""
    n, h, w, _ = values.shape
    (oy, ox), (sy, sx) = offsets, spans
    lo_y, lo_x = max(0, -int(oy.min())), max(0, -int(ox.min()))
    hi_y, hi_x = max(0, int(oy.max()) + sy - h), max(0, int(ox.max()) + sx - w)
    padded = np.pad(values, ((0, 0), (lo_y, hi_y), (lo_x, hi_x), (0, 0)))
    view = sliding_window_view(padded, (sy, sx), axis=(1, 2))
    return np.ascontiguousarray(view[np.arange(n), oy + lo_y, ox + lo_x].transpose(0, 2, 3, 1))


def conv_step(t: Tangents, kernel: np.ndarray, spec) -> Tangents:
    """The tangents of the convolution's z above: its linear part (no bias) on each window."""
    k, s, p = spec.kernel, spec.stride, spec.padding
    out_h, out_w = spec.out_shape[1:]
    h, w = t.values.shape[1:3]
    size_y, first_y, off_y = axis_plan(t.origin[:, 0], h, k, s, p, out_h)
    size_x, first_x, off_x = axis_plan(t.origin[:, 1], w, k, s, p, out_w)
    slab = slabs(t.values, (off_y, off_x), ((size_y - 1) * s + k, (size_x - 1) * s + k))
    values = patches(slab, k, s, 0) @ kernel.reshape(kernel.shape[0], -1).T
    return Tangents(values, t.sample, np.stack([first_y, first_x], axis=1))


def unit_conv_step(units, value: np.ndarray, kernel: np.ndarray, spec) -> Tangents:
    """:func:`conv_step` for unit pushes (one input unit each, of size ``value``): each output in the
    window meets the unit through one kernel tap, read off rather than multiplied out."""
    k, s, p = spec.kernel, spec.stride, spec.padding
    out_h, out_w = spec.out_shape[1:]
    size_y, first_y, off_y = axis_plan(units.origin[:, 0], 1, k, s, p, out_h)
    size_x, first_x, off_x = axis_plan(units.origin[:, 1], 1, k, s, p, out_w)
    # output (first + i) reads input (first + i)·s − p + u: the pushed unit's row when u = −(offset + i·s)
    taps_y = _taps(-(off_y[:, None] + s * np.arange(size_y)), k)
    taps_x = _taps(-(off_x[:, None] + s * np.arange(size_x)), k)
    padded = np.pad(kernel, ((0, 0), (0, 0), (0, 1), (0, 1)))          # tap k reads a zero
    picked = padded[:, units.channel[:, None, None], taps_y[:, :, None], taps_x[:, None, :]]  # (O, N, sy, sx)
    values = picked.transpose(1, 2, 3, 0) * value[:, None, None, None]
    return Tangents(np.ascontiguousarray(values), units.sample, np.stack([first_y, first_x], axis=1))


def _taps(taps: np.ndarray, k: int) -> np.ndarray:
    """Kernel taps, with those outside 0 … k − 1 (the output does not reach the unit) sent to k."""
    return np.where((taps >= 0) & (taps < k), taps, k)


def position_major(weights: np.ndarray, map_shape) -> np.ndarray:
    """A dense layer's weights over a flattened (C, H, W) map as (H, W, C, units), contiguous: the rows
    one window row meets are then one block."""
    c, h, w = map_shape
    return np.ascontiguousarray(weights.reshape(-1, c, h, w).transpose(2, 3, 1, 0))


def dense_from_windows(t: Tangents, w_pos: np.ndarray) -> Tangents:
    """The tangents of a dense layer's z above a convolution, one group of equal window origins at a
    time (a window then meets one block of weights)."""
    n, h, wd, c = t.values.shape
    out = np.zeros((n, w_pos.shape[-1]))
    keys = t.origin[:, 0] * w_pos.shape[1] + t.origin[:, 1]
    order = np.argsort(keys, kind="stable")
    for group in np.split(order, np.flatnonzero(np.diff(keys[order])) + 1):
        oy, ox = t.origin[group[0]]
        values, acc = t.values[group], out[group]
        for i in range(h):
            block = w_pos[oy + i, ox:ox + wd].reshape(-1, w_pos.shape[-1])
            acc += values[:, i].reshape(len(group), -1) @ block
        out[group] = acc
    return Tangents(out, t.sample, None)


def touches(t: Tangents, mask: np.ndarray | None) -> np.ndarray:
    """Per tangent: is it nonzero at a unit the mask marks ((B, H, W, C) or (B, n))?"""
    if mask is None:
        return np.zeros(len(t.sample), dtype=bool)
    hit = (t.values != 0) & at_units(t, mask)
    return hit.reshape(len(hit), -1).any(axis=1)

"""Every weight's ∂E/∂w by the complex step in forward mode, for networks with convolutions: tangents
carried up, never Ψ down.

Moving a weight by i·h (h → 0) makes every quantity x + i·h·ẋ: the real parts are the forward pass, the
imaginary parts h times a tangent ẋ that the layers carry linearly — through W̄ like any value, through an
activation as Im a(z + iη)/η (its own complex step, never its hand-written derivative), through the loss
likewise; Im E/h is read off at the output (:mod:`gradproof.numeric.differences.complex_step` explains why
the tangents may be carried apart from the real parts). What makes 1.7 million of them cheap:

* ˡwʲᵢ moves only channel i of z[l]: by X̄[l]ʲₚ at every position p (z[l]ₚ = W̄[l]·X̄[l]ₚ by definition).
* The tangents respond linearly, so a unit push of each unit of z[l] (sample, position, channel) is
  carried up once, and ∂E/∂ˡwʲᵢ = Σₚ (response of the push of unit (p, i)) × X̄[l]ʲₚ: one matrix product
  with the X̄ rows the forward pass made. The layers below l are reused as they are.
* A push stays inside its receptive-field cone: it is carried in a small window, thousands at a time,
  as batched products with the layers' forward maps (:mod:`.conv_windows`).

No transposed convolution, no Ψ and no derivative rule appears here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gradproof.derive.model.conv_arrays import correlate, kernel_of
from gradproof.derive.model.network import Network
from gradproof.numeric.compiled.conv import ConvForward, layer_input
from gradproof.numeric.differences.conv_windows import (Tangents, conv_step, dense_from_windows, position_major,
                                                        scale, touches, unit_conv_step)
from gradproof.numeric.differences.error_model import complex_step_parts, partials, tiny_but_not_zero
from gradproof.numeric.errors import FiniteDifferenceUnreliable

#: most entries of the largest array a chunk of pushes makes: 2 Mi float64 = 16 MB, near the caches
CHUNK_FLOATS = 1 << 21


def slope(f, z: np.ndarray, direction=1.0) -> np.ndarray:
    """Im f(z + i·η)/η, refusing a slope so small that its imaginary part underflowed."""
    value, wide, lost = complex_step_parts(f, z, direction)
    if wide is not None and np.any(tiny_but_not_zero(np.abs(wide[lost]))):
        raise FiniteDifferenceUnreliable(
            "a derivative inside the network is below 1e-270, where the complex step's imaginary part "
            "underflows (float64 stops at 1e-308): no finite difference resolves it here")
    return value


@dataclass(frozen=True, eq=False)
class Point:
    """What the tangents need from the forward pass at the weights being checked."""

    network: Network
    wbar: list
    rows: list            # per layer: X̄ (conv: (B, Ho, Wo, cols); dense: (B, cols))
    kernels: list         # per layer: the kernel (O, C, k, k) or the dense weights without the bias column
    slopes: list          # per hidden layer: Im a(z + iη)/η, shaped like z
    out: np.ndarray       # ∂E/∂z of the output layer per sample (B, n_L), the mean's 1/B included
    kinks: list = field(default_factory=list)        # per layer: units too close to a kink, or None
    positioned: dict = field(default_factory=dict)   # dense weights after a convolution, position-major


def _weights_only(network: Network, wbar: list) -> list:
    return [kernel_of(w, spec) if spec.kind == "conv" else w[:, int(network.bias):]
            for w, spec in zip(wbar, network.layers)]


def output_slopes(network: Network, z_out: np.ndarray, y_columns: np.ndarray) -> np.ndarray:
    """∂E/∂zₖ at the output per sample (B, n_L), by the complex step of the loss after the activation."""
    act, loss = network.activations[-1], network.loss
    by_z = partials(lambda moved: loss.np_error(moved, act.np_forward(moved), y_columns), z_out.T, slope)
    return by_z.T


def linearize(network: Network, wbar, fwd: ConvForward, y_columns: np.ndarray, reduction: str) -> Point:
    """The point's slopes and output slopes, from its forward pass."""
    slopes = [slope(act.np_forward, z) for act, z in zip(network.activations[:-1], fwd.z)]
    samples = fwd.errors.shape[-1]
    out = output_slopes(network, fwd.z[-1], y_columns) / (samples if reduction == "mean" else 1)
    wbar = list(wbar)
    return Point(network, wbar, list(fwd.xbar), _weights_only(network, wbar), slopes, out,
                 [None] * network.depth)


def absolute(point: Point, slope_floors=None, out_floor=None, absw=None) -> Point:
    """The same point with every factor replaced by its magnitude (plus floors): carried through the same
    code it gives Σ over paths of |products|, what rounding errors scale with (``absw``: |W̄|, if taken)."""
    floors = slope_floors or [0.0] * len(point.slopes)
    slopes = [np.abs(s) + f for s, f in zip(point.slopes, floors)]
    out = np.abs(point.out) + (0.0 if out_floor is None else out_floor)
    wbar = [np.abs(w) for w in point.wbar] if absw is None else list(absw)
    return Point(point.network, wbar, [np.abs(r) for r in point.rows], _weights_only(point.network, wbar),
                 slopes, out, point.kinks)


def _positioned(point: Point, m: int) -> np.ndarray:
    """Dense layer m's weights position-major (:func:`.conv_windows.position_major`), made once."""
    if m not in point.positioned:
        point.positioned[m] = position_major(point.kernels[m], point.network.layers[m - 1].out_shape)
    return point.positioned[m]


@dataclass(frozen=True, eq=False)
class Units:
    """Unit pushes of z[l], one per (position, sample, channel)."""

    sample: np.ndarray
    channel: np.ndarray
    origin: np.ndarray | None    # (N, 2) positions on a map, None on a flat level

    def read(self, level: np.ndarray) -> np.ndarray:
        """A per-unit quantity of the level at each pushed unit."""
        if self.origin is None:
            return level[self.sample, self.channel]
        return level[self.sample, self.origin[:, 0], self.origin[:, 1], self.channel]


def _grid(network: Network, layer: int):
    """(channels, positions, map width or None) of z[layer]."""
    spec = network.layers[layer]
    if spec.kind == "conv":
        o, h, w = spec.out_shape
        return o, h * w, w
    return spec.outputs, 1, None


def _unit_pushes(network: Network, layer: int, start: int, stop: int, samples: int) -> Units:
    channels, _, width = _grid(network, layer)
    position, rest = np.divmod(np.arange(start, stop), samples * channels)
    sample, channel = np.divmod(rest, channels)
    origin = None if width is None else np.stack(np.divmod(position, width), axis=1)
    return Units(sample, channel, origin)


def carry(point: Point, layer: int, units: Units):
    """Unit pushes of z[l] carried to the output: (Im E/h per push, whether it touched a kink unit)."""
    network = point.network
    kinks = point.kinks[layer]
    touched = units.read(kinks) if kinks is not None else np.zeros(len(units.sample), dtype=bool)
    if layer == network.depth - 1:
        return units.read(point.out), touched
    t = _first_step(point, layer + 1, units, units.read(point.slopes[layer]))
    touched |= touches(t, point.kinks[layer + 1])
    for m in range(layer + 2, network.depth):
        t = _step(point, m, scale(t, point.slopes[m - 1]))
        touched |= touches(t, point.kinks[m])
    return np.einsum("nk,nk->n", t.values, point.out[t.sample]), touched


def _first_step(point: Point, m: int, units: Units, value: np.ndarray) -> Tangents:
    """Layer m's forward map applied to unit pushes of its input, each of size ``value``."""
    spec, weights = point.network.layers[m], point.kernels[m]
    if spec.kind == "conv":
        return unit_conv_step(units, value, weights, spec)
    if units.origin is None:
        index = units.channel
    else:  # the flattened map, in torch's (C, H, W) order
        _, h, w = point.network.layers[m - 1].out_shape
        index = (units.channel * h + units.origin[:, 0]) * w + units.origin[:, 1]
    return Tangents(weights[:, index].T * value[:, None], units.sample, None)


def _step(point: Point, m: int, t: Tangents) -> Tangents:
    """Through layer m's forward map (its linear part: no bias)."""
    spec = point.network.layers[m]
    if spec.kind == "conv":
        return conv_step(t, point.kernels[m], spec)
    if t.spatial:
        return dense_from_windows(t, _positioned(point, m))
    return Tangents(t.values @ point.kernels[m].T, t.sample, None)


def floats_per_push(network: Network, layer: int) -> int:
    """The most array entries one push needs on its way up (windows at their largest)."""
    spec = network.layers[layer]
    size = (1, 1) if spec.kind == "conv" else None
    channels, worst = _grid(network, layer)[0], 1
    for m in range(layer + 1, network.depth):
        above = network.layers[m]
        if above.kind == "conv":
            k, s = above.kernel, above.stride
            size_out = [min(o, (n + k - 2) // s + 1) for n, o in zip(size, above.out_shape[1:])]
            span = [(n - 1) * s + k for n in size_out]
            inner = 0 if m == layer + 1 else max(span[0] * span[1], size_out[0] * size_out[1] * k * k) * channels
            worst = max(worst, inner, size_out[0] * size_out[1] * above.channels)
            size, channels = size_out, above.channels
        else:
            worst = max(worst, channels * (size[0] * size[1] if size else 1) + above.outputs)
            size, channels = None, above.outputs
    return worst


def responses(point: Point, layer: int, chunk_floats: int = CHUNK_FLOATS, report=None):
    """Im E/h for a unit push of every unit of z[l]: (O, B, P), and whether each touched a kink unit.
    Pushes are numbered (position, sample, channel), channel fastest: a chunk holds whole positions,
    whose windows above share origins (large groups in the dense step)."""
    network, samples = point.network, point.out.shape[0]
    channels, positions, _ = _grid(network, layer)
    total = channels * samples * positions
    found, touched = np.empty(total), np.zeros(total, dtype=bool)
    chunk = max(1, chunk_floats // floats_per_push(network, layer))
    for start in range(0, total, chunk):
        stop = min(total, start + chunk)
        units = _unit_pushes(network, layer, start, stop, samples)
        found[start:stop], touched[start:stop] = carry(point, layer, units)
        if report is not None:
            report(stop / total)
    shape = (positions, samples, channels)
    return found.reshape(shape).transpose(2, 1, 0), touched.reshape(shape).transpose(2, 1, 0)


def combine(point: Point, layer: int, values: np.ndarray) -> np.ndarray:
    """∂E/∂W̄[l] = Σ over the units a weight pushes of (their response) × (its input there)."""
    channels = values.shape[0]
    rows = point.rows[layer]
    return values.reshape(channels, -1) @ rows.reshape(-1, rows.shape[-1])


def combine_flags(point: Point, layer: int, touched: np.ndarray) -> np.ndarray:
    """A weight is flagged when it pushes (input ≠ 0) a unit whose tangent touched a kink unit."""
    rows = point.rows[layer]
    used = (rows != 0).reshape(-1, rows.shape[-1]).astype(float)
    return touched.reshape(touched.shape[0], -1).astype(float) @ used > 0


def work(network: Network, layer: int) -> int:
    """The cost of layer ``layer``'s pushes, roughly: their number times the entries each one carries."""
    channels, positions, _ = _grid(network, layer)
    return channels * positions * floats_per_push(network, layer)


def derivatives(at, progress=None, chunk_floats: int = CHUNK_FLOATS):
    """(∂E/∂W̄ per layer, kink flags per layer or None). ``at(layer)`` gives the Point layer's weights use;
    ``progress(fraction of the work done)`` is called after every chunk (the work: :func:`work`)."""
    network, grads, flags = at(0).network, [], []
    costs = [work(network, layer) for layer in range(network.depth)]
    total, done = sum(costs), 0
    for layer in range(network.depth):
        report = None if progress is None else \
            (lambda f, base=done, n=costs[layer]: progress((base + n * f) / total))
        point = at(layer)
        values, touched = responses(point, layer, chunk_floats, report)
        grads.append(combine(point, layer, values))
        flags.append(combine_flags(point, layer, touched) if touched.any() else None)
        done += costs[layer]
    return grads, flags


def pushes(point: Point, direction) -> list[np.ndarray]:
    """Im z[l](W̄ + i·h·V̄)/h for every layer: one tangent carried up with the whole direction (V̄ shaped like
    W̄). Layer l's z moves by its own weights' move (V̄·X̄) plus what reached its input from below."""
    network, tangent, found = point.network, None, []
    for layer, (spec, v) in enumerate(zip(network.layers, direction)):
        push = point.rows[layer] @ v.T
        if tangent is not None:
            moved = layer_input(network, layer, tangent)
            push = push + (correlate(moved, point.kernels[layer], spec.stride, spec.padding)
                           if spec.kind == "conv" else moved @ point.kernels[layer].T)
        found.append(push)
        if layer < network.depth - 1:
            tangent = point.slopes[layer] * push
    return found


def along(point: Point, direction) -> float:
    """Im E(W̄ + i·h·V̄)/h: the output's pushes weighted by ∂E/∂z there."""
    return float(np.sum(point.out * pushes(point, direction)[-1]))

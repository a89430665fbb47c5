"""A forward that computes coarser than the float64 it returns (float16 or float32 inside, adversarial finding
F04): its values move in steps, not as float64's, and the noise model must be the grid's.

Two signs, each measured on the user's code:

- **φ does not move along the noise path** (relative steps 2⁻³⁰, :mod:`.noise`): fewer than half of the
  values distinct (:func:`.noise.flat`) — Moré and Wild's "h too small". The noise is then measured again
  along coarser paths (:data:`.noise.COARSER`: 2⁻²⁰, 2⁻⁷, 2⁻⁴ relative, each crossing many steps of
  float32's, float16's, bfloat16's grid) until φ moves; the step of the central differences follows
  from that noise (ε_φ^(1/3)), so it is taken above the grid. A φ flat at every step is a constant here and
  keeps the first estimate.
- **every output is a float16 (or float32) number** at every point evaluated, one of them with more
  significant bits than a small integer or a simple fraction (:class:`.precision.Grid`): the outputs are
  then held to that format's rounding, (u_d·|out| + η_d/2)/(1 − u_d), as if they had been returned in it.

Either way the check says so in a note, and where it cannot decide, its reason starts with "your forward
rounds to ~float16 internally". A correct backward is then never called DIFFER for the forward's rounding:
the tolerance carries it; a wrong one differs where its error exceeds that (else undecidable).
"""

from __future__ import annotations

import numpy as np

from gradproof.numeric.layers import noise, precision


#: the path step reported where φ did not move at any step (:func:`phi_noise`)
FLAT = float("inf")


def phi_noise(ev, point, rng, phis: np.ndarray) -> tuple[float, float]:
    """σ of φ from the path and the pairs, and the path step it was measured at: 2⁻³⁰ relative, or the
    first coarser one where φ moves when it did not there — with every input moving, and with each alone
    (an input rounded to float16 hides behind another that moves φ in float64) — or :data:`FLAT` where it
    moved at no step (σ then from the first path)."""
    what = point.layer.forward_name
    pairs = ev.sweep(lambda: [ev.phi(p) for p in noise.pair_points(point.values, rng)], what=what)
    sigma = max(float(noise.noise_level(phis[:, None])[0]), noise.pair_noise(point.phi0, pairs))
    found = [] if not noise.flat(np.concatenate([[point.phi0], phis, pairs])) else [_coarser(ev, point, rng, None)]
    for slot in range(len(point.values) if len(point.values) > 1 else 0):
        alone = ev.sweep(lambda: [ev.phi(p) for p in _only(noise.path(point.values, rng), point.values, slot)],
                         what=what)
        if noise.flat([point.phi0] + alone):
            found.append(_coarser(ev, point, rng, slot))
    found = [f for f in found if f is not EXPLAINED]
    moved = [f for f in found if f is not None]
    step = max([noise.PATH_STEP] + [step for _, step in moved])
    return max([sigma] + [s for s, _ in moved]), (FLAT if found and not moved else step)


def _coarser(ev, point, rng, slot: int | None) -> tuple[float, float] | None:
    """(σ, step) at the first coarser path where φ moves (``slot`` alone moving, or every input: None), or
    None where it is flat at every step (a constant here)."""
    for step in noise.COARSER:
        def measure():
            path = _only(noise.path(point.values, rng, step), point.values, slot)
            pairs = _only(noise.pair_points(point.values, rng, step), point.values, slot)
            return np.array([ev.phi(p) for p in path]), [ev.phi(p) for p in pairs]
        phis, pairs = ev.sweep(measure, what=point.layer.forward_name)
        if not np.all(np.isfinite(np.concatenate([phis, pairs]))):
            return None   # the path left the forward's range (an overflow): no estimate from it
        if not noise.flat(np.concatenate([[point.phi0], phis, pairs])):
            if _too_small_to_show(point.phi0, phis, step):
                return EXPLAINED
            return max(float(noise.noise_level(phis[:, None])[0]), noise.pair_noise(point.phi0, pairs)), step
    return None


#: what :func:`_coarser` returns where φ's flatness at 2⁻³⁰ is explained without rounding inside
EXPLAINED = ("explained",)


def _too_small_to_show(phi0: float, phis: np.ndarray, step: float) -> bool:
    """Whether the move φ makes over the coarser path, scaled back linearly to the 2⁻³⁰ path, stays within
    four of φ's float64 spacings: then φ was flat there because the inputs move it too little to show (an
    input multiplied by 10⁻¹² — the weights of an affine layer at tiny x), not because the forward rounds to
    a coarser format inside, whose steps show as jumps far above that."""
    spread = float(np.max(np.abs(phis - phi0)))
    spacing = float(np.spacing(max(abs(phi0), float(np.max(np.abs(phis))))))
    return spread * (noise.PATH_STEP / step) <= 4 * spacing


def _only(points: list, values: list, slot: int | None) -> list:
    """The points with every input but ``slot`` put back where it was (None: as they are)."""
    if slot is None:
        return points
    return [[p[k] if k == slot else v for k, v in enumerate(values)] for p in points]


def held(grid, path_step: float, claimed: list, returned: tuple) -> tuple:
    """The format each output is held to: the grid its values were all on where they told one, and float16's
    where φ moved at no step while the backward claims a slope and every output was a float16 number (1.0,
    ±0.5: a saturated float16 tanh is 1.0 for a long way, and a change below float16's rounding is lost)."""
    if path_step == FLAT and grid.on(precision.GRIDS[0]) and any(c is not None and np.any(c) for c in claimed):
        coarse = precision.GRIDS[0]
        return tuple(coarse if precision.unit_roundoff(coarse) > precision.unit_roundoff(d) else d for d in returned)
    return grid.held(returned)


def inside(path_step: float, returned: tuple, held: tuple) -> str:
    """The format the forward rounds to inside, coarser than what it returned ("": none found)."""
    coarsest = max((precision.unit_roundoff(d) for d in returned), default=0.0)
    found = [(2 * precision.unit_roundoff(d), str(d)) for d, r in zip(held, returned) if d != r]
    if path_step in noise.COARSER:
        found.append(noise.COARSER[path_step][::-1])
    found = [(eps, name) for eps, name in found if eps / 2 > coarsest]
    return max(found)[1] if found else ""


def note(name: str, what: str, path_step: float, sigma: float) -> str:
    if path_step == FLAT:
        return (f"⟨dout, {what}⟩ did not move at any step up to 2⁻⁴ relative, and its outputs are all {name} "
                f"numbers: a change below {name}'s rounding would not show, so they are held to {name}'s rounding "
                "(your forward may round to it inside)")
    how = (f"⟨dout, {what}⟩ did not move along a path of relative steps 2⁻³⁰ but does at {_power(path_step)}, so "
           f"its noise was measured there (σ = {sigma:.1e}) and the finite differences step above it"
           if path_step != noise.PATH_STEP else
           f"its outputs are {name} numbers at every point evaluated, so they are held to {name}'s rounding")
    return f"{reason(name)}: {how}"


def reason(name: str) -> str:
    return f"your forward rounds to ~{name} internally (its values move in steps, not as float64's)"


def _power(step: float) -> str:
    return "2" + str(int(np.log2(step))).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))

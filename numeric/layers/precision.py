"""The final rounding of what the user's code returns, per its dtype: float32 or float16 carry far more than
float64's, and the smallest subnormal of any format is an absolute floor.

A real number x rounded to nearest in a binary floating format d — unit roundoff u_d = 2⁻ᵖ for p
significand bits (2⁻⁵³ float64, 2⁻²⁴ float32, 2⁻¹¹ float16), smallest subnormal η_d — is off by
|fl(x) − x| ≤ u_d·|x| in the normal range and ≤ η_d/2 below it, so always by at most u_d·|x| + η_d/2. In
terms of the value returned, g = fl(x): |x| ≤ |g| + |fl(x) − x| gives

    |fl(x) − x| ≤ (u_d·|g| + η_d/2) / (1 − u_d).

(η_d/2 is stored as η_d: half the smallest subnormal is not a number of the format, it rounds to 0.)
That is the least error a value returned in d carries, whatever the code computed before (more, if it
computed in d throughout: that part is measured, or, for a gradient, taken as at least 4 units of float64's
roundoff). A format finer than float64 (longdouble) is rounded to float64 on arrival, so float64's applies.
"""

from __future__ import annotations

import numpy as np

FLOAT64 = np.dtype(np.float64)


def effective(dtype) -> np.dtype:
    """The format a returned value is held to: its own if floating and coarser than float64, else float64."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f" and np.finfo(dtype).eps > np.finfo(FLOAT64).eps:
        return dtype
    return FLOAT64


def coarse(dtype) -> bool:
    """A floating dtype coarser than float64 (float32, float16)."""
    return effective(dtype) != FLOAT64


def unit_roundoff(dtype) -> float:
    return float(np.finfo(effective(dtype)).eps) / 2


def underflow(dtype) -> float:
    """η_d, the smallest subnormal number of the format."""
    return float(np.finfo(effective(dtype)).smallest_subnormal)


def final_rounding(dtype, values) -> np.ndarray:
    """u_d·|g|/(1 − u_d) + η_d per entry of ``values`` (the returned values, as float64): the bound above,
    its η_d/2/(1 − u_d) rounded up to η_d (η_d/2 itself is not a number of the format: it rounds to 0)."""
    u = unit_roundoff(dtype)
    return u / (1 - u) * np.abs(np.asarray(values, dtype=float)) + underflow(dtype)


def weighted_rounding(dtype, weights, values) -> float:
    """Σ |w|·(u_d·|v| + η_d/2)/(1 − u_d) over the entries (the final rounding of ``values``, returned in
    ``dtype``, in a sum weighted by ``weights``), bounded above where it is computed: the η part as
    η_d·⌈Σ|w|⌉, since per entry |w|·η_d/2 underflows to 0."""
    u = unit_roundoff(dtype)
    weights = np.abs(np.asarray(weights, dtype=float))
    with np.errstate(over="ignore"):  # inf: φ is undecidable then, as for an overflowing magnitude
        relative = u / (1 - u) * float(np.sum(weights * np.abs(np.asarray(values, dtype=float))))
        return relative + underflow(dtype) * float(np.ceil(np.sum(weights)))


def describe(dtype) -> str:
    """u and η of the format, as the reports state them: "u = 2⁻²⁴, η = 1.4e-45"."""
    digits = int(np.finfo(effective(dtype)).nmant) + 1
    exponent = str(digits).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"u = 2⁻{exponent}, η = {underflow(dtype):.1e}"



#: the formats a float64 output can turn out to be held to (a forward computing in them inside)
GRIDS = (np.dtype(np.float16), np.dtype(np.float32))
#: an output needing more significant bits than this tells a grid (small integers, ±1, ½ are on every grid)
TELLING_BITS = 4


class Grid:
    """The coarsest of :data:`GRIDS` that every output seen so far is a number of, once some output needed
    more than :data:`TELLING_BITS` significant bits (evidence: a float64 result of float64 arithmetic is a
    float16 number with probability about 2⁻⁴²). A forward that computes in float16 inside and returns float64
    returns float16 numbers at every point; its outputs carry float16's rounding, not float64's."""

    def __init__(self):
        self.candidates, self.telling = list(GRIDS), False

    def see(self, outs) -> None:
        """Take in one evaluation's outputs (complex ones, of the complex step, say nothing)."""
        for out in outs if self.candidates else ():
            out = np.asarray(out.detach().numpy() if hasattr(out, "detach") else out)
            if out.dtype.kind not in "fiub":
                continue
            with np.errstate(over="ignore", invalid="ignore"):
                values = out.astype(float)
                values = values[np.isfinite(values)]
                self.candidates = [d for d in self.candidates if np.array_equal(values.astype(d).astype(float), values)]
            self.telling = self.telling or (bool(self.candidates) and _bits(values) > TELLING_BITS)

    def on(self, dtype) -> bool:
        """Whether every output seen was a number of ``dtype`` (evidence or not)."""
        return np.dtype(dtype) in self.candidates

    @property
    def dtype(self) -> np.dtype | None:
        """The grid every output was on, or None (no evidence)."""
        return self.candidates[0] if self.candidates and self.telling else None

    def held(self, dtypes) -> tuple:
        """Each output's dtype, or the grid where that is coarser."""
        grid = self.dtype
        if grid is None:
            return tuple(dtypes)
        return tuple(grid if unit_roundoff(grid) > unit_roundoff(d) else d for d in dtypes)


def _bits(values: np.ndarray) -> int:
    """The most significant bits any of ``values`` needs (0 for none, or zeros only)."""
    values = values[values != 0]
    if not values.size:
        return 0
    mantissa = np.abs(np.frexp(values)[0]) * 2.0 ** 53     # an integer below 2⁵³
    integers = mantissa.astype(np.int64)
    trailing = np.zeros(integers.shape, dtype=np.int64)
    for shift in (32, 16, 8, 4, 2, 1):
        zero = (integers & ((1 << shift) - 1)) == 0
        trailing += np.where(zero, shift, 0)
        integers = np.where(zero, integers >> shift, integers)
    return int(np.max(53 - trailing))

"""The central difference at wider steps (numeric/layers/entries.py, ``widened``): where φ's rounding hides a
derivative at the usual step (dw of an affine layer at x ~ 1e-12, adversarial round 21), the same difference
at 16, 256, … times the step resolves it, as long as φ is that smooth along the line; a kink, an exception or
an infinite φ far out ends the widening, and the rounding of far points grows with the size of their terms."""

import numpy as np
import pytest

from gradproof.numeric.layers import entries as fd


def _linear(slope, size=lambda t: 1.0):
    """φ(t) = 1 + slope·t, rounded as float64 computes it, with Σ|dout·out| = size(t)."""
    return lambda t: (1.0 + slope * t, size(t))


DELTA = 4 * fd.U  # one evaluation of 1 + slope·t is within 2 units of roundoff of the exact value


def _narrow(sized_at):
    return fd.central_line(lambda t: sized_at(t)[0], 1.0, fd.CENTRAL_STEP, DELTA)


def test_wider_steps_resolve_a_slope_far_below_the_usual_bound():
    sized_at = _linear(1e-12)
    narrow = _narrow(sized_at)
    assert narrow.tolerance > 1e-12                                      # the control: the usual step cannot
    wide = fd.widened(sized_at, 1.0, 1.0, narrow, DELTA, fd.WIDEST, lambda line: line.tolerance < 1e-15)
    assert wide.tolerance < 1e-15 and abs(wide.value - 1e-12) <= wide.tolerance
    assert wide.step > narrow.step * fd.WIDEN ** 3


@pytest.mark.parametrize("far", ["kink", "raises", "infinite"])
def test_wider_steps_stop_before_a_kink_an_exception_or_infinity(far):
    """φ(t) = 1 + 1e-12·t up to t = 0.5; beyond, a kink (slope 1 more), an exception or inf. The line kept
    still holds within its bound (the kink shows in the fitted terms of a line across it, which is not kept),
    and no line reaching an exception or inf is kept."""
    def sized_at(t):
        if t > 0.5 and far == "raises":
            raise ValueError("outside the domain")
        if t > 0.5 and far == "infinite":
            return float("inf"), 1.0
        return 1.0 + 1e-12 * t + max(t - 0.5, 0.0), 1.0

    narrow = _narrow(sized_at)
    wide = fd.widened(sized_at, 1.0, 1.0, narrow, DELTA, fd.WIDEST, lambda line: False)
    assert not wide.kink and abs(wide.value - 1e-12) <= wide.tolerance < narrow.tolerance
    assert 8 * wide.step <= 0.5 or far == "kink"


def test_a_far_point_carries_rounding_grown_with_the_size_of_its_terms():
    """The rounding bound at a wide step is δφ scaled by the growth of Σ|dout·out| at the points evaluated
    (the control: no growth, no scaling)."""
    same = fd._far_line(_linear(1e-12), 1.0, 1.0, 0.5, DELTA)
    grown = fd._far_line(_linear(1e-12, lambda t: 1.0 + 1000 * abs(t)), 1.0, 1.0, 0.5, DELTA)
    assert same.rounding == pytest.approx(float(fd._W_CENTRAL) * DELTA / 0.5)
    assert grown.rounding == pytest.approx(same.rounding * (1 + 1000 * 4.0))

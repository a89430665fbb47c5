"""Underflow: every finite-difference method and its error model where weights, inputs, targets, the step
or what is computed from them (z, a, products such as h·w, E itself) are tiny, subnormal or 0.

The error model is fl(x ∘ y) = (x ∘ y)(1 + δ) + η per operation, |δ| ≤ u, η the smallest subnormal
number (2^-1074, twice the 2^-1075 round to nearest can lose): an η is carried to E by what multiplies it
later (Ψ̂ at a weighted sum, |W̄|ᵀ·Ψ̂ at an activation) and, in a complex step, divided by h with the
imaginary parts. A correct gradient must never differ; where the finite difference cannot resolve the
gradient at that scale the check cannot decide; where it agrees, a planted error beyond the tolerance
differs (the negative control).
"""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradproof.derive.model.network import Network
from gradproof.numeric.checks.check import check_gradient, direction_parts, matrix_psi, random_direction
from gradproof.numeric.compiled.matrix import forward, psi_gradient
from gradproof.numeric.differences.error_model import ETA, error_model
from gradproof.numeric.differences.finite_difference import METHODS, directional_difference
from gradproof.numeric.samples import make_sample
from gradproof.numeric.strategies.networks import architectures
from tests.hard_samples import planted, underflowing

#: steps besides each method's default: complex arithmetic (1e-5) and the split tangents at steps whose
#: products with the weights and inputs underflow; differences at steps that leave E unchanged
STEPS = {"complex-step": (None, 1e-5, 1e-150, 1e-300), "forward": (None, 1e-300), "central": (None, 1e-200),
         "richardson": (None, 1e-250)}
SMALL = architectures(max_depth=3, max_width=3)


def _reported_case():
    network = Network.from_spec("1,1", "tanh", "half-sse")
    return make_sample(network, [np.array([[2.949e-294, 2.949e-294]])], np.array([0.0]), np.array([0.0]))


def test_the_reported_case_loses_the_output_slope_to_underflow_and_its_bound_covers_it():
    """[1,1] tanh, half-sse, W̄ = [2.949e-294, 2.949e-294], x = 0, y = 0: the split complex step along v gave
    2.033275207509724e-294 against ⟨∇E, v⟩ = 2.033275207507013e-294 (1.3e-12 relative), the test's bound 9.5e-309.

    Where the precision goes: the output slope ∂E/∂z = a·tanh'(z) = 2.949e-294 is the complex step of
    E(z) = ½·tanh(z)² at 1e-30, whose imaginary part a·1e-30 = 2.9e-324 rounds to the smallest subnormal
    4.9e-324 (+68%: the operation that loses it is the product Re a · Im a inside the square). The slope
    code sees it (|Im| < 2^-1000) and takes the slope from the wide step 1e-6 instead, whose truncation is
    what the 1.3e-12 is: Re tanh(z + iy) = z·(1 + y²), Im tanh(z + iy) = y·(1 + y²/3) to first order, so
    +(4/3)·1e-12. Its bound (Cauchy's estimate, absolute: ~1.7e-12) comes back as the second value of
    ``directional_difference``, which the test dropped. Against a gradient of 3e-294 that bound resolves
    nothing: every method cannot decide here, none differs."""
    sample = _reported_case()
    x, y = sample.columns()
    z = forward(sample.network, sample.wbar, x, y).z[-1]
    half_square = lambda moved: sample.network.loss.np_error(moved, np.tanh(moved), y)  # noqa: E731
    assert np.imag(half_square(z + 1e-30j))[0] == ETA  # 2.949e-324 rounded to η: the slope lost at 1e-30
    wide = float(np.imag(half_square(z + 1e-6j))[0]) / 1e-6
    assert wide / 2.949e-294 - 1 == pytest.approx(4 / 3 * 1e-12, rel=1e-3)  # the wide step's truncation
    v, absv = random_direction(0, ((1, 2),))
    split, lost, *_ = directional_difference(sample.network, sample.wbar, v, x, y, "complex-step")
    exact = float(np.vdot(psi_gradient(sample.network, sample.wbar, x, y)[0], v[0]))
    assert abs(split / exact - 1) == pytest.approx(4 / 3 * 1e-12, rel=1e-3)
    model = error_model(sample.network, sample.wbar, x, y)
    assert 2 * model.directional_rounding(absv, "mean") < abs(split - exact) <= lost  # what the test missed
    for method in METHODS:
        for tier in ("full", "direction"):
            result = check_gradient(sample, method=method, tier=tier)
            assert result.verdict == "cannot decide", (method, tier, result.report())
            assert "resolve" in result.report()


def test_a_layer_part_of_the_direction_at_subnormal_inputs_is_no_false_alarm():
    """Found by the sweep below: [1,2,3] sigmoid, softmax-ce, no bias, W̄[0] = 0, x = 7.8e-311. Along layer
    0's part of v, ⟨g, v⟩ and the split tangent are both ~8e-313 (subnormal: gᵢ = Ψᵢ·x) and differed by η,
    against a tolerance of exactly 0: every term of the directional bound underflowed (0.14·3·η rounds
    to 0), and neither the products of ⟨g, v⟩ nor the tangent's own operations carried an η."""
    network = Network.from_spec([1, 2, 3], ["sigmoid", "softmax"], "softmax-ce", bias=False)
    w1 = np.array([[-0.07493398, 0.89919798], [-1.37682737, 1.78915981], [-0.32464114, -1.1975678]])
    sample = make_sample(network, [np.zeros((2, 1)), w1], np.array([7.76774728e-311]),
                         np.array([0.26862243, 0.62545873, 0.10591884]))
    result = check_gradient(sample, matrix_psi(network), method="complex-step", tier="direction", direct=False)
    assert result.verdict != "differ", result.report()
    part = result.layer_directions[0]
    assert part.ok and part.resolved and part.tolerance >= ETA  # ~38 bits left: still resolved, within η's
    x, y = sample.columns()
    (v0, absv0), _ = direction_parts(0, ((2, 1), (3, 2)))
    split = directional_difference(network, sample.wbar, v0, x, y, "complex-step")[0]
    assert split != 0 and abs(split) < 1e-300  # the layer's part really is subnormal


def _judged(sample, method, step):
    """Checks the correct gradient (both tiers): never differs; where the full check agrees, an error of
    2.0001 × the tolerance at its best-resolved weight, and zeros in that layer, both differ."""
    network = sample.network
    for tier in ("full", "direction"):
        result = check_gradient(sample, matrix_psi(network), method=method, step=step, tier=tier, direct=False)
        assert result.verdict != "differ", f"FALSE ALARM ({tier})\n{result.report()}\n{sample!r}"
    if result.verdict != "agree" or result.comparison is None:
        result = check_gradient(sample, matrix_psi(network), method=method, step=step, direct=False)
    if result.verdict != "agree":
        return result.verdict
    ratio = [np.where(t < np.abs(f), np.abs(f) / t, 0) for t, f in
             zip(result.comparison.tolerance, result.comparison.finite_difference)]
    best = max(range(network.depth), key=lambda l: float(np.max(ratio[l])))
    index = np.unravel_index(np.argmax(ratio[best]), ratio[best].shape)
    offset = 2.0001 * float(result.comparison.tolerance[best][index])
    for gradient in (planted(network, best, index, offset), planted(network, best)):
        caught = check_gradient(sample, gradient, method=method, step=step, direct=False)
        assert caught.verdict == "differ", f"SILENT PASS\n{caught.report()}\n{sample!r}"
    return "agree"


@st.composite
def methods_and_steps(draw):
    method = draw(st.sampled_from(METHODS))
    return method, draw(st.sampled_from(STEPS[method]))


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(underflowing(SMALL), methods_and_steps())
def test_underflow_anywhere_is_never_a_false_alarm_and_planted_errors_are_caught(sample, method_step):
    _judged(sample, *method_step)


@pytest.mark.slow
def test_underflow_sweep_every_method_every_step():
    """GRADPROOF_UNDERFLOW_EXAMPLES (default 2000) samples per method and step."""
    examples = int(os.environ.get("GRADPROOF_UNDERFLOW_EXAMPLES", "2000"))
    for method, steps in STEPS.items():
        for step in steps:
            @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            @given(underflowing())
            def sweep(sample):
                _judged(sample, method, step)
            sweep()

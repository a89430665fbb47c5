"""The complex step carried as split real/imaginary tangents gives what complex arithmetic gives:
per weight and along a direction, within the error model's bound; and the bounds formed from the error
model's per-layer factors equal the per-weight bounds they stand for."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gradproof.derive.model.network import Network
from gradproof.numeric.checks.check import random_direction
from gradproof.numeric.differences.error_model import ETA, error_model, gamma
from gradproof.numeric.errors import FiniteDifferenceUnreliable
from gradproof.numeric.differences.finite_difference import directional_difference, finite_difference
from gradproof.numeric.compiled.matrix import forward, psi_gradient, reduce
from gradproof.numeric.compiled.kernels import abs_dot, abs_matmul
from gradproof.numeric.samples import random_sample
from gradproof.numeric.strategies.networks import architectures, networks

# The reference: complex arithmetic at w + i·H. Its truncation, H²·|E‴|/6, must vanish even where the
# derivative is exactly 0 (at 1e-20 it leaves ~1e-41 there): at H = 1e-160, H² is below float64's smallest
# normal number. The price is underflow, at most η/H per operation (η the smallest subnormal), which the
# error model's bound for complex arithmetic carries: REFERENCE_SLACK below.
H = 1e-160


def complex_arithmetic(network, wbar, x, y, layer, index, reduction="mean"):
    """Im E(w + i·h)/h for one weight, evaluated in complex arithmetic from scratch."""
    moved = [w.astype(complex) for w in wbar]
    moved[layer][index] += 1j * H
    return float(np.imag(reduce(forward(network, moved, x, y).errors, reduction)) / H)


@settings(max_examples=40, deadline=None)
@given(networks(architecture=architectures(max_depth=3, max_width=4), max_batch=3), st.sampled_from(["mean", "sum"]))
def test_split_tangents_equal_complex_arithmetic_per_weight(sample, reduction):
    network = sample.network
    x, y = sample.columns()
    try:
        split = finite_difference(network, sample.wbar, x, y, "complex-step", reduction=reduction)
    except FiniteDifferenceUnreliable:  # a derivative near underflow (a target of 1e-287, say)
        assume(False)
    assert split.split
    model = error_model(network, sample.wbar, x, y)
    bounds = split.bounds(model, reduction)
    slack = model.underflow_terms * ETA / H * ((sample.batch or 1) if reduction == "sum" else 1)
    for layer in range(network.depth):
        for index in np.ndindex(*network.shape(layer)):
            full = complex_arithmetic(network, sample.wbar, x, y, layer, index, reduction)
            # both are within the bound of the exact derivative, so within twice the bound of each other
            assert abs(split.values[layer][index] - full) <= 2 * bounds[layer][index] + slack, (layer, index)


def test_split_tangents_are_not_a_copy_of_the_gradient_rules(monkeypatch):
    """A wrong derivative rule in the activation changes the Ψ gradient but not the complex step: it
    reads only the numpy forward forms."""
    network = Network.from_spec("2,3,2", "tanh")
    sample = random_sample(network, seed=3)
    x, y = sample.columns()
    before = finite_difference(network, sample.wbar, x, y, "complex-step").values
    psi_before = psi_gradient(network, sample.wbar, x, y)
    rule = network.activations[0].np_derivative
    monkeypatch.setattr(type(network.activations[0]), "np_derivative", property(lambda self: lambda z: 2 * rule(z)))
    of_output = network.activations[0].np_derivative_of_output  # the same rule read off a = tanh(z)
    monkeypatch.setattr(type(network.activations[0]), "np_derivative_of_output",
                        property(lambda self: lambda a: 2 * of_output(a)))
    assert not np.allclose(psi_gradient(network, sample.wbar, x, y)[0], psi_before[0])
    after = finite_difference(network, sample.wbar, x, y, "complex-step").values
    assert all(np.array_equal(a, b) for a, b in zip(before, after))


@settings(max_examples=30, deadline=None)
@given(networks(architecture=architectures(max_depth=3, max_width=4), max_batch=3))
def test_the_split_directional_complex_step_equals_complex_arithmetic(sample):
    network = sample.network
    x, y = sample.columns()
    v, _ = random_direction(0, tuple(w.shape for w in sample.wbar))
    try:
        split, lost, *_ = directional_difference(network, sample.wbar, v, x, y, "complex-step")
    except FiniteDifferenceUnreliable:  # a derivative near underflow (a target of 1e-287, say)
        assume(False)
    moved = [w + 1j * H * d for w, d in zip(sample.wbar, v)]
    full = float(np.imag(reduce(forward(network, moved, x, y).errors, "mean")) / H)
    grads = psi_gradient(network, sample.wbar, x, y)
    exact = sum(float(np.vdot(g, d)) for g, d in zip(grads, v))
    model = error_model(network, sample.wbar, x, y)
    bound = model.directional_rounding([np.abs(d) for d in v], "mean")
    # the split tangent: what its slopes lost to underflow (``lost``, tests/test_underflow.py), and η per operation
    split_bound = bound + lost + model.underflow(0, "mean")
    assert abs(split - full) <= split_bound + bound + model.underflow(0, "mean") / H
    weights = sum(g.size for g in grads)  # ⟨g, v⟩ rounds too: γ·Σ|g||v|, and η per product and addition
    dot = gamma(weights) * sum(float(np.sum(np.abs(g * d))) for g, d in zip(grads, v)) + 3 * weights * ETA
    assert abs(split - exact) <= split_bound + bound + dot


@given(networks(architecture=architectures(max_depth=3, max_width=5), max_batch=4), st.sampled_from(["mean", "sum"]))
def test_the_directional_bound_is_the_per_weight_bounds_carried_along_the_direction(sample, reduction):
    x, y = sample.columns()
    model = error_model(sample.network, sample.wbar, x, y)
    absv = [np.abs(d) for d in random_direction(1, tuple(w.shape for w in sample.wbar))[0]]
    per_weight = sum(float(np.sum(r * a)) for r, a in zip(model.analytic_rounding(reduction), absv))
    assert model.directional_rounding(absv, reduction) == pytest.approx(per_weight, rel=1e-12)


def test_random_directions_are_seeded_unit_gaussian_and_read_only():
    shapes = ((3, 4), (2, 4))
    first, again, other = random_direction(5, shapes), random_direction(5, shapes), random_direction(6, shapes)
    assert all(np.array_equal(a, b) for a, b in zip(first[0], again[0]))
    assert not np.array_equal(first[0][0], other[0][0])
    assert sum(float(np.sum(d * d)) for d in first[0]) == pytest.approx(1.0, rel=1e-15)
    assert all(np.array_equal(np.abs(d), a) for d, a in zip(*first))
    with pytest.raises(ValueError):
        first[0][0][0, 0] = 1.0


def test_blocked_absolute_kernels_equal_the_plain_ones():
    rng = np.random.default_rng(0)
    for shape in [(1, 1), (7, 3), (517, 301), (3, 70_000)]:
        w, x = rng.standard_normal(shape), np.abs(rng.standard_normal((shape[1], 3)))
        assert np.allclose(abs_matmul(w, x), np.abs(w) @ x, rtol=1e-14, atol=0)
        b = np.abs(rng.standard_normal(shape))
        assert abs_dot(w, b) == pytest.approx(float(np.sum(np.abs(w) * b)), rel=1e-13)

"""Finite differences: the definition, its error estimates, the layer-structured evaluation, and the
cases where it cannot decide."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradproof.derive.errors import InputError
from gradproof.derive.model.network import Network
from gradproof.numeric.differences.error_model import error_model
from gradproof.numeric.errors import FiniteDifferenceUnreliable
from gradproof.numeric.differences.finite_difference import METHODS, default_step, finite_difference, perturbed_errors
from gradproof.numeric.compiled.matrix import forward, psi_gradient
from gradproof.numeric.checks.check import check_gradient
from gradproof.numeric.samples import make_sample, random_sample
from gradproof.numeric.strategies.networks import architectures, networks

EPS = np.finfo(float).eps


def test_the_truncation_bounds_hold_for_a_function_known_exactly():
    """E(w) = ½·(tanh(w·x) − y)² on [1,1]: every method's truncation at steps from 1e-4 to 0.3, against
    the exact derivative in 50 digits, is within the Cauchy bound (and the bound is inf past the disc)."""
    import mpmath
    mpmath.mp.dps = 50
    from gradproof.numeric.differences.truncation import truncation, weight_bounds
    network = Network.from_spec("1,1", "tanh", bias=False)
    for w, x, y in ((0.3, 1.7, -0.4), (2.5, -1.2, 0.9), (-0.05, 3.0, 0.0)):
        sample = make_sample(network, [np.array([[w]])], np.array([x]), np.array([y]))
        fwd = forward(network, sample.wbar, *sample.columns())
        big_r, p = weight_bounds(network, sample.wbar, fwd, sample.columns()[1], 0, "mean")
        exact = mpmath.diff(lambda t: (mpmath.tanh(t * x) - y) ** 2 / 2, w)
        f = lambda t: (mpmath.tanh(t * x) - y) ** 2 / 2  # noqa: E731
        w_ = mpmath.mpf(w)
        for h in (1e-4, 1e-2, 0.1, 0.3):
            estimates = {"forward": (f(w_ + h) - f(w_)) / h, "central": (f(w_ + h) - f(w_ - h)) / (2 * h),
                         "richardson": (4 * (f(w_ + h) - f(w_ - h)) / (2 * h)
                                        - (f(w_ + 2 * h) - f(w_ - 2 * h)) / (4 * h)) / 3,
                         "complex-step": mpmath.im(f(mpmath.mpc(w, h))) / h}
            for method, estimate in estimates.items():
                bound = float(truncation(method, h, big_r[0, 0], p[0, 0]))
                assert float(abs(estimate - exact)) <= bound, (method, w, h, bound)


def test_default_steps_follow_from_float64_and_the_method():
    assert default_step("forward") == pytest.approx(EPS ** 0.5)
    assert default_step("central") == pytest.approx(EPS ** (1 / 3))
    assert default_step("richardson") == pytest.approx(EPS ** 0.2)
    assert default_step("complex-step") == 1e-20


def estimate_and_bounds(sample, method):
    """Each weight's finite difference, its distance from the Ψ gradient, and the sum of both bounds."""
    x, y = sample.columns()
    exact = psi_gradient(sample.network, sample.wbar, x, y)
    fd = finite_difference(sample.network, sample.wbar, x, y, method)
    model = error_model(sample.network, sample.wbar, x, y)
    bounds = fd.bounds(model, "mean")
    distance = [np.abs(f - g) for f, g in zip(fd.values, exact)]
    return distance, bounds, [b + a for b, a in zip(bounds, model.analytic_rounding("mean"))]


@pytest.mark.parametrize("method", METHODS)
def test_each_method_estimates_the_gradient_within_its_error_bound(method):
    network = Network.from_spec("3,4,4,2", "tanh,softplus,sigmoid")
    distance, bounds, tolerance = estimate_and_bounds(random_sample(network, seed=7, batch=2), method)
    for layer in range(network.depth):
        assert np.all(distance[layer] <= tolerance[layer])
        assert np.all(bounds[layer] > 0)


@given(networks(architecture=architectures(max_depth=3, max_width=4), max_batch=2), st.sampled_from(METHODS))
def test_error_bounds_hold_on_random_networks(sample, method):
    distance, _, tolerance = estimate_and_bounds(sample, method)
    for layer in range(sample.network.depth):
        assert np.all(distance[layer] <= tolerance[layer])


def test_structured_evaluation_equals_recomputing_e_with_the_moved_weight():
    network = Network.from_spec("2,3,3,2", "tanh", "softmax-ce")
    sample = random_sample(network, seed=1, batch=3)
    x, y = sample.columns()
    fwd = forward(network, sample.wbar, x, y)
    for layer in range(network.depth):
        offsets = np.full(network.shape(layer), 2.0 ** -10)  # exactly representable moves
        structured = perturbed_errors(network, sample.wbar, fwd, y, layer, offsets, "mean")
        for row, col in np.ndindex(*offsets.shape):
            moved = [w.copy() for w in sample.wbar]
            moved[layer][row, col] += offsets[row, col]
            direct = forward(network, moved, x, y).errors.mean()
            assert structured[row, col] == pytest.approx(direct, rel=1e-14, abs=1e-15)


def test_forward_difference_is_the_source_texts_definition():
    network = Network.from_spec("1,1", "identity")
    sample = make_sample(network, [np.array([[0.5, 2.0]])], np.array([1.5]), np.array([0.25]))
    fd = finite_difference(network, sample.wbar, *sample.columns(), "forward", step=1e-3)
    h = 1e-3 / np.array([1.0, 1.5])  # x̄ = [1, 1.5]: the step moves z by at most 1e-3
    np.testing.assert_allclose(fd.steps[0][0], h)
    # E(w) = ½(w0 + w1·x − y)²: (E(w + h) − E(w))/h = (z − y)·x̄ + h·x̄²/2 exactly, within the truncation bound
    z = 0.5 + 2.0 * 1.5
    truth = h * np.array([1.0, 1.5]) ** 2 / 2
    expected = (z - 0.25) * np.array([1.0, 1.5]) + truth
    np.testing.assert_allclose(fd.values[0][0], expected, rtol=1e-9)
    assert np.all(truth <= fd.truncation[0][0]) and np.all(fd.truncation[0][0] < 1e-2)


def test_a_step_across_a_relu_kink_leaves_those_weights_undecided_not_a_mismatch():
    network = Network.from_spec("1,1,1", "relu")
    # the hidden unit sits exactly at its kink: z = 0·1 + 0·x
    sample = make_sample(network, [np.array([[0.0, 1.0]]), np.array([[0.1, 1.0]])], np.array([0.0]),
                         np.array([0.3]))
    fd = finite_difference(network, sample.wbar, *sample.columns(), "central")
    # the bias weight moves z across 0; the other multiplies x = 0 and moves nothing (its gradient is 0)
    assert fd.kinks[0].tolist() == [[True, False]] and not fd.kinks[1].any()
    for method in METHODS:
        result = check_gradient(sample, method=method)
        assert result.verdict == "cannot decide" and 0 in result.undecided_layers, result.report()


def test_overflow_is_unreliable():
    network = Network.from_spec("1,1", "identity")
    sample = make_sample(network, [np.array([[1e200, 1e200]])], np.array([1e100]), np.array([0.0]))
    with pytest.raises(FiniteDifferenceUnreliable, match="not finite"):
        finite_difference(network, sample.wbar, *sample.columns(), "central")


@pytest.mark.parametrize("kwargs, message", [
    (dict(method="backward"), "unknown finite-difference method 'backward'"),
    (dict(step=-1.0), "the step must be a positive number"),
    (dict(step="tiny"), "the step must be a positive number"),
])
def test_bad_options(kwargs, message):
    sample = random_sample(Network.from_spec("2,1"))
    with pytest.raises(InputError, match=message):
        finite_difference(sample.network, sample.wbar, *sample.columns(), **kwargs)


@pytest.mark.parametrize("entries", [1, 7, 40])
def test_chunking_by_rows_and_columns_changes_nothing(monkeypatch, entries):
    """Rows too wide for a chunk are split by columns; every split gives the same numbers, bit for bit,
    and a kink crossing is still blamed on the right weight."""
    import gradproof.numeric.differences.finite_difference as fd_module
    network = Network.from_spec("5,4,3,2", "tanh", "softmax-ce")
    sample = random_sample(network, seed=2, batch=2)
    x, y = sample.columns()
    fwd = forward(network, sample.wbar, x, y)
    whole = [perturbed_errors(network, sample.wbar, fwd, y, layer, np.full(network.shape(layer), 1e-4), "mean")
             for layer in range(network.depth)]
    monkeypatch.setattr(fd_module, "CHUNK_ENTRIES", entries)
    for layer in range(network.depth):
        split = perturbed_errors(network, sample.wbar, fwd, y, layer, np.full(network.shape(layer), 1e-4), "mean")
        assert np.array_equal(split, whole[layer])

    # z = 0.1·1e-6 + 0·1 sits 1e-7 above the kink: only the second weight's step (6e-6) crosses it
    relu = Network.from_spec("2,1,1", "relu,identity", bias=False)
    kinked = make_sample(relu, [np.array([[0.1, 0.0]]), np.array([[1.0]])], x=[1e-6, 1.0], y=[0.0])
    assert finite_difference(relu, kinked.wbar, *kinked.columns(), "central").kinks[0].tolist() == [[False, True]]
    kx, ky = kinked.columns()
    with pytest.raises(FiniteDifferenceUnreliable, match="weight 0,2,1 carries"):
        perturbed_errors(relu, kinked.wbar, forward(relu, kinked.wbar, kx, ky), ky, 0, np.full((1, 2), -6e-6), "mean")

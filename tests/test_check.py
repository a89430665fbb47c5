"""Checks in both directions: correct gradients pass, planted errors and classic mistakes are caught,
and the failure message (API) names the failing weights, worst first."""

import re

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from gradproof.derive.model.network import Network
from gradproof.numeric.checks.check import check_gradient
from gradproof.numeric.errors import GradientMismatch
from gradproof.numeric.differences.finite_difference import METHODS
from gradproof.numeric.compiled.matrix import psi_gradient
from gradproof.numeric.checks.mistakes import NUMERIC_MISTAKES, as_gradient
from gradproof.numeric.samples import PrecisionWarning, make_sample, random_sample
from gradproof.numeric.strategies.networks import architectures, networks


def planted(network, layer, index, relative):
    """The Ψ gradient with one entry off by ``relative``."""
    def gradient(wbar, x, y, reduction="mean"):
        grads = psi_gradient(network, wbar, x, y, reduction)
        grads[layer][index] *= 1 + relative
        return grads
    return gradient


@given(networks(architecture=architectures(max_depth=3, max_width=4), max_batch=3), st.sampled_from(METHODS))
def test_correct_gradients_pass(sample, method):
    result = check_gradient(sample, method=method)
    assert result.verdict in ("agree", "cannot decide"), result.report()
    assert 0 <= result.tolerance_used <= 1


@pytest.mark.parametrize("method, relative", [
    ("forward", 1e-3), ("central", 1e-6), ("richardson", 1e-8), ("complex-step", 1e-10)])
def test_planted_small_errors_are_caught(method, relative):
    network = Network.source_text()
    for seed in range(5):
        sample = random_sample(network, seed)
        exact = psi_gradient(network, sample.wbar, *sample.columns())
        largest = np.unravel_index(np.argmax(np.abs(exact[1])), exact[1].shape)
        result = check_gradient(sample, planted(network, 1, largest, relative), method=method, direct=False)
        assert [r.weight for r in result.failures] == [network.weights(1).__iter__().__next__()._replace(
            source=largest[1], target=largest[0] + 1)], result.report()


def test_a_complex_step_check_catches_one_part_in_a_million_on_26122_weights():
    network = Network.from_spec("64,128,128,10")
    sample = random_sample(network, seed=0)
    result = check_gradient(sample, planted(network, 0, (5, 7), 1e-6))
    assert [str(r.weight) for r in result.failures] == ["0,7,6"]
    assert not result.direction.ok or result.failures


def test_the_failure_message_is_a_table_of_the_failing_weights_worst_first():
    network = Network.source_text()
    sample = random_sample(network, seed=0)

    def two_wrong(wbar, x, y, reduction="mean"):
        grads = psi_gradient(network, wbar, x, y, reduction)
        grads[2][0, 1] *= 1.5
        grads[0][1, 2] *= 1 + 1e-5
        return grads

    result = check_gradient(sample, two_wrong, analytic_name="my backward", seed=0,
                            rerun="gradproof check --seed 0")
    with pytest.raises(GradientMismatch) as caught:
        result.raise_if_failed()
    assert isinstance(caught.value, AssertionError) and caught.value.result is result
    lines = str(caught.value).splitlines()
    assert lines[0] == ("gradient check FAILED: 2 of 29 weights differ from the finite difference by more "
                        "than their tolerance (worst first)")
    assert "analytic = my backward; direct = ∂E/∂w by the chain rule through E (sympy's derivative rules), compiled; finite diff. = the derivative by " \
           "its definition, from E alone" in lines
    header = next(line for line in lines if "L,J,I" in line)
    assert header.split() == ["weight", "L,J,I", "analytic", "direct", "finite", "diff.", "|an.", "−", "FD|",
                              "rel.", "error", "tolerance", "share"]
    rows = [line.split() for line in lines[lines.index(header) + 1:] if re.match(r"\s+\S+w", line)]
    assert [(r[0], r[1]) for r in rows] == [("²w¹₁", "2,1,1"), ("⁰w²₂", "0,2,2")]
    assert float(rows[0][6]) == pytest.approx(1 / 3, rel=1e-2)  # |1.5g − g| / 1.5|g|, printed to 3 digits
    assert lines[-2].startswith("method complex-step, step 1.0e-20, float64, reduction mean, batch 1, seed 0")
    assert lines[-1].startswith("rerun: gradproof check --seed 0")


def test_the_cheap_tier_passes_alone_and_escalates_on_failure():
    network = Network.from_spec("4,6,3", "tanh")
    sample = random_sample(network, seed=2)
    quick = check_gradient(sample, tier="direction")
    assert quick.ok and quick.weights == 0 and quick.rows == () and quick.direction.ok
    caught = check_gradient(sample, planted(network, 0, (0, 0), 1e-4), tier="direction")
    assert not caught.direction.ok and [str(r.weight) for r in caught.failures] == ["0,0,1"]


@pytest.mark.parametrize("name", ["bias-column-kept", "missing-a-prime", "not-transposed"])
@pytest.mark.deferred
def test_numeric_mistakes_fail_and_shrink_to_a_minimal_network(name):
    mistake = NUMERIC_MISTAKES[name]
    strategy = networks(architecture=architectures(min_depth=2, max_depth=3, max_width=4,
                                                   activations=["sigmoid", "tanh"], losses=["half-sse"],
                                                   bias=True))

    def fails(sample):
        return check_gradient(sample, as_gradient(mistake, sample.network), direct=False).verdict == "differ"

    smallest = find(strategy, fails, settings=settings(max_examples=300, database=None, derandomize=True))
    # drawn from up to [4,4,4,4] (56 weights); the mistake needs two layers (and square ones to transpose):
    # [2,2,2] (12 weights) or, where the shrinker stops one input short, [1,2,2,1] (13)
    assert smallest.network.depth <= 3 and smallest.network.n_weights <= 13, smallest


def test_float32_arrays_warn_and_are_checked_in_float64():
    network = Network.from_spec("2,2")
    base = random_sample(network)
    with pytest.warns(PrecisionWarning, match="wbar\\[0\\] is float32: converted to float64"):
        sample = make_sample(network, [base.wbar[0].astype(np.float32)], base.x, base.y)
    assert sample.wbar[0].dtype == np.float64 and check_gradient(sample).ok


def test_result_as_json():
    result = check_gradient(random_sample(Network.from_spec("3,2"), seed=4), seed=4)
    data = result.to_dict()
    assert data["ok"] is True and data["weights"] == 8 and data["method"] == "complex-step"
    assert {"max_relative_error", "tolerance_used", "seconds", "failures"} <= set(data)


def test_compiled_forms_that_overflow_give_way_to_the_matrix_form():
    # z reaches ~1e4 at the softmax: e^z overflows in the compiled per-weight expressions
    network = Network.from_spec("1,1,1,3", "identity,identity,softmax", "softmax-ce")
    sample = make_sample(network, [np.array([[0.0, 30.0]]), np.array([[0.0, 30.0]]),
                                   np.array([[0.0, 12.0], [0.0, 11.0], [0.0, -3.0]])],
                         np.array([1.0]), np.array([0.2, 0.3, 0.5]))
    result = check_gradient(sample)
    assert result.ok, result.report()
    assert result.analytic_name == "the Ψ recurrence in matrix form" and result.comparison.direct is None


def test_nan_in_the_gradient_under_test_fails():
    network = Network.from_spec("2,2")
    sample = random_sample(network)

    def nan_gradient(wbar, x, y, reduction="mean"):
        grads = psi_gradient(network, wbar, x, y, reduction)
        grads[0][0, 0] = np.nan
        return grads

    result = check_gradient(sample, nan_gradient)
    assert not result.ok and [str(r.weight) for r in result.failures] == ["0,0,1"]


def _saturated_to_1e_300():
    """Found by the 30,000-network no-false-alarm run: E ≈ 4e-303 and gradients ≈ 1e-300, the output
    sigmoid at z ≈ −348. E ∝ exp(2z) amplifies the rounding of z (~1e-12) into E: the error model has to
    see |∂E/∂z| ≈ 1e-302, which a complex step at 1e-30 loses to underflow."""
    network = Network.from_spec([1, 3, 5, 6, 4], activation=["sigmoid", "relu", "relu", "sigmoid"])
    middle = np.zeros((6, 6))
    middle[0] = [-9.0, -0.1875, 1.25, 0.5, 1.875, 11.5]
    middle[1, :2] = [6.0, 11.375]
    middle[2:, 0] = -0.02
    top = np.full((4, 7), -8.625)
    top[3, 2] = 9.25
    wbar = [np.zeros((3, 2)), np.full((5, 4), 8.0), middle, top]
    return network, make_sample(network, wbar, x=[[0.0]], y=[[0.0, 0.0, 0.0, 0.0]])


def test_gradients_near_underflow_pass_central_and_planted_errors_still_fail():
    network, sample = _saturated_to_1e_300()
    assert check_gradient(sample, method="central", direct=False).ok
    exact = psi_gradient(network, sample.wbar, *sample.columns())
    assert 1e-301 < np.max(np.abs(exact[2])) < 1e-299
    largest = np.unravel_index(np.argmax(np.abs(exact[2])), exact[2].shape)
    result = check_gradient(sample, planted(network, 2, largest, 1e-5), method="central", direct=False)
    assert [(r.weight.layer, r.weight.source, r.weight.target) for r in result.failures] == \
        [(2, largest[1], largest[0] + 1)], result.report()


def test_a_complex_step_whose_slopes_underflow_bounds_them_and_still_catches_errors():
    """σ' at z ≈ −348 squared is below what the complex step at 1e-30 resolves: the slope comes from the
    wide step with its error bound, carried to every weight, instead of a refusal (or a silent 0)."""
    network, sample = _saturated_to_1e_300()
    result = check_gradient(sample, method="complex-step", direct=False)
    assert result.verdict == "agree", result.report()
    exact = psi_gradient(network, sample.wbar, *sample.columns())
    largest = np.unravel_index(np.argmax(np.abs(exact[2])), exact[2].shape)
    caught = check_gradient(sample, planted(network, 2, largest, 1e-5), method="complex-step", direct=False)
    assert caught.verdict == "differ" and [(r.weight.layer, r.weight.source, r.weight.target)
                                           for r in caught.failures] == [(2, largest[1], largest[0] + 1)]


def test_gradients_that_underflow_keep_a_tolerance_of_at_least_the_underflow_bound():
    """Found by the 30,000-network run: a gradient of 3e-312 (subnormal) whose rounding bound, a product of
    tiny factors, underflowed to 0; every bound carries η per operation on top, so it is never 0."""
    network = Network.from_spec([1, 1, 2], activation=["sigmoid", "tanh"])
    sample = make_sample(network, [np.array([[1.0, 0.0]]), np.full((2, 2), 2.07545024e-156)], x=[[0.0]],
                         y=[[0.0, 0.0]])
    result = check_gradient(sample, method="complex-step", direct=False)
    assert result.ok, result.report()
    assert all(np.all(t > 0) for t in result.comparison.tolerance)
